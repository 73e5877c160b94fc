//! The reminder sweep: from issue to escalation, discounts, bad policies, retries, deadlines.

use super::helpers::*;

/// An invoice followed from issue to escalation by sweeps twice a day: every reminder on
/// its day at 09:00 Santiago, one message per client per day, the late fee announced
/// with its exact amount and date and charged once after the notice, the business told,
/// the agency's CSV complete; overlapping sweeps never send a stage twice.
async fn dunning_from_issue_to_escalation(t: TestApp) {
    t.set_now("2026-11-02T12:00:00Z");
    let email = unique_email("dunning");
    let cid = t
        .client(json!({"name": "Ferretería Los Andes", "email": email, "tax_id": "76.543.210-K", "timezone": "America/Santiago"}))
        .await;
    let a = t
        .post(
            "/v1/invoices",
            &json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-01", "send": true,
                "lines": [{"description": "Mantención de equipos", "quantity": "1", "unit_amount": "100000"}],
                "terms": {"late_fee": {"kind": "fixed", "value": "5000", "notice_days": 3}}}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let id = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        a.body["next_action_at"], "2026-11-24T12:00:00Z",
        "−7 days, 09:00 Santiago"
    );

    // A minute early: nothing. On time, three overlapping sweeps: one reminder.
    assert_eq!(sweep_at(&t.app, "2026-11-24T11:59:00Z").await.due, 0);
    let sweeps = (0..3).map(|_| {
        let app = t.app.clone();
        tokio::spawn(async move { sweep_at(&app, "2026-11-24T12:00:00Z").await })
    });
    let mut sent = 0;
    for s in sweeps.collect::<Vec<_>>() {
        sent += s.await.unwrap().reminders;
    }
    assert_eq!(sent, 1);
    let mails = t.chase_mails(&email).await;
    assert_eq!(mails.len(), 1);
    let (subject, text, html) = parsed(&mails[0]);
    assert_eq!(
        subject,
        "Recordatorio: la factura F-000001 vence el martes, 1 de diciembre de 2026"
    );
    for want in [
        "Mantención de equipos",
        "$100.000",
        "en 7 días",
        "/pay/",
        "RF",
    ] {
        assert!(text.contains(want), "{want} missing in\n{text}");
    }
    assert!(html.contains("Pagar ahora"));
    let pay_url = text
        .lines()
        .find(|l| l.contains("/pay/"))
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    let token = pay_url.rsplit('/').next().unwrap();
    let stored = t
        .store
        .pay_token(&cobro_domain::secret::digest(token))
        .await
        .unwrap();
    assert_eq!(
        stored.unwrap().invoice_id.as_str(),
        id,
        "the reminder's pay link is live"
    );

    // Twice a day until February: what was sent, charged and escalated, each once.
    let mut day = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let mut per_day = std::collections::BTreeMap::new();
    while day <= chrono::NaiveDate::from_ymd_opt(2027, 2, 5).unwrap() {
        for hour in ["12:00"] {
            let r = sweep_at(&t.app, &format!("{day}T{hour}:00Z")).await;
            assert_eq!((r.failed, r.skipped), (0, 0), "{r:?}");
            *per_day.entry(day).or_insert(0) += r.reminders + r.notices;
        }
        day = day.succ_opt().unwrap();
    }
    assert!(
        per_day.values().all(|n| *n <= 1),
        "one message per client per day"
    );
    let mut subjects: Vec<String> = t
        .chase_mails(&email)
        .await
        .iter()
        .map(|m| parsed(m).0)
        .collect();
    subjects.sort();
    assert_eq!(subjects.len(), 7, "{subjects:#?}");
    assert!(subjects.contains(&"Aviso de recargo por atraso: factura F-000001".to_string()));
    assert!(subjects.contains(&"Último aviso: factura F-000001 vencida hace 20 días".to_string()));
    assert!(subjects.contains(&"Hoy vence la factura F-000001: $100.000".to_string()));
    let notice = t
        .chase_mails(&email)
        .await
        .into_iter()
        .map(|m| parsed(&m))
        .find(|m| m.0.starts_with("Aviso de recargo"))
        .unwrap();
    assert!(
        notice.1.contains("si no recibimos el pago a más tardar el domingo, 6 de diciembre de 2026, el lunes, 7 de diciembre de 2026 se agregará a la factura un recargo por atraso de $5.000"),
        "{}",
        notice.1
    );

    let inv = t.get(&format!("/v1/invoices/{id}")).await.body;
    assert_eq!(inv["status"], "escalated");
    assert_eq!(inv["late_fees"], "5000");
    assert_eq!(inv["amount_due"], "105000");
    assert!(inv.get("next_action_at").is_none(), "the chase stopped");
    let fees: Vec<&Value> = inv["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "late_fee")
        .collect();
    assert_eq!(fees.len(), 1);
    assert!(
        fees[0]["at"].as_str().unwrap() >= "2026-12-07T03:00:00Z",
        "after grace + notice"
    );
    let stages: Vec<&str> = inv["dunning"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "reminder:-7",
            "reminder:-1",
            "reminder:0",
            "reminder:3",
            "reminder:10",
            "reminder:20",
            "fee-notice:0",
            "late-fee:0",
            "escalation"
        ]
    );

    let business = t.business_notices().await;
    assert_eq!(business.len(), 1);
    let (subject, text, _) = parsed(&business[0]);
    assert!(
        subject.starts_with("Factura F-000001 escalada a cobranza: $105.000"),
        "{subject}"
    );
    assert!(
        text.contains("76.543.210-K") && text.contains("aviso de recargo de $5.000"),
        "{text}"
    );
    // Its link opens in a browser (the invoice's page), never an API URL that answers 401.
    assert!(!text.contains(&format!("{}/v1/", t.base)), "{text}");
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/pay/"))
        .unwrap()
        .trim_end_matches('.');
    let page = visit(link).await;
    assert_eq!(page.status, StatusCode::OK, "{link}");
    assert!(page.body.contains("F-000001"));

    // For a spreadsheet in Spanish (the business's language): UTF-8 mark, `;`, Spanish
    // headers and notices.
    let excel = t.get("/v1/reports/escalated").await;
    assert_eq!(excel.status, StatusCode::OK);
    assert!(
        excel
            .raw
            .starts_with("\u{feff}id cliente;cliente;RUT / id tributario;"),
        "{}",
        excel.raw
    );
    assert!(
        excel
            .raw
            .contains("recordatorio, 7 días antes del vencimiento"),
        "{}",
        excel.raw
    );
    assert!(excel.raw.contains(";105000;"), "{}", excel.raw);
    let bad = t.get("/v1/reports/escalated?excel=yes").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.raw);
    // For programs.
    let csv = t.get("/v1/reports/escalated?excel=0").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.content_type.starts_with("text/csv"));
    let rows: Vec<&str> = csv.raw.lines().collect();
    assert_eq!(rows.len(), 2, "{}", csv.raw);
    assert!(rows[0].starts_with("client_id,client_name,tax_id"));
    for want in [
        "Ferretería Los Andes",
        "76.543.210-K",
        "F-000001",
        "105000",
        "2026-12-01",
        "2027-02-01",
        "2026-11-24 recordatorio, 7 días antes del vencimiento",
    ] {
        assert!(rows[1].contains(want), "{want} missing in {}", rows[1]);
    }
    let fees = t.get("/v1/reports/late-fees?excel=0").await;
    assert_eq!(fees.raw.lines().count(), 2, "{}", fees.raw);
    assert!(
        fees.raw.contains(&id)
            && fees
                .raw
                .contains(",Ferretería Los Andes,0,CLP,5000,2026-12-07,aviso de recargo"),
        "{}",
        fees.raw
    );

    // Nothing more, however often it runs (but the business's weekly summary: a Monday).
    let r = sweep_at(&t.app, "2027-03-01T12:00:00Z").await;
    assert_eq!(
        r,
        cobro_app::usecases::sweep::SweepReport {
            summaries: 1,
            ..Default::default()
        },
        "nothing on the agenda"
    );
    // Escalated: no promise, plan or extension re-arms the chase behind the agency's back.
    t.set_now("2027-03-01T13:00:00Z");
    for (path, body) in [
        ("promises", json!({"date": "2027-03-10"})),
        ("plans", json!({"count": 3, "first_due_date": "2027-03-15"})),
        (
            "extensions",
            json!({"due_date": "2027-04-01", "reason": "pidió más plazo"}),
        ),
    ] {
        let a = t
            .post(&format!("/v1/invoices/{id}/{path}"), &body, None)
            .await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{path}: {}", a.raw);
        assert!(a.raw.contains("urn:cobro:problem:escalated"), "{}", a.raw);
    }
    assert!(t.invoice(&id).await.get("next_action_at").is_none());
    // Paid now: off the agency's list.
    t.set_now("2027-03-02T12:00:00Z");
    let paid = t
        .post(
            &format!("/v1/invoices/{id}/payments"),
            &json!({"method": "transfer", "amount": "105000", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(paid.body["status"], "paid", "{}", paid.raw);
    assert_eq!(t.get("/v1/reports/escalated").await.raw.lines().count(), 1);
}

/// Paid inside the window for the discounted amount: settled in full with a discount
/// entry. After the window the same payment leaves the rest due.
async fn early_payment_discount(t: TestApp) {
    t.set_now("2026-11-02T12:00:00Z");
    let cid = t
        .client(json!({"name": "Pronto Pago", "email": unique_email("discount")}))
        .await;
    let body = json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-01",
        "lines": [{"description": "Asesoría", "quantity": "1", "unit_amount": "100000"}],
        "terms": {"early_payment_discount": {"percent": "2", "within_days": 10}}});
    let early = t.post("/v1/invoices", &body, None).await.body;
    let late = t.post("/v1/invoices", &body, None).await.body;
    // Told everywhere while it is on offer: the invoice e-mail, the pay page, the
    // reminders inside the window; not after.
    let email = unique_email("told");
    let told_client = t
        .client(json!({"name": "Pronto Pago", "email": email}))
        .await;
    let mut told = body.clone();
    told["client_id"] = json!(told_client);
    told["send"] = json!(true);
    told["terms"]["early_payment_discount"]["within_days"] = json!(25);
    let told = t.post("/v1/invoices", &told, None).await.body;
    let offer = "Descuento por pronto pago: si pagas $98.000 a más tardar el viernes, 27 de noviembre de 2026, la factura queda pagada.";
    let mails = t.mails_to(&email).await;
    assert!(
        parsed(&mails[0]).1.contains(offer),
        "{}",
        parsed(&mails[0]).1
    );
    assert!(parsed(&mails[0]).2.contains("pronto pago"));
    let page = visit(told["pay_url"].as_str().unwrap()).await;
    assert!(page.body.contains(offer), "{}", page.body);
    sweep_at(&t.app, "2026-11-24T12:00:00Z").await;
    let reminder = t.chase_mails(&email).await;
    assert!(
        parsed(&reminder[0]).1.contains(offer),
        "{}",
        parsed(&reminder[0]).1
    );
    sweep_at(&t.app, "2026-12-01T12:00:00Z").await;
    let due_today: Vec<_> = t
        .chase_mails(&email)
        .await
        .iter()
        .map(|m| parsed(m))
        .filter(|m| m.0.starts_with("Hoy vence"))
        .collect();
    assert_eq!(due_today.len(), 1);
    assert!(
        !due_today[0].1.contains("pronto pago"),
        "after the window: {}",
        due_today[0].1
    );
    let pay = json!({"method": "transfer", "amount": "98000", "currency": "CLP"});
    t.set_now("2026-11-13T02:30:00Z"); // Nov 12th, 23:30 in Santiago: the last day
    let a = t
        .post(
            &format!("/v1/invoices/{}/payments", early["id"].as_str().unwrap()),
            &pay,
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(
        (
            &a.body["status"],
            &a.body["discount"],
            &a.body["amount_due"]
        ),
        (&json!("paid"), &json!("2000"), &json!("0"))
    );
    let kinds: Vec<&str> = a.body["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["charge", "payment", "discount"]);
    assert!(
        t.get(&format!("/v1/invoices/{}", early["id"].as_str().unwrap()))
            .await
            .body
            .get("next_action_at")
            .is_none()
    );
    t.set_now("2026-11-13T03:00:00Z"); // Nov 13th: too late
    let b = t
        .post(
            &format!("/v1/invoices/{}/payments", late["id"].as_str().unwrap()),
            &pay,
            None,
        )
        .await;
    assert_eq!(
        (
            &b.body["status"],
            &b.body["discount"],
            &b.body["amount_due"]
        ),
        (&json!("partially_paid"), &json!("0"), &json!("2000"))
    );
}

/// Bad policies are refused with the field named, at the invoice and at the client.
async fn bad_policies_are_refused(t: TestApp) {
    let cid = t
        .client(json!({"name": "Política", "email": unique_email("policy")}))
        .await;
    let cases = [
        (json!({"grace_days": -2}), "terms.grace_days"),
        (
            json!({"reminder_offsets": [5, 1]}),
            "terms.reminder_offsets",
        ),
        (
            json!({"late_fee": {"kind": "percent", "value": "150"}}),
            "terms.late_fee.value",
        ),
        (
            json!({"early_payment_discount": {"percent": "3", "within_days": 60}}),
            "terms.early_payment_discount.within_days",
        ),
        (
            json!({"business_hours": {"start": "18:00", "end": "08:00", "days": ["mon"]}}),
            "terms.business_hours.end",
        ),
    ];
    for (terms, field) in cases {
        let a = t
            .post("/v1/invoices", &json!({"client_id": cid, "currency": "CLP", "due_date": "2027-01-05",
                "lines": [{"description": "X", "quantity": "1", "unit_amount": "1000"}], "terms": terms}), None)
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.raw);
        assert_eq!(a.body["errors"][0]["field"], field, "{}", a.raw);
    }
    let a = t
        .post("/v1/clients", &json!({"name": "Mala", "email": unique_email("bad"), "terms": {"escalate_after_days": 0}}), None)
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.raw);
    assert_eq!(a.body["errors"][0]["field"], "terms.escalate_after_days");
    assert!(
        t.get(&format!("/v1/clients/{cid}/invoices")).await.body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// A mailer that refuses while told to.
struct Flaky {
    inner: Arc<dyn Mailer>,
    failing: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Mailer for Flaky {
    async fn send(
        &self,
        e: &cobro_notify::Email,
    ) -> Result<cobro_notify::Sent, cobro_notify::MailError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(cobro_notify::MailError::Delivery(
                "refused for the test".into(),
            ));
        }
        self.inner.send(e).await
    }
}

/// A message that fails is retried by a later sweep once its claim's lease ends: sent
/// once, never lost. A client with two invoices due the same day gets one message that
/// day and the other the next business day.
async fn failed_messages_are_retried_and_clients_get_one_a_day(t: TestApp) {
    t.set_now("2026-11-02T12:00:00Z");
    let email = unique_email("retry");
    let cid = t
        .client(json!({"name": "Dos Facturas", "email": email}))
        .await;
    let body = json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-01", "send": true,
        "lines": [{"description": "Arriendo", "quantity": "1", "unit_amount": "50000"}]});
    let first = t.post("/v1/invoices", &body, None).await.body;
    let second = t.post("/v1/invoices", &body, None).await.body;
    let flaky = Arc::new(Flaky {
        inner: t.app.mailer.clone(),
        failing: true.into(),
    });
    let mut app = t.app.clone();
    app.mailer = flaky.clone();

    let r = sweep_at(&app, "2026-11-24T12:00:00Z").await;
    assert_eq!((r.reminders, r.failed, r.deferred), (0, 1, 1), "{r:?}");
    assert!(t.chase_mails(&email).await.is_empty());
    // Within the lease nobody retries; the other invoice waits for tomorrow.
    let r = sweep_at(&app, "2026-11-24T12:03:00Z").await;
    assert_eq!(r.reminders + r.failed, 0, "{r:?}");
    flaky
        .failing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let r = sweep_at(&app, "2026-11-24T12:05:00Z").await;
    assert_eq!(r.reminders, 1, "{r:?}");
    let r = sweep_at(&app, "2026-11-24T15:00:00Z").await;
    assert_eq!(r.reminders, 0, "the client had their message today: {r:?}");
    let r = sweep_at(&app, "2026-11-25T12:00:00Z").await;
    assert_eq!(r.reminders, 1, "{r:?}");
    let mails = t.chase_mails(&email).await;
    assert_eq!(mails.len(), 2);
    for inv in [&first, &second] {
        let got = t
            .get(&format!("/v1/invoices/{}", inv["id"].as_str().unwrap()))
            .await
            .body;
        let stage = &got["dunning"][0];
        assert_eq!(
            (&stage["stage"], &stage["status"]),
            (&json!("reminder:-7"), &json!("done"))
        );
    }
    let retried = t
        .get(&format!("/v1/invoices/{}", first["id"].as_str().unwrap()))
        .await
        .body;
    let other = t
        .get(&format!("/v1/invoices/{}", second["id"].as_str().unwrap()))
        .await
        .body;
    let attempts: std::collections::BTreeSet<u64> = [&retried, &other]
        .iter()
        .map(|i| i["dunning"][0]["attempts"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, [1, 2].into(), "one was retried once");
    for inv in [&retried, &other] {
        assert_eq!(
            inv["next_action_at"], "2026-11-30T12:00:00Z",
            "next: the −1 reminder"
        );
    }
}

