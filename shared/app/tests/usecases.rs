//! The use cases' rules, called directly (no HTTP), on the embedded SQLite store and the
//! local outbox: GIVEN a business's policy and a client, WHEN the finance team invoices
//! them, THEN the deposit, budget, credit-limit and tier rules hold, and a request retried
//! with the same idempotency record creates nothing twice.

// A test fails loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use cobro_app::usecases::deposits::DepositReason;
use cobro_app::usecases::issue::Issued;
use cobro_app::usecases::{Conflict, Error, deposits, invoicing, ledgers, payments};
use cobro_app::{App, Config};
use cobro_domain::deposit::{DepositRule, DepositTerms, Hold};
use cobro_domain::invoice::{NewLine, Purpose};
use cobro_domain::standing::{Restricted, Tier};
use cobro_domain::{Actor, AmountInput, Client, Currency, Invoice, Money, NewClient, NewInvoice};
use cobro_notify::OutboxMailer;
use cobro_store::{IdempotencyRecord, SqliteStore, StoredInvoice};
use rust_decimal::Decimal;

const NOW: &str = "2026-11-23T15:00:00Z";

fn clp(amount: i64) -> Money {
    Money::new(Decimal::from(amount), Currency::parse("CLP").unwrap()).unwrap()
}

/// A business on SQLite with its clock fixed at [`NOW`]; `policy` changes its settings.
fn app(dir: &tempfile::TempDir, policy: impl FnOnce(&mut Config)) -> App {
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = dir.path().to_path_buf();
    config.business_name = "Estudio Sur".into();
    config.from_email = "Estudio Sur <cobros@estudiosur.cl>".into();
    policy(&mut config);
    let now: DateTime<Utc> = NOW.parse().unwrap();
    App::new(
        Arc::new(SqliteStore::open(dir.path()).unwrap()),
        Arc::new(OutboxMailer::new(dir.path())),
        config,
    )
    .with_clock(Arc::new(move || now))
}

fn new_client(name: &str) -> NewClient {
    NewClient {
        name: name.into(),
        email: format!("{}@cliente.cl", name.to_lowercase()),
        phone: None,
        locale: Some("es".into()),
        timezone: Some("America/Santiago".into()),
        tax_id: None,
        country: None,
        duplicate_tax_id: false,
        credit_limit: None,
        terms: None,
        deposit: None,
        budget: None,
    }
}

fn no_record(_: &Client, _: Option<(&Invoice, &str)>) -> Option<IdempotencyRecord> {
    None
}

fn no_answer(_: &StoredInvoice, _: &str) -> Option<IdempotencyRecord> {
    None
}

async fn client(app: &App, input: NewClient) -> Client {
    invoicing::create_client(app, &Actor::Cobro, &input, &no_record)
        .await
        .unwrap()
        .client
}

/// An order of `amount` CLP (no tax), due a month later.
fn order(client: &Client, amount: i64) -> NewInvoice {
    NewInvoice {
        client_id: client.id.to_string(),
        currency: "CLP".into(),
        lines: vec![NewLine {
            description: "Diseño de logo".into(),
            quantity: Decimal::ONE,
            unit_amount: Decimal::from(amount),
        }],
        tax_rate: None,
        issue_date: None,
        due_date: NaiveDate::from_ymd_opt(2026, 12, 23),
        days_until_due: None,
        terms: None,
        send: false,
    }
}

async fn invoice(app: &App, client: &Client, amount: i64) -> Result<Issued, Error> {
    invoicing::create_invoice(app, &Actor::Cobro, &order(client, amount), &no_answer).await
}

fn conflict(r: Result<Issued, Error>) -> Conflict {
    match r {
        Err(Error::Conflict(c)) => *c,
        Err(other) => panic!("expected a conflict, got {other:?}"),
        Ok(i) => panic!("expected a conflict, got invoice {}", i.invoice.number),
    }
}

async fn deposits_of(app: &App, client: &Client) -> Vec<StoredInvoice> {
    ledgers::client_ledgers(app, &client.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.invoice.purpose == Purpose::Deposit)
        .collect()
}

