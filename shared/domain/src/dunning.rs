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
//! - The final notice is the last reminder after the due date (or, when the policy has
//!   none, one [`ESCALATION_NOTICE_DAYS`] before the escalation day). It announces the escalation date: `escalate_after_days`
//!   past the due date, and never fewer than [`ESCALATION_NOTICE_DAYS`] after it is sent.
//!   Once it is sent, no new late fee is announced (a fee already announced is charged).
//! - The invoice is escalated only after the final notice was sent and the date it
//!   announced has come; then the chase stops. A sweep that runs late sends the final
//!   notice first, never the escalation straight away.
//! - Paid, overpaid, void, disputed and refunded invoices have no next action.
//! - A paused invoice ([`crate::pause`]) sends and charges nothing before the pause's day.
//! - An invoice created without being e-mailed is not chased until it is sent: then its
//!   reminders start as if it had been issued that moment (none of those before the due
//!   date that fell before it), and none goes out before the next day.

use chrono::{DateTime, Months, NaiveDate, NaiveTime, Utc};

use crate::arrangement::{self, Outcome};
use crate::calendar::{add_days, local_moment, next_business_moment};
use crate::invoice::{Invoice, LateFeeKind, Recurrence};
use crate::ledger::{self, EntryKind, InvoiceStatus, LedgerEntry, NewEntry};
use crate::money::{Money, MoneyError};
use crate::stage::{Next, Stage, StageRecord, StageStatus};

pub use crate::invoice::ESCALATION_NOTICE_DAYS;

