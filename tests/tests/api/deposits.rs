//! Deposits, budgets and retainers, and the deposit check.

use super::helpers::*;

/// A new client asked for a fixed deposit: the deposit invoice comes with the client, the
/// first order is refused until it is paid, a webhook pays it, the client is active at
/// once (recorded by the deposit check, once), and the deposit is brought onto the first
/// invoice; the next invoice is on credit as usual.
async fn a_new_client_pays_a_deposit_by_webhook(t: TestApp) {
    t.set_now("2026-11-23T13:00:00Z"); // Monday 10:00 in Santiago
    let email = unique_email("deposito");
    let created = t
        .post(
            "/v1/clients",
            &json!({"name": "Ferretería Norte", "email": email, "timezone": "America/Santiago",
                "deposit": {"amount": "200000", "currency": "CLP"}}),
            Some("client-deposit-1"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    assert_eq!(created.body["status"], "pending_deposit", "{}", created.raw);
    let deposit = &created.body["open_deposit"];
    assert_eq!(
        (
            deposit["amount"].as_str(),
            deposit["currency"].as_str(),
            deposit["due_date"].as_str()
        ),
        (Some("200000"), Some("CLP"), Some("2026-11-26")),
        "{}",
        created.raw
    );
    assert!(deposit["pay_url"].as_str().unwrap().contains("/pay/"));
    let dep_id = deposit["invoice_id"].as_str().unwrap().to_string();
    let cid = created.body["id"].as_str().unwrap().to_string();
    // A retry with the same key replays the answer: one client, one deposit.
    let again = t
        .post(
            "/v1/clients",
            &json!({"name": "Ferretería Norte", "email": email, "timezone": "America/Santiago",
                "deposit": {"amount": "200000", "currency": "CLP"}}),
            Some("client-deposit-1"),
        )
        .await;
    assert!(again.replayed);
    assert_eq!(again.body["open_deposit"]["invoice_id"], dep_id.as_str());
    let mails = t.mails_to(&email).await;
    assert_eq!(mails.len(), 1, "the deposit invoice was e-mailed once");
    assert!(
        parsed(&mails[0]).1.contains("200.000"),
        "{}",
        parsed(&mails[0]).1
    );
    let dep = t.invoice(&dep_id).await;
    assert_eq!(dep["purpose"], "deposit", "{dep}");
    // Its pay page asks for the deposit, and offers no promise or plan.
    let page = visit(deposit["pay_url"].as_str().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("200.000"), "{}", page.body);
    assert!(!page.body.contains("promise-form"), "{}", page.body);

    // The first order waits for the deposit: 409 naming it, nothing written.
    let order = json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-31",
        "lines": [{"description": "Herramientas", "quantity": "1", "unit_amount": "500000"}]});
    let refused = t.post("/v1/invoices", &order, Some("order-1")).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.raw);
    assert!(refused.raw.contains("deposit-required"), "{}", refused.raw);
    assert_eq!(refused.body["deposit"]["invoice_id"], dep_id.as_str());
    assert_eq!(refused.body["deposit"]["reason"], "new-client");
    let listed = t.get(&format!("/v1/clients/{cid}/invoices")).await.body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);

    // Paid by a provider webhook: active at once.
    let pay = json!({"type": "payment.succeeded", "data": {"invoice_id": dep_id, "payment_id": "tr_dep_1", "amount": "200000", "currency": "CLP"}});
    assert_eq!(
        t.standard("msg_dep_1", &pay).await.body["outcome"],
        "applied"
    );
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["status"], "active", "{client}");
    assert_eq!(
        client["credit"],
        json!([{"amount": "200000", "currency": "CLP"}])
    );
    assert!(client.get("open_deposit").is_none(), "{client}");
    // The deposit check records it, once; the reminder sweep never sees deposits.
    let r = deposit_check_at(&t.app, "2026-11-23T14:00:00Z").await;
    assert_eq!((r.due, r.deposits_cleared), (1, 1), "{r:?}");
    let r = deposit_check_at(&t.app, "2026-12-20T14:00:00Z").await;
    assert_eq!((r.due, r.deposits_cleared), (0, 0), "{r:?}");
    assert_eq!(sweep_at(&t.app, "2026-12-20T14:00:00Z").await.due, 0);

    // The first invoice, with the deposit brought onto it (the same key now succeeds:
    // the refusal was not recorded).
    let first = t.post("/v1/invoices", &order, Some("order-1")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
    assert_eq!(
        (
            first.body["amount_paid"].as_str(),
            first.body["amount_due"].as_str()
        ),
        (Some("200000"), Some("300000")),
        "{}",
        first.raw
    );
    let dep = t.invoice(&dep_id).await;
    assert_eq!(dep["status"], "paid", "{dep}");
    assert!(
        dep["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "deposit_applied" && e["amount"]["amount"] == "200000"),
        "{dep}"
    );
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["credit"], json!([]), "{client}");
    // No longer new: the next order is on credit, nothing held to apply.
    let second = t
        .post(
            "/v1/invoices",
            &json!({"client_id": cid, "currency": "CLP", "due_date": "2027-01-31",
                "lines": [{"description": "Pernos", "quantity": "1", "unit_amount": "100000"}]}),
            None,
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.raw);
    assert_eq!(second.body["amount_due"], "100000");
}

