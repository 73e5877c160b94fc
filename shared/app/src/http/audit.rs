//! `/v1/audit`: the audit log, newest first: every action the business's people and API
//! keys took, and clients on their pay page; one invoice's or one client's with a filter.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use cobro_domain::{AuditRecord, FieldErrors};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::paging::{list, page_of};
use super::problem::{Problem, ProblemBody};
use super::views::ListView;
use crate::App;
use crate::usecases::audit;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    /// Only the actions on this invoice (`inv_…`).
    invoice_id: Option<String>,
    /// Only the actions on this client and their invoices (`cli_…`).
    client_id: Option<String>,
    /// Items per page (20 by default).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// Who did what, when, on which invoice or client, newest first.
#[utoipa::path(get, operation_id = "audit_log", path = "/v1/audit", tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "A page of the log", body = ListView<AuditRecord>),
        (status = 400, description = "A parameter this endpoint does not take", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "An invoice or client that is not one of ours, both at once, or a bad `limit` or `after`", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn audit_log(
    State(app): State<App>,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(p) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    let mut errors = FieldErrors::new();
    let page = page_of(p.limit.as_deref(), p.after.as_deref(), &mut errors);
    let page = errors.finish(|| page).map_err(Problem::validation)?;
    let filter = audit::filter(&app, p.invoice_id.as_deref(), p.client_id.as_deref()).await?;
    let found = audit::log(&app, &filter, &page).await?;
    list(found.items, found.next)
}
