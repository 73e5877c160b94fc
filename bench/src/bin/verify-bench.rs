//! Webhook verification + parsing, cobro's side of the comparisons (issue 9, items 1–2).
//!
//! - `verify-bench cases DIR`: writes the inputs every implementation reads: Stripe
//!   `payment_intent.succeeded` events and Standard Webhooks `payment.succeeded` messages of
//!   0.5, 2 and 16 KB, signed now, and `DIR/cases.json` naming each file, its headers and
//!   the secret. The peers (`bench/peers/verify.py`, `verify.js`, the svix crate) read the
//!   same files.
//! - `verify-bench run DIR BATCHES PER_BATCH`: times cobro on every case, one JSON line per
//!   case and operation: the median (and min/max) of BATCHES batches of PER_BATCH calls,
//!   in µs per event, after a warm-up of one batch.

use std::time::Instant;

use chrono::{DateTime, Utc};
use cobro_domain::Money;
use cobro_domain::ledger::{EntryKind, LedgerEntry, reconcile};
use cobro_providers::{DEFAULT_TOLERANCE_SECS, Secrets, standard, stripe};
use serde_json::{Value, json};

const STRIPE_SECRET: &str = "whsec_bench_secret_cobro";
/// Base64 of 24 random-looking bytes, as Standard Webhooks secrets are.
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SIZES: [usize; 3] = [512, 2048, 16384];
const INVOICE: &str = "inv_01JBENCHAAAAAAAAAAAAAAAAAA";

/// A `payment_intent.succeeded` event as Stripe sends it (API 2025 shape); the larger
/// sizes carry the full object and metadata entries, as integrations that tag payments do.
fn stripe_event(size: usize, t: i64) -> Vec<u8> {
    let mut object = json!({
        "id": "pi_3QBenchAAAAAAAAAA0000001", "object": "payment_intent", "amount": 178464,
        "amount_received": 178464, "currency": "clp", "status": "succeeded",
        "metadata": {"invoice_id": INVOICE},
    });
    if size > 1024 {
        let full = json!({
            "amount_capturable": 0, "amount_details": {"tip": {}}, "application": null,
            "application_fee_amount": null, "automatic_payment_methods": {"allow_redirects": "always", "enabled": true},
            "canceled_at": null, "cancellation_reason": null, "capture_method": "automatic_async",
            "client_secret": "pi_3QBenchAAAAAAAAAA0000001_secret_QBenchBBBBBBBBBBBBBBBBB",
            "confirmation_method": "automatic", "created": t - 40, "customer": "cus_RBenchCCCCCCCC",
            "description": "Factura F-000001", "invoice": null, "last_payment_error": null,
            "latest_charge": "ch_3QBenchAAAAAAAAAA0000001", "livemode": false, "next_action": null,
            "on_behalf_of": null, "payment_method": "pm_1QBenchDDDDDDDDDDDDDDDD",
            "payment_method_configuration_details": {"id": "pmc_1QBenchEEEEEEEEEEEEEEEE", "parent": null},
            "payment_method_options": {"card": {"installments": null, "mandate_options": null, "network": null, "request_three_d_secure": "automatic"}},
            "payment_method_types": ["card"], "processing": null, "receipt_email": "pagos@cliente.cl",
            "review": null, "setup_future_usage": null, "shipping": null, "source": null,
            "statement_descriptor": null, "statement_descriptor_suffix": null, "transfer_data": null, "transfer_group": null,
        });
        for (k, v) in full.as_object().into_iter().flatten() {
            object[k] = v.clone();
        }
    }
    let mut event = json!({
        "id": "evt_3QBenchAAAAAAAAAA0000001", "object": "event", "api_version": "2025-06-30.basil",
        "created": t, "data": {"object": object}, "livemode": false, "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null}, "type": "payment_intent.succeeded",
    });
    pad(&mut event, "/data/object/metadata", size);
    serde_json::to_vec(&event).expect("json")
}

/// A Standard Webhooks `payment.succeeded` message in cobro's documented shape.
fn standard_message(size: usize) -> Vec<u8> {
    let mut message = json!({
        "type": "payment.succeeded", "timestamp": "2026-11-23T15:00:00Z",
        "data": {"invoice_id": INVOICE, "payment_id": "trf_000001", "amount": "1784.64",
                 "currency": "USD", "metadata": {}},
    });
    pad(&mut message, "/data/metadata", size);
    serde_json::to_vec(&message).expect("json")
}

/// Adds metadata entries of ~300 characters (Stripe allows 50 of up to 500) to the object
/// at `pointer` until the document is exactly `size` bytes.
fn pad(doc: &mut Value, pointer: &str, size: usize) {
    let len = |d: &Value| serde_json::to_vec(d).expect("json").len();
    let set = |d: &mut Value, key: &str, value: &str| {
        d.pointer_mut(pointer).expect("pointer")[key] = Value::String(value.to_string());
    };
    for i in 0.. {
        let key = format!("line_{i:02}");
        // `"key":"…",` costs the key, quotes, colon and comma around the value.
        let room = size.saturating_sub(len(doc) + key.len() + 6);
        if room == 0 {
            break;
        }
        let mut value: String = "Mantención mensual, plan Pyme, 1 unidad · "
            .chars()
            .cycle()
            .take(room.min(300))
            .collect();
        set(doc, &key, &value);
        // Multi-byte characters: trim until the document fits exactly.
        while len(doc) > size && !value.is_empty() {
            value.pop();
            set(doc, &key, &value);
        }
        if len(doc) >= size || value.is_empty() {
            break;
        }
    }
}