/// A sweep whose deadline is too near starts nothing and says so; the work waits on the
/// agenda for the next run, which does it.
async fn a_sweep_stops_before_its_deadline(t: TestApp) {
    t.set_now("2026-11-02T12:00:00Z");
    let email = unique_email("deadline");
    let cid = t.client(json!({"name": "Plazo", "email": email})).await;
    let body = json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-01", "send": true,
        "lines": [{"description": "Servicio", "quantity": "1", "unit_amount": "10000"}]});
    assert_eq!(
        t.post("/v1/invoices", &body, None).await.status,
        StatusCode::CREATED
    );
    t.set_now("2026-11-24T12:00:00Z");
    let soon = chrono::Utc::now().timestamp_millis() as u64 + 5_000; // inside the 10 s margin
    let r = cobro_app::usecases::sweep::scheduled(
        &t.app,
        cobro_app::usecases::sweep::Lane::Dunning,
        soon,
    )
    .await
    .unwrap();
    assert!(r.stopped_early && r.reminders == 0, "{r:?}");
    assert!(t.chase_mails(&email).await.is_empty());
    let later = chrono::Utc::now().timestamp_millis() as u64 + 300_000;
    let r = cobro_app::usecases::sweep::scheduled(
        &t.app,
        cobro_app::usecases::sweep::Lane::Dunning,
        later,
    )
    .await
    .unwrap();
    assert!(!r.stopped_early && r.reminders == 1, "{r:?}");
    assert_eq!(t.chase_mails(&email).await.len(), 1);
}

