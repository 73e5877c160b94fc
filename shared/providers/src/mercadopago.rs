//! Mercado Pago: `x-signature: ts=…,v1=…` is HMAC-SHA256 (hex) of the manifest
//! `id:{data.id};request-id:{x-request-id};ts:{ts};` where `data.id` comes from the query
//! string (lowercased when alphanumeric) and must match the body's. The notification only
//! names the payment; its state is then fetched from the Mercado Pago API, and our invoice
//! id travels in `external_reference`. Amounts are decimals, parsed exactly.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use cobro_domain::{Currency, FactKind, Money, PaymentFact, PaymentMethod};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use rust_decimal::Decimal;
use serde::Deserialize;
use sha2::Sha256;

use crate::{ParseError, Secrets, Target, VerifyError, check_tolerance};

fn manifest(data_id: &str, request_id: Option<&str>, ts: &str) -> String {
    let mut m = String::new();
    if !data_id.is_empty() {
        m.push_str(&format!("id:{};", normalize_id(data_id)));
    }
    if let Some(r) = request_id.filter(|r| !r.is_empty()) {
        m.push_str(&format!("request-id:{r};"));
    }
    m.push_str(&format!("ts:{ts};"));
    m
}

/// Mercado Pago signs alphanumeric ids in lower case.
fn normalize_id(id: &str) -> String {
    if id.chars().all(|c| c.is_ascii_alphanumeric()) {
        id.to_ascii_lowercase()
    } else {
        id.to_string()
    }
}

/// Checks `x-signature` against every active secret. `data_id` is the query string's `data.id`.
pub fn verify(
    headers: &HeaderMap,
    data_id: Option<&str>,
    secrets: &Secrets,
    now: DateTime<Utc>,
    tolerance: i64,
) -> Result<(), VerifyError> {
    if secrets.is_empty() {
        return Err(VerifyError::NoSecret);
    }
    let header = headers
        .get("x-signature")
        .ok_or(VerifyError::MissingHeader)?
        .to_str()
        .map_err(|_| VerifyError::MalformedHeader)?;
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok());
    let (mut ts, mut v1) = (None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("ts", v)) => ts = Some(v.trim().to_string()),
            Some(("v1", v)) => {
                v1 = Some(
                    hex::decode(v.trim())
                        .ok()
                        .filter(|s| s.len() == 32)
                        .ok_or(VerifyError::MalformedHeader)?,
                )
            }
            _ => {}
        }
    }
    let (Some(ts), Some(v1)) = (ts, v1) else {
        return Err(VerifyError::MalformedHeader);
    };
    let seconds: i64 = ts.parse().map_err(|_| VerifyError::MalformedHeader)?;
    // Seen both in seconds and in milliseconds.
    check_tolerance(
        if seconds > 100_000_000_000 {
            seconds / 1000
        } else {
            seconds
        },
        now,
        tolerance,
    )?;
    let data_id = data_id.ok_or(VerifyError::MalformedHeader)?;
    let manifest = manifest(data_id, request_id, &ts);
    for secret in secrets.iter() {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| VerifyError::NoSecret)?;
        mac.update(manifest.as_bytes());
        if mac.verify_slice(&v1).is_ok() {
            return Ok(());
        }
    }
    Err(VerifyError::NoMatch)
}

