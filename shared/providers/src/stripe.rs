//! Stripe: `Stripe-Signature: t=…,v1=…[,v1=…]` is HMAC-SHA256 of `{t}.{raw body}` keyed by
//! the whole `whsec_…` string; any `v1` may match (secret rotation), other schemes are
//! ignored. Amounts are integer minor units, converted with the ISO 4217 exponent table.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use cobro_domain::{Currency, Money};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::Sha256;
use subtle::ConstantTimeEq;

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
    // Nothing is allocated: the signatures are decoded onto the stack, and each secret's
    // MAC is computed once and compared (in constant time) with every `v1`.
    let mut timestamp = None;
    let mut signatures = [[0u8; 32]; 8];
    let mut count = 0;
    for item in header.split(',') {
        let (k, v) = item
            .trim()
            .split_once('=')
            .ok_or(VerifyError::MalformedHeader)?;
        match k {
            "t" => timestamp = Some(v.parse::<i64>().map_err(|_| VerifyError::MalformedHeader)?),
            // Hex of a SHA-256 HMAC: exactly 32 bytes, else it cannot match anything.
            "v1" => {
                let slot = signatures
                    .get_mut(count)
                    .ok_or(VerifyError::MalformedHeader)?;
                hex::decode_to_slice(v, slot).map_err(|_| VerifyError::MalformedHeader)?;
                count = count.saturating_add(1);
            }
            _ => {}
        }
    }
    let (Some(t), 1..) = (timestamp, count) else {
        return Err(VerifyError::MalformedHeader);
    };
    check_tolerance(t, now, tolerance)?;
    // `t` in decimal, as Stripe signs it.
    let mut digits = itoa::Buffer::new();
    let t_digits = digits.format(t).as_bytes();
    for secret in secrets.iter() {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| VerifyError::NoSecret)?;
        mac.update(t_digits);
        mac.update(b".");
        mac.update(body);
        let expected = mac.finalize().into_bytes();
        if signatures
            .iter()
            .take(count)
            .any(|sig| bool::from(expected.as_slice().ct_eq(sig)))
        {
            return Ok(());
        }
    }
    Err(VerifyError::NoMatch)
}

/// The `Stripe-Signature` header Stripe would send for `body` at `t` (for `cobro webhook
/// send` and tests).
pub fn sign(body: &[u8], secret: &str, t: i64) -> String {
    // HMAC takes a key of any length (RFC 2104, section 2: a longer one is hashed first), so
    // `new_from_slice` cannot fail.
    #[allow(clippy::expect_used)]
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

// Reading an event builds nothing it does not use, and ids are borrowed from the body
// unless they contain escapes. Stripe sends `type` after `data`, so the object's type is
// not known while it is read. The fast path reads it in the same pass as a superset of the
// four object types we read ([`AnyObject`]: every field of any of them, typed as they are
// typed); when that fails (an object of another type whose field of the same name has
// another type, or a malformed object), the exact path keeps `data.object` as raw JSON and
// reads it again as the one type `type` names. Both give the same answers.

#[derive(Debug, Deserialize)]
struct Event<'a, O> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    created: i64,
    data: EventData<O>,
}

#[derive(Debug, Deserialize)]
struct EventData<O> {
    object: O,
}

/// A field that was present (possibly `null`, if `T` is an `Option`) or absent: unlike
/// `Option<T>`, `null` is read as `T` reads it.
#[derive(Debug)]
struct Field<T>(Option<T>);

impl<T> Default for Field<T> {
    fn default() -> Self {
        Field(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(|v| Field(Some(v)))
    }
}

impl<T> Field<T> {
    fn required(self, name: &str) -> Result<T, ParseError> {
        self.0
            .ok_or_else(|| ParseError::Json(format!("missing field `{name}`")))
    }
}

impl<T> Field<Option<T>> {
    /// Present and not `null`, as a field typed `T` (not `Option<T>`) is read.
    fn present(self, name: &str) -> Result<T, ParseError> {
        self.required(name)?
            .ok_or_else(|| ParseError::Json(format!("`{name}` is null")))
    }
}

impl<T: Default> Field<T> {
    fn or_default(self) -> T {
        self.0.unwrap_or_default()
    }
}

/// Every field of [`PaymentIntent`], [`CheckoutSession`], [`Charge`] and [`Dispute`].
#[derive(Debug, Deserialize)]
struct AnyObject<'a> {
    #[serde(default, borrow)]
    id: Field<Cow<'a, str>>,
    #[serde(default)]
    amount: Field<i64>,
    #[serde(default)]
    amount_received: Field<i64>,
    #[serde(default)]
    amount_total: Field<Option<i64>>,
    #[serde(default)]
    amount_refunded: Field<i64>,
    #[serde(default, borrow)]
    currency: Field<Option<Cow<'a, str>>>,
    #[serde(default, borrow)]
    payment_intent: Field<Option<Cow<'a, str>>>,
    #[serde(default, borrow)]
    payment_status: Field<Cow<'a, str>>,
    #[serde(default, borrow)]
    charge: Field<Cow<'a, str>>,
    #[serde(default, borrow)]
    status: Field<Cow<'a, str>>,
    #[serde(default, borrow)]
    metadata: Field<Metadata<'a>>,
}

