//! Standard Webhooks (<https://www.standardwebhooks.com>): any provider, bank integration or
//! the local sandbox. `webhook-signature` holds space-separated `v1,<base64>` HMAC-SHA256
//! signatures of `{webhook-id}.{webhook-timestamp}.{body}`, keyed by the base64 part of a
//! `whsec_…` secret. Payload: `{"type": "payment.succeeded", "data": {"invoice_id" |
//! "payment_reference", "payment_id", "amount", "currency", …}}`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use cobro_domain::{Currency, Money};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use rust_decimal::Decimal;
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::{
    EventKind, ParseError, PaymentEvent, Provider, Secrets, Target, VerifyError, check_tolerance,
};

fn key(secret: &str) -> Option<Vec<u8>> {
    B64.decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()
        .filter(|k| !k.is_empty())
}

fn mac(key: &[u8], id: &str, ts: i64, body: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length (RFC 2104, section 2: a longer one is hashed first), so
    // `new_from_slice` cannot fail.
    #[allow(clippy::expect_used)]
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(format!("{id}.{ts}.").as_bytes());
    m.update(body);
    m.finalize().into_bytes().into()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, VerifyError> {
    headers
        .get(name)
        .ok_or(VerifyError::MissingHeader)?
        .to_str()
        .map_err(|_| VerifyError::MalformedHeader)
}

pub fn verify(
    headers: &HeaderMap,
    body: &[u8],
    secrets: &Secrets,
    now: DateTime<Utc>,
    tolerance: i64,
) -> Result<(), VerifyError> {
    let keys: Vec<Vec<u8>> = secrets.iter().filter_map(key).collect();
    if keys.is_empty() {
        return Err(VerifyError::NoSecret);
    }
    let id = header(headers, "webhook-id")?;
    let ts: i64 = header(headers, "webhook-timestamp")?
        .trim()
        .parse()
        .map_err(|_| VerifyError::MalformedHeader)?;
    let signatures = header(headers, "webhook-signature")?;
    if id.is_empty() || signatures.trim().is_empty() {
        return Err(VerifyError::MalformedHeader);
    }
    check_tolerance(ts, now, tolerance)?;
    let expected: Vec<[u8; 32]> = keys.iter().map(|k| mac(k, id, ts, body)).collect();
    for sig in signatures.split(' ').filter(|s| !s.is_empty()) {
        let Some(("v1", b64)) = sig.split_once(',') else {
            continue;
        };
        let Ok(given) = B64.decode(b64) else { continue };
        // Length first, then a constant-time comparison.
        if given.len() != 32 {
            continue;
        }
        if expected
            .iter()
            .any(|e| bool::from(e.ct_eq(given.as_slice())))
        {
            return Ok(());
        }
    }
    Err(VerifyError::NoMatch)
}

/// The `webhook-signature` value for a message (for the sandbox and `cobro webhook send`).
pub fn sign(secret: &str, id: &str, ts: i64, body: &[u8]) -> Option<String> {
    Some(format!(
        "v1,{}",
        B64.encode(mac(&key(secret)?, id, ts, body))
    ))
}

#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
    data: Data,
}

#[derive(Debug, Deserialize)]
struct Data {
    #[serde(default)]
    invoice_id: Option<String>,
    #[serde(default)]
    payment_reference: Option<String>,
    #[serde(default)]
    payment_id: Option<String>,
    #[serde(default)]
    amount: Option<Decimal>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    refund_id: Option<String>,
    #[serde(default)]
    dispute_id: Option<String>,
}

