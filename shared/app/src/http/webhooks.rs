//! The payment-webhook function: `POST /webhooks/{provider}`, public and verified.
//!
//! Verify the raw bytes first; then parse; then hand the event to the payments use case.
//! 200 for an applied event, a duplicate, an unsupported type or a queued unmatched payment
//! (so the provider stops retrying); one generic 400 for any signature failure; 5xx only
//! when our store fails or a provider's API does, so the provider retries.

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cobro_providers::{PaymentEvent, Provider, VerifyError, mercadopago, standard, stripe};

use super::json;
use super::problem::{Problem, ProblemBody};
use crate::App;
use crate::usecases::payments::{self, Outcome};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(webhook))
}

/// The answer to a verified event.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Received {
    pub received: bool,
    /// `applied`, `duplicate`, `ignored` or `unmatched` (queued for a person).
    pub outcome: String,
}

fn invalid_signature(provider: Provider, reason: VerifyError) -> Problem {
    tracing::warn!(provider = provider.as_str(), reason = %reason, "webhook signature refused");
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid-signature",
        "Invalid signature",
        "The webhook could not be verified.",
    )
}

fn unreadable(provider: Provider, e: impl std::fmt::Display) -> Problem {
    tracing::warn!(provider = provider.as_str(), error = %e, "verified webhook could not be read");
    Problem::malformed("The event could not be read.")
}

/// A payment provider's event: verified over the raw bytes with the provider's scheme
/// (Stripe's `Stripe-Signature`; Standard Webhooks' `webhook-id`, `webhook-timestamp`,
/// `webhook-signature`; Mercado Pago's `x-signature` over `data.id` and `x-request-id`),
/// then applied to the ledger once, whatever the order or the number of deliveries.
#[utoipa::path(post, operation_id = "receive_webhook", path = "/webhooks/{provider}", tag = "webhooks",
    params(
        ("provider" = String, Path, description = "`stripe`, `standard` or `mercadopago`"),
        ("Stripe-Signature" = Option<String>, Header, description = "Stripe: `t=…,v1=…`"),
        ("webhook-id" = Option<String>, Header, description = "Standard Webhooks: the message id"),
        ("webhook-timestamp" = Option<String>, Header, description = "Standard Webhooks: seconds since the epoch"),
        ("webhook-signature" = Option<String>, Header, description = "Standard Webhooks: `v1,<base64>` (several, space-separated)"),
        ("x-signature" = Option<String>, Header, description = "Mercado Pago: `ts=…,v1=…`"),
        ("x-request-id" = Option<String>, Header, description = "Mercado Pago: signed with the payment id"),
        ("data.id" = Option<String>, Query, description = "Mercado Pago: the payment id the notification is about"),
    ),
    request_body(content = Object, description = "The provider's event, as it sends it"),
    responses(
        (status = 200, description = "Verified and taken: applied, a duplicate, not a payment, or queued", body = Received),
        (status = 400, description = "The signature does not verify, or the verified event cannot be read", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such provider", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 256 KiB", body = ProblemBody, content_type = "application/problem+json"),
        (status = 500, description = "Our store failed: the provider retries", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "A provider's API did not answer: the provider retries", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn webhook(
    State(app): State<App>,
    Path(provider): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = json::body(body)?;
    let Some(provider) = Provider::parse(&provider) else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "No such webhook provider.",
        ));
    };
    let (config, now) = (&app.config, app.now());
    let tolerance = config.webhook_tolerance_secs;
    let outcome = match provider {
        Provider::Stripe => {
            stripe::verify(
                &headers,
                &body,
                &config.stripe_webhook_secrets,
                now,
                tolerance,
            )
            .map_err(|e| invalid_signature(provider, e))?;
            let event = stripe::parse(&body).map_err(|e| unreadable(provider, e))?;
            receive(&app, &event).await?
        }
        Provider::Standard => {
            let secrets = &config.standard_webhook_secrets;
            standard::verify(&headers, &body, secrets, now, tolerance)
                .map_err(|e| invalid_signature(provider, e))?;
            let event = standard::parse(&headers, &body).map_err(|e| unreadable(provider, e))?;
            receive(&app, &event).await?
        }
        Provider::Mercadopago => {
            // Mercado Pago signs the payment id of the query string, not the body.
            let data_id = query_data_id(query.as_deref());
            let secrets = &config.mercadopago_webhook_secrets;
            mercadopago::verify(&headers, data_id.as_deref(), secrets, now, tolerance)
                .map_err(|e| invalid_signature(provider, e))?;
            let notification =
                mercadopago::parse_notification(data_id.as_deref().unwrap_or_default(), &body)
                    .map_err(|e| unreadable(provider, e))?;
            payments::receive_mercadopago(&app, &notification).await?
        }
    };
    let answer = Received {
        received: true,
        outcome: outcome.as_str().to_string(),
    };
    Ok((StatusCode::OK, axum::Json(answer)).into_response())
}

async fn receive(app: &App, event: &PaymentEvent) -> Result<Outcome, Problem> {
    Ok(payments::receive(app, event).await?)
}

/// The `data.id` of a query string (`?data.id=123&type=payment`).
fn query_data_id(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|kv| match kv.split_once('=') {
        Some(("data.id", v)) => Some(v.to_string()),
        _ => None,
    })
}
