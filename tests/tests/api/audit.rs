//! The audit log: every action through the API is kept with the key that took it, on the
//! ledger entries it wrote and in `GET /v1/audit`; a provider's payment carries its event,
//! and is no one's action.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::{Backend, TestApp, new_clp_invoice, spawn};

/// Every page of `path` (which has a `?`), `limit` at a time: the actions, in order.
async fn actions(t: &TestApp, path: &str, limit: u32) -> Vec<Value> {
    let (mut out, mut after) = (Vec::new(), String::new());
    loop {
        let a = t.get(&format!("{path}&limit={limit}{after}")).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
        let data = a.body["data"].as_array().unwrap();
        assert!(data.len() <= limit as usize);
        out.extend(data.iter().cloned());
        match a.body["next_cursor"].as_str() {
            Some(c) => after = format!("&after={c}"),
            None => return out,
        }
        assert!(out.len() < 50, "the pages end");
    }
}

fn names(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect()
}

/// GIVEN a client and invoice made with the key "tests", a payment by hand, a provider's
/// payment and a pause, WHEN the ledger and the log are read, THEN each entry names who
/// recorded it, and the log has each action of the key, newest first, whole or by invoice
/// or client, page after page.
async fn actions_are_kept_with_who_took_them(t: TestApp) {
    t.set_now("2026-11-23T15:00:00Z");
    let (_, inv) = new_clp_invoice(&t, "audit").await;
    let (id, cid) = (
        inv["id"].as_str().unwrap(),
        inv["client_id"].as_str().unwrap(),
    );
    let number = inv["number"].as_str().unwrap();
    t.set_now("2026-11-23T15:01:00Z");
    let cash =
        json!({"method": "cash", "amount": "1000", "currency": "CLP", "reference": "caja-7"});
    let paid = t
        .post(&format!("/v1/invoices/{id}/payments"), &cash, None)
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.raw);
    t.set_now("2026-11-23T15:02:00Z");
    let online = json!({"type": "payment.succeeded", "data": {"invoice_id": id, "payment_id": "tr_a1", "amount": "2000", "currency": "CLP"}});
    assert_eq!(
        t.standard("msg_a1", &online).await.body["outcome"],
        "applied"
    );
    t.set_now("2026-11-23T15:03:00Z");
    let pause = json!({"until": "2026-12-03", "reason": "Espera la orden de compra"});
    let paused = t
        .post(&format!("/v1/invoices/{id}/pause"), &pause, None)
        .await;
    assert_eq!(paused.status, StatusCode::CREATED, "{}", paused.raw);

    // Each entry names who recorded it.
    let ledger = t.invoice(id).await["ledger"].as_array().unwrap().clone();
    let by: Vec<(&str, &str)> = ledger
        .iter()
        .map(|e| {
            let b = &e["recorded_by"];
            let who = b["name"].as_str().or(b["event_id"].as_str()).unwrap();
            (b["type"].as_str().unwrap(), who)
        })
        .collect();
    assert_eq!(
        by,
        [
            ("api_key", "tests"),
            ("api_key", "tests"),
            ("provider", "msg_a1"),
            ("api_key", "tests"),
        ]
    );
    assert_eq!(ledger[2]["recorded_by"]["source"], "standard");

    // The invoice's log: the key's three actions, newest first, with what they wrote.
    let mine = actions(&t, &format!("/v1/audit?invoice_id={id}"), 100).await;
    assert_eq!(
        names(&mine),
        ["chase_paused", "payment_recorded", "invoice_created"]
    );
    for r in &mine {
        assert_eq!(r["actor"]["type"], "api_key");
        assert_eq!(r["actor"]["name"], "tests");
        assert_eq!(r["invoice_id"], id);
        assert_eq!(r["client_id"], cid);
        assert_eq!(r["subject"], number);
    }
    assert_eq!(
        mine.iter()
            .map(|r| r["entry_seq"].as_u64())
            .collect::<Vec<_>>(),
        [Some(4), Some(2), Some(1)]
    );
    assert_eq!(mine[0]["at"], "2026-11-23T15:03:00Z");
    assert_eq!(mine[0]["day"], "2026-12-03");
    assert_eq!(
        mine[1]["amount"],
        json!({"amount": "1000", "currency": "CLP"})
    );
    // The client's: also the client's creation. The whole log: also the key's.
    let theirs = actions(&t, &format!("/v1/audit?client_id={cid}"), 100).await;
    assert_eq!(
        names(&theirs),
        [
            "chase_paused",
            "payment_recorded",
            "invoice_created",
            "client_created"
        ]
    );
    // (The key was made by the test's setup, at the real time: after the others here.)
    let all = actions(&t, "/v1/audit?", 100).await;
    assert_eq!(names(&all)[0], "api_key_created");
    assert_eq!(all[0]["actor"]["type"], "cobro");
    assert_eq!(all[1..], theirs[..]);
    // One at a time: the same, in the same order.
    assert_eq!(actions(&t, "/v1/audit?", 1).await, all);
}

/// GIVEN filters that name nothing of ours, both at once, or a parameter the log does
/// not take, WHEN the log is asked, THEN a 422 names the field (400 for the unknown one).
async fn bad_audit_filters_are_refused(t: TestApp) {
    let unknown_invoice = cobro_domain::InvoiceId::generate();
    let unknown_client = cobro_domain::ClientId::generate();
    for (query, field) in [
        ("invoice_id=F-000001".to_string(), "invoice_id"),
        (format!("invoice_id={unknown_invoice}"), "invoice_id"),
        (format!("invoice_id={unknown_client}"), "invoice_id"),
        (format!("client_id={unknown_client}"), "client_id"),
        (
            format!("invoice_id={unknown_invoice}&client_id={unknown_client}"),
            "client_id",
        ),
        ("limit=0".to_string(), "limit"),
        ("after=%%%".to_string(), "after"),
    ] {
        let a = t.get(&format!("/v1/audit?{query}")).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            a.raw
        );
        assert_eq!(a.body["errors"][0]["field"], field, "{query}");
    }
    assert_eq!(
        t.get("/v1/audit?colour=red").await.status,
        StatusCode::BAD_REQUEST
    );
}

on_both_stacks!(
    actions_are_kept_with_who_took_them,
    bad_audit_filters_are_refused
);
