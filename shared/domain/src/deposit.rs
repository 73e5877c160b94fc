//! Deposits: money a client pays before they are given credit.
//!
//! A deposit is asked for with a deposit invoice (its `purpose` is [`crate::invoice::Purpose::Deposit`]):
//! an ordinary invoice in every way a client meets it (a number, a pay link, any payment
//! path), but not a sale. Once paid ("cleared") its money is held for the client, either as
//! credit brought onto their next invoice or as a retainer kept against an agreed budget.
//!
//! Its chase is not the dunning policy's but its own, run by the deposit check:
//! - `deposit-opened` when it is first looked at (payments that arrived before it existed
//!   are matched then);
//! - `deposit-reminder` once its due date has passed unpaid;
//! - `deposit-overdue` `overdue_after_days` after the due date (and at least a day after the
//!   reminder): the business is told and the client is `deposit_overdue`;
//! - `deposit-cleared` when it is paid, whenever that is: the client is active again.
//!
//! Everything here is derived from the deposit invoice's ledger and stage records, so the
//! client's status does not depend on the order in which payments and checks happened.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::calendar::{add_days, later, local_moment, next_business_moment};
use crate::invoice::Invoice;
use crate::ledger::{self, EntryKind, InvoiceStatus, LedgerEntry};
use crate::money::{Currency, Money, MoneyError};
use crate::stage::{Next, Stage, StageRecord, StageStatus};
use crate::validation::FieldErrors;

pub const DEFAULT_DUE_DAYS: u32 = 3;
pub const DEFAULT_OVERDUE_AFTER_DAYS: u32 = 3;
const MAX_DAYS: i64 = 90;

/// How much deposit is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DepositRule {
    /// A fixed amount, asked for as soon as the client exists.
    Fixed(Money),
    /// A share of the order ("30" is 30 %), asked for with the first order.
    Percent(Decimal),
}

/// What the deposit's money does once it has cleared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// Client credit, brought onto their next invoice.
    #[default]
    Credit,
    /// A retainer ("anticipo") kept against the client's budget and brought onto the
    /// invoice that reaches it.
    Retainer,
}

/// A deposit policy: the business's default or one client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DepositTerms {
    pub rule: DepositRule,
    pub due_days: u32,
    pub overdue_after_days: u32,
    #[serde(default)]
    pub hold: Hold,
}

impl DepositTerms {
    /// A zero deposit: this client is not asked for one.
    pub fn is_waived(&self) -> bool {
        match self.rule {
            DepositRule::Fixed(m) => m.is_zero(),
            DepositRule::Percent(p) => p.is_zero(),
        }
    }

    /// The currency a fixed deposit is in (a percentage takes the order's).
    pub fn currency(&self) -> Option<Currency> {
        match self.rule {
            DepositRule::Fixed(m) => Some(m.currency()),
            DepositRule::Percent(_) => None,
        }
    }

    /// The deposit asked for an order of `order`.
    pub fn required(&self, order: &Money) -> Result<Money, MoneyError> {
        match self.rule {
            DepositRule::Fixed(m) if m.currency() == order.currency() => Ok(m),
            DepositRule::Fixed(m) => {
                Err(MoneyError::CurrencyMismatch(m.currency(), order.currency()))
            }
            DepositRule::Percent(p) => order.percent(p),
        }
    }
}

/// A deposit policy as typed: `{"percent": "30"}` or `{"amount": "200000", "currency":
/// "CLP"}`, with optional `due_days`, `overdue_after_days` and `hold` (`credit` or
/// `retainer`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_after_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<String>,
}

