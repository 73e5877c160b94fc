//! The invoices-api function: the business's HTTP API for clients and invoices.

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router, middleware};
use base64::Engine;
use cobro_domain::calendar::DEFAULT_TIMEZONE;
use cobro_domain::ledger::EntryKind;
use cobro_domain::{
    ClientId, FieldErrors, InvoiceId, LedgerEntry, NewClient, NewInvoice, today_in,
};
use cobro_notify::InvoiceIssued;
use cobro_store::{NewInvoiceWrite, PageRequest, StoreError};
use serde::Deserialize;
use tracing::instrument;

use crate::auth::{Caller, require_api_key};
use crate::idempotency::{self, Start};
use crate::json::{self, MAX_BODY};
use crate::views::{ClientView, InvoiceView, ListView};
use crate::{App, Problem};

/// How many times a creation retries after losing the race for an invoice number.
const MAX_NUMBER_ATTEMPTS: usize = 50;

/// The router of the invoices-api function (all routes under `/v1`, behind API keys).
pub fn router(app: App) -> Router {
    let v1 = Router::new()
        .route("/v1/clients", post(create_client).get(list_clients))
        .route("/v1/clients/{id}", get(get_client))
        .route("/v1/clients/{id}/invoices", get(client_invoices))
        .route("/v1/clients/{id}/standing", get(crate::standing::get))
        .route(
            "/v1/clients/{id}/budget",
            axum::routing::put(crate::deposits::set_budget),
        )
        .route("/v1/invoices", post(create_invoice))
        .route("/v1/invoices/{id}", get(get_invoice))
        .route("/v1/invoices/{id}/payments", post(record_payment))
        .route("/v1/invoices/{id}/pay-links", post(new_pay_link))
        .route("/v1/invoices/{id}/pay-links/revoke", post(revoke_pay_links))
        .route("/v1/invoices/{id}/void", post(void_invoice))
        .route(
            "/v1/invoices/{id}/promises",
            post(crate::arrangements::promises),
        )
        .route("/v1/invoices/{id}/plans", post(crate::arrangements::plans))
        .route(
            "/v1/invoices/{id}/extensions",
            post(crate::arrangements::extensions),
        )
        .route("/v1/unmatched", get(list_unmatched))
        .route("/v1/unmatched/{id}/apply", post(apply_unmatched))
        .route("/v1/reports/escalated", get(crate::reports::escalated))
        .route("/v1/reports/late-fees", get(crate::reports::late_fees))
        .route("/v1/reports/promises", get(crate::arrangements::report))
        .route_layer(middleware::from_fn_with_state(app.clone(), require_api_key));
    v1.layer(DefaultBodyLimit::max(MAX_BODY)).with_state(app)
}

/// Answers for paths and methods no router knows, as problems.
pub fn not_found_fallback() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "There is nothing at this path.",
    )
}

