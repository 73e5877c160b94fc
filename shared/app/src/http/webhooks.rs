//! The payment-webhook function: `POST /webhooks/{provider}`, public and verified.
//!
//! Verify the raw bytes first; then parse; then hand the event to the payments use case.
//! 200 for an applied event, a duplicate, an unsupported type or a queued unmatched payment
//! (so the provider stops retrying); one generic 400 for any signature failure; 5xx only
//! when our store fails or a provider's API does, so the provider retries.

use axum::Router;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cobro_providers::{PaymentEvent, Provider, VerifyError, mercadopago, standard, stripe};
use serde_json::json;

use super::json;
use super::problem::Problem;
use crate::App;
use crate::usecases::payments::{self, Outcome};

pub fn routes() -> Router<App> {
    Router::new().route("/webhooks/{provider}", post(webhook))
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
    Ok((
        StatusCode::OK,
        axum::Json(json!({"received": true, "outcome": outcome.as_str()})),
    )
        .into_response())
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
