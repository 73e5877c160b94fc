//! The figures over HTTP: the aging as of a day, in JSON and CSV, against amounts worked
//! out by hand; and every bad query refused with nothing written.

use super::helpers::*;

/// Creates a CLP or USD invoice of one line, issued and due on the days given.
async fn invoice(
    t: &TestApp,
    client: &str,
    currency: &str,
    amount: &str,
    issued: &str,
    due: &str,
) -> String {
    let a = t
        .post("/v1/invoices", &json!({"client_id": client, "currency": currency, "issue_date": issued, "due_date": due,
            "lines": [{"description": "Servicio", "quantity": "1", "unit_amount": amount}]}), None)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    a.body["id"].as_str().unwrap().to_string()
}

fn bucket<'a>(currency: &'a Value, name: &str) -> &'a Value {
    currency["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["bucket"] == name)
        .unwrap()
}

fn currency<'a>(body: &'a Value, code: &str) -> &'a Value {
    body["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["currency"] == code)
        .unwrap_or(&Value::Null)
}

/// The ledgers the aging tests read, made through the API; ends on 1 Dec 2026.
/// Returns Andes's and Norte's ids and Andes's first invoice.
pub(crate) async fn aging_fixture(t: &TestApp) -> (String, String, String) {
    // The business is in Santiago. On 25 Nov 2026 (12:00 local):
    t.set_now("2026-11-25T15:00:00Z");
    let andes = t
        .client(json!({"name": "Ferretería Andes", "email": unique_email("andes")}))
        .await;
    let norte = t
        .client(json!({"name": "Café Norte", "email": unique_email("norte")}))
        .await;
    // Andes: CLP 100.000 due 1 Oct; CLP 50.000 due 20 Nov. Norte: CLP 40.000 due 10 Aug,
    // USD 250.00 due 15 Dec; a CLP 999 invoice voided; a CLP 30.000 one paid in full.
    let a1 = invoice(t, &andes, "CLP", "100000", "2026-09-01", "2026-10-01").await;
    invoice(t, &andes, "CLP", "50000", "2026-11-01", "2026-11-20").await;
    invoice(t, &norte, "CLP", "40000", "2026-07-01", "2026-08-10").await;
    invoice(t, &norte, "USD", "250.00", "2026-11-15", "2026-12-15").await;
    let void = invoice(t, &norte, "CLP", "999", "2026-11-01", "2026-11-30").await;
    let v = t
        .post(&format!("/v1/invoices/{void}/void"), &json!({}), None)
        .await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.raw);
    let paid = invoice(t, &andes, "CLP", "30000", "2026-11-01", "2026-11-30").await;
    let p = t.post(&format!("/v1/invoices/{paid}/payments"),
        &json!({"method": "transfer", "amount": "30000", "currency": "CLP", "reference": "T-1"}), None).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.raw);
    // On 28 Nov Andes pays 60.000 of the first.
    t.set_now("2026-11-28T15:00:00Z");
    let p = t.post(&format!("/v1/invoices/{a1}/payments"),
        &json!({"method": "transfer", "amount": "60000", "currency": "CLP", "reference": "T-2"}), None).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.raw);
    t.set_now("2026-12-01T15:00:00Z");
    (andes, norte, a1)
}

