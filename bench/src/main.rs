//! Verify + parse + reconcile decision for one Stripe event, no store I/O: the CPU work of
//! the payment-webhook function per delivery. Prints the median time per event of
//! repeated batches, in microseconds, as JSON. Usage: webhook-bench PAYLOAD_FILE SECRET T SIGNATURE_HEADER

use std::time::Instant;

use cobro_domain::ledger::{EntryKind, LedgerEntry, reconcile};
use cobro_domain::{Currency, Money};
use cobro_providers::{Secrets, stripe};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, payload, secret, t, header] = args.as_slice() else {
        eprintln!("usage: cobro-bench PAYLOAD_FILE SECRET T SIGNATURE_HEADER");
        std::process::exit(2);
    };
    let body = std::fs::read(payload).expect("payload");
    let secrets = Secrets::parse(secret);
    let now = chrono::DateTime::from_timestamp(t.parse().expect("t"), 0).expect("time");
    let mut headers = http::HeaderMap::new();
    headers.insert(stripe::SIGNATURE_HEADER, header.parse().expect("header"));
    let clp = Currency::parse("CLP").expect("CLP");
    let ledger = vec![LedgerEntry {
        seq: 1,
        kind: EntryKind::Charge,
        amount: Money::from_minor_units(178_464, clp),
        at: now,
        key: Some("charge".into()),
    }];

    let once = || {
        stripe::verify(&headers, &body, &secrets, now, 300).expect("verified");
        let event = stripe::parse(&body).expect("parsed");
        let fact = event.fact().expect("a payment");
        std::hint::black_box(reconcile(clp, &ledger, &fact));
    };
    for _ in 0..2_000 {
        once();
    }
    let (batches, per_batch) = (30, 2_000);
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
    println!(
        "{}",
        serde_json::json!({"bytes": body.len(), "median_us": samples[batches / 2], "min_us": samples[0], "max_us": samples[batches - 1]})
    );
}
