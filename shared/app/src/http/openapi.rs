//! The API's own description, OpenAPI 3.1, served at `GET /v1/openapi.json`.
//!
//! It is generated from the routers themselves: every route is registered through
//! `utoipa_axum::routes!` from a handler annotated with `#[utoipa::path]`, so a route
//! cannot exist without its description, and the request and response schemas come from
//! the Rust types (`utoipa::ToSchema`). What every operation shares is added here, once:
//! the API-key scheme on `/v1`, and the problem answers any route may give (401 without a
//! key, 400/413/415/422 for a body, 404 for an id in the path, 503 and 500).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, ResponseBuilder};

use super::problem::{CONTENT_TYPE as PROBLEM, ProblemBody};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cobro",
        description = "Getting small businesses paid on time: clients, invoices, payments, \
                       promises and plans, reminders, and the pay page their clients open. \
                       Amounts are decimal strings in the currency's minor-unit exponent \
                       (CLP 0, USD 2). Errors are RFC 9457 problem+json.",
        license(name = "Apache-2.0")
    ),
    components(schemas(ProblemBody)),
    tags(
        (name = "clients", description = "Who is billed, in which language and time zone"),
        (name = "invoices", description = "Invoices, their ledger, manual payments, pay links"),
        (name = "arrangements", description = "Promises to pay, payment plans, extensions"),
        (name = "unmatched", description = "Payments that named no invoice, for a person"),
        (name = "reports", description = "Escalations, late fees, promises kept"),
        (name = "audit", description = "Who did what: people, API keys and clients, newest first"),
        (name = "webhooks", description = "Payment providers' events, verified"),
        (name = "pay page", description = "The page a client opens from the e-mailed link")
    )
)]
struct Base;

/// The whole description: the invoices API, the webhooks and the pay page.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    doc.merge(super::api_routes().into_openapi());
    doc.merge(super::webhooks::routes().into_openapi());
    doc.merge(super::portal::routes().into_openapi());
    shared_answers(&mut doc);
    doc
}

/// The description as pretty JSON, made once per process.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| document().to_pretty_json().unwrap_or_default())
}

/// `GET /v1/openapi.json` (public: it describes shapes, never data).
pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json()).into_response()
}

const API_KEY: &str = "api_key";

/// What every operation shares, added to each: the key scheme on `/v1`, and the problems
/// any of them may answer.
fn shared_answers(doc: &mut utoipa::openapi::OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        API_KEY,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API key (`cobro keys create`), as `Authorization: Bearer ck_…`.",
                ))
                .build(),
        ),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        let api = path.starts_with("/v1/") && path != "/v1/openapi.json";
        let page = path.starts_with("/pay/");
        let has_id = path.contains('{');
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            if page {
                let html = utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String);
                answer(
                    op,
                    "500",
                    "Our store or a provider failed: a page asking to try again later",
                    "text/html",
                    Content::new(Some(html)),
                );
            }
            if api {
                op.security = Some(vec![SecurityRequirement::new(
                    API_KEY,
                    Vec::<String>::new(),
                )]);
                problem(
                    op,
                    "400",
                    "Malformed: the body, a header or the query string",
                );
                problem(op, "401", "No API key, or one that is unknown or revoked");
                problem(op, "503", "Busy or unavailable: retry later");
                problem(op, "500", "Our mistake: the correlation id is in the log");
                if op.request_body.is_some() {
                    problem(op, "413", "The body is larger than 256 KiB");
                    problem(op, "415", "The body is not application/json");
                    problem(
                        op,
                        "422",
                        "A field is missing, unknown or invalid: see `errors`",
                    );
                }
                if has_id {
                    problem(op, "404", "No such resource");
                }
            }
        }
    }
}

/// Adds a problem answer to `op` unless the operation describes that status itself.
fn problem(op: &mut Operation, status: &str, description: &str) {
    let content = Content::new(Some(Ref::from_schema_name("Problem")));
    answer(op, status, description, PROBLEM, content);
}

/// Adds an answer to `op` unless the operation describes that status itself.
fn answer(op: &mut Operation, status: &str, description: &str, media: &str, content: Content) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| {
            ResponseBuilder::new()
                .description(description)
                .content(media, content)
                .build()
                .into()
        });
}