impl DepositInput {
    /// Validates into a policy, reporting every problem under `field`.
    pub fn validate(&self, errors: &mut FieldErrors, field: &str) -> Option<DepositTerms> {
        let before = errors.errors.len();
        let rule = match (self.percent, self.amount, self.currency.as_deref()) {
            (Some(p), None, None) => {
                if p.is_sign_negative() && !p.is_zero() {
                    errors.add(format!("{field}.percent"), "must not be negative");
                } else if p > Decimal::ONE_HUNDRED {
                    errors.add(format!("{field}.percent"), "must be at most 100");
                }
                Some(DepositRule::Percent(p.normalize()))
            }
            (None, Some(amount), Some(currency)) => {
                let money = crate::money::AmountInput {
                    amount,
                    currency: currency.to_string(),
                }
                .validate(errors, field);
                if money.is_some_and(|m| m.is_negative()) {
                    errors.add(format!("{field}.amount"), "must not be negative");
                }
                money.map(DepositRule::Fixed)
            }
            (None, Some(_), None) => {
                errors.add(format!("{field}.currency"), "is required with an amount");
                None
            }
            (None, None, Some(_)) => {
                errors.add(format!("{field}.amount"), "is required with a currency");
                None
            }
            (None, None, None) => {
                errors.add(
                    field,
                    "give either `percent` or `amount` and `currency` (0 waives the deposit)",
                );
                None
            }
            (Some(_), _, _) => {
                errors.add(field, "give either `percent` or `amount`, not both");
                None
            }
        };
        let days = |errors: &mut FieldErrors, name: &str, v: Option<i64>, min: i64, default| match v
        {
            None => default,
            Some(d) if (min..=MAX_DAYS).contains(&d) => d as u32,
            Some(_) => {
                errors.add(
                    format!("{field}.{name}"),
                    format!("must be a whole number of days from {min} to {MAX_DAYS}"),
                );
                default
            }
        };
        let due_days = days(errors, "due_days", self.due_days, 1, DEFAULT_DUE_DAYS);
        let overdue_after_days = days(
            errors,
            "overdue_after_days",
            self.overdue_after_days,
            1,
            DEFAULT_OVERDUE_AFTER_DAYS,
        );
        let hold = match self.hold.as_deref() {
            None | Some("credit") => Hold::Credit,
            Some("retainer") => Hold::Retainer,
            Some(_) => {
                errors.add(format!("{field}.hold"), "must be `credit` or `retainer`");
                Hold::Credit
            }
        };
        if errors.errors.len() > before {
            return None;
        }
        rule.map(|rule| DepositTerms {
            rule,
            due_days,
            overdue_after_days,
            hold,
        })
    }
}

/// The business's deposit policy (`COBRO_DEPOSIT_POLICY`): the default deposit (a
/// client's own overrides it), and the tiers of standing that are asked for one on every
/// order not already covered by what they hold (new clients always are).
#[derive(Debug, Clone, PartialEq)]
pub struct DepositPolicy {
    pub terms: Option<DepositTerms>,
    pub tiers: Vec<crate::standing::Tier>,
}

impl Default for DepositPolicy {
    fn default() -> Self {
        DepositPolicy {
            terms: None,
            tiers: vec![crate::standing::Tier::D],
        }
    }
}

/// Where a client stands with their deposits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    /// Nothing asked for is unpaid.
    Active,
    /// A deposit is asked for and not yet paid.
    PendingDeposit,
    /// A deposit is past its due date and the business was told.
    DepositOverdue,
}

/// Whether a deposit invoice is still waiting to be paid.
pub fn is_open(status: InvoiceStatus) -> bool {
    matches!(status, InvoiceStatus::Open | InvoiceStatus::PartiallyPaid)
}

/// Whether a deposit invoice has been paid: its money is now held for the client.
pub fn is_cleared(status: InvoiceStatus) -> bool {
    matches!(status, InvoiceStatus::Paid | InvoiceStatus::Overpaid)
}

fn done(stages: &[StageRecord], stage: Stage) -> Option<&StageRecord> {
    stages.iter().find(|s| s.stage == stage && s.is_done())
}