#[tokio::test]
async fn a_new_client_is_asked_for_a_deposit_once_before_credit() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, |c| {
        c.deposit_policy.terms = Some(DepositTerms {
            rule: DepositRule::Percent(Decimal::from(30)),
            due_days: 3,
            overdue_after_days: 3,
            hold: Hold::Credit,
        });
    });
    let ana = client(&app, new_client("Ana")).await;
    // 30 % of 150.000 CLP is 45.000 CLP, asked for by a deposit invoice.
    let Conflict::DepositRequired(asked) = conflict(invoice(&app, &ana, 150_000).await) else {
        panic!("expected a deposit to be required");
    };
    assert_eq!(asked.amount, clp(45_000));
    assert_eq!(asked.reason, DepositReason::NewClient);
    assert_eq!(asked.invoice.total, clp(45_000));
    assert!(asked.pay_url.contains("/pay/"), "{}", asked.pay_url);
    // Asking again points to the same deposit invoice, with a fresh link: never a second.
    let Conflict::DepositRequired(again) = conflict(invoice(&app, &ana, 150_000).await) else {
        panic!("expected a deposit to be required");
    };
    assert_eq!(again.invoice.id, asked.invoice.id);
    assert_ne!(again.pay_url, asked.pay_url);
    let held = deposits_of(&app, &ana).await;
    assert_eq!(held.len(), 1);
    // Nothing but the deposit was written.
    assert_eq!(
        ledgers::client_ledgers(&app, &ana.id).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_budget_caps_what_is_invoiced_until_it_is_raised() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, |_| {});
    let mut input = new_client("Beto");
    input.budget = Some(AmountInput {
        amount: Decimal::from(100_000),
        currency: "CLP".into(),
    });
    let beto = client(&app, input).await;
    invoice(&app, &beto, 60_000).await.unwrap();
    // Reaching the budget exactly is allowed; one peso over is not.
    assert!(matches!(
        conflict(invoice(&app, &beto, 40_001).await),
        Conflict::OverBudget { .. }
    ));
    let Conflict::OverBudget { invoiced, left, .. } = conflict(invoice(&app, &beto, 60_000).await)
    else {
        panic!("expected over budget");
    };
    assert_eq!((invoiced, left), (clp(60_000), clp(40_000)));
    // Below what was invoiced: refused; nothing changes.
    let low = AmountInput {
        amount: Decimal::from(50_000),
        currency: "CLP".into(),
    };
    match deposits::set_budget(&app, &Actor::Cobro, beto.id.as_str(), &low).await {
        Err(Error::Conflict(c)) => assert!(
            matches!(*c, Conflict::BudgetBelowInvoiced { invoiced } if invoiced == clp(60_000))
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // In another currency: a bad value, by field.
    let usd = AmountInput {
        amount: Decimal::from(500),
        currency: "USD".into(),
    };
    match deposits::set_budget(&app, &Actor::Cobro, beto.id.as_str(), &usd).await {
        Err(Error::Invalid(e)) => assert_eq!(e.errors[0].field, "budget.currency"),
        other => panic!("expected invalid, got {other:?}"),
    }
    let raised = AmountInput {
        amount: Decimal::from(120_000),
        currency: "CLP".into(),
    };
    let after = deposits::set_budget(&app, &Actor::Cobro, beto.id.as_str(), &raised)
        .await
        .unwrap();
    assert_eq!(after.budget, Some(clp(120_000)));
    invoice(&app, &beto, 60_000).await.unwrap();
}

#[tokio::test]
async fn a_credit_limit_refuses_what_would_exceed_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, |_| {});
    let mut input = new_client("Carla");
    input.credit_limit = Some(AmountInput {
        amount: Decimal::from(100_000),
        currency: "CLP".into(),
    });
    let carla = client(&app, input).await;
    invoice(&app, &carla, 80_000).await.unwrap();
    let Conflict::OverCreditLimit {
        owed, left, total, ..
    } = conflict(invoice(&app, &carla, 30_000).await)
    else {
        panic!("expected over the credit limit");
    };
    assert_eq!((owed, left, total), (clp(80_000), clp(20_000), clp(30_000)));
    // One peso over what is left is refused; exactly what is left is fine.
    assert!(matches!(
        conflict(invoice(&app, &carla, 20_001).await),
        Conflict::OverCreditLimit { .. }
    ));
    invoice(&app, &carla, 20_000).await.unwrap();
    // Another currency than the limit's is a bad value.
    let mut usd = order(&carla, 10);
    usd.currency = "USD".into();
    match invoicing::create_invoice(&app, &Actor::Cobro, &usd, &no_answer).await {
        Err(Error::Invalid(e)) => assert_eq!(e.errors[0].field, "currency"),
        other => panic!(
            "expected invalid, got {:?}",
            other.map(|i| i.invoice.number)
        ),
    }
}

