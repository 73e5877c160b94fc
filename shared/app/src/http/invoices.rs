//! `/v1/invoices`: create and read invoices, record manual payments, reissue or revoke pay
//! links, void.

use axum::Extension;
use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cobro_domain::NewInvoice;
use cobro_store::StoredInvoice;
use serde::Deserialize;
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::idempotency::{IdempotencyKeyHeader, Idempotent};
use super::paging::{list, page_of};
use super::problem::{Problem, ProblemBody};
use super::views::{InvoiceRowView, InvoiceView, ListView, PayLinkView, RevokedView, to_json};
use super::{created, json};
use crate::App;
use crate::usecases::payments::{self, Direction, ManualPayment};
use crate::usecases::{invoicing, links, lists};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, list_invoices))
        .routes(routes!(get_invoice))
        .routes(routes!(record_payment))
        .routes(routes!(record_refund))
        .routes(routes!(new_pay_link))
        .routes(routes!(revoke_pay_links))
        .routes(routes!(void))
        .routes(routes!(send))
}

/// A new invoice as answered: without its ledger, with its pay link (shown this once).
fn new_invoice_json(
    stored: &StoredInvoice,
    pay_url: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<serde_json::Value, Problem> {
    Ok(to_json(
        &InvoiceView::summary(stored, now)?.with_pay_url(pay_url),
    )?)
}

/// Creates an invoice, numbered, with its payment reference and a pay link (shown this
/// once); `send: true` e-mails it to the client.
#[utoipa::path(post, operation_id = "create_invoice", path = "/v1/invoices", tag = "invoices",
    params(IdempotencyKeyHeader),
    request_body = NewInvoice,
    responses(
        (status = 201, description = "Created; `pay_url` is shown this once", body = InvoiceView),
        (status = 409, description = "A deposit is required first, the budget or the credit limit would be exceeded, the client's tier is restricted", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn create(State(app): State<App>, idem: Idempotent) -> Result<Response, Problem> {
    let input: NewInvoice = idem.parse()?;
    let now = app.now();
    let remember = |stored: &StoredInvoice, pay_url: &str| {
        idem.record(
            StatusCode::CREATED,
            &new_invoice_json(stored, pay_url, now).ok()?,
            now,
        )
    };
    match invoicing::create_invoice(&app, &idem.by, &input, &remember).await {
        Ok(issued) => {
            let body = new_invoice_json(&issued.stored(), &issued.pay_url, now)?;
            Ok(created(format!("/v1/invoices/{}", issued.invoice.id), body))
        }
        Err(e) => Ok(idem.failed(&app, e).await),
    }
}

/// An invoice list's filters and page, as the query string gives them (read as text, so a
/// bad value is a 422 naming its field).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListFilterParams {
    /// Statuses, comma-separated: open, partially_paid, escalated, disputed, paid,
    /// overpaid, refunded, void, draft.
    pub status: Option<String>,
    /// Still owed and this long past due: `current`, `1-30`, `31-60`, `61-90`, `90+`.
    pub overdue: Option<String>,
    /// One client's (`cli_…`).
    pub client_id: Option<String>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// Due (in force) on or after this day, YYYY-MM-DD.
    #[param(format = Date)]
    pub due_from: Option<String>,
    /// Due (in force) on or before this day, YYYY-MM-DD.
    #[param(format = Date)]
    pub due_to: Option<String>,
    /// Text in the number, payment reference or lines (case and accents aside).
    pub q: Option<String>,
    /// Paused, and the pause ends by this day (after today), YYYY-MM-DD.
    #[param(format = Date)]
    pub pause_ends_by: Option<String>,
    /// `due_date` (default), `-due_date`, `amount_due`, `-amount_due` (amounts within
    /// each currency).
    pub sort: Option<String>,
    /// Items per page (20 by default).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub after: Option<String>,
    /// CSV only: `1` for a spreadsheet set to Spanish, `0` for programs.
    #[serde(default)]
    #[param(pattern = "^[01]$")]
    pub excel: Option<String>,
}

impl ListFilterParams {
    pub fn query(&self) -> crate::usecases::lists::ListQuery {
        crate::usecases::lists::ListQuery {
            status: self.status.clone(),
            overdue: self.overdue.clone(),
            client_id: self.client_id.clone(),
            currency: self.currency.clone(),
            due_from: self.due_from.clone(),
            due_to: self.due_to.clone(),
            q: self.q.clone(),
            sort: self.sort.clone(),
            pause_ends_by: self.pause_ends_by.clone(),
        }
    }
}

/// Invoices across clients, filtered (every filter given must hold), sorted and a page at
/// a time; read from the list indexes, never the whole table.
#[utoipa::path(get, operation_id = "list_invoices", path = "/v1/invoices", tag = "invoices",
    params(ListFilterParams),
    responses(
        (status = 200, description = "A page of invoices", body = ListView<InvoiceRowView>),
        (status = 400, description = "An unknown query parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A filter, `limit` or `after` is not valid (each named)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn list_invoices(
    State(app): State<App>,
    params: Result<Query<ListFilterParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(p) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    let mut errors = cobro_domain::FieldErrors::new();
    let page = page_of(p.limit.as_deref(), p.after.as_deref(), &mut errors);
    let checked = lists::check(&app, &p.query()).await;
    let checked = match checked {
        Ok(c) if errors.is_empty() => c,
        Ok(_) => return Err(Problem::validation(errors)),
        Err(crate::usecases::Error::Invalid(e)) => {
            errors.errors.extend(e.errors);
            return Err(Problem::validation(errors));
        }
        Err(e) => return Err(e.into()),
    };
    let listed = lists::page(&app, &checked, &page).await?;
    list(
        listed.rows.iter().map(InvoiceRowView::of).collect(),
        listed.next,
    )
}

/// The invoice with its ledger, dunning stages and arrangements.
#[utoipa::path(get, operation_id = "get_invoice", path = "/v1/invoices/{id}", tag = "invoices",
    params(("id" = String, Path, description = "The invoice's id (`inv_…`)")),
    responses((status = 200, description = "The invoice", body = InvoiceView)))]
async fn get_invoice(State(app): State<App>, Path(id): Path<String>) -> Result<Response, Problem> {
    let stored = invoicing::invoice(&app, &id).await?;
    Ok(Json(to_json(&InvoiceView::full(&stored, app.now())?)?).into_response())
}

/// A payment the business received by hand (cash, cheque, transfer, card terminal): the
/// same ledger path as provider events.
#[utoipa::path(post, operation_id = "record_payment", path = "/v1/invoices/{id}/payments", tag = "invoices",
    params(("id" = String, Path, description = "The invoice's id (`inv_…`)"), IdempotencyKeyHeader),
    request_body = ManualPayment,
    responses(
        (status = 201, description = "Recorded; the invoice as it now is", body = InvoiceView),
        (status = 409, description = "This payment (its reference) was already recorded", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn record_payment(
    State(app): State<App>,
    Path(id): Path<String>,
    idem: Idempotent,
) -> Result<Response, Problem> {
    record_manual(app, id, idem, Direction::Received).await
}

/// Both ways money is moved by hand, answered alike.
async fn record_manual(
    app: App,
    id: String,
    idem: Idempotent,
    direction: Direction,
) -> Result<Response, Problem> {
    let input: ManualPayment = idem.parse()?;
    let now = app.now();
    let remember = |after: &StoredInvoice| idem.invoice_record(StatusCode::CREATED, after, now);
    match payments::record_manual(&app, &idem.by, &id, input, direction, &remember).await {
        Ok(after) => {
            let view = to_json(&InvoiceView::full(&after, now)?)?;
            Ok(created(format!("/v1/invoices/{}", after.invoice.id), view))
        }
        Err(e) => Ok(idem.failed(&app, e).await),
    }
}

/// Money the business gave back to the client by hand (cash, transfer…): a refund entry,
/// the same ledger path as a provider's refund; the client is told. At most what the
/// invoice holds of the client's money.
#[utoipa::path(post, operation_id = "record_refund", path = "/v1/invoices/{id}/refunds", tag = "invoices",
    params(("id" = String, Path, description = "The invoice's id (`inv_…`)"), IdempotencyKeyHeader),
    request_body = ManualPayment,
    responses(
        (status = 201, description = "Recorded; the invoice as it now is", body = InvoiceView),
        (status = 409, description = "This refund (its reference) was already recorded", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn record_refund(
    State(app): State<App>,
    Path(id): Path<String>,
    idem: Idempotent,
) -> Result<Response, Problem> {
    record_manual(app, id, idem, Direction::Refunded).await
}

/// A new pay link for the invoice (the one in the invoice e-mail is shown only once).
#[utoipa::path(post, operation_id = "new_pay_link", path = "/v1/invoices/{id}/pay-links", tag = "invoices",
    params(("id" = String, Path, description = "The invoice's id (`inv_…`)")),
    responses((status = 201, description = "A new link; earlier ones still work", body = PayLinkView)))]
#[instrument(skip_all)]
async fn new_pay_link(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, Problem> {
    let (invoice_id, url, token) = links::reissue(&app, &caller.by, &id).await?;
    let view = PayLinkView {
        object: "pay_link",
        invoice_id,
        url,
        expires_at: token.expires_at,
    };
    Ok((StatusCode::CREATED, Json(to_json(&view)?)).into_response())
}

/// Revokes every pay link of the invoice (a link sent to the wrong person): they open the
/// portal's 404 from now on.
#[utoipa::path(post, operation_id = "revoke_pay_links", path = "/v1/invoices/{id}/pay-links/revoke", tag = "invoices",
    params(("id" = String, Path, description = "The invoice's id (`inv_…`)")),
    responses((status = 200, description = "How many links were revoked", body = RevokedView)))]
#[instrument(skip_all)]
async fn revoke_pay_links(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, Problem> {
    let (invoice_id, revoked) = links::revoke(&app, &caller.by, &id).await?;
    Ok(Json(to_json(&RevokedView {
        invoice_id,
        revoked,
    })?)
    .into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct VoidRequest {
    /// An internal note kept in the invoice's history (line breaks are kept); never sent
    /// to the client.
    #[serde(default)]
    reason: Option<String>,
    /// What the client is told in the message that the invoice was cancelled (optional).
    #[serde(default)]
    message: Option<String>,
}

/// E-mails the invoice to the client with a fresh pay link: the first time for one
/// created without `send` (its reminders start only now), or again. Each call sends once;
/// with an `Idempotency-Key`, a retry answers the first call again and sends nothing.
#[utoipa::path(post, operation_id = "send_invoice", path = "/v1/invoices/{id}/send", tag = "invoices",
    params(("id" = String, Path, description = "The invoice's id (`inv_…`)"), IdempotencyKeyHeader),
    responses(
        (status = 200, description = "Sent; the invoice as it now is, with the new `pay_url`", body = InvoiceView),
        (status = 409, description = "Nothing is due on it (paid, void…)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with a different request", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn send(
    State(app): State<App>,
    Path(id): Path<String>,
    idem: Idempotent,
) -> Result<Response, Problem> {
    let now = app.now();
    let remember = |stored: &StoredInvoice, pay_url: &str| {
        idem.record(
            StatusCode::OK,
            &new_invoice_json(stored, pay_url, now).ok()?,
            now,
        )
    };
    match invoicing::send(&app, &idem.by, &id, &remember).await {
        Ok((after, pay_url)) => Ok(Json(new_invoice_json(&after, &pay_url, now)?).into_response()),
        Err(e) => Ok(idem.failed(&app, e).await),
    }
}

/// Cancels what is still owed: a `void` entry; the chase stops. Paid or already void
/// invoices cannot be voided (409).
#[utoipa::path(post, operation_id = "void_invoice", path = "/v1/invoices/{id}/void", tag = "invoices",
    params(("id" = String, Path, description = "The invoice's id (`inv_…`)")),
    request_body(content = Option<VoidRequest>, description = "Optional: the body may be empty"),
    responses(
        (status = 200, description = "Voided; the invoice as it now is", body = InvoiceView),
        (status = 409, description = "Paid or already void", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn void(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = json::body(body)?;
    let input: VoidRequest = if body.is_empty() {
        VoidRequest::default()
    } else {
        json::parse(&headers, &body)?
    };
    let (reason, message) = (input.reason.as_deref(), input.message.as_deref());
    let after = invoicing::void(&app, &caller.by, &id, reason, message).await?;
    Ok(Json(to_json(&InvoiceView::full(&after, app.now())?)?).into_response())
}