fn write_cases(dir: &str) {
    std::fs::create_dir_all(dir).expect("dir");
    let t = Utc::now().timestamp();
    let mut cases = Vec::new();
    for size in SIZES {
        let body = stripe_event(size, t);
        let file = format!("stripe-{size}.json");
        std::fs::write(format!("{dir}/{file}"), &body).expect("write");
        cases.push(json!({
            "provider": "stripe", "size": size, "bytes": body.len(), "file": file,
            "secret": STRIPE_SECRET,
            "headers": {"stripe-signature": stripe::sign(&body, STRIPE_SECRET, t)},
        }));
        let body = standard_message(size);
        let file = format!("standard-{size}.json");
        std::fs::write(format!("{dir}/{file}"), &body).expect("write");
        let id = format!("msg_bench_{size}");
        cases.push(json!({
            "provider": "standard", "size": size, "bytes": body.len(), "file": file,
            "secret": STANDARD_SECRET,
            "headers": {
                "webhook-id": id, "webhook-timestamp": t.to_string(),
                "webhook-signature": standard::sign(STANDARD_SECRET, &id, t, &body).expect("sign"),
            },
        }));
    }
    std::fs::write(
        format!("{dir}/cases.json"),
        serde_json::to_vec_pretty(&json!({"t": t, "cases": cases})).expect("json"),
    )
    .expect("write");
}

/// Median, min and max µs per call over `batches` batches of `per_batch` calls.
fn time(batches: usize, per_batch: usize, mut once: impl FnMut()) -> Value {
    for _ in 0..per_batch {
        once();
    }
    let mut samples: Vec<f64> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                once();
            }
            start.elapsed().as_secs_f64() * 1e6 / per_batch as f64
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    json!({"median_us": samples[batches / 2], "min_us": samples[0], "max_us": samples[batches - 1]})
}

fn run(dir: &str, batches: usize, per_batch: usize) {
    let spec: Value =
        serde_json::from_slice(&std::fs::read(format!("{dir}/cases.json")).expect("cases.json"))
            .expect("cases.json");
    let now = DateTime::<Utc>::from_timestamp(spec["t"].as_i64().expect("t"), 0).expect("t");
    for case in spec["cases"].as_array().expect("cases") {
        let body =
            std::fs::read(format!("{dir}/{}", case["file"].as_str().expect("file"))).expect("body");
        let mut headers = http::HeaderMap::new();
        for (k, v) in case["headers"].as_object().expect("headers") {
            headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.as_str().expect("value").parse().expect("value"),
            );
        }
        let secrets = Secrets::parse(case["secret"].as_str().expect("secret"));
        let provider = case["provider"].as_str().expect("provider");
        let tol = DEFAULT_TOLERANCE_SECS;
        let report = |op: &str, timing: Value| {
            let mut line =
                json!({"impl": "cobro", "provider": provider, "bytes": body.len(), "op": op});
            line.as_object_mut()
                .expect("object")
                .extend(timing.as_object().expect("timing").clone());
            println!("{line}");
        };
        match provider {
            "stripe" => {
                let event = stripe::parse(&body).expect("parsed");
                let fact = event.fact().expect("a payment");
                let currency = fact.amount.currency();
                let ledger = charge(fact.amount);
                // Exactly what the payment webhook does per delivery before any store I/O.
                report(
                    "verify+parse+decide",
                    time(batches, per_batch, || {
                        stripe::verify(&headers, &body, &secrets, now, tol).expect("verified");
                        let event = stripe::parse(&body).expect("parsed");
                        let fact = event.fact().expect("a payment");
                        std::hint::black_box(reconcile(currency, &ledger, &fact));
                    }),
                );
                report(
                    "verify+parse",
                    time(batches, per_batch, || {
                        stripe::verify(&headers, &body, &secrets, now, tol).expect("verified");
                        std::hint::black_box(stripe::parse(&body).expect("parsed"));
                    }),
                );
            }
            _ => {
                report(
                    "verify",
                    time(batches, per_batch, || {
                        standard::verify(&headers, &body, &secrets, now, tol).expect("verified");
                    }),
                );
                report(
                    "verify+parse",
                    time(batches, per_batch, || {
                        standard::verify(&headers, &body, &secrets, now, tol).expect("verified");
                        std::hint::black_box(standard::parse(&headers, &body).expect("parsed"));
                    }),
                );
            }
        }
    }
}

/// The invoice's ledger: one charge of the amount paid.
fn charge(amount: Money) -> Vec<LedgerEntry> {
    vec![LedgerEntry {
        seq: 1,
        kind: EntryKind::Charge,
        amount,
        at: Utc::now(),
        key: Some("charge".into()),
        by: None,
    }]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [_, "cases", dir] => write_cases(dir),
        [_, "run", dir, batches, per_batch] => run(
            dir,
            batches.parse().expect("BATCHES"),
            per_batch.parse().expect("PER_BATCH"),
        ),
        _ => {
            eprintln!("usage: verify-bench cases DIR | verify-bench run DIR BATCHES PER_BATCH");
            std::process::exit(2);
        }
    }
}
