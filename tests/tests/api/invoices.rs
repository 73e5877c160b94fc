//! Invoices over HTTP: exact amounts, e-mail, idempotency, bad input, concurrency, manual payments.

use super::helpers::*;

/// The check of issue 2: a CLP invoice of 3 × 49.990 + 19 % is 178.464, e-mailed in
/// Spanish with a pay link and reference, and a retry with the same key creates nothing.
async fn clp_invoice_is_exact_emailed_and_idempotent(t: TestApp) {
    let email = unique_email("sol");
    let cid = t
        .client(json!({"name": "Panadería Sol", "email": email, "timezone": "America/Santiago"}))
        .await;
    let first = t
        .post("/v1/invoices", &clp_invoice(&cid, true), Some("factura-1"))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
    let inv = &first.body;
    assert_eq!(inv["total"], "178464");
    assert_eq!(inv["tax"], "28494");
    assert_eq!(inv["amount_due"], "178464");
    assert_eq!(inv["status"], "open");
    assert!(inv["number"].as_str().unwrap().starts_with("F-0000"));
    let pay_url = inv["pay_url"].as_str().unwrap();
    let token = pay_url
        .strip_prefix(&format!("{}/pay/", t.base))
        .expect("pay link format");
    assert!(cobro_domain::secret::looks_like_pay_token(token));

    // The token is stored hashed, scoped to the client, expiring in 90 days.
    let stored = t
        .store
        .pay_token(&cobro_domain::secret::digest(token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.invoice_id.as_str(), inv["id"].as_str().unwrap());
    assert_eq!(stored.client_id.as_str(), cid);
    assert_eq!((stored.expires_at - stored.created_at).num_days(), 90);

    // The e-mail: Spanish, with what, how much, when, where.
    let mails = t.mails_to(&email).await;
    assert_eq!(mails.len(), 1);
    let msg = MessageParser::default().parse(mails[0].as_bytes()).unwrap();
    let text = msg.body_text(0).unwrap().replace("\r\n", "\n");
    let html = msg.body_html(0).unwrap();
    assert!(
        msg.subject()
            .unwrap()
            .starts_with(&format!("Factura {}", inv["number"].as_str().unwrap()))
    );
    for body in [&text, &html.to_string()] {
        assert!(body.contains("$178.464"));
        assert!(body.contains("lunes, 7 de diciembre de 2026"));
        assert!(body.contains(pay_url));
        assert!(body.contains(inv["payment_reference_display"].as_str().unwrap()));
        assert!(body.contains("Diseño de logo"));
    }

    // A retry with the same key: the same answer, nothing new, no second e-mail.
    let again = t
        .post("/v1/invoices", &clp_invoice(&cid, true), Some("factura-1"))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert!(again.replayed);
    assert_eq!(again.body["id"], inv["id"]);
    assert_eq!(again.body, first.body);
    let listed = t.get(&format!("/v1/clients/{cid}/invoices")).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(t.mails_to(&email).await.len(), 1);

    // The same key with another body is refused and writes nothing.
    let mut other = clp_invoice(&cid, true);
    other["lines"][0]["quantity"] = json!(4);
    let reused = t.post("/v1/invoices", &other, Some("factura-1")).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reused.body["type"],
        "urn:cobro:problem:idempotency-key-reused"
    );
    assert_eq!(
        t.get(&format!("/v1/clients/{cid}/invoices")).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // "30 días": the due date counted from the issue date.
    let mut net30 = clp_invoice(&cid, false);
    net30.as_object_mut().unwrap().remove("due_date");
    net30["issue_date"] = json!("2026-12-20");
    net30["days_until_due"] = json!(30);
    let net30 = t.post("/v1/invoices", &net30, None).await;
    assert_eq!(net30.status, StatusCode::CREATED, "{}", net30.raw);
    assert_eq!(net30.body["due_date"], "2027-01-19");
    let listed = t.get(&format!("/v1/clients/{cid}/invoices")).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 2);
}