/// The opening of business on `date`, or the next open day.
fn open_on(inv: &Invoice, date: NaiveDate) -> DateTime<Utc> {
    let h = &inv.terms.business_hours;
    next_business_moment(h, inv.timezone, local_moment(inv.timezone, date, h.start))
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

use crate::listing::chased;

/// The invoice's status as shown: the ledger's, or `escalated` once handed over and still owed.
pub fn status(balance: &ledger::Balance, stages: &[StageRecord]) -> InvoiceStatus {
    crate::listing::shown(balance.status, crate::stage::escalates(stages))
}

/// The next action for an invoice, or `None` when nothing is pending.
pub fn plan(
    inv: &Invoice,
    entries: &[LedgerEntry],
    stages: &[StageRecord],
    now: DateTime<Utc>,
) -> Result<Option<Next>, MoneyError> {
    let next = if inv.purpose == crate::invoice::Purpose::Deposit {
        crate::deposit::plan(inv, entries, stages, now)?
    } else {
        next_in_chase(inv, entries, stages, now)?
    };
    // Paused by the business: every action that sends or charges waits for the opening of
    // business on the pause's day, when the chase resumes by itself.
    let next = match crate::pause::paused_until(entries, crate::today_in(inv.timezone, now)) {
        Some(until) => {
            let resume = open_on(inv, until);
            next.map(|mut n| {
                if !n.stage.is_record() && n.at < resume {
                    n.at = resume;
                }
                n
            })
        }
        None => next,
    };
    // A message that failed for good holds the chase for a person: nothing is sent or
    // charged any more (later stages would fail the same way, or build on the message that
    // never went); what is only recorded (a kept promise, a deposit cleared) still is.
    if stages.iter().any(StageRecord::holds) {
        return Ok(next.filter(|n| n.stage.is_record()));
    }
    Ok(next)
}

/// The next action of an order invoice's chase.
fn next_in_chase(
    inv: &Invoice,
    entries: &[LedgerEntry],
    stages: &[StageRecord],
    now: DateTime<Utc>,
) -> Result<Option<Next>, MoneyError> {
    let balance = ledger::balance(&inv.total, entries)?;
    let arr = arrangement::arrangements(inv, entries, now)?;
    let record = |stage: Stage| stages.iter().find(|s| s.stage == stage);
    // Still owed: a broken promise or plan is only worth telling while money is due (a
    // voided or since-paid invoice is not chased for it).
    let owed = chased(balance.status) && balance.amount_due.is_positive();
    let sent = sent_at(inv, stages);
    let chasing =
        owed && sent.is_some() && !record(Stage::Escalation).is_some_and(StageRecord::is_done);
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

    // Claimed but not known to be done: retried when the lease ends (outcomes are told
    // even once nothing is owed any more).
    for s in stages.iter().filter(|s| s.status == StageStatus::Claimed) {
        if !chasing && !s.stage.is_outcome() {
            continue;
        }
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

    // Promises and plans judged: recorded (kept) or told to the business (broken), once.
    for p in &arr.promises {
        let (stage, priority) = match p.outcome {
            Outcome::Kept => (Stage::PromiseKept(p.promise), 0),
            Outcome::Broken if owed => (Stage::PromiseBroken(p.promise), 1),
            _ => continue,
        };
        if let (None, Some(ended)) = (record(stage), p.ended_at) {
            let at = if stage.is_message() {
                at_message(ended)
            } else {
                ended
            };
            let mut next = simple(stage, at, false);
            next.amount = Some(p.amount);
            next.charge_on = Some(p.date);
            candidates.push((next, priority));
        }
    }
    for p in arr
        .plans
        .iter()
        .filter(|p| owed && p.outcome == Outcome::Broken)
    {
        let stage = Stage::PlanBroken(p.plan);
        if let (None, Some(ended)) = (record(stage), p.ended_at) {
            candidates.push((simple(stage, at_message(ended), false), 1));
        }
    }
    // Open ones are judged at their deadline: the invoice must be looked at then (broken
    // unless the money came first, which replans it).
    for p in arr.open_promises().filter(|_| owed) {
        let mut next = simple(
            Stage::PromiseBroken(p.promise),
            at_message(p.deadline),
            false,
        );
        next.amount = Some(p.amount);
        next.charge_on = Some(p.date);
        candidates.push((next, 1));
    }
    if let Some(p) = arr.active_plan().filter(|_| owed)
        && let Some(i) = p.current()
    {
        candidates.push((
            simple(Stage::PlanBroken(p.plan), at_message(i.deadline), false),
            1,
        ));
    }

    if chasing {
        chase(inv, entries, stages, &arr, now, &balance, &mut candidates)?;
    }
    Ok(candidates
        .into_iter()
        .min_by_key(|(n, priority)| (n.at, *priority))
        .map(|(n, _)| n))
}

/// When the client was sent the invoice: when it was created, or, for one created without
/// being e-mailed, when it was first sent (`None`: not yet).
pub fn sent_at(inv: &Invoice, stages: &[StageRecord]) -> Option<DateTime<Utc>> {
    if !inv.held_until_sent {
        return Some(inv.created_at);
    }
    stages
        .iter()
        .find(|s| s.stage == Stage::Sent && s.is_done())
        .map(|s| s.done_at.unwrap_or(s.claimed_at))
}

/// Of reminders at `(offset, when)` not yet taken, in order: the latest already due
/// (reminders missed while no sweep ran are not all sent), else the first to come.
fn reminder_due(
    pending: &[(i32, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> Option<(i32, DateTime<Utc>)> {
    pending
        .iter()
        .rev()
        .find(|(_, at)| *at <= now)
        .or_else(|| pending.first())
        .copied()
}

/// The chase of an invoice still owed: promise and instalment reminders, and, when no
/// promise or plan is open, the regular reminders, late fees and escalation.
fn chase(
    inv: &Invoice,
    entries: &[LedgerEntry],
    stages: &[StageRecord],
    arr: &arrangement::Arrangements,
    now: DateTime<Utc>,
    balance: &ledger::Balance,
    candidates: &mut Vec<(Next, u8)>,
) -> Result<(), MoneyError> {
    let record = |stage: Stage| stages.iter().find(|s| s.stage == stage);
    let sent = sent_at(inv, stages).unwrap_or(inv.created_at);
    let tz = inv.timezone;
    let hours = &inv.terms.business_hours;
    // Sent late: nothing more on the day the invoice went.
    let not_before = if inv.held_until_sent {
        open_on(inv, add_days(sent.with_timezone(&tz).date_naive(), 1))
    } else {
        now
    };
    let at_message = |t: DateTime<Utc>| next_business_moment(hours, tz, t.max(now).max(not_before));
    let simple = |stage, at| Next {
        stage,
        at,
        amount: None,
        charge_on: None,
        retry: false,
    };

    // A promise is reminded the day before its date (when that came after it was made).
    for p in arr.open_promises() {
        let stage = Stage::PromiseReminder(p.promise);
        let at = open_on(inv, add_days(p.date, -1));
        if record(stage).is_none() && at > p.made_at {
            candidates.push((simple(stage, at_message(at)), 4));
        }
    }

    // The plan's oldest unpaid instalment gets the reminders due up to its date.
    if let Some(plan) = arr.active_plan()
        && let Some(inst) = plan.current()
    {
        let mut offsets: Vec<i32> = inv
            .terms
            .reminder_offsets
            .iter()
            .copied()
            .filter(|o| *o <= 0)
            .collect();
        if offsets.is_empty() {
            offsets.push(0);
        }
        let last_taken = stages
            .iter()
            .filter_map(|s| match s.stage {
                Stage::Instalment(p, i, o) if p == plan.plan && i == inst.number => Some(o),
                _ => None,
            })
            .max();
        let pending: Vec<(i32, DateTime<Utc>)> = offsets
            .iter()
            .filter(|o| last_taken.is_none_or(|t| **o > t))
            .map(|o| (*o, open_on(inv, add_days(inst.due_date, i64::from(*o)))))
            .filter(|(_, at)| *at >= plan.made_at)
            .collect();
        if let Some((offset, at)) = reminder_due(&pending, now) {
            let stage = Stage::Instalment(plan.plan, inst.number, offset);
            candidates.push((simple(stage, at_message(at)), 4));
        }
    }

    if arr.paused {
        return Ok(());
    }

    // Reminders of this round (each extension starts one for its new date): forward
    // only, the latest of those already due; after a broken promise or plan, the next
    // one goes out at once.
    let round = arr.round;
    let started = arr.round_started.unwrap_or(inv.created_at).max(sent);
    let final_offset = inv.terms.final_notice_offset();
    let final_notice = record(Stage::Reminder(final_offset, round)).filter(|r| r.is_done());
    let due = arr.chase_due_date();
    let escalation_day = add_days(due, i64::from(inv.terms.escalate_after_days));
    let last_taken = stages
        .iter()
        .filter_map(|s| match s.stage {
            Stage::Reminder(o, r) if r == round => Some(o),
            _ => None,
        })
        .max();
    let pending: Vec<(i32, DateTime<Utc>)> = inv
        .terms
        .reminder_schedule()
        .iter()
        .filter(|o| last_taken.is_none_or(|t| **o > t))
        .map(|o| (*o, open_on(inv, add_days(arr.due_date, i64::from(*o)))))
        .filter(|(o, at)| *o > 0 || *at >= started)
        .collect();
    if let Some((offset, at)) = reminder_due(&pending, now) {
        let mut at = at_message(at);
        if let Some(resumed) = arr.resumed_at {
            let reminded_since = stages
                .iter()
                .any(|s| matches!(s.stage, Stage::Reminder(..)) && s.claimed_at >= resumed);
            if !reminded_since {
                at = at.min(at_message(resumed));
            }
        }
        let mut next = simple(Stage::Reminder(offset, round), at);
        if offset == final_offset {
            let sent_on = at.with_timezone(&tz).date_naive();
            next.charge_on = Some(escalation_day.max(add_days(sent_on, ESCALATION_NOTICE_DAYS)));
        }
        candidates.push((next, 4));
    }

    // Late fees and escalation count from the due date moved by the days the chase waited.
    if let Some(fee) = &inv.terms.late_fee {
        let grace_end = add_days(due, i64::from(inv.terms.grace_days).saturating_add(1));
        let charged = |n: u32| {
            let key = format!("late-fee:{n}");
            entries.iter().any(|e| e.key.as_deref() == Some(&key))
        };
        let mut period = 0;
        while charged(period) && period < u32::MAX {
            period = period.saturating_add(1);
        }
        let allowed = fee.recurrence == Recurrence::Monthly || period == 0;
        let amount = late_fee_amount(inv, balance)?;
        // The first fee's earliest day; later periods follow it monthly.
        let first_charge = || {
            record(Stage::FeeNotice(0))
                .and_then(|r| r.charge_on)
                .unwrap_or(grace_end)
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
                    // Never before the (moved) grace ends.
                    let day = if period == 0 { day.max(grace_end) } else { day };
                    let at = local_moment(tz, day, NaiveTime::MIN).max(now);
                    let mut next = simple(Stage::LateFee(period), at);
                    next.amount = Some(charge);
                    next.charge_on = Some(day);
                    candidates.push((next, 0));
                }
            }
            Some(_) => {} // claimed: retried above
            // After the final notice nothing more is announced.
            None if final_notice.is_some() => {}
            None => {
                let notice_day = if period == 0 {
                    Some(grace_end)
                } else {
                    period_day(period)
                        .map(|d| add_days(d, i64::from(fee.notice_days).saturating_neg()))
                };
                if let Some(notice_day) = notice_day {
                    let at = at_message(open_on(inv, notice_day));
                    let sent_on = at.with_timezone(&tz).date_naive();
                    let mut charge_on = add_days(sent_on, i64::from(fee.notice_days));
                    if let Some(d) = period_day(period).filter(|_| period > 0) {
                        charge_on = charge_on.max(d);
                    }
                    let mut next = simple(Stage::FeeNotice(period), at);
                    next.amount = Some(amount);
                    next.charge_on = Some(charge_on);
                    candidates.push((next, 2));
                }
            }
        }
    }

    if let (None, Some(notice)) = (record(Stage::Escalation), final_notice) {
        let day = escalation_day.max(notice.charge_on.unwrap_or(escalation_day));
        candidates.push((simple(Stage::Escalation, at_message(open_on(inv, day))), 1));
    }
    Ok(())
}

/// The last day (in the client's zone) a payment earns the early-payment discount.
fn discount_last_day(inv: &Invoice, d: &crate::invoice::EarlyPaymentDiscount) -> NaiveDate {
    add_days(inv.issue_date, i64::from(d.within_days))
}

/// The early-payment discount still on offer at `now`, as the client should be told it:
/// what they pay (in one or more payments, by the end of the last day) to settle the
/// invoice, and that last day. `None` when the terms give none, its window has closed, it
/// was granted, or nothing is due. Paying this much in time is exactly what earns it
/// ([`early_payment_discount`]).
pub fn discount_offer(
    inv: &Invoice,
    entries: &[LedgerEntry],
    now: DateTime<Utc>,
) -> Result<Option<(Money, NaiveDate)>, MoneyError> {
    let Some(d) = &inv.terms.early_payment_discount else {
        return Ok(None);
    };
    let last_day = discount_last_day(inv, d);
    if entries.iter().any(|e| e.kind == EntryKind::Discount)
        || crate::calendar::today_in(inv.timezone, now) > last_day
    {
        return Ok(None);
    }
    let balance = ledger::balance(&inv.total, entries)?;
    if !chased(balance.status) || !balance.amount_due.is_positive() {
        return Ok(None);
    }
    let to_pay = balance
        .amount_due
        .checked_sub(&inv.total.percent(d.percent)?)?;
    Ok(to_pay.is_positive().then_some((to_pay, last_day)))
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
    let last_day = discount_last_day(inv, d);
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
pub(crate) mod tests;