async fn the_aging_as_of_a_day(t: TestApp) {
    let (andes, norte, a1) = aging_fixture(&t).await;

    // As of 27 Nov: a1 owes 100.000, 57 days past 1 Oct (31–60); the 50.000 is 7 days
    // late (1–30); Norte's 40.000 is 109 days late (90+); the USD is current.
    let a = t.get("/v1/reports/aging?as_of=2026-11-27").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.body["as_of"], "2026-11-27");
    let clp = currency(&a.body, "CLP");
    assert_eq!(bucket(clp, "current")["amount"]["amount"], "0");
    assert_eq!(bucket(clp, "1-30")["amount"]["amount"], "50000");
    assert_eq!(bucket(clp, "31-60")["amount"]["amount"], "100000");
    assert_eq!(bucket(clp, "61-90")["invoices"], 0);
    assert_eq!(bucket(clp, "90+")["amount"]["amount"], "40000");
    assert_eq!(clp["total"]["amount"]["amount"], "190000");
    assert_eq!(clp["total"]["invoices"], 3);
    assert_eq!(clp["total"]["late_fees"]["amount"], "0");
    let usd = currency(&a.body, "USD");
    assert_eq!(bucket(usd, "current")["amount"]["amount"], "250.00");
    assert_eq!(usd["total"]["invoices"], 1);
    assert!(a.body["method"].as_str().unwrap().contains("art. 1595"));

    // As of 1 Dec: a1 owes 40.000 and is 61 days late (61–90); the 50.000 11 days.
    let a = t.get("/v1/reports/aging").await;
    assert_eq!(a.body["as_of"], "2026-12-01");
    let clp = currency(&a.body, "CLP");
    assert_eq!(bucket(clp, "61-90")["amount"]["amount"], "40000");
    assert_eq!(bucket(clp, "31-60")["invoices"], 0);
    assert_eq!(clp["total"]["amount"]["amount"], "130000");
    // Per client, largest first: Andes 90.000, Norte 40.000 (in CLP).
    let clients: Vec<(&str, &str)> = a.body["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["currencies"][0]["total"]["amount"]["amount"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        clients,
        [("Ferretería Andes", "90000"), ("Café Norte", "40000")]
    );
    // Read: the open invoices and the ones settled since the day (the paid one settled
    // 25 Nov, the void too): 4 open.
    assert_eq!(a.body["invoices_read"], 4, "{}", a.raw);
    // As of 25 Nov, the settled ones are read too (they settled that day).
    let a = t.get("/v1/reports/aging?as_of=2026-11-25").await;
    assert_eq!(a.body["invoices_read"], 6, "{}", a.raw);

    // One currency, one client.
    let a = t.get("/v1/reports/aging?currency=usd").await;
    assert_eq!(a.body["currencies"].as_array().unwrap().len(), 1);
    assert_eq!(a.body["currencies"][0]["currency"], "USD");
    let a = t.get(&format!("/v1/reports/aging?client_id={andes}")).await;
    assert_eq!(
        currency(&a.body, "CLP")["total"]["amount"]["amount"],
        "90000"
    );
    assert!(currency(&a.body, "USD").is_null());

    // CSV: a row per client and currency, then the total; for programs and for Excel.
    let csv = t
        .get("/v1/reports/aging.csv?excel=0&as_of=2026-12-01")
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.raw);
    assert!(csv.content_type.starts_with("text/csv"));
    let lines: Vec<&str> = csv.raw.lines().collect();
    assert_eq!(
        lines[0],
        "client_id,client_name,currency,current,1-30,31-60,61-90,90+,total,late_fees,invoices"
    );
    assert_eq!(
        lines[1],
        format!("{andes},Ferretería Andes,CLP,0,50000,0,40000,0,90000,0,2")
    );
    assert_eq!(
        lines[2],
        format!("{norte},Café Norte,CLP,0,0,0,0,40000,40000,0,1")
    );
    assert_eq!(lines[3], ",TOTAL,CLP,0,50000,0,40000,40000,130000,0,3");
    assert_eq!(
        lines[5],
        ",TOTAL,USD,250.00,0.00,0.00,0.00,0.00,250.00,0.00,1"
    );
    let excel = t.get("/v1/reports/aging.csv?excel=1").await;
    assert!(excel.raw.starts_with('\u{feff}'));
    assert!(excel.raw.contains(";250,00;"), "{}", excel.raw);

    // Bad queries: each named, nothing written.
    for (q, status, field) in [
        ("as_of=2026-13-01", 422, Some("as_of")),
        ("as_of=ayer", 422, Some("as_of")),
        ("as_of=2026-12-02", 422, Some("as_of")),
        ("currency=XYZ", 422, Some("currency")),
        ("client_id=cli_aaaaaaaaaaaaaaaaaaaaaaaaaa", 404, None),
        (&*format!("client_id={a1}"), 404, None),
        ("period=12", 400, None),
    ] {
        for path in ["/v1/reports/aging", "/v1/reports/aging.csv"] {
            let a = t.get(&format!("{path}?{q}")).await;
            assert_eq!(a.status.as_u16(), status, "{path}?{q}: {}", a.raw);
            assert!(a.content_type.starts_with("application/problem+json"));
            if let Some(f) = field {
                assert_eq!(a.body["errors"][0]["field"], f, "{}", a.raw);
            }
        }
    }
    let a = t.get("/v1/reports/aging.csv?excel=2").await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// DSO on the aging's ledgers, worked out by hand as of 30 Nov 2026 (months Nov 30