/// A percentage deposit asked for with the first order, never paid: the deposit check
/// reminds the client the day after its due date, then marks them overdue and tells the
/// business; paid late, the client is active again.
async fn an_unpaid_deposit_is_reminded_then_overdue(t: TestApp) {
    t.set_now("2026-11-23T13:00:00Z");
    let email = unique_email("sin-deposito");
    let created = t
        .post(
            "/v1/clients",
            &json!({"name": "Imprenta Andes", "email": email, "timezone": "America/Santiago",
                "deposit": {"percent": "30", "due_days": 2}}),
            None,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    assert_eq!(
        created.body["status"], "active",
        "a percentage waits for the order"
    );
    let cid = created.body["id"].as_str().unwrap().to_string();
    let order = json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-31",
        "lines": [{"description": "Folletos", "quantity": "2", "unit_amount": "500001"}]});
    let first = t.post("/v1/invoices", &order, None).await;
    assert_eq!(first.status, StatusCode::CONFLICT, "{}", first.raw);
    // 30 % of 1.000.002, in whole pesos.
    assert_eq!(first.body["deposit"]["amount"], "300001", "{}", first.raw);
    assert_eq!(first.body["deposit"]["due_date"], "2026-11-25");
    let dep_id = first.body["deposit"]["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Asked again: the same deposit, with a fresh pay link; still one deposit invoice.
    let second = t.post("/v1/invoices", &order, None).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.body["deposit"]["invoice_id"], dep_id.as_str());
    assert_ne!(
        second.body["deposit"]["pay_url"],
        first.body["deposit"]["pay_url"]
    );
    let listed = t.get(&format!("/v1/clients/{cid}/invoices")).await.body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["status"], "pending_deposit");
    assert_eq!(client["open_deposit"]["invoice_id"], dep_id.as_str());
    // A deposit takes no promise to pay.
    let promise = t
        .post(
            &format!("/v1/invoices/{dep_id}/promises"),
            &json!({"date": "2026-11-30"}),
            None,
        )
        .await;
    assert_eq!(promise.status, StatusCode::CONFLICT, "{}", promise.raw);
    assert!(promise.raw.contains("deposit"), "{}", promise.raw);

    // Checks twice a day: nothing to the client before the due date has passed.
    let mut log = Vec::new();
    let mut day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    while day <= chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap() {
        for hour in ["13:30", "22:00"] {
            let at = format!("{day}T{hour}:00Z");
            let r = deposit_check_at(&t.app, &at).await;
            if r.deposit_reminders + r.deposits_overdue > 0 {
                log.push((at.clone(), r.deposit_reminders, r.deposits_overdue));
            }
            assert_eq!(
                sweep_at(&t.app, &at).await.due,
                0,
                "the sweep never sees it"
            );
        }
        day = day.succ_opt().unwrap();
    }
    assert_eq!(
        log,
        [
            // The day after the due date (Wed 25th), from 09:00 Santiago.
            ("2026-11-26T13:30:00Z".to_string(), 1, 0),
            // Due date + 1 + 3 days: Sunday 29th is closed, so Monday.
            ("2026-11-30T13:30:00Z".to_string(), 0, 1),
        ]
    );
    let to_client = subjects(&t.mails_to(&email).await);
    assert!(
        to_client
            .iter()
            .any(|s| s.starts_with("Depósito pendiente")),
        "{to_client:?}"
    );
    let to_business = subjects(&t.business_notices().await);
    assert_eq!(to_business.len(), 1, "{to_business:?}");
    assert!(to_business[0].starts_with("Depósito vencido: Imprenta Andes"));
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["status"], "deposit_overdue", "{client}");
    let refused = t.post("/v1/invoices", &order, None).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    // The console's queue of deposits overdue has it, since the notice.
    use cobro_app::usecases::queues::{Queue, items};
    let (queued, more) = items(&t.app, Queue::OverdueDeposits).await.unwrap();
    let queued: Vec<_> = queued
        .iter()
        .map(|i| (i.row.listed.invoice.id.to_string(), i.since.to_rfc3339()))
        .collect();
    assert_eq!(
        (queued, more),
        (
            vec![(dep_id.clone(), "2026-11-30T13:30:00+00:00".to_string())],
            false
        )
    );

    // Paid late by hand: active again, recorded by the next check.
    t.set_now("2026-12-04T15:00:00Z");
    let paid = t
        .post(
            &format!("/v1/invoices/{dep_id}/payments"),
            &json!({"method": "transfer", "amount": "300001", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.raw);
    assert_eq!(
        t.get(&format!("/v1/clients/{cid}")).await.body["status"],
        "active"
    );
    let r = deposit_check_at(&t.app, "2026-12-04T16:00:00Z").await;
    assert_eq!(r.deposits_cleared, 1, "{r:?}");
    let issued = t.post("/v1/invoices", &order, None).await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.raw);
    assert_eq!(issued.body["amount_due"], "700001");
    // Paid: out of the queue.
    let (queued, _) = items(&t.app, Queue::OverdueDeposits).await.unwrap();
    assert!(queued.is_empty());
}

