//! Promises to pay, payment plans and due-date extensions, made by the business through
//! the API or by the client on the pay page: one path that decides (the pure domain),
//! writes the arrangement into the invoice's ledger with its new place on the agenda (a
//! lost race re-reads and decides again), and confirms it to the client in writing.
//!
//! - a promise: `{"date", "amount"?, "currency"?}` ([`PromiseInput`]);
//! - a plan: `{"instalments": [{"due_date", "amount"}]}` or `{"count", "first_due_date"}`
//!   (split exactly, the remainder on the last) ([`PlanInput`]);
//! - an extension: `{"due_date", "reason"}` ([`ExtensionInput`]).

use chrono::NaiveDate;
use cobro_domain::arrangement::{
    self, PlanRequest, PromiseRequest, Refusal, new_extension, new_plan, new_promise, split,
};
use cobro_domain::ledger::{EntryKind, next_entry};
use cobro_domain::pause;
use cobro_domain::{
    Action, Actor, Currency, FieldErrors, Instalment, InvoiceId, InvoiceStatus, LedgerEntry, Money,
    Party, ledger, today_in,
};
use cobro_notify::{Arrangement, Tone};
use cobro_store::{LedgerWrite, StoreError, StoredInvoice};
use rust_decimal::Decimal;
use serde::Deserialize;
use tracing::instrument;

use super::mail::{Letter, client_of, key, mail_client};
use super::{Conflict, Error, Remember, Thing};
use crate::App;

const MAX_ATTEMPTS: usize = 30;

/// The most monthly instalments a plan asked for by `count` may have: three years.
const MAX_INSTALMENTS: u32 = 36;

/// What is asked for.
#[derive(Debug, Clone)]
pub enum Ask {
    Promise(PromiseRequest),
    Plan(PlanRequest),
    /// `reason`: the business's note (kept, never sent); `message`: for the client.
    Extension {
        to: NaiveDate,
        reason: String,
        message: Option<String>,
    },
    /// The chase paused until a day, for the business's `reason` (the client is not told).
    Pause {
        until: NaiveDate,
        reason: String,
    },
    /// The chase resumed before the pause's day.
    Resume,
}

impl Ask {
    /// The action it is in the audit log.
    pub fn action(&self) -> Action {
        match self {
            Ask::Promise(_) => Action::PromiseMade,
            Ask::Plan(_) => Action::PlanMade,
            Ask::Extension { .. } => Action::DueDateExtended,
            Ask::Pause { .. } => Action::ChasePaused,
            Ask::Resume => Action::ChaseResumed,
        }
    }

    /// The day it names, for the log (the rest is on the entry).
    fn day(&self) -> Option<NaiveDate> {
        match self {
            Ask::Promise(p) => Some(p.date),
            Ask::Extension { to, .. } => Some(*to),
            Ask::Pause { until, .. } => Some(*until),
            Ask::Plan(_) | Ask::Resume => None,
        }
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Invalid(errors) => Error::Invalid(errors),
            Refusal::Conflict(code, detail) => Error::conflict(Conflict::Arrangement(code, detail)),
        }
    }
}

/// What came of an arrangement asked for.
#[derive(Debug)]
pub enum Made {
    /// Written: the invoice as it now is.
    Recorded(StoredInvoice),
    /// A plan the client chose where the terms want the business to approve it: nothing is
    /// written; the business was told how to make it, the client that it waits.
    Requested(StoredInvoice),
}

