//! The payment-webhook function: `POST /webhooks/{provider}`, public and verified.
//!
//! Verify the raw bytes first; then parse; then put the money where it belongs. 200 for an
//! applied event, a duplicate, an unsupported type or a queued unmatched payment (so the
//! provider stops retrying); one generic 400 for any signature failure; 5xx only when our
//! store fails, so the provider retries.

use axum::Router;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cobro_domain::{InvoiceId, PaymentReference, UnmatchedId};
use cobro_providers::{PaymentEvent, Target, standard, stripe};
use cobro_store::{StoreError, Unmatched};
use serde_json::json;
use tracing::instrument;

use crate::json::{self, MAX_BODY};
use crate::payments::{Applied, apply_fact, event_record};
use crate::{App, Problem};

pub fn router(app: App) -> Router {
    Router::new()
        .route("/webhooks/{provider}", post(webhook))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

/// What a delivery came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    Duplicate,
    Ignored,
    Unmatched,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
            Outcome::Unmatched => "unmatched",
        }
    }
}

fn invalid_signature() -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid-signature",
        "Invalid signature",
        "The webhook could not be verified.",
    )
}

async fn webhook(
    State(app): State<App>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = json::body(body)?;
    let now = app.now();
    let tolerance = app.config.webhook_tolerance_secs;
    let verified = match provider.as_str() {
        "stripe" => stripe::verify(
            &headers,
            &body,
            &app.config.stripe_webhook_secrets,
            now,
            tolerance,
        ),
        "standard" => standard::verify(
            &headers,
            &body,
            &app.config.standard_webhook_secrets,
            now,
            tolerance,
        ),
        _ => {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                "No such webhook provider.",
            ));
        }
    };
    if let Err(e) = verified {
        tracing::warn!(provider = %provider, reason = %e, "webhook signature refused");
        return Err(invalid_signature());
    }
    let parsed = match provider.as_str() {
        "stripe" => stripe::parse(&body),
        _ => standard::parse(&headers, &body),
    };
    let event = parsed.map_err(|e| {
        tracing::warn!(provider = %provider, error = %e, "verified webhook could not be read");
        Problem::malformed("The event could not be read.")
    })?;
    let outcome = receive(&app, &event).await?;
    Ok((
        StatusCode::OK,
        axum::Json(json!({"received": true, "outcome": outcome.as_str()})),
    )
        .into_response())
}

/// Puts a verified event's money where it belongs: on its invoice, or in the unmatched
/// queue. Exactly once per (provider, event id).
#[instrument(skip_all, fields(provider = event.provider.as_str(), event_id = %event.event_id))]
pub async fn receive(app: &App, event: &PaymentEvent) -> Result<Outcome, StoreError> {
    let provider = event.provider.as_str();
    if app.store.event(provider, &event.event_id).await?.is_some() {
        return Ok(Outcome::Duplicate);
    }
    let Some(fact) = event.fact() else {
        tracing::info!(kind = ?event.kind, "event acknowledged, nothing to do");
        return remembered(
            app.store
                .record_event(
                    &event_record(app, provider, &event.event_id, "ignored"),
                    None,
                )
                .await,
            Outcome::Ignored,
        );
    };
    let invoice_id = match &event.target {
        Target::Invoice(id) => InvoiceId::parse(id),
        Target::PaymentReference(r) => match PaymentReference::parse(r) {
            Some(r) => app.store.invoice_by_payment_reference(&r).await?,
            None => None,
        },
        Target::Unknown => None,
    };
    let invoice_id = match invoice_id {
        Some(id) => Some(id),
        None => {
            app.store
                .invoice_for_payment(&fact.source, &fact.payment_id)
                .await?
        }
    };
    let refused = match &invoice_id {
        Some(id) => {
            match apply_fact(app, id, &fact, Some((provider, &event.event_id)), &|_| None).await? {
                Some(Applied::Entry(..)) => return Ok(Outcome::Applied),
                Some(Applied::Duplicate(_)) => return Ok(Outcome::Duplicate),
                Some(Applied::Ignored(_)) => return Ok(Outcome::Ignored),
                Some(Applied::Refused(why, _)) => why,
                None => "unknown_invoice",
            }
        }
        None => "unknown_invoice",
    };
    let target = match &event.target {
        Target::Invoice(v) | Target::PaymentReference(v) => Some(v.clone()),
        Target::Unknown => None,
    };
    let unmatched = Unmatched {
        id: UnmatchedId::generate(),
        provider: provider.to_string(),
        event_id: event.event_id.clone(),
        fact,
        target,
        reason: refused.to_string(),
        received_at: app.now(),
    };
    tracing::warn!(unmatched_id = %unmatched.id, reason = refused, "payment queued for a person");
    remembered(
        app.store
            .record_event(
                &event_record(app, provider, &event.event_id, "unmatched"),
                Some(&unmatched),
            )
            .await,
        Outcome::Unmatched,
    )
}

fn remembered(result: Result<(), StoreError>, outcome: Outcome) -> Result<Outcome, StoreError> {
    match result {
        Ok(()) => Ok(outcome),
        Err(StoreError::EventSeen) => Ok(Outcome::Duplicate),
        Err(e) => Err(e),
    }
}
