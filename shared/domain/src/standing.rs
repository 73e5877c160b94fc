//! A client's standing: a score from 0 to 100 and a tier (A–D) from their history, with
//! the factors that made it. Pure and derived from the ledgers, so it is current whenever
//! it is read (after every payment and every sweep).
//!
//! The score starts at 100 and loses points, each factor capped:
//! - up to 30 for the share of settled invoices not paid on time;
//! - up to 35 for lateness: each invoice paid late costs up to 5 points, in proportion to
//!   its days late (60 or more: all 5);
//! - up to 20 for broken promises and plans (7 each);
//! - up to 15 for disputes (8 each);
//! - up to 30 for what is overdue now: against the credit limit when there is one
//!   (overdue ÷ limit × 30), else 10 points per overdue invoice in proportion to its days
//!   overdue (90 or more: all 10).
//!
//! Every factor only grows with a worse history, so one more late payment (or any payment
//! made later) never raises the score. A client without any settled or overdue invoice has
//! no history yet: 75, tier B.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use crate::arrangement::{self, Outcome};
use crate::calendar::days_between;
use crate::invoice::Invoice;
use crate::ledger::{self, EntryKind, InvoiceStatus, LedgerEntry};
use crate::money::{Money, MoneyError};

/// Score of a client with no history yet.
pub const NEW_CLIENT_SCORE: u32 = 75;
/// Most points money overdue now can take.
pub const MAX_OVERDUE_POINTS: u32 = 50;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
pub enum Tier {
    A,
    B,
    C,
    D,
}

impl Tier {
    pub fn of(score: u32) -> Tier {
        match score {
            85.. => Tier::A,
            70..=84 => Tier::B,
            50..=69 => Tier::C,
            _ => Tier::D,
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        match s.trim() {
            "A" | "a" => Some(Tier::A),
            "B" | "b" => Some(Tier::B),
            "C" | "c" => Some(Tier::C),
            "D" | "d" => Some(Tier::D),
            _ => None,
        }
    }
}

/// What one invoice says about its client.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceHistory {
    pub amount: Money,
    /// When it was paid in full, and how many days after its (extended) due date.
    pub settled: Option<(DateTime<Utc>, i64)>,
    /// Still owed and past its due date: the amount and days overdue.
    pub overdue: Option<(Money, i64)>,
    /// Still owed (overdue or not).
    pub outstanding: Money,
    pub broken_promises: u32,
    pub broken_plans: u32,
    pub disputes: u32,
}

/// Reads one invoice's ledger for its client's standing; `None` for drafts and void ones.
pub fn invoice_history(
    inv: &Invoice,
    entries: &[LedgerEntry],
    now: DateTime<Utc>,
) -> Result<Option<InvoiceHistory>, MoneyError> {
    let b = ledger::balance(&inv.total, entries)?;
    if matches!(b.status, InvoiceStatus::Void | InvoiceStatus::Draft) {
        return Ok(None);
    }
    let arr = arrangement::arrangements(inv, entries, now)?;
    let tz = inv.timezone;
    let due = arr.due_date;
    let today = crate::calendar::today_in(tz, now);
    // Paid in full: when what was received first covered what was charged (less discounts).
    let mut ordered: Vec<&LedgerEntry> = entries.iter().collect();
    ordered.sort_by_key(|e| (e.at, e.seq));
    let mut settled = None;
    if b.amount_due.is_zero() {
        let mut so_far: Vec<LedgerEntry> = Vec::with_capacity(ordered.len());
        for e in ordered {
            so_far.push(e.clone());
            // Only a payment can be the one that settles it.
            if e.kind.pays() && ledger::balance(&inv.total, &so_far)?.amount_due.is_zero() {
                let day = crate::calendar::today_in(tz, e.at);
                settled = Some((e.at, days_between(due, day).max(0)));
                break;
            }
        }
    }
    let overdue = arrangement::days_overdue(&b.amount_due, due, today).map(|d| (b.amount_due, d));
    Ok(Some(InvoiceHistory {
        amount: b.charged,
        settled,
        overdue,
        outstanding: b.amount_due,
        broken_promises: arr
            .promises
            .iter()
            .filter(|p| p.outcome == Outcome::Broken)
            .count() as u32,
        broken_plans: arr
            .plans
            .iter()
            .filter(|p| p.outcome == Outcome::Broken)
            .count() as u32,
        disputes: entries
            .iter()
            .filter(|e| e.kind == EntryKind::DisputeHold)
            .count() as u32,
    }))
}