/// Each bad request gets a clear problem+json 4xx naming the field, and writes nothing.
async fn bad_input_is_refused_and_writes_nothing(t: TestApp) {
    let cid = t
        .client(json!({"name": "Cliente", "email": unique_email("bad")}))
        .await;
    let seq_before = t.store.last_invoice_seq().await.unwrap();
    let clients_before = t.get("/v1/clients?limit=100").await.body["data"]
        .as_array()
        .unwrap()
        .len();

    let base = clp_invoice(&cid, true);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        v
    };
    let line = base["lines"][0].clone();
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "unknown currency",
            with(&|v| v["currency"] = json!("XYZ")),
            422,
            "currency",
        ),
        (
            "CLP with decimals",
            with(&|v| v["lines"][0]["unit_amount"] = json!("1000.5")),
            422,
            "lines[0].unit_amount",
        ),
        (
            "zero quantity",
            with(&|v| v["lines"][0]["quantity"] = json!("0")),
            422,
            "lines[0].quantity",
        ),
        (
            "negative quantity",
            with(&|v| v["lines"][0]["quantity"] = json!(-2)),
            422,
            "lines[0].quantity",
        ),
        ("no lines", with(&|v| v["lines"] = json!([])), 422, "lines"),
        (
            "201 lines",
            with(&|v| v["lines"] = json!(vec![line.clone(); 201])),
            422,
            "lines",
        ),
        (
            "due before issue",
            with(&|v| v["due_date"] = json!("2026-11-22")),
            422,
            "due_date",
        ),
        (
            "unknown client",
            with(&|v| v["client_id"] = json!("cli_aaaaaaaaaaaaaaaaaaaaaaaaaa")),
            422,
            "client_id",
        ),
        (
            "not a client id",
            with(&|v| v["client_id"] = json!("bob")),
            422,
            "client_id",
        ),
        (
            "unknown field",
            with(&|v| v["discount"] = json!("5")),
            422,
            "discount",
        ),
        (
            "missing due date",
            with(&|v| {
                v.as_object_mut().unwrap().remove("due_date");
            }),
            422,
            "due_date",
        ),
        (
            "due date and days until due",
            with(&|v| v["days_until_due"] = json!(30)),
            422,
            "days_until_due",
        ),
        (
            "negative days until due",
            with(&|v| {
                v.as_object_mut().unwrap().remove("due_date");
                v["days_until_due"] = json!(-1);
            }),
            422,
            "days_until_due",
        ),
        (
            "amount not a number",
            with(&|v| v["lines"][0]["unit_amount"] = json!("mucho")),
            422,
            "lines[0].unit_amount",
        ),
        (
            // Dates at the end of the calendar once crashed the date arithmetic.
            "issued in a far year",
            with(&|v| {
                v["issue_date"] = json!("+262000-01-01");
                v["due_date"] = json!("+262000-01-05");
            }),
            422,
            "issue_date",
        ),
    ];
    for (name, body, status, field) in cases {
        let a = t
            .post(
                "/v1/invoices",
                &body,
                Some(&format!("bad-{}", name.replace(' ', "-"))),
            )
            .await;
        assert_eq!(a.status.as_u16(), status, "{name}: {}", a.raw);
        assert_eq!(a.content_type, "application/problem+json", "{name}");
        assert_eq!(a.body["type"], "urn:cobro:problem:validation", "{name}");
        let fields: Vec<&str> = a.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{name}: {fields:?}");
        assert!(a.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }

    // Malformed JSON: 400. Too large: 413. Wrong media type: 415.
    let raw = |body: Vec<u8>, ct: &str| {
        t.http
            .post(format!("{}/v1/invoices", t.base))
            .bearer_auth(&t.key)
            .header("content-type", ct)
            .body(body)
    };
    let a = t
        .send(raw(b"{\"client_id\": ".to_vec(), "application/json"))
        .await;
    assert_eq!(
        (a.status, a.body["type"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("urn:cobro:problem:malformed-request")
        )
    );
    let a = t
        .send(raw(vec![b' '; 256 * 1024 + 1], "application/json"))
        .await;
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "application/problem+json")
    );
    let a = t
        .send(raw(serde_json::to_vec(&base).unwrap(), "text/plain"))
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Clients: invalid e-mail, time zone, locale; all reported at once.
    let a = t.post("/v1/clients", &json!({"name": "X", "email": "no-at-sign", "timezone": "America/Atlantis", "locale": "fr"}), None).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = a.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "locale", "timezone"]);
    let a = t.post("/v1/clients", &json!({"name": "X", "email": "x@y.cl", "credit_limit": {"amount": "1.5", "currency": "CLP"}}), None).await;
    assert_eq!(a.body["errors"][0]["field"], "credit_limit.amount");
    let a = t
        .post("/v1/clients", &json!({"name": "X"}), Some("  "))
        .await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "a blank Idempotency-Key is malformed"
    );

    assert_eq!(
        t.store.last_invoice_seq().await.unwrap(),
        seq_before,
        "no invoice number used"
    );
    assert_eq!(
        t.get(&format!("/v1/clients/{cid}/invoices")).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        t.get("/v1/clients?limit=100").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        clients_before
    );
    let client = t.get(&format!("/v1/clients/{cid}")).await;
    let email = client.body["email"].as_str().unwrap();
    assert!(
        t.mails_to(email).await.is_empty(),
        "no e-mail for refused invoices"
    );
}

