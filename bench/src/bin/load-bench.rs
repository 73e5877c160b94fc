//! End-to-end webhook load on the local stack (issue 9, item 3), the parts around the load
//! generator (`wrk`, driven by `bench/load.lua`, against `cobro serve`):
//!
//! - `load-bench prepare DIR N SECRET`: an embedded store in DIR with N open invoices
//!   (CLP 100.000 each, 100 clients), and `DIR/requests.tsv`: for each invoice one Stripe
//!   `payment_intent.succeeded` paying it in full, signed now with SECRET, one request per
//!   line (`signature<TAB>body`), in the order they are to be sent.
//! - `load-bench check DIR N`: after the server has stopped, reads the store and checks that
//!   every one of the N events was applied exactly once: its event recorded as `applied`,
//!   its invoice holding exactly one payment of the full amount and nothing left to pay.
//!   Prints counts and the rate they were applied at (from the first event's arrival to
//!   the last's) as JSON, and exits non-zero on any discrepancy.

use chrono::{Duration, Utc};
use cobro_bench::{client, invoice, write};
use cobro_domain::ledger::{EntryKind, balance};
use cobro_domain::{Client, InvoiceId};
use cobro_providers::stripe;
use cobro_store::{SqliteStore, Store};
use serde_json::json;

const CLIENTS: usize = 100;

async fn prepare(dir: &str, n: usize, secret: &str) {
    let store = SqliteStore::open(dir.as_ref()).expect("store");
    let clients: Vec<Client> = (0..CLIENTS).map(client).collect();
    let due = Utc::now() + Duration::days(30);
    let mut ids = Vec::with_capacity(n);
    let mut first = Some(clients.clone());
    let mut seq = 0u64;
    while (seq as usize) < n {
        let chunk = (n - seq as usize).min(20_000);
        let writes = (0..chunk)
            .map(|_| {
                seq += 1;
                let inv = invoice(&clients[seq as usize % CLIENTS].id, seq);
                ids.push(inv.id.to_string());
                write(inv, due)
            })
            .collect();
        store
            .import(first.take().unwrap_or_default(), writes)
            .await
            .expect("import");
    }
    let t = Utc::now().timestamp();
    let mut lines = String::new();
    for (i, id) in ids.iter().enumerate() {
        let body = json!({
            "id": format!("evt_load_{i:08}"), "object": "event", "api_version": "2025-06-30.basil",
            "created": t, "type": "payment_intent.succeeded", "livemode": false,
            "data": {"object": {
                "id": format!("pi_load_{i:08}"), "object": "payment_intent", "amount": 100_000,
                "amount_received": 100_000, "currency": "clp", "status": "succeeded",
                "metadata": {"invoice_id": id},
            }},
        })
        .to_string();
        lines.push_str(&stripe::sign(body.as_bytes(), secret, t));
        lines.push('\t');
        lines.push_str(&body);
        lines.push('\n');
    }
    std::fs::write(format!("{dir}/requests.tsv"), lines).expect("requests");
    std::fs::write(format!("{dir}/invoices.txt"), ids.join("\n")).expect("invoices");
}

async fn check(dir: &str, n: usize) {
    let store = SqliteStore::open(dir.as_ref()).expect("store");
    let ids = std::fs::read_to_string(format!("{dir}/invoices.txt")).expect("invoices");
    let (mut applied, mut paid, mut problems) = (0usize, 0usize, Vec::new());
    let (mut first, mut last) = (None, None);
    for (i, id) in ids.lines().take(n).enumerate() {
        let event = store
            .event("stripe", &format!("evt_load_{i:08}"))
            .await
            .expect("event");
        match event.as_ref().map(|e| (e.outcome.as_str(), e.received_at)) {
            Some(("applied", at)) => {
                applied += 1;
                first = Some(first.map_or(at, |f: chrono::DateTime<Utc>| f.min(at)));
                last = last.max(Some(at));
            }
            other => problems.push(format!("event {i}: {other:?}")),
        }
        let id = InvoiceId::parse(id).expect("invoice id");
        let stored = store.invoice(&id).await.expect("read").expect("invoice");
        let payments: Vec<_> = stored
            .entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::Payment { .. }))
            .collect();
        let balance = balance(&stored.invoice.total, &stored.entries).expect("balance");
        match payments.as_slice() {
            [p] if p.amount == stored.invoice.total && balance.amount_due.is_zero() => paid += 1,
            _ => problems.push(format!(
                "invoice {id}: {} payments, {} due",
                payments.len(),
                balance.amount_due
            )),
        }
    }
    // The rate the server applied them at: from the first event received to the last (wrk
    // reports its whole fixed duration, not when the last answer came).
    let span = match (first, last) {
        (Some(a), Some(b)) => (b - a).as_seconds_f64(),
        _ => 0.0,
    };
    println!(
        "{}",
        json!({
            "events": n, "applied_once": applied, "invoices_paid_once": paid,
            "problems": problems.len(), "applied_span_s": span,
            "events_per_s": if span > 0.0 { (applied.saturating_sub(1)) as f64 / span } else { 0.0 },
        })
    );
    if !problems.is_empty() || applied != n || paid != n {
        for p in problems.iter().take(10) {
            eprintln!("{p}");
        }
        std::process::exit(1);
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = |i: usize| args.get(i).and_then(|a| a.parse::<usize>().ok());
    match (
        args.get(1).map(String::as_str),
        args.get(2),
        n(3),
        args.get(4),
    ) {
        (Some("prepare"), Some(dir), Some(n), Some(secret)) => prepare(dir, n, secret).await,
        (Some("check"), Some(dir), Some(n), None) => check(dir, n).await,
        _ => {
            eprintln!("usage: load-bench prepare DIR N SECRET | load-bench check DIR N");
            std::process::exit(2);
        }
    }
}