/// After a gap (an outage, or `sweep --at` far ahead) the client gets the final notice,
/// with a date at least a week away, before anything is escalated.
async fn a_late_sweep_gives_the_final_word_first(t: TestApp) {
    t.set_now("2026-11-02T12:00:00Z");
    let email = unique_email("late");
    let cid = t
        .client(json!({"name": "Ferretería Los Andes", "email": email}))
        .await;
    let a = t
        .post(
            "/v1/invoices",
            &json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-01", "send": true,
                "lines": [{"description": "Mantención de equipos", "quantity": "1", "unit_amount": "100000"}]}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let id = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(sweep_at(&t.app, "2026-11-24T12:00:00Z").await.reminders, 1);
    // Ninety days without a sweep.
    let r = sweep_at(&t.app, "2027-03-01T13:00:00Z").await;
    assert_eq!(r.reminders, 1, "{r:?}");
    let inv = t.invoice(&id).await;
    assert_ne!(inv["status"], "escalated");
    let last = t
        .chase_mails(&email)
        .await
        .iter()
        .map(|m| parsed(m))
        .find(|m| m.0.starts_with("Último aviso"))
        .expect("the final notice");
    assert!(
        last.1
            .contains("Si la factura sigue impaga el lunes, 8 de marzo de 2027"),
        "{}",
        last.1
    );
    assert!(t.business_notices().await.is_empty());
    assert_eq!(sweep_at(&t.app, "2027-03-05T13:00:00Z").await.due, 0);
    sweep_at(&t.app, "2027-03-08T13:00:00Z").await;
    assert_eq!(t.invoice(&id).await["status"], "escalated");
    assert_eq!(t.business_notices().await.len(), 1);
}

