//! The payment-webhook function: `POST /webhooks/{provider}`, public and verified.
//!
//! Verify the raw bytes first; then parse; then put the money where it belongs. 200 for an
//! applied event, a duplicate, an unsupported type or a queued unmatched payment (so the
//! provider stops retrying); one generic 400 for any signature failure; 5xx only when our
//! store fails, so the provider retries.

use axum::Router;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cobro_domain::PaymentFact;
use cobro_domain::{InvoiceId, PaymentReference, UnmatchedId};
use cobro_providers::{PaymentEvent, Target, mercadopago, standard, stripe};
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
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = json::body(body)?;
    let now = app.now();
    let tolerance = app.config.webhook_tolerance_secs;
    if provider == "mercadopago" {
        return mercadopago_webhook(&app, query.as_deref(), &headers, &body).await;
    }
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
    Ok(acknowledged(outcome))
}

fn acknowledged(outcome: Outcome) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({"received": true, "outcome": outcome.as_str()})),
    )
        .into_response()
}

/// The `data.id` of a query string (`?data.id=123&type=payment`).
fn query_data_id(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|kv| match kv.split_once('=') {
        Some(("data.id", v)) => Some(v.to_string()),
        _ => None,
    })
}

fn unavailable() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "Unavailable",
        "Try again later.",
    )
}