/// Simultaneous retries with one key create one invoice and all get its answer; different
/// invoices at once get distinct, gapless numbers.
async fn simultaneous_requests(t: TestApp) {
    let cid = t
        .client(json!({"name": "Paralelo", "email": unique_email("par")}))
        .await;
    let t = Arc::new(t);
    let same = futures::future::join_all((0..8).map(|_| {
        let (t, body) = (t.clone(), clp_invoice(&cid, false));
        async move { t.post("/v1/invoices", &body, Some("same-key")).await }
    }))
    .await;
    let ids: std::collections::BTreeSet<String> = same
        .iter()
        .map(|a| {
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
            a.body["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1);

    let start = t.store.last_invoice_seq().await.unwrap();
    let many = futures::future::join_all((0..10).map(|i| {
        let (t, body) = (t.clone(), clp_invoice(&cid, false));
        async move { t.post("/v1/invoices", &body, Some(&format!("k-{i}"))).await }
    }))
    .await;
    let mut numbers: Vec<String> = many
        .iter()
        .map(|a| a.body["number"].as_str().unwrap().to_string())
        .collect();
    numbers.sort();
    let expected: Vec<String> = (start + 1..=start + 10)
        .map(|n| format!("F-{n:06}"))
        .collect();
    assert_eq!(numbers, expected);
    assert_eq!(
        t.get(&format!("/v1/clients/{cid}/invoices?limit=100"))
            .await
            .body["data"]
            .as_array()
            .unwrap()
            .len(),
        11
    );
}

async fn english_clients_get_english_mail(t: TestApp) {
    let email = unique_email("en");
    let cid = t
        .client(json!({"name": "Sun Bakery", "email": email, "locale": "en"}))
        .await;
    let a = t.post("/v1/invoices", &json!({"client_id": cid, "currency": "USD", "due_date": "2026-12-31", "issue_date": "2026-11-23", "send": true,
        "lines": [{"description": "Consulting", "quantity": "12.5", "unit_amount": "120"}]}), None).await;
    assert_eq!(a.body["total"], "1500.00");
    let mails = t.mails_to(&email).await;
    let msg = MessageParser::default().parse(mails[0].as_bytes()).unwrap();
    assert!(
        msg.subject()
            .unwrap()
            .contains("US$1,500.00 due Thursday, December 31, 2026"),
        "{:?}",
        msg.subject()
    );
    assert!(
        msg.body_text(0)
            .unwrap()
            .contains("Amount due: US$1,500.00 (USD)")
    );
}

/// SES refuses the sender (not a verified identity): the invoice exists anyway and the
/// answer does not depend on the mail server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_email_does_not_lose_the_invoice() {
    let t = spawn(Backend::Dynamo).await;
    let mut config = (*t.app.config).clone();
    config.from_email = "Nadie <nadie@no-verificado.example>".into();
    let endpoint = cobro_store::testing::endpoint();
    let app = App::new(
        t.store.clone(),
        Arc::new(SesMailer::new(
            aws_sdk_sesv2::Client::new(&cobro_store::testing::sdk_config(&endpoint).await),
            None,
        )),
        config,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            cobro_app::http::finish(cobro_app::http::invoices_api(app)),
        )
        .await
        .unwrap()
    });
    let t = TestApp { base, ..t };

    let email = unique_email("refused");
    let cid = t
        .client(json!({"name": "Sin Correo", "email": email}))
        .await;
    let a = t
        .post("/v1/invoices", &clp_invoice(&cid, true), Some("refused-1"))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let id = a.body["id"].as_str().unwrap();
    assert_eq!(
        t.get(&format!("/v1/invoices/{id}")).await.body["total"],
        "178464"
    );
    assert!(t.mails_to(&email).await.is_empty(), "SES refused it");
}

