//! Pausing an invoice's chase until a day, with the business's reason, and resuming it.
//!
//! A pause is a ledger entry that moves no money. While it is in force (its day has not
//! come, and no resume came after it) the dunning planner sends and charges nothing: every
//! action waits for the opening of business on the pause's day, when the chase resumes by
//! itself. The client is not told; the pay page does not show it.

use chrono::NaiveDate;

use crate::calendar::add_days;
use crate::ledger::{EntryKind, LedgerEntry, NewEntry};
use crate::money::Money;
use crate::validation::{FieldErrors, Shape, text};

/// The longest pause, in days from today.
pub const MAX_PAUSE_DAYS: i64 = 365;

/// The day the chase resumes, while a pause is in force on `today`.
pub fn paused_until(entries: &[LedgerEntry], today: NaiveDate) -> Option<NaiveDate> {
    pause_on_record(entries).filter(|until| *until > today)
}

/// The day the last pause ends, unless a resume came after it (whether or not that day
/// has come).
pub fn pause_on_record(entries: &[LedgerEntry]) -> Option<NaiveDate> {
    let last = entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Pause { .. } | EntryKind::Resume))
        .max_by_key(|e| e.seq)?;
    match last.kind {
        EntryKind::Pause { until, .. } => Some(until),
        _ => None,
    }
}

fn count(entries: &[LedgerEntry], of: fn(&EntryKind) -> bool) -> usize {
    entries.iter().filter(|e| of(&e.kind)).count()
}

/// A pause until `until` (after today, within a year), with the business's `reason`.
pub fn new_pause(
    currency: crate::money::Currency,
    entries: &[LedgerEntry],
    today: NaiveDate,
    until: NaiveDate,
    reason: &str,
) -> Result<NewEntry, FieldErrors> {
    let mut errors = FieldErrors::new();
    let reason = text(&mut errors, "reason", reason, 500, Shape::Lines).unwrap_or_else(|| {
        errors.add("reason", "is required: it is kept in the invoice's history");
        String::new()
    });
    if until <= today {
        errors.add("until", "must be after today");
    } else if until > add_days(today, MAX_PAUSE_DAYS) {
        errors.add("until", "must be within a year");
    }
    errors.finish(|| {
        let n = count(entries, |k| matches!(k, EntryKind::Pause { .. })).saturating_add(1);
        NewEntry {
            kind: EntryKind::Pause { until, reason },
            amount: Money::zero(currency),
            key: format!("pause:{n}"),
        }
    })
}

/// Resumes a pause in force on `today`; `None` when none is.
pub fn new_resume(
    currency: crate::money::Currency,
    entries: &[LedgerEntry],
    today: NaiveDate,
) -> Option<NewEntry> {
    paused_until(entries, today)?;
    let n = count(entries, |k| matches!(k, EntryKind::Resume)).saturating_add(1);
    Some(NewEntry {
        kind: EntryKind::Resume,
        amount: Money::zero(currency),
        key: format!("resume:{n}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::next_entry;
    use crate::money::Currency;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn a_pause_holds_until_its_day_or_a_resume() {
        let clp = Currency::parse("CLP").unwrap();
        let at = "2026-12-02T12:00:00Z".parse().unwrap();
        let mut entries = Vec::new();
        assert_eq!(paused_until(&entries, day(2)), None);
        assert!(
            new_resume(clp, &entries, day(2)).is_none(),
            "nothing to resume"
        );
        let p = new_pause(clp, &entries, day(2), day(10), "Cliente en vacaciones").unwrap();
        assert_eq!(p.key, "pause:1");
        entries.push(next_entry(&entries, p, at));
        assert_eq!(paused_until(&entries, day(2)), Some(day(10)));
        assert_eq!(paused_until(&entries, day(9)), Some(day(10)));
        assert_eq!(paused_until(&entries, day(10)), None, "resumes on its day");
        let r = new_resume(clp, &entries, day(3)).unwrap();
        assert_eq!(r.key, "resume:1");
        entries.push(next_entry(&entries, r, at));
        assert_eq!(paused_until(&entries, day(3)), None);
        let p = new_pause(clp, &entries, day(3), day(20), "Espera de OC").unwrap();
        assert_eq!(p.key, "pause:2");
        entries.push(next_entry(&entries, p, at));
        assert_eq!(paused_until(&entries, day(3)), Some(day(20)));
    }

    #[test]
    fn a_pause_needs_a_reason_and_a_day_ahead_within_a_year() {
        let clp = Currency::parse("CLP").unwrap();
        let fields = |until, reason| {
            new_pause(clp, &[], day(2), until, reason)
                .unwrap_err()
                .errors
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(day(2), " "), ["reason", "until"]);
        assert_eq!(fields(day(1), "x"), ["until"]);
        assert_eq!(
            fields(NaiveDate::from_ymd_opt(2027, 12, 3).unwrap(), "x"),
            ["until"]
        );
        assert!(
            new_pause(
                clp,
                &[],
                day(2),
                NaiveDate::from_ymd_opt(2027, 12, 2).unwrap(),
                "x"
            )
            .is_ok()
        );
    }
}
