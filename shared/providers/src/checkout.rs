//! Hosted checkouts: the pay portal sends the client to the provider's own page, created
//! through the provider's REST API with our invoice id attached, so the payment's webhook
//! names the invoice.
//!
//! - Stripe: `POST /v1/checkout/sessions` (form-encoded), amount in integer minor units of
//!   the ISO 4217 exponent (CLP 178.464 → `178464`), `metadata[invoice_id]` on the session
//!   and on its PaymentIntent; answers the session's `url`.
//! - Mercado Pago: `POST /checkout/preferences` (JSON), decimal `unit_price`,
//!   `external_reference` = our invoice id; answers the preference's `init_point`.
//!
//! Both calls carry an idempotency key, so a double click opens one checkout.

use cobro_domain::Money;
use serde::Deserialize;

use crate::mercadopago::FetchError;

/// What the client is about to pay.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub invoice_id: String,
    /// "Factura F-000001 · Diseño de logo"
    pub description: String,
    pub amount: Money,
    pub success_url: String,
    pub cancel_url: String,
    /// Same request, same key: retries and double clicks create one checkout.
    pub idempotency_key: String,
}

#[derive(Deserialize)]
struct StripeSession {
    url: String,
}

/// Creates a Stripe Checkout Session and returns the URL to send the client to.
pub async fn stripe_session(
    http: &reqwest::Client,
    base: &str,
    api_key: &str,
    r: &CheckoutRequest,
) -> Result<String, FetchError> {
    let units = r
        .amount
        .to_minor_units()
        .ok_or_else(|| FetchError::Http("amount out of range".into()))?;
    let currency = r.amount.currency().code().to_ascii_lowercase();
    let form = [
        ("mode", "payment".to_string()),
        ("line_items[0][quantity]", "1".into()),
        ("line_items[0][price_data][currency]", currency),
        ("line_items[0][price_data][unit_amount]", units.to_string()),
        (
            "line_items[0][price_data][product_data][name]",
            r.description.clone(),
        ),
        ("metadata[invoice_id]", r.invoice_id.clone()),
        (
            "payment_intent_data[metadata][invoice_id]",
            r.invoice_id.clone(),
        ),
        ("client_reference_id", r.invoice_id.clone()),
        ("success_url", r.success_url.clone()),
        ("cancel_url", r.cancel_url.clone()),
    ];
    let res = http
        .post(format!(
            "{}/v1/checkout/sessions",
            base.trim_end_matches('/')
        ))
        .bearer_auth(api_key)
        .header("Idempotency-Key", &r.idempotency_key)
        .form(&form)
        .send()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    if !res.status().is_success() {
        return Err(FetchError::Status(res.status().as_u16()));
    }
    let s: StripeSession = res
        .json()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    Ok(s.url)
}

#[derive(Deserialize)]
struct Preference {
    init_point: String,
}

/// Creates a Mercado Pago checkout preference and returns its `init_point`.
pub async fn mercadopago_preference(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    r: &CheckoutRequest,
) -> Result<String, FetchError> {
    let price: serde_json::Value = serde_json::from_str(&r.amount.amount().normalize().to_string())
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let body = serde_json::json!({
        "items": [{
            "id": r.invoice_id,
            "title": r.description,
            "quantity": 1,
            "unit_price": price,
            "currency_id": r.amount.currency().code(),
        }],
        "external_reference": r.invoice_id,
        "back_urls": {"success": r.success_url, "failure": r.cancel_url, "pending": r.cancel_url},
        "auto_return": "approved",
    });
    let res = http
        .post(format!(
            "{}/checkout/preferences",
            base.trim_end_matches('/')
        ))
        .bearer_auth(token)
        .header("X-Idempotency-Key", &r.idempotency_key)
        .json(&body)
        .send()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    if !res.status().is_success() {
        return Err(FetchError::Status(res.status().as_u16()));
    }
    let p: Preference = res
        .json()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    Ok(p.init_point)
}
