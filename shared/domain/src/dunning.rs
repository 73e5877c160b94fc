//! The dunning planner: from an invoice's ledger, its policy, the stages already done and
//! `now`, the one next action and when it is due. Pure: the reminder sweep asks, acts,
//! records, and asks again.
//!
//! Rules, all in the client's time zone:
//! - Reminders go out on `due date + offset` at the opening of business hours (the next
//!   business day when that day is closed). A reminder whose day came before the invoice
//!   existed is skipped (offsets up to the due date); when several fell due while no sweep
//!   ran, only the latest goes out. Stages only move forward.
//! - The late-fee notice goes out on the first business moment after grace; the fee is
//!   charged `notice_days` after the notice was sent (and, monthly, once a month after
//!   that, each period with its own notice), never more than announced, within the cap.
//! - Past `escalate_after_days` the invoice is escalated and the chase stops.
//! - Paid, overpaid, void, disputed and refunded invoices have no next action.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, Duration, Months, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::ids::{ClientId, InvoiceId};
use crate::invoice::{BusinessHours, Invoice, LateFeeKind, Recurrence};
use crate::ledger::{self, EntryKind, InvoiceStatus, LedgerEntry, NewEntry};
use crate::money::{Money, MoneyError};

/// How long a claimed message stage is held before another sweep may retry it.
pub const CLAIM_LEASE_MINUTES: i64 = 5;

/// One step of the chase on one invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// A reminder, `offset` days from the due date.
    Reminder(i32),
    /// The notice announcing period `n`'s late fee.
    FeeNotice(u32),
    /// Period `n`'s late fee (a ledger entry, no message).
    LateFee(u32),
    /// Handed over: the business is told, the chase stops.
    Escalation,
}

impl Stage {
    /// Whether this stage sends a message to the client (claimed once per client per day,
    /// only in business hours).
    pub fn messages_client(&self) -> bool {
        matches!(self, Stage::Reminder(_) | Stage::FeeNotice(_))
    }

    /// Whether this stage is a message at all (so bound to business hours).
    pub fn is_message(&self) -> bool {
        !matches!(self, Stage::LateFee(_))
    }

    /// The ledger key of a late fee: charged once per period.
    pub fn ledger_key(&self) -> Option<String> {
        match self {
            Stage::LateFee(n) => Some(format!("late-fee:{n}")),
            _ => None,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Reminder(o) => write!(f, "reminder:{o}"),
            Stage::FeeNotice(n) => write!(f, "fee-notice:{n}"),
            Stage::LateFee(n) => write!(f, "late-fee:{n}"),
            Stage::Escalation => f.write_str("escalation"),
        }
    }
}

impl FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("unknown dunning stage `{s}`");
        match s.split_once(':') {
            None if s == "escalation" => Ok(Stage::Escalation),
            Some(("reminder", o)) => o.parse().map(Stage::Reminder).map_err(|_| bad()),
            Some(("fee-notice", n)) => n.parse().map(Stage::FeeNotice).map_err(|_| bad()),
            Some(("late-fee", n)) => n.parse().map(Stage::LateFee).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl Serialize for Stage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Stage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    /// Claimed by a sweep; not known to be done. Retried once the lease ends.
    Claimed,
    /// Done: the message went out, the fee was charged, the invoice was escalated.
    Done,
}

/// What was done (or is being done) for one stage of one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRecord {
    pub invoice_id: InvoiceId,
    pub client_id: ClientId,
    pub stage: Stage,
    pub status: StageStatus,
    /// Claims so far: a retry claims again with one more.
    pub attempts: u32,
    pub claimed_at: DateTime<Utc>,
    /// Until when the claimant holds it; after that another sweep may retry.
    pub lease_until: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<DateTime<Utc>>,
    /// The mailer's id of the message sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The late fee announced (in a notice) or charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// The day the announced fee is charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_on: Option<NaiveDate>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl StageRecord {
    pub fn is_done(&self) -> bool {
        self.status == StageStatus::Done
    }
}

/// The next thing to do for an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Next {
    pub stage: Stage,
    /// When: for messages always a business moment, never before `now`.
    pub at: DateTime<Utc>,
    /// The late fee to announce (notice) or charge (fee).
    pub amount: Option<Money>,
    /// For a notice: the day its fee will be charged.
    pub charge_on: Option<NaiveDate>,
    /// A claimed stage being retried.
    pub retry: bool,
}

impl Next {
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.at <= now
    }
}

