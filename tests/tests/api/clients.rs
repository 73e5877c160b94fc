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

/// `PATCH /v1/clients/{id}`: what is sent changes, what is left out stays, `null` removes;
/// bad fields are 422 by field, the tax id cannot be changed, and nothing changed writes
/// nothing to the log.
async fn a_client_is_changed(t: TestApp) {
    let cid = t
        .client(json!({"name": "Vidrios Sur", "email": unique_email("vidrios"), "phone": "+56 9 8765 4321",
            "tax_id": "76.543.210-3", "country": "CL", "terms": {"grace_days": 2}}))
        .await;
    let path = format!("/v1/clients/{cid}");
    let before = t.get(&path).await.body;
    for (body, field) in [
        (json!({"email": "x"}), "email"),
        (json!({"locale": "pt"}), "locale"),
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"phone": "call me"}), "phone"),
        (json!({"name": ""}), "name"),
        (json!({"terms": {"grace_days": -1}}), "terms.grace_days"),
        (
            json!({"terms": {"escalate_after_days": 5, "reminder_offsets": [1, 9]}}),
            "terms.escalate_after_days",
        ),
    ] {
        let a = t.patch(&path, &body).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.raw
        );
        assert_eq!(a.body["errors"][0]["field"], field, "{}", a.raw);
    }
    for body in [
        json!({"tax_id": "11.111.111-1"}),
        json!({"country": "MX"}),
        json!([1]),
    ] {
        let a = t.patch(&path, &body).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.raw
        );
    }
    assert_eq!(t.get(&path).await.body, before, "nothing written");
    for other in [
        "/v1/clients/cli_00000000000000000000000000",
        "/v1/clients/inv_x",
    ] {
        assert_eq!(
            t.patch(other, &json!({"name": "X"})).await.status,
            StatusCode::NOT_FOUND
        );
    }
    // Nothing sent, nothing changed: the client as it is, and no record.
    let same = t.patch(&path, &json!({})).await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.raw);
    assert_eq!(same.body["email"], before["email"]);
    let a = t
        .patch(
            &path,
            &json!({"name": "Vidrios del Sur", "phone": null, "locale": "en",
            "terms": {"reminder_offsets": [0, 10]}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.body["name"], "Vidrios del Sur");
    assert_eq!(a.body["locale"], "en");
    assert_eq!(a.body["tax_id"], "76.543.210-3");
    assert!(a.body.get("phone").is_none(), "{}", a.raw);
    assert_eq!(
        a.body["terms"],
        json!({"reminder_offsets": [0, 10]}),
        "terms are sent whole"
    );
    assert_eq!(t.get(&path).await.body["name"], "Vidrios del Sur");
    let a = t.patch(&path, &json!({"terms": null})).await;
    assert!(a.body.get("terms").is_none(), "{}", a.raw);
    let log = t.get(&format!("/v1/audit?client_id={cid}")).await.body;
    let details: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "client_updated")
        .map(|r| r["detail"].as_str().unwrap())
        .collect();
    assert_eq!(details, ["terms", "name, phone, locale, terms"], "{log}");
}

on_both_stacks!(
    a_client_is_changed,
    invoices_and_clients_read_back,
    api_keys_guard_every_route,
    tax_ids_are_checked_and_unique
);