/// A deposit paid before the client existed in cobro (a bank transfer carrying the
/// payer's RUT, handled while the business was still typing the client in) waits in the
/// unmatched queue; the deposit check applies it once the deposit exists, and the client
/// is active. A payment from someone else stays in the queue.
async fn an_early_payment_activates_its_deposit(t: TestApp) {
    t.set_now("2026-11-23T13:00:00Z");
    let early = json!({"type": "payment.succeeded", "data": {"payment_reference": "76.543.210-k", "payment_id": "tr_early", "amount": "150000", "currency": "CLP"}});
    assert_eq!(
        t.standard("msg_early", &early).await.body["outcome"],
        "unmatched"
    );
    let other = json!({"type": "payment.succeeded", "data": {"payment_reference": "11.111.111-1", "payment_id": "tr_other", "amount": "150000", "currency": "CLP"}});
    assert_eq!(
        t.standard("msg_other", &other).await.body["outcome"],
        "unmatched"
    );
    let email = unique_email("anticipado");
    let created = t
        .post(
            "/v1/clients",
            &json!({"name": "Café Puerto", "email": email, "tax_id": "76543210-K",
                "deposit": {"amount": "150000", "currency": "CLP"}}),
            None,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    let cid = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body["status"], "pending_deposit");
    let r = deposit_check_at(&t.app, "2026-11-23T13:05:00Z").await;
    assert_eq!((r.deposits_matched, r.deposits_cleared), (1, 1), "{r:?}");
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["status"], "active", "{client}");
    let queue = t.get("/v1/unmatched").await.body;
    assert!(
        !queue.to_string().contains("tr_early") && queue.to_string().contains("tr_other"),
        "it left the queue, the other stayed: {queue}"
    );
    // Nothing more to do, and a second check changes nothing.
    let r = deposit_check_at(&t.app, "2026-11-30T13:05:00Z").await;
    assert_eq!((r.due, r.deposits_matched), (0, 0), "{r:?}");
}

