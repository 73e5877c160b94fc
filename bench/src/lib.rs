//! What the benchmark binaries share: the fixtures they fill stores with.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use cobro_domain::ledger::{EntryKind, LedgerEntry};
use cobro_domain::{Client, ClientId, Invoice, InvoiceId, NewClient, NewInvoice, Terms, secret};
use cobro_store::{NewInvoiceWrite, PayToken};
use rust_decimal::Decimal;

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

pub fn client(i: usize) -> Client {
    NewClient {
        name: format!("Cliente {i}"),
        email: format!("pagos{i}@cliente.cl"),
        ..Default::default()
    }
    .validate(ClientId::generate(), at("2026-11-01T12:00:00Z"))
    .expect("client")
}

/// CLP 100.000 issued Nov 2nd, due Dec 1st: the −7 reminder is due Nov 24th, 09:00 Santiago.
pub fn invoice(client: &ClientId, seq: u64) -> Invoice {
    NewInvoice {
        client_id: client.to_string(),
        currency: "CLP".into(),
        lines: vec![cobro_domain::invoice::NewLine {
            description: "Mantención mensual".into(),
            quantity: Decimal::ONE,
            unit_amount: Decimal::from(100_000),
        }],
        tax_rate: None,
        issue_date: Some(NaiveDate::from_ymd_opt(2026, 11, 2).expect("date")),
        due_date: NaiveDate::from_ymd_opt(2026, 12, 1),
        days_until_due: None,
        terms: None,
        // E-mailed when issued, so it is chased (an invoice never sent is not).
        send: true,
    }
    .validate(
        NaiveDate::from_ymd_opt(2026, 11, 2).expect("date"),
        &Terms::default(),
    )
    .expect("invoice")
    .issue(
        InvoiceId::generate(),
        seq,
        "F-",
        chrono_tz::America::Santiago,
        at("2026-11-02T12:00:00Z"),
    )
}

pub fn write(inv: Invoice, next_action_at: DateTime<Utc>) -> NewInvoiceWrite {
    let token = secret::new_pay_token();
    NewInvoiceWrite {
        entries: vec![LedgerEntry {
            seq: 1,
            kind: EntryKind::Charge,
            amount: inv.total,
            at: inv.created_at,
            key: Some("charge".into()),
            by: None,
        }],
        pay_token: PayToken {
            digest: token.digest(),
            client_id: inv.client_id.clone(),
            invoice_id: inv.id.clone(),
            created_at: inv.created_at,
            expires_at: inv.created_at + Duration::days(90),
            revoked_at: None,
        },
        idempotency: None,
        other_entries: vec![],
        other_listings: Vec::new(),
        audit: Vec::new(),
        next_action_at: Some(next_action_at),
        new_client: None,
        invoice: inv,
    }
}
