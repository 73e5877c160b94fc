//! `/v1/invoices/{id}/promises`, `/plans`, `/extensions`: the business makes an
//! arrangement for a client; 201 with the invoice as it now is.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use cobro_store::StoredInvoice;
use tracing::instrument;

use super::created;
use super::idempotency::Idempotent;
use super::problem::Problem;
use super::views::{InvoiceView, to_json};
use crate::App;
use crate::usecases::arrangements::{self, Input};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/invoices/{id}/promises", post(promise))
        .route("/v1/invoices/{id}/plans", post(plan))
        .route("/v1/invoices/{id}/extensions", post(extension))
}

/// `POST /v1/invoices/{id}/promises` `{"date", "amount"?, "currency"?}`.
async fn promise(app: State<App>, id: Path<String>, idem: Idempotent) -> Result<Response, Problem> {
    let input = Input::Promise(idem.parse()?);
    make(app, id, idem, input).await
}

/// `POST /v1/invoices/{id}/plans` `{"instalments": [{"due_date", "amount"}]}` or
/// `{"count", "first_due_date"}`.
async fn plan(app: State<App>, id: Path<String>, idem: Idempotent) -> Result<Response, Problem> {
    let input = Input::Plan(idem.parse()?);
    make(app, id, idem, input).await
}

/// `POST /v1/invoices/{id}/extensions` `{"due_date", "reason"}`.
async fn extension(
    app: State<App>,
    id: Path<String>,
    idem: Idempotent,
) -> Result<Response, Problem> {
    let input = Input::Extension(idem.parse()?);
    make(app, id, idem, input).await
}

#[instrument(skip_all)]
async fn make(
    State(app): State<App>,
    Path(id): Path<String>,
    idem: Idempotent,
    input: Input,
) -> Result<Response, Problem> {
    let now = app.now();
    let remember = |after: &StoredInvoice| idem.invoice_record(StatusCode::CREATED, after, now);
    match arrangements::request(&app, &id, input, &remember).await {
        Ok(after) => {
            let body = to_json(&InvoiceView::full(&after, now)?)?;
            Ok(created(format!("/v1/invoices/{}", after.invoice.id), body))
        }
        Err(e) => Ok(idem.failed(&app, e).await),
    }
}
