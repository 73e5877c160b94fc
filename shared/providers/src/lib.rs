//! Payment providers. Each module has the same shape: `verify(headers, raw_body, secrets,
//! now)` on the raw bytes, before anything is parsed; its own serde types for the
//! provider's payloads; and a mapping into our one [`PaymentEvent`].

use chrono::{DateTime, Utc};
use cobro_domain::Money;
use serde::Serialize;

pub mod checkout;
pub mod mercadopago;
pub mod standard;
pub mod stripe;

/// Default tolerance between a signature's timestamp and now, both ways.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Stripe,
    Mercadopago,
    Standard,
}

impl Provider {
    /// The provider a webhook path names (`/webhooks/{provider}`).
    pub fn parse(name: &str) -> Option<Provider> {
        match name {
            "stripe" => Some(Provider::Stripe),
            "mercadopago" => Some(Provider::Mercadopago),
            "standard" => Some(Provider::Standard),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Provider::Stripe => "stripe",
            Provider::Mercadopago => "mercadopago",
            Provider::Standard => "standard",
        }
    }
}

/// Why a delivery was not accepted as authentic. Callers answer every variant with the same
/// generic 400 (no hint which part failed) and log the variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("signature header missing")]
    MissingHeader,
    #[error("signature header malformed")]
    MalformedHeader,
    #[error("timestamp outside the tolerance")]
    TimestampOutOfTolerance,
    #[error("no signature matches any active secret")]
    NoMatch,
    #[error("no webhook secret is configured")]
    NoSecret,
}

/// Why an authentic delivery could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("body is not valid JSON for this provider: {0}")]
    Json(String),
    #[error("invalid amount: {0}")]
    Amount(String),
    #[error("invalid currency: {0}")]
    Currency(String),
}

/// The HTTP client for providers' REST APIs (10 s timeout). Building one loads the
/// system's root certificates, so a process builds it once, at start, and clones it.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

/// Active secrets of one provider (several during a rotation). Redacted in Debug.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// From a comma-separated list, as in `COBRO_STRIPE_WEBHOOK_SECRETS`.
    pub fn parse(list: &str) -> Self {
        Secrets(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The secret new signatures are made with (the first).
    pub fn current(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} redacted)", self.0.len())
    }
}

pub(crate) fn check_tolerance(
    ts: i64,
    now: DateTime<Utc>,
    tolerance: i64,
) -> Result<(), VerifyError> {
    // `ts` is the sender's, read before the signature is checked: a difference that
    // cannot overflow (i64::MIN must not wrap into "just now").
    if now.timestamp().abs_diff(ts) > tolerance.unsigned_abs() {
        return Err(VerifyError::TimestampOutOfTolerance);
    }
    Ok(())
}

/// Where a payment says it belongs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum Target {
    /// Our invoice id, as carried in provider metadata.
    Invoice(String),
    /// The RF reference a client typed into a bank transfer.
    PaymentReference(String),
    /// Nothing in the event says (a dispute, a refund on a charge): found by payment id.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// Money received: `amount` is what was paid.
    Succeeded,
    Failed,
    /// Money returned. With `cumulative`, `amount` is the total refunded so far on the
    /// payment (Stripe's `amount_refunded`); otherwise it is this refund, named `refund_id`.
    Refunded {
        cumulative: bool,
        refund_id: Option<String>,
    },
    DisputeOpened {
        dispute_id: String,
    },
    DisputeWon {
        dispute_id: String,
    },
    DisputeLost {
        dispute_id: String,
    },
    /// Anything else the provider sends: acknowledged, nothing done.
    Unsupported {
        provider_type: String,
    },
}

/// One provider event, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentEvent {
    pub provider: Provider,
    pub event_id: String,
    pub kind: EventKind,
    /// The provider's id of the payment this is about (a PaymentIntent, a payment).
    pub payment_id: String,
    pub target: Target,
    /// Exact, in the payment's currency. `None` for events without money (unsupported).
    pub amount: Option<Money>,
    pub occurred_at: DateTime<Utc>,
}

impl PaymentEvent {
    /// The movement of money this event reports, if any (failures and unsupported types
    /// report none).
    pub fn fact(&self) -> Option<cobro_domain::PaymentFact> {
        use cobro_domain::FactKind;
        let kind = match &self.kind {
            EventKind::Succeeded => FactKind::Received,
            EventKind::Refunded {
                cumulative,
                refund_id,
            } => FactKind::Refunded {
                cumulative: *cumulative,
                refund_id: refund_id.clone(),
            },
            EventKind::DisputeOpened { dispute_id } => FactKind::DisputeOpened {
                dispute_id: dispute_id.clone(),
            },
            EventKind::DisputeWon { dispute_id } => FactKind::DisputeWon {
                dispute_id: dispute_id.clone(),
            },
            EventKind::DisputeLost { dispute_id } => FactKind::DisputeLost {
                dispute_id: dispute_id.clone(),
            },
            EventKind::Failed | EventKind::Unsupported { .. } => return None,
        };
        Some(cobro_domain::PaymentFact {
            source: self.provider.as_str().to_string(),
            payment_id: self.payment_id.clone(),
            kind,
            amount: self.amount?,
            method: cobro_domain::PaymentMethod::Provider,
        })
    }
}