/// Mercado Pago: verify the notification, fetch the payment it names, settle its state.
async fn mercadopago_webhook(
    app: &App,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Problem> {
    let data_id = query_data_id(query);
    let config = &app.config;
    let verified = mercadopago::verify(
        headers,
        data_id.as_deref(),
        &config.mercadopago_webhook_secrets,
        app.now(),
        config.webhook_tolerance_secs,
    );
    if let Err(e) = verified {
        tracing::warn!(provider = "mercadopago", reason = %e, "webhook signature refused");
        return Err(invalid_signature());
    }
    let notification = mercadopago::parse_notification(
        data_id.as_deref().unwrap_or_default(),
        body,
    )
    .map_err(|e| {
        tracing::warn!(provider = "mercadopago", error = %e, "verified webhook could not be read");
        Problem::malformed("The event could not be read.")
    })?;
    if app
        .store
        .event("mercadopago", &notification.event_id)
        .await?
        .is_some()
    {
        return Ok(acknowledged(Outcome::Duplicate));
    }
    if notification.topic != "payment" {
        let record = event_record(app, "mercadopago", &notification.event_id, "ignored");
        return Ok(acknowledged(remembered(
            app.store.record_event(&record, None).await,
            Outcome::Ignored,
        )?));
    }
    let Some(token) = config.mercadopago_access_token.current() else {
        tracing::error!(
            "a Mercado Pago notification arrived but COBRO_MERCADOPAGO_ACCESS_TOKEN is not set"
        );
        return Err(unavailable());
    };
    // A failed fetch is a 503: Mercado Pago retries, and nothing was written.
    let api = mercadopago::Api::new(app.http().clone(), &config.mercadopago_api_base, token);
    let payment = api.payment(&notification.data_id).await.map_err(|e| {
        tracing::error!(error = %e, payment_id = %notification.data_id, "Mercado Pago payment fetch failed");
        unavailable()
    })?;
    let (target, facts) = payment.facts().map_err(|e| {
        tracing::warn!(error = %e, "Mercado Pago payment could not be read");
        Problem::malformed("The payment could not be read.")
    })?;
    Ok(acknowledged(
        settle(app, "mercadopago", &notification.event_id, &target, facts).await?,
    ))
}

/// Puts a verified event's money where it belongs: on its invoice, or in the unmatched
/// queue. Exactly once per (provider, event id).
#[instrument(skip_all, fields(provider = event.provider.as_str(), event_id = %event.event_id))]
pub async fn receive(app: &App, event: &PaymentEvent) -> Result<Outcome, StoreError> {
    let provider = event.provider.as_str();
    if app.store.event(provider, &event.event_id).await?.is_some() {
        return Ok(Outcome::Duplicate);
    }
    let facts: Vec<PaymentFact> = event.fact().into_iter().collect();
    if facts.is_empty() {
        tracing::info!(kind = ?event.kind, "event acknowledged, nothing to do");
    }
    settle(app, provider, &event.event_id, &event.target, facts).await
}

/// Applies the facts of one event to the invoice they belong to; the event is recorded with
/// the last one, atomically. Facts are idempotent, so a redelivery after a partial failure
/// converges. No invoice, or the wrong currency: the first fact waits in the unmatched queue.
async fn settle(
    app: &App,
    provider: &str,
    event_id: &str,
    target: &Target,
    facts: Vec<PaymentFact>,
) -> Result<Outcome, StoreError> {
    let Some(first) = facts.first().cloned() else {
        return remembered(
            app.store
                .record_event(&event_record(app, provider, event_id, "ignored"), None)
                .await,
            Outcome::Ignored,
        );
    };
    let invoice_id = match target {
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
                .invoice_for_payment(&first.source, &first.payment_id)
                .await?
        }
    };
    let mut refused = "unknown_invoice";
    if let Some(id) = &invoice_id {
        let mut outcome = Outcome::Duplicate;
        let mut recorded = false;
        let last = facts.len() - 1;
        for (i, fact) in facts.iter().enumerate() {
            let event = (i == last).then_some((provider, event_id));
            match apply_fact(app, id, fact, event, &|_| None, None).await? {
                Some(Applied::Entry(..)) => {
                    outcome = Outcome::Applied;
                    // The last fact's write carried the event record.
                    recorded = i == last;
                }
                Some(Applied::Duplicate(_)) => {}
                Some(Applied::Ignored(_)) if outcome == Outcome::Duplicate => {
                    outcome = Outcome::Ignored
                }
                Some(Applied::Ignored(_)) => {}
                Some(Applied::Refused(why, _)) => {
                    refused = why;
                    outcome = Outcome::Unmatched;
                    break;
                }
                None => {
                    outcome = Outcome::Unmatched;
                    break;
                }
            }
        }
        if recorded {
            return Ok(outcome);
        }
        if outcome != Outcome::Unmatched {
            let record = event_record(app, provider, event_id, outcome.as_str());
            return remembered(app.store.record_event(&record, None).await, outcome);
        }
    }
    let target = match target {
        Target::Invoice(v) | Target::PaymentReference(v) => Some(v.clone()),
        Target::Unknown => None,
    };
    let unmatched = Unmatched {
        id: UnmatchedId::generate(),
        provider: provider.to_string(),
        event_id: event_id.to_string(),
        fact: first,
        target,
        reason: refused.to_string(),
        received_at: app.now(),
        resolved: None,
    };
    tracing::warn!(unmatched_id = %unmatched.id, reason = refused, "payment queued for a person");
    let outcome = remembered(
        app.store
            .record_event(
                &event_record(app, provider, event_id, "unmatched"),
                Some(&unmatched),
            )
            .await,
        Outcome::Unmatched,
    )?;
    // Its payment may have landed between our lookup and our write, its drain missing us:
    // look again now that we are parked, and follow it if it is there.
    if refused == "unknown_invoice"
        && outcome == Outcome::Unmatched
        && let Some(id) = app
            .store
            .invoice_for_payment(&unmatched.fact.source, &unmatched.fact.payment_id)
            .await?
    {
        crate::payments::settle_parked(app, &id, &unmatched.fact).await;
    }
    Ok(outcome)
}

fn remembered(result: Result<(), StoreError>, outcome: Outcome) -> Result<Outcome, StoreError> {
    match result {
        Ok(()) => Ok(outcome),
        Err(StoreError::EventSeen) => Ok(Outcome::Duplicate),
        Err(e) => Err(e),
    }
}