/// The factors behind a score, as shown.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Factors {
    pub invoices: u32,
    pub settled: u32,
    pub paid_on_time: u32,
    /// Settled on time ÷ settled (absent without any settled invoice).
    pub on_time_share: Option<Decimal>,
    /// Days late of settled invoices, weighted by amount (0 for those on time).
    pub avg_days_late: Option<Decimal>,
    pub broken_promises: u32,
    pub broken_plans: u32,
    pub disputes: u32,
    pub overdue_invoices: u32,
    /// Days the oldest overdue invoice has waited (absent when none is overdue).
    pub oldest_overdue_days: Option<i64>,
    /// The points each factor took, for the reasons shown.
    pub points: Points,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Points {
    pub not_on_time: u32,
    pub lateness: u32,
    pub broken: u32,
    pub disputes: u32,
    pub overdue: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Standing {
    pub score: u32,
    pub tier: Tier,
    /// Whether the client has any history (a settled or overdue invoice).
    pub history: bool,
    pub factors: Factors,
}

/// `part / whole` as a decimal; 0 when `whole` is 0.
fn share(part: impl Into<Decimal>, whole: impl Into<Decimal>) -> Decimal {
    part.into().checked_div(whole.into()).unwrap_or_default()
}

fn capped(points: Decimal, cap: u32) -> u32 {
    points.round().to_u32().unwrap_or(cap).min(cap)
}

/// The standing from a client's invoice histories. `credit_limit` (when set) measures what
/// is overdue now; overdue amounts in other currencies count per invoice instead.
pub fn standing(history: &[InvoiceHistory], credit_limit: Option<&Money>) -> Standing {
    let settled: Vec<&InvoiceHistory> = history.iter().filter(|h| h.settled.is_some()).collect();
    let on_time = settled
        .iter()
        .filter(|h| h.settled.is_some_and(|(_, late)| late == 0))
        .count() as u32;
    let late_days: Vec<i64> = settled
        .iter()
        .filter_map(|h| h.settled.map(|(_, late)| late))
        .filter(|d| *d > 0)
        .collect();
    let mut points = Points::default();
    if !settled.is_empty() {
        let count = settled.len() as u32;
        let missed = share(count.saturating_sub(on_time), count);
        points.not_on_time = capped(missed.saturating_mul(Decimal::from(30)), 30);
    }
    let lateness: Decimal = late_days
        .iter()
        .map(|d| share((*d).min(60), 60).saturating_mul(Decimal::from(5)))
        .fold(Decimal::ZERO, Decimal::saturating_add);
    points.lateness = capped(lateness, 35);
    let broken_promises: u32 = history
        .iter()
        .map(|h| h.broken_promises)
        .fold(0, u32::saturating_add);
    let broken_plans: u32 = history
        .iter()
        .map(|h| h.broken_plans)
        .fold(0, u32::saturating_add);
    points.broken = broken_promises
        .saturating_add(broken_plans)
        .saturating_mul(7)
        .min(20);
    let disputes: u32 = history
        .iter()
        .map(|h| h.disputes)
        .fold(0, u32::saturating_add);
    points.disputes = disputes.saturating_mul(8).min(15);
    // Money overdue now: against the credit limit in its currency, by the share of the limit
    // it takes (up to 30); otherwise by invoice, 10 points from its first day overdue and
    // one more for every 3 days, up to 40 at 90 days. And however it scores, money long
    // overdue caps the score (below).
    let overdue: Vec<&(Money, i64)> = history.iter().filter_map(|h| h.overdue.as_ref()).collect();
    let oldest = overdue.iter().map(|(_, d)| *d).max();
    let mut overdue_points = Decimal::ZERO;
    let mut in_limit = Decimal::ZERO;
    for (amount, days) in &overdue {
        match credit_limit {
            Some(limit) if limit.currency() == amount.currency() && limit.is_positive() => {
                in_limit = in_limit.saturating_add(amount.amount());
            }
            _ => {
                let age = share((*days).clamp(0, 90), 3);
                overdue_points = overdue_points
                    .saturating_add(Decimal::from(10))
                    .saturating_add(age);
            }
        }
    }
    if let Some(limit) = credit_limit.filter(|l| l.is_positive()) {
        let used = in_limit
            .checked_div(limit.amount())
            .unwrap_or(Decimal::ONE)
            .min(Decimal::ONE);
        overdue_points = overdue_points.saturating_add(used.saturating_mul(Decimal::from(30)));
    }
    points.overdue = capped(overdue_points, MAX_OVERDUE_POINTS);
    let has_history = !settled.is_empty() || !overdue.is_empty();
    let lost = [
        points.lateness,
        points.broken,
        points.disputes,
        points.overdue,
    ]
    .into_iter()
    .fold(points.not_on_time, u32::saturating_add);
    let score = if has_history || lost > 0 {
        100u32.saturating_sub(lost)
    } else {
        NEW_CLIENT_SCORE
    };
    // Whatever the rest of the history, money long overdue caps the score: over 30 days,
    // below a new client's; over 60, tier C at best; over 90, tier D.
    let score = match oldest {
        Some(d) if d > 90 => score.min(49),
        Some(d) if d > 60 => score.min(69),
        Some(d) if d > 30 => score.min(NEW_CLIENT_SCORE.saturating_sub(1)),
        _ => score,
    };
    // Amount-weighted days late of settled invoices (on time counts as 0), for people.
    let weight = settled
        .iter()
        .map(|h| h.amount.amount())
        .fold(Decimal::ZERO, Decimal::saturating_add);
    let avg_days_late = (weight > Decimal::ZERO).then(|| {
        let days = settled
            .iter()
            .map(|h| {
                h.amount
                    .amount()
                    .saturating_mul(Decimal::from(h.settled.map_or(0, |(_, d)| d)))
            })
            .fold(Decimal::ZERO, Decimal::saturating_add);
        days.checked_div(weight).unwrap_or_default().round_dp(1)
    });
    Standing {
        score,
        tier: Tier::of(score),
        history: has_history,
        factors: Factors {
            invoices: history.len() as u32,
            settled: settled.len() as u32,
            paid_on_time: on_time,
            on_time_share: (!settled.is_empty())
                .then(|| share(on_time, settled.len() as u32).round_dp(4)),
            avg_days_late,
            broken_promises,
            broken_plans,
            disputes,
            overdue_invoices: overdue.len() as u32,
            oldest_overdue_days: oldest,
            points,
        },
    }
}

/// What is still owed per currency.
pub fn outstanding(history: &[InvoiceHistory]) -> Result<Vec<Money>, MoneyError> {
    let mut by: std::collections::BTreeMap<crate::Currency, Money> = Default::default();
    for h in history {
        let c = h.outstanding.currency();
        let sum = by.entry(c).or_insert_with(|| Money::zero(c));
        *sum = sum.checked_add(&h.outstanding)?;
    }
    Ok(by.into_values().filter(|m| m.is_positive()).collect())
}

#[cfg(test)]
mod tests;

/// What standing changes, as the business sets it (`COBRO_CREDIT_POLICY`): tiers whose new
/// invoices are refused, and policy overrides per tier (shorter terms, earlier reminders).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditPolicy {
    #[serde(default)]
    pub restrict_tiers: Vec<Tier>,
    /// What a restricted tier gets: a refusal, or a request to prepay the whole invoice
    /// (a deposit of 100 %, see [`crate::deposit`]).
    #[serde(default)]
    pub restricted: Restricted,
    #[serde(default)]
    pub tier_terms: std::collections::BTreeMap<Tier, crate::invoice::TermsInput>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restricted {
    #[default]
    Refuse,
    Prepay,
}