/// The `x-signature` Mercado Pago would send (tests and `cobro webhook send`).
pub fn sign(secret: &str, data_id: &str, request_id: &str, ts: i64) -> String {
    // HMAC takes a key of any length (RFC 2104, section 2: a longer one is hashed first), so
    // `new_from_slice` cannot fail.
    #[allow(clippy::expect_used)]
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(manifest(data_id, Some(request_id), &ts.to_string()).as_bytes());
    format!("ts={ts},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// What a notification says: which resource changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The notification's own id: our event id.
    pub event_id: String,
    /// `payment`, `merchant_order`, …
    pub topic: String,
    pub data_id: String,
}

#[derive(Deserialize)]
struct NotificationBody {
    id: serde_json::Value,
    #[serde(rename = "type")]
    topic: String,
    data: NotificationData,
}

#[derive(Deserialize)]
struct NotificationData {
    id: serde_json::Value,
}

fn id_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads a verified notification; its `data.id` must be the signed one from the query.
pub fn parse_notification(data_id: &str, body: &[u8]) -> Result<Notification, ParseError> {
    let n: NotificationBody =
        serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let body_id = id_text(&n.data.id);
    if normalize_id(&body_id) != normalize_id(data_id) {
        return Err(ParseError::Json(
            "data.id in the body is not the signed one".into(),
        ));
    }
    Ok(Notification {
        event_id: id_text(&n.id),
        topic: n.topic,
        data_id: body_id,
    })
}

/// A payment as `GET /v1/payments/{id}` answers.
#[derive(Debug, Clone, Deserialize)]
pub struct Payment {
    pub id: serde_json::Value,
    pub status: String,
    pub currency_id: String,
    pub transaction_amount: serde_json::Number,
    #[serde(default)]
    pub transaction_amount_refunded: Option<serde_json::Number>,
    #[serde(default)]
    pub external_reference: Option<String>,
}

fn decimal(n: &serde_json::Number, currency: Currency) -> Result<Money, ParseError> {
    // serde_json writes the shortest text that reads back as the same number: "19.99".
    let d =
        Decimal::from_str(&n.to_string()).map_err(|e| ParseError::Amount(format!("{n}: {e}")))?;
    if d < Decimal::ZERO {
        return Err(ParseError::Amount(format!("{d} is negative")));
    }
    Money::new(d, currency).map_err(|e| ParseError::Amount(e.to_string()))
}

impl Payment {
    /// Where it belongs and what its state says happened: received, refunded (cumulative),
    /// in dispute, charged back. Each fact is idempotent, so a state seen twice adds nothing.
    pub fn facts(&self) -> Result<(Target, Vec<PaymentFact>), ParseError> {
        let currency =
            Currency::parse(&self.currency_id).map_err(|e| ParseError::Currency(e.to_string()))?;
        let amount = decimal(&self.transaction_amount, currency)?;
        let payment_id = id_text(&self.id);
        let fact = |kind: FactKind, amount: Money| PaymentFact {
            source: "mercadopago".into(),
            payment_id: payment_id.clone(),
            kind,
            amount,
            method: PaymentMethod::Provider,
        };
        let mut facts = Vec::new();
        if matches!(
            self.status.as_str(),
            "approved" | "authorized" | "refunded" | "charged_back" | "in_mediation"
        ) {
            facts.push(fact(FactKind::Received, amount));
        }
        if let Some(refunded) = &self.transaction_amount_refunded {
            let refunded = decimal(refunded, currency)?;
            if refunded.is_positive() {
                facts.push(fact(
                    FactKind::Refunded {
                        cumulative: true,
                        refund_id: None,
                    },
                    refunded,
                ));
            }
        }
        let dispute = format!("mp-{payment_id}");
        match self.status.as_str() {
            "in_mediation" => facts.push(fact(
                FactKind::DisputeOpened {
                    dispute_id: dispute,
                },
                amount,
            )),
            "charged_back" => {
                facts.push(fact(
                    FactKind::DisputeOpened {
                        dispute_id: dispute.clone(),
                    },
                    amount,
                ));
                facts.push(fact(
                    FactKind::DisputeLost {
                        dispute_id: dispute,
                    },
                    amount,
                ));
            }
            _ => {}
        }
        let target = self
            .external_reference
            .clone()
            .filter(|r| !r.is_empty())
            .map_or(Target::Unknown, Target::Invoice);
        Ok((target, facts))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("Mercado Pago API: {0}")]
    Http(String),
    #[error("Mercado Pago API answered {0}")]
    Status(u16),
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// The Mercado Pago REST API (`COBRO_MERCADOPAGO_API_BASE`, bearer access token).
#[derive(Clone)]
pub struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Api({}, token redacted)", self.base)
    }
}

impl Api {
    /// `http` is the process's one client ([`crate::http_client`]), built at start.
    pub fn new(http: reqwest::Client, base: &str, token: &str) -> Self {
        Api {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http,
        }
    }