fn created(location: String, body: serde_json::Value) -> Response {
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, Problem> {
    serde_json::to_value(v).map_err(|e| Problem::internal(&e))
}

#[instrument(skip_all)]
async fn create_client(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let (body, idem) =
        match idempotency::start(&app, &caller, &headers, "/v1/clients", body).await? {
            Start::Replay(answer) => return Ok(answer),
            Start::Fresh { body, key } => (body, key),
        };
    let input: NewClient = json::parse(&headers, &body)?;
    let now = app.now();
    let client = input
        .validate(ClientId::generate(), now)
        .map_err(Problem::validation)?;
    let mut view = ClientView::new(&client);
    view.status = Some(cobro_domain::deposit::ClientStatus::Active);
    let view = to_json(&view)?;
    // A fixed deposit is asked for at once: the client is written with its deposit invoice.
    if let Some(terms) = crate::deposits::terms_for(&app, &client)
        && let cobro_domain::deposit::DepositRule::Fixed(amount) = terms.rule
    {
        let valid = crate::deposits::deposit_invoice(&app, &client, &amount, &terms, now)?;
        let answer = |inv: &cobro_domain::Invoice, pay_url: &str, _: &serde_json::Value| {
            let mut v = view.clone();
            v["status"] = serde_json::json!(cobro_domain::deposit::ClientStatus::PendingDeposit);
            v["open_deposit"] = crate::deposits::deposit_json(inv, Some((pay_url, "new-client")));
            v
        };
        let write = Issue {
            client: &client,
            valid,
            ledgers: None,
            new_client: true,
            idempotency: Recorded::caller(idem.as_ref()),
            answer: &answer,
            closes_budget: false,
        };
        return match issue(&app, write).await? {
            Some(issued) => {
                tracing::info!(client_id = %client.id, invoice_id = %issued.invoice.id, "client created with a deposit asked for");
                send_invoice(
                    &app,
                    &client,
                    &issued.invoice,
                    &issued.entries,
                    &issued.pay_url,
                )
                .await;
                Ok(created(format!("/v1/clients/{}", client.id), issued.body))
            }
            None => idempotency::replay_after_race(&app, idem.as_ref()).await,
        };
    }
    let record = idem
        .as_ref()
        .map(|k| k.record(StatusCode::CREATED, &view, now));
    match app.store.create_client(&client, record.as_ref()).await {
        Ok(()) => {
            tracing::info!(client_id = %client.id, "client created");
            Ok(created(format!("/v1/clients/{}", client.id), view))
        }
        Err(StoreError::IdempotencyKeyTaken) => {
            idempotency::replay_after_race(&app, idem.as_ref()).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct ListParams {
    limit: Option<String>,
    after: Option<String>,
}

fn page_request(params: Result<Query<ListParams>, QueryRejection>) -> Result<PageRequest, Problem> {
    let Query(p) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    let mut errors = FieldErrors::new();
    let limit = match p.limit.as_deref() {
        None => 20,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=cobro_store::MAX_PAGE).contains(l))
            .unwrap_or_else(|| {
                errors.add(
                    "limit",
                    format!("must be a whole number from 1 to {}", cobro_store::MAX_PAGE),
                );
                20
            }),
    };
    let after = match p.after.as_deref() {
        None | Some("") => None,
        Some(c) => {
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            if decoded.is_none() {
                errors.add("after", "is not a cursor returned by this API");
            }
            decoded
        }
    };
    errors
        .finish(|| PageRequest { limit, after })
        .map_err(Problem::validation)
}

fn cursor(next: Option<String>) -> Option<String> {
    next.map(|n| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(n))
}

async fn list_clients(
    State(app): State<App>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let page = app.store.list_clients(&page_request(params)?).await?;
    let list = ListView {
        object: "list",
        data: page.items.iter().map(ClientView::new).collect(),
        next_cursor: cursor(page.next),
    };
    Ok(Json(to_json(&list)?).into_response())
}

pub(crate) async fn find_client(app: &App, id: &str) -> Result<cobro_domain::Client, Problem> {
    let Some(id) = ClientId::parse(id) else {
        return Err(Problem::not_found("client"));
    };
    app.store
        .client(&id)
        .await?
        .ok_or_else(|| Problem::not_found("client"))
}

async fn get_client(State(app): State<App>, Path(id): Path<String>) -> Result<Response, Problem> {
    let client = find_client(&app, &id).await?;
    let ledgers = crate::standing::client_ledgers(&app, &client.id).await?;
    let mut view = ClientView::new(&client);
    view.credit = Some(client_credit(&ledgers)?);
    view.status = Some(crate::deposits::status(&ledgers)?);
    view.open_deposit = crate::deposits::open_deposit_json(&ledgers)?;
    Ok(Json(to_json(&view)?).into_response())
}

/// The client's credit per currency: what their invoices received beyond their totals,
/// and what their cleared deposits hold.
fn client_credit(
    ledgers: &[cobro_store::StoredInvoice],
) -> Result<Vec<cobro_domain::Money>, Problem> {
    let mut credit: std::collections::BTreeMap<cobro_domain::Currency, cobro_domain::Money> =
        Default::default();
    for source in credit_sources(ledgers, true)? {
        let c = source.credit;
        let sum = credit
            .entry(c.currency())
            .or_insert_with(|| cobro_domain::Money::zero(c.currency()));
        *sum = sum.checked_add(&c).map_err(|e| Problem::internal(&e))?;
    }
    Ok(credit.into_values().collect())
}

/// An invoice holding credit for its client.
struct CreditSource {
    id: InvoiceId,
    /// Its next ledger position.
    next_seq: u32,
    credit: cobro_domain::Money,
    /// A cleared deposit (its credit leaves as `deposit_applied`, not `credit_out`).
    deposit: bool,
}

/// The client's invoices holding credit, oldest first, derived from their ledgers (as
/// [`crate::standing::client_ledgers`] reads them, newest first); cleared deposits only
/// `with_deposits`.
fn credit_sources(
    ledgers: &[cobro_store::StoredInvoice],
    with_deposits: bool,
) -> Result<Vec<CreditSource>, Problem> {
    let mut sources = Vec::new();
    for s in ledgers.iter().rev() {
        let deposit = s.invoice.purpose == cobro_domain::invoice::Purpose::Deposit;
        let credit = if deposit {
            if !with_deposits {
                continue;
            }
            cobro_domain::deposit::held(&s.invoice, &s.entries)
                .map_err(|e| Problem::internal(&e))?
        } else {
            let b = cobro_domain::ledger::balance(&s.invoice.total, &s.entries)
                .map_err(|e| Problem::internal(&e))?;
            if b.status == cobro_domain::InvoiceStatus::Void {
                continue;
            }
            b.credit
        };
        if credit.is_positive() {
            sources.push(CreditSource {
                id: s.invoice.id.clone(),
                next_seq: s.ledger_len() + 1,
                credit,
                deposit,
            });
        }
    }
    Ok(sources)
}

async fn client_invoices(
    State(app): State<App>,
    Path(id): Path<String>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let client = find_client(&app, &id).await?;
    let page = app
        .store
        .client_invoices(&client.id, &page_request(params)?)
        .await?;
    // Statuses come from each invoice's ledger, read concurrently.
    let stored =
        futures::future::try_join_all(page.items.iter().map(|i| app.store.invoice(&i.id))).await?;
    let data = stored
        .into_iter()
        .flatten()
        .map(|s| {
            InvoiceView::new(&s.invoice, &s.entries, None, false)
                .map(|v| v.with_dunning(&s, app.now()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let list = ListView {
        object: "list",
        data,
        next_cursor: cursor(page.next),
    };
    Ok(Json(to_json(&list)?).into_response())
}

async fn get_invoice(State(app): State<App>, Path(id): Path<String>) -> Result<Response, Problem> {
    let Some(id) = InvoiceId::parse(&id) else {
        return Err(Problem::not_found("invoice"));
    };
    let stored = app
        .store
        .invoice(&id)
        .await?
        .ok_or_else(|| Problem::not_found("invoice"))?;
    let view = InvoiceView::new(&stored.invoice, &stored.entries, None, true)?
        .with_dunning(&stored, app.now());
    Ok(Json(to_json(&view)?).into_response())
}

#[instrument(skip_all)]
async fn create_invoice(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let (body, idem) =
        match idempotency::start(&app, &caller, &headers, "/v1/invoices", body).await? {
            Start::Replay(answer) => return Ok(answer),
            Start::Fresh { body, key } => (body, key),
        };
    let input: NewInvoice = json::parse(&headers, &body)?;
    let now = app.now();

    // The client decides what "today" is (its time zone) and must exist.
    let mut errors = FieldErrors::new();
    let client = match ClientId::parse(input.client_id.trim()) {
        Some(id) => {
            let found = app.store.client(&id).await?;
            if found.is_none() {
                errors.add("client_id", "no client with this id");
            }
            found
        }
        None => None,
    };
    let today = today_in(
        client.as_ref().map_or(DEFAULT_TIMEZONE, |c| c.timezone),
        now,
    );
    // The client's ledgers, read once: their standing decides their tier's policy and
    // whether they get credit, and their credit is brought onto the invoice below.
    let mut ledgers = match &client {
        Some(c) => Some(crate::standing::client_ledgers(&app, &c.id).await?),
        None => None,
    };
    let picture = match (&client, &ledgers) {
        (Some(c), Some(l)) => Some(crate::standing::picture(&app, c, l)?),
        _ => None,
    };
    // The policy: the business default, then the client's overrides, then their tier's,
    // then the invoice's.
    let mut base = match client.as_ref().and_then(|c| c.terms.as_ref()) {
        Some(t) => t.apply(&app.config.default_terms, &mut errors, "client.terms", None),
        None => app.config.default_terms.clone(),
    };
    if let Some(t) = picture
        .as_ref()
        .and_then(|p| crate::standing::tier_terms(&app, p.standing.tier))
    {
        base = t.apply(&base, &mut errors, "credit_policy.tier_terms", None);
    }
    let valid = match input.validate(today, &base) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.errors.extend(e.errors);
            None
        }
    };
    let (Some(client), Some(valid), true) = (client, valid, errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let ledgers = ledgers.take().unwrap_or_default();
    let closes_budget = crate::deposits::check_budget(&client, &ledgers, &valid.total)?;
    if let Some(p) = &picture {
        crate::standing::check(&app, &client, p, &valid.total)?;
        if let Some(need) = crate::deposits::required(&app, &client, p, &ledgers, &valid.total)? {
            return Err(crate::deposits::ask(&app, &client, &ledgers, &need).await?);
        }
    }
    let send = valid.send;
    let write = Issue {
        client: &client,
        valid,
        ledgers: Some(ledgers),
        new_client: false,
        idempotency: Recorded::caller(idem.as_ref()),
        answer: &|_, _, view| view.clone(),
        closes_budget,
    };
    match issue(&app, write).await? {
        Some(issued) => {
            let invoice = &issued.invoice;
            tracing::info!(invoice_id = %invoice.id, client_id = %client.id, number = %invoice.number, "invoice created");
            if send {
                send_invoice(&app, &client, invoice, &issued.entries, &issued.pay_url).await;
            }
            Ok(created(format!("/v1/invoices/{}", invoice.id), issued.body))
        }
        None => idempotency::replay_after_race(&app, idem.as_ref()).await,
    }
}

/// What the idempotency record of an invoice's write stands for.
pub(crate) enum Recorded<'a> {
    Nothing,
    /// The caller's key: the answer is recorded under it.
    Caller(&'a idempotency::Key),
    /// A record that only guards against a second, concurrent write of the same thing.
    Guard(cobro_store::IdempotencyRecord),
}

impl<'a> Recorded<'a> {
    /// The caller's key if they sent one.
    pub fn caller(key: Option<&'a idempotency::Key>) -> Self {
        key.map_or(Recorded::Nothing, Recorded::Caller)
    }
}

/// An invoice to number and write, with what is written beside it.
pub(crate) struct Issue<'a> {
    pub client: &'a cobro_domain::Client,
    pub valid: cobro_domain::ValidInvoice,
    /// The client's ledgers as just read (re-read after a lost race).
    pub ledgers: Option<Vec<cobro_store::StoredInvoice>>,
    /// Write the client too (a client asked for a deposit at once).
    pub new_client: bool,
    pub idempotency: Recorded<'a>,
    /// The answer's body from the invoice, its pay link and its view.
    #[allow(clippy::type_complexity)]
    pub answer:
        &'a (dyn Fn(&cobro_domain::Invoice, &str, &serde_json::Value) -> serde_json::Value + Sync),
    /// The order reaches the client's budget exactly (a retainer is brought onto it).
    pub closes_budget: bool,
}

/// A written invoice.
pub(crate) struct Issued {
    pub invoice: cobro_domain::Invoice,
    pub entries: Vec<LedgerEntry>,
    pub pay_url: String,
    pub body: serde_json::Value,
}

/// Numbers and writes an invoice, bringing the client's credit onto it (orders only).
/// `None`: its idempotency record was written first by someone else.
pub(crate) async fn issue(app: &App, mut issue: Issue<'_>) -> Result<Option<Issued>, Problem> {
    let client = issue.client;
    let now = app.now();
    let order = issue.valid.purpose == cobro_domain::invoice::Purpose::Order;
    let with_deposits = crate::deposits::deposits_apply(app, client, issue.closes_budget);
    for _ in 0..MAX_NUMBER_ATTEMPTS {
        let seq = app.store.last_invoice_seq().await? + 1;
        let invoice = issue.valid.clone().issue(
            InvoiceId::generate(),
            seq,
            &app.config.invoice_prefix,
            client.timezone,
            now,
        );
        let (pay_url, pay_token) = crate::portal::new_link(app, &client.id, &invoice.id, now);
        let mut entries = vec![LedgerEntry {
            seq: 1,
            kind: EntryKind::Charge,
            amount: invoice.total,
            at: now,
            key: Some("charge".into()),
        }];
        // The client's credit (overpaid invoices and cleared deposits, oldest first) is
        // brought onto an order, in the same write; a source written meanwhile makes the
        // write fail and we re-read.
        let read = match issue.ledgers.take() {
            Some(l) => l,
            None if issue.new_client => Vec::new(),
            None => crate::standing::client_ledgers(app, &client.id).await?,
        };
        let sources = if order {
            credit_sources(&read, with_deposits)?
        } else {
            Vec::new()
        };
        let plan = cobro_domain::ledger::plan_credit(
            &invoice.total,
            &sources
                .iter()
                .map(|s| (s.id.clone(), s.credit))
                .collect::<Vec<_>>(),
        );
        let mut other_entries = Vec::new();
        for (source, amount) in plan {
            let from = sources.iter().find(|s| s.id == source);
            other_entries.push((
                source.clone(),
                LedgerEntry {
                    seq: from.map_or(1, |s| s.next_seq),
                    kind: if from.is_some_and(|s| s.deposit) {
                        EntryKind::DepositApplied
                    } else {
                        EntryKind::CreditOut
                    },
                    amount,
                    at: now,
                    key: Some(format!("credit-to:{}", invoice.id)),
                },
            ));
            entries.push(LedgerEntry {
                seq: entries.len() as u32 + 1,
                kind: EntryKind::CreditIn,
                amount,
                at: now,
                key: Some(format!("credit-from:{source}")),
            });
        }
        let next_action_at = cobro_domain::dunning::plan(&invoice, &entries, &[], now)
            .map_err(|e| Problem::internal(&e))?
            .map(|n| n.at);
        let mut view = InvoiceView::new(&invoice, &entries, Some(pay_url.clone()), false)?;
        view.next_action_at = next_action_at;
        let body = (issue.answer)(&invoice, &pay_url, &to_json(&view)?);
        let write = NewInvoiceWrite {
            next_action_at,
            pay_token,
            idempotency: match &issue.idempotency {
                Recorded::Nothing => None,
                Recorded::Caller(k) => Some(k.record(StatusCode::CREATED, &body, now)),
                Recorded::Guard(r) => Some(r.clone()),
            },
            entries,
            invoice,
            other_entries,
            new_client: issue.new_client.then(|| client.clone()),
        };
        match app.store.create_invoice(&write).await {
            Ok(()) => {
                return Ok(Some(Issued {
                    invoice: write.invoice,
                    entries: write.entries,
                    pay_url,
                    body,
                }));
            }
            Err(StoreError::SequenceTaken) => continue,
            Err(StoreError::IdempotencyKeyTaken) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "Busy",
        "Too many invoices are being created at once; retry with the same Idempotency-Key.",
    ))
}

/// E-mails the new invoice to the client. A failure is logged, not returned: the invoice
/// exists either way, and the answer to the request must not depend on the mail server.
#[instrument(skip_all, fields(invoice_id = %invoice.id, client_id = %client.id))]
pub(crate) async fn send_invoice(
    app: &App,
    client: &cobro_domain::Client,
    invoice: &cobro_domain::Invoice,
    entries: &[LedgerEntry],
    pay_url: &str,
) {
    let mut message = InvoiceIssued::new(&app.config.business_name, client, invoice, pay_url);
    if let Ok(b) = cobro_domain::ledger::balance(&invoice.total, entries)
        && b.paid.is_positive()
    {
        message = message.with_credit(&b.paid, &b.amount_due);
    }
    let result = match message.email(&app.config.from_email, client, invoice) {
        Ok(email) => app.mailer.send(&email).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(sent) => tracing::info!(message_id = %sent.id, "invoice e-mailed"),
        Err(e) => tracing::error!(error = %e, "invoice e-mail failed"),
    }
}

async fn stored_invoice(app: &App, id: &str) -> Result<cobro_store::StoredInvoice, Problem> {
    let id = InvoiceId::parse(id).ok_or_else(|| Problem::not_found("invoice"))?;
    app.store
        .invoice(&id)
        .await?
        .ok_or_else(|| Problem::not_found("invoice"))
}

/// A new pay link for the invoice (the one in the invoice e-mail is shown only once).
#[instrument(skip_all)]
async fn new_pay_link(State(app): State<App>, Path(id): Path<String>) -> Result<Response, Problem> {
    let stored = stored_invoice(&app, &id).await?;
    let now = app.now();
    let (url, token) =
        crate::portal::new_link(&app, &stored.invoice.client_id, &stored.invoice.id, now);
    app.store.put_pay_token(&token).await?;
    let expires_at = token.expires_at;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"object": "pay_link", "invoice_id": stored.invoice.id, "url": url, "expires_at": expires_at})),
    )
        .into_response())
}

