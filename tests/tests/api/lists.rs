//! `GET /v1/invoices` and `GET /v1/reports/invoices`: the invoice list across clients, its
//! filters combined, both orders, paging, the CSV of the same list, and every bad filter.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::{Backend, TestApp, spawn, unique_email};

/// Creates an invoice issued on 2026-08-01 and due on `due`, for one line of `amount`.
async fn invoice(
    t: &TestApp,
    client: &str,
    currency: &str,
    amount: &str,
    due: &str,
    what: &str,
) -> Value {
    let a = t
        .post(
            "/v1/invoices",
            &json!({
                "client_id": client, "currency": currency, "due_date": due,
                "issue_date": "2026-08-01", "send": false,
                "lines": [{"description": what, "quantity": 1, "unit_amount": amount}]
            }),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    a.body
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap().to_string())
        .collect()
}

/// Every page of `path` (which has a `?`), `limit` at a time.
async fn all_pages(t: &TestApp, path: &str, limit: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let a = t.get(&format!("{path}&limit={limit}{after}")).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
        assert!(a.body["data"].as_array().unwrap().len() <= limit as usize);
        out.extend(ids(&a.body));
        match a.body["next_cursor"].as_str() {
            Some(c) => after = format!("&after={c}"),
            None => return out,
        }
        assert!(out.len() < 50, "the pages end");
    }
}

/// GIVEN invoices of two clients in CLP and USD, due at different times, one paid in
/// full, one in part, WHEN the list is asked with filters, THEN each answer has exactly
/// the invoices every filter picks, in the order asked, page after page.
async fn invoices_are_listed_across_clients(t: TestApp) {
    t.set_now("2026-11-23T15:00:00Z");
    let sur = t
        .client(json!({"name": "Ferretería Sur", "email": unique_email("sur"), "timezone": "America/Santiago"}))
        .await;
    let norte = t
        .client(json!({"name": "Café Norte", "email": unique_email("norte"), "timezone": "America/Santiago"}))
        .await;
    // F-000001 … F-000006, in this order.
    let a = invoice(&t, &sur, "CLP", "150000", "2026-10-10", "Cable de cobre").await; // 44 days late
    let b = invoice(&t, &sur, "CLP", "90000", "2026-11-10", "Servicio").await; // 13 days late
    let c = invoice(&t, &norte, "CLP", "300000", "2026-10-01", "Servicio").await; // 53 days late
    let d = invoice(&t, &norte, "USD", "120.50", "2026-10-15", "Consulting").await; // 39 days late
    let e = invoice(&t, &norte, "CLP", "50000", "2026-12-15", "Cables").await; // current
    let f = invoice(&t, &sur, "CLP", "70000", "2026-08-15", "=HYPERLINK(\"x\")").await; // 100 days
    let pay = |id: &Value, amount: &str, currency: &str, r: &str| {
        let path = format!("/v1/invoices/{}/payments", id["id"].as_str().unwrap());
        let body =
            json!({"method": "transfer", "amount": amount, "currency": currency, "reference": r});
        (path, body)
    };
    for (path, body) in [
        pay(&c, "300000", "CLP", "tr-1"),
        pay(&a, "50000", "CLP", "tr-2"),
    ] {
        let r = t.post(&path, &body, None).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    }

    // 31–60 days overdue in CLP: A (partly paid, 44 days); C is paid, D is in USD.
    let l = t.get("/v1/invoices?overdue=31-60&currency=CLP").await;
    assert_eq!(l.status, StatusCode::OK, "{}", l.raw);
    assert_eq!(ids(&l.body), ["F-000001"]);
    let row = &l.body["data"][0];
    assert_eq!(row["object"], "invoice_summary");
    assert_eq!(row["client_name"], "Ferretería Sur");
    assert_eq!(row["status"], "partially_paid");
    assert_eq!(row["amount_due"], "100000");
    assert_eq!(row["total"], "150000");
    assert_eq!(row["days_overdue"], 44);
    assert_eq!(row["overdue"], true);
    assert_eq!(row["overdue_bucket"], "31-60");
    assert_eq!(row["due_date"], "2026-10-10");
    assert_eq!(row["payment_reference"], a["payment_reference"]);
    // Any currency: D (39 days, USD) too, by due date.
    let l = t.get("/v1/invoices?overdue=31-60").await;
    assert_eq!(ids(&l.body), ["F-000001", "F-000004"]);
    // What is owed by due date, then by amount (within each currency, largest first).
    let owed = "/v1/invoices?status=open,partially_paid";
    assert_eq!(
        all_pages(&t, owed, 2).await,
        ["F-000006", "F-000001", "F-000004", "F-000002", "F-000005"]
    );
    assert_eq!(
        all_pages(&t, &format!("{owed}&sort=-amount_due"), 1).await,
        ["F-000004", "F-000001", "F-000002", "F-000006", "F-000005"]
    );
    assert_eq!(
        all_pages(&t, "/v1/invoices?sort=-due_date", 4).await,
        [
            "F-000005", "F-000002", "F-000004", "F-000001", "F-000003", "F-000006"
        ]
    );
    // Paid, one client's, a text (accents and case aside), a due range, combined.
    assert_eq!(
        ids(&t.get("/v1/invoices?status=paid").await.body),
        ["F-000003"]
    );
    assert_eq!(
        ids(&t.get(&format!("/v1/invoices?client_id={norte}")).await.body),
        ["F-000003", "F-000004", "F-000005"]
    );
    assert_eq!(
        ids(&t.get("/v1/invoices?q=CABLE").await.body),
        ["F-000001", "F-000005"]
    );
    let spaced = e["payment_reference_display"]
        .as_str()
        .unwrap()
        .replace(' ', "+");
    assert_eq!(
        ids(&t.get(&format!("/v1/invoices?q={spaced}")).await.body),
        ["F-000005"]
    );
    assert_eq!(
        ids(&t
            .get(&format!(
                "/v1/invoices?client_id={sur}&due_from=2026-10-01&due_to=2026-11-10&q=servicio"
            ))
            .await
            .body),
        ["F-000002"]
    );
    assert_eq!(
        ids(&t.get("/v1/invoices?overdue=current").await.body),
        ["F-000005"]
    );
    assert_eq!(
        ids(&t.get("/v1/invoices?overdue=90%2B").await.body),
        ["F-000006"]
    );
    assert_eq!(
        ids(&t.get("/v1/invoices?overdue=1-30&status=paid").await.body),
        Vec::<String>::new()
    );
    let _ = (d, f);
    // Pauses that end by a day: F-000002 paused until the 27th.
    let paused = t
        .post(
            &format!("/v1/invoices/{}/pause", b["id"].as_str().unwrap()),
            &json!({"until": "2026-11-27", "reason": "espera su orden de compra"}),
            None,
        )
        .await;
    assert!(paused.status.is_success(), "{}", paused.raw);
    assert_eq!(
        ids(&t.get("/v1/invoices?pause_ends_by=2026-11-30").await.body),
        ["F-000002"]
    );
    let row = &t.get("/v1/invoices?pause_ends_by=2026-11-30").await.body["data"][0];
    assert_eq!(row["paused_until"], "2026-11-27");
    assert_eq!(
        ids(&t.get("/v1/invoices?pause_ends_by=2026-11-26").await.body),
        Vec::<String>::new()
    );
    let bad = t.get("/v1/invoices?pause_ends_by=pronto").await;
    assert_eq!(bad.body["errors"][0]["field"], "pause_ends_by");

    // The same list as CSV, for programs and for a spreadsheet in Spanish.
    let csv = t
        .get("/v1/reports/invoices?status=open,partially_paid&excel=0")
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.raw);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let lines: Vec<&str> = csv.raw.lines().collect();
    assert!(
        lines[0].starts_with("invoice_id,invoice_number,client_id,client_name,concept,status"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 6, "{}", csv.raw);
    assert!(
        lines[1].contains(",F-000006,") && lines[1].contains(",\"'=HYPERLINK(\"\"x\"\")\","),
        "a formula is neutralised: {}",
        lines[1]
    );
    assert!(
        lines[2].contains(",F-000001,")
            && lines[2].contains(",partially_paid,CLP,150000,100000,2026-08-01,2026-10-10,44,"),
        "{}",
        lines[2]
    );
    let excel = t.get("/v1/reports/invoices?overdue=1-30&excel=1").await;
    assert!(excel.raw.starts_with('\u{feff}'), "a spreadsheet's mark");
    assert!(
        excel
            .raw
            .contains("factura;id cliente;cliente;concepto;estado;moneda"),
        "{}",
        excel.raw
    );
    assert!(
        excel.raw.contains(";Pendiente;CLP;90000;90000;"),
        "{}",
        excel.raw
    );
}

