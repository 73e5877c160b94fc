//! The pay portal: the page behind the link, checkouts, links reissued and revoked, promises and plans chosen on it.

use super::helpers::*;

/// The pay link from the e-mail opens the client's page; the sandbox checkout pays it
/// through the real webhook path; the page then says paid and the receipt is in the mail.
/// Bad tokens get one plain 404; a form without its CSRF token is refused.
async fn pay_portal_full_local_loop(t: TestApp) {
    let email = unique_email("portal");
    let cid = t
        .client(json!({"name": "Cliente Portal", "email": email}))
        .await;
    let earlier = t
        .post("/v1/invoices", &clp_invoice(&cid, false), None)
        .await
        .body;
    let a = t.post("/v1/invoices", &clp_invoice(&cid, true), None).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let mails = t.mails_to(&email).await;
    let (_, text, _) = parsed(&mails[0]);
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/pay/"))
        .unwrap()
        .to_string();
    assert_eq!(link, a.body["pay_url"].as_str().unwrap());
    let token = link.rsplit('/').next().unwrap().to_string();
    let Visit {
        browser,
        status,
        headers: h,
        cookie,
        body,
        csrf,
    } = visit(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(
        !h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src")
    );
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(
        h["set-cookie"]
            .to_str()
            .unwrap()
            .contains("SameSite=Strict")
    );
    for want in [
        "Estudio Sur",
        "F-0000",
        "$178.464",
        "Diseño de logo",
        "Pagar en línea",
        "Av. Italia 1234",
        a.body["payment_reference_display"].as_str().unwrap(),
        earlier["number"].as_str().unwrap(),
    ] {
        assert!(body.contains(want), "{want} missing");
    }
    assert!(!body.contains("<script"), "no JavaScript");
    let csrf = csrf.expect("a checkout form");

    // Forged or absent CSRF: refused, nothing happens.
    let forged = browser
        .post(format!("{link}/checkout"))
        .header("cookie", &cookie)
        .form(&[("csrf", "x".repeat(64))])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let bare = browser
        .post(format!("{link}/checkout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);

    // Checkout → sandbox → pay → back on the portal, paid.
    let go = browser
        .post(format!("{link}/checkout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(go.status(), StatusCode::SEE_OTHER);
    let sandbox = format!("{}{}", t.base, go.headers()["location"].to_str().unwrap());
    let sb = browser
        .get(&sandbox)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(sb.status(), StatusCode::OK);
    assert!(sb.text().await.unwrap().contains("$178.464"));
    let paid = browser
        .post(&sandbox)
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let back = paid.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(back, format!("/pay/{token}?paid=1"));
    let after = browser
        .get(format!("{}{back}", t.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        after.contains("Recibimos tu pago") && after.contains("Pagada"),
        "{after}"
    );
    assert!(after.contains("no hay nada que pagar") && !after.contains("Pagar en línea"));
    let inv = t
        .get(&format!("/v1/invoices/{}", a.body["id"].as_str().unwrap()))
        .await
        .body;
    assert_eq!(inv["status"], "paid");
    let receipts: Vec<_> = t
        .mails_to(&email)
        .await
        .into_iter()
        .map(|m| parsed(&m).0)
        .filter(|s| s.starts_with("Recibimos tu pago"))
        .collect();
    assert_eq!(receipts.len(), 1);
    // Paying again: nothing due, no checkout.
    let again = browser
        .post(format!("{link}/checkout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["location"], format!("/pay/{token}"));
    let sb_again = browser
        .post(&sandbox)
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(sb_again.headers()["location"], format!("/pay/{token}"));
    assert_eq!(
        t.get(&format!("/v1/invoices/{}", a.body["id"].as_str().unwrap()))
            .await
            .body["amount_paid"],
        "178464"
    );

    // Printable view; tampered, truncated and unknown tokens: the same plain 404.
    let print = browser
        .get(format!("{link}/print"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(print.contains("F-0000") && !print.contains("<form"));
    let mut tampered = token.clone().into_bytes();
    tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
    let bad = [
        String::from_utf8(tampered).unwrap(),
        token[..token.len() - 1].to_string(),
        secret_token(),
        "not-a-token".into(),
    ];
    let mut bodies = std::collections::HashSet::new();
    for b in bad {
        let r = browser
            .get(format!("{}/pay/{b}", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{b}");
        bodies.insert(r.text().await.unwrap());
    }
    assert_eq!(bodies.len(), 1, "one 404 for every bad token");
}

/// The pay page offers Stripe and Mercado Pago when configured; each button creates the
/// provider's hosted checkout through its API (checked here in its wire format: Stripe in
/// integer minor units with zero-decimal CLP and the invoice id in metadata; Mercado Pago
/// with a decimal price and `external_reference`) and sends the client there. A paid
/// invoice creates no checkout.
async fn hosted_checkouts_carry_the_invoice(t: TestApp) {
    let cid = t
        .client(json!({"name": "Tarjeta", "email": unique_email("card")}))
        .await;
    let a = t
        .post("/v1/invoices", &clp_invoice(&cid, false), None)
        .await
        .body;
    let (id, link) = (a["id"].as_str().unwrap(), a["pay_url"].as_str().unwrap());
    let Visit {
        browser,
        cookie,
        body,
        csrf,
        ..
    } = visit(link).await;
    assert!(body.contains("Pagar con tarjeta") && body.contains("Pagar con Mercado Pago"));
    let csrf = csrf.expect("a checkout form");
    let go = |method: &'static str| {
        browser
            .post(format!("{link}/checkout"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("method", method)])
            .send()
    };
    let r = go("stripe").await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "https://checkout.stripe.com/c/pay/cs_test_a1"
    );
    let r = go("mercadopago").await.unwrap();
    assert_eq!(
        r.headers()["location"],
        "https://www.mercadopago.cl/checkout/v1/redirect?pref_id=123-pref"
    );
    let seen = t.checkouts.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (_, headers, form) = &seen[0];
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(form["mode"], "payment");
    assert_eq!(form["line_items[0][price_data][currency]"], "clp");
    assert_eq!(
        form["line_items[0][price_data][unit_amount]"], "178464",
        "CLP has no minor unit"
    );
    assert_eq!(form["metadata[invoice_id]"], id);
    assert_eq!(form["payment_intent_data[metadata][invoice_id]"], id);
    assert_eq!(form["success_url"], format!("{link}?paid=1"));
    assert!(headers["idempotency-key"].to_str().unwrap().contains(id));
    let (_, headers, pref) = &seen[1];
    let pref: Value = serde_json::from_str(pref).unwrap();
    assert_eq!(pref["external_reference"], id);
    assert_eq!(pref["items"][0]["unit_price"], 178464);
    assert_eq!(pref["items"][0]["currency_id"], "CLP");
    assert!(headers.contains_key("x-idempotency-key"));

    // Paid: the page offers nothing and a checkout post creates none.
    let paid = t
        .post(
            &format!("/v1/invoices/{id}/payments"),
            &json!({"method": "cash", "amount": "178464", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(paid.body["status"], "paid");
    let r = go("stripe").await.unwrap();
    assert_eq!(
        r.headers()["location"],
        format!("/pay/{}", link.rsplit('/').next().unwrap())
    );
    assert_eq!(
        t.checkouts.lock().unwrap().len(),
        2,
        "no checkout for a paid invoice"
    );
    let page = browser
        .get(link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Pagar con tarjeta"));
}

/// Links are reissued and revoked through the API; a void invoice's page says so and
/// offers no checkout.
async fn pay_links_reissued_revoked_and_void(t: TestApp) {
    let cid = t
        .client(json!({"name": "Anulada", "email": unique_email("void")}))
        .await;
    let a = t
        .post("/v1/invoices", &clp_invoice(&cid, false), None)
        .await
        .body;
    let id = a["id"].as_str().unwrap();
    let first = a["pay_url"].as_str().unwrap().to_string();
    let n = t
        .post(&format!("/v1/invoices/{id}/pay-links"), &json!({}), None)
        .await;
    assert_eq!(n.status, StatusCode::CREATED, "{}", n.raw);
    let second = n.body["url"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    for link in [&first, &second] {
        assert_eq!(reqwest::get(link).await.unwrap().status(), StatusCode::OK);
    }
    let r = t
        .post(
            &format!("/v1/invoices/{id}/pay-links/revoke"),
            &json!({}),
            None,
        )
        .await;
    assert_eq!(r.body["revoked"], 2, "{}", r.raw);
    for link in [&first, &second] {
        assert_eq!(
            reqwest::get(link).await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        t.post("/v1/invoices/inv_nope/pay-links", &json!({}), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let link = t
        .post(&format!("/v1/invoices/{id}/pay-links"), &json!({}), None)
        .await
        .body["url"]
        .as_str()
        .unwrap()
        .to_string();
    let v = t
        .post(
            &format!("/v1/invoices/{id}/void"),
            &json!({"reason": "error de digitación"}),
            None,
        )
        .await;
    assert_eq!(
        (v.status, &v.body["status"], &v.body["amount_due"]),
        (StatusCode::OK, &json!("void"), &json!("0")),
        "{}",
        v.raw
    );
    assert!(v.body.get("next_action_at").is_none());
    let again = t
        .post(&format!("/v1/invoices/{id}/void"), &json!({}), None)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let Visit {
        browser,
        cookie,
        body,
        csrf: form_csrf,
        ..
    } = visit(&link).await;
    assert!(body.contains("Anulada") && body.contains("no hay nada que pagar"));
    assert_eq!(form_csrf, None, "no checkout form");
    let csrf = cookie.split('=').nth(1).unwrap().to_string();
    let before = t.checkouts.lock().unwrap().len();
    let r = browser
        .post(format!("{link}/checkout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("method", "stripe")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        t.checkouts.lock().unwrap().len(),
        before,
        "no checkout for a void invoice"
    );
}

/// An expired link opens nothing.
async fn an_expired_pay_link_is_a_404(t: TestApp) {
    let email = unique_email("expired");
    let cid = t.client(json!({"name": "Vencido", "email": email})).await;
    let a = t
        .post("/v1/invoices", &clp_invoice(&cid, false), None)
        .await;
    let link = a.body["pay_url"].as_str().unwrap().to_string();
    assert_eq!(reqwest::get(&link).await.unwrap().status(), StatusCode::OK);
    t.set_now("2099-01-01T00:00:00Z");
    assert_eq!(
        reqwest::get(&link).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

/// On the pay page the client promises a date or picks a plan; bad choices are refused
/// with a clear message on the page; the page then shows what was agreed.
async fn promises_and_plans_on_the_pay_page(t: TestApp) {
    let (cid, _id, email) = arranged_invoice(&t, "portal-promise").await;
    t.set_now("2026-12-04T13:00:00Z");
    let inv = t.post("/v1/invoices", &json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-01", "issue_date": "2026-11-02",
        "lines": [{"description": "Repuestos", "quantity": "1", "unit_amount": "90000"}]}), None).await;
    assert_eq!(inv.status, StatusCode::CREATED, "{}", inv.raw);
    let link = inv.body["pay_url"].as_str().unwrap().to_string();
    let v = visit(&link).await;
    assert!(
        v.body.contains("¿Necesitas más tiempo?") && v.body.contains("id=\"promise-form\""),
        "{}",
        v.body
    );
    assert!(v.body.contains("3 cuotas mensuales desde el viernes, 11 de diciembre de 2026: $30.000 + $30.000 + $30.000"), "{}", v.body);
    let csrf = v.csrf.clone().unwrap();
    let post = |path: &str, form: Vec<(&str, String)>| {
        v.browser
            .post(format!("{link}/{path}"))
            .header("cookie", &v.cookie)
            .form(&form)
            .send()
    };
    // Too far ahead: the page again, with why, in Spanish.
    let far = post(
        "promise",
        vec![("csrf", csrf.clone()), ("date", "2026-12-31".into())],
    )
    .await
    .unwrap();
    assert_eq!(far.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = far.text().await.unwrap();
    assert!(
        body.contains("role=\"alert\"")
            && body.contains("Elige una fecha entre hoy y el sábado, 19 de diciembre de 2026"),
        "{body}"
    );
    let over = post(
        "promise",
        vec![
            ("csrf", csrf.clone()),
            ("date", "2026-12-10".into()),
            ("amount", "95000".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(over.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Without the CSRF value: refused.
    let forged = v
        .browser
        .post(format!("{link}/promise"))
        .form(&[("csrf", "x".repeat(64)), ("date", "2026-12-10".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // A good one: back to the page, which shows it; the confirmation is in the mail.
    let ok = post(
        "promise",
        vec![
            ("csrf", csrf.clone()),
            ("date", "2026-12-10".into()),
            ("amount", "40000".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let back = ok.headers()["location"].to_str().unwrap().to_string();
    assert!(back.ends_with("?arranged=1"), "{back}");
    let page = v
        .browser
        .get(format!("{}{back}", t.base))
        .header("cookie", &v.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Listo: quedó registrado")
            && page.contains(
                "Compromiso de pago: $40.000 a más tardar el jueves, 10 de diciembre de 2026"
            ),
        "{page}"
    );
    assert!(
        !page.contains("id=\"plan-form\""),
        "no plan while a promise is open"
    );
    let confirmations = subjects(&t.mails_to(&email).await);
    assert!(
        confirmations
            .iter()
            .any(|s| s.contains("$40.000") && s.starts_with("Confirmamos tu compromiso")),
        "{confirmations:?}"
    );
    // A plan now: refused with the reason.
    let plan = post("plan", vec![("csrf", csrf.clone()), ("count", "3".into())])
        .await
        .unwrap();
    assert_eq!(plan.status(), StatusCode::CONFLICT);
    assert!(
        plan.text()
            .await
            .unwrap()
            .contains("Tienes un compromiso de pago abierto")
    );

    // Another invoice: the client picks three instalments; the page shows the plan and the
    // pay buttons ask for the first instalment only.
    let other = t.post("/v1/invoices", &json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-20", "issue_date": "2026-12-01",
        "lines": [{"description": "Instalación", "quantity": "1", "unit_amount": "100000"}]}), None).await;
    let link2 = other.body["pay_url"].as_str().unwrap().to_string();
    let v2 = visit(&link2).await;
    let chosen = v2
        .browser
        .post(format!("{link2}/plan"))
        .header("cookie", &v2.cookie)
        .form(&[("csrf", v2.csrf.clone().unwrap()), ("count", "3".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    let page = v2
        .browser
        .get(&link2)
        .header("cookie", &v2.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(
            "En plan de pago: cuota 1 de 3, $33.333, vence el domingo, 20 de diciembre de 2026"
        ),
        "{page}"
    );
    assert!(
        page.contains("id=\"plan\"") && page.contains("$33.334"),
        "{page}"
    );
    assert!(
        page.contains("id=\"pay-sandbox\">Pagar en línea (sandbox) · $33.333</button>"),
        "{page}"
    );
    let stored = t
        .get(&format!(
            "/v1/invoices/{}",
            other.body["id"].as_str().unwrap()
        ))
        .await
        .body;
    assert_eq!(stored["arrangements"]["plans"][0]["by"], "client");
    // The business was told of both, with a page to open.
    let told = subjects(&t.business_notices().await);
    assert_eq!(
        told.iter()
            .filter(|s| s.starts_with("Ferretería Los Andes se comprometió a pagar la factura"))
            .count(),
        2,
        "{told:?}"
    );
}

/// The business decides on self-serve plans: not for an invoice overdue longer than its
/// terms allow, and only as a request when its terms want to approve them; a request tells
/// the business the exact call that makes the plan.
async fn self_serve_plans_follow_the_business_policy(t: TestApp) {
    let (cid, _id, _email) = arranged_invoice(&t, "portal-policy").await;
    t.set_now("2026-12-04T13:00:00Z");
    let new = |due: &str, terms: Value| {
        json!({"client_id": cid, "currency": "CLP", "due_date": due, "issue_date": "2026-09-01", "terms": terms,
            "lines": [{"description": "Obra", "quantity": "1", "unit_amount": "90000"}]})
    };
    // 64 days overdue (the default allows 30): no plan on the page, and none by a post.
    let old = t
        .post("/v1/invoices", &new("2026-10-01", json!({})), None)
        .await;
    let link = old.body["pay_url"].as_str().unwrap().to_string();
    let v = visit(&link).await;
    assert!(!v.body.contains("id=\"plan-form\""), "{}", v.body);
    let refused = v
        .browser
        .post(format!("{link}/plan"))
        .header("cookie", &v.cookie)
        .form(&[("csrf", v.csrf.clone().unwrap()), ("count", "3".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("ya no admite elegir un plan")
    );
    // Approval required: only a request.
    let asks = t
        .post(
            "/v1/invoices",
            &new("2026-12-20", json!({"plan_needs_approval": true})),
            None,
        )
        .await;
    let id = asks.body["id"].as_str().unwrap().to_string();
    let link = asks.body["pay_url"].as_str().unwrap().to_string();
    let v = visit(&link).await;
    let chosen = v
        .browser
        .post(format!("{link}/plan"))
        .header("cookie", &v.cookie)
        .form(&[("csrf", v.csrf.clone().unwrap()), ("count", "3".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    let back = chosen.headers()["location"].to_str().unwrap().to_string();
    assert!(back.ends_with("?arranged=requested"), "{back}");
    let page = visit(&format!("{}{back}", t.base)).await;
    assert!(
        page.body.contains("Recibimos tu solicitud de plan de pago"),
        "{}",
        page.body
    );
    assert!(
        t.invoice(&id).await.get("arrangements").is_none(),
        "nothing written"
    );
    // Asked again: still a request, and the business is not e-mailed twice.
    let v = visit(&link).await;
    let again = v
        .browser
        .post(format!("{link}/plan"))
        .header("cookie", &v.cookie)
        .form(&[("csrf", v.csrf.clone().unwrap()), ("count", "2".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let told: Vec<(String, String, String)> = t
        .mails_to(&t.app.config.business_email)
        .await
        .iter()
        .map(|m| parsed(m))
        .filter(|m| m.0.contains("pide un plan de pago"))
        .collect();
    assert_eq!(told.len(), 1);
    let call = told[0]
        .1
        .lines()
        .find(|l| l.starts_with("POST /v1/invoices/"))
        .unwrap()
        .to_string();
    assert!(
        call.contains(&id) && call.contains("\"count\": 3"),
        "{call}"
    );
    // Approved: the business makes it with exactly that.
    let (path, body) = call.trim_start_matches("POST ").split_once(' ').unwrap();
    let body: Value = serde_json::from_str(body).unwrap();
    let made = t.post(path, &body, None).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.raw);
    assert_eq!(
        made.body["arrangements"]["plans"][0]["instalments"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

on_both_stacks!(
    pay_portal_full_local_loop,
    hosted_checkouts_carry_the_invoice,
    pay_links_reissued_revoked_and_void,
    an_expired_pay_link_is_a_404,
    promises_and_plans_on_the_pay_page,
    self_serve_plans_follow_the_business_policy,
);
