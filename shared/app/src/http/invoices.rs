//! `/v1/invoices`: create and read invoices, record manual payments, reissue or revoke pay
//! links, void.

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cobro_domain::NewInvoice;
use cobro_store::StoredInvoice;
use serde::Deserialize;
use tracing::instrument;

use super::idempotency::Idempotent;
use super::problem::Problem;
use super::views::{InvoiceView, to_json};
use super::{created, json};
use crate::App;
use crate::usecases::payments::{self, ManualPayment};
use crate::usecases::{invoicing, links};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/invoices", post(create))
        .route("/v1/invoices/{id}", get(get_invoice))
        .route("/v1/invoices/{id}/payments", post(record_payment))
        .route("/v1/invoices/{id}/pay-links", post(new_pay_link))
        .route("/v1/invoices/{id}/pay-links/revoke", post(revoke_pay_links))
        .route("/v1/invoices/{id}/void", post(void))
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
    match invoicing::create_invoice(&app, &input, &remember).await {
        Ok(issued) => {
            let body = new_invoice_json(&issued.stored(), &issued.pay_url, now)?;
            Ok(created(format!("/v1/invoices/{}", issued.invoice.id), body))
        }
        Err(e) => Ok(idem.failed(&app, e).await),
    }
}

async fn get_invoice(State(app): State<App>, Path(id): Path<String>) -> Result<Response, Problem> {
    let stored = invoicing::invoice(&app, &id).await?;
    Ok(Json(to_json(&InvoiceView::full(&stored, app.now())?)?).into_response())
}

/// A payment the business received by hand (cash, cheque, transfer, card terminal): the
/// same ledger path as provider events.
#[instrument(skip_all)]
async fn record_payment(
    State(app): State<App>,
    Path(id): Path<String>,
    idem: Idempotent,
) -> Result<Response, Problem> {
    let input: ManualPayment = idem.parse()?;
    let now = app.now();
    let remember = |after: &StoredInvoice| idem.invoice_record(StatusCode::CREATED, after, now);
    match payments::record_manual(&app, &id, input, &remember).await {
        Ok(after) => {
            let view = to_json(&InvoiceView::full(&after, now)?)?;
            Ok(created(format!("/v1/invoices/{}", after.invoice.id), view))
        }
        Err(e) => Ok(idem.failed(&app, e).await),
    }
}

/// A new pay link for the invoice (the one in the invoice e-mail is shown only once).
#[instrument(skip_all)]
async fn new_pay_link(State(app): State<App>, Path(id): Path<String>) -> Result<Response, Problem> {
    let (invoice_id, url, token) = links::reissue(&app, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"object": "pay_link", "invoice_id": invoice_id, "url": url, "expires_at": token.expires_at})),
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
    let (invoice_id, n) = links::revoke(&app, &id).await?;
    Ok(Json(serde_json::json!({"invoice_id": invoice_id, "revoked": n})).into_response())
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
async fn void(
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
    let after = invoicing::void(&app, &id, input.reason.as_deref()).await?;
    Ok(Json(to_json(&InvoiceView::full(&after, app.now())?)?).into_response())
}