/// The object of an event, read by the fast path or kept raw by the exact path.
// It lives on the stack for one parse; boxing the large variant would allocate per event.
#[allow(clippy::large_enum_variant)]
enum Object<'a> {
    Read(AnyObject<'a>),
    Raw(&'a RawValue),
}

impl<'a> Object<'a> {
    fn read<T: Deserialize<'a> + TryFrom<AnyObject<'a>, Error = ParseError>>(
        self,
    ) -> Result<T, ParseError> {
        match self {
            Object::Read(o) => T::try_from(o),
            Object::Raw(raw) => {
                serde_json::from_str(raw.get()).map_err(|e| ParseError::Json(e.to_string()))
            }
        }
    }
}

/// Of an object's `metadata`, the one key we read.
#[derive(Debug, Default, Deserialize)]
struct Metadata<'a> {
    #[serde(borrow)]
    invoice_id: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct PaymentIntent<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default)]
    amount: i64,
    #[serde(default)]
    amount_received: i64,
    #[serde(borrow)]
    currency: Cow<'a, str>,
    #[serde(default, borrow)]
    metadata: Metadata<'a>,
}

#[derive(Debug, Deserialize)]
struct CheckoutSession<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    payment_intent: Option<Cow<'a, str>>,
    amount_total: Option<i64>,
    #[serde(borrow)]
    currency: Option<Cow<'a, str>>,
    #[serde(borrow)]
    payment_status: Cow<'a, str>,
    #[serde(default, borrow)]
    metadata: Metadata<'a>,
}

#[derive(Debug, Deserialize)]
struct Charge<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    payment_intent: Option<Cow<'a, str>>,
    amount_refunded: i64,
    #[serde(borrow)]
    currency: Cow<'a, str>,
    #[serde(default, borrow)]
    metadata: Metadata<'a>,
}

#[derive(Debug, Deserialize)]
struct Dispute<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    charge: Cow<'a, str>,
    #[serde(borrow)]
    payment_intent: Option<Cow<'a, str>>,
    amount: i64,
    #[serde(borrow)]
    currency: Cow<'a, str>,
    #[serde(borrow)]
    status: Cow<'a, str>,
}

fn money(minor: i64, currency: &str) -> Result<Money, ParseError> {
    if minor < 0 {
        return Err(ParseError::Amount(format!("{minor} is negative")));
    }
    let currency = Currency::parse(currency).map_err(|e| ParseError::Currency(e.to_string()))?;
    Ok(Money::from_minor_units(minor, currency))
}

fn target(metadata: Metadata<'_>) -> Target {
    metadata
        .invoice_id
        .map_or(Target::Unknown, |id| Target::Invoice(id.into_owned()))
}

impl<'a> TryFrom<AnyObject<'a>> for PaymentIntent<'a> {
    type Error = ParseError;
    fn try_from(o: AnyObject<'a>) -> Result<Self, ParseError> {
        Ok(PaymentIntent {
            id: o.id.required("id")?,
            amount: o.amount.or_default(),
            amount_received: o.amount_received.or_default(),
            currency: o.currency.present("currency")?,
            metadata: o.metadata.or_default(),
        })
    }
}

impl<'a> TryFrom<AnyObject<'a>> for CheckoutSession<'a> {
    type Error = ParseError;
    fn try_from(o: AnyObject<'a>) -> Result<Self, ParseError> {
        Ok(CheckoutSession {
            id: o.id.required("id")?,
            payment_intent: o.payment_intent.or_default(),
            amount_total: o.amount_total.or_default(),
            currency: o.currency.or_default(),
            payment_status: o.payment_status.required("payment_status")?,
            metadata: o.metadata.or_default(),
        })
    }
}

impl<'a> TryFrom<AnyObject<'a>> for Charge<'a> {
    type Error = ParseError;
    fn try_from(o: AnyObject<'a>) -> Result<Self, ParseError> {
        Ok(Charge {
            id: o.id.required("id")?,
            payment_intent: o.payment_intent.or_default(),
            amount_refunded: o.amount_refunded.required("amount_refunded")?,
            currency: o.currency.present("currency")?,
            metadata: o.metadata.or_default(),
        })
    }
}