/// Payments received by hand use the same ledger.
async fn manual_payments(t: TestApp) {
    let (email, inv) = new_clp_invoice(&t, "manual").await;
    let id = inv["id"].as_str().unwrap();
    let path = format!("/v1/invoices/{id}/payments");
    let a = t
        .post(
            &path,
            &json!({"method": "cash", "amount": "78464", "currency": "CLP"}),
            Some("cash-1"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(
        (a.body["status"].as_str(), a.body["amount_due"].as_str()),
        (Some("partially_paid"), Some("100000"))
    );
    let again = t
        .post(
            &path,
            &json!({"method": "cash", "amount": "78464", "currency": "CLP"}),
            Some("cash-1"),
        )
        .await;
    assert!(again.replayed);
    assert_eq!(again.body, a.body);
    let cheque = json!({"method": "cheque", "amount": 100000, "currency": "CLP", "reference": "cheque 0042"});
    assert_eq!(t.post(&path, &cheque, None).await.body["status"], "paid");
    let extra =
        json!({"method": "transfer", "amount": "5000", "currency": "CLP", "reference": "tr-extra"});
    let over = t.post(&path, &extra, None).await.body;
    assert_eq!(
        (
            over["status"].as_str(),
            over["credit"].as_str(),
            over["amount_due"].as_str()
        ),
        (Some("overpaid"), Some("5000"), Some("0"))
    );
    let client = t
        .get(&format!(
            "/v1/clients/{}",
            inv["client_id"].as_str().unwrap()
        ))
        .await
        .body;
    assert_eq!(
        client["credit"],
        json!([{"amount": "5000", "currency": "CLP"}]),
        "the client's credit is visible"
    );

    // The next CLP invoice takes the credit, in the same write; USD invoices do not.
    let cid = inv["client_id"].as_str().unwrap();
    let next = t.post("/v1/invoices", &clp_invoice(cid, true), None).await;
    assert_eq!(next.status, StatusCode::CREATED, "{}", next.raw);
    assert_eq!(
        (
            next.body["amount_due"].as_str(),
            next.body["status"].as_str()
        ),
        (Some("173464"), Some("partially_paid"))
    );
    let old = t.invoice(id).await;
    assert_eq!(
        (old["credit"].as_str(), old["status"].as_str()),
        (Some("0"), Some("paid"))
    );
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["credit"], json!([]));
    let mails = t.mails_to(&email).await;
    let issued = mails
        .iter()
        .find(|m| m.contains(next.body["id"].as_str().unwrap()))
        .expect("e-mail of the new invoice");
    let msg = MessageParser::default().parse(issued.as_bytes()).unwrap();
    let text = msg.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        text.contains("Total a pagar: $173.464 (CLP)")
            && text.contains("Saldo a favor aplicado: -$5.000"),
        "{text}"
    );
    let third = t.post("/v1/invoices", &clp_invoice(cid, false), None).await;
    assert_eq!(
        third.body["amount_due"], "178464",
        "the credit was used once"
    );
    assert_eq!(
        t.post(&path, &cheque, None).await.status,
        StatusCode::CONFLICT,
        "the same cheque twice"
    );
    for (body, field) in [
        (
            json!({"method": "barter", "amount": "1", "currency": "CLP"}),
            "method",
        ),
        (
            json!({"method": "cash", "amount": "0", "currency": "CLP"}),
            "amount",
        ),
        (
            json!({"method": "cash", "amount": "1.5", "currency": "CLP"}),
            "amount",
        ),
        (
            json!({"method": "cash", "amount": "10", "currency": "USD"}),
            "currency",
        ),
        (
            json!({"method": "cash", "amount": "10", "currency": "ABC"}),
            "currency",
        ),
    ] {
        let a = t.post(&path, &body, None).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(a.body["errors"][0]["field"], field, "{body}");
    }
    let a = t
        .post(
            "/v1/invoices/inv_aaaaaaaaaaaaaaaaaaaaaaaaaa/payments",
            &json!({"method": "cash", "amount": "1", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(
        t.invoice(id).await["ledger"].as_array().unwrap().len(),
        5,
        "charge, three payments, credit moved out"
    );
}

/// An invoice created without `send` is not chased: the client's first word of it is the
/// invoice, sent when the business says so (again with a fresh link each time), never a
/// reminder.
async fn an_unsent_invoice_waits_to_be_sent(t: TestApp) {
    t.set_now("2026-11-23T12:00:00Z");
    let (email, inv) = new_clp_invoice(&t, "unsent").await;
    let id = inv["id"].as_str().unwrap().to_string();
    assert!(inv.get("next_action_at").is_none(), "{inv}");
    for at in [
        "2026-11-30T12:00:00Z",
        "2026-12-07T12:00:00Z",
        "2026-12-10T12:00:00Z",
    ] {
        let r = sweep_at(&t.app, at).await;
        assert_eq!(r.reminders + r.notices, 0, "{at}: {r:?}");
    }
    assert!(
        t.mails_to(&email).await.is_empty(),
        "no reminder before the invoice"
    );

    // Sent on Dec 10th (three days overdue), with an Idempotency-Key retried: one e-mail.
    t.set_now("2026-12-10T15:00:00Z");
    let path = format!("/v1/invoices/{id}/send");
    let a = t.post(&path, &json!({}), Some("send-1")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let link = a.body["pay_url"].as_str().unwrap().to_string();
    assert!(
        a.body["next_action_at"].as_str().unwrap() >= "2026-12-11",
        "{}",
        a.raw
    );
    let again = t.post(&path, &json!({}), Some("send-1")).await;
    assert!(again.replayed);
    assert_eq!(again.body["pay_url"], link.as_str());
    let mails = t.mails_to(&email).await;
    assert_eq!(mails.len(), 1);
    let (subject, text, _) = parsed(&mails[0]);
    assert!(
        subject.starts_with("Factura F-000001 de Estudio Sur"),
        "{subject}"
    );
    assert!(text.contains(&link), "{text}");
    assert_eq!(visit(&link).await.status, StatusCode::OK);
    // Sent again: another message with another live link.
    let resent = t.post(&path, &json!({}), None).await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.raw);
    assert_ne!(resent.body["pay_url"], link.as_str());
    assert_eq!(t.mails_to(&email).await.len(), 2);
    let stages: Vec<String> = t.invoice(&id).await["dunning"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stages, ["sent"]);

    // Nothing more that day; the chase starts the next.
    assert_eq!(sweep_at(&t.app, "2026-12-10T20:00:00Z").await.reminders, 0);
    let r = sweep_at(&t.app, "2026-12-11T12:00:00Z").await;
    assert_eq!(r.reminders, 1, "{r:?}");

    // Nothing due: nothing to send; an unknown invoice is a 404.
    let (_, other) = new_clp_invoice(&t, "unsent-void").await;
    let other = other["id"].as_str().unwrap();
    t.post(&format!("/v1/invoices/{other}/void"), &json!({}), None)
        .await;
    let a = t
        .post(&format!("/v1/invoices/{other}/send"), &json!({}), None)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.raw);
    let a = t.post("/v1/invoices/inv_nope/send", &json!({}), None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.raw);
}

/// Overdue is derived on every read: the invoice says how many days, the client what they
/// owe and what of it is overdue per currency, in the list too; the ledger's status stays.
async fn overdue_is_derived_for_invoices_and_clients(t: TestApp) {
    t.set_now("2026-11-23T12:00:00Z");
    let email = unique_email("overdue");
    let cid = t.client(json!({"name": "Atrasada", "email": email})).await;
    let clp = t
        .post("/v1/invoices", &clp_invoice(&cid, false), None)
        .await
        .body;
    let usd = t
        .post(
            "/v1/invoices",
            &json!({"client_id": cid, "currency": "USD", "due_date": "2027-01-15",
                "lines": [{"description": "Hosting", "quantity": 1, "unit_amount": "120.50"}]}),
            None,
        )
        .await
        .body;
    let id = clp["id"].as_str().unwrap();
    assert_eq!(
        (clp["overdue"].as_bool(), clp["days_overdue"].as_i64()),
        (Some(false), Some(0))
    );

    // Due 2026-12-07 (Santiago): 31 days later, still `open` in the ledger, and overdue.
    t.set_now("2027-01-07T15:00:00Z");
    let inv = t.invoice(id).await;
    assert_eq!(
        (
            inv["status"].as_str(),
            inv["overdue"].as_bool(),
            inv["days_overdue"].as_i64()
        ),
        (Some("open"), Some(true), Some(31))
    );
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["status"], "active", "{client}");
    let amounts = |v: &Value| -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["currency"].as_str().unwrap().into(),
                    m["amount"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let pair = |c: &str, a: &str| (c.to_string(), a.to_string());
    assert_eq!(
        amounts(&client["balance"]),
        [pair("CLP", "178464"), pair("USD", "120.50")]
    );
    assert_eq!(amounts(&client["overdue"]), [pair("CLP", "178464")]);
    let listed = t.get("/v1/clients?limit=100").await.body;
    let mine = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == cid.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (mine["status"].as_str(), amounts(&mine["overdue"])),
        (Some("active"), vec![pair("CLP", "178464")])
    );

    // Partly paid: still overdue for the rest; an extension moves the date in force.
    t.post(
        &format!("/v1/invoices/{id}/payments"),
        &json!({"method": "cash", "amount": "78464", "currency": "CLP"}),
        None,
    )
    .await;
    let inv = t.invoice(id).await;
    assert_eq!(
        (inv["status"].as_str(), inv["days_overdue"].as_i64()),
        (Some("partially_paid"), Some(31))
    );
    let a = t
        .post(
            &format!("/v1/invoices/{id}/extensions"),
            &json!({"due_date": "2027-01-31", "reason": "acuerdo"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(
        (a.body["overdue"].as_bool(), a.body["due_date"].as_str()),
        (Some(false), Some("2027-01-31"))
    );
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(
        amounts(&client["balance"]),
        [pair("CLP", "100000"), pair("USD", "120.50")]
    );
    assert!(amounts(&client["overdue"]).is_empty(), "{client}");
    assert!(usd["overdue"] == false);
}

/// What a person typed wrong is named by its own field with how to write it.
async fn errors_say_how_to_write_it(t: TestApp) {
    let cid = t
        .client(json!({"name": "Errores", "email": unique_email("err")}))
        .await;
    let base = clp_invoice(&cid, false);
    let field_error = |a: &Answer| -> (String, String) {
        let e = &a.body["errors"][0];
        (
            e["field"].as_str().unwrap_or_default().to_string(),
            e["message"].as_str().unwrap_or_default().to_string(),
        )
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            {
                let mut b = base.clone();
                b["due_date"] = json!("07-12-2026");
                b
            },
            "due_date",
            "YYYY-MM-DD",
        ),
        (
            {
                let mut b = base.clone();
                b["due_date"] = json!("2026/12/07");
                b
            },
            "due_date",
            "AAAA-MM-DD",
        ),
        (
            {
                let mut b = base.clone();
                b["lines"][0]["unit_amount"] = json!("$49.990");
                b
            },
            "lines[0].unit_amount",
            "sin $ ni puntos",
        ),
        (
            {
                let mut b = base.clone();
                b["lines"][0]["unit_amount"] = json!("1,500.00");
                b
            },
            "lines[0].unit_amount",
            "thousands separators",
        ),
        (
            {
                let mut b = base.clone();
                b.as_object_mut().unwrap().remove("client_id");
                b
            },
            "client_id",
            "is required",
        ),
        (
            {
                let mut b = base.clone();
                b["lines"][0].as_object_mut().unwrap().remove("quantity");
                b
            },
            "lines[0].quantity",
            "is required",
        ),
        (
            {
                let mut b = base.clone();
                b["clientid"] = json!("x");
                b
            },
            "clientid",
            "`client_id`",
        ),
    ];
    for (body, field, says) in cases {
        let a = t.post("/v1/invoices", &body, None).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.raw);
        let (f, m) = field_error(&a);
        assert_eq!(f, field, "{}", a.raw);
        assert!(m.contains(says), "{says} in {m}");
    }
    // An amount is a number or a decimal string everywhere, the late fee's cap included.
    for cap in [json!(2500), json!("2500")] {
        let mut b = base.clone();
        b["terms"] = json!({"late_fee": {"kind": "fixed", "value": 5000, "cap": cap}});
        let a = t.post("/v1/invoices", &b, None).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
        assert_eq!(a.body["terms"]["late_fee"]["cap"], "2500");
    }
}

/// The business behind the messages: who it is and where to transfer, in every e-mail
/// and on the pay page; the tax named as Chile names it.
async fn the_business_and_its_bank_account_are_shown(backend: Backend) {
    let t = spawn_with(backend, |c| {
        c.business = cobro_notify::Sender {
            name: String::new(),
            country: cobro_domain::taxid::Country::parse("CL"),
            tax_id: Some("76.543.210-3".into()),
            address: Some("Av. Italia 1234, Providencia".into()),
            contact: Some("+56 2 2345 6789".into()),
            bank: Some(cobro_notify::BankAccount {
                bank: "Banco de Chile".into(),
                kind: "cuenta corriente".into(),
                number: "00-123-45678-09".into(),
                holder: "Estudio Sur SpA".into(),
                holder_tax_id: Some("76.543.210-3".into()),
                proofs_email: Some("pagos@estudiosur.cl".into()),
            }),
        };
    })
    .await;
    t.set_now("2026-11-23T12:00:00Z");
    let email = unique_email("banco");
    let cid = t
        .client(json!({"name": "Panadería Sol", "email": email}))
        .await;
    let inv = t
        .post("/v1/invoices", &clp_invoice(&cid, true), None)
        .await
        .body;
    let account = "Por transferencia a Banco de Chile, cuenta corriente N° 00-123-45678-09, a nombre de Estudio Sur SpA (76.543.210-3), indicando la referencia";
    let footer = "Estudio Sur · RUT 76.543.210-3 · Av. Italia 1234, Providencia · +56 2 2345 6789";
    let (_, text, html) = parsed(&t.mails_to(&email).await[0]);
    for want in [
        account,
        footer,
        "IVA (19 %): $28.494",
        "pagos@estudiosur.cl",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    assert!(
        html.contains("Banco de Chile") && html.contains("RUT 76.543.210-3"),
        "{html}"
    );
    let page = visit(inv["pay_url"].as_str().unwrap()).await;
    for want in [account, footer, "IVA (19 %)"] {
        assert!(page.body.contains(want), "{want} in {}", page.body);
    }
    sweep_at(&t.app, "2026-11-30T12:00:00Z").await;
    let reminder = t.chase_mails(&email).await;
    let (_, text, _) = parsed(&reminder[0]);
    assert!(text.contains(account) && text.contains(footer), "{text}");
    // A payment's receipt carries the identity too.
    t.post(
        &format!("/v1/invoices/{}/payments", inv["id"].as_str().unwrap()),
        &json!({"method": "cash", "amount": "1000", "currency": "CLP"}),
        None,
    )
    .await;
    let receipt = t
        .mails_to(&email)
        .await
        .iter()
        .map(|m| parsed(m))
        .find(|m| m.0.starts_with("Recibimos tu pago"))
        .unwrap();
    assert!(receipt.1.contains(footer), "{}", receipt.1);
}

mod business {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::the_business_and_its_bank_account_are_shown(super::Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dynamodb() {
        super::the_business_and_its_bank_account_are_shown(super::Backend::Dynamo).await
    }
}

on_both_stacks!(
    errors_say_how_to_write_it,
    overdue_is_derived_for_invoices_and_clients,
    an_unsent_invoice_waits_to_be_sent,
    clp_invoice_is_exact_emailed_and_idempotent,
    bad_input_is_refused_and_writes_nothing,
    simultaneous_requests,
    english_clients_get_english_mail,
    manual_payments,
);