/// Makes the arrangement: decides on the invoice as it is, writes the entry with the
/// invoice's new place on the agenda (and the idempotency record made from the invoice
/// as it will be), then confirms it to the client and, when the client made it, tells
/// the business. A client's plan under terms that need approval is only requested.
#[instrument(skip_all, fields(invoice_id = %id))]
pub async fn make(
    app: &App,
    by: &Actor,
    id: &InvoiceId,
    ask: &Ask,
    idempotency: Remember<'_>,
) -> Result<Made, Error> {
    for _ in 0..MAX_ATTEMPTS {
        let Some(stored) = app.store.invoice(id).await? else {
            return Err(Error::NotFound(Thing::Invoice));
        };
        let now = app.now();
        let inv = &stored.invoice;
        let today = today_in(inv.timezone, now);
        // Handed over for collection: the chase here has ended, and a promise would re-arm
        // it behind the collector's back. Payments are still recorded.
        let balance = ledger::balance(&inv.total, &stored.entries)?;
        if cobro_domain::dunning::status(&balance, &stored.stages) == InvoiceStatus::Escalated {
            return Err(Refusal::Conflict(
                arrangement::Conflict::Escalated,
                "The invoice was escalated for collection: promises, plans and extensions are no longer made here (payments are still recorded).".into(),
            )
            .into());
        }
        let decided = match ask {
            Ask::Promise(req) => new_promise(inv, &stored.entries, today, now, req),
            Ask::Plan(req) => new_plan(inv, &stored.entries, today, now, req),
            Ask::Extension {
                to,
                reason,
                message,
            } => new_extension(
                inv,
                &stored.entries,
                today,
                now,
                *to,
                (reason, message.as_deref()),
            ),
            Ask::Pause { until, reason } => {
                if !matches!(
                    balance.status,
                    InvoiceStatus::Open | InvoiceStatus::PartiallyPaid
                ) {
                    return Err(Refusal::Conflict(
                        arrangement::Conflict::NotOpen,
                        format!(
                            "The invoice is {:?}: there is no chase to pause.",
                            balance.status
                        )
                        .to_lowercase(),
                    )
                    .into());
                }
                pause::new_pause(inv.currency, &stored.entries, today, *until, reason)
                    .map_err(Refusal::Invalid)
            }
            Ask::Resume => {
                pause::new_resume(inv.currency, &stored.entries, today).ok_or_else(|| {
                    Refusal::Conflict(
                        arrangement::Conflict::NotPaused,
                        "The invoice is not paused.".into(),
                    )
                })
            }
        };
        let new = decided?;
        if let (Ask::Plan(req), true) = (ask, inv.terms.plan_needs_approval)
            && req.by == Party::Client
        {
            // The business hears of a request once per invoice (a record claimed once),
            // however often the page is posted.
            let record = cobro_domain::StageRecord {
                invoice_id: inv.id.clone(),
                client_id: inv.client_id.clone(),
                stage: cobro_domain::Stage::PlanRequested,
                status: cobro_domain::StageStatus::Done,
                attempts: 1,
                claimed_at: now,
                lease_until: now,
                done_at: Some(now),
                message_id: None,
                amount: None,
                charge_on: None,
                error: None,
            };
            match app.store.claim_stage(&record, None).await {
                Ok(()) => tell_business(app, &stored, &new, true).await,
                Err(StoreError::StageTaken) => {}
                Err(e) => return Err(e.into()),
            }
            return Ok(Made::Requested(stored));
        }
        let entry = LedgerEntry {
            by: Some(by.clone()),
            ..next_entry(&stored.entries, new, now)
        };
        let mut after = stored.clone();
        after.entries.push(entry.clone());
        let agenda = super::ledgers::agenda_of(&after, now)?;
        after.next_action_at = agenda;
        let record = super::audit::record(by, ask.action(), now).map(|r| {
            let r = r.on_invoice(inv).entry(entry.seq).day(ask.day());
            match ask {
                Ask::Promise(_) | Ask::Plan(_) => r.amount(entry.amount),
                _ => r,
            }
        });
        let write = LedgerWrite::new(id.clone(), vec![entry.clone()])
            .with_idempotency(idempotency(&after))
            .with_audit(record)
            .leaving(&after)?;
        match app.store.append_entries(&write).await {
            Ok(()) => {
                tracing::info!(key = ?entry.key, "arrangement recorded");
                // A pause is the business's own: the client hears nothing of it.
                if !matches!(entry.kind, EntryKind::Pause { .. } | EntryKind::Resume) {
                    confirm(app, &after, &entry, now).await;
                }
                let by_client = matches!(
                    &entry.kind,
                    EntryKind::Promise {
                        by: Party::Client,
                        ..
                    } | EntryKind::Plan {
                        by: Party::Client,
                        ..
                    }
                );
                if by_client {
                    let made = cobro_domain::ledger::NewEntry {
                        kind: entry.kind.clone(),
                        amount: entry.amount,
                        key: entry.key.clone().unwrap_or_default(),
                    };
                    tell_business(app, &after, &made, false).await;
                }
                return Ok(Made::Recorded(after));
            }
            Err(StoreError::SequenceTaken) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Store(StoreError::Backend(
        "too many concurrent ledger writes".into(),
    )))
}

/// Tells the business what the client committed to on the pay page, or (`requested`) the
/// plan they asked for with the request that makes it. Best effort: logged on failure.
async fn tell_business(
    app: &App,
    stored: &StoredInvoice,
    new: &cobro_domain::ledger::NewEntry,
    requested: bool,
) {
    let l = app.config.business_locale;
    let inv = &stored.invoice;
    let agreed = match &new.kind {
        EntryKind::Promise { date, .. } => cobro_notify::Agreed::Promise {
            amount: new.amount.format(l),
            date: l.long_date(*date),
        },
        EntryKind::Plan { instalments, .. } => cobro_notify::Agreed::NewPlan {
            count: instalments.len(),
            amount: instalments
                .first()
                .map(|i| i.amount.format(l))
                .unwrap_or_default(),
            first: instalments
                .first()
                .map(|i| l.long_date(i.due_date))
                .unwrap_or_default(),
            last: instalments
                .last()
                .map(|i| l.long_date(i.due_date))
                .unwrap_or_default(),
        },
        _ => return,
    };
    let approve_with = match (&new.kind, requested) {
        (EntryKind::Plan { instalments, .. }, true) => Some(format!(
            "POST /v1/invoices/{}/plans {{\"count\": {}, \"first_due_date\": \"{}\"}}",
            inv.id,
            instalments.len(),
            instalments
                .first()
                .map(|i| i.due_date.to_string())
                .unwrap_or_default()
        )),
        _ => None,
    };
    let result = async {
        let client = client_of(app, &inv.client_id).await?;
        let about = cobro_notify::About::ClientArranged(cobro_notify::ClientArranged {
            agreed,
            approve_with,
        });
        let what = if requested {
            "plan-requested"
        } else {
            "by-client"
        };
        let told = key(inv, &format!("{}.{what}", new.key));
        super::mail::mail_business(app, stored, &client, about, &told)
            .await
            .map_err(|e| e.why)
    }
    .await;
    if let Err(e) = result {
        tracing::error!(invoice_id = %inv.id, error = %e, "the business could not be told of the client's arrangement");
    }
}

/// Confirms an arrangement to the client in writing, with a fresh pay link. A failure is
/// logged: the arrangement stands (it is in the ledger and shown on the pay page).
async fn confirm(
    app: &App,
    stored: &StoredInvoice,
    entry: &LedgerEntry,
    now: chrono::DateTime<chrono::Utc>,
) {
    let result = async {
        let inv = &stored.invoice;
        let client = client_of(app, &inv.client_id).await?;
        let (tone, arrangement) = match &entry.kind {
            EntryKind::Promise { date, .. } => (
                Tone::PromiseConfirmed,
                Arrangement::Promise {
                    amount: &entry.amount,
                    date: *date,
                },
            ),
            EntryKind::Plan { instalments, .. } => (
                Tone::PlanConfirmed,
                Arrangement::Plan {
                    instalments,
                    current: None,
                },
            ),
            EntryKind::Extension {
                from, to, message, ..
            } => (
                Tone::Extended,
                Arrangement::Extension {
                    from: *from,
                    to: *to,
                    message: message.as_deref(),
                },
            ),
            _ => return Err("not an arrangement".to_string()),
        };
        let arr =
            arrangement::arrangements(inv, &stored.entries, now).map_err(|e| e.to_string())?;
        let letter = Letter {
            tone,
            arrangement: Some(arrangement),
            fee: None,
            escalation_date: None,
            due_date: arr.due_date,
        };
        let key = key(inv, entry.key.as_deref().unwrap_or("arrangement"));
        mail_client(app, stored, &client, letter, &key, now)
            .await
            .map_err(|e| e.why)
    }
    .await;
    match result {
        Ok(id) => tracing::info!(message_id = %id, "arrangement confirmed to the client"),
        Err(e) => tracing::error!(error = %e, "arrangement confirmation failed"),
    }
}

/// An amount in the invoice's currency (or the one named), checked for its decimals.
fn money(
    errors: &mut FieldErrors,
    field: &str,
    amount: Decimal,
    currency: Option<&str>,
    invoice_currency: Currency,
) -> Option<Money> {
    let currency = match currency.map(Currency::parse) {
        None => invoice_currency,
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            errors.add(field.replace("amount", "currency"), e.to_string());
            return None;
        }
    };
    match Money::new(amount, currency) {
        Ok(m) => Some(m),
        Err(e) => {
            errors.add(field, e.to_string());
            None
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromiseInput {
    pub date: NaiveDate,
    #[serde(default)]
    pub amount: Option<Decimal>,
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstalmentInput {
    pub due_date: NaiveDate,
    pub amount: Decimal,
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    #[serde(default)]
    pub instalments: Option<Vec<InstalmentInput>>,
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub first_due_date: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionInput {
    pub due_date: NaiveDate,
    /// Why, for the business: kept in the invoice's history, never sent to the client.
    pub reason: String,
    /// What the client is told with the new date (optional).
    #[serde(default)]
    pub message: Option<String>,
}

/// The plan's instalments as asked: listed, or `count` monthly from `first` (split exactly).
pub fn plan_instalments(
    amount_due: Money,
    count: u32,
    first: NaiveDate,
) -> Result<Vec<Instalment>, FieldErrors> {
    // Monthly within the longest term an invoice may have (three years): never more.
    if !(1..=MAX_INSTALMENTS).contains(&count) {
        return Err(FieldErrors::single(
            "count",
            format!("must be between 1 and {MAX_INSTALMENTS}"),
        ));
    }
    split(amount_due, count, first).ok_or_else(|| {
        FieldErrors::single(
            "count",
            format!(
                "cannot split {} into {count} instalments",
                amount_due.amount()
            ),
        )
    })
}

/// A promise, plan or extension as asked for.
#[derive(Debug)]
pub enum Input {
    Promise(PromiseInput),
    Plan(PlanInput),
    Extension(ExtensionInput),
    Pause(PauseInput),
    Resume,
}

/// Pause the chase until a day (`until`, after today, within a year): no reminder, notice,
/// fee or escalation before it; it resumes by itself that day. The client is not told.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseInput {
    pub until: NaiveDate,
    /// Why, for the business: kept in the invoice's history, never sent.
    pub reason: String,
}

/// Makes what the business asked for on the invoice `id` ([`make`]): amounts are in the
/// invoice's currency unless named, a plan by `count` is split from the amount due now.
#[instrument(skip_all)]
pub async fn request(
    app: &App,
    by: &Actor,
    id: &str,
    input: Input,
    remember: Remember<'_>,
) -> Result<StoredInvoice, Error> {
    let stored = super::ledgers::find_invoice(app, id).await?;
    let c = stored.invoice.currency;
    let mut errors = FieldErrors::new();
    let ask = match input {
        Input::Promise(b) => {
            let amount = b
                .amount
                .and_then(|a| money(&mut errors, "amount", a, b.currency.as_deref(), c));
            Ask::Promise(PromiseRequest {
                date: b.date,
                amount,
                by: Party::Business,
            })
        }
        Input::Plan(b) => {
            let instalments = match (b.instalments, b.count, b.first_due_date) {
                (Some(list), None, None) => list
                    .into_iter()
                    .enumerate()
                    .filter_map(|(k, i)| {
                        let field = format!("instalments[{k}].amount");
                        money(&mut errors, &field, i.amount, i.currency.as_deref(), c).map(
                            |amount| Instalment {
                                due_date: i.due_date,
                                amount,
                            },
                        )
                    })
                    .collect(),
                (None, Some(count), Some(first)) => {
                    let due = ledger::balance(&stored.invoice.total, &stored.entries)?.amount_due;
                    if due.is_positive() {
                        plan_instalments(due, count, first).map_err(Error::Invalid)?
                    } else {
                        vec![] // nothing owed: the domain says so (409)
                    }
                }
                _ => {
                    return Err(Error::Invalid(FieldErrors::single(
                        "instalments",
                        "give either `instalments` or `count` and `first_due_date`",
                    )));
                }
            };
            Ask::Plan(PlanRequest {
                instalments,
                by: Party::Business,
            })
        }
        Input::Extension(b) => Ask::Extension {
            to: b.due_date,
            reason: b.reason,
            message: b.message,
        },
        Input::Pause(b) => Ask::Pause {
            until: b.until,
            reason: b.reason,
        },
        Input::Resume => Ask::Resume,
    };
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    match make(app, by, &stored.invoice.id, &ask, remember).await? {
        Made::Recorded(after) | Made::Requested(after) => Ok(after),
    }
}