impl<'a> TryFrom<AnyObject<'a>> for Dispute<'a> {
    type Error = ParseError;
    fn try_from(o: AnyObject<'a>) -> Result<Self, ParseError> {
        Ok(Dispute {
            id: o.id.required("id")?,
            charge: o.charge.required("charge")?,
            payment_intent: o.payment_intent.or_default(),
            amount: o.amount.required("amount")?,
            currency: o.currency.present("currency")?,
            status: o.status.required("status")?,
        })
    }
}

impl<'a, O> Event<'a, O> {
    fn with_object<P>(self, f: impl FnOnce(O) -> P) -> Event<'a, P> {
        Event {
            id: self.id,
            kind: self.kind,
            created: self.created,
            data: EventData {
                object: f(self.data.object),
            },
        }
    }
}

/// The envelope, with the object read by the fast path or, failing that, kept raw.
fn envelope(body: &[u8], fast: bool) -> Result<Event<'_, Object<'_>>, ParseError> {
    if let Some(Ok(e)) = fast.then(|| serde_json::from_slice::<Event<AnyObject>>(body)) {
        return Ok(e.with_object(Object::Read));
    }
    let e: Event<&RawValue> =
        serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    Ok(e.with_object(Object::Raw))
}

/// Reads a verified delivery into our event.
pub fn parse(body: &[u8]) -> Result<PaymentEvent, ParseError> {
    parse_with(body, true)
}

