//! Promises to pay, payment plans and due-date extensions, made by the business through
//! the API or by the client on the pay page: one path that decides (the pure domain),
//! writes the arrangement into the invoice's ledger with its new place on the agenda (a
//! lost race re-reads and decides again), and confirms it to the client in writing.
//!
//! - `POST /v1/invoices/{id}/promises` `{"date", "amount"?, "currency"?}`
//! - `POST /v1/invoices/{id}/plans` `{"instalments": [{"due_date", "amount"}]}` or
//!   `{"count", "first_due_date"}` (split exactly, the remainder on the last)
//! - `POST /v1/invoices/{id}/extensions` `{"due_date", "reason"}`
//! - `GET /v1/reports/promises[?client_id=]`: promises kept and broken, per client and
//!   overall, with each broken promise.

use std::collections::BTreeMap;

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::NaiveDate;
use cobro_domain::arrangement::{
    self, PlanRequest, PromiseRequest, Refusal, new_extension, new_plan, new_promise, split,
};
use cobro_domain::ledger::{EntryKind, next_entry};
use cobro_domain::{
    ClientId, Currency, FieldErrors, Instalment, InvoiceId, LedgerEntry, Money, Party, Stage,
    today_in,
};
use cobro_notify::{Arrangement, Tone};
use cobro_store::{IdempotencyRecord, LedgerWrite, StageLog, StoreError, StoredInvoice};
use rust_decimal::Decimal;
use serde::Deserialize;
use tracing::instrument;

use crate::auth::Caller;
use crate::idempotency::{self, Start};
use crate::json;
use crate::views::InvoiceView;
use crate::{App, Problem};

const MAX_ATTEMPTS: usize = 30;

/// What is asked for.
#[derive(Debug, Clone)]
pub enum Ask {
    Promise(PromiseRequest),
    Plan(PlanRequest),
    Extension { to: NaiveDate, reason: String },
}

/// Why an arrangement was not made.
#[derive(Debug)]
pub enum NotMade {
    NoInvoice,
    Refused(Refusal),
    Store(StoreError),
}

impl From<StoreError> for NotMade {
    fn from(e: StoreError) -> Self {
        NotMade::Store(e)
    }
}

