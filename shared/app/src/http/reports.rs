//! `/v1/reports/…`: the escalation report and the penalty log as CSV, fit to open in a
//! spreadsheet or hand to a collection agency; the promise report as JSON.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::problem::Problem;
use crate::App;
use crate::usecases::reports;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/reports/escalated", get(escalated))
        .route("/v1/reports/late-fees", get(late_fees))
        .route("/v1/reports/promises", get(promises))
}

fn csv_response(name: &str, body: String) -> Response {
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

async fn escalated(State(app): State<App>) -> Result<Response, Problem> {
    Ok(csv_response(
        "escalated.csv",
        reports::escalated_csv(&app).await?,
    ))
}

async fn late_fees(State(app): State<App>) -> Result<Response, Problem> {
    Ok(csv_response(
        "late-fees.csv",
        reports::late_fees_csv(&app).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromiseParams {
    #[serde(default)]
    client_id: Option<String>,
}

/// `GET /v1/reports/promises[?client_id=]`: kept and broken promises (and broken plans)
/// overall and per client, with each broken one.
async fn promises(
    State(app): State<App>,
    params: Result<Query<PromiseParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(params) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    let report = reports::promises(&app, params.client_id.as_deref()).await?;
    let clients: Vec<serde_json::Value> = report
        .clients
        .iter()
        .map(|c| {
            serde_json::json!({
                "client_id": c.client_id,
                "name": c.name,
                "kept": c.tally.kept,
                "broken": c.tally.broken,
                "plans_broken": c.tally.plans_broken,
                "kept_rate": c.tally.kept_rate,
                "broken_items": c.broken,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "object": "promise_report",
        "overall": report.overall,
        "clients": clients,
    }))
    .into_response())
}