/// Revokes every pay link of the invoice (a link sent to the wrong person): they open the
/// portal's 404 from now on.
#[instrument(skip_all)]
async fn revoke_pay_links(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let stored = stored_invoice(&app, &id).await?;
    let n = app
        .store
        .revoke_pay_tokens(&stored.invoice.id, app.now())
        .await?;
    tracing::info!(invoice_id = %stored.invoice.id, revoked = n, "pay links revoked");
    Ok(Json(serde_json::json!({"invoice_id": stored.invoice.id, "revoked": n})).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VoidRequest {
    #[serde(default)]
    reason: Option<String>,
}

/// Cancels what is still owed: a `void` entry; the chase stops. Paid or already void
/// invoices cannot be voided (409).
#[instrument(skip_all)]
async fn void_invoice(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = json::body(body)?;
    let input: VoidRequest = if body.is_empty() {
        VoidRequest::default()
    } else {
        json::parse(&headers, &body)?
    };
    for _ in 0..MAX_NUMBER_ATTEMPTS {
        let stored = stored_invoice(&app, &id).await?;
        let b = cobro_domain::ledger::balance(&stored.invoice.total, &stored.entries)
            .map_err(|e| Problem::internal(&e))?;
        if !matches!(
            b.status,
            cobro_domain::InvoiceStatus::Open | cobro_domain::InvoiceStatus::PartiallyPaid
        ) {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "not-voidable",
                "Cannot be voided",
                format!(
                    "The invoice is {:?}; only open or partially paid invoices can be voided.",
                    b.status
                )
                .to_lowercase(),
            ));
        }
        let now = app.now();
        let entry = LedgerEntry {
            seq: stored.ledger_len() + 1,
            kind: EntryKind::Void {
                reason: input
                    .reason
                    .as_ref()
                    .map(|r| r.trim().chars().take(500).collect()),
            },
            amount: b.amount_due,
            at: now,
            key: Some("void".into()),
        };
        let mut after = stored.clone();
        after.entries.push(entry.clone());
        after.next_action_at = None;
        let write = cobro_store::LedgerWrite {
            invoice_id: stored.invoice.id.clone(),
            entries: vec![entry],
            event: None,
            payment_link: None,
            idempotency: None,
            resolves: None,
            agenda: Some(None),
            stage: None,
        };
        match app.store.append_entries(&write).await {
            Ok(()) => {
                tracing::info!(invoice_id = %stored.invoice.id, "invoice voided");
                let view = InvoiceView::new(&after.invoice, &after.entries, None, true)?
                    .with_dunning(&after, app.now());
                return Ok(Json(to_json(&view)?).into_response());
            }
            Err(StoreError::SequenceTaken) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::internal(&"too many concurrent ledger writes"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPayment {
    method: String,
    amount: rust_decimal::Decimal,
    currency: String,
    #[serde(default)]
    reference: Option<String>,
}

/// A payment the business received by hand (cash, cheque, transfer, card terminal): the
/// same ledger path as provider events.
#[instrument(skip_all)]
async fn record_payment(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    use cobro_domain::{Currency, FactKind, Money, PaymentFact, PaymentMethod};
    let path = format!("/v1/invoices/{id}/payments");
    let (body, idem) = match idempotency::start(&app, &caller, &headers, &path, body).await? {
        Start::Replay(answer) => return Ok(answer),
        Start::Fresh { body, key } => (body, key),
    };
    let Some(invoice_id) = InvoiceId::parse(&id) else {
        return Err(Problem::not_found("invoice"));
    };
    let input: NewPayment = json::parse(&headers, &body)?;
    let mut errors = FieldErrors::new();
    let method = match input.method.as_str() {
        "cash" => Some(PaymentMethod::Cash),
        "cheque" => Some(PaymentMethod::Cheque),
        "transfer" => Some(PaymentMethod::Transfer),
        "card_terminal" => Some(PaymentMethod::CardTerminal),
        _ => {
            errors.add("method", "must be cash, cheque, transfer or card_terminal");
            None
        }
    };
    let amount = match Currency::parse(&input.currency) {
        Err(e) => {
            errors.add("currency", e.to_string());
            None
        }
        Ok(c) => match Money::new(input.amount, c) {
            Ok(m) if m.is_positive() => Some(m),
            Ok(_) => {
                errors.add("amount", "must be greater than zero");
                None
            }
            Err(e) => {
                errors.add("amount", e.to_string());
                None
            }
        },
    };
    let reference = input
        .reference
        .map(|r| r.trim().chars().take(200).collect::<String>())
        .filter(|r| !r.is_empty());
    let (Some(method), Some(amount), true) = (method, amount, errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let fact = PaymentFact {
        source: "manual".into(),
        payment_id: reference
            .clone()
            .unwrap_or_else(|| cobro_domain::PaymentId::generate().to_string()),
        kind: FactKind::Received,
        amount,
        method,
    };
    let now = app.now();
    let record = |after: &cobro_store::StoredInvoice| {
        invoice_record(idem.as_ref(), StatusCode::CREATED, after, now)
    };
    match crate::payments::apply_fact(&app, &invoice_id, &fact, None, &record, None).await {
        Ok(None) => Err(Problem::not_found("invoice")),
        Ok(Some(crate::payments::Applied::Entry(after, _))) => {
            let view = to_json(&InvoiceView::new(
                &after.invoice,
                &after.entries,
                None,
                true,
            )?)?;
            Ok(created(format!("/v1/invoices/{invoice_id}"), view))
        }
        Ok(Some(crate::payments::Applied::Refused(_, stored))) => {
            Err(Problem::validation(FieldErrors::single(
                "currency",
                format!("the invoice is in {}", stored.invoice.currency),
            )))
        }
        Ok(Some(crate::payments::Applied::Duplicate(_))) => Err(Problem::new(
            StatusCode::CONFLICT,
            "duplicate-payment",
            "Payment already recorded",
            "A payment with this reference is already on the invoice.",
        )),
        Ok(Some(crate::payments::Applied::Ignored(why))) => Err(Problem::malformed(why)),
        Err(StoreError::IdempotencyKeyTaken) => {
            idempotency::replay_after_race(&app, idem.as_ref()).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn list_unmatched(
    State(app): State<App>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let page = app.store.list_unmatched(&page_request(params)?).await?;
    let list = ListView {
        object: "list",
        data: page.items,
        next_cursor: cursor(page.next),
    };
    Ok(Json(to_json(&list)?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyUnmatched {
    invoice_id: String,
}

/// A person puts a queued payment on the invoice it belongs to: the ledger entry and the
/// resolution are one write, so two people cannot apply it twice.
#[instrument(skip_all)]
async fn apply_unmatched(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    use crate::payments::{Applied, apply_fact};
    let path = format!("/v1/unmatched/{id}/apply");
    let (body, idem) = match idempotency::start(&app, &caller, &headers, &path, body).await? {
        Start::Replay(answer) => return Ok(answer),
        Start::Fresh { body, key } => (body, key),
    };
    let not_found = || Problem::not_found("unmatched payment");
    let id = cobro_domain::UnmatchedId::parse(&id).ok_or_else(not_found)?;
    let input: ApplyUnmatched = json::parse(&headers, &body)?;
    let mut item = app.store.unmatched(&id).await?.ok_or_else(not_found)?;
    if item.resolved.is_some() {
        return Err(already_resolved());
    }
    let no_invoice =
        || Problem::validation(FieldErrors::single("invoice_id", "no invoice with this id"));
    let invoice_id = InvoiceId::parse(input.invoice_id.trim()).ok_or_else(no_invoice)?;
    let now = app.now();
    item.resolved = Some(cobro_store::Resolution {
        invoice_id: invoice_id.clone(),
        at: now,
    });
    let record = |after: &cobro_store::StoredInvoice| {
        invoice_record(idem.as_ref(), StatusCode::OK, after, now)
    };
    match apply_fact(&app, &invoice_id, &item.fact, None, &record, Some(&item)).await {
        Ok(None) => Err(no_invoice()),
        Ok(Some(Applied::Entry(after, _))) => {
            tracing::info!(unmatched_id = %item.id, invoice_id = %invoice_id, "unmatched payment applied");
            Ok(Json(to_json(&InvoiceView::new(
                &after.invoice,
                &after.entries,
                None,
                true,
            )?)?)
            .into_response())
        }
        Ok(Some(Applied::Refused(_, stored))) => Err(Problem::validation(FieldErrors::single(
            "invoice_id",
            format!(
                "the invoice is in {}, the payment in {}",
                stored.invoice.currency,
                item.fact.amount.currency()
            ),
        ))),
        Ok(Some(Applied::Duplicate(_) | Applied::Ignored(_))) => Err(Problem::new(
            StatusCode::CONFLICT,
            "already-applied",
            "Already on the invoice",
            "This payment is already in the invoice's ledger.",
        )),
        Err(StoreError::AlreadyResolved) => Err(already_resolved()),
        Err(StoreError::IdempotencyKeyTaken) => {
            idempotency::replay_after_race(&app, idem.as_ref()).await
        }
        Err(e) => Err(e.into()),
    }
}

fn already_resolved() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "already-resolved",
        "Already applied",
        "This payment was already applied to an invoice.",
    )
}

/// The idempotency record of an answer that shows the invoice as the write will leave it.
fn invoice_record(
    key: Option<&idempotency::Key>,
    status: StatusCode,
    after: &cobro_store::StoredInvoice,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<cobro_store::IdempotencyRecord> {
    let view = InvoiceView::new(&after.invoice, &after.entries, None, true).ok()?;
    Some(key?.record(status, &serde_json::to_value(&view).ok()?, now))
}