/// When several invoices of one client are due in the same sweep, the one due first on the
/// agenda gets the client's message of the day, every time, and the dry run foresees it:
/// the sweep works on one client's invoices in order (others at once), not in a race.
async fn a_clients_first_due_invoice_gets_the_days_message(t: TestApp) {
    t.set_now("2026-11-02T12:00:00Z");
    let email = unique_email("seis");
    let cid = t
        .client(json!({"name": "Seis Facturas", "email": email}))
        .await;
    let mut ids = Vec::new();
    // Created latest-due first, so that creation order is not agenda order.
    for day in (1..=6).rev() {
        let body = json!({"client_id": cid, "currency": "CLP", "due_date": format!("2026-12-0{day}"),
            "send": true, "lines": [{"description": "Arriendo", "quantity": "1", "unit_amount": "50000"}]});
        let inv = t.post("/v1/invoices", &body, None).await;
        assert_eq!(inv.status, StatusCode::CREATED, "{}", inv.raw);
        ids.push(inv.body["id"].as_str().unwrap().to_string());
    }
    let first_due = ids.last().unwrap().clone();
    let at: chrono::DateTime<chrono::Utc> = "2026-12-16T15:00:00Z".parse().unwrap();
    let would =
        cobro_app::usecases::sweep::preview(&t.app, cobro_app::usecases::sweep::Lane::Dunning, at)
            .await
            .unwrap();
    let to_client: Vec<_> = would
        .iter()
        .filter(|w| w.to.as_deref() == Some(email.as_str()))
        .collect();
    assert_eq!(to_client.len(), 1, "{would:?}");
    assert_eq!(to_client[0].invoice_id.as_str(), first_due);
    let r = sweep_at(&t.app, "2026-12-16T15:00:00Z").await;
    assert_eq!((r.reminders, r.deferred), (1, 5), "{r:?}");
    for id in &ids {
        let done = t.invoice(id).await["dunning"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["status"] == "done");
        assert_eq!(done, *id == first_due, "{id}");
    }
}

on_both_stacks!(
    a_clients_first_due_invoice_gets_the_days_message,
    a_late_sweep_gives_the_final_word_first,
    dunning_from_issue_to_escalation,
    early_payment_discount,
    bad_policies_are_refused,
    failed_messages_are_retried_and_clients_get_one_a_day,
    a_sweep_stops_before_its_deadline,
);