/// days, Oct 31, Sep 30, …). CLP receivables: 40.000 + 50.000 + 40.000 = 130.000. CLP
/// credit sales by issue date, the void one left out: Nov 50.000 + 30.000 = 80.000,
/// Oct none, Sep 100.000, Jul 40.000.
async fn dso_by_both_methods(t: TestApp) {
    aging_fixture(&t).await;
    let a = t.get("/v1/reports/dso?as_of=2026-11-30").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let clp = currency(&a.body, "CLP");
    let period = |c: &Value, i: usize| {
        let p = &c["periods"][i];
        (
            p["months"].as_u64().unwrap(),
            p["days"].as_u64().unwrap(),
            p["sales"]["amount"].as_str().unwrap().to_string(),
            p["simple"].as_str().map(str::to_string),
            p["countback"].as_str().map(str::to_string),
            p["exhausted"].as_bool().unwrap(),
        )
    };
    let s = |v: &str| Some(v.to_string());
    // 3 months (91 days): simple 130.000 / 180.000 × 91 = 65.72 → 65.7. Countback: Nov
    // takes 80.000 (30 days), 50.000 left; October sold nothing, so it stops: 30, a
    // lower bound.
    assert_eq!(
        period(clp, 0),
        (3, 91, "180000".into(), s("65.7"), s("30.0"), false)
    );
    // 6 months (183 days): 130.000 / 220.000 × 183 = 108.14 → 108.1.
    assert_eq!(
        period(clp, 1),
        (6, 183, "220000".into(), s("108.1"), s("30.0"), false)
    );
    // 12 months (Dec 2025 to Nov 2026, 365 days): 130.000 / 220.000 × 365 = 215.68.
    assert_eq!(
        period(clp, 2),
        (12, 365, "220000".into(), s("215.7"), s("30.0"), false)
    );
    assert_eq!(clp["months"][0]["sales"]["amount"], "80000");
    assert_eq!(clp["months"][1]["sales"]["amount"], "0");
    assert_eq!(clp["months"].as_array().unwrap().len(), 12);
    // USD: 250.00 owed, 250.00 sold in November: simple 91.0; countback exhausted in
    // November: 30.
    let usd = currency(&a.body, "USD");
    assert_eq!(
        period(usd, 0),
        (3, 91, "250.00".into(), s("91.0"), s("30.0"), true)
    );
    assert!(a.body["method"].as_str().unwrap().contains("Countback"));

    // One period, one currency.
    let a = t
        .get("/v1/reports/dso?as_of=2026-11-30&months=1&currency=CLP")
        .await;
    assert_eq!(a.body["currencies"].as_array().unwrap().len(), 1);
    let clp = currency(&a.body, "CLP");
    // November alone (30 days): 130.000 / 80.000 × 30 = 48.75 → 48.8 (half to even).
    assert_eq!(
        period(clp, 0),
        (1, 30, "80000".into(), s("48.8"), s("30.0"), false)
    );

    for (q, status, field) in [
        ("months=37", 422, Some("months")),
        ("months=0", 422, Some("months")),
        ("months=doce", 422, Some("months")),
        ("as_of=2026-12-02", 422, Some("as_of")),
        ("currency=XYZ", 422, Some("currency")),
        ("client_id=cli_x", 400, None),
    ] {
        let a = t.get(&format!("/v1/reports/dso?{q}")).await;
        assert_eq!(a.status.as_u16(), status, "{q}: {}", a.raw);
        if let Some(f) = field {
            assert_eq!(a.body["errors"][0]["field"], f, "{}", a.raw);
        }
    }
}