/// GIVEN nonsense in every filter, WHEN the list or its CSV is asked, THEN a 422 names
/// each field (400 for an unknown parameter), and nothing is listed.
async fn bad_filters_are_named(t: TestApp) {
    let a = t
        .get("/v1/invoices?status=open,unpaid&overdue=45&currency=XYZ&due_from=2026-13-01&due_to=ayer&sort=name&client_id=inv_x&limit=0&after=%25%25")
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.raw);
    let mut fields: Vec<&str> = a.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "after",
            "client_id",
            "currency",
            "due_from",
            "due_to",
            "limit",
            "overdue",
            "sort",
            "status"
        ]
    );
    let a = t
        .get("/v1/invoices?due_from=2026-12-01&due_to=2026-11-01")
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.body["errors"][0]["field"], "due_to");
    let long = "x".repeat(101);
    assert_eq!(
        t.get(&format!("/v1/invoices?q={long}")).await.body["errors"][0]["field"],
        "q"
    );
    let stranger = cobro_domain::ClientId::generate();
    let a = t.get(&format!("/v1/invoices?client_id={stranger}")).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.body["errors"][0]["field"], "client_id");
    assert_eq!(
        t.get("/v1/invoices?colour=red").await.status,
        StatusCode::BAD_REQUEST
    );
    let csv = t.get("/v1/reports/invoices?overdue=soon&excel=2").await;
    assert_eq!(csv.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", csv.raw);
    // Filters that match nothing are an empty list, not an error.
    let none = t.get("/v1/invoices?q=%25_%5C").await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.body["data"], json!([]));
}

on_both_stacks!(invoices_are_listed_across_clients, bad_filters_are_named);
