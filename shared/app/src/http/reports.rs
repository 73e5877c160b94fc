//! `/v1/reports/…`: the escalation report and the penalty log as CSV, fit to open in a
//! spreadsheet or hand to a collection agency; the promise report as JSON.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::invoices::ListFilterParams;
use super::problem::{Problem, ProblemBody};
use super::views::{ClientPromisesView, PromiseReportView, to_json};
use crate::App;
use crate::usecases::{lists, reports};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(escalated))
        .routes(routes!(late_fees))
        .routes(routes!(promises))
        .routes(routes!(invoices))
}

pub(super) fn csv_response(name: &str, body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CsvParams {
    /// `1`: ready for a spreadsheet set to Spanish (UTF-8 mark, `;`, decimal comma); `0`:
    /// for programs (`,`, `.`). Default: `1` when the business's language is Spanish.
    #[serde(default)]
    #[param(pattern = "^[01]$")]
    excel: Option<String>,
}

/// The CSV format asked for (422 for an `excel` other than 0 or 1).
fn csv_format(
    app: &App,
    params: Result<Query<CsvParams>, QueryRejection>,
) -> Result<reports::CsvFormat, Problem> {
    let Query(p) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    excel_format(app, p.excel.as_deref())
}

/// The CSV format `excel` asks for (422 for a value other than 0 or 1).
pub fn excel_format(app: &App, excel: Option<&str>) -> Result<reports::CsvFormat, Problem> {
    let excel = match excel {
        None => None,
        Some("1") => Some(true),
        Some("0") => Some(false),
        Some(_) => {
            return Err(
                crate::usecases::Error::Invalid(cobro_domain::FieldErrors::single(
                    "excel",
                    "must be 1 (for a spreadsheet) or 0 (for programs)",
                ))
                .into(),
            );
        }
    };
    Ok(reports::CsvFormat::of(app, excel))
}

/// Invoices handed over for collection, with every notice sent: CSV for an agency.
#[utoipa::path(get, operation_id = "escalated_report", path = "/v1/reports/escalated", tag = "reports",
    params(CsvParams),
    responses(
        (status = 200, description = "One row per escalated invoice", body = String, content_type = "text/csv"),
        (status = 400, description = "An unknown query parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`excel` is not 0 or 1", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn escalated(
    State(app): State<App>,
    params: Result<Query<CsvParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let format = csv_format(&app, params)?;
    Ok(csv_response(
        "escalated.csv",
        reports::escalated_csv(&app, format).await?,
    ))
}

/// Every late fee charged, with its client and the notice that announced it: CSV.
#[utoipa::path(get, operation_id = "late_fees_report", path = "/v1/reports/late-fees", tag = "reports",
    params(CsvParams),
    responses(
        (status = 200, description = "One row per fee", body = String, content_type = "text/csv"),
        (status = 400, description = "An unknown query parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`excel` is not 0 or 1", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn late_fees(
    State(app): State<App>,
    params: Result<Query<CsvParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let format = csv_format(&app, params)?;
    Ok(csv_response(
        "late-fees.csv",
        reports::late_fees_csv(&app, format).await?,
    ))
}

/// The invoice list as CSV: every invoice the same filters as `GET /v1/invoices` pick, in
/// its order (all pages, up to 50,000 rows; `limit` and `after` are not read), safe to
/// open in a spreadsheet.
#[utoipa::path(get, operation_id = "invoices_report", path = "/v1/reports/invoices", tag = "reports",
    params(ListFilterParams),
    responses(
        (status = 200, description = "One row per invoice", body = String, content_type = "text/csv"),
        (status = 400, description = "An unknown query parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A filter or `excel` is not valid (each named)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn invoices(
    State(app): State<App>,
    params: Result<Query<ListFilterParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(p) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    let format = excel_format(&app, p.excel.as_deref())?;
    let checked = lists::check(&app, &p.query()).await?;
    Ok(csv_response(
        "invoices.csv",
        lists::csv(&app, &checked, format).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PromiseParams {
    /// Only this client (`cli_…`).
    #[serde(default)]
    client_id: Option<String>,
}

/// `GET /v1/reports/promises[?client_id=]`: kept and broken promises (and broken plans)
/// overall and per client, with each broken one.
#[utoipa::path(get, operation_id = "promise_report", path = "/v1/reports/promises", tag = "reports",
    params(PromiseParams),
    responses(
        (status = 200, description = "The promise report", body = PromiseReportView),
        (status = 400, description = "An unknown query parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn promises(
    State(app): State<App>,
    params: Result<Query<PromiseParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(params) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    let report = reports::promises(&app, params.client_id.as_deref()).await?;
    let view = PromiseReportView {
        object: "promise_report",
        overall: report.overall,
        clients: report
            .clients
            .into_iter()
            .map(|c| ClientPromisesView {
                client_id: c.client_id,
                name: c.name,
                tally: c.tally,
                broken_items: c.broken,
            })
            .collect(),
    };
    Ok(Json(to_json(&view)?).into_response())
}