    /// `GET /v1/payments/{id}`.
    pub async fn payment(&self, id: &str) -> Result<Payment, FetchError> {
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(FetchError::Parse(ParseError::Json(
                "invalid payment id".into(),
            )));
        }
        let res = self
            .http
            .get(format!("{}/v1/payments/{id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| FetchError::Http(e.to_string()))?;
        if !res.status().is_success() {
            return Err(FetchError::Status(res.status().as_u16()));
        }
        let bytes = res
            .bytes()
            .await
            .map_err(|e| FetchError::Http(e.to_string()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| FetchError::Parse(ParseError::Json(e.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    /// Computed with Python's hmac over the manifest the Mercado Pago documentation defines.
    const SECRET: &str = "mp-secret-cobro";
    const MANIFEST_HEX: &str = "88593d4d611bfa6f3a167777709ca11dd1b896a1d22316ddd51ea79b393a29f8";
    const REQUEST_ID: &str = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e";
    const TS_MS: i64 = 1742505638683;

    fn headers(sig: &str, request_id: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-signature", sig.parse().unwrap());
        h.insert("x-request-id", request_id.parse().unwrap());
        h
    }

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(ms / 1000, 0).unwrap()
    }

    #[test]
    fn known_answer_and_tampering() {
        assert_eq!(
            sign(SECRET, "123456", REQUEST_ID, TS_MS),
            format!("ts={TS_MS},v1={MANIFEST_HEX}")
        );
        let good = headers(&format!("ts={TS_MS},v1={MANIFEST_HEX}"), REQUEST_ID);
        let check = |h: &HeaderMap, id: Option<&str>, secrets: &str, now: i64| {
            verify(h, id, &Secrets::parse(secrets), at(now), 300)
        };
        assert_eq!(check(&good, Some("123456"), SECRET, TS_MS), Ok(()));
        assert_eq!(
            check(&good, Some("123457"), SECRET, TS_MS),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            check(&good, Some("123456"), "other", TS_MS),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            check(&good, Some("123456"), &format!("old,{SECRET}"), TS_MS),
            Ok(())
        );
        assert_eq!(
            check(&good, None, SECRET, TS_MS),
            Err(VerifyError::MalformedHeader)
        );
        assert_eq!(
            check(&good, Some("123456"), SECRET, TS_MS + 301_000),
            Err(VerifyError::TimestampOutOfTolerance)
        );
        assert_eq!(
            check(
                &headers(&format!("ts={TS_MS},v1={MANIFEST_HEX}"), "other"),
                Some("123456"),
                SECRET,
                TS_MS
            ),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            check(&headers("ts=1,v1=zz", REQUEST_ID), Some("1"), SECRET, 1000),
            Err(VerifyError::MalformedHeader)
        );
        assert_eq!(
            check(&HeaderMap::new(), Some("1"), SECRET, 1000),
            Err(VerifyError::MissingHeader)
        );
        // Seconds work as well as milliseconds; alphanumeric ids are signed in lower case.
        let s = sign(SECRET, "abc123", REQUEST_ID, 1_764_000_000);
        assert_eq!(
            verify(
                &headers(&s, REQUEST_ID),
                Some("ABC123"),
                &Secrets::parse(SECRET),
                at(1_764_000_000_000),
                300
            ),
            Ok(())
        );
    }

    #[test]
    fn notifications_must_name_the_signed_payment() {
        let body = br#"{"id": 112233, "type": "payment", "action": "payment.updated", "data": {"id": "999"}}"#;
        assert_eq!(
            parse_notification("999", body).unwrap(),
            Notification {
                event_id: "112233".into(),
                topic: "payment".into(),
                data_id: "999".into()
            }
        );
        assert!(parse_notification("998", body).is_err());
        assert!(parse_notification("999", b"{").is_err());
    }

    fn payment(json: &str) -> Payment {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn payment_states_become_facts() {
        let p = payment(
            r#"{"id": 999, "status": "approved", "currency_id": "CLP", "transaction_amount": 178464, "external_reference": "inv_x"}"#,
        );
        let (target, facts) = p.facts().unwrap();
        assert_eq!(target, Target::Invoice("inv_x".into()));
        assert_eq!((facts.len(), facts[0].amount.amount()), (1, dec!(178464)));
        let p = payment(
            r#"{"id": 5, "status": "refunded", "currency_id": "MXN", "transaction_amount": 19.99, "transaction_amount_refunded": 19.99}"#,
        );
        let (_, facts) = p.facts().unwrap();
        assert_eq!(
            facts[1].kind,
            FactKind::Refunded {
                cumulative: true,
                refund_id: None
            }
        );
        assert_eq!(facts[1].amount.amount(), dec!(19.99));
        let p = payment(
            r#"{"id": 6, "status": "charged_back", "currency_id": "ARS", "transaction_amount": 100}"#,
        );
        assert_eq!(p.facts().unwrap().1.len(), 3);
        let p = payment(
            r#"{"id": 7, "status": "pending", "currency_id": "COP", "transaction_amount": 100}"#,
        );
        assert!(p.facts().unwrap().1.is_empty());
        assert!(payment(r#"{"id": 8, "status": "approved", "currency_id": "CLP", "transaction_amount": 10.5}"#).facts().is_err());
        assert!(
            payment(
                r#"{"id": 8, "status": "approved", "currency_id": "XXX", "transaction_amount": 10}"#
            )
            .facts()
            .is_err()
        );
        assert!(
            payment(
                r#"{"id": 8, "status": "approved", "currency_id": "USD", "transaction_amount": -1}"#
            )
            .facts()
            .is_err()
        );
    }
}
