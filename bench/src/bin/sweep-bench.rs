//! Dunning benchmarks (issue 4), printed as JSON:
//!
//! - `sweep-bench sweep TOTAL DUE`: an embedded store holding TOTAL invoices of which DUE
//!   have a reminder due; one sweep over it, through the real path (agenda query, claim,
//!   message rendered and written to the outbox, stage recorded): time and items read.
//! - `sweep-bench render N`: planning + rendering (plan, reminder text + HTML, RFC 5322)
//!   of N invoices on one thread, in invoices per second.

use std::sync::Arc;
use std::time::Instant;

use cobro_app::{App, Config};
use cobro_bench::{at, client, invoice, write};
use cobro_domain::ledger::{EntryKind, LedgerEntry};
use cobro_domain::{Client, Invoice};
use cobro_notify::{OutboxMailer, Reminder, ReminderFacts, Tone};
use cobro_store::{NewInvoiceWrite, SqliteStore};

async fn sweep(total: usize, due: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("store");
    let setup = Instant::now();
    // The due invoices each have their own client (one message per client per day); the
    // rest share one and are due next week.
    let clients: Vec<Client> = (0..due.max(1)).map(client).collect();
    let (now, later) = (at("2026-11-24T12:00:00Z"), at("2026-11-30T12:00:00Z"));
    let mut seq = 0u64;
    let mut first = Some(clients.clone());
    while (seq as usize) < total {
        let chunk = (total - seq as usize).min(50_000);
        let writes: Vec<NewInvoiceWrite> = (0..chunk)
            .map(|_| {
                seq += 1;
                let i = seq as usize - 1;
                let (c, when) = if i < due {
                    (&clients[i], now)
                } else {
                    (&clients[0], later)
                };
                write(invoice(&c.id, seq), when)
            })
            .collect();
        store
            .import(first.take().unwrap_or_default(), writes)
            .await
            .expect("import");
    }
    let setup_s = setup.elapsed().as_secs_f64();
    let mut config = Config::from_lookup(|_| None).expect("config");
    config.data_dir = dir.path().to_path_buf();
    // The dunning alone (the weekly summary would be due at this Tuesday's `now`).
    config.weekly_summary = false;
    let app = App::new(
        Arc::new(store),
        Arc::new(OutboxMailer::new(dir.path())),
        config,
    );
    let start = Instant::now();
    let report = cobro_app::usecases::sweep::sweep(&app, now, None)
        .await
        .expect("sweep");
    let secs = start.elapsed().as_secs_f64();
    let db = std::fs::metadata(dir.path().join("cobro.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "{}",
        serde_json::json!({
            "invoices": total, "due": due, "setup_s": setup_s, "db_mb": db / 1_000_000,
            "sweep_s": secs, "agenda_entries_read": report.due, "invoices_read": report.invoices_read,
            "reminders_sent": report.reminders, "ms_per_due_invoice": secs * 1000.0 / due as f64,
        })
    );
}

fn render(n: usize) {
    let c = client(0);
    let invoices: Vec<Invoice> = (0..n).map(|i| invoice(&c.id, i as u64 + 1)).collect();
    let now = at("2026-11-24T12:00:00Z");
    let mut messages = 0usize;
    let start = Instant::now();
    for inv in &invoices {
        let entries = [LedgerEntry {
            seq: 1,
            kind: EntryKind::Charge,
            amount: inv.total,
            at: inv.created_at,
            key: Some("charge".into()),
            by: None,
        }];
        let next = cobro_domain::dunning::plan(inv, &entries, &[], now)
            .expect("plan")
            .expect("an action");
        let zero = cobro_domain::Money::zero(inv.currency);
        let m = Reminder::new(ReminderFacts {
            sender: &cobro_notify::Sender {
                name: "Estudio Sur".into(),
                ..Default::default()
            },
            client: &c,
            invoice: inv,
            amount_due: &inv.total,
            late_fees: &zero,
            today: cobro_domain::today_in(inv.timezone, next.at),
            pay_url: "https://pagar.example.cl/pay/AbCdEfGhIjKlMnOpQrStUvWxYz012345",
            tone: Tone::Upcoming,
            fee: None,
            escalation_date: None,
            arrangement: None,
            due_date: inv.due_date,
            discount: None,
        });
        let email = m
            .email("Estudio Sur <cobros@estudiosur.cl>", &c, inv.id.as_str())
            .expect("email");
        messages += email.to_rfc5322().expect("rfc5322").len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"invoices": n, "seconds": secs, "invoices_per_s": n as f64 / secs, "bytes": messages})
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize| args.get(i).and_then(|a| a.parse::<usize>().ok());
    match (args.get(1).map(String::as_str), num(2), num(3)) {
        (Some("sweep"), Some(total), Some(due)) if due <= total => sweep(total, due).await,
        (Some("render"), Some(n), _) => render(n),
        _ => {
            eprintln!("usage: sweep-bench sweep TOTAL DUE | sweep-bench render N");
            std::process::exit(2);
        }
    }
}