/// Bad deposits and budgets are refused by field; a retainer is held against the budget
/// and brought onto the invoice that reaches it; invoices over the budget wait for the
/// business to raise it.
async fn deposits_budgets_and_bad_input(t: TestApp) {
    t.set_now("2026-11-23T13:00:00Z");
    let before = t.get("/v1/clients?limit=100").await.body["data"]
        .as_array()
        .unwrap()
        .len();
    let email = unique_email("malo");
    for (deposit, extra, field) in [
        (json!({"percent": "-5"}), json!({}), "deposit.percent"),
        (json!({"percent": "150"}), json!({}), "deposit.percent"),
        (
            json!({"percent": "10", "amount": "5", "currency": "CLP"}),
            json!({}),
            "deposit",
        ),
        (
            json!({"amount": "-1", "currency": "CLP"}),
            json!({}),
            "deposit.amount",
        ),
        (
            json!({"amount": "10.5", "currency": "CLP"}),
            json!({}),
            "deposit.amount",
        ),
        (
            json!({"percent": "10", "hold": "escrow"}),
            json!({}),
            "deposit.hold",
        ),
        (
            json!({"amount": "100", "currency": "USD"}),
            json!({"credit_limit": {"amount": "500000", "currency": "CLP"}}),
            "deposit.currency",
        ),
        (
            json!({"percent": "10"}),
            json!({"credit_limit": {"amount": "500000", "currency": "CLP"}, "budget": {"amount": "900", "currency": "USD"}}),
            "budget.currency",
        ),
    ] {
        let mut body = json!({"name": "Malo", "email": email, "deposit": deposit});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let a = t.post("/v1/clients", &body, None).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.raw
        );
        assert!(
            a.body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {}",
            a.raw
        );
    }
    let after = t.get("/v1/clients?limit=100").await.body["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "nothing written");

    // Simultaneous first orders of a new client: one deposit invoice, named by every answer.
    let racer = t
        .client(json!({"name": "Carrera", "email": unique_email("carrera"),
            "deposit": {"percent": "50"}}))
        .await;
    let body = json!({"client_id": racer, "currency": "CLP", "due_date": "2026-12-31",
        "lines": [{"description": "x", "quantity": "1", "unit_amount": "1000"}]});
    let answers =
        futures::future::join_all((0..4).map(|_| t.post("/v1/invoices", &body, None))).await;
    let named: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.raw);
            a.body["deposit"]["invoice_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(named.len(), 1, "{named:?}");
    let listed = t.get(&format!("/v1/clients/{racer}/invoices")).await.body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);

    // A CLP deposit: a first order in USD is refused on its currency.
    let clp = t
        .client(json!({"name": "Solo CLP", "email": unique_email("clp"),
            "deposit": {"amount": "50000", "currency": "CLP"}}))
        .await;
    let usd = t
        .post(
            "/v1/invoices",
            &json!({"client_id": clp, "currency": "USD", "due_date": "2026-12-31",
                "lines": [{"description": "x", "quantity": "1", "unit_amount": "10"}]}),
            None,
        )
        .await;
    assert_eq!(usd.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", usd.raw);
    assert!(usd.raw.contains("deposit is in CLP"), "{}", usd.raw);

    // A retainer of 20 % against a budget of 1.000.000.
    let cid = t
        .client(
            json!({"name": "Obra Larga", "email": unique_email("anticipo"),
            "deposit": {"percent": "20", "hold": "retainer"},
            "budget": {"amount": "1000000", "currency": "CLP"}}),
        )
        .await;
    let order = |amount: &str| {
        json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-31",
            "lines": [{"description": "Avance de obra", "quantity": "1", "unit_amount": amount}]})
    };
    let asked = t.post("/v1/invoices", &order("600000"), None).await;
    assert_eq!(asked.status, StatusCode::CONFLICT, "{}", asked.raw);
    assert_eq!(asked.body["deposit"]["amount"], "120000");
    let dep_id = asked.body["deposit"]["invoice_id"].as_str().unwrap();
    let paid = t
        .post(
            &format!("/v1/invoices/{dep_id}/payments"),
            &json!({"method": "cheque", "amount": "120000", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.raw);
    let first = t.post("/v1/invoices", &order("600000"), None).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
    assert_eq!(first.body["amount_due"], "600000", "the retainer is kept");
    let over = t.post("/v1/invoices", &order("500000"), None).await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{}", over.raw);
    assert!(over.raw.contains("over-budget"), "{}", over.raw);
    assert_eq!(over.body["budget"]["left"], "400000");
    let path = format!("/v1/clients/{cid}/budget");
    let budget = |body: Value| {
        let (t, path) = (&t, &path);
        async move { t.put(path, &body).await }
    };
    let low = budget(json!({"amount": "500000", "currency": "CLP"})).await;
    assert_eq!(low.status, StatusCode::CONFLICT, "{}", low.raw);
    assert!(low.raw.contains("budget-below-invoiced"));
    let wrong = budget(json!({"amount": "2000", "currency": "USD"})).await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.raw
    );
    let zero = budget(json!({"amount": "0", "currency": "CLP"})).await;
    assert_eq!(
        zero.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        zero.raw
    );
    let nobody = t
        .put(
            "/v1/clients/cli_00000000000000000000000000/budget",
            &json!({"amount": "1", "currency": "CLP"}),
        )
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND, "{}", nobody.raw);
    let raised = budget(json!({"amount": "1100000", "currency": "CLP"})).await;
    assert_eq!(raised.status, StatusCode::OK, "{}", raised.raw);
    assert_eq!(raised.body["budget"]["amount"], "1100000");
    // The invoice that reaches the budget gets the retainer.
    let last = t.post("/v1/invoices", &order("500000"), None).await;
    assert_eq!(last.status, StatusCode::CREATED, "{}", last.raw);
    assert_eq!(last.body["amount_due"], "380000", "{}", last.raw);
}

