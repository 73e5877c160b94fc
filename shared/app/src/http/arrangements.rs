//! `/v1/invoices/{id}/promises`, `/plans`, `/extensions`: the business makes an
//! arrangement for a client; `/pause` and `/resume` hold and restart the chase; 201 with
//! the invoice as it now is.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use cobro_store::StoredInvoice;
use tracing::instrument;

use super::created;
use super::idempotency::{IdempotencyKeyHeader, Idempotent};
use super::problem::{Problem, ProblemBody};
use super::views::{InvoiceView, to_json};
use crate::App;
use crate::usecases::arrangements::{
    self, ExtensionInput, Input, PauseInput, PlanInput, PromiseInput,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(promise))
        .routes(routes!(plan))
        .routes(routes!(extension))
        .routes(routes!(pause))
        .routes(routes!(resume))
}

/// Pauses the chase until `until` (after today, within a year), with the business's
/// `reason`: no reminder, notice, fee or escalation before that day, when it resumes by
/// itself. The client is not told and the pay page does not show it.
#[utoipa::path(post, operation_id = "pause_chase", path = "/v1/invoices/{id}/pause", tag = "arrangements",
    params(("id" = String, Path, description = "The invoice's id (`inv_…`)"), IdempotencyKeyHeader),
    request_body = PauseInput,
    responses((status = 201, description = "Paused; the invoice as it now is (`paused_until`)", body = InvoiceView), (status = 409, description = "Nothing to pause: the invoice is paid, void or escalated (`code` says which)", body = ProblemBody, content_type = "application/problem+json")))]
async fn pause(app: State<App>, id: Path<String>, idem: Idempotent) -> Result<Response, Problem> {
    let input = Input::Pause(idem.parse()?);
    make(app, id, idem, input).await
}

/// Resumes a paused chase now: what fell due during the pause goes out (the latest
/// reminder only, as after any gap).
#[utoipa::path(post, operation_id = "resume_chase", path = "/v1/invoices/{id}/resume", tag = "arrangements",
    params(("id" = String, Path, description = "The invoice's id (`inv_…`)"), IdempotencyKeyHeader),
    responses((status = 201, description = "Resumed; the invoice as it now is", body = InvoiceView), (status = 409, description = "The invoice is not paused (`not-paused`)", body = ProblemBody, content_type = "application/problem+json"), (status = 422, description = "The Idempotency-Key was used with a different request", body = ProblemBody, content_type = "application/problem+json")))]
async fn resume(app: State<App>, id: Path<String>, idem: Idempotent) -> Result<Response, Problem> {
    make(app, id, idem, Input::Resume).await
}

/// The client promises to pay (all that is due, or `amount`) by `date`: reminders pause
/// until then; kept or broken, it is judged by itself.
#[utoipa::path(post, operation_id = "make_promise", path = "/v1/invoices/{id}/promises", tag = "arrangements",
    params(("id" = String, Path, description = "The invoice's id (`inv_…`)"), IdempotencyKeyHeader),
    request_body = PromiseInput,
    responses((status = 201, description = "Recorded; the invoice as it now is", body = InvoiceView), (status = 409, description = "The invoice cannot take this arrangement now (paid, void, escalated, in a plan, too many promises; `code` says which)", body = ProblemBody, content_type = "application/problem+json")))]
async fn promise(app: State<App>, id: Path<String>, idem: Idempotent) -> Result<Response, Problem> {
    let input = Input::Promise(idem.parse()?);
    make(app, id, idem, input).await
}

/// A payment plan: `instalments` listed, or `count` monthly from `first_due_date` (split
/// exactly).
#[utoipa::path(post, operation_id = "make_plan", path = "/v1/invoices/{id}/plans", tag = "arrangements",
    params(("id" = String, Path, description = "The invoice's id (`inv_…`)"), IdempotencyKeyHeader),
    request_body = PlanInput,
    responses((status = 201, description = "Recorded; the invoice as it now is", body = InvoiceView), (status = 409, description = "The invoice cannot take this arrangement now (paid, void, escalated, in a plan, too many promises; `code` says which)", body = ProblemBody, content_type = "application/problem+json")))]
async fn plan(app: State<App>, id: Path<String>, idem: Idempotent) -> Result<Response, Problem> {
    let input = Input::Plan(idem.parse()?);
    make(app, id, idem, input).await
}

/// Moves the due date, with a reason kept in the invoice's history; reminders restart.
#[utoipa::path(post, operation_id = "extend_due_date", path = "/v1/invoices/{id}/extensions", tag = "arrangements",
    params(("id" = String, Path, description = "The invoice's id (`inv_…`)"), IdempotencyKeyHeader),
    request_body = ExtensionInput,
    responses((status = 201, description = "Recorded; the invoice as it now is", body = InvoiceView), (status = 409, description = "The invoice cannot take this arrangement now (paid, void, escalated, in a plan, too many promises; `code` says which)", body = ProblemBody, content_type = "application/problem+json")))]
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
    match arrangements::request(&app, &idem.by, &id, input, &remember).await {
        Ok(after) => {
            let body = to_json(&InvoiceView::full(&after, now)?)?;
            Ok(created(format!("/v1/invoices/{}", after.invoice.id), body))
        }
        Err(e) => Ok(idem.failed(&app, e).await),
    }
}
