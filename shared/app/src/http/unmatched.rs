//! `/v1/unmatched`: the queue of payments that matched no invoice, and a person applying
//! one to the invoice it belongs to.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cobro_store::StoredInvoice;
use cobro_store::Unmatched;
use serde::Deserialize;
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::idempotency::{IdempotencyKeyHeader, Idempotent};
use super::paging::{ListParams, list, page_request};
use super::problem::{Problem, ProblemBody};
use super::views::{InvoiceView, ListView, to_json};
use crate::App;
use crate::usecases::payments;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_unmatched))
        .routes(routes!(apply))
}

/// Payments waiting for a person: they named no invoice, or one that could not take them.
#[utoipa::path(get, operation_id = "list_unmatched", path = "/v1/unmatched", tag = "unmatched",
    params(ListParams),
    responses(
        (status = 200, description = "A page of the queue", body = ListView<Unmatched>),
        (status = 422, description = "`limit` or `after` is not valid", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn list_unmatched(
    State(app): State<App>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let page = payments::list_unmatched(&app, &page_request(params)?).await?;
    list(page.items, page.next)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ApplyUnmatched {
    /// The invoice the payment belongs to (`inv_…`).
    invoice_id: String,
}

/// A person puts a queued payment on the invoice it belongs to: the ledger entry and the
/// resolution are one write, so two people cannot apply it twice.
#[utoipa::path(post, operation_id = "apply_unmatched", path = "/v1/unmatched/{id}/apply", tag = "unmatched",
    params(("id" = String, Path, description = "The queued payment's id (`unm_…`)"), IdempotencyKeyHeader),
    request_body = ApplyUnmatched,
    responses(
        (status = 200, description = "Applied; the invoice as it now is", body = InvoiceView),
        (status = 409, description = "Already applied", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
async fn apply(
    State(app): State<App>,
    Path(id): Path<String>,
    idem: Idempotent,
) -> Result<Response, Problem> {
    let input: ApplyUnmatched = idem.parse()?;
    let now = app.now();
    let remember = |after: &StoredInvoice| idem.invoice_record(StatusCode::OK, after, now);
    match payments::apply_unmatched(&app, &idem.by, &id, &input.invoice_id, &remember).await {
        Ok(after) => Ok(Json(to_json(&InvoiceView::full(&after, now)?)?).into_response()),
        Err(e) => Ok(idem.failed(&app, e).await),
    }
}
