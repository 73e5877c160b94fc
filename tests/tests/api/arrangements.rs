//! Promises, plans and extensions made by the business, kept, broken and reported.

use super::helpers::*;

/// Promise → written confirmation → the chase waits → reminder the day before →
/// payment → kept, in the figures; nothing more is sent.
async fn a_promise_kept_end_to_end(t: TestApp) {
    let (cid, id, email) = arranged_invoice(&t, "kept").await;
    t.set_now("2026-12-04T13:00:00Z"); // Friday 10:00 Santiago, 3 days overdue
    let path = format!("/v1/invoices/{id}/promises");
    let a = t
        .post(&path, &json!({"date": "2026-12-10"}), Some("promise-1"))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let p = &a.body["arrangements"]["promises"][0];
    assert_eq!(
        (
            p["amount"].as_str(),
            p["date"].as_str(),
            p["outcome"].as_str(),
            p["by"].as_str()
        ),
        (
            Some("100000"),
            Some("2026-12-10"),
            Some("open"),
            Some("business")
        )
    );
    assert_eq!(
        a.body["next_action_at"], "2026-12-09T12:00:00Z",
        "the day before, 09:00"
    );
    let again = t
        .post(&path, &json!({"date": "2026-12-10"}), Some("promise-1"))
        .await;
    assert!(
        again.replayed && again.body == a.body,
        "the same promise, once"
    );
    let confirmation = t.chase_mails(&email).await;
    assert_eq!(confirmation.len(), 1, "one written confirmation");
    let (subject, text, _) = parsed(&confirmation[0]);
    assert!(
        subject.starts_with("Confirmamos tu compromiso de pago"),
        "{subject}"
    );
    for want in ["$100.000", "jueves, 10 de diciembre de 2026", "/pay/", "RF"] {
        assert!(text.contains(want), "{want} missing in {text}");
    }
    // The chase waits: reminders of the 3rd/10th day are not sent; the day before, one.
    let r = daily_sweeps(&t, "2026-12-05", "2026-12-09").await;
    assert_eq!((r.reminders, r.arrangement_reminders), (0, 1), "{r:?}");
    let mails = t.chase_mails(&email).await;
    assert!(
        subjects(&mails)
            .iter()
            .any(|s| s.starts_with("Mañana vence tu compromiso de pago")),
        "{:?}",
        subjects(&mails)
    );
    // Paid on the day: kept, recorded once.
    t.set_now("2026-12-10T15:00:00Z");
    let paid = t.post(&format!("/v1/invoices/{id}/payments"),
        &json!({"method": "transfer", "amount": "100000", "currency": "CLP", "reference": "TRX-1"}), None).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.raw);
    let r = daily_sweeps(&t, "2026-12-10", "2027-03-01").await;
    assert_eq!(
        (r.promises_kept, r.broken, r.reminders, r.escalations),
        (1, 0, 0, 0),
        "{r:?}"
    );
    let inv = t.get(&format!("/v1/invoices/{id}")).await.body;
    assert_eq!(inv["arrangements"]["promises"][0]["outcome"], "kept");
    assert_eq!(inv["status"], "paid");
    let report = t
        .get(&format!("/v1/reports/promises?client_id={cid}"))
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.raw);
    assert_eq!(
        (
            report.body["overall"]["kept"].as_u64(),
            report.body["overall"]["broken"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(report.body["clients"][0]["kept_rate"], "1");
    assert_eq!(report.body["clients"][0]["name"], "Ferretería Los Andes");
}

/// Promise → no payment → broken: the business is told, the client's record shows it,
/// and the chase resumes at once with the next reminder.
async fn a_promise_broken_end_to_end(t: TestApp) {
    let (cid, id, email) = arranged_invoice(&t, "broken").await;
    t.set_now("2026-12-04T13:00:00Z");
    let a = t
        .post(
            &format!("/v1/invoices/{id}/promises"),
            &json!({"date": "2026-12-10", "amount": "60000"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let r = daily_sweeps(&t, "2026-12-05", "2026-12-13").await;
    assert_eq!(
        (r.reminders, r.arrangement_reminders, r.broken),
        (0, 1, 0),
        "{r:?}"
    );
    // Due by the end of the 12th (10th + 2 grace days): Monday the 14th it is judged.
    let r = daily_sweeps(&t, "2026-12-14", "2026-12-14").await;
    assert_eq!(
        (r.broken, r.reminders),
        (1, 1),
        "told once, the chase resumes: {r:?}"
    );
    let business = t.business_notices().await;
    let told: Vec<_> = business
        .iter()
        .map(|m| parsed(m))
        .filter(|(s, _, _)| s.starts_with("Compromiso incumplido"))
        .collect();
    assert_eq!(told.len(), 1);
    for want in [
        "Ferretería Los Andes",
        "$60.000",
        "jueves, 10 de diciembre de 2026",
        "$100.000",
        "/pay/",
    ] {
        assert!(told[0].1.contains(want), "{want} missing in {}", told[0].1);
    }
    assert!(
        !told[0].1.contains("/v1/"),
        "a page a person can open: {}",
        told[0].1
    );
    let client_mails = subjects(&t.chase_mails(&email).await);
    assert!(
        client_mails
            .iter()
            .any(|s| s.starts_with("Factura F-") && s.contains("vencida hace 13 días")),
        "{client_mails:?}"
    );
    // Never told twice; the chase goes on to its end, moved by the days it waited.
    let r = daily_sweeps(&t, "2026-12-15", "2027-02-10").await;
    assert_eq!((r.broken, r.escalations), (0, 1), "{r:?}");
    let report = t
        .get(&format!("/v1/reports/promises?client_id={cid}"))
        .await
        .body;
    assert_eq!(
        (
            report["overall"]["broken"].as_u64(),
            report["overall"]["kept"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(report["clients"][0]["kept_rate"], "0");
    assert_eq!(
        report["clients"][0]["broken_items"][0]["invoice_id"],
        id.as_str()
    );
    assert_eq!(report["clients"][0]["broken_items"][0]["amount"], "60000");
    let inv = t.get(&format!("/v1/invoices/{id}")).await.body;
    assert_eq!(inv["arrangements"]["promises"][0]["outcome"], "broken");
}

/// A plan in three instalments summing exactly; one paid, the next missed: the plan
/// breaks, the business is told, the chase resumes.
async fn a_payment_plan_with_a_missed_instalment(t: TestApp) {
    let (_cid, id, email) = arranged_invoice(&t, "plan").await;
    t.set_now("2026-12-04T13:00:00Z");
    let path = format!("/v1/invoices/{id}/plans");
    let bad = t.post(&path, &json!({"instalments": [
        {"due_date": "2026-12-15", "amount": "50000"}, {"due_date": "2027-01-15", "amount": "49999"}]}), None).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.raw);
    assert!(
        bad.raw.contains("instalments") && bad.raw.contains("99999") && bad.raw.contains("100000"),
        "{}",
        bad.raw
    );
    let a = t
        .post(
            &path,
            &json!({"count": 3, "first_due_date": "2026-12-15"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let amounts: Vec<&str> = a.body["arrangements"]["plans"][0]["instalments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["33333", "33333", "33334"]);
    let twice = t
        .post(
            &path,
            &json!({"count": 2, "first_due_date": "2026-12-15"}),
            None,
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.raw);
    assert!(twice.raw.contains("in-a-plan"));
    let (subject, text, _) = parsed(&t.chase_mails(&email).await[0]);
    assert!(
        subject.contains("plan de pago") && subject.contains("3 cuotas"),
        "{subject}"
    );
    for want in [
        "$33.333",
        "$33.334",
        "martes, 15 de diciembre de 2026",
        "viernes, 15 de enero de 2027",
        "lunes, 15 de febrero de 2027",
    ] {
        assert!(text.contains(want), "{want} missing in {text}");
    }
    let r = daily_sweeps(&t, "2026-12-05", "2026-12-15").await;
    assert_eq!(
        (r.reminders, r.arrangement_reminders),
        (0, 3),
        "−7, −1 and 0 of instalment 1: {r:?}"
    );
    t.set_now("2026-12-15T18:00:00Z");
    let paid = t.post(&format!("/v1/invoices/{id}/payments"),
        &json!({"method": "transfer", "amount": "33333", "currency": "CLP", "reference": "CUOTA-1"}), None).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.raw);
    let r = daily_sweeps(&t, "2026-12-16", "2027-01-17").await;
    assert_eq!(
        (r.reminders, r.arrangement_reminders, r.broken),
        (0, 3, 0),
        "instalment 2's: {r:?}"
    );
    let r = daily_sweeps(&t, "2027-01-18", "2027-01-18").await;
    assert_eq!((r.broken, r.reminders), (1, 1), "{r:?}");
    let inv = t.get(&format!("/v1/invoices/{id}")).await.body;
    let plan = &inv["arrangements"]["plans"][0];
    assert_eq!(plan["outcome"], "broken");
    let states: Vec<&str> = plan["instalments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["kept", "broken", "open"]);
    assert_eq!(inv["amount_due"], "66667", "the whole remainder is due");
    let business = subjects(&t.business_notices().await);
    assert!(
        business
            .iter()
            .any(|s| s.starts_with("Compromiso incumplido")),
        "{business:?}"
    );
}

/// The due date moves with a reason kept in the history; the client is told; reminders
/// restart for the new date.
async fn an_extension_moves_the_due_date(t: TestApp) {
    let (_cid, id, email) = arranged_invoice(&t, "extension").await;
    t.set_now("2026-12-04T13:00:00Z");
    let path = format!("/v1/invoices/{id}/extensions");
    for (body, field) in [
        (json!({"due_date": "2026-12-22", "reason": " "}), "reason"),
        (json!({"due_date": "2026-11-30", "reason": "x"}), "due_date"),
        (
            json!({"due_date": "2026-12-22", "reason": "x", "message": "a\u{0}b"}),
            "message",
        ),
    ] {
        let a = t.post(&path, &body, None).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.raw);
        assert!(a.raw.contains(field), "{}", a.raw);
    }
    let a = t
        .post(
            &path,
            &json!({"due_date": "2026-12-22", "reason": "Espera el pago de su propio cliente",
                "message": "Como conversamos por teléfono, te damos plazo hasta el 22."}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.body["due_date"], "2026-12-22");
    let ext = a.body["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "extension")
        .unwrap()
        .clone();
    assert_eq!(
        (
            ext["from"].as_str(),
            ext["to"].as_str(),
            ext["reason"].as_str()
        ),
        (
            Some("2026-12-01"),
            Some("2026-12-22"),
            Some("Espera el pago de su propio cliente")
        )
    );
    let (subject, text, _) = parsed(&t.chase_mails(&email).await[0]);
    assert!(
        subject.starts_with("Nueva fecha de vencimiento de la factura"),
        "{subject}"
    );
    // The business's own reason stays in the history; the client reads the message.
    assert!(
        text.contains("martes, 22 de diciembre de 2026")
            && text.contains("Como conversamos por teléfono, te damos plazo hasta el 22.")
            && !text.contains("Espera el pago de su propio cliente"),
        "{text}"
    );
    let r = daily_sweeps(&t, "2026-12-05", "2026-12-22").await;
    assert_eq!(r.reminders, 3, "−7, −1 and 0 of the new date: {r:?}");
    let subjects = subjects(&t.chase_mails(&email).await);
    assert!(
        subjects
            .iter()
            .any(|s| s == "Hoy vence la factura F-000001: $100.000"
                || s.starts_with("Hoy vence la factura")),
        "{subjects:?}"
    );
}

/// Every bad promise, plan or extension gets a clear 4xx and writes nothing.
async fn bad_arrangements_are_refused(t: TestApp) {
    let (_cid, id, _email) = arranged_invoice(&t, "bad-arrangement").await;
    t.set_now("2026-12-04T13:00:00Z");
    let promises = format!("/v1/invoices/{id}/promises");
    for (body, status, needle) in [
        (json!({"date": "2026-12-03"}), 422, "date"),
        (json!({"date": "2026-12-20"}), 422, "within 15 days"),
        (
            json!({"date": "2026-12-10", "amount": "100001"}),
            422,
            "amount",
        ),
        (
            json!({"date": "2026-12-10", "amount": "10", "currency": "USD"}),
            422,
            "currency",
        ),
        (
            json!({"date": "2026-12-10", "amount": "10.5"}),
            422,
            "amount",
        ),
        (json!({"date": "2026-12-10", "amount": "-5"}), 422, "amount"),
        (json!({"date": "someday"}), 422, "date"),
        (json!({"date": "2026-12-10", "when": "soon"}), 422, "when"),
    ] {
        let a = t.post(&promises, &body, None).await;
        assert_eq!(a.status.as_u16(), status, "{body}: {}", a.raw);
        assert!(
            a.content_type.starts_with("application/problem+json"),
            "{}",
            a.content_type
        );
        assert!(a.raw.contains(needle), "{body}: {}", a.raw);
    }
    let plans = format!("/v1/invoices/{id}/plans");
    for (body, needle) in [
        (
            json!({"count": 1, "first_due_date": "2026-12-15"}),
            "instalments",
        ),
        (
            json!({"count": 37, "first_due_date": "2026-12-15"}),
            "must be between 1 and 36",
        ),
        (
            json!({"instalments": [{"due_date": "2026-12-15", "amount": "50000"}, {"due_date": "2026-12-14", "amount": "50000"}]}),
            "instalments[1].due_date",
        ),
        (
            json!({"instalments": [{"due_date": "2026-12-15", "amount": "50000", "currency": "USD"}, {"due_date": "2027-01-15", "amount": "50000"}]}),
            "currency",
        ),
        (json!({}), "instalments"),
    ] {
        let a = t.post(&plans, &body, None).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.raw
        );
        assert!(a.raw.contains(needle), "{body}: {}", a.raw);
    }
    // Two open promises at most, and not more than is due.
    for (date, amount) in [("2026-12-08", "30000"), ("2026-12-10", "30000")] {
        let a = t
            .post(&promises, &json!({"date": date, "amount": amount}), None)
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    }
    let third = t
        .post(&promises, &json!({"date": "2026-12-11"}), None)
        .await;
    assert_eq!(third.status, StatusCode::CONFLICT, "{}", third.raw);
    assert!(third.raw.contains("too-many-promises"));
    let inv = t.get(&format!("/v1/invoices/{id}")).await.body;
    assert_eq!(
        inv["arrangements"]["promises"].as_array().unwrap().len(),
        2,
        "nothing else written"
    );
    // Paid or void invoices take no arrangement.
    let paid = t
        .post(
            &format!("/v1/invoices/{id}/payments"),
            &json!({"method": "cash", "amount": "100000", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.raw);
    for (path, body) in [
        (promises.as_str(), json!({"date": "2026-12-10"})),
        (
            &format!("/v1/invoices/{id}/extensions"),
            json!({"due_date": "2026-12-22", "reason": "x"}),
        ),
        (
            plans.as_str(),
            json!({"count": 2, "first_due_date": "2026-12-15"}),
        ),
    ] {
        let a = t.post(path, &body, None).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{path}: {}", a.raw);
        assert!(a.raw.contains("not-open"), "{}", a.raw);
    }
    let missing = t
        .post(
            "/v1/invoices/inv_00000000000000000000000000/promises",
            &json!({"date": "2026-12-10"}),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let nobody = t
        .get("/v1/reports/promises?client_id=cli_00000000000000000000000000")
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
}

/// Paused until a day: nothing goes to the client or is charged before it, the client is
/// not told and the pay page shows nothing of it; the chase resumes by itself that day.
/// A resume ends a pause at once. Bad input, and what cannot be paused, are refused.
async fn a_paused_invoice_waits_for_its_day(t: TestApp) {
    let (_, id, email) = arranged_invoice(&t, "pausa").await;
    let path = format!("/v1/invoices/{id}/pause");
    t.set_now("2026-11-20T15:00:00Z");
    let body = json!({"until": "2026-12-10", "reason": "Espera la orden de compra del cliente"});
    let a = t.post(&path, &body, Some("pausa-1")).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.body["paused_until"], "2026-12-10");
    assert_eq!(
        a.body["next_action_at"], "2026-12-10T12:00:00Z",
        "09:00 in Santiago"
    );
    let again = t.post(&path, &body, Some("pausa-1")).await;
    assert!(again.replayed);
    let inv = t.invoice(&id).await;
    let pauses: Vec<_> = inv["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "pause")
        .collect();
    assert_eq!(pauses.len(), 1, "one pause for one key");
    assert_eq!(pauses[0]["reason"], "Espera la orden de compra del cliente");

    // Bad input: field by field, nothing written.
    for (body, field) in [
        (json!({"until": "2026-11-19", "reason": "x"}), "until"),
        (json!({"until": "2027-12-01", "reason": "x"}), "until"),
        (json!({"until": "2026-12-10", "reason": " "}), "reason"),
        (json!({"until": "2026-12-10"}), "reason"),
        (json!({"until": "10/12/2026", "reason": "x"}), "until"),
        (
            json!({"until": "2026-12-10", "reason": "x", "notify": true}),
            "notify",
        ),
    ] {
        let a = t.post(&path, &body, None).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.raw
        );
        assert!(a.raw.contains(field), "{field}: {}", a.raw);
    }
    let unknown = cobro_domain::InvoiceId::generate();
    let a = t
        .post(&format!("/v1/invoices/{unknown}/pause"), &body, None)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(
        t.invoice(&id).await["ledger"].as_array().unwrap().len(),
        inv["ledger"].as_array().unwrap().len()
    );

    // Nothing to the client while paused (the −7, −1, 0 and +3 reminders fall inside).
    let r = daily_sweeps(&t, "2026-11-21", "2026-12-09").await;
    assert_eq!(r.reminders, 0, "{r:?}");
    assert!(t.chase_mails(&email).await.is_empty());
    // The pay page says nothing of it.
    let token = secret_token();
    let stored = t
        .store
        .invoice(&cobro_domain::InvoiceId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    t.store
        .put_pay_token(&cobro_store::PayToken {
            digest: cobro_domain::secret::digest(&token),
            client_id: stored.invoice.client_id.clone(),
            invoice_id: stored.invoice.id.clone(),
            created_at: t.app.now(),
            expires_at: t.app.now() + chrono::Duration::days(30),
            revoked_at: None,
        })
        .await
        .unwrap();
    let page = visit(&format!("{}/pay/{token}", t.base)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("orden de compra") && !page.body.to_lowercase().contains("paus"));
    // On its day the chase resumes: the latest reminder due goes out.
    let r = daily_sweeps(&t, "2026-12-10", "2026-12-10").await;
    assert_eq!(r.reminders, 1, "{r:?}");
    assert_eq!(t.chase_mails(&email).await.len(), 1);
    assert!(t.invoice(&id).await.get("paused_until").is_none());

    // Paused and resumed: back on the agenda at once; resuming twice is a 409.
    t.set_now("2026-12-11T15:00:00Z");
    let a = t
        .post(
            &path,
            &json!({"until": "2027-01-15", "reason": "Conversando"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let resume = format!("/v1/invoices/{id}/resume");
    let a = t.post(&resume, &json!({}), None).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert!(a.body.get("paused_until").is_none());
    let next: chrono::DateTime<chrono::Utc> =
        a.body["next_action_at"].as_str().unwrap().parse().unwrap();
    assert!(
        next < "2027-01-01T00:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        "{next}"
    );
    let a = t.post(&resume, &json!({}), None).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(a.body["type"], "urn:cobro:problem:not-paused");

    // A paid invoice has no chase to pause.
    let (_, paid, _) = arranged_invoice(&t, "pagada").await;
    let a = t
        .post(
            &format!("/v1/invoices/{paid}/payments"),
            &json!({"method": "cash", "amount": "100000", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let a = t
        .post(&format!("/v1/invoices/{paid}/pause"), &body, None)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(a.body["type"], "urn:cobro:problem:not-open");
}

on_both_stacks!(
    a_paused_invoice_waits_for_its_day,
    a_promise_kept_end_to_end,
    a_promise_broken_end_to_end,
    a_payment_plan_with_a_missed_instalment,
    an_extension_moves_the_due_date,
    bad_arrangements_are_refused,
);