/// CEI on the aging's ledgers as of 30 Nov 2026, by hand (CLP; the invoices issued on
/// 1 Nov count from that day, as accounting does):
/// - November: began with 100.000 + 40.000 = 140.000 owed (end of 31 Oct), sold 80.000
///   (the void one left out), ended with 130.000, none of it current:
///   (140.000 + 80.000 − 130.000) ÷ (140.000 + 80.000 − 0) = 40.9.
/// - October: 140.000, no sales, 140.000 at the end, none current: 0 ÷ 140.000 = 0.0.
/// - September: 40.000 at the start, 100.000 sold, 140.000 at the end of which 100.000
///   current (due 1 Oct): 0 ÷ 40.000 = 0.0.
///
/// USD: 0 at the start, 250.00 sold, 250.00 owed and current: nothing collectable, none.
async fn cei_month_by_month(t: TestApp) {
    aging_fixture(&t).await;
    let a = t.get("/v1/reports/cei?as_of=2026-11-30&months=3").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let clp = currency(&a.body, "CLP");
    let months: Vec<(String, String, String, String, String, Value)> = clp["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let amt = |k: &str| m[k]["amount"].as_str().unwrap().to_string();
            (
                m["from"].as_str().unwrap().into(),
                amt("begin"),
                amt("sales"),
                amt("end"),
                amt("end_current"),
                m["cei"].clone(),
            )
        })
        .collect();
    assert_eq!(
        months,
        [
            (
                "2026-11-01".into(),
                "140000".into(),
                "80000".into(),
                "130000".into(),
                "0".into(),
                json!("40.9")
            ),
            (
                "2026-10-01".into(),
                "140000".into(),
                "0".into(),
                "140000".into(),
                "0".into(),
                json!("0.0")
            ),
            (
                "2026-09-01".into(),
                "40000".into(),
                "100000".into(),
                "140000".into(),
                "100000".into(),
                json!("0.0")
            ),
        ]
    );
    let usd = currency(&a.body, "USD");
    assert_eq!(usd["months"][0]["cei"], Value::Null, "{}", a.raw);
    // Twelve months by default; bad months refused.
    let a = t.get("/v1/reports/cei?as_of=2026-11-30").await;
    assert_eq!(
        currency(&a.body, "CLP")["months"].as_array().unwrap().len(),
        12
    );
    for q in ["months=37", "months=0", "as_of=mañana", "currency=ABC"] {
        let a = t.get(&format!("/v1/reports/cei?{q}")).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {}", a.raw);
    }
}

/// The invoice of `client` in CLP whose total is `total`.
async fn find(t: &TestApp, client: &str, total: &str) -> String {
    let l = t
        .get(&format!("/v1/invoices?client_id={client}&currency=CLP"))
        .await;
    assert_eq!(l.status, StatusCode::OK, "{}", l.raw);
    let row = l.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["total"] == total)
        .unwrap_or_else(|| panic!("no {total} in {}", l.raw));
    row["id"].as_str().unwrap().to_string()
}