#[tokio::test]
async fn a_restricted_tier_is_refused_or_asked_to_prepay() {
    let every_tier = vec![Tier::A, Tier::B, Tier::C, Tier::D];
    let dir = tempfile::tempdir().unwrap();
    let tiers = every_tier.clone();
    let refuse = app(&dir, move |c| {
        c.credit_policy.restrict_tiers = tiers;
        c.credit_policy.restricted = Restricted::Refuse;
    });
    let dani = client(&refuse, new_client("Dani")).await;
    let Conflict::RestrictedTier(standing) = conflict(invoice(&refuse, &dani, 10_000).await) else {
        panic!("expected a restricted tier");
    };
    assert!(every_tier.contains(&standing.tier));
    assert!(
        ledgers::client_ledgers(&refuse, &dani.id)
            .await
            .unwrap()
            .is_empty()
    );

    let dir = tempfile::tempdir().unwrap();
    let prepay = app(&dir, move |c| {
        c.credit_policy.restrict_tiers = every_tier;
        c.credit_policy.restricted = Restricted::Prepay;
    });
    let eva = client(&prepay, new_client("Eva")).await;
    let Conflict::DepositRequired(asked) = conflict(invoice(&prepay, &eva, 10_000).await) else {
        panic!("expected a prepayment");
    };
    assert_eq!(
        (asked.amount, asked.reason),
        (clp(10_000), DepositReason::Prepay)
    );
}

#[tokio::test]
async fn a_retried_request_creates_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, |_| {});
    let fede = client(&app, new_client("Fede")).await;
    let now: DateTime<Utc> = NOW.parse().unwrap();
    let record = |_: &StoredInvoice, _: &str| {
        Some(IdempotencyRecord {
            key: "tests:invoice-1".into(),
            fingerprint: "same request".into(),
            status: 201,
            body: "{}".into(),
            created_at: now,
            expires_at: now + chrono::Duration::hours(24),
        })
    };
    let first = invoicing::create_invoice(&app, &Actor::Cobro, &order(&fede, 50_000), &record)
        .await
        .unwrap();
    // The second write of the same record loses: it is told to answer what the first did.
    let second =
        invoicing::create_invoice(&app, &Actor::Cobro, &order(&fede, 50_000), &record).await;
    assert!(
        matches!(&second, Err(e) if e.is_idempotency_race()),
        "{:?}",
        second.map(|i| i.invoice.number)
    );
    let all = ledgers::client_ledgers(&app, &fede.id).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].invoice.id, first.invoice.id);

    // A manual payment with the same reference is recorded once.
    let cash = || payments::ManualPayment {
        method: "cash".into(),
        amount: Decimal::from(20_000),
        currency: "CLP".into(),
        reference: Some("recibo-17".into()),
    };
    let id = first.invoice.id.as_str();
    let paid = payments::record_manual(
        &app,
        &Actor::Cobro,
        id,
        cash(),
        payments::Direction::Received,
        &cobro_app::usecases::nothing,
    )
    .await
    .unwrap();
    assert_eq!(paid.entries.len(), 2);
    match payments::record_manual(
        &app,
        &Actor::Cobro,
        id,
        cash(),
        payments::Direction::Received,
        &cobro_app::usecases::nothing,
    )
    .await
    {
        Err(Error::Conflict(c)) => assert!(matches!(*c, Conflict::DuplicatePayment)),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    let stored = invoicing::invoice(&app, id).await.unwrap();
    assert_eq!(stored.entries.len(), 2);
}
