//! Nothing lost: money an invoice did not need (void, or paid already) is the client's
//! credit, which the receipt and the business are told of; money given back is recorded
//! and told; and across any sequence of events every unit received is applied, credited,
//! queued or refunded.

use super::helpers::*;

fn money(v: &Value) -> i64 {
    v.as_str()
        .unwrap_or_else(|| panic!("not an amount: {v}"))
        .parse()
        .unwrap()
}

/// The one message to `to` whose subject contains `needle`.
async fn mail_about(t: &TestApp, to: &str, needle: &str) -> (String, String, String) {
    let found: Vec<_> = t
        .mails_to(to)
        .await
        .iter()
        .filter(|m| {
            let msg = MessageParser::default().parse(m.as_bytes()).unwrap();
            msg.to().and_then(|a| a.first()).and_then(|a| a.address()) == Some(to)
        })
        .map(|m| parsed(m))
        .filter(|(s, _, _)| s.contains(needle))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one message about {needle:?} to {to}: {found:#?}"
    );
    found.into_iter().next().unwrap()
}

async fn money_for_a_void_invoice_is_credit(t: TestApp) {
    let email = unique_email("void");
    let cid = t.client(json!({"name": "Pagadora", "email": email})).await;
    let inv = t
        .post("/v1/invoices", &clp_invoice(&cid, true), None)
        .await
        .body;
    let id = inv["id"].as_str().unwrap();
    let cid = inv["client_id"].as_str().unwrap();
    let pay = |amount: &str, reference: &str| json!({"method": "transfer", "amount": amount, "currency": "CLP", "reference": reference});
    let a = t
        .post(
            &format!("/v1/invoices/{id}/payments"),
            &pay("50000", "tr-1"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);

    // Voided with an internal note and a message for the client: only the message is sent.
    let a = t
        .post(
            &format!("/v1/invoices/{id}/void"),
            &json!({"reason": "tarifa mal cargada (interno)", "message": "Te enviaremos una factura corregida."}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(
        (a.body["status"].as_str(), money(&a.body["credit"])),
        (Some("void"), 50_000),
        "what was paid before the void is the client's credit"
    );
    let (subject, text, html) = mail_about(&t, &email, "anulada").await;
    assert!(
        subject.contains(inv["number"].as_str().unwrap()),
        "{subject}"
    );
    assert!(
        text.contains("Te enviaremos una factura corregida."),
        "{text}"
    );
    assert!(
        text.contains("$50.000") && text.contains("saldo a tu favor"),
        "{text}"
    );
    assert!(
        !text.contains("interno") && !html.contains("interno"),
        "{text}"
    );

    // Cash on the void invoice: recorded, credited, and everyone told what happened.
    let a = t
        .post(
            &format!("/v1/invoices/{id}/payments"),
            &json!({"method": "cash", "amount": "5000", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(
        (a.body["status"].as_str(), money(&a.body["credit"])),
        (Some("void"), 55_000)
    );
    let (subject, text, _) = mail_about(&t, &email, "$5.000").await;
    assert!(subject.contains("anulada"), "{subject}");
    assert!(!text.contains("pagada por completo"), "{text}");
    assert!(text.contains("$55.000"), "{text}");
    let business = t.app.config.business_email.clone();
    let (subject, text, _) = mail_about(&t, &business, "$5.000").await;
    assert!(
        subject.contains("anulada") && subject.contains("Pagadora"),
        "{subject}"
    );
    assert!(text.contains("$55.000"), "{text}");

    // A provider payment too.
    let a = t
        .stripe(&pi_succeeded("evt_void_1", "pi_void_1", id, 100), None)
        .await;
    assert_eq!(a.body["outcome"], "applied", "{}", a.raw);
    assert_eq!(money(&t.invoice(id).await["credit"]), 55_100);
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["credit"][0]["amount"], "55100", "{client}");

    // Giving some back: at most what the invoice holds; the client is told.
    let a = t
        .post(
            &format!("/v1/invoices/{id}/refunds"),
            &json!({"method": "transfer", "amount": "60000", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.raw);
    assert!(
        a.raw.contains("amount") && a.raw.contains("$55.100"),
        "{}",
        a.raw
    );
    let a = t
        .post(
            &format!("/v1/invoices/{id}/refunds"),
            &json!({"method": "transfer", "amount": "100", "currency": "CLP", "reference": "dev-1"}),
            Some("refund-dev-1"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(
        (money(&a.body["credit"]), money(&a.body["amount_refunded"])),
        (55_000, 100)
    );
    let (_, text, _) = mail_about(&t, &email, "Te devolvimos $100").await;
    assert!(text.contains("$55.000"), "{text}");
    let again = t
        .post(
            &format!("/v1/invoices/{id}/refunds"),
            &json!({"method": "transfer", "amount": "100", "currency": "CLP", "reference": "dev-1"}),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "the same refund twice");

    // The credit goes onto the client's next invoice.
    let a = t.post("/v1/invoices", &clp_invoice(cid, false), None).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(money(&a.body["amount_due"]), 178_464 - 55_000);
    assert_eq!(money(&t.invoice(id).await["credit"]), 0);
}

/// One thing that can happen to the client's money.
#[derive(Debug, Clone)]
enum Step {
    /// A payment by hand on invoice `i`.
    Manual(usize, i64),
    /// A provider's payment on invoice `i`.
    Webhook(usize, i64),
    /// A provider's payment in dollars on invoice `i` (a CLP invoice): queued.
    Dollars(usize, i64),
    /// A transfer quoting a reference nobody issued: queued.
    Unknown(i64),
    Void(usize),
    /// Money given back by hand (refused when the invoice holds less).
    Refund(usize, i64),
    /// A new invoice for the client (it takes their credit).
    Invoice,
}

fn steps() -> impl proptest::strategy::Strategy<Value = Vec<Step>> {
    use proptest::prelude::*;
    let step = prop_oneof![
        3 => (0..4usize, 1..200_000i64).prop_map(|(i, a)| Step::Manual(i, a)),
        3 => (0..4usize, 1..200_000i64).prop_map(|(i, a)| Step::Webhook(i, a)),
        1 => (0..4usize, 1..5_000i64).prop_map(|(i, a)| Step::Dollars(i, a)),
        1 => (1..50_000i64).prop_map(Step::Unknown),
        2 => (0..4usize).prop_map(Step::Void),
        2 => (0..4usize, 1..100_000i64).prop_map(|(i, a)| Step::Refund(i, a)),
        1 => Just(Step::Invoice),
    ];
    proptest::collection::vec(step, 1..10)
}

/// Runs `steps` for a new client and checks where every peso and dollar went.
async fn run_steps(t: &TestApp, case: usize, steps: &[Step]) {
    let (_, first) = new_clp_invoice(t, &format!("case{case}")).await;
    let cid = first["client_id"].as_str().unwrap().to_string();
    let mut invoices = vec![first["id"].as_str().unwrap().to_string()];
    let (mut pesos, mut dollars) = (0i64, 0i64);
    let mut events = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let pick = |i: &usize| invoices[i % invoices.len()].clone();
        let event = format!("msg_{case}_{n}_{}", cid.trim_start_matches("cli_"));
        match step {
            Step::Manual(i, amount) => {
                let a = t
                    .post(
                        &format!("/v1/invoices/{}/payments", pick(i)),
                        &json!({"method": "cash", "amount": amount.to_string(), "currency": "CLP"}),
                        None,
                    )
                    .await;
                assert_eq!(a.status, StatusCode::CREATED, "{step:?}: {}", a.raw);
                pesos += amount;
            }
            Step::Webhook(i, amount) => {
                let body = json!({"type": "payment.succeeded", "data": {"invoice_id": pick(i), "payment_id": event, "amount": amount.to_string(), "currency": "CLP"}});
                let a = t.standard(&event, &body).await;
                assert_eq!(a.body["outcome"], "applied", "{step:?}: {}", a.raw);
                pesos += amount;
            }
            Step::Dollars(i, cents) => {
                let amount = format!("{}.{:02}", cents / 100, cents % 100);
                let body = json!({"type": "payment.succeeded", "data": {"invoice_id": pick(i), "payment_id": event, "amount": amount, "currency": "USD"}});
                let a = t.standard(&event, &body).await;
                assert_eq!(a.body["outcome"], "unmatched", "{step:?}: {}", a.raw);
                dollars += cents;
                events.push(event);
            }
            Step::Unknown(amount) => {
                let body = json!({"type": "payment.succeeded", "data": {"payment_reference": "RF18 5390 0754 7034", "payment_id": event, "amount": amount.to_string(), "currency": "CLP"}});
                let a = t.standard(&event, &body).await;
                assert_eq!(a.body["outcome"], "unmatched", "{step:?}: {}", a.raw);
                pesos += amount;
                events.push(event);
            }
            Step::Void(i) => {
                let a = t
                    .post(&format!("/v1/invoices/{}/void", pick(i)), &json!({}), None)
                    .await;
                assert!(
                    a.status == StatusCode::OK || a.status == StatusCode::CONFLICT,
                    "{step:?}: {}",
                    a.raw
                );
            }
            Step::Refund(i, amount) => {
                let a = t
                    .post(
                        &format!("/v1/invoices/{}/refunds", pick(i)),
                        &json!({"method": "transfer", "amount": amount.to_string(), "currency": "CLP"}),
                        None,
                    )
                    .await;
                assert!(
                    a.status == StatusCode::CREATED || a.status == StatusCode::UNPROCESSABLE_ENTITY,
                    "{step:?}: {}",
                    a.raw
                );
            }
            Step::Invoice => {
                let a = t
                    .post("/v1/invoices", &clp_invoice(&cid, false), None)
                    .await;
                assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
                invoices.push(a.body["id"].as_str().unwrap().to_string());
            }
        }
    }
    // Where it went, read back through the API.
    let (mut applied, mut credited, mut refunded) = (0i64, 0i64, 0i64);
    for id in &invoices {
        let v = t.invoice(id).await;
        let charged = money(&v["total"]) + money(&v["late_fees"]) - money(&v["discount"]);
        if v["status"] != "void" {
            applied += charged - money(&v["amount_due"]);
        }
        credited += money(&v["credit"]);
        refunded += money(&v["amount_refunded"]);
    }
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    let client_credit = client["credit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["currency"] == "CLP")
        .map(|c| money(&c["amount"]))
        .sum::<i64>();
    assert_eq!(
        client_credit, credited,
        "the client sees every invoice's credit: {client}"
    );
    let queue = t.get("/v1/unmatched?limit=100").await.body;
    let (mut queued_pesos, mut queued_cents) = (0i64, 0i64);
    for u in queue["data"].as_array().unwrap() {
        if !events.iter().any(|e| u["event_id"] == *e) {
            continue;
        }
        let amount = u["fact"]["amount"]["amount"].as_str().unwrap();
        match u["fact"]["amount"]["currency"].as_str() {
            Some("CLP") => queued_pesos += amount.parse::<i64>().unwrap(),
            _ => {
                let (units, cents) = amount.split_once('.').unwrap_or((amount, "00"));
                queued_cents += units.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap();
            }
        }
    }
    assert_eq!(
        applied + credited + refunded + queued_pesos,
        pesos,
        "pesos received = applied {applied} + credited {credited} + refunded {refunded} + queued {queued_pesos}; steps {steps:?}"
    );
    assert_eq!(
        queued_cents, dollars,
        "dollars received are queued; steps {steps:?}"
    );
}

/// For any sequence of payments, voids, refunds and new invoices, every unit received is
/// applied to a charge, the client's credit, given back, or queued for a person.
async fn every_unit_received_is_somewhere(t: TestApp) {
    use proptest::strategy::{Strategy, ValueTree};
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    // Voids and overpayments on purpose first, then arbitrary sequences.
    let mut cases = vec![
        vec![Step::Void(0), Step::Manual(0, 5), Step::Webhook(0, 100)],
        vec![
            Step::Manual(0, 100_000),
            Step::Void(0),
            Step::Invoice,
            Step::Refund(0, 1),
        ],
        vec![
            Step::Manual(0, 200_000),
            Step::Webhook(0, 1),
            Step::Refund(0, 21_537),
        ],
    ];
    for _ in 0..12 {
        cases.push(steps().new_tree(&mut runner).unwrap().current());
    }
    for (case, steps) in cases.iter().enumerate() {
        run_steps(&t, case, steps).await;
    }
}

on_both_stacks!(
    money_for_a_void_invoice_is_credit,
    every_unit_received_is_somewhere
);
