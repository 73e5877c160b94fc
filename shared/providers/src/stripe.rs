//! Stripe: `Stripe-Signature: t=…,v1=…[,v1=…]` is HMAC-SHA256 of `{t}.{raw body}` keyed by
//! the whole `whsec_…` string; any `v1` may match (secret rotation), other schemes are
//! ignored. Amounts are integer minor units, converted with the ISO 4217 exponent table.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cobro_domain::{Currency, Money};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use serde::Deserialize;
use sha2::Sha256;

use crate::{
    EventKind, ParseError, PaymentEvent, Provider, Secrets, Target, VerifyError, check_tolerance,
};

pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// Checks the signature of a delivery against every active secret.
pub fn verify(
    headers: &HeaderMap,
    body: &[u8],
    secrets: &Secrets,
    now: DateTime<Utc>,
    tolerance: i64,
) -> Result<(), VerifyError> {
    if secrets.is_empty() {
        return Err(VerifyError::NoSecret);
    }
    let header = headers
        .get(SIGNATURE_HEADER)
        .ok_or(VerifyError::MissingHeader)?
        .to_str()
        .map_err(|_| VerifyError::MalformedHeader)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let (k, v) = item
            .trim()
            .split_once('=')
            .ok_or(VerifyError::MalformedHeader)?;
        match k {
            "t" => timestamp = Some(v.parse::<i64>().map_err(|_| VerifyError::MalformedHeader)?),
            // Hex of a SHA-256 HMAC: exactly 32 bytes, else it cannot match anything.
            "v1" => signatures.push(
                hex::decode(v)
                    .ok()
                    .filter(|s| s.len() == 32)
                    .ok_or(VerifyError::MalformedHeader)?,
            ),
            _ => {}
        }
    }
    let (Some(t), false) = (timestamp, signatures.is_empty()) else {
        return Err(VerifyError::MalformedHeader);
    };
    check_tolerance(t, now, tolerance)?;
    for secret in secrets.iter() {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| VerifyError::NoSecret)?;
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        for sig in &signatures {
            // verify_slice compares in constant time.
            if mac.clone().verify_slice(sig).is_ok() {
                return Ok(());
            }
        }
    }
    Err(VerifyError::NoMatch)
}

