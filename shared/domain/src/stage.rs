//! The stages of the chase: what the dunning planner decides next ([`Next`]), and the record
//! of each stage claimed and done on an invoice ([`StageRecord`]).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ClientId, InvoiceId};
use crate::money::Money;

/// How long a claimed message stage is held before another sweep may retry it.
pub const CLAIM_LEASE_MINUTES: i64 = 5;

/// One step of the chase on one invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// A reminder, `offset` days from the due date, in a round (0: the invoice's own due
    /// date; each extension starts the next round for its new date).
    Reminder(i32, u32),
    /// A promise's reminder, the day before its date.
    PromiseReminder(u32),
    /// A promise was kept (a record for the promise figures, no message).
    PromiseKept(u32),
    /// A promise was broken: the business is told, the chase resumes.
    PromiseBroken(u32),
    /// A reminder of a plan's instalment: plan, instalment (from 1), days from its date.
    Instalment(u32, u32, i32),
    /// A plan was broken (an instalment missed): the business is told, the chase resumes.
    PlanBroken(u32),
    /// The notice announcing period `n`'s late fee.
    FeeNotice(u32),
    /// Period `n`'s late fee (a ledger entry, no message).
    LateFee(u32),
    /// Handed over: the business is told, the chase stops.
    Escalation,
    /// A deposit invoice was first looked at by the deposit check (a record).
    DepositOpened,
    /// A deposit past its due date: the client is reminded.
    DepositReminder,
    /// A deposit still unpaid after the reminder: the business is told.
    DepositOverdue,
    /// A deposit was paid: its client is active (a record).
    DepositCleared,
    /// An invoice created without being e-mailed was sent to the client (recorded by the
    /// send; never planned): its chase starts.
    Sent,
    /// The client asked for a plan that waits for the business's approval: the business was
    /// told (once; a record, never planned).
    PlanRequested,
}

impl Stage {
    /// Whether this stage sends a message to the client (claimed once per client per day,
    /// only in business hours).
    pub fn messages_client(&self) -> bool {
        matches!(
            self,
            Stage::Reminder(..)
                | Stage::FeeNotice(_)
                | Stage::PromiseReminder(_)
                | Stage::Instalment(..)
                | Stage::DepositReminder
        )
    }

    /// Whether this stage records how a promise or plan ended (told even once paid).
    pub fn is_outcome(&self) -> bool {
        matches!(
            self,
            Stage::PromiseKept(_) | Stage::PromiseBroken(_) | Stage::PlanBroken(_)
        )
    }

    /// Whether this stage is a message at all (so bound to business hours).
    pub fn is_message(&self) -> bool {
        !self.is_record() && !matches!(self, Stage::LateFee(_))
    }

    /// Whether this stage is only recorded: nothing is sent or charged.
    pub fn is_record(&self) -> bool {
        matches!(
            self,
            Stage::PromiseKept(_)
                | Stage::DepositOpened
                | Stage::DepositCleared
                | Stage::Sent
                | Stage::PlanRequested
        )
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
            Stage::Reminder(o, 0) => write!(f, "reminder:{o}"),
            Stage::Reminder(o, r) => write!(f, "reminder-r{r}:{o}"),
            Stage::PromiseReminder(n) => write!(f, "promise-reminder:{n}"),
            Stage::PromiseKept(n) => write!(f, "promise-kept:{n}"),
            Stage::PromiseBroken(n) => write!(f, "promise-broken:{n}"),
            Stage::Instalment(p, i, o) => write!(f, "instalment:{p}:{i}:{o}"),
            Stage::PlanBroken(n) => write!(f, "plan-broken:{n}"),
            Stage::FeeNotice(n) => write!(f, "fee-notice:{n}"),
            Stage::LateFee(n) => write!(f, "late-fee:{n}"),
            Stage::Escalation => f.write_str("escalation"),
            Stage::DepositOpened => f.write_str("deposit-opened"),
            Stage::DepositReminder => f.write_str("deposit-reminder"),
            Stage::DepositOverdue => f.write_str("deposit-overdue"),
            Stage::DepositCleared => f.write_str("deposit-cleared"),
            Stage::Sent => f.write_str("sent"),
            Stage::PlanRequested => f.write_str("plan-requested"),
        }
    }
}