/// The trends on the aging's ledgers, and in December (Santiago, grace 2 days): on 1 Dec
/// Andes promises 20.000 of its 50.000 invoice by 3 Dec and pays it on 2 Dec (kept);
/// Norte promises its 40.000 by 5 Dec and never pays (broken at the end of 7 Dec). As of
/// 20 Dec, by hand:
/// - December (1–20), CLP: nothing invoiced; 20.000 collected; owed at the end 40.000 +
///   30.000 + 40.000 = 110.000, all overdue (100.0 %); CEI (130.000 + 0 − 110.000) ÷
///   (130.000 − 0) = 15.4; nothing settled; one promise kept of two: 50.0.
/// - November, CLP: invoiced 50.000 + 30.000 = 80.000 (the void one left out); collected
///   30.000 + 60.000 = 90.000; owed at the start 140.000, at the end 130.000, all
///   overdue; CEI 40.9 (as above); the 30.000 invoice settled on 25 Nov, due 30 Nov:
///   0.0 days late.
/// - USD: 250.00 invoiced in November, current at its end (0.0 % overdue), overdue on
///   20 Dec (due 15 Dec): 100.0 %.
async fn trends_month_by_month(t: TestApp) {
    let (andes, norte, _) = aging_fixture(&t).await;
    let a2 = find(&t, &andes, "50000").await;
    let n1 = find(&t, &norte, "40000").await;
    let p = t
        .post(
            &format!("/v1/invoices/{a2}/promises"),
            &json!({"date": "2026-12-03", "amount": "20000"}),
            None,
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.raw);
    let p = t
        .post(
            &format!("/v1/invoices/{n1}/promises"),
            &json!({"date": "2026-12-05"}),
            None,
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.raw);
    t.set_now("2026-12-02T15:00:00Z");
    let p = t.post(&format!("/v1/invoices/{a2}/payments"),
        &json!({"method": "transfer", "amount": "20000", "currency": "CLP", "reference": "T-3"}), None).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.raw);
    t.set_now("2026-12-20T15:00:00Z");
    let a = t.get("/v1/reports/trends?as_of=2026-12-20&months=2").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.body["object"], "trends");
    let row = |m: &Value| {
        let amt = |k: &str| m[k]["amount"].as_str().unwrap().to_string();
        (
            m["from"].as_str().unwrap().to_string(),
            [
                amt("invoiced"),
                amt("collected"),
                amt("owed_at_start"),
                amt("owed_at_end"),
                amt("overdue_at_end"),
            ],
            [
                m["overdue_share"].clone(),
                m["cei"].clone(),
                m["avg_days_late"].clone(),
                m["promise_kept_rate"].clone(),
            ],
            (
                m["settled_invoices"].as_u64(),
                m["promises_kept"].as_u64(),
                m["promises_broken"].as_u64(),
            ),
        )
    };
    let clp: Vec<_> = currency(&a.body, "CLP")["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(row)
        .collect();
    let s = |v: &str| v.to_string();
    assert_eq!(
        clp,
        [
            (
                s("2026-12-01"),
                [s("0"), s("20000"), s("130000"), s("110000"), s("110000")],
                [json!("100.0"), json!("15.4"), Value::Null, json!("50.0")],
                (Some(0), Some(1), Some(1))
            ),
            (
                s("2026-11-01"),
                [
                    s("80000"),
                    s("90000"),
                    s("140000"),
                    s("130000"),
                    s("130000")
                ],
                [json!("100.0"), json!("40.9"), json!("0.0"), Value::Null],
                (Some(1), Some(0), Some(0))
            ),
        ],
        "{}",
        a.raw
    );
    let usd = currency(&a.body, "USD");
    let shares: Vec<&Value> = usd["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["overdue_share"])
        .collect();
    assert_eq!(shares, [&json!("100.0"), &json!("0.0")], "{}", a.raw);
    assert_eq!(usd["months"][1]["invoiced"]["amount"], "250.00");
    // As of 30 Nov, December is not there and November is the same.
    let b = t
        .get("/v1/reports/trends?as_of=2026-11-30&months=1&currency=CLP")
        .await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.raw);
    assert_eq!(b.body["currencies"].as_array().unwrap().len(), 1);
    assert_eq!(row(&b.body["currencies"][0]["months"][0]), clp[1].clone());
    for q in [
        "months=37",
        "months=x",
        "as_of=2026-12-21",
        "as_of=2026-02-30",
        "currency=XYZ",
    ] {
        let a = t.get(&format!("/v1/reports/trends?{q}")).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {}", a.raw);
        assert_eq!(a.content_type, "application/problem+json", "{q}");
    }
    let a = t.get("/v1/reports/trends?month=3").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.raw);
}