/// The `Stripe-Signature` header Stripe would send for `body` at `t` (for `cobro webhook
/// send` and tests).
pub fn sign(body: &[u8], secret: &str, t: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct PaymentIntent {
    id: String,
    #[serde(default)]
    amount: i64,
    #[serde(default)]
    amount_received: i64,
    currency: String,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct CheckoutSession {
    id: String,
    payment_intent: Option<String>,
    amount_total: Option<i64>,
    currency: Option<String>,
    payment_status: String,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Charge {
    id: String,
    payment_intent: Option<String>,
    amount_refunded: i64,
    currency: String,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Dispute {
    id: String,
    charge: String,
    payment_intent: Option<String>,
    amount: i64,
    currency: String,
    status: String,
}

fn money(minor: i64, currency: &str) -> Result<Money, ParseError> {
    if minor < 0 {
        return Err(ParseError::Amount(format!("{minor} is negative")));
    }
    let currency = Currency::parse(currency).map_err(|e| ParseError::Currency(e.to_string()))?;
    Ok(Money::from_minor_units(minor, currency))
}

fn target(metadata: &HashMap<String, String>) -> Target {
    metadata
        .get("invoice_id")
        .map_or(Target::Unknown, |id| Target::Invoice(id.clone()))
}

fn object<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ParseError> {
    serde_json::from_value(v).map_err(|e| ParseError::Json(e.to_string()))
}

/// Reads a verified delivery into our event.
pub fn parse(body: &[u8]) -> Result<PaymentEvent, ParseError> {
    let event: Event = serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let occurred_at = DateTime::<Utc>::from_timestamp(event.created, 0)
        .ok_or_else(|| ParseError::Json("created is out of range".into()))?;
    let unsupported = |event_id: String, t: String| PaymentEvent {
        provider: Provider::Stripe,
        event_id,
        kind: EventKind::Unsupported { provider_type: t },
        payment_id: String::new(),
        target: Target::Unknown,
        amount: None,
        occurred_at,
    };
    let (kind, payment_id, target, amount) = match event.kind.as_str() {
        "payment_intent.succeeded" | "payment_intent.payment_failed" => {
            let pi: PaymentIntent = object(event.data.object)?;
            let (kind, minor) = if event.kind.ends_with("succeeded") {
                (EventKind::Succeeded, pi.amount_received)
            } else {
                (EventKind::Failed, pi.amount)
            };
            (
                kind,
                pi.id,
                target(&pi.metadata),
                money(minor, &pi.currency)?,
            )
        }
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            let s: CheckoutSession = object(event.data.object)?;
            if s.payment_status != "paid" {
                return Ok(unsupported(
                    event.id,
                    format!("{} ({})", event.kind, s.payment_status),
                ));
            }
            let amount = money(
                s.amount_total
                    .ok_or_else(|| ParseError::Amount("amount_total missing".into()))?,
                s.currency
                    .as_deref()
                    .ok_or_else(|| ParseError::Currency("currency missing".into()))?,
            )?;
            (
                EventKind::Succeeded,
                s.payment_intent.unwrap_or(s.id),
                target(&s.metadata),
                amount,
            )
        }
        "charge.refunded" => {
            let c: Charge = object(event.data.object)?;
            (
                EventKind::Refunded {
                    cumulative: true,
                    refund_id: None,
                },
                c.payment_intent.unwrap_or(c.id),
                target(&c.metadata),
                money(c.amount_refunded, &c.currency)?,
            )
        }
        "charge.dispute.created" | "charge.dispute.closed" => {
            let d: Dispute = object(event.data.object)?;
            let kind = match (event.kind.as_str(), d.status.as_str()) {
                ("charge.dispute.created", _) => EventKind::DisputeOpened { dispute_id: d.id },
                (_, "won") => EventKind::DisputeWon { dispute_id: d.id },
                (_, "lost") => EventKind::DisputeLost { dispute_id: d.id },
                (_, other) => {
                    return Ok(unsupported(event.id, format!("{} ({other})", event.kind)));
                }
            };
            (
                kind,
                d.payment_intent.unwrap_or(d.charge),
                Target::Unknown,
                money(d.amount, &d.currency)?,
            )
        }
        _ => return Ok(unsupported(event.id, event.kind)),
    };
    Ok(PaymentEvent {
        provider: Provider::Stripe,
        event_id: event.id,
        kind,
        payment_id,
        target,
        amount: Some(amount),
        occurred_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const SECRET: &str = "whsec_test_secret_cobro_2026";
    const PAYLOAD: &str = r#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}"#;
    /// Computed with stripe-python's `WebhookSignature._compute_signature(f"{t}.{payload}", secret)`.
    const KAT_T: i64 = 1764000000;
    const KAT_V1: &str = "a11f001eb1ffba3ab24a940b0b522873fed2f32203a1637d9c99d0ee42a0449d";

    fn at(t: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(t, 0).unwrap()
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(SIGNATURE_HEADER, value.parse().unwrap());
        h
    }

    fn check(header: &str, body: &str, secrets: &str, now: i64) -> Result<(), VerifyError> {
        verify(
            &headers(header),
            body.as_bytes(),
            &Secrets::parse(secrets),
            at(now),
            300,
        )
    }

    #[test]
    fn known_answer_from_stripe_python() {
        assert_eq!(
            sign(PAYLOAD.as_bytes(), SECRET, KAT_T),
            format!("t={KAT_T},v1={KAT_V1}")
        );
        assert_eq!(
            check(&format!("t={KAT_T},v1={KAT_V1}"), PAYLOAD, SECRET, KAT_T),
            Ok(())
        );
    }

    #[test]
    fn rotation_other_schemes_and_tolerance() {
        let ok = format!("t={KAT_T},v0=deadbeef,v1={},v1={KAT_V1}", "00".repeat(32));
        assert_eq!(
            check(&ok, PAYLOAD, &format!("whsec_old, {SECRET}"), KAT_T),
            Ok(())
        );
        assert_eq!(check(&ok, PAYLOAD, SECRET, KAT_T + 300), Ok(()));
        assert_eq!(check(&ok, PAYLOAD, SECRET, KAT_T - 300), Ok(()));
        assert_eq!(
            check(&ok, PAYLOAD, SECRET, KAT_T + 301),
            Err(VerifyError::TimestampOutOfTolerance)
        );
        assert_eq!(
            check(&ok, PAYLOAD, SECRET, KAT_T - 301),
            Err(VerifyError::TimestampOutOfTolerance)
        );
    }

    #[test]
    fn forged_and_malformed_signatures_fail() {
        let good = format!("t={KAT_T},v1={KAT_V1}");
        assert_eq!(
            check(&good, &PAYLOAD.replace("evt_1", "evt_2"), SECRET, KAT_T),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            check(&good, PAYLOAD, "whsec_wrong", KAT_T),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(check(&good, PAYLOAD, "", KAT_T), Err(VerifyError::NoSecret));
        let truncated = format!("t={KAT_T},v1={}", &KAT_V1[..62]);
        assert_eq!(
            check(&truncated, PAYLOAD, SECRET, KAT_T),
            Err(VerifyError::MalformedHeader)
        );
        for bad in [
            "",
            "t=",
            &format!("v1={KAT_V1}"),
            &format!("t={KAT_T}"),
            &format!("t=x,v1={KAT_V1}"),
            "garbage",
            &format!("t={KAT_T},v1="),
        ] {
            assert!(check(bad, PAYLOAD, SECRET, KAT_T).is_err(), "{bad}");
        }
        assert_eq!(
            verify(
                &HeaderMap::new(),
                PAYLOAD.as_bytes(),
                &Secrets::parse(SECRET),
                at(KAT_T),
                300
            ),
            Err(VerifyError::MissingHeader)
        );
    }

    fn event(kind: &str, object: serde_json::Value) -> Vec<u8> {
        serde_json::json!({"id": "evt_9", "object": "event", "type": kind, "created": KAT_T, "data": {"object": object}}).to_string().into_bytes()
    }

    #[test]
    fn minor_units_use_iso_exponents() {
        let e = parse(&event("payment_intent.succeeded", serde_json::json!({
            "id": "pi_1", "amount": 150000, "amount_received": 150000, "currency": "clp", "metadata": {"invoice_id": "inv_x"}}))).unwrap();
        assert_eq!(e.amount.unwrap().amount(), dec!(150000));
        assert_eq!(e.amount.unwrap().currency().code(), "CLP");
        assert_eq!(
            (e.kind, e.payment_id.as_str(), e.target),
            (
                EventKind::Succeeded,
                "pi_1",
                Target::Invoice("inv_x".into())
            )
        );
        let e = parse(&event(
            "payment_intent.succeeded",
            serde_json::json!({
            "id": "pi_2", "amount_received": 1999, "currency": "usd"}),
        ))
        .unwrap();
        assert_eq!(e.amount.unwrap().amount(), dec!(19.99));
        assert_eq!(e.occurred_at, at(KAT_T));
    }

    #[test]
    fn refunds_disputes_and_sessions() {
        let e = parse(&event(
            "charge.refunded",
            serde_json::json!({
            "id": "ch_1", "payment_intent": "pi_1", "amount_refunded": 5000, "currency": "clp"}),
        ))
        .unwrap();
        assert_eq!(
            e.kind,
            EventKind::Refunded {
                cumulative: true,
                refund_id: None
            }
        );
        assert_eq!(
            (e.payment_id.as_str(), e.amount.unwrap().amount()),
            ("pi_1", dec!(5000))
        );
        let e = parse(&event("charge.dispute.closed", serde_json::json!({
            "id": "dp_1", "charge": "ch_1", "payment_intent": "pi_1", "amount": 100, "currency": "usd", "status": "lost"}))).unwrap();
        assert_eq!(
            e.kind,
            EventKind::DisputeLost {
                dispute_id: "dp_1".into()
            }
        );
        let e = parse(&event("checkout.session.completed", serde_json::json!({
            "id": "cs_1", "payment_intent": "pi_7", "amount_total": 178464, "currency": "clp", "payment_status": "paid",
            "metadata": {"invoice_id": "inv_y"}}))).unwrap();
        assert_eq!(
            (e.kind, e.payment_id.as_str()),
            (EventKind::Succeeded, "pi_7")
        );
        let e = parse(&event(
            "checkout.session.completed",
            serde_json::json!({
            "id": "cs_2", "payment_status": "unpaid"}),
        ))
        .unwrap();
        assert!(matches!(e.kind, EventKind::Unsupported { .. }));
        let e = parse(&event(
            "customer.created",
            serde_json::json!({"id": "cus_1"}),
        ))
        .unwrap();
        assert_eq!(
            e.kind,
            EventKind::Unsupported {
                provider_type: "customer.created".into()
            }
        );
    }

    #[test]
    fn bad_payloads_are_parse_errors() {
        assert!(matches!(parse(b"{not json"), Err(ParseError::Json(_))));
        let neg = event(
            "payment_intent.succeeded",
            serde_json::json!({"id": "pi", "amount_received": -5, "currency": "usd"}),
        );
        assert!(matches!(parse(&neg), Err(ParseError::Amount(_))));
        let cur = event(
            "payment_intent.succeeded",
            serde_json::json!({"id": "pi", "amount_received": 5, "currency": "zzz"}),
        );
        assert!(matches!(parse(&cur), Err(ParseError::Currency(_))));
        let text = event(
            "payment_intent.succeeded",
            serde_json::json!({"id": "pi", "amount_received": "5", "currency": "usd"}),
        );
        assert!(matches!(parse(&text), Err(ParseError::Json(_))));
    }
}
