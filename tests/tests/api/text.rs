//! No input can crash a function: free text is checked at the edge (a 422 naming the
//! field), what was stored before the check is still mailed safely, and one message that
//! cannot be built never stops a sweep.

use super::helpers::*;

/// The fields of a 422, or the status and body when it is something else.
fn refused_fields(a: &Answer) -> Vec<String> {
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.raw);
    assert_eq!(a.content_type, "application/problem+json", "{}", a.raw);
    a.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

/// Header names of a raw message (lower case) and its recipients' addresses.
fn headers_and_to(raw: &str) -> (Vec<String>, Vec<String>) {
    let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
    let names = msg
        .headers()
        .iter()
        .map(|h| h.name().to_ascii_lowercase())
        .collect();
    let to = msg
        .to()
        .map(|to| {
            to.iter()
                .filter_map(|a| a.address().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    (names, to)
}

/// The headers every message cobro sends has, and no others.
const HEADERS: [&str; 7] = [
    "from",
    "to",
    "subject",
    "message-id",
    "mime-version",
    "date",
    "content-type",
];

fn assert_well_formed(raw: &str, to: &str) {
    let (mut names, recipients) = headers_and_to(raw);
    names.sort();
    let mut expected: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected, "{raw}");
    assert_eq!(recipients, vec![to.to_string()]);
}

async fn text_fields_refuse_control_characters_naming_the_field(t: TestApp) {
    let client = |name: &str, extra: Value| {
        let mut body = json!({"name": name, "email": unique_email("texto")});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    for (body, field) in [
        (
            client("Evil\r\nBcc: someone@example.com", json!({})),
            "name",
        ),
        (client("Null\0Byte", json!({})), "name"),
        (client("\u{202E}gnp.exe", json!({})), "name"),
        (client("Tabla\tSA", json!({})), "name"),
        (client(&"ñ".repeat(201), json!({})), "name"),
        (client("Ok", json!({"tax_id": "76.086\n428-5"})), "tax_id"),
        (client("Ok", json!({"phone": "+56 9\r\n1234"})), "phone"),
        (
            json!({"name": "Ok", "email": "a\r\nbcc: x@evil.example@cliente.cl"}),
            "email",
        ),
        // What a mail server would not take: display text, a domain literal.
        (
            json!({"name": "Ok", "email": "Evil <a@cliente.cl>"}),
            "email",
        ),
        (json!({"name": "Ok", "email": "pagos@[10.0.0.1]"}), "email"),
    ] {
        let a = t.post("/v1/clients", &body, None).await;
        assert_eq!(refused_fields(&a), vec![field], "{body}");
    }
    // Every script, accents, ñ, emoji and right-to-left text are names like any other.
    let name = "Núñez & Hijos — שלום مرحبا 👩‍💻 \u{200F}";
    let cid = t.client(client(name, json!({}))).await;
    let c = t.get(&format!("/v1/clients/{cid}")).await;
    assert_eq!(c.body["name"], name.trim());

    let mut invoice = clp_invoice(&cid, false);
    invoice["lines"][0]["description"] = json!("Diseño\u{0}de logo");
    let a = t.post("/v1/invoices", &invoice, None).await;
    assert_eq!(refused_fields(&a), vec!["lines[0].description"]);
    let a = t
        .post("/v1/invoices", &clp_invoice(&cid, false), None)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let id = a.body["id"].as_str().unwrap();

    let pay = json!({"method": "transfer", "amount": "1000", "currency": "CLP",
        "reference": "TRF 123\r\nX-Injected: 1"});
    let a = t
        .post(&format!("/v1/invoices/{id}/payments"), &pay, None)
        .await;
    assert_eq!(refused_fields(&a), vec!["reference"]);
    let long = json!({"method": "transfer", "amount": "1000", "currency": "CLP",
        "reference": "x".repeat(201)});
    let a = t
        .post(&format!("/v1/invoices/{id}/payments"), &long, None)
        .await;
    assert_eq!(refused_fields(&a), vec!["reference"]);

    let a = t
        .post(
            &format!("/v1/invoices/{id}/extensions"),
            &json!({"due_date": "2027-01-15", "reason": "pidió\0más tiempo"}),
            None,
        )
        .await;
    assert_eq!(refused_fields(&a), vec!["reason"]);
    let a = t
        .post(
            &format!("/v1/invoices/{id}/void"),
            &json!({"reason": "duplicada\tpor error"}),
            None,
        )
        .await;
    assert_eq!(refused_fields(&a), vec!["reason"]);
    // Nothing was written by the refused requests.
    let inv = t.invoice(id).await;
    assert_eq!(inv["ledger"].as_array().unwrap().len(), 1, "{inv}");
    // A reason is a note: it keeps its line breaks (CRLF read as LF).
    let a = t
        .post(
            &format!("/v1/invoices/{id}/void"),
            &json!({"reason": " duplicada\r\nver factura F-2 "}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let void = &a.body["ledger"].as_array().unwrap()[1];
    assert_eq!(void["reason"], "duplicada\nver factura F-2", "{void}");
}

/// A client written before names were checked (straight to the store): read back as
/// stored, escaped in JSON, and mailed with one To and no extra header.
async fn a_client_stored_before_the_check_is_still_mailed_safely(t: TestApp) {
    let email = unique_email("antiguo");
    let cid = t.client(json!({"name": "Antiguo", "email": email})).await;
    let mut c = t
        .store
        .client(&cobro_domain::ClientId::parse(&cid).unwrap())
        .await
        .unwrap()
        .unwrap();
    c.name = "Evil\r\nBcc: someone@example.com\0".into();
    assert!(t.store.update_client(&c).await.unwrap());

    let read = t.get(&format!("/v1/clients/{cid}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["name"], "Evil\r\nBcc: someone@example.com\0");
    let mut invoice = clp_invoice(&cid, true);
    invoice["lines"][0]["description"] = json!("<script>alert(1)</script> Diseño");
    let a = t.post("/v1/invoices", &invoice, None).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    // Markup people type is text: the pay page shows it escaped.
    let page = visit(a.body["pay_url"].as_str().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(page.body.contains("&#60;script&#62;"), "{}", page.body);
    let mails = t.mails_to(&email).await;
    assert_eq!(mails.len(), 1);
    assert_well_formed(&mails[0], &email);
    assert!(t.mails_to("someone@example.com").await.is_empty());
    // The server is still up.
    assert_eq!(
        t.get(&format!("/v1/clients/{cid}")).await.status,
        StatusCode::OK
    );
}

/// Twenty invoices due; one client's stored address cannot be parsed. The sweep sends the
/// other nineteen, records the failure on the one (held, not retried), and tells the
/// business once.
async fn one_message_that_cannot_be_built_never_stops_a_sweep(t: TestApp) {
    let mut invoices = Vec::new();
    for i in 0..20 {
        let (cid, id, email) = arranged_invoice(&t, &format!("lote{i}")).await;
        invoices.push((cid, id, email));
    }
    let (bad_cid, bad_id, _) = &invoices[7];
    let mut c = t
        .store
        .client(&cobro_domain::ClientId::parse(bad_cid).unwrap())
        .await
        .unwrap()
        .unwrap();
    c.email = "pagos\r\n@cliente".into();
    assert!(t.store.update_client(&c).await.unwrap());

    // The first reminder (7 days before the due date) is due for all twenty.
    t.set_now("2026-11-24T12:00:00Z");
    let r = sweep_at(&t.app, "2026-11-24T12:00:00Z").await;
    assert_eq!((r.reminders, r.held, r.failed), (19, 1, 0), "{r:?}");
    for (_, id, email) in &invoices {
        if id != bad_id {
            let mails = t.chase_mails(email).await;
            assert_eq!(mails.len(), 1, "{id}");
            assert_well_formed(&mails[0], email);
        }
    }
    let held = t.invoice(bad_id).await;
    let stage = &held["dunning"][0];
    assert_eq!(stage["status"], "failed", "{held}");
    assert!(
        stage["error"].as_str().unwrap().contains("invalid address"),
        "{stage}"
    );
    assert!(held["next_action_at"].is_null(), "{held}");
    let business = t.business_notices().await;
    assert_eq!(business.len(), 1);
    let (subject, text, _) = parsed(&business[0]);
    assert!(subject.contains("en espera"), "{subject}");
    let number = t.invoice(bad_id).await["number"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains(&number) && text.contains("/pay/"), "{text}");

    // Later sweeps chase the nineteen and leave the held one alone: no retry, no second
    // notice to the business.
    let total = daily_sweeps(&t, "2026-11-25", "2026-12-02").await;
    assert_eq!(total.reminders, 19 * 2, "{total:?}"); // the day before and the due day
    assert_eq!(t.business_notices().await.len(), 1);
    let held = t.invoice(bad_id).await;
    assert_eq!(held["dunning"].as_array().unwrap().len(), 1, "{held}");
}

/// Text of every kind in a client's name, tax id and phone and an invoice line: a 422
/// naming a field, or a message that parses back with one To and no extra header; never a
/// 5xx.
async fn any_text_is_refused_by_name_or_mailed_safely(t: TestApp) {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    let text = || {
        prop_oneof![
            any::<String>(),
            "[a-zñáé ]{0,8}[\\r\\n\\t\\x00\\x7f\\u{85}\\u{2028}\\u{202E}\\u{2066}\\u{200F}]{0,2}[a-z😀א-ת :]{0,8}",
            "[a-zñ]{195,205}",
            Just("Evil\r\nBcc: someone@example.com".to_string()),
        ]
    };
    let cases = (text(), text(), proptest::option::of(text()), text());
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..24 {
        let (name, tax_id, phone, description) = cases.new_tree(&mut runner).unwrap().current();
        let email = unique_email("prop");
        let a = t
            .post(
                "/v1/clients",
                &json!({"name": name, "email": email, "tax_id": tax_id, "phone": phone, "duplicate_tax_id": true}),
                None,
            )
            .await;
        assert!(!a.status.is_server_error(), "{}", a.raw);
        if a.status == StatusCode::UNPROCESSABLE_ENTITY {
            for f in refused_fields(&a) {
                assert!(["name", "tax_id", "phone"].contains(&f.as_str()), "{f}");
            }
            continue;
        }
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
        let cid = a.body["id"].as_str().unwrap();
        let mut invoice = clp_invoice(cid, true);
        invoice["lines"][0]["description"] = json!(description);
        let a = t.post("/v1/invoices", &invoice, None).await;
        assert!(!a.status.is_server_error(), "{}", a.raw);
        if a.status == StatusCode::UNPROCESSABLE_ENTITY {
            assert_eq!(refused_fields(&a), vec!["lines[0].description"]);
            continue;
        }
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
        let mails = t.chase_mails(&email).await;
        assert_eq!(mails.len(), 1, "{name:?}");
        assert_well_formed(&mails[0], &email);
    }
}

on_both_stacks!(
    text_fields_refuse_control_characters_naming_the_field,
    a_client_stored_before_the_check_is_still_mailed_safely,
    one_message_that_cannot_be_built_never_stops_a_sweep,
    any_text_is_refused_by_name_or_mailed_safely,
);