impl FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("unknown dunning stage `{s}`");
        let n = |v: &str| v.parse::<u32>().map_err(|_| bad());
        match s.split_once(':') {
            None => match s {
                "escalation" => Ok(Stage::Escalation),
                "deposit-opened" => Ok(Stage::DepositOpened),
                "deposit-reminder" => Ok(Stage::DepositReminder),
                "deposit-overdue" => Ok(Stage::DepositOverdue),
                "deposit-cleared" => Ok(Stage::DepositCleared),
                "sent" => Ok(Stage::Sent),
                "plan-requested" => Ok(Stage::PlanRequested),
                _ => Err(bad()),
            },
            Some(("reminder", o)) => o.parse().map(|o| Stage::Reminder(o, 0)).map_err(|_| bad()),
            Some((name, o)) if name.starts_with("reminder-r") => {
                let round = n(&name["reminder-r".len()..])?;
                o.parse()
                    .map(|o| Stage::Reminder(o, round))
                    .map_err(|_| bad())
            }
            Some(("promise-reminder", v)) => n(v).map(Stage::PromiseReminder),
            Some(("promise-kept", v)) => n(v).map(Stage::PromiseKept),
            Some(("promise-broken", v)) => n(v).map(Stage::PromiseBroken),
            Some(("plan-broken", v)) => n(v).map(Stage::PlanBroken),
            Some(("instalment", rest)) => {
                let mut parts = rest.splitn(3, ':');
                let (Some(p), Some(i), Some(o)) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(bad());
                };
                Ok(Stage::Instalment(
                    n(p)?,
                    n(i)?,
                    o.parse().map_err(|_| bad())?,
                ))
            }
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

/// In the API's description: the stage's name (`reminder:-7:0`, `fee-notice:0`, …).
impl utoipa::PartialSchema for Stage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("The dunning stage, as `reminder:-7:0`, `fee-notice:0`, `late-fee:0`, `escalation`, …"))
            .into()
    }
}

impl utoipa::ToSchema for Stage {}

impl<'de> Deserialize<'de> for Stage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    /// Claimed by a sweep; not known to be done. Retried once the lease ends.
    Claimed,
    /// Done: the message went out, the fee was charged, the invoice was escalated.
    Done,
    /// The message could not be built or sent for a reason trying again will not fix (an
    /// address that does not parse, a template that cannot render): `error` says why. The
    /// invoice's chase is held for a person ([`StageRecord::holds`]); it is never retried
    /// by itself.
    Failed,
}

/// A job of the business's that must run once (the weekly summary of one week), claimed
/// as a stage is: the first sweep to claim it does it; one whose lease ended may be taken
/// over by a later sweep (with one more attempt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// What it is, unique (`weekly-summary:2026-11-30`).
    pub key: String,
    pub status: StageStatus,
    pub attempts: u32,
    pub claimed_at: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<DateTime<Utc>>,
    /// The mailer's ids of what was sent, one per address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl JobRecord {
    /// A first claim (or, after `previous`, a retry) at `now`, for the usual lease.
    pub fn claim(key: String, previous: Option<&JobRecord>, now: DateTime<Utc>) -> JobRecord {
        JobRecord {
            key,
            status: StageStatus::Claimed,
            attempts: previous.map_or(1, |p| p.attempts.saturating_add(1)),
            claimed_at: now,
            lease_until: crate::calendar::later(
                now,
                chrono::Duration::minutes(CLAIM_LEASE_MINUTES),
            ),
            done_at: None,
            message_ids: Vec::new(),
            error: None,
        }
    }

    /// Whether a sweep at `now` may claim it: never claimed, or claimed and its lease
    /// over (a failed or done job stays).
    pub fn claimable(job: Option<&JobRecord>, now: DateTime<Utc>) -> bool {
        job.is_none_or(|j| j.status == StageStatus::Claimed && j.lease_until <= now)
    }
}

/// What was done (or is being done) for one stage of one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// Whether these stages hand the invoice over for collection (an escalation done).
pub fn escalates<'a>(stages: impl IntoIterator<Item = &'a StageRecord>) -> bool {
    stages
        .into_iter()
        .any(|s| s.stage == Stage::Escalation && s.is_done())
}

impl StageRecord {
    pub fn is_done(&self) -> bool {
        self.status == StageStatus::Done
    }

    /// Whether this record holds its invoice's chase: it failed for good, and sending
    /// anything more about the invoice would fail the same way or skip what failed.
    pub fn holds(&self) -> bool {
        self.status == StageStatus::Failed
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