/// Reads a verified delivery; `webhook-id` is the event id.
pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<PaymentEvent, ParseError> {
    let event_id = header(headers, "webhook-id")
        .map_err(|_| ParseError::Json("webhook-id missing".into()))?
        .to_string();
    let ts: i64 = header(headers, "webhook-timestamp")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or_default();
    let p: Payload = serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let occurred_at = p
        .timestamp
        .or_else(|| DateTime::from_timestamp(ts, 0))
        .unwrap_or_default();
    let d = p.data;
    let required = |v: Option<String>, name: &str| {
        v.filter(|s| !s.is_empty())
            .ok_or_else(|| ParseError::Json(format!("data.{name} missing")))
    };
    let kind = match p.kind.as_str() {
        "payment.succeeded" => EventKind::Succeeded,
        "payment.failed" => EventKind::Failed,
        "payment.refunded" => EventKind::Refunded {
            cumulative: false,
            refund_id: Some(required(d.refund_id, "refund_id")?),
        },
        "dispute.opened" => EventKind::DisputeOpened {
            dispute_id: required(d.dispute_id, "dispute_id")?,
        },
        "dispute.won" => EventKind::DisputeWon {
            dispute_id: required(d.dispute_id, "dispute_id")?,
        },
        "dispute.lost" => EventKind::DisputeLost {
            dispute_id: required(d.dispute_id, "dispute_id")?,
        },
        other => {
            return Ok(PaymentEvent {
                provider: Provider::Standard,
                event_id,
                kind: EventKind::Unsupported {
                    provider_type: other.to_string(),
                },
                payment_id: String::new(),
                target: Target::Unknown,
                amount: None,
                occurred_at,
            });
        }
    };
    let currency = Currency::parse(&required(d.currency, "currency")?)
        .map_err(|e| ParseError::Currency(e.to_string()))?;
    let amount = d
        .amount
        .ok_or_else(|| ParseError::Amount("data.amount missing".into()))?;
    if amount < Decimal::ZERO {
        return Err(ParseError::Amount(format!("{amount} is negative")));
    }
    let amount = Money::new(amount, currency).map_err(|e| ParseError::Amount(e.to_string()))?;
    let target = match (d.invoice_id, d.payment_reference) {
        (Some(id), _) => Target::Invoice(id),
        (None, Some(r)) => Target::PaymentReference(r),
        (None, None) => Target::Unknown,
    };
    Ok(PaymentEvent {
        provider: Provider::Standard,
        event_id,
        kind,
        payment_id: required(d.payment_id, "payment_id")?,
        target,
        amount: Some(amount),
        occurred_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    // The test vector of the Standard Webhooks specification (also svix's).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &str = r#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers(id: &str, ts: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("webhook-id", id.parse().unwrap());
        h.insert("webhook-timestamp", ts.parse().unwrap());
        h.insert("webhook-signature", sig.parse().unwrap());
        h
    }

    fn check(h: &HeaderMap, body: &str, secrets: &str, now: i64) -> Result<(), VerifyError> {
        verify(
            h,
            body.as_bytes(),
            &Secrets::parse(secrets),
            DateTime::from_timestamp(now, 0).unwrap(),
            300,
        )
    }

    #[test]
    fn specification_vector() {
        assert_eq!(sign(SECRET, ID, TS, BODY.as_bytes()).unwrap(), SIG);
        assert_eq!(
            check(&headers(ID, &TS.to_string(), SIG), BODY, SECRET, TS),
            Ok(())
        );
        // Several signatures, unknown versions skipped, rotation of secrets.
        let many = format!("v2,abc v1,AAAA {SIG}");
        assert_eq!(
            check(
                &headers(ID, &TS.to_string(), &many),
                BODY,
                &format!("whsec_b2xk,{SECRET}"),
                TS
            ),
            Ok(())
        );
    }

    #[test]
    fn every_tampering_fails() {
        let ts = TS.to_string();
        assert_eq!(
            check(&headers(ID, &ts, SIG), &BODY.replace('2', "3"), SECRET, TS),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            check(&headers("msg_other", &ts, SIG), BODY, SECRET, TS),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            check(&headers(ID, &ts, SIG), BODY, "whsec_d3Jvbmc=", TS),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            check(&headers(ID, &ts, "v1,"), BODY, SECRET, TS),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            check(&headers(ID, &ts, &SIG[..SIG.len() - 4]), BODY, SECRET, TS),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            check(&headers(ID, &ts, SIG), BODY, SECRET, TS + 301),
            Err(VerifyError::TimestampOutOfTolerance)
        );
        assert_eq!(
            check(&headers(ID, &ts, SIG), BODY, SECRET, TS - 301),
            Err(VerifyError::TimestampOutOfTolerance)
        );
        assert_eq!(
            check(&headers(ID, "soon", SIG), BODY, SECRET, TS),
            Err(VerifyError::MalformedHeader)
        );
        assert_eq!(
            check(&HeaderMap::new(), BODY, SECRET, TS),
            Err(VerifyError::MissingHeader)
        );
        assert_eq!(
            check(&headers(ID, &ts, SIG), BODY, "", TS),
            Err(VerifyError::NoSecret)
        );
    }

    fn parse_json(v: serde_json::Value) -> Result<PaymentEvent, ParseError> {
        parse(
            &headers("msg_1", "1764000000", "v1,x"),
            v.to_string().as_bytes(),
        )
    }

    #[test]
    fn payloads_are_exact() {
        let e = parse_json(serde_json::json!({"type": "payment.succeeded", "data": {
            "payment_reference": "RF91000001247", "payment_id": "tr_1", "amount": "178464", "currency": "CLP"}})).unwrap();
        assert_eq!(e.amount.unwrap().amount(), dec!(178464));
        assert_eq!(e.target, Target::PaymentReference("RF91000001247".into()));
        assert_eq!(e.event_id, "msg_1");
        let e = parse_json(serde_json::json!({"type": "payment.refunded", "data": {
            "invoice_id": "inv_x", "payment_id": "tr_1", "refund_id": "re_1", "amount": 10.5, "currency": "USD"}})).unwrap();
        assert_eq!(e.amount.unwrap().amount(), dec!(10.50));
        assert_eq!(
            e.kind,
            EventKind::Refunded {
                cumulative: false,
                refund_id: Some("re_1".into())
            }
        );
        assert!(matches!(
            parse_json(serde_json::json!({"type": "invoice.viewed", "data": {}}))
                .unwrap()
                .kind,
            EventKind::Unsupported { .. }
        ));
    }

    #[test]
    fn bad_payloads() {
        let base = |amount: serde_json::Value, currency: &str| {
            serde_json::json!({"type": "payment.succeeded", "data": {
            "invoice_id": "inv_x", "payment_id": "p", "amount": amount, "currency": currency}})
        };
        assert!(matches!(
            parse_json(base("-1".into(), "USD")),
            Err(ParseError::Amount(_))
        ));
        assert!(matches!(
            parse_json(base("1000.5".into(), "CLP")),
            Err(ParseError::Amount(_))
        ));
        assert!(matches!(
            parse_json(base("abc".into(), "USD")),
            Err(ParseError::Json(_))
        ));
        assert!(matches!(
            parse_json(base("1".into(), "XYZ")),
            Err(ParseError::Currency(_))
        ));
        assert!(matches!(
            parse(&HeaderMap::new(), b"{}"),
            Err(ParseError::Json(_))
        ));
        assert!(matches!(
            parse_json(
                serde_json::json!({"type": "payment.refunded", "data": {"payment_id": "p", "amount": "1", "currency": "USD"}})
            ),
            Err(ParseError::Json(_))
        ));
    }
}
