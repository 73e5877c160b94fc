//! Clients over HTTP: created, listed and read back; API keys guarding every route.

use super::helpers::*;

async fn invoices_and_clients_read_back(t: TestApp) {
    let cid = t.client(json!({"name": "ACME", "email": unique_email("acme"), "locale": "en", "timezone": "America/Mexico_City",
        "credit_limit": {"amount": "5000", "currency": "USD"}})).await;
    let c = t.get(&format!("/v1/clients/{cid}")).await;
    assert_eq!(c.status, StatusCode::OK);
    assert_eq!(
        (c.body["locale"].as_str(), c.body["timezone"].as_str()),
        (Some("en"), Some("America/Mexico_City"))
    );
    assert_eq!(
        c.body["credit_limit"],
        json!({"amount": "5000.00", "currency": "USD"})
    );

    let mut ids = Vec::new();
    for (day, amount) in [
        ("2026-11-01", "10.5"),
        ("2026-11-02", "20"),
        ("2026-11-03", "0.99"),
    ] {
        let a = t.post("/v1/invoices", &json!({"client_id": cid, "currency": "USD", "issue_date": day, "due_date": "2026-12-31",
            "lines": [{"description": "Hours", "quantity": "1.5", "unit_amount": amount}]}), None).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
        ids.push(a.body["id"].as_str().unwrap().to_string());
    }
    let inv = t.get(&format!("/v1/invoices/{}", ids[0])).await;
    assert_eq!(inv.body["total"], "15.75");
    assert_eq!(inv.body["ledger"][0]["kind"], "charge");
    assert_eq!(
        inv.body["ledger"][0]["amount"],
        json!({"amount": "15.75", "currency": "USD"})
    );
    assert!(
        inv.body.get("pay_url").is_none(),
        "the pay link is shown only at creation"
    );
    // 1.5 × 0.99 = 1.485 -> 1.48 (half-even)
    assert_eq!(
        t.get(&format!("/v1/invoices/{}", ids[2])).await.body["total"],
        "1.48"
    );

    // Newest first, two per page.
    let p1 = t.get(&format!("/v1/clients/{cid}/invoices?limit=2")).await;
    let got: Vec<&str> = p1.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    assert_eq!(p1.body["data"][0]["status"], "open");
    let next = p1.body["next_cursor"].as_str().unwrap();
    let p2 = t
        .get(&format!("/v1/clients/{cid}/invoices?limit=2&after={next}"))
        .await;
    assert_eq!(p2.body["data"][0]["id"], ids[0].as_str());
    assert!(p2.body["next_cursor"].is_null());

    let clients = t.get("/v1/clients?limit=100").await;
    assert!(
        clients.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == cid.as_str())
    );

    for path in [
        "/v1/invoices/inv_aaaaaaaaaaaaaaaaaaaaaaaaaa".to_string(),
        "/v1/invoices/not-an-id".into(),
        "/v1/clients/cli_aaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
        "/v1/clients/cli_aaaaaaaaaaaaaaaaaaaaaaaaaa/invoices".into(),
    ] {
        let a = t.get(&path).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(a.content_type, "application/problem+json");
    }
    for bad in ["limit=0", "limit=101", "limit=x", "after=%%%"] {
        let a = t.get(&format!("/v1/clients?{bad}")).await;
        assert!(a.status.is_client_error(), "{bad}: {}", a.status);
        assert_eq!(a.content_type, "application/problem+json", "{bad}");
    }
}

/// Missing, wrong and revoked keys get byte-identical 401s.
async fn api_keys_guard_every_route(t: TestApp) {
    let (revoked_key, revoked) =
        cobro_app::usecases::keys::create(&t.app, &cobro_domain::Actor::Cobro, "old")
            .await
            .unwrap();
    assert!(
        cobro_app::usecases::keys::revoke(
            &t.app,
            &cobro_domain::Actor::Cobro,
            revoked_key.id.as_str()
        )
        .await
        .unwrap()
    );
    let url = format!("{}/v1/clients", t.base);
    let attempts = [
        t.http.get(&url),
        t.http.get(&url).bearer_auth("cobro_sk_wrong"),
        t.http.get(&url).bearer_auth(revoked.expose()),
        t.http
            .get(&url)
            .header("authorization", format!("Basic {}", t.key)),
        t.http
            .post(&url)
            .bearer_auth(revoked.expose())
            .json(&json!({"name": "X", "email": "x@y.cl"})),
    ];
    let mut bodies = Vec::new();
    for req in attempts {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()["www-authenticate"], r#"Bearer realm="cobro""#);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        bodies.push(res.text().await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert_eq!(t.get("/v1/clients").await.status, StatusCode::OK);
    assert!(
        t.get("/v1/clients?limit=100").await.body["data"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing written"
    );
}

/// Tax ids are checked by their check digits when the country is known, written as the
/// country writes them, and a second client with the same one is a 409 naming the first,
/// unless it is meant.
async fn tax_ids_are_checked_and_unique(t: TestApp) {
    let new = |name: &str, extra: Value| {
        let mut body = json!({"name": name, "email": unique_email("rut")});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (extra, field) in [
        (json!({"country": "CL", "tax_id": "76.543.210-K"}), "tax_id"),
        (json!({"country": "MX", "tax_id": "SAT970701NN4"}), "tax_id"),
        (json!({"country": "CO", "tax_id": "800197268-5"}), "tax_id"),
        (
            json!({"country": "AR", "tax_id": "33-69345023-8"}),
            "tax_id",
        ),
        (
            json!({"country": "BR", "tax_id": "12.ABC.345/01DE-36"}),
            "tax_id",
        ),
        (
            json!({"country": "Chile", "tax_id": "76.543.210-3"}),
            "country",
        ),
    ] {
        let a = t
            .post("/v1/clients", &new("Mal", extra.clone()), None)
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{extra}: {}",
            a.raw
        );
        assert!(a.raw.contains(field), "{}", a.raw);
    }
    let a = t
        .post(
            "/v1/clients",
            &new("Primera", json!({"country": "cl", "tax_id": "765432103"})),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(
        (a.body["tax_id"].as_str(), a.body["country"].as_str()),
        (Some("76.543.210-3"), Some("CL"))
    );
    let first = a.body["id"].as_str().unwrap().to_string();
    for (country, id) in [
        ("MX", "SAT970701NN3"),
        ("CO", "800197268-4"),
        ("AR", "33693450239"),
        ("BR", "00394460005887"),
    ] {
        let a = t
            .post(
                "/v1/clients",
                &new("Otra", json!({"country": country, "tax_id": id})),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{country} {id}: {}", a.raw);
    }
    let again = new("Segunda", json!({"country": "CL", "tax_id": "76543210-3"}));
    let a = t.post("/v1/clients", &again, None).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.raw);
    assert!(
        a.raw.contains("duplicate-tax-id") && a.raw.contains(&first) && a.raw.contains("Primera"),
        "{}",
        a.raw
    );
    let mut meant = again.clone();
    meant["duplicate_tax_id"] = json!(true);
    let a = t.post("/v1/clients", &meant, None).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(a.body["shares_tax_id_with"], first.as_str());
}

on_both_stacks!(
    invoices_and_clients_read_back,
    api_keys_guard_every_route,
    tax_ids_are_checked_and_unique
);
