//! `/v1/unmatched`: the queue of payments that matched no invoice, and a person applying
//! one to the invoice it belongs to.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cobro_store::StoredInvoice;
use serde::Deserialize;
use tracing::instrument;

use super::idempotency::Idempotent;
use super::paging::{ListParams, list, page_request};
use super::problem::Problem;
use super::views::{InvoiceView, to_json};
use crate::App;
use crate::usecases::payments;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/unmatched", get(list_unmatched))
        .route("/v1/unmatched/{id}/apply", post(apply))
}

async fn list_unmatched(
    State(app): State<App>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let page = payments::list_unmatched(&app, &page_request(params)?).await?;
    list(page.items, page.next)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyUnmatched {
    invoice_id: String,
}

/// A person puts a queued payment on the invoice it belongs to: the ledger entry and the
/// resolution are one write, so two people cannot apply it twice.
#[instrument(skip_all)]
async fn apply(
    State(app): State<App>,
    Path(id): Path<String>,
    idem: Idempotent,
) -> Result<Response, Problem> {
    let input: ApplyUnmatched = idem.parse()?;
    let now = app.now();
    let remember = |after: &StoredInvoice| idem.invoice_record(StatusCode::OK, after, now);
    match payments::apply_unmatched(&app, &id, &input.invoice_id, &remember).await {
        Ok(after) => Ok(Json(to_json(&InvoiceView::full(&after, now)?)?).into_response()),
        Err(e) => Ok(idem.failed(&app, e).await),
    }
}
