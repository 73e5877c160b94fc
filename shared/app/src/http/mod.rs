//! The HTTP adapters: one router file per resource area, merged here into one router per
//! function. A handler parses the request, calls one use case ([`crate::usecases`]) and
//! shapes the answer; a use case's error becomes problem+json in one place
//! ([`problem`]), pages answer in HTML.
//!
//! - invoices-api ([`invoices_api`]): [`clients`], [`invoices`], [`unmatched`],
//!   [`arrangements`], [`reports`], [`audit`], behind API keys ([`auth`]);
//! - payment-webhook ([`payment_webhook`]): [`webhooks`];
//! - pay-portal ([`pay_portal`]): [`portal`]; `cobro serve` adds its sandbox checkout
//!   ([`sandbox`]);
//! - console ([`console()`]): the finance team's pages, [`console`].
//!
//! Beside them: request bodies ([`json`]), `Idempotency-Key` ([`idempotency`]), paged lists
//! ([`paging`]) and the JSON shapes of clients and invoices ([`views`]).

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, middleware};

use utoipa_axum::router::OpenApiRouter;

use crate::App;

pub mod arrangements;
pub mod audit;
pub mod auth;
pub mod charts;
pub mod clients;
pub mod console;
pub mod figures;
pub mod idempotency;
pub mod invoices;
pub mod json;
pub mod openapi;
pub mod pages;
pub mod paging;
pub mod portal;
pub mod problem;
pub mod reports;
pub mod unmatched;
pub mod views;
pub mod webhooks;

pub use problem::Problem;

/// The business's API, every route under `/v1`, each described ([`openapi`]).
fn api_routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .merge(clients::routes())
        .merge(invoices::routes())
        .merge(unmatched::routes())
        .merge(arrangements::routes())
        .merge(reports::routes())
        .merge(figures::routes())
        .merge(audit::routes())
}

/// The invoices-api function: the business's API, every route under `/v1`, behind API
/// keys; and its description at `GET /v1/openapi.json`, public.
pub fn invoices_api(app: App) -> Router {
    let (api, _) = api_routes().split_for_parts();
    api.route_layer(middleware::from_fn_with_state(
        app.clone(),
        auth::require_api_key,
    ))
    .route("/v1/openapi.json", axum::routing::get(openapi::serve))
    .layer(DefaultBodyLimit::max(json::MAX_BODY))
    .with_state(app)
}

/// The payment-webhook function: `POST /webhooks/{provider}`, public and verified.
pub fn payment_webhook(app: App) -> Router {
    let (router, _) = webhooks::routes().split_for_parts();
    router
        .layer(DefaultBodyLimit::max(json::MAX_BODY))
        .with_state(app)
}

/// The pay-portal function: `/pay/{token}` and its forms.
pub fn pay_portal(app: App) -> Router {
    let (router, _) = portal::routes().split_for_parts();
    router.with_state(app)
}

/// The console function: the finance team's pages under `/console`.
pub fn console(app: App) -> Router {
    console::routes()
        .layer(DefaultBodyLimit::max(json::MAX_BODY))
        .with_state(app)
}

/// The local stand-in for a provider's hosted checkout (only `cobro serve` mounts it).
pub fn sandbox(app: App) -> Router {
    portal::sandbox_routes().with_state(app)
}

/// Finishes a router for serving: problem+json for unknown paths and methods, request
/// tracing. Applied once, by a Lambda main or by `cobro serve` after merging routers.
pub fn finish(router: Router) -> Router {
    router
        .fallback(|| async { not_found().into_response() })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "This path does not accept this method.",
            )
            .into_response()
        })
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// The answer for paths no router knows.
fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "There is nothing at this path.",
    )
}

/// 201 Created with its `Location`.
fn created(location: String, body: serde_json::Value) -> Response {
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}