/// The business's default deposit (30 %) for every new client unless waived, and
/// restricted tiers asked to prepay the whole invoice instead of being refused.
async fn deposit_policies_from_config(backend: Backend) {
    let t = spawn_with(backend, |c| {
        c.deposit_policy.terms = Some(cobro_domain::deposit::DepositTerms {
            rule: cobro_domain::deposit::DepositRule::Percent(30.into()),
            due_days: 3,
            overdue_after_days: 3,
            hold: cobro_domain::deposit::Hold::Credit,
        });
        c.credit_policy.restrict_tiers = vec![cobro_domain::standing::Tier::B];
        c.credit_policy.restricted = cobro_domain::standing::Restricted::Prepay;
    })
    .await;
    t.set_now("2026-11-23T13:00:00Z");
    let order = |cid: &str| {
        json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-31",
            "lines": [{"description": "Servicio", "quantity": "1", "unit_amount": "100000"}]})
    };
    // A new client is in tier B (no history), which must prepay: 100 %.
    let cid = t
        .client(json!({"name": "Prepago", "email": unique_email("prepago")}))
        .await;
    let a = t.post("/v1/invoices", &order(&cid), None).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.raw);
    assert_eq!(
        (
            a.body["deposit"]["amount"].as_str(),
            a.body["deposit"]["reason"].as_str()
        ),
        (Some("100000"), Some("prepay")),
        "{}",
        a.raw
    );
    // Prepaid, the invoice is issued already paid.
    let dep = a.body["deposit"]["invoice_id"].as_str().unwrap();
    let paid = t
        .post(
            &format!("/v1/invoices/{dep}/payments"),
            &json!({"method": "transfer", "amount": "100000", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.raw);
    let issued = t.post("/v1/invoices", &order(&cid), None).await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.raw);
    assert_eq!(
        (
            issued.body["status"].as_str(),
            issued.body["amount_due"].as_str()
        ),
        (Some("paid"), Some("0"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposit_policies_from_config_sqlite() {
    deposit_policies_from_config(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposit_policies_from_config_dynamodb() {
    deposit_policies_from_config(Backend::Dynamo).await
}

on_both_stacks!(
    a_new_client_pays_a_deposit_by_webhook,
    an_unpaid_deposit_is_reminded_then_overdue,
    an_early_payment_activates_its_deposit,
    deposits_budgets_and_bad_input,
);