/// The expected cash as of Tuesday 1 Dec 2026 (the week of Monday 30 Nov; the weeks
/// behind begin on 5 Oct), on the aging's ledgers and, on 1 Dec: Andes pays its 50.000
/// due 20 Nov (11 days late: of its two invoices settled in the last twelve months, one
/// was on time, 50 %) and is invoiced 80.000 due Thursday 10 Dec; Norte promises its
/// 40.000 (due 10 Aug) for Friday 4 Dec. By hand:
/// - CLP arrived: 30.000 + 60.000 in the week of 23 Nov, 50.000 this week;
/// - this week: Norte's promise 40.000 × 100 % (nobody has decided promises: 100 %);
/// - the week of 7 Dec: Andes's 80.000 × 50 % = 40.000;
/// - USD, the week of 14 Dec: Norte's 250.00 (no history of its own) × the business's
///   on-time share, Andes's 50 % = 125.00;
/// - Andes's 40.000 left of its first invoice, past due with no promise: on no date.
async fn cash_expected_by_week(t: TestApp) {
    let (andes, norte, _) = aging_fixture(&t).await;
    let a2 = find(&t, &andes, "50000").await;
    let n1 = find(&t, &norte, "40000").await;
    let p = t.post(&format!("/v1/invoices/{a2}/payments"),
        &json!({"method": "transfer", "amount": "50000", "currency": "CLP", "reference": "T-4"}), None).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.raw);
    invoice(&t, &andes, "CLP", "80000", "2026-12-01", "2026-12-10").await;
    let p = t
        .post(
            &format!("/v1/invoices/{n1}/promises"),
            &json!({"date": "2026-12-04"}),
            None,
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.raw);
    let a = t.get("/v1/reports/cash").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(
        (a.body["object"].as_str(), a.body["as_of"].as_str()),
        (Some("cash_forecast"), Some("2026-12-01"))
    );
    let clp = currency(&a.body, "CLP");
    let weeks = clp["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 16);
    assert_eq!(
        (
            weeks[0]["from"].as_str(),
            weeks[8]["from"].as_str(),
            weeks[15]["to"].as_str()
        ),
        (Some("2026-10-05"), Some("2026-11-30"), Some("2027-01-24"))
    );
    let amt = |w: &Value, k: &str| w[k]["amount"].as_str().unwrap().to_string();
    let arrived: Vec<String> = weeks.iter().map(|w| amt(w, "arrived")).collect();
    let mut want = vec!["0".to_string(); 16];
    want[7] = "90000".into();
    want[8] = "50000".into();
    assert_eq!(arrived, want, "{}", a.raw);
    let ahead: Vec<[String; 4]> = weeks[8..11]
        .iter()
        .map(|w| {
            [
                amt(w, "due"),
                amt(w, "promised"),
                amt(w, "instalments"),
                amt(w, "expected"),
            ]
        })
        .collect();
    let s = |v: &str| v.to_string();
    assert_eq!(
        ahead,
        [
            [s("0"), s("40000"), s("0"), s("40000")],
            [s("80000"), s("0"), s("0"), s("40000")],
            [s("0"), s("0"), s("0"), s("0")],
        ],
        "{}",
        a.raw
    );
    assert_eq!(
        (amt(clp, "overdue"), amt(clp, "later")),
        (s("40000"), s("0"))
    );
    let usd = currency(&a.body, "USD");
    let w = &usd["weeks"][10];
    assert_eq!(
        (w["from"].as_str(), amt(w, "due"), amt(w, "expected")),
        (Some("2026-12-14"), s("250.00"), s("125.00"))
    );
    // One currency; a past day sees the ledgers as they were (no promise yet on 30 Nov:
    // Norte's 40.000 was on no date).
    let b = t
        .get("/v1/reports/cash?as_of=2026-11-30&currency=CLP")
        .await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.raw);
    assert_eq!(b.body["currencies"].as_array().unwrap().len(), 1);
    assert_eq!(
        amt(&b.body["currencies"][0], "overdue"),
        "130000",
        "{}",
        b.raw
    );
    for q in ["as_of=2026-12-02", "as_of=hoy", "currency=pesos"] {
        let a = t.get(&format!("/v1/reports/cash?{q}")).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {}", a.raw);
        assert_eq!(a.content_type, "application/problem+json", "{q}");
    }
    let a = t.get("/v1/reports/cash?months=3").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.raw);
}