/// Makes the arrangement: decides on the invoice as it is, writes the entry with the
/// invoice's new place on the agenda (and the idempotency record made from the invoice
/// as it will be), then confirms it to the client. Returns the invoice as written.
#[instrument(skip_all, fields(invoice_id = %id))]
pub async fn make(
    app: &App,
    id: &InvoiceId,
    ask: &Ask,
    idempotency: &(dyn Fn(&StoredInvoice) -> Option<IdempotencyRecord> + Send + Sync),
) -> Result<StoredInvoice, NotMade> {
    for _ in 0..MAX_ATTEMPTS {
        let Some(stored) = app.store.invoice(id).await? else {
            return Err(NotMade::NoInvoice);
        };
        let now = app.now();
        let inv = &stored.invoice;
        let today = today_in(inv.timezone, now);
        let decided = match ask {
            Ask::Promise(req) => new_promise(inv, &stored.entries, today, now, req),
            Ask::Plan(req) => new_plan(inv, &stored.entries, today, now, req),
            Ask::Extension { to, reason } => {
                new_extension(inv, &stored.entries, today, now, *to, reason)
            }
        };
        let new = decided.map_err(NotMade::Refused)?;
        let entry = next_entry(&stored.entries, new, now);
        let mut after = stored.clone();
        after.entries.push(entry.clone());
        let agenda = crate::dunning::agenda_of(&after, now).map_err(StoreError::backend)?;
        after.next_action_at = agenda;
        let write = LedgerWrite {
            invoice_id: id.clone(),
            entries: vec![entry.clone()],
            event: None,
            payment_link: None,
            idempotency: idempotency(&after),
            resolves: None,
            agenda: Some(agenda),
            stage: None,
        };
        match app.store.append_entries(&write).await {
            Ok(()) => {
                tracing::info!(key = ?entry.key, "arrangement recorded");
                confirm(app, &after, &entry, now).await;
                return Ok(after);
            }
            Err(StoreError::SequenceTaken) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(NotMade::Store(StoreError::Backend(
        "too many concurrent ledger writes".into(),
    )))
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
        let client = app
            .store
            .client(&inv.client_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the invoice's client is missing")?;
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
            EntryKind::Extension { from, to, reason } => (
                Tone::Extended,
                Arrangement::Extension {
                    from: *from,
                    to: *to,
                    reason,
                },
            ),
            _ => return Err("not an arrangement".to_string()),
        };
        let arr =
            arrangement::arrangements(inv, &stored.entries, now).map_err(|e| e.to_string())?;
        let letter = crate::dunning::Letter {
            tone,
            arrangement: Some(arrangement),
            fee: None,
            escalation_date: None,
            due_date: arr.due_date,
        };
        let key = format!(
            "{}.{}",
            inv.id,
            entry
                .key
                .as_deref()
                .unwrap_or("arrangement")
                .replace(':', ".")
        );
        crate::dunning::mail_client(app, stored, &client, letter, &key, now).await
    }
    .await;
    match result {
        Ok(id) => tracing::info!(message_id = %id, "arrangement confirmed to the client"),
        Err(e) => tracing::error!(error = %e, "arrangement confirmation failed"),
    }
}

/// The answer to a refused or failed arrangement.
pub fn problem(e: NotMade) -> Problem {
    match e {
        NotMade::NoInvoice => Problem::not_found("invoice"),
        NotMade::Refused(Refusal::Invalid(errors)) => Problem::validation(errors),
        NotMade::Refused(Refusal::Conflict(code, detail)) => Problem::new(
            StatusCode::CONFLICT,
            code,
            "Not possible on this invoice",
            detail,
        ),
        NotMade::Store(e) => e.into(),
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromiseBody {
    date: NaiveDate,
    #[serde(default)]
    amount: Option<Decimal>,
    #[serde(default)]
    currency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstalmentBody {
    due_date: NaiveDate,
    amount: Decimal,
    #[serde(default)]
    currency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    #[serde(default)]
    instalments: Option<Vec<InstalmentBody>>,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    first_due_date: Option<NaiveDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtensionBody {
    due_date: NaiveDate,
    reason: String,
}

/// The plan's instalments as asked: listed, or `count` monthly from `first` (split exactly).
pub fn plan_instalments(
    amount_due: Money,
    count: u32,
    first: NaiveDate,
) -> Result<Vec<Instalment>, FieldErrors> {
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

async fn parse_ask(
    app: &App,
    kind: &str,
    id: &InvoiceId,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Ask, Problem> {
    let stored = app
        .store
        .invoice(id)
        .await?
        .ok_or_else(|| Problem::not_found("invoice"))?;
    let c = stored.invoice.currency;
    let mut errors = FieldErrors::new();
    let ask = match kind {
        "promises" => {
            let b: PromiseBody = json::parse(headers, body)?;
            let amount = b
                .amount
                .and_then(|a| money(&mut errors, "amount", a, b.currency.as_deref(), c));
            Ask::Promise(PromiseRequest {
                date: b.date,
                amount,
                by: Party::Business,
            })
        }
        "plans" => {
            let b: PlanBody = json::parse(headers, body)?;
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
                    let due = cobro_domain::ledger::balance(&stored.invoice.total, &stored.entries)
                        .map_err(|e| Problem::internal(&e))?
                        .amount_due;
                    if due.is_positive() {
                        plan_instalments(due, count, first).map_err(Problem::validation)?
                    } else {
                        vec![] // nothing owed: the domain says so (409)
                    }
                }
                _ => {
                    return Err(Problem::validation(FieldErrors::single(
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
        _ => {
            let b: ExtensionBody = json::parse(headers, body)?;
            Ask::Extension {
                to: b.due_date,
                reason: b.reason,
            }
        }
    };
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    Ok(ask)
}

/// `POST /v1/invoices/{id}/promises`.
pub async fn promises(
    app: State<App>,
    caller: Extension<Caller>,
    id: Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    create(app, caller, id, "promises", headers, body).await
}

/// `POST /v1/invoices/{id}/plans`.
pub async fn plans(
    app: State<App>,
    caller: Extension<Caller>,
    id: Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    create(app, caller, id, "plans", headers, body).await
}

/// `POST /v1/invoices/{id}/extensions`.
pub async fn extensions(
    app: State<App>,
    caller: Extension<Caller>,
    id: Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    create(app, caller, id, "extensions", headers, body).await
}

/// Makes what `kind` names: 201 with the invoice as it now is.
#[instrument(skip_all, fields(kind = %kind))]
async fn create(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    kind: &str,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let path = format!("/v1/invoices/{id}/{kind}");
    let (body, idem) = match idempotency::start(&app, &caller, &headers, &path, body).await? {
        Start::Replay(answer) => return Ok(answer),
        Start::Fresh { body, key } => (body, key),
    };
    let invoice_id = InvoiceId::parse(&id).ok_or_else(|| Problem::not_found("invoice"))?;
    let ask = parse_ask(&app, kind, &invoice_id, &headers, &body).await?;
    let now = app.now();
    let record = |after: &StoredInvoice| {
        let view = InvoiceView::new(&after.invoice, &after.entries, None, true)
            .ok()?
            .with_dunning(after, now);
        Some(
            idem.as_ref()?
                .record(StatusCode::CREATED, &serde_json::to_value(&view).ok()?, now),
        )
    };
    match make(&app, &invoice_id, &ask, &record).await {
        Ok(after) => {
            let view = InvoiceView::new(&after.invoice, &after.entries, None, true)?
                .with_dunning(&after, now);
            let body = serde_json::to_value(&view).map_err(|e| Problem::internal(&e))?;
            Ok((
                StatusCode::CREATED,
                [(
                    axum::http::header::LOCATION,
                    format!("/v1/invoices/{invoice_id}"),
                )],
                Json(body),
            )
                .into_response())
        }
        Err(NotMade::Store(StoreError::IdempotencyKeyTaken)) => {
            idempotency::replay_after_race(&app, idem.as_ref()).await
        }
        Err(e) => Err(problem(e)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    #[serde(default)]
    client_id: Option<String>,
}

#[derive(Debug, Default, serde::Serialize)]
struct Tally {
    kept: u32,
    broken: u32,
    plans_broken: u32,
    /// kept / (kept + broken), when any was judged.
    kept_rate: Option<Decimal>,
}

impl Tally {
    fn count(&mut self, stage: &Stage) {
        match stage {
            Stage::PromiseKept(_) => self.kept += 1,
            Stage::PromiseBroken(_) => self.broken += 1,
            Stage::PlanBroken(_) => self.plans_broken += 1,
            _ => {}
        }
        let judged = self.kept + self.broken;
        self.kept_rate =
            (judged > 0).then(|| (Decimal::from(self.kept) / Decimal::from(judged)).round_dp(4));
    }
}

/// `GET /v1/reports/promises`: kept and broken promises (and broken plans) overall and per
/// client, with each broken one, from the promise log.
pub async fn report(
    State(app): State<App>,
    params: Result<Query<ReportParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(params) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    let only = match params.client_id.as_deref() {
        None => None,
        Some(raw) => {
            let id = ClientId::parse(raw).ok_or_else(|| Problem::not_found("client"))?;
            app.store
                .client(&id)
                .await?
                .ok_or_else(|| Problem::not_found("client"))?;
            Some(id)
        }
    };
    let mut overall = Tally::default();
    let mut clients: BTreeMap<String, (Tally, Vec<serde_json::Value>)> = BTreeMap::new();
    for r in crate::reports::whole_log(&app, StageLog::Promises).await? {
        if only.as_ref().is_some_and(|c| *c != r.client_id) {
            continue;
        }
        overall.count(&r.stage);
        let entry = clients.entry(r.client_id.to_string()).or_default();
        entry.0.count(&r.stage);
        if matches!(r.stage, Stage::PromiseBroken(_) | Stage::PlanBroken(_)) {
            entry.1.push(serde_json::json!({
                "invoice_id": r.invoice_id,
                "what": r.stage,
                "amount": r.amount.map(|m| m.amount()),
                "date": r.charge_on,
                "told_at": r.done_at,
            }));
        }
    }
    let mut rows = Vec::new();
    for (id, (tally, broken)) in clients {
        let name = match ClientId::parse(&id) {
            Some(cid) => app.store.client(&cid).await?.map(|c| c.name),
            None => None,
        };
        rows.push(serde_json::json!({
            "client_id": id,
            "name": name,
            "kept": tally.kept,
            "broken": tally.broken,
            "plans_broken": tally.plans_broken,
            "kept_rate": tally.kept_rate,
            "broken_items": broken,
        }));
    }
    Ok(Json(serde_json::json!({
        "object": "promise_report",
        "overall": overall,
        "clients": rows,
    }))
    .into_response())
}