/// The client's status from their deposit invoices (ledger and stages of each).
pub fn client_status<'a>(
    deposits: impl IntoIterator<Item = (&'a Invoice, &'a [LedgerEntry], &'a [StageRecord])>,
) -> Result<ClientStatus, MoneyError> {
    let mut status = ClientStatus::Active;
    for (inv, entries, stages) in deposits {
        if !is_open(ledger::balance(&inv.total, entries)?.status) {
            continue;
        }
        if done(stages, Stage::DepositOverdue).is_some() {
            return Ok(ClientStatus::DepositOverdue);
        }
        status = ClientStatus::PendingDeposit;
    }
    Ok(status)
}

/// What a cleared (or void) deposit still holds for the client: what it received, less
/// what was given back or lost in a dispute, less what was already brought onto their
/// invoices. Zero while it is unpaid.
pub fn held(inv: &Invoice, entries: &[LedgerEntry]) -> Result<Money, MoneyError> {
    let b = ledger::balance(&inv.total, entries)?;
    if !is_cleared(b.status) && b.status != InvoiceStatus::Void {
        return Ok(Money::zero(inv.currency));
    }
    let applied = Money::sum(
        inv.currency,
        entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::DepositApplied))
            .map(|e| &e.amount),
    )?;
    let held = b.net_paid.checked_sub(&applied)?;
    Ok(if held.is_negative() {
        Money::zero(inv.currency)
    } else {
        held
    })
}

/// The deposit invoice's next step (see the module's rules); `None`: nothing more to do.
pub fn plan(
    inv: &Invoice,
    entries: &[LedgerEntry],
    stages: &[StageRecord],
    now: DateTime<Utc>,
) -> Result<Option<Next>, MoneyError> {
    let b = ledger::balance(&inv.total, entries)?;
    let tz = inv.timezone;
    let hours = &inv.terms.business_hours;
    let record = |stage: Stage| stages.iter().find(|s| s.stage == stage);
    let next = |stage: Stage, at: DateTime<Utc>, retry: bool| Next {
        stage,
        at,
        amount: None,
        charge_on: None,
        retry,
    };
    if is_cleared(b.status) {
        if record(Stage::DepositCleared).is_some() {
            return Ok(None);
        }
        // Recorded as soon as it is seen: when the payment that cleared it arrived.
        let paid_at = entries
            .iter()
            .filter(|e| e.kind.pays())
            .map(|e| e.at)
            .max()
            .unwrap_or(now);
        return Ok(Some(next(Stage::DepositCleared, paid_at.min(now), false)));
    }
    if !is_open(b.status) {
        return Ok(None); // void, refunded or disputed: nothing to chase
    }
    if record(Stage::DepositOpened).is_none() {
        return Ok(Some(next(Stage::DepositOpened, inv.created_at, false)));
    }
    // A claimed message whose sending is not known to be done: retried after its lease.
    if let Some(s) = stages.iter().find(|s| s.status == StageStatus::Claimed) {
        let at = next_business_moment(hours, tz, s.lease_until.max(now));
        return Ok(Some(next(s.stage, at, true)));
    }
    let past_due = local_moment(tz, add_days(inv.due_date, 1), NaiveTime::MIN);
    let Some(reminded) = done(stages, Stage::DepositReminder) else {
        let at = next_business_moment(hours, tz, past_due.max(now));
        return Ok(Some(next(Stage::DepositReminder, at, false)));
    };
    if record(Stage::DepositOverdue).is_some() {
        return Ok(None);
    }
    let overdue = local_moment(
        tz,
        add_days(
            inv.due_date,
            i64::from(inv.terms.escalate_after_days).saturating_add(1),
        ),
        NaiveTime::MIN,
    );
    let after_reminder = later(
        reminded.done_at.unwrap_or(reminded.claimed_at),
        Duration::days(1),
    );
    let at = next_business_moment(hours, tz, overdue.max(after_reminder).max(now));
    Ok(Some(next(Stage::DepositOverdue, at, false)))
}

#[cfg(test)]
mod tests;