/// The weekly summary, on the aging's ledgers: Monday 30 Nov before 08:00 in Santiago,
/// not yet; Tuesday 1 Dec (no sweep on Monday after 08:00): the week of 30 Nov's, to the
/// business's address in Spanish and to the owner in English, once. By hand, the week
/// before (23–29 Nov): CLP 30.000 + 60.000 collected; overdue on 1 Dec: Andes 40.000
/// (61 days: 61–90) and 50.000 (11 days: 1–30), Norte 40.000 (113 days: over 90).
async fn the_weekly_summary_goes_once_a_week(t: TestApp) {
    aging_fixture(&t).await;
    let owner = cobro_app::usecases::people::add_user(
        &t.app,
        &cobro_domain::Actor::Cobro,
        &cobro_domain::user::NewUser {
            email: unique_email("owner"),
            name: "Olga".into(),
            role: "owner".into(),
            locale: Some("en".into()),
        },
    )
    .await
    .unwrap();
    let business = t.app.config.business_email.clone();
    let summaries = |mails: Vec<String>| -> Vec<(String, String)> {
        mails
            .iter()
            .map(|m| parsed(m))
            .filter(|(s, _, _)| s.contains("summary") || s.contains("Resumen"))
            .map(|(s, text, _)| (s, text))
            .collect()
    };
    // Monday 07:00 in Santiago: not yet.
    let r = sweep_at(&t.app, "2026-11-30T10:00:00Z").await;
    assert_eq!(r.summaries, 0);
    assert!(summaries(t.mails_to(&business).await).is_empty());
    let r = sweep_at(&t.app, "2026-12-01T15:00:00Z").await;
    assert_eq!(r.summaries, 2, "{r:?}");
    let es = summaries(t.mails_to(&business).await);
    assert_eq!(es.len(), 1);
    let (subject, text) = &es[0];
    assert_eq!(subject, "Resumen semanal de cobranza — Estudio Sur");
    for line in [
        "La semana pasada es la del lunes, 23 de noviembre de 2026 al domingo, 29 de noviembre de 2026.",
        "- Cobrado la semana pasada: $90.000.",
        "- Vencido hoy: $130.000; 1–30 días: $50.000; 31–60 días: $0; 61–90 días: $40.000; Más de 90: $40.000.",
        "- Prometido para esta semana: $0.",
        "- Incumplidos la semana pasada: 0 promesas y 0 planes de pago.",
        "- Quienes más deben vencido: Ferretería Andes ($90.000); Café Norte ($40.000).",
        "- Nadie tiene deuda vencida.",
        "Facturas escaladas a cobranza la semana pasada: 0.",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(
        text.contains(&format!("{}/console", t.app.config.public_url)),
        "{text}"
    );
    let en = summaries(t.mails_to(&owner.email).await);
    assert_eq!(en.len(), 1);
    assert!(en[0].1.starts_with("Hello Olga,"), "{}", en[0].1);
    assert!(
        en[0].1.contains("- Collected last week: CLP 90,000."),
        "{}",
        en[0].1
    );
    // Once a week: later sweeps that week send nothing.
    for at in ["2026-12-01T16:00:00Z", "2026-12-06T20:00:00Z"] {
        assert_eq!(sweep_at(&t.app, at).await.summaries, 0, "{at}");
    }
    assert_eq!(summaries(t.mails_to(&business).await).len(), 1);
    // The next Monday, after 08:00: the next week's.
    assert_eq!(sweep_at(&t.app, "2026-12-07T11:30:00Z").await.summaries, 2);
    assert_eq!(summaries(t.mails_to(&business).await).len(), 2);
    let job = t
        .app
        .store
        .job("weekly-summary:2026-12-07")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (job.status, job.message_ids.len()),
        (cobro_domain::StageStatus::Done, 2)
    );
}

on_both_stacks!(
    the_aging_as_of_a_day,
    dso_by_both_methods,
    cei_month_by_month,
    trends_month_by_month,
    cash_expected_by_week,
    the_weekly_summary_goes_once_a_week
);