/// The moment a local date and time happen in `tz` (the first one after a DST gap).
pub fn local_moment(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut naive = date.and_time(time);
    for _ in 0..4 {
        if let Some(t) = tz.from_local_datetime(&naive).earliest() {
            return t.with_timezone(&Utc);
        }
        naive += Duration::minutes(30);
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
        date = date + Days::new(1);
    }
    t // no business day at all: validation refuses such hours
}

/// The opening of business on `date`, or the next open day.
fn open_on(inv: &Invoice, date: NaiveDate) -> DateTime<Utc> {
    let h = &inv.terms.business_hours;
    next_business_moment(h, inv.timezone, local_moment(inv.timezone, date, h.start))
}

fn add_days(date: NaiveDate, days: i64) -> NaiveDate {
    date.checked_add_signed(Duration::days(days))
        .unwrap_or(date)
}

/// The late fee for a period, as it would be charged now: a fixed amount or a percentage
/// of the principal still overdue (fees are not charged on fees), within the cap.
pub fn late_fee_amount(inv: &Invoice, balance: &ledger::Balance) -> Result<Money, MoneyError> {
    let zero = Money::zero(inv.currency);
    let Some(fee) = &inv.terms.late_fee else {
        return Ok(zero);
    };
    let principal = balance.amount_due.checked_sub(&balance.late_fees)?;
    if !principal.is_positive() {
        return Ok(zero);
    }
    let mut amount = match fee.kind {
        LateFeeKind::Fixed => Money::new(fee.value, inv.currency)?,
        LateFeeKind::Percent => principal.percent(fee.value)?,
    };
    if let Some(cap) = fee.cap {
        let left = Money::new(cap, inv.currency)?.checked_sub(&balance.late_fees)?;
        if left.amount() < amount.amount() {
            amount = if left.is_positive() { left } else { zero };
        }
    }
    Ok(amount)
}

/// Whether the invoice is being chased at all.
fn chased(status: InvoiceStatus) -> bool {
    matches!(status, InvoiceStatus::Open | InvoiceStatus::PartiallyPaid)
}

/// The invoice's status as shown: the ledger's, or `escalated` once handed over and still owed.
pub fn status(balance: &ledger::Balance, stages: &[StageRecord]) -> InvoiceStatus {
    let escalated = stages
        .iter()
        .any(|s| s.stage == Stage::Escalation && s.is_done());
    if escalated && chased(balance.status) {
        InvoiceStatus::Escalated
    } else {
        balance.status
    }
}

