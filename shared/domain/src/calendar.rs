//! The calendar of a client: what "today" is in their time zone, when a local time
//! happens (daylight saving included), and the business hours messages may go out in.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The time zone of a client who names none.
pub const DEFAULT_TIMEZONE: Tz = chrono_tz::America::Santiago;

/// Today's date in a time zone: what "today" means to a client in Santiago or Mexico City.
pub fn today_in(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// The business hours in which messages may go out, in the client's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// First minute messages may go out ("09:00").
    #[serde(with = "hhmm")]
    #[schema(value_type = String, pattern = "^[0-2][0-9]:[0-5][0-9]$", example = "09:00")]
    pub start: NaiveTime,
    /// When messages stop ("19:00", exclusive).
    #[serde(with = "hhmm")]
    #[schema(value_type = String, pattern = "^[0-2][0-9]:[0-5][0-9]$", example = "19:00")]
    pub end: NaiveTime,
    /// The days messages may go out: `mon` … `sun`.
    #[serde(with = "weekdays")]
    #[schema(value_type = Vec<String>, example = json!(["mon", "tue", "wed", "thu", "fri"]))]
    pub days: Vec<Weekday>,
}

/// 09:00 and 19:00, checked when compiled.
const OPEN: NaiveTime = match NaiveTime::from_hms_opt(9, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};
const CLOSE: NaiveTime = match NaiveTime::from_hms_opt(19, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            start: OPEN,
            end: CLOSE,
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
        }
    }
}

mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format("%H:%M").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(d)?;
        NaiveTime::parse_from_str(&s, "%H:%M")
            .map_err(|_| serde::de::Error::custom("expected a time of day as HH:MM"))
    }
}

mod weekdays {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer};

    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    pub fn serialize<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            days.iter()
                .filter_map(|d| NAMES.get(d.num_days_from_monday() as usize)),
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| {
                s.parse::<Weekday>()
                    .map_err(|_| serde::de::Error::custom("expected days as mon, tue, … sun"))
            })
            .collect()
    }
}

/// The first and last days computed dates are held to: far enough for any invoice, and
/// far from chrono's own ends, where converting to a time zone east or west of UTC would
/// leave its range.
pub const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(1, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};
pub const LAST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MAX,
};

/// `date` moved by `days` (earlier when negative), held within [`FIRST_DAY`] and
/// [`LAST_DAY`] rather than overflowing: a date computed from stored data never panics.
pub fn add_days(date: NaiveDate, days: i64) -> NaiveDate {
    Duration::try_days(days)
        .and_then(|d| date.checked_add_signed(d))
        .unwrap_or(if days < 0 { FIRST_DAY } else { LAST_DAY })
        .clamp(FIRST_DAY, LAST_DAY)
}

/// `t` moved by `by`, held within the days of [`add_days`] rather than overflowing.
pub fn later(t: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    let first = FIRST_DAY.and_time(NaiveTime::MIN).and_utc();
    let last = LAST_DAY.and_time(NaiveTime::MIN).and_utc();
    t.checked_add_signed(by)
        .unwrap_or(if by < Duration::zero() { first } else { last })
        .clamp(first, last)
}

/// Whole days from `from` to `to`, negative when `to` is earlier (never overflows: the
/// calendar's span fits an `i64` of days many times over).
pub fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    to.signed_duration_since(from).num_days()
}

/// The moment a local date and time happen in `tz` (the first one after a DST gap).
pub fn local_moment(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut naive = date.and_time(time);
    for _ in 0..4 {
        if let Some(t) = tz.from_local_datetime(&naive).earliest() {
            return t.with_timezone(&Utc);
        }
        naive = naive
            .checked_add_signed(Duration::minutes(30))
            .unwrap_or(naive);
    }
    Utc.from_utc_datetime(&date.and_time(time))
}

/// Whether messages may go out at `t`.
pub fn in_business_hours(hours: &BusinessHours, tz: Tz, t: DateTime<Utc>) -> bool {
    let local = t.with_timezone(&tz);
    let time = local.time();
    hours.days.contains(&local.weekday()) && time >= hours.start && time < hours.end
}

/// The first moment at or after `t` when messages may go out.
pub fn next_business_moment(hours: &BusinessHours, tz: Tz, t: DateTime<Utc>) -> DateTime<Utc> {
    if in_business_hours(hours, tz, t) {
        return t;
    }
    let mut date = t.with_timezone(&tz).date_naive();
    for _ in 0..15 {
        let open = local_moment(tz, date, hours.start);
        if open >= t && in_business_hours(hours, tz, open) {
            return open;
        }
        date = add_days(date, 1);
    }
    t // no business day at all: validation refuses such hours
}

/// The middle of business hours on `date`, or on the next open day when `date` is closed:
/// a moment inside anyone's hours that day, whatever time it is now (`cobro sweep --at +10d`).
pub fn midday_of_business(hours: &BusinessHours, tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let half = Duration::minutes(hours.end.signed_duration_since(hours.start).num_minutes() / 2);
    let mut date = date;
    for _ in 0..7 {
        if hours.days.contains(&date.weekday()) {
            break;
        }
        date = add_days(date, 1);
    }
    local_moment(tz, date, hours.start.overflowing_add_signed(half).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midday_of_business_is_inside_hours_on_the_next_open_day() {
        let hours = BusinessHours::default();
        let tz = chrono_tz::America::Santiago;
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        let at = |d| midday_of_business(&hours, tz, day(d)).to_rfc3339();
        // Friday 11 December 2026: 14:00 in Santiago (UTC−3 in summer).
        assert_eq!(at(11), "2026-12-11T17:00:00+00:00");
        // Saturday and Sunday move to Monday the 14th.
        assert_eq!(at(12), "2026-12-14T17:00:00+00:00");
        assert_eq!(at(13), "2026-12-14T17:00:00+00:00");
        let t = midday_of_business(&hours, tz, day(12));
        assert!(in_business_hours(&hours, tz, t));
        // Hours of 08:00–11:00 on Saturdays only: 09:30 on the Saturday after.
        let short = BusinessHours {
            start: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
            days: vec![Weekday::Sat],
        };
        assert_eq!(
            midday_of_business(&short, chrono_tz::UTC, day(7)).to_rfc3339(),
            "2026-12-12T09:30:00+00:00"
        );
    }

    #[test]
    fn dates_from_data_stay_in_the_calendar_and_convert_to_any_zone() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(add_days(day, i64::MAX), LAST_DAY);
        assert_eq!(add_days(day, i64::MIN), FIRST_DAY);
        assert_eq!(add_days(LAST_DAY, 1), LAST_DAY);
        assert_eq!(
            add_days(day, 30),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
        let now = day.and_time(NaiveTime::MIN).and_utc();
        for t in [
            later(now, Duration::MAX),
            later(now, Duration::MIN),
            later(
                LAST_DAY.and_time(NaiveTime::MIN).and_utc(),
                Duration::days(2),
            ),
        ] {
            // The zones furthest east and west of UTC: no conversion leaves chrono's range.
            for tz in [
                chrono_tz::Pacific::Kiritimati,
                chrono_tz::Pacific::Pago_Pago,
            ] {
                let _ = today_in(tz, t);
                let _ = next_business_moment(&BusinessHours::default(), tz, t);
                let _ = local_moment(tz, today_in(tz, t), NaiveTime::MIN);
            }
        }
    }
}