fn parse_with(body: &[u8], fast: bool) -> Result<PaymentEvent, ParseError> {
    let event = envelope(body, fast)?;
    let occurred_at = DateTime::<Utc>::from_timestamp(event.created, 0)
        .ok_or_else(|| ParseError::Json("created is out of range".into()))?;
    let unsupported = |event_id: Cow<str>, t: String| PaymentEvent {
        provider: Provider::Stripe,
        event_id: event_id.into_owned(),
        kind: EventKind::Unsupported { provider_type: t },
        payment_id: String::new(),
        target: Target::Unknown,
        amount: None,
        occurred_at,
    };
    let (kind, payment_id, target, amount) = match &*event.kind {
        "payment_intent.succeeded" | "payment_intent.payment_failed" => {
            let pi: PaymentIntent = event.data.object.read()?;
            let (kind, minor) = if event.kind.ends_with("succeeded") {
                (EventKind::Succeeded, pi.amount_received)
            } else {
                (EventKind::Failed, pi.amount)
            };
            (
                kind,
                pi.id.into_owned(),
                target(pi.metadata),
                money(minor, &pi.currency)?,
            )
        }
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            let s: CheckoutSession = event.data.object.read()?;
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
                s.payment_intent.unwrap_or(s.id).into_owned(),
                target(s.metadata),
                amount,
            )
        }
        "charge.refunded" => {
            let c: Charge = event.data.object.read()?;
            (
                EventKind::Refunded {
                    cumulative: true,
                    refund_id: None,
                },
                c.payment_intent.unwrap_or(c.id).into_owned(),
                target(c.metadata),
                money(c.amount_refunded, &c.currency)?,
            )
        }
        "charge.dispute.created" | "charge.dispute.closed" => {
            let d: Dispute = event.data.object.read()?;
            let kind = match (&*event.kind, &*d.status) {
                ("charge.dispute.created", _) => EventKind::DisputeOpened {
                    dispute_id: d.id.into_owned(),
                },
                (_, "won") => EventKind::DisputeWon {
                    dispute_id: d.id.into_owned(),
                },
                (_, "lost") => EventKind::DisputeLost {
                    dispute_id: d.id.into_owned(),
                },
                (_, other) => {
                    return Ok(unsupported(event.id, format!("{} ({other})", event.kind)));
                }
            };
            (
                kind,
                d.payment_intent.unwrap_or(d.charge).into_owned(),
                Target::Unknown,
                money(d.amount, &d.currency)?,
            )
        }
        _ => return Ok(unsupported(event.id, event.kind.into_owned())),
    };
    Ok(PaymentEvent {
        provider: Provider::Stripe,
        event_id: event.id.into_owned(),
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
    use proptest::prelude::*;
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
    fn a_timestamp_at_the_ends_of_i64_is_out_of_tolerance_not_a_crash() {
        for t in [i64::MIN, i64::MAX, -1] {
            assert_eq!(
                check(&format!("t={t},v1={KAT_V1}"), PAYLOAD, SECRET, KAT_T),
                Err(VerifyError::TimestampOutOfTolerance),
                "{t}"
            );
        }
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
    fn escaped_ids_and_foreign_objects() {
        let e = parse(br#"{"id":"evt_\u0031","type":"payment_intent.succeeded","created":1764000000,"data":{"object":{"id":"pi_\u00e9","amount_received":5,"currency":"usd","metadata":{"invoice_id":"inv_\"x\""}}}}"#).unwrap();
        assert_eq!(
            (e.event_id.as_str(), e.payment_id.as_str(), e.target),
            ("evt_1", "pi_é", Target::Invoice("inv_\"x\"".into()))
        );
        // Another type's object whose fields of our names have other types: unsupported,
        // read by the exact path.
        let e = parse(&event(
            "customer.created",
            serde_json::json!({"id": 7, "amount": "5", "status": {"a": 1}, "metadata": {"invoice_id": 3}}),
        ))
        .unwrap();
        assert!(matches!(e.kind, EventKind::Unsupported { .. }));
        // null where Stripe sends a number is an error on both paths, not a zero.
        let null = event(
            "payment_intent.succeeded",
            serde_json::json!({"id": "pi", "amount_received": null, "currency": "usd"}),
        );
        assert!(matches!(parse(&null), Err(ParseError::Json(_))));
        assert!(matches!(parse_with(&null, false), Err(ParseError::Json(_))));
    }

    fn any_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::json;
        prop_oneof![
            Just(json!(null)),
            Just(json!(true)),
            (-5i64..200_000).prop_map(|n| json!(n)),
            Just(json!(1.5)),
            Just(json!("x")),
            Just(json!({"invoice_id": 5})),
            Just(json!(["x"])),
        ]
    }

    /// A value of the type Stripe gives the field, mostly valid.
    fn typed(name: &'static str) -> BoxedStrategy<serde_json::Value> {
        use serde_json::json;
        let strings = |v: Vec<&'static str>| prop::sample::select(v).prop_map(|s| json!(s)).boxed();
        match name {
            "id" | "payment_intent" | "charge" => strings(vec!["pi_1", "ch_é", "a\"b"]),
            "currency" => strings(vec!["clp", "usd", "zzz"]),
            "payment_status" => strings(vec!["paid", "unpaid"]),
            "status" => strings(vec!["won", "lost", "warning_needs_response"]),
            "metadata" => {
                prop_oneof![Just(json!({"invoice_id": "inv_1"})), Just(json!({}))].boxed()
            }
            _ => (-5i64..200_000).prop_map(|n| json!(n)).boxed(),
        }
    }

    const FIELDS: [&str; 12] = [
        "id",
        "amount",
        "amount_received",
        "amount_total",
        "amount_refunded",
        "currency",
        "payment_intent",
        "payment_status",
        "charge",
        "status",
        "metadata",
        "other",
    ];

    proptest! {
        /// The timestamp is signed in decimal, as `sign` (and Stripe) writes it, whatever
        /// its value, negative ones included.
        #[test]
        fn timestamps_are_signed_in_decimal(t in -8_000_000_000_000i64..8_000_000_000_000) {
            let header = sign(PAYLOAD.as_bytes(), SECRET, t);
            prop_assert_eq!(check(&header, PAYLOAD, SECRET, t), Ok(()));
        }
    }

    #[test]
    fn up_to_eight_signatures_are_read() {
        let many = |n: usize| {
            let mut h = format!("t={KAT_T}");
            for _ in 0..n {
                h.push_str(&format!(",v1={}", "00".repeat(32)));
            }
            format!("{h},v1={KAT_V1}")
        };
        assert_eq!(check(&many(7), PAYLOAD, SECRET, KAT_T), Ok(()));
        assert_eq!(
            check(&many(8), PAYLOAD, SECRET, KAT_T),
            Err(VerifyError::MalformedHeader)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        /// The fast path (one pass into the superset of object types) and the exact path
        /// (raw object, read again as the type the event names) give the same answer for
        /// any object made of our field names, each absent, of its own type or of another.
        #[test]
        fn fast_and_exact_paths_agree(
            kind in prop::sample::select(vec![
                "payment_intent.succeeded", "payment_intent.payment_failed",
                "checkout.session.completed", "charge.refunded",
                "charge.dispute.created", "charge.dispute.closed", "customer.created",
            ]),
            values in FIELDS.map(|name| prop::option::weighted(
                0.7,
                prop_oneof![4 => typed(name), 1 => any_value()],
            )),
        ) {
            let object: serde_json::Map<String, serde_json::Value> = FIELDS
                .iter()
                .zip(values)
                .filter_map(|(k, v)| Some((k.to_string(), v?)))
                .collect();
            let body = event(kind, serde_json::Value::Object(object));
            match (parse_with(&body, true), parse_with(&body, false)) {
                (Ok(fast), Ok(exact)) => prop_assert_eq!(fast, exact),
                (Err(fast), Err(exact)) => prop_assert_eq!(
                    std::mem::discriminant(&fast),
                    std::mem::discriminant(&exact)
                ),
                (fast, exact) => prop_assert!(false, "fast {:?} but exact {:?}", fast, exact),
            }
        }
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