/// The next action for an invoice, or `None` when nothing is pending.
pub fn plan(
    inv: &Invoice,
    entries: &[LedgerEntry],
    stages: &[StageRecord],
    now: DateTime<Utc>,
) -> Result<Option<Next>, MoneyError> {
    let balance = ledger::balance(&inv.total, entries)?;
    if !chased(balance.status) || !balance.amount_due.is_positive() {
        return Ok(None);
    }
    let record = |stage: Stage| stages.iter().find(|s| s.stage == stage);
    if record(Stage::Escalation).is_some_and(StageRecord::is_done) {
        return Ok(None);
    }
    let tz = inv.timezone;
    let hours = &inv.terms.business_hours;
    let at_message = |t: DateTime<Utc>| next_business_moment(hours, tz, t.max(now));
    let mut candidates: Vec<(Next, u8)> = Vec::new();
    let simple = |stage, at, retry| Next {
        stage,
        at,
        amount: None,
        charge_on: None,
        retry,
    };

    // Claimed but not known to be done: retried when the lease ends.
    for s in stages.iter().filter(|s| !s.is_done()) {
        let at = if s.stage.is_message() {
            at_message(s.lease_until)
        } else {
            s.lease_until.max(now)
        };
        let mut next = simple(s.stage, at, true);
        next.amount = s.amount;
        next.charge_on = s.charge_on;
        candidates.push((next, 3));
    }

    // Reminders: forward only, the latest of those already due.
    let last_taken = stages
        .iter()
        .filter_map(|s| match s.stage {
            Stage::Reminder(o) => Some(o),
            _ => None,
        })
        .max();
    let pending: Vec<(i32, DateTime<Utc>)> = inv
        .terms
        .reminder_offsets
        .iter()
        .filter(|o| last_taken.is_none_or(|t| **o > t))
        .map(|o| (*o, open_on(inv, add_days(inv.due_date, i64::from(*o)))))
        .filter(|(o, at)| *o > 0 || *at >= inv.created_at)
        .collect();
    let reminder = pending
        .iter()
        .rev()
        .find(|(_, at)| *at <= now)
        .or_else(|| pending.first());
    if let Some((offset, at)) = reminder {
        candidates.push((simple(Stage::Reminder(*offset), at_message(*at), false), 4));
    }

    // Late fees: each period announced, then charged.
    if let Some(fee) = &inv.terms.late_fee {
        let charged = |n: u32| {
            let key = format!("late-fee:{n}");
            entries.iter().any(|e| e.key.as_deref() == Some(&key))
        };
        let mut period = 0;
        while charged(period) {
            period += 1;
        }
        let allowed = fee.recurrence == Recurrence::Monthly || period == 0;
        let amount = late_fee_amount(inv, &balance)?;
        // The first fee's earliest day; later periods follow it monthly.
        let first_charge = || {
            record(Stage::FeeNotice(0))
                .and_then(|r| r.charge_on)
                .unwrap_or_else(|| add_days(inv.due_date, i64::from(inv.terms.grace_days) + 1))
        };
        let period_day = |n: u32| first_charge().checked_add_months(Months::new(n));
        match record(Stage::FeeNotice(period)) {
            _ if !allowed || !amount.is_positive() => {}
            Some(notice) if notice.is_done() => {
                if let Some(day) = notice.charge_on {
                    let announced = notice.amount.unwrap_or(amount);
                    let charge = if announced.amount() < amount.amount() {
                        announced
                    } else {
                        amount
                    };
                    let at = local_moment(tz, day, NaiveTime::MIN).max(now);
                    let mut next = simple(Stage::LateFee(period), at, false);
                    next.amount = Some(charge);
                    next.charge_on = Some(day);
                    candidates.push((next, 0));
                }
            }
            Some(_) => {} // claimed: retried above
            None => {
                let notice_day = if period == 0 {
                    Some(add_days(inv.due_date, i64::from(inv.terms.grace_days) + 1))
                } else {
                    period_day(period).map(|d| add_days(d, -i64::from(fee.notice_days)))
                };
                if let Some(notice_day) = notice_day {
                    let at = at_message(open_on(inv, notice_day));
                    let sent_on = at.with_timezone(&tz).date_naive();
                    let mut charge_on = add_days(sent_on, i64::from(fee.notice_days));
                    if let Some(d) = period_day(period).filter(|_| period > 0) {
                        charge_on = charge_on.max(d);
                    }
                    let mut next = simple(Stage::FeeNotice(period), at, false);
                    next.amount = Some(amount);
                    next.charge_on = Some(charge_on);
                    candidates.push((next, 2));
                }
            }
        }
    }

    if record(Stage::Escalation).is_none() {
        let day = add_days(inv.due_date, i64::from(inv.terms.escalate_after_days));
        candidates.push((
            simple(Stage::Escalation, at_message(open_on(inv, day)), false),
            1,
        ));
    }

    Ok(candidates
        .into_iter()
        .min_by_key(|(n, priority)| (n.at, *priority))
        .map(|(n, _)| n))
}

/// The early-payment discount earned by a payment at `paid_at`: when the ledger (with the
/// payment) has received at least the discounted total within the window, the rest of the
/// invoice is forgiven by a discount entry. `None` when not earned or already granted.
pub fn early_payment_discount(
    inv: &Invoice,
    entries: &[LedgerEntry],
    paid_at: DateTime<Utc>,
) -> Result<Option<NewEntry>, MoneyError> {
    let Some(d) = &inv.terms.early_payment_discount else {
        return Ok(None);
    };
    if entries.iter().any(|e| e.kind == EntryKind::Discount) {
        return Ok(None);
    }
    let last_day = add_days(inv.issue_date, i64::from(d.within_days));
    let window_end = local_moment(inv.timezone, add_days(last_day, 1), NaiveTime::MIN);
    if paid_at >= window_end {
        return Ok(None);
    }
    let balance = ledger::balance(&inv.total, entries)?;
    if !chased(balance.status) || !balance.amount_due.is_positive() {
        return Ok(None);
    }
    let discount = inv.total.percent(d.percent)?;
    if balance.amount_due.amount() > discount.amount() {
        return Ok(None);
    }
    Ok(Some(NewEntry {
        kind: EntryKind::Discount,
        amount: balance.amount_due,
        key: "early-payment-discount".into(),
    }))
}

#[cfg(test)]
mod tests;
