//! Client standing and credit limits.

use super::helpers::*;

/// Standing from the ledgers (late payment, overdue against the limit), and the credit
/// limit enforced when invoicing; bad input on both.
async fn standing_and_credit_limits(t: TestApp) {
    t.set_now("2026-11-02T12:00:00Z");
    let email = unique_email("standing");
    let cid = t
        .client(
            json!({"name": "Constructora Sur", "email": email, "timezone": "America/Santiago",
            "credit_limit": {"amount": "300000", "currency": "CLP"}}),
        )
        .await;
    let path = format!("/v1/clients/{cid}/standing");
    let fresh = t.get(&path).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.raw);
    assert_eq!(
        (
            fresh.body["score"].as_u64(),
            fresh.body["tier"].as_str(),
            fresh.body["history"].as_bool()
        ),
        (Some(75), Some("B"), Some(false))
    );
    assert_eq!(fresh.body["available_credit"]["amount"], "300000");
    let invoice = |amount: &str, due: &str| {
        json!({"client_id": cid, "currency": "CLP", "due_date": due,
        "lines": [{"description": "Obra", "quantity": "1", "unit_amount": amount}]})
    };
    let first = t
        .post("/v1/invoices", &invoice("100000", "2026-12-01"), None)
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
    t.set_now("2026-12-11T15:00:00Z"); // ten days late
    let paid = t
        .post(
            &format!(
                "/v1/invoices/{}/payments",
                first.body["id"].as_str().unwrap()
            ),
            &json!({"method": "transfer", "amount": "100000", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.raw);
    let second = t
        .post("/v1/invoices", &invoice("150000", "2026-12-20"), None)
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.raw);
    t.set_now("2027-01-15T15:00:00Z");
    let s = t.get(&path).await.body;
    // One settled, late (−30 share, −1 lateness); 150.000 overdue of a 300.000 limit (−15).
    assert_eq!(
        (s["score"].as_u64(), s["tier"].as_str()),
        (Some(54), Some("C")),
        "{s}"
    );
    assert_eq!(
        s["factors"]["points"],
        json!({"not_on_time": 30, "lateness": 1, "broken": 0, "disputes": 0, "overdue": 15})
    );
    assert_eq!(
        s["outstanding"],
        json!([{"amount": "150000", "currency": "CLP"}])
    );
    assert_eq!(s["available_credit"]["amount"], "150000");
    assert!(
        s["reasons"].as_array().unwrap().iter().any(|r| r
            .as_str()
            .unwrap()
            .contains("1 de 1 facturas saldadas se pagaron después del vencimiento")),
        "{s}"
    );
    // Over the limit: refused with why; in another currency: 422; nothing written.
    let over = t
        .post("/v1/invoices", &invoice("150001", "2027-02-15"), None)
        .await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{}", over.raw);
    assert!(
        over.raw.contains("over-credit-limit") && over.raw.contains("150000 available"),
        "{}",
        over.raw
    );
    let usd = t
        .post(
            "/v1/invoices",
            &json!({"client_id": cid, "currency": "USD", "due_date": "2027-02-15",
        "lines": [{"description": "Obra", "quantity": "1", "unit_amount": "10"}]}),
            None,
        )
        .await;
    assert_eq!(usd.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", usd.raw);
    assert!(usd.raw.contains("credit limit is in CLP"), "{}", usd.raw);
    let within = t
        .post("/v1/invoices", &invoice("150000", "2027-02-15"), None)
        .await;
    assert_eq!(within.status, StatusCode::CREATED, "{}", within.raw);
    let listed = t.get(&format!("/v1/clients/{cid}/invoices")).await.body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 3);
    // Standing of nobody.
    for bad in ["cli_00000000000000000000000000", "nope"] {
        let a = t.get(&format!("/v1/clients/{bad}/standing")).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.raw);
    }
}

on_both_stacks!(standing_and_credit_limits);
