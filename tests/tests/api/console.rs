//! The console, as a browser uses it (cookies kept by hand, no redirects followed): sign-in
//! by an e-mailed one-time link, sessions, CSRF on every form, roles checked on the server.

use super::helpers::*;

/// A browser: its cookies, sent back on every request.
struct Browser<'a> {
    t: &'a TestApp,
    http: reqwest::Client,
    cookies: std::collections::BTreeMap<String, String>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    csp: Option<String>,
    body: String,
}

impl Page {
    /// The value of the page's first form's CSRF field.
    fn csrf(&self) -> String {
        self.value("csrf")
    }

    /// The value of the page's first field named `name`.
    fn value(&self, name: &str) -> String {
        self.body
            .split(&format!("name=\"{name}\" value=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_string()
    }

    /// Where its "next page" link goes, as a browser reads the attribute.
    fn next_page(&self) -> Option<String> {
        let before = self.body.split_once("id=\"next-page\"")?.0;
        let href = before.rsplit("href=\"").next()?.split('"').next()?;
        Some(href.replace("&amp;", "&").replace("&#38;", "&"))
    }
}

impl<'a> Browser<'a> {
    fn new(t: &'a TestApp) -> Self {
        Browser {
            t,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Default::default(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let req = if cookie.is_empty() {
            req
        } else {
            req.header("cookie", cookie.join("; "))
        };
        let res = req.send().await.unwrap();
        for c in res.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
            assert!(c.contains("Path=/console"), "{c}");
            let (name, value) = c.split(';').next().unwrap().split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        let header = |n: &str| {
            res.headers()
                .get(n)
                .map(|v| v.to_str().unwrap().to_string())
        };
        Page {
            status: res.status(),
            location: header("location"),
            csp: header("content-security-policy"),
            body: res.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.t.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(format!("{}{path}", self.t.base)).form(form);
        self.send(req).await
    }

    /// Asks for a link for `email` from the sign-in page, as a person does.
    async fn ask_link(&mut self, email: &str) -> Page {
        let page = self.get("/console/sign-in").await;
        let csrf = page.csrf();
        self.post("/console/sign-in", &[("csrf", &csrf), ("email", email)])
            .await
    }

    /// Opens a sign-in link and presses its button.
    async fn enter(&mut self, link: &str) -> Page {
        let path = link.trim_start_matches(&self.t.base).to_string();
        let page = self.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = page.csrf();
        self.post(&path, &[("csrf", &csrf)]).await
    }

    /// Signs in as `user` through an e-mailed link.
    async fn sign_in(&mut self, email: &str) {
        self.ask_link(email).await;
        let link = last_link(self.t, email).await;
        let entered = self.enter(&link).await;
        assert_eq!(entered.status, StatusCode::SEE_OTHER, "{}", entered.body);
        assert_eq!(entered.location.as_deref(), Some("/console"));
    }
}

async fn add(t: &TestApp, role: &str, locale: &str) -> cobro_domain::User {
    cobro_app::usecases::people::add_user(
        &t.app,
        &cobro_domain::Actor::Cobro,
        &cobro_domain::user::NewUser {
            email: unique_email(role),
            name: format!("Persona {role}"),
            role: role.into(),
            locale: Some(locale.into()),
        },
    )
    .await
    .unwrap()
}

/// The sign-in link of the last message to `email`.
async fn last_link(t: &TestApp, email: &str) -> String {
    let mails = t.mails_to(email).await;
    let raw = mails.last().expect("a sign-in e-mail");
    let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
    let text = msg.body_text(0).unwrap().to_string();
    text.split_whitespace()
        .find(|w| w.contains("/console/auth/"))
        .expect("a link in the e-mail")
        .to_string()
}

/// A one-time link, a session, and its end; the same page for every address and every
/// link that opens nothing.
async fn sign_in_by_link_and_out(t: TestApp) {
    let owner = add(&t, "owner", "es").await;
    let mut b = Browser::new(&t);
    let home = b.get("/console").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location.as_deref(), Some("/console/sign-in"));
    let page = b.get("/console/sign-in").await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.csp.clone().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'"));
    assert!(!page.body.contains("<script"), "no script");

    // The answer is the same for a user's address and for nobody's.
    let for_owner = b.ask_link(&owner.email.to_uppercase()).await;
    let for_nobody = b.ask_link("nadie@otra.cl").await;
    assert_eq!(for_owner.status, StatusCode::OK);
    assert_eq!(
        (for_owner.status, &for_owner.body),
        (for_nobody.status, &for_nobody.body)
    );
    assert!(for_owner.body.contains("le enviamos un enlace"));
    assert!(t.mails_to("nadie@otra.cl").await.is_empty());
    let link = last_link(&t, &owner.email).await;
    let mails = t.mails_to(&owner.email).await;
    assert_eq!(mails.len(), 1);
    let msg = MessageParser::default().parse(mails[0].as_bytes()).unwrap();
    assert!(msg.subject().unwrap().starts_with("Tu enlace para entrar"));

    // Opening the link spends nothing; its button without the CSRF value spends nothing.
    let path = link.trim_start_matches(&t.base).to_string();
    for _ in 0..2 {
        let p = b.get(&path).await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(!b.cookies.contains_key("cobro_session"));
    }
    let refused = b.post(&path, &[("csrf", "0")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let entered = b.enter(&link).await;
    assert_eq!(entered.status, StatusCode::SEE_OTHER, "{}", entered.body);
    let home = b.get("/console").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("Por atender") && home.body.contains(&owner.name));

    // Used, unknown, malformed and expired links: one identical page.
    let mut other = Browser::new(&t);
    let used = other.enter(&link).await;
    assert_eq!(used.status, StatusCode::BAD_REQUEST);
    assert!(used.body.contains("ya no sirve"));
    let unknown = other
        .enter(&format!(
            "{}/console/auth/{}",
            t.base,
            cobro_domain::secret::new_session_token().expose()
        ))
        .await;
    let malformed = other
        .enter(&format!("{}/console/auth/%3Cscript%3E", t.base))
        .await;
    other.ask_link(&owner.email).await;
    let late = last_link(&t, &owner.email).await;
    t.set_now(&(chrono::Utc::now() + chrono::Duration::minutes(16)).to_rfc3339());
    let expired = other.enter(&late).await;
    for p in [&unknown, &malformed, &expired] {
        assert_eq!((p.status, &p.body), (used.status, &used.body));
    }
    assert!(!other.cookies.contains_key("cobro_session"));

    // A tampered or made-up session cookie is the sign-in page.
    let mut forged = Browser::new(&t);
    forged.cookies.insert(
        "cobro_session".into(),
        cobro_domain::secret::new_session_token().expose().into(),
    );
    assert_eq!(
        forged.get("/console").await.location.as_deref(),
        Some("/console/sign-in")
    );
    let mut tampered = Browser::new(&t);
    let mut value = b.cookies["cobro_session"].clone();
    value.replace_range(0..1, if value.starts_with('A') { "B" } else { "A" });
    tampered.cookies.insert("cobro_session".into(), value);
    assert_eq!(tampered.get("/console").await.status, StatusCode::SEE_OTHER);

    // Sign-out needs the session's CSRF value; then the session is over in the store.
    let kept = b.cookies.clone();
    let refused = b.post("/console/sign-out", &[("csrf", "nope")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(b.get("/console").await.status, StatusCode::OK);
    let csrf = b.get("/console").await.csrf();
    let out = b.post("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(!b.cookies.contains_key("cobro_session"));
    let mut replay = Browser::new(&t);
    replay.cookies = kept;
    assert_eq!(
        replay.get("/console").await.location.as_deref(),
        Some("/console/sign-in"),
        "the old cookie opens nothing"
    );
}

/// At most five links an hour per address, with the same answer every time.
async fn five_links_an_hour(t: TestApp) {
    let user = add(&t, "viewer", "en").await;
    let mut b = Browser::new(&t);
    let first = b.ask_link(&user.email).await;
    for _ in 0..6 {
        let p = b.ask_link(&user.email).await;
        assert_eq!((p.status, &p.body), (first.status, &first.body));
    }
    assert_eq!(t.mails_to(&user.email).await.len(), 5);
    let msg = t.mails_to(&user.email).await.pop().unwrap();
    let msg = MessageParser::default().parse(msg.as_bytes()).unwrap();
    assert!(msg.subject().unwrap().starts_with("Your sign-in link"));
    t.set_now(&(chrono::Utc::now() + chrono::Duration::minutes(61)).to_rfc3339());
    b.ask_link(&user.email).await;
    assert_eq!(t.mails_to(&user.email).await.len(), 6);
}

/// Roles on the server: viewers and collectors cannot manage people (403, nothing
/// written); an owner adds people field by field in their language and ends sessions.
async fn roles_are_checked_on_the_server(t: TestApp) {
    let owner = add(&t, "owner", "es").await;
    let viewer = add(&t, "viewer", "en").await;
    let collector = add(&t, "collector", "es").await;
    let users_before = t.store.list_users().await.unwrap().len();
    for who in [&viewer, &collector] {
        let mut b = Browser::new(&t);
        b.sign_in(&who.email).await;
        let home = b.get("/console").await;
        assert!(!home.body.contains("/console/users"), "no link to People");
        let page = b.get("/console/users").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        // A forged POST with the right CSRF value is still refused.
        let csrf = home.csrf();
        let p = b
            .post(
                "/console/users",
                &[
                    ("csrf", &csrf),
                    ("name", "Intruso"),
                    ("email", "intruso@x.cl"),
                    ("role", "owner"),
                    ("locale", "es"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        let p = b
            .post(
                &format!("/console/users/{}/end-sessions", owner.id),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(t.store.list_users().await.unwrap().len(), users_before);

    let mut b = Browser::new(&t);
    b.sign_in(&owner.email).await;
    let page = b.get("/console/users").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&viewer.email));
    let csrf = page.csrf();
    // Without the CSRF value: 403 and nothing written.
    let p = b
        .post(
            "/console/users",
            &[
                ("name", "Bea"),
                ("email", "bea@estudiosur.cl"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    // Each invalid field: the form again, in Spanish, nothing written.
    let p = b
        .post(
            "/console/users",
            &[
                ("csrf", &csrf),
                ("name", ""),
                ("email", "bea-at-estudiosur"),
                ("role", "jefa"),
                ("locale", "es"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    for want in [
        "no puede quedar vacío",
        "escribe un correo válido",
        "elige dueño, cobrador o lector",
        "value=\"bea-at-estudiosur\"",
        "aria-invalid=\"true\"",
    ] {
        assert!(p.body.contains(want), "{want} missing");
    }
    assert_eq!(t.store.list_users().await.unwrap().len(), users_before);
    let p = b
        .post(
            "/console/users",
            &[
                ("csrf", &csrf),
                ("name", "Bea <b>Soto</b>"),
                ("email", "Bea@EstudioSur.cl"),
                ("role", "collector"),
                ("locale", "en"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let page = b.get("/console/users?done=added").await;
    assert!(page.body.contains("Bea &#60;b&#62;Soto"), "escaped");
    assert!(!page.body.contains("<b>Soto"), "escaped");
    let bea = t
        .store
        .user_by_email("bea@estudiosur.cl")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bea.role, cobro_domain::Role::Collector);
    let again = b
        .post(
            "/console/users",
            &[
                ("csrf", &csrf),
                ("name", "Bea"),
                ("email", "bea@estudiosur.cl"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("ya hay una persona con ese correo"));

    // The owner ends the viewer's sessions: their cookie opens nothing any more, nor does
    // a link they were sent before.
    let mut v = Browser::new(&t);
    v.sign_in(&viewer.email).await;
    assert_eq!(v.get("/console").await.status, StatusCode::OK);
    let mut later = Browser::new(&t);
    later.ask_link(&viewer.email).await;
    let pending = last_link(&t, &viewer.email).await;
    t.set_now(&(chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339());
    let p = b
        .post(
            &format!("/console/users/{}/end-sessions", viewer.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(v.get("/console").await.status, StatusCode::SEE_OTHER);
    assert_eq!(later.enter(&pending).await.status, StatusCode::BAD_REQUEST);
    // An id of another kind, or nobody's: 404.
    for id in [owner.id.to_string().replace("usr_", "cli_"), "usr_x".into()] {
        let p = b
            .post(
                &format!("/console/users/{id}/end-sessions"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{id}");
    }
    // Idle for 12 hours, a session ends.
    t.set_now(&(chrono::Utc::now() + chrono::Duration::hours(12)).to_rfc3339());
    assert_eq!(b.get("/console").await.status, StatusCode::SEE_OTHER);
}

/// The invoice page: found by id or payment reference (other text: the list searched for
/// it; an id of another kind: 404), its history, a payment recorded by hand (twice posted, once
/// recorded; a bad amount in Spanish), a pause and a resume; a viewer reads it with no
/// forms and a forged POST writes nothing.
async fn an_invoice_is_worked_from_its_page(t: TestApp) {
    let (_, id, _) = arranged_invoice(&t, "pagina").await;
    t.set_now(&chrono::Utc::now().to_rfc3339());
    let collector = add(&t, "collector", "es").await;
    let viewer = add(&t, "viewer", "es").await;
    let mut b = Browser::new(&t);
    b.sign_in(&collector.email).await;
    let reference = t.invoice(&id).await["payment_reference_display"]
        .as_str()
        .unwrap()
        .to_string();
    for q in [id.clone(), reference.to_lowercase()] {
        let p = b
            .get(&format!("/console/invoices?q={}", urlencode(&q)))
            .await;
        assert_eq!(p.location, Some(format!("/console/invoices/{id}")), "{q}");
    }
    let p = b.get("/console/invoices?q=F-0000").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body.contains(&format!("href=\"/console/invoices/{id}\"")),
        "{}",
        p.body
    );
    let p = b.get("/console/invoices?q=nada-parecido").await;
    assert!(
        p.body.contains("Ninguna factura cumple estos filtros"),
        "{}",
        p.body
    );
    for other in [
        id.replace("inv_", "cli_"),
        cobro_domain::InvoiceId::generate().to_string(),
    ] {
        let p = b.get(&format!("/console/invoices/{other}")).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{other}");
    }

    let path = format!("/console/invoices/{id}");
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Factura emitida por $100.000"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Ferretería Los Andes"));
    let csrf = page.csrf();
    let nonce = page.value("nonce");
    let pay = |amount: &'static str, nonce: String| {
        vec![
            ("csrf", csrf.clone()),
            ("nonce", nonce),
            ("amount", amount.to_string()),
            ("method", "cash".to_string()),
            ("reference", String::new()),
        ]
    };
    let bad = b
        .post(
            &format!("{path}/payments"),
            &refs(&pay("$30.000", nonce.clone())),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("escribe un número"), "{}", bad.body);
    assert!(bad.body.contains("value=\"$30.000\""));
    for _ in 0..2 {
        let ok = b
            .post(
                &format!("{path}/payments"),
                &refs(&pay("30000", nonce.clone())),
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    }
    let inv = t.invoice(&id).await;
    assert_eq!(inv["amount_due"], "70000", "one payment for one form");
    let page = b.get(&format!("{path}?done=paid")).await;
    assert!(page.body.contains("Pago registrado"));
    assert!(page.body.contains("Pago de $30.000 en efectivo") && page.body.contains("a mano"));

    // Pause (a bad day first), then resume.
    let pause = |until: &str, reason: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("until", until.to_string()),
            ("reason", reason.to_string()),
        ]
    };
    let p = b
        .post(&format!("{path}/pause"), &refs(&pause("mañana", "x")))
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("escribe una fecha"));
    let until = (chrono::Utc::now() + chrono::Duration::days(10))
        .date_naive()
        .to_string();
    let p = b
        .post(&format!("{path}/pause"), &refs(&pause(&until, "")))
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("escribe el motivo"));
    let p = b
        .post(&format!("{path}/pause"), &refs(&pause(&until, "Espera OC")))
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let page = b.get(&path).await;
    assert!(page.body.contains("id=\"paused-until\"") && page.body.contains("Espera OC"));
    assert!(page.body.contains("id=\"resume\""));
    let p = b
        .post(&format!("{path}/resume"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(t.invoice(&id).await.get("paused_until").is_none());
    let p = b
        .post(&format!("{path}/resume"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(p.body.contains("no está en pausa"), "{}", p.body);

    // A viewer reads it, with no forms; a forged POST with their CSRF value writes nothing.
    let mut v = Browser::new(&t);
    v.sign_in(&viewer.email).await;
    let page = v.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("id=\"record-payment\"") && !page.body.contains("id=\"pause\""));
    let their = page.csrf();
    let forged = vec![
        ("csrf", their),
        ("nonce", "n".to_string()),
        ("amount", "70000".to_string()),
        ("method", "cash".to_string()),
    ];
    let p = v.post(&format!("{path}/payments"), &refs(&forged)).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(t.invoice(&id).await["amount_due"], "70000");
    // Without the CSRF value, not even the collector writes.
    let p = b
        .post(
            &format!("{path}/payments"),
            &refs(&pay("1000", "m".into()))[1..],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(t.invoice(&id).await["amount_due"], "70000");
}

fn refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The invoices list: filters combined ("31–60 days overdue in CLP"), a viewer reads it,
/// 25 a page with a next page; nonsense filters are named in Spanish and dropped, the rest
/// applied; the CSV has the same rows, ready for a Spanish spreadsheet.
async fn invoices_are_filtered_and_exported(t: TestApp) {
    t.set_now("2026-11-23T15:00:00Z");
    let sur = t
        .client(json!({"name": "Ferretería Sur", "email": unique_email("sur"), "timezone": "America/Santiago"}))
        .await;
    let invoice = |currency: &str, amount: &str, due: &str, what: &str| {
        json!({
            "client_id": sur, "currency": currency, "due_date": due, "issue_date": "2026-08-01",
            "lines": [{"description": what, "quantity": 1, "unit_amount": amount}]
        })
    };
    for body in [
        invoice("CLP", "150000", "2026-10-10", "Cable de cobre"),
        invoice("USD", "80.00", "2026-10-11", "Consulting"),
        invoice("CLP", "90000", "2026-11-10", "Servicio"),
    ] {
        assert_eq!(
            t.post("/v1/invoices", &body, None).await.status,
            StatusCode::CREATED
        );
    }
    for _ in 0..24 {
        let body = invoice("CLP", "1000", "2026-12-20", "Repuesto");
        assert_eq!(
            t.post("/v1/invoices", &body, None).await.status,
            StatusCode::CREATED
        );
    }
    let old = invoice("CLP", "5000", "2026-08-10", "Obra antigua"); // F-000028, 105 days late
    assert_eq!(
        t.post("/v1/invoices", &old, None).await.status,
        StatusCode::CREATED
    );
    let viewer = add(&t, "viewer", "es").await;
    let mut b = Browser::new(&t);
    b.sign_in(&viewer.email).await;
    let rows = |body: &str| -> Vec<String> {
        body.split("data-number=\"")
            .skip(1)
            .map(|r| r.split('"').next().unwrap().to_string())
            .collect()
    };
    let p = b.get("/console/invoices?overdue=31-60&currency=CLP").await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(rows(&p.body), ["F-000001"]);
    assert!(p.body.contains("Ferretería Sur") && p.body.contains("Cable de cobre"));
    assert!(
        p.body.contains("<td data-label=\"Días de atraso\">44</td>"),
        "44 days overdue: {}",
        p.body
    );
    assert!(
        !p.body
            .contains("method=\"post\" action=\"/console/invoices"),
        "a viewer gets no action"
    );
    // The home page's queues count lists and link to them.
    let home = b.get("/console").await;
    assert!(
        home.body.contains("<span class=\"count\">1</span><br><a href=\"/console/invoices?overdue=90%2B\">Vencidas hace más de 90 días</a>"),
        "{}",
        home.body
    );
    assert!(home.body.contains(
        "<span class=\"count\">nada</span><br><a href=\"/console/invoices?status=disputed\">"
    ));
    assert_eq!(
        rows(&b.get("/console/invoices?overdue=90%2B").await.body),
        ["F-000028"]
    );
    assert!(
        home.body.contains(
            "/console/invoices?pause_ends_by=2026-11-30\">Pausas que terminan esta semana</a>"
        ),
        "{}",
        home.body
    );
    // 28 invoices: 25 on the first page, 3 on the next.
    let first = b.get("/console/invoices").await;
    assert_eq!(rows(&first.body).len(), 25);
    let next = first.next_page().unwrap();
    let second = b.get(&next).await;
    let mut all = rows(&first.body);
    all.extend(rows(&second.body));
    assert_eq!(rows(&second.body).len(), 3);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 28, "every invoice once");
    assert!(second.body.contains("id=\"first-page\""));
    assert_eq!(second.next_page(), None);
    // Nonsense is named, dropped, and the rest applied.
    let p = b
        .get("/console/invoices?overdue=pronto&currency=XX&sort=nombre&due_from=ayer&client_id=inv_1&q=cable")
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body.contains("No se aplicaron los filtros marcados"),
        "{}",
        p.body
    );
    for said in [
        "elige un tramo de atraso",
        "escribe un código de moneda ISO 4217",
        "elige un orden de la lista",
        "escribe una fecha (AAAA-MM-DD)",
        "elige un cliente de la lista",
    ] {
        assert!(p.body.contains(said), "{said}: {}", p.body);
    }
    assert_eq!(rows(&p.body), ["F-000001"]);
    // The CSV of what is on screen.
    let csv = b.get("/console/invoices.csv?overdue=31-60").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with('\u{feff}'), "{}", csv.body);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(
        lines[0].contains("factura;id cliente;cliente;concepto;estado"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(";F-000001;") && lines[1].contains(";Pendiente;CLP;150000;150000;"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(";F-000002;") && lines[2].contains(";USD;80,00;80,00;"),
        "{}",
        lines[2]
    );
    // Signed out, neither is shown.
    let mut stranger = Browser::new(&t);
    assert_eq!(
        stranger.get("/console/invoices.csv").await.status,
        StatusCode::SEE_OTHER
    );
}

/// The invoice page's other actions: more time (a bad date, then one before the due date,
/// in Spanish; then granted and told to the client), a new pay link shown once that opens
/// the pay page, every link revoked (it no longer opens), and a void; a viewer's forged
/// void and a void without the CSRF value are 403 and write nothing.
async fn an_invoice_is_extended_relinked_and_voided(t: TestApp) {
    let (_, id, email) = arranged_invoice(&t, "acciones").await;
    t.set_now(&chrono::Utc::now().to_rfc3339());
    let collector = add(&t, "collector", "es").await;
    let viewer = add(&t, "viewer", "es").await;
    let mut b = Browser::new(&t);
    b.sign_in(&collector.email).await;
    let path = format!("/console/invoices/{id}");
    let csrf = b.get(&path).await.csrf();
    let ext = format!("{path}/extension");
    let p = b
        .post(
            &ext,
            &[("csrf", &csrf), ("new_due", "pronto"), ("ext_reason", "x")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        p.body.contains("id=\"new_due-error\">escribe una fecha"),
        "{}",
        p.body
    );
    let p = b
        .post(
            &ext,
            &[
                ("csrf", &csrf),
                ("new_due", "2026-11-20"),
                ("ext_reason", ""),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        p.body
            .contains("debe ser después del vencimiento actual, 2026-12-01"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("id=\"ext_reason-error\">escribe el motivo"),
        "{}",
        p.body
    );
    assert_eq!(
        t.invoice(&id).await["due_date"],
        "2026-12-01",
        "nothing written"
    );
    let due = (chrono::Utc::now() + chrono::Duration::days(10))
        .date_naive()
        .to_string();
    let before = t.mails_to(&email).await.len();
    let p = b
        .post(
            &ext,
            &[
                ("csrf", &csrf),
                ("new_due", &due),
                ("ext_reason", "Pidió plazo por teléfono"),
            ],
        )
        .await;
    assert_eq!(
        p.location,
        Some(format!("{path}?done=extended")),
        "{}",
        p.body
    );
    assert_eq!(t.invoice(&id).await["due_date"], due);
    assert_eq!(
        t.mails_to(&email).await.len(),
        before + 1,
        "the client is told"
    );
    let page = b.get(&format!("{path}?done=extended")).await;
    assert!(
        page.body.contains("Pidió plazo por teléfono"),
        "in the history"
    );

    // A new pay link, shown once; then every link revoked.
    let p = b
        .post(&format!("{path}/pay-link"), &[("csrf", &csrf)])
        .await;
    assert_eq!(p.status, StatusCode::OK);
    let link = p
        .body
        .split("se muestra solo esta vez): ")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_string();
    assert!(link.contains("/pay/"), "{link}");
    let open = |l: String| async move { reqwest::get(&l).await.unwrap().status() };
    assert_eq!(open(link.clone()).await, StatusCode::OK);
    let p = b
        .post(&format!("{path}/revoke-links"), &[("csrf", &csrf)])
        .await;
    assert_eq!(p.location, Some(format!("{path}?done=revoked")));
    assert_eq!(open(link).await, StatusCode::NOT_FOUND);

    // A void: refused without the CSRF value and to a viewer, then done.
    let void = format!("{path}/void");
    assert_eq!(
        b.post(&void, &[("void_reason", "x")]).await.status,
        StatusCode::FORBIDDEN
    );
    let mut v = Browser::new(&t);
    v.sign_in(&viewer.email).await;
    let vcsrf = v.get(&path).await.csrf();
    assert_eq!(
        v.post(&void, &[("csrf", &vcsrf), ("void_reason", "x")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(t.invoice(&id).await["status"], "open");
    let p = b
        .post(
            &void,
            &[("csrf", &csrf), ("void_reason", "Se facturó dos veces")],
        )
        .await;
    assert_eq!(p.location, Some(format!("{path}?done=voided")));
    assert_eq!(t.invoice(&id).await["status"], "void");
    let page = b.get(&format!("{path}?done=voided")).await;
    assert!(page.body.contains("Factura anulada"));
    assert!(!page.body.contains("id=\"void\""), "no second void");
}

/// The unmatched queue: a payment that named no invoice we know, with the invoice owing
/// exactly its amount suggested (and not the other one); nothing picked is refused in
/// Spanish; applied to the invoice typed by its payment reference, it pays it and leaves
/// the queue; applied again, 409; a viewer sees no form and a forged POST is a 403.
async fn an_unmatched_payment_is_applied_from_the_queue(t: TestApp) {
    let (_, owing) = new_clp_invoice(&t, "cola").await;
    let (_, other) = new_clp_invoice(&t, "otra").await;
    let (owing_id, total) = (
        owing["id"].as_str().unwrap(),
        owing["total"].as_str().unwrap(),
    );
    let other_id = other["id"].as_str().unwrap();
    let pay = |amount: &str| {
        json!({"type": "payment.succeeded", "data": {"payment_reference": "RF18 5390 0754 7034",
            "payment_id": "tr_cola", "amount": amount, "currency": "CLP"}})
    };
    // The other invoice is partly paid, so only the first owes the queued amount.
    let part = json!({"type": "payment.succeeded", "data": {"invoice_id": other_id,
        "payment_id": "tr_parte", "amount": "1000", "currency": "CLP"}});
    assert_eq!(
        t.standard("msg_parte", &part).await.body["outcome"],
        "applied"
    );
    assert_eq!(
        t.standard("msg_cola", &pay(total)).await.body["outcome"],
        "unmatched"
    );
    let collector = add(&t, "collector", "es").await;
    let viewer = add(&t, "viewer", "es").await;
    let mut b = Browser::new(&t);
    b.sign_in(&collector.email).await;
    let home = b.get("/console").await;
    assert!(
        home.body
            .contains("<a href=\"/console/unmatched\">Pagos sin factura</a>"),
        "{}",
        home.body
    );
    let page = b.get("/console/unmatched").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("No indica una factura conocida"),
        "{}",
        page.body
    );
    assert!(page.body.contains("RF18 5390 0754 7034"));
    let number = owing["number"].as_str().unwrap();
    assert!(
        page.body.contains(&format!("value=\"{owing_id}\""))
            && page.body.contains("debe justo ese monto"),
        "{number} suggested: {}",
        page.body
    );
    assert!(
        !page.body.contains(&format!("value=\"{other_id}\"")),
        "not the other one"
    );
    let uid = page
        .body
        .split("action=\"/console/unmatched/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();
    let apply = format!("/console/unmatched/{uid}/apply");
    let csrf = page.csrf();
    let p = b.post(&apply, &[("csrf", &csrf)]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("Elige una de las facturas probables"));
    // A viewer: no form, and a forged POST is refused.
    let mut v = Browser::new(&t);
    v.sign_in(&viewer.email).await;
    let vpage = v.get("/console/unmatched").await;
    assert!(!vpage.body.contains("/apply\""), "no form for a viewer");
    let forged = v
        .post(&apply, &[("csrf", &vpage.csrf()), ("invoice", owing_id)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(t.invoice(owing_id).await["status"], "open");
    // Typed by its payment reference, as people write it.
    let reference = owing["payment_reference_display"].as_str().unwrap();
    let p = b
        .post(&apply, &[("csrf", &csrf), ("other", reference)])
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/unmatched?done=applied"),
        "{}",
        p.body
    );
    assert_eq!(t.invoice(owing_id).await["status"], "paid");
    let after = b.get("/console/unmatched?done=applied").await;
    assert!(after.body.contains("Pago aplicado") && after.body.contains("No hay pagos esperando"));
    let again = b
        .post(&apply, &[("csrf", &csrf), ("invoice", other_id)])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("ya se había aplicado"));
    assert_eq!(
        t.invoice(other_id).await["amount_due"],
        "177464",
        "nothing more on the other"
    );
    // Dollars sent for a peso invoice: its client's dollar invoice is suggested.
    let usd = t
        .post(
            "/v1/invoices",
            &json!({"client_id": other["client_id"], "currency": "USD", "due_date": "2026-12-31",
                "lines": [{"description": "Soporte", "quantity": 1, "unit_amount": "50.00"}]}),
            None,
        )
        .await;
    assert_eq!(usd.status, StatusCode::CREATED, "{}", usd.raw);
    let wrong = json!({"type": "payment.succeeded", "data": {"invoice_id": other_id,
        "payment_id": "tr_usd", "amount": "20.00", "currency": "USD"}});
    assert_eq!(
        t.standard("msg_usd", &wrong).await.body["outcome"],
        "unmatched"
    );
    let page = b.get("/console/unmatched").await;
    assert!(
        page.body
            .contains("Viene en otra moneda que la factura que indica")
    );
    let usd_id = usd.body["id"].as_str().unwrap();
    assert!(
        page.body.contains(&format!("value=\"{usd_id}\""))
            && page.body.contains("mismo cliente que la factura indicada"),
        "{}",
        page.body
    );
}

/// Settings, owners only: an API key made (an empty name refused in Spanish), shown once,
/// working on the API, then revoked (401); the terms in effect; a collector gets 403 for
/// the page and a forged key, and nothing is made.
async fn settings_make_and_revoke_api_keys(t: TestApp) {
    let owner = add(&t, "owner", "es").await;
    let collector = add(&t, "collector", "es").await;
    let mut b = Browser::new(&t);
    b.sign_in(&owner.email).await;
    let page = b.get("/console/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Días de gracia") && page.body.contains("Recordatorios"),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let p = b
        .post("/console/settings/keys", &[("csrf", &csrf), ("name", " ")])
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        p.body
            .contains("id=\"key-name-error\">no puede quedar vacío"),
        "{}",
        p.body
    );
    let p = b
        .post(
            "/console/settings/keys",
            &[("csrf", &csrf), ("name", "contabilidad")],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    let key = p
        .body
        .split("<code id=\"new-key\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_string();
    assert!(key.starts_with("cobro_sk_"), "{key}");
    let api = |key: String| {
        let http = reqwest::Client::new();
        let url = format!("{}/v1/invoices", t.base);
        async move {
            http.get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(api(key.clone()).await, StatusCode::OK);
    let again = b.get("/console/settings").await;
    assert!(!again.body.contains(&key), "shown once");
    let id = again
        .body
        .split("<td>contabilidad</td>")
        .nth(1)
        .and_then(|r| r.split("<code>").nth(1))
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_string();
    // A collector can neither see the page nor make or revoke a key.
    let mut c = Browser::new(&t);
    c.sign_in(&collector.email).await;
    assert_eq!(
        c.get("/console/settings").await.status,
        StatusCode::FORBIDDEN
    );
    let ccsrf = c.get("/console").await.csrf();
    let forged = c
        .post(
            "/console/settings/keys",
            &[("csrf", &ccsrf), ("name", "mía")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let forged = c
        .post(
            &format!("/console/settings/keys/{id}/revoke"),
            &[("csrf", &ccsrf)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(api(key.clone()).await, StatusCode::OK);
    assert!(
        !b.get("/console/settings").await.body.contains("mía"),
        "nothing made"
    );
    let p = b
        .post(
            &format!("/console/settings/keys/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/settings?done=revoked")
    );
    assert_eq!(api(key).await, StatusCode::UNAUTHORIZED);
}

/// The rows of the page's table `id`, each as its cells' text (a link: its text).
fn table(body: &str, id: &str) -> Vec<Vec<String>> {
    let Some(table) = body
        .split(&format!("id=\"{id}\""))
        .nth(1)
        .and_then(|t| t.split("</table>").next())
    else {
        return Vec::new();
    };
    table
        .split("<tr>")
        .skip(2)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let text = cell.split_once('>').map_or("", |c| c.1);
                    let text = text.split("</td>").next().unwrap_or_default();
                    let text = match text.split_once('>') {
                        Some((tag, rest)) if tag.starts_with("<a ") => {
                            rest.trim_end_matches("</a>")
                        }
                        _ => text,
                    };
                    text.trim().to_string()
                })
                .collect()
        })
        .collect()
}

/// The rows of the page's activity table, each as its cells' text joined by " | ".
fn activity(body: &str) -> Vec<String> {
    table(body, "activity")
        .into_iter()
        .map(|cells| cells.join(" | "))
        .collect()
}

/// GIVEN an invoice made through the API and a payment recorded by a collector in the
/// console, WHEN the invoice page and the log are read, THEN each names who did what on
/// which invoice, newest first, 25 a page; the log narrows to an invoice or a client, says
/// so when the id is none of ours, and every role reads it.
async fn the_log_shows_who_did_what(t: TestApp) {
    let (cid, id, _) = arranged_invoice(&t, "registro").await;
    t.set_now(&chrono::Utc::now().to_rfc3339());
    let number = t.invoice(&id).await["number"].as_str().unwrap().to_string();
    let collector = add(&t, "collector", "es").await;
    let mut b = Browser::new(&t);
    let p = b.get("/console/log").await;
    assert_eq!(p.location.as_deref(), Some("/console/sign-in"));
    b.sign_in(&collector.email).await;
    let path = format!("/console/invoices/{id}");
    let page = b.get(&path).await;
    let nonce = page.value("nonce");
    let form = [
        ("csrf", page.csrf()),
        ("nonce", nonce),
        ("amount", "30000".to_string()),
        ("method", "transfer".to_string()),
        ("reference", "TRF-88".to_string()),
    ];
    let p = b.post(&format!("{path}/payments"), &refs(&form)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);

    // On the invoice: the payment's line names the collector; its activity, newest first.
    let page = b.get(&path).await;
    let line = page
        .body
        .split("<tr>")
        .find(|r| r.contains("Pago de $30.000 por transferencia"))
        .expect("the payment on the timeline");
    assert!(line.contains("Persona collector"), "{line}");
    assert!(
        page.body
            .split("<tr>")
            .any(|r| r.contains("Factura emitida") && r.contains("clave API «tests»")),
        "{}",
        page.body
    );
    let rows = activity(&page.body);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].ends_with(&format!(
            "Persona collector | Registró un pago | {number} | $30.000"
        )),
        "{rows:?}"
    );
    assert!(
        rows[1].contains("clave API «tests» | Creó la factura"),
        "{rows:?}"
    );

    // The whole log: also the client made through the API and the key made at setup.
    let log = b.get("/console/log").await;
    assert_eq!(log.status, StatusCode::OK);
    let all = activity(&log.body);
    let whats: Vec<&str> = all.iter().map(|r| r.split(" | ").nth(2).unwrap()).collect();
    for expected in [
        "Registró un pago",
        "Creó la factura",
        "Creó el cliente",
        "Creó una clave API",
    ] {
        assert!(whats.contains(&expected), "{expected}: {all:?}");
    }
    assert!(
        log.body
            .contains(&format!("href=\"/console/clients/{cid}\""))
    );
    let theirs = activity(&b.get(&format!("/console/log?client={cid}")).await.body);
    assert_eq!(theirs.len(), 3, "{theirs:?}");
    assert!(theirs[2].contains("Creó el cliente | Ferretería Los Andes"));
    let mine = b.get(&format!("/console/log?invoice={id}")).await;
    assert_eq!(activity(&mine.body), rows);
    assert!(mine.body.contains("id=\"whole-log\""));
    // An id that is none of ours: the whole log, and why.
    for other in [id.replace("inv_", "cli_"), "F-000001".into()] {
        let p = b.get(&format!("/console/log?invoice={other}")).await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(
            p.body
                .contains("no hay ninguna factura con ese identificador"),
            "{}",
            p.body
        );
        assert_eq!(activity(&p.body), all);
    }

    // 25 a page: 30 more actions (new pay links through the API) fill two pages.
    for _ in 0..30 {
        let a = t
            .post(&format!("/v1/invoices/{id}/pay-links"), &json!({}), None)
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    }
    let first = b.get(&format!("/console/log?invoice={id}")).await;
    assert_eq!(activity(&first.body).len(), 25);
    let next = first.next_page().unwrap();
    let second = b.get(&next).await;
    assert_eq!(second.status, StatusCode::OK);
    let rest = activity(&second.body);
    assert_eq!(rest.len(), 7, "{rest:?}");
    assert_eq!(rest[6], rows[1]);
    assert_eq!(second.next_page(), None);

    // A viewer reads the log; in English for a person who reads English.
    let viewer = add(&t, "viewer", "en").await;
    let mut v = Browser::new(&t);
    v.sign_in(&viewer.email).await;
    let p = v.get(&format!("/console/log?invoice={id}")).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("Made a pay link") && p.body.contains("API key “tests”"));
}

/// GIVEN two open invoices, WHEN a collector records a promise on one (after refused
/// values) and agrees a plan on the other, THEN each is written with who made it, listed
/// on its page with how it stands, and the client is sent it; a plan over an open promise
/// is refused with why; a viewer gets no forms and a 403.
async fn promises_and_plans_from_the_invoice_page(t: TestApp) {
    let (_, first, email) = arranged_invoice(&t, "promesa").await;
    let (_, second, _) = arranged_invoice(&t, "plan").await;
    t.set_now("2026-11-10T15:00:00Z");
    let collector = add(&t, "collector", "es").await;
    let mut b = Browser::new(&t);
    b.sign_in(&collector.email).await;
    let path = format!("/console/invoices/{first}");
    let page = b.get(&path).await;
    assert!(page.body.contains("id=\"promise\"") && page.body.contains("id=\"plan\""));
    let csrf = page.csrf();
    let promise = |date: &str, amount: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("promise_date", date.to_string()),
            ("promise_amount", amount.to_string()),
        ]
    };
    let mails = t.mails_to(&email).await.len();
    for (date, amount, field, says) in [
        ("pronto", "", "promise_date", "escribe una fecha"),
        (
            "2026-11-01",
            "",
            "promise_date",
            "no puede ser un día pasado",
        ),
        (
            "2026-11-20",
            "$40.000",
            "promise_amount",
            "escribe un número",
        ),
        (
            "2026-11-20",
            "500000",
            "promise_amount",
            "no puede ser más de 100000",
        ),
    ] {
        let p = b
            .post(&format!("{path}/promise"), &refs(&promise(date, amount)))
            .await;
        assert_eq!(
            p.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{date} {amount}"
        );
        assert!(p.body.contains(says), "{says}: {}", p.body);
        assert!(p.body.contains(&format!("id=\"{field}-error\"")), "{field}");
        assert!(
            p.body.contains(&format!("value=\"{amount}\"")),
            "the value typed is kept"
        );
    }
    assert_eq!(
        t.invoice(&first).await["ledger"].as_array().unwrap().len(),
        1
    );
    let p = b
        .post(
            &format!("{path}/promise"),
            &refs(&promise("2026-11-20", "40000")),
        )
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some(&*format!("{path}?done=promised")),
        "{}",
        p.body
    );
    let page = b.get(&format!("{path}?done=promised")).await;
    assert!(page.body.contains("Promesa de pago registrada"));
    assert!(
        page.body.contains(
            "Promesa del negocio de pagar $40.000 a más tardar el viernes, 20 de noviembre de 2026: pendiente"
        ),
        "{}",
        page.body
    );
    let rows = activity(&page.body);
    assert!(
        rows[0].contains("Persona collector | Registró una promesa de pago"),
        "{rows:?}"
    );
    assert!(
        rows[0].ends_with("$40.000 · viernes, 20 de noviembre de 2026"),
        "{rows:?}"
    );
    assert_eq!(
        t.mails_to(&email).await.len(),
        mails + 1,
        "the client is sent it"
    );
    // A plan while the promise is open: refused, and why.
    let plan = |count: &str, first_day: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("plan_count", count.to_string()),
            ("plan_first", first_day.to_string()),
        ]
    };
    let p = b
        .post(&format!("{path}/plan"), &refs(&plan("3", "2026-12-15")))
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.body);
    assert!(p.body.contains("id=\"flash\""));

    let path = format!("/console/invoices/{second}");
    for (count, first_day, field, says) in [
        (
            "dos",
            "2026-12-15",
            "plan_count",
            "escribe un número entero de cuotas",
        ),
        ("0", "2026-12-15", "plan_count", "debe estar entre 1 y 36"),
        (
            "4000000",
            "2026-12-15",
            "plan_count",
            "debe estar entre 1 y 36",
        ),
        (
            "3",
            "2026-11-01",
            "plan_first",
            "no puede ser un día pasado",
        ),
        ("3", "15/12/2026", "plan_first", "escribe una fecha"),
    ] {
        let p = b
            .post(&format!("{path}/plan"), &refs(&plan(count, first_day)))
            .await;
        assert_eq!(
            p.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{count} {first_day}"
        );
        assert!(p.body.contains(says), "{says}: {}", p.body);
        assert!(
            p.body.contains(&format!("id=\"{field}-error\"")),
            "{field}: {}",
            p.body
        );
    }
    let p = b
        .post(&format!("{path}/plan"), &refs(&plan("3", "2026-12-15")))
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some(&*format!("{path}?done=planned")),
        "{}",
        p.body
    );
    let inv = t.invoice(&second).await;
    let plan_entry = inv["ledger"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(plan_entry["kind"], "plan");
    assert_eq!(plan_entry["by"], "business");
    assert_eq!(plan_entry["recorded_by"]["name"], "Persona collector");
    let amounts: Vec<&str> = plan_entry["instalments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["amount"]["amount"].as_str().unwrap())
        .collect();
    assert_eq!(
        amounts,
        ["33333", "33333", "33334"],
        "split exactly, the rest on the last"
    );
    let page = b.get(&path).await;
    assert!(
        page.body.contains(
            "Plan del negocio de 3 cuotas por $100.000, desde el martes, 15 de diciembre de 2026: en curso"
        ),
        "{}",
        page.body
    );

    // A viewer: no forms, and a forged POST is a 403 that writes nothing.
    let viewer = add(&t, "viewer", "es").await;
    let mut v = Browser::new(&t);
    v.sign_in(&viewer.email).await;
    let page = v.get(&format!("/console/invoices/{first}")).await;
    assert!(!page.body.contains("id=\"promise\"") && !page.body.contains("id=\"plan\""));
    let forged = [
        ("csrf", page.csrf()),
        ("promise_date", "2026-11-25".to_string()),
    ];
    let p = v
        .post(
            &format!("/console/invoices/{first}/promise"),
            &refs(&forged),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.invoice(&first).await["ledger"].as_array().unwrap().len(),
        2
    );
}

/// GIVEN a promise and a plan broken by the sweep, WHEN the home page is read in the
/// following days, THEN its queues count them and link to pages that list them, until
/// they are more than seven days old; an unknown queue is a 404.
async fn broken_promises_and_plans_are_queued_for_a_week(t: TestApp) {
    let (_, promised, _) = arranged_invoice(&t, "rota").await;
    let (_, planned, _) = arranged_invoice(&t, "cuotas").await;
    t.set_now("2026-12-04T13:00:00Z");
    for (path, body) in [
        (
            format!("/v1/invoices/{promised}/promises"),
            json!({"date": "2026-12-10", "amount": "60000"}),
        ),
        (
            format!("/v1/invoices/{planned}/plans"),
            json!({"count": 3, "first_due_date": "2026-12-15"}),
        ),
    ] {
        let a = t.post(&path, &body, None).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    }
    // Judged on the 14th (the promise) and the 18th (the first instalment).
    daily_sweeps(&t, "2026-12-05", "2026-12-19").await;
    let cards = |body: &str| -> Vec<(String, String)> {
        body.split("id=\"queues\"")
            .nth(1)
            .unwrap()
            .split("<li>")
            .skip(1)
            .map(|li| {
                let count = li
                    .split("class=\"count\">")
                    .nth(1)
                    .unwrap()
                    .split('<')
                    .next()
                    .unwrap();
                let href = li
                    .split("href=\"")
                    .nth(1)
                    .map_or("", |h| h.split('"').next().unwrap());
                (count.to_string(), href.to_string())
            })
            .collect()
    };
    let reader = add(&t, "viewer", "es").await;
    t.set_now("2026-12-19T15:00:00Z");
    let mut b = Browser::new(&t);
    b.sign_in(&reader.email).await;
    let home = b.get("/console").await;
    let found = cards(&home.body);
    for (queue, invoice) in [("broken-promises", &promised), ("broken-plans", &planned)] {
        let href = format!("/console/queues/{queue}");
        assert!(
            found.contains(&("1".to_string(), href.clone())),
            "{queue}: {found:?}"
        );
        let page = b.get(&href).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body
                .contains(&format!("href=\"/console/invoices/{invoice}\"")),
            "{}",
            page.body
        );
        assert!(page.body.contains("Ferretería Los Andes"));
    }
    let none = (
        "nada".to_string(),
        "/console/queues/overdue-deposits".to_string(),
    );
    assert!(found.contains(&none), "{found:?}");
    assert_eq!(
        b.get("/console/queues/todo").await.status,
        StatusCode::NOT_FOUND
    );
    // A week and more later: no longer this week's.
    t.set_now("2026-12-26T15:00:00Z");
    let mut b = Browser::new(&t);
    b.sign_in(&reader.email).await;
    let page = b.get("/console/queues/broken-promises").await;
    assert!(page.body.contains("id=\"empty\""), "{}", page.body);
}

/// GIVEN a collector on the new-invoice form, WHEN they send it with values the API
/// refuses, THEN the form comes back with each message by its field, in Spanish, with what
/// was typed, and nothing is written; sent right, the invoice is made once (twice posted),
/// e-mailed, and recorded as theirs; over the client's budget it says so; a viewer is
/// refused.
async fn an_invoice_is_made_from_the_form(t: TestApp) {
    t.set_now(&chrono::Utc::now().to_rfc3339());
    let email = unique_email("nueva");
    let cid = t
        .client(json!({"name": "Estudio Norte", "email": email, "timezone": "America/Santiago"}))
        .await;
    let collector = add(&t, "collector", "es").await;
    let mut b = Browser::new(&t);
    b.sign_in(&collector.email).await;
    let list = b.get("/console/invoices").await;
    assert!(list.body.contains("href=\"/console/invoices/new\""));
    let page = b.get("/console/invoices/new").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(&format!("<option value=\"{cid}\">Estudio Norte</option>"))
    );
    assert!(
        page.body.contains("id=\"line4_unit_amount\""),
        "five lines offered"
    );
    assert!(
        page.body.contains("name=\"send\" value=\"1\" checked"),
        "sent by default"
    );
    let (csrf, nonce) = (page.csrf(), page.value("nonce"));
    let form = |fields: &[(&'static str, &str)]| {
        let mut f = vec![("csrf", csrf.clone()), ("nonce", nonce.clone())];
        f.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
        f
    };
    let count = || async {
        let listed = t.get(&format!("/v1/clients/{cid}/invoices")).await;
        listed.body["data"].as_array().unwrap().len()
    };
    // Not numbers, not a date: said before anything else is asked.
    let p = b
        .post(
            "/console/invoices/new",
            &refs(&form(&[
                ("line0_description", "Diseño"),
                ("line0_unit_amount", "$10.000"),
                ("due_date", "mañana"),
            ])),
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        p.body.contains("id=\"line0_unit_amount-error\"") && p.body.contains("escribe un número")
    );
    assert!(p.body.contains("id=\"due_date-error\"") && p.body.contains("escribe una fecha"));
    assert!(p.body.contains("value=\"$10.000\"") && p.body.contains("value=\"Diseño\""));
    // Then the API's own checks, each by its field (line 3 of the form is the API's 2nd).
    let p = b
        .post(
            "/console/invoices/new",
            &refs(&form(&[
                ("currency", "XYZ"),
                ("line0_description", "Diseño"),
                ("line0_unit_amount", "150000"),
                ("line2_quantity", "2"),
                ("line2_unit_amount", "10000"),
                ("tax_rate", "150"),
                ("due_date", "2026-12-31"),
            ])),
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    for (field, says) in [
        ("client_id", "elige un cliente de la lista"),
        ("currency", "elige una moneda de la lista"),
        ("tax_rate", "escribe un porcentaje entre 0 y 100"),
        ("line2_description", "no puede quedar vacío"),
    ] {
        let at = format!("id=\"{field}-error\">{says}");
        assert!(p.body.contains(&at), "{at}: {}", p.body);
    }
    assert!(p.body.contains("value=\"XYZ\""));
    assert_eq!(count().await, 0, "nothing written");

    let good = form(&[
        ("client_id", cid.as_str()),
        ("currency", "clp"),
        ("line0_description", "Diseño de marca"),
        ("line0_unit_amount", "150000"),
        ("line3_description", "Hosting"),
        ("line3_quantity", "2"),
        ("line3_unit_amount", "10000"),
        ("tax_rate", "19"),
        ("due_date", "2027-01-15"),
        ("send", "1"),
    ]);
    let p = b.post("/console/invoices/new", &refs(&good)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let to = p.location.clone().unwrap();
    let id = to
        .strip_prefix("/console/invoices/")
        .and_then(|r| r.strip_suffix("?done=created"))
        .unwrap()
        .to_string();
    let inv = t.invoice(&id).await;
    assert_eq!(inv["total"], "202300", "170000 and 19 %");
    assert_eq!(inv["due_date"], "2027-01-15");
    assert_eq!(inv["lines"].as_array().unwrap().len(), 2);
    assert_eq!(inv["ledger"][0]["recorded_by"]["name"], "Persona collector");
    assert_eq!(t.mails_to(&email).await.len(), 1, "e-mailed");
    let shown = b.get(&to).await;
    assert!(shown.body.contains("Factura creada."));
    // The same form again: the same invoice, no second one.
    let again = b.post("/console/invoices/new", &refs(&good)).await;
    assert_eq!(
        again.location.as_deref(),
        Some(&*format!("/console/invoices/{id}"))
    );
    assert_eq!(count().await, 1);

    // Over the client's budget: said, nothing written.
    let budget = json!({"amount": "250000", "currency": "CLP"});
    let a = t.put(&format!("/v1/clients/{cid}/budget"), &budget).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let page = b.get("/console/invoices/new").await;
    let over = vec![
        ("csrf", page.csrf()),
        ("nonce", page.value("nonce")),
        ("client_id", cid.clone()),
        ("currency", "CLP".into()),
        ("line0_description", "Más diseño".into()),
        ("line0_unit_amount", "100000".into()),
        ("due_date", "2027-01-15".into()),
    ];
    let p = b.post("/console/invoices/new", &refs(&over)).await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.body);
    assert!(
        p.body
            .contains("Supera el presupuesto del cliente: le quedan $47.700"),
        "{}",
        p.body
    );
    assert_eq!(count().await, 1);

    // A viewer: neither the form nor its POST.
    let viewer = add(&t, "viewer", "es").await;
    let mut v = Browser::new(&t);
    v.sign_in(&viewer.email).await;
    assert_eq!(
        v.get("/console/invoices/new").await.status,
        StatusCode::FORBIDDEN
    );
    assert!(
        !v.get("/console/invoices")
            .await
            .body
            .contains("/console/invoices/new")
    );
    let csrf = v.get("/console").await.csrf();
    let mut forged = good.clone();
    forged[0].1 = csrf;
    let p = v.post("/console/invoices/new", &refs(&forged)).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(count().await, 1);
}

/// The rows of the page's clients table: (name, tier cell, owes, overdue, deposit).
fn client_rows(body: &str) -> Vec<Vec<String>> {
    table(body, "clients")
}

/// GIVEN two clients, one owing an overdue invoice, WHEN a collector lists, filters, opens,
/// creates and limits clients, THEN the list says each one's tier and what they owe and
/// have overdue per currency, filters by tier and text, a new client is made with the
/// API's checks in Spanish, and the credit limit and budget are set (refused values
/// said by their field, nothing written); a viewer reads but does not act.
async fn clients_are_listed_opened_made_and_limited(t: TestApp) {
    let (cid, id, _) = arranged_invoice(&t, "clientes").await;
    let other = t
        .client(json!({"name": "Café Norte", "email": unique_email("cafe"), "timezone": "America/Santiago"}))
        .await;
    t.set_now("2026-12-20T15:00:00Z");
    let collector = add(&t, "collector", "es").await;
    let mut b = Browser::new(&t);
    b.sign_in(&collector.email).await;
    let page = b.get("/console/clients").await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = client_rows(&page.body);
    let andes = rows
        .iter()
        .find(|r| r[0] == "Ferretería Los Andes")
        .expect("listed");
    assert_eq!(
        (andes[2].as_str(), andes[3].as_str()),
        ("$100.000", "$100.000"),
        "{rows:?}"
    );
    assert!(rows.iter().any(|r| r[0] == "Café Norte" && r[2].is_empty()));
    // By text, case and accents aside; by tier, each one of its tier, all of them in one.
    for q in ["ferre", "FERRETERIA", "76."] {
        let found = client_rows(
            &b.get(&format!("/console/clients?q={}", urlencode(q)))
                .await
                .body,
        );
        let names: Vec<&str> = found.iter().map(|r| r[0].as_str()).collect();
        if q == "76." {
            assert!(names.is_empty(), "no tax ids here: {names:?}");
        } else {
            assert_eq!(names, ["Ferretería Los Andes"], "{q}");
        }
    }
    let mut seen = 0;
    for tier in ["A", "B", "C", "D"] {
        let found = client_rows(&b.get(&format!("/console/clients?tier={tier}")).await.body);
        assert!(
            found.iter().all(|r| r[1].starts_with(tier)),
            "{tier}: {found:?}"
        );
        seen += found.len();
    }
    assert_eq!(seen, rows.len(), "every client in one tier");
    assert_eq!(
        client_rows(&b.get("/console/clients?tier=Z").await.body).len(),
        rows.len()
    );

    // A new client: the API's checks, by field, in Spanish; then made, as the collector's.
    let page = b.get("/console/clients/new").await;
    assert_eq!(page.status, StatusCode::OK);
    let (csrf, nonce) = (page.csrf(), page.value("nonce"));
    let new = |name: &str, email: &str, tax: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("nonce", nonce.clone()),
            ("name", name.to_string()),
            ("email", email.to_string()),
            ("tax_id", tax.to_string()),
            ("country", "CL".to_string()),
            ("locale", "es".to_string()),
            ("timezone", "America/Santiago".to_string()),
        ]
    };
    let p = b
        .post(
            "/console/clients/new",
            &refs(&new("", "no-es-correo", "76.543.210-4")),
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    for (field, says) in [
        ("name", "no puede quedar vacío"),
        ("email", "escribe un correo válido"),
        ("tax_id", "Chilean RUT"),
    ] {
        assert!(
            p.body.contains(&format!("id=\"{field}-error\">")),
            "{field}: {}",
            p.body
        );
        assert!(p.body.contains(says), "{says}");
    }
    assert!(p.body.contains("value=\"no-es-correo\""));
    let email = unique_email("sur");
    let p = b
        .post(
            "/console/clients/new",
            &refs(&new("Imprenta Sur", &email, "76.543.210-3")),
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let to = p.location.unwrap();
    // The same form again (a double click): the same client, no second one.
    let twice = b
        .post(
            "/console/clients/new",
            &refs(&new("Imprenta Sur", &email, "76.543.210-3")),
        )
        .await;
    assert_eq!(twice.location.as_deref(), to.strip_suffix("?done=created"));
    let made = b.get(&to).await;
    let new_id = to
        .strip_prefix("/console/clients/")
        .and_then(|r| r.strip_suffix("?done=created"))
        .unwrap()
        .to_string();
    let form = b
        .get(&format!("/console/invoices/new?client_id={new_id}"))
        .await;
    assert!(
        form.body.contains(&format!(
            "<option value=\"{new_id}\" selected>Imprenta Sur</option>"
        )),
        "{}",
        form.body
    );
    assert!(made.body.contains("Cliente creado.") && made.body.contains("<h1>Imprenta Sur</h1>"));
    assert!(activity(&made.body)[0].contains("Persona collector | Creó el cliente | Imprenta Sur"));
    // Another form (its own one-time value) with the same tax id.
    let mut other_form = new("Imprenta Sur 2", &unique_email("s2"), "76543210-3");
    other_form[1].1 = b.get("/console/clients/new").await.value("nonce");
    let again = b.post("/console/clients/new", &refs(&other_form)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again
            .body
            .contains("Otro cliente ya tiene esta identificación tributaria: Imprenta Sur")
    );

    // A client's page: standing, what they owe, their invoices; the credit limit and budget.
    let path = format!("/console/clients/{cid}");
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"owes\">$100.000"));
    assert!(
        page.body
            .contains(&format!("href=\"/console/invoices/{id}\""))
    );
    assert!(
        page.body.contains("id=\"reasons\""),
        "why the points were lost: {}",
        page.body
    );
    let csrf = page.csrf();
    let limit = |amount: &str, currency: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("credit_limit", amount.to_string()),
            ("currency", currency.to_string()),
        ]
    };
    for (amount, currency, field, says) in [
        ("$500.000", "CLP", "credit_limit", "escribe un número"),
        ("-5", "CLP", "credit_limit", "debe ser mayor que cero"),
        ("500000", "XYZ", "currency", "elige una moneda"),
    ] {
        let p = b
            .post(
                &format!("{path}/credit-limit"),
                &refs(&limit(amount, currency)),
            )
            .await;
        assert_eq!(
            p.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{amount} {currency}"
        );
        assert!(
            p.body.contains(&format!(
                "error\" id=\"{}-error\"",
                if field == "currency" {
                    "limit-currency"
                } else {
                    field
                }
            )),
            "{field}: {}",
            p.body
        );
        assert!(p.body.contains(says), "{says}: {}", p.body);
    }
    let p = b
        .post(
            &format!("{path}/credit-limit"),
            &refs(&limit("500000", "CLP")),
        )
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some(&*format!("{path}?done=limit")),
        "{}",
        p.body
    );
    let page = b.get(&format!("{path}?done=limit")).await;
    assert!(
        page.body.contains("$500.000 (Disponible $400.000)"),
        "{}",
        page.body
    );
    assert_eq!(
        t.get(&path.replace("/console", "/v1")).await.body["credit_limit"]["amount"],
        "500000"
    );
    let budget = |amount: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("budget", amount.to_string()),
            ("currency", "CLP".to_string()),
        ]
    };
    let p = b
        .post(&format!("{path}/budget"), &refs(&budget("50000")))
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(
        p.body
            .contains("debe ser al menos 100000 (lo ya facturado)"),
        "{}",
        p.body
    );
    let p = b
        .post(&format!("{path}/budget"), &refs(&budget("300000")))
        .await;
    assert_eq!(p.location.as_deref(), Some(&*format!("{path}?done=budget")));
    // Emptied, the limit is removed.
    let p = b
        .post(&format!("{path}/credit-limit"), &refs(&limit("", "CLP")))
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(
        t.get(&path.replace("/console", "/v1"))
            .await
            .body
            .get("credit_limit")
            .is_none()
    );
    // The API: another currency than the budget's is refused; null removes.
    let api = format!("/v1/clients/{cid}/credit-limit");
    let a = t
        .put(&api, &json!({"amount": "1000", "currency": "USD"}))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.raw);
    assert_eq!(a.body["errors"][0]["field"], "credit_limit.currency");
    let a = t
        .put(&api, &json!({"amount": "200000", "currency": "CLP"}))
        .await;
    assert_eq!(a.body["credit_limit"]["amount"], "200000", "{}", a.raw);
    let a = t.put(&api, &json!(null)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert!(a.body.get("credit_limit").is_none());
    assert_eq!(
        b.get(&format!("/console/clients/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    // A viewer reads, without forms; a forged POST is a 403.
    let viewer = add(&t, "viewer", "es").await;
    let mut v = Browser::new(&t);
    v.sign_in(&viewer.email).await;
    let page = v.get(&format!("/console/clients/{other}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("id=\"save-limit\""));
    assert_eq!(
        v.get("/console/clients/new").await.status,
        StatusCode::FORBIDDEN
    );
    let forged = [
        ("csrf", page.csrf()),
        ("credit_limit", "1".to_string()),
        ("currency", "CLP".to_string()),
    ];
    let p = v
        .post(
            &format!("/console/clients/{other}/credit-limit"),
            &refs(&forged),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}

/// A client's contact and terms changed from their page, as the API would (the same checks
/// and messages, by field, nothing written when refused), and kept in the log.
async fn a_client_is_changed_from_its_page(t: TestApp) {
    let cid = t
        .client(
            json!({"name": "Taller Río", "email": unique_email("rio"), "phone": "+56 2 2345 6789",
            "timezone": "America/Santiago"}),
        )
        .await;
    let owner = add(&t, "owner", "es").await;
    let mut b = Browser::new(&t);
    b.sign_in(&owner.email).await;
    let path = format!("/console/clients/{cid}");
    let page = b.get(&path).await;
    assert!(page.body.contains(&format!("href=\"{path}/edit\"")));
    // The terms a new invoice would get, before: the business's.
    assert!(
        page.body.contains("<dt>Días de gracia</dt><dd>2 días</dd>"),
        "{}",
        page.body
    );
    let form = b.get(&format!("{path}/edit")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("value=\"+56 2 2345 6789\""));
    let csrf = form.csrf();
    let before = t.get(&format!("/v1/clients/{cid}")).await.body;
    let post = |fields: &[(&'static str, &str)]| {
        let mut all = vec![
            ("csrf", csrf.clone()),
            ("name", "Taller Río".to_string()),
            ("email", before["email"].as_str().unwrap().to_string()),
            ("phone", "+56 2 2345 6789".to_string()),
            ("locale", "es".to_string()),
            ("timezone", "America/Santiago".to_string()),
        ];
        for (k, v) in fields {
            all.retain(|(name, _)| name != k);
            all.push((*k, v.to_string()));
        }
        all
    };
    // Every bad field at once: each message under its field, what was typed kept.
    let bad = post(&[
        ("email", "no-es-correo"),
        ("terms.grace_days", "tres"),
        ("terms.reminder_offsets", "7, 3"),
        ("terms.escalate_after_days", "800"),
        ("terms.late_fee", "percent"),
        ("terms.business_hours", "custom"),
        ("terms.business_hours.start", "9"),
        ("terms.business_hours.end", "18:00"),
    ]);
    let p = b.post(&format!("{path}/edit"), &refs(&bad)).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    for (field, says) in [
        ("terms.grace_days", "escribe un número entero"),
        ("terms.late_fee.value", "no puede quedar vacío"),
        ("terms.business_hours.start", "escribe una hora (HH:MM)"),
    ] {
        assert!(
            p.body.contains(&format!("id=\"{field}-error\">{says}")),
            "{field}: {}",
            p.body
        );
    }
    assert!(p.body.contains("value=\"tres\"") && p.body.contains("value=\"no-es-correo\""));
    // Once each field reads, the use case's own checks, by field, in Spanish.
    let bad = post(&[
        ("email", "no-es-correo"),
        ("terms.grace_days", "91"),
        ("terms.reminder_offsets", "7, 3"),
        ("terms.escalate_after_days", "800"),
        ("terms.late_fee", "percent"),
        ("terms.late_fee.value", "150"),
        ("terms.business_hours", "custom"),
        ("terms.business_hours.start", "18:00"),
        ("terms.business_hours.end", "09:00"),
    ]);
    let p = b.post(&format!("{path}/edit"), &refs(&bad)).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    for (field, says) in [
        ("email", "escribe un correo válido"),
        ("terms.grace_days", "debe ser a lo más 90 días"),
        (
            "terms.reminder_offsets",
            "deben ir de menor a mayor, sin repetir",
        ),
        ("terms.escalate_after_days", "debe ser a lo más 730 días"),
        ("terms.late_fee.value", "un porcentaje es a lo más 100"),
        ("terms.business_hours.end", "debe ser después del inicio"),
    ] {
        assert!(
            p.body.contains(&format!("id=\"{field}-error\">{says}")),
            "{field}: {}",
            p.body
        );
    }
    assert!(
        p.body.contains("id=\"days-error\">elige al menos un día"),
        "{}",
        p.body
    );
    assert_eq!(
        t.get(&format!("/v1/clients/{cid}")).await.body,
        before,
        "nothing written"
    );
    // Without the form's CSRF value: refused, nothing written.
    let mut forged = post(&[("email", "otro@rio.cl")]);
    forged[0].1 = "x".into();
    let p = b.post(&format!("{path}/edit"), &refs(&forged)).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(t.get(&format!("/v1/clients/{cid}")).await.body, before);

    // Changed: a new address, no phone, English, and terms of its own.
    let email = unique_email("rio2");
    let good = post(&[
        ("email", &email),
        ("phone", ""),
        ("locale", "en"),
        ("terms.grace_days", "5"),
        ("terms.reminder_offsets", "-3, 0, 7"),
        ("terms.late_fee", "percent"),
        ("terms.late_fee.value", "1.5"),
        ("terms.late_fee.recurrence", "monthly"),
        ("terms.business_hours", "custom"),
        ("terms.business_hours.start", "09:00"),
        ("terms.business_hours.end", "18:00"),
        ("terms.business_hours.mon", "on"),
        ("terms.business_hours.fri", "on"),
        ("terms.plan_needs_approval", "yes"),
    ]);
    let p = b.post(&format!("{path}/edit"), &refs(&good)).await;
    assert_eq!(
        p.location.as_deref(),
        Some(&*format!("{path}?done=edited")),
        "{}",
        p.body
    );
    let page = b.get(&format!("{path}?done=edited")).await;
    assert!(page.body.contains("Datos del cliente guardados."));
    for shown in [
        "<dt>Días de gracia</dt><dd>5 días</dd>",
        "<dd>-3, 0, 7</dd>",
        "<dd>1.5 %, cada mes</dd>",
        "<dd>09:00–18:00, lun vie</dd>",
        "<dt>El plan pedido por el cliente requiere aprobación</dt><dd>Sí</dd>",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    assert!(
        activity(&page.body)[0]
            .contains("Cambió los datos del cliente | Taller Río | email, phone, locale, terms"),
        "{:?}",
        activity(&page.body)
    );
    let after = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(after["email"], email.as_str());
    assert_eq!(after["locale"], "en");
    assert!(after.get("phone").is_none(), "{after}");
    assert_eq!(after["terms"]["grace_days"], 5);
    assert_eq!(after["terms"]["reminder_offsets"], json!([-3, 0, 7]));
    assert_eq!(
        after["terms"]["business_hours"]["days"],
        json!(["mon", "fri"])
    );
    // The form opens with what is now kept; the same values again change nothing.
    let form = b.get(&format!("{path}/edit")).await;
    assert!(form.body.contains("value=\"-3, 0, 7\""));
    assert!(form.body.contains("<option value=\"monthly\" selected>"));
    let p = b.post(&format!("{path}/edit"), &refs(&good)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let log = t.get(&format!("/v1/audit?client_id={cid}")).await.body;
    let updates = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "client_updated")
        .count();
    assert_eq!(updates, 1, "{log}");
    // A new invoice for them gets their terms.
    let inv = t
        .post(
            "/v1/invoices",
            &json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-31",
        "lines": [{"description": "Arreglo", "quantity": "1", "unit_amount": "1000"}]}),
            None,
        )
        .await;
    assert_eq!(inv.status, StatusCode::CREATED, "{}", inv.raw);
    assert_eq!(inv.body["terms"]["grace_days"], 5, "{}", inv.raw);

    // A viewer may not open the form nor post it; an unknown client is a 404.
    let viewer = add(&t, "viewer", "es").await;
    let mut v = Browser::new(&t);
    v.sign_in(&viewer.email).await;
    assert!(!v.get(&path).await.body.contains("/edit\""));
    assert_eq!(
        v.get(&format!("{path}/edit")).await.status,
        StatusCode::FORBIDDEN
    );
    let vcsrf = v.get(&path).await.csrf();
    let mut forged = post(&[("email", "otro@rio.cl")]);
    forged[0].1 = vcsrf;
    assert_eq!(
        v.post(&format!("{path}/edit"), &refs(&forged)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        b.get("/console/clients/cli_00000000000000000000000000/edit")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.get("/console/clients/inv_00000000000000000000000000/edit")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// An owner changes a person's role and takes their access away and back; the business
/// always keeps one owner who can sign in.
async fn a_person_is_changed_disabled_and_enabled(t: TestApp) {
    let owner = add(&t, "owner", "es").await;
    let bea = add(&t, "collector", "es").await;
    let mut b = Browser::new(&t);
    b.sign_in(&owner.email).await;
    let mut bb = Browser::new(&t);
    bb.sign_in(&bea.email).await;
    assert_eq!(bb.get("/console/clients/new").await.status, StatusCode::OK);
    let csrf = b.get("/console/users").await.csrf();
    let to = |what: &str| format!("/console/users/{}/{what}", bea.id);

    // A role that is none: the page with the message, nothing written.
    let p = b
        .post(&to("role"), &[("csrf", &csrf), ("role", "jefa")])
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        p.body.contains("elige dueño, cobrador o lector"),
        "{}",
        p.body
    );
    assert_eq!(
        t.store.user(&bea.id).await.unwrap().unwrap().role,
        cobro_domain::Role::Collector
    );
    // Without the CSRF value, or by someone not an owner: 403, nothing written.
    let p = b.post(&to("disable"), &[("csrf", "x")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let bea_csrf = bb.get("/console").await.csrf();
    let own = format!("/console/users/{}/role", bea.id);
    let p = bb
        .post(&own, &[("csrf", &bea_csrf), ("role", "owner")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(t.store.user(&bea.id).await.unwrap().unwrap().is_active());

    // A viewer now: her session reads, no longer acts.
    let p = b
        .post(&to("role"), &[("csrf", &csrf), ("role", "viewer")])
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/users?done=role"),
        "{}",
        p.body
    );
    assert_eq!(
        bb.get("/console/clients/new").await.status,
        StatusCode::FORBIDDEN
    );
    let page = b.get("/console/users?done=role").await;
    assert!(page.body.contains("Rol cambiado."));
    assert!(
        page.body
            .contains(&format!("<select id=\"role-{}\" name=\"role\">", bea.id)),
        "{}",
        page.body
    );

    // Disabled: her session ends, a link she had no longer signs her in, none is sent.
    let old_link = cobro_app::usecases::people::link_for(&t.app, &bea)
        .await
        .unwrap();
    let p = b.post(&to("disable"), &[("csrf", &csrf)]).await;
    assert_eq!(p.location.as_deref(), Some("/console/users?done=disabled"));
    let home = bb.get("/console").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER, "signed out");
    let mails = t.mails_to(&bea.email).await.len();
    bb.ask_link(&bea.email).await;
    assert_eq!(
        t.mails_to(&bea.email).await.len(),
        mails,
        "no link for a disabled person"
    );
    let mut fresh = Browser::new(&t);
    let path = old_link.trim_start_matches(&t.base).to_string();
    let page = fresh.get(&path).await;
    let csrf_link = page.csrf();
    let entered = fresh.post(&path, &[("csrf", &csrf_link)]).await;
    assert_ne!(
        entered.location.as_deref(),
        Some("/console"),
        "{}",
        entered.body
    );
    let page = b.get("/console/users").await;
    assert!(
        page.body
            .contains(&format!("/console/users/{}/enable", bea.id))
    );
    assert!(page.body.contains("Sin acceso"));
    // Disabling twice changes nothing and records nothing more.
    let p = b.post(&to("disable"), &[("csrf", &csrf)]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);

    // Enabled again: she may ask for a link and sign in, as a viewer.
    let p = b.post(&to("enable"), &[("csrf", &csrf)]).await;
    assert_eq!(p.location.as_deref(), Some("/console/users?done=enabled"));
    let mut again = Browser::new(&t);
    again.sign_in(&bea.email).await;
    assert_eq!(
        again.get("/console/clients/new").await.status,
        StatusCode::FORBIDDEN
    );

    // The last owner cannot be made something else nor disabled, not even by herself.
    for (what, form) in [
        ("role", vec![("csrf", csrf.as_str()), ("role", "collector")]),
        ("disable", vec![("csrf", csrf.as_str())]),
    ] {
        let p = b
            .post(&format!("/console/users/{}/{what}", owner.id), &form)
            .await;
        assert_eq!(p.status, StatusCode::CONFLICT, "{what}");
        assert!(
            p.body.contains("al menos un dueño que pueda entrar"),
            "{}",
            p.body
        );
    }
    assert!(t.store.user(&owner.id).await.unwrap().unwrap().is_active());
    // An unknown person: 404.
    let p = b
        .post(
            "/console/users/usr_00000000000000000000000000/disable",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    // With a second owner, the first may step down.
    let p = b
        .post(&to("role"), &[("csrf", &csrf), ("role", "owner")])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let p = b
        .post(
            &format!("/console/users/{}/role", owner.id),
            &[("csrf", &csrf), ("role", "collector")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    // Now a collector: managing people is refused.
    let p = b.post(&to("disable"), &[("csrf", &csrf)]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    let log = t.get("/v1/audit").await.body;
    let acts: Vec<String> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"].as_str().unwrap().starts_with("user_"))
        .map(|r| {
            format!(
                "{} {}",
                r["action"].as_str().unwrap(),
                r["detail"].as_str().unwrap_or_default()
            )
        })
        .collect();
    let named = |id: &cobro_domain::UserId, name: &str| format!("{name} ({id})");
    assert_eq!(
        acts,
        [
            format!(
                "user_role_changed {}: owner → collector",
                named(&owner.id, "Persona owner")
            ),
            format!(
                "user_role_changed {}: viewer → owner",
                named(&bea.id, "Persona collector")
            ),
            format!("user_enabled {}", named(&bea.id, "Persona collector")),
            format!("user_disabled {}", named(&bea.id, "Persona collector")),
            format!(
                "user_role_changed {}: collector → viewer",
                named(&bea.id, "Persona collector")
            ),
            format!("user_added {} ({}, collector)", "Persona collector", bea.id),
            format!("user_added {} ({}, owner)", "Persona owner", owner.id),
        ],
        "newest first"
    );
}

/// The Reports page: the API's aging, drawn and tabled per currency, for every role; a
/// filter it cannot read is named and the rest shown; the CSV is the page's.
async fn the_reports_page_shows_the_apis_aging(t: TestApp) {
    let (andes, _, _) = super::figures::aging_fixture(&t).await;
    let viewer = add(&t, "viewer", "es").await;
    let mut b = Browser::new(&t);
    b.sign_in(&viewer.email).await;
    let home = b.get("/console").await;
    assert!(home.body.contains("href=\"/console/reports\""));
    // The home page draws what is owed today (the aging), the API's figures.
    let today = t.get("/v1/reports/aging").await.body;
    for code in ["CLP", "USD"] {
        let low = code.to_ascii_lowercase();
        assert!(
            home.body.contains(&format!(
                "aria-labelledby=\"aging-{low}-title aging-{low}-desc\""
            )),
            "{code}"
        );
        let rows = table(&home.body, &format!("owed-{code}"));
        let total = today["currencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["currency"] == code)
            .unwrap()["total"]
            .clone();
        assert_eq!(rows.len(), 6, "{rows:?}");
        assert_eq!(rows[5][0], total["invoices"].to_string(), "{code}");
        let shown = rows[5][1].replace(['.', ','], "");
        let amount = total["amount"]["amount"].as_str().unwrap().replace('.', "");
        assert!(
            shown.ends_with(&amount),
            "{code}: {} vs {amount}",
            rows[5][1]
        );
    }
    let page = b.get("/console/reports?as_of=2026-11-27").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let api = t.get("/v1/reports/aging?as_of=2026-11-27").await.body;
    for (code, sign) in [("CLP", "$"), ("USD", "US$")] {
        let rows = table(&page.body, &format!("aging-{code}"));
        assert_eq!(rows.len(), 6, "five buckets and the total: {rows:?}");
        let cur = api["currencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["currency"] == code)
            .unwrap();
        for (i, bucket) in cur["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .chain([&cur["total"]])
            .enumerate()
        {
            assert_eq!(rows[i][0], bucket["invoices"].to_string(), "{code} {i}");
            let shown = rows[i][3].replace(['.', ','], "");
            let amount = bucket["amount"]["amount"]
                .as_str()
                .unwrap()
                .replace('.', "");
            assert!(
                shown.ends_with(&amount) && shown.contains(sign),
                "{code} {i}: {} vs {amount}",
                rows[i][3]
            );
        }
        // Drawn: an SVG labelled by its title and description.
        let low = code.to_ascii_lowercase();
        assert!(
            page.body.contains(&format!(
                "aria-labelledby=\"aging-{low}-title aging-{low}-desc\""
            )),
            "{}",
            page.body
        );
    }
    assert!(page.body.contains(
        "<title id=\"aging-clp-title\">Antigüedad de la deuda en CLP al 2026-11-27</title>"
    ));
    assert_eq!(table(&page.body, "aging-CLP")[2][3], "$100.000");
    let clients = table(&page.body, "aging-CLP-clients");
    assert_eq!(
        clients[0][..2],
        ["Ferretería Andes".to_string(), "$150.000".to_string()]
    );
    assert!(page.body.contains("art. 1595"));
    // DSO beside it, the API's figures: 3, 6 and 12 months by both methods.
    let page = b.get("/console/reports?as_of=2026-11-30").await;
    let dso = t.get("/v1/reports/dso?as_of=2026-11-30").await.body;
    let rows = table(&page.body, "dso-CLP");
    let clp = dso["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["currency"] == "CLP")
        .unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    for (row, p) in rows.iter().zip(clp["periods"].as_array().unwrap()) {
        assert_eq!(row[0], p["simple"].as_str().unwrap());
        // Not exhausted: a lower bound.
        assert_eq!(row[1], format!("≥ {}", p["countback"].as_str().unwrap()));
    }
    assert_eq!(rows[0][..2], ["65.7".to_string(), "≥ 30.0".to_string()]);
    // The trends of twelve months and the expected cash: the API's figures, drawn.
    let api = t.get("/v1/reports/trends?as_of=2026-11-30").await.body;
    let months = api["currencies"][0]["months"].as_array().unwrap();
    let rows = table(&page.body, "trends-CLP");
    assert_eq!(rows.len(), 12, "{rows:?}");
    for (row, m) in rows.iter().zip(months) {
        let share = m["overdue_share"]
            .as_str()
            .map_or("—".to_string(), |v| format!("{v} %"));
        let cei = m["cei"].as_str().unwrap_or("—");
        assert_eq!(
            (row[3].as_str(), row[4].as_str()),
            (share.as_str(), cei),
            "{row:?}"
        );
    }
    assert_eq!(
        rows[0][..5],
        ["$80.000", "$90.000", "$130.000", "100.0 %", "40.9"].map(String::from)
    );
    let cash = t.get("/v1/reports/cash?as_of=2026-11-30").await.body;
    let weeks = cash["currencies"][0]["weeks"].as_array().unwrap();
    let rows = table(&page.body, "cash-CLP");
    assert_eq!(rows.len(), 16, "{rows:?}");
    for (row, w) in rows.iter().zip(weeks) {
        let expected = w["expected"]["amount"].as_str().unwrap();
        assert_eq!(
            row[4].replace('.', "").trim_start_matches('$'),
            expected,
            "{row:?}"
        );
    }
    for id in ["trend-clp", "share-clp", "cash-clp", "cash-usd"] {
        assert!(
            page.body
                .contains(&format!("aria-labelledby=\"{id}-title {id}-desc\"")),
            "{id}"
        );
    }
    assert!(page.body.contains("aria-current=\"date\""));
    // A date it cannot read, a currency that is none: named, and today's aging shown.
    let page = b.get("/console/reports?as_of=ayer&currency=XYZ").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("id=\"as_of-error\">escribe una fecha (AAAA-MM-DD)"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("id=\"currency-error\">escribe un código de moneda ISO 4217")
    );
    assert!(page.body.contains("value=\"2026-12-01\""));
    let page = b.get("/console/reports?as_of=2027-01-01").await;
    assert!(
        page.body
            .contains("id=\"as_of-error\">no puede ser un día futuro"),
        "{}",
        page.body
    );
    let page = b
        .get("/console/reports?client_id=cli_aaaaaaaaaaaaaaaaaaaaaaaaaa")
        .await;
    assert!(
        page.body.contains("id=\"client_id-error\">"),
        "{}",
        page.body
    );
    // Every filter wrong at once: each named, the business's aging shown.
    let page = b
        .get("/console/reports?as_of=ayer&currency=XYZ&client_id=cli_aaaaaaaaaaaaaaaaaaaaaaaaaa")
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    for field in ["as_of", "currency", "client_id"] {
        assert!(
            page.body.contains(&format!("id=\"{field}-error\">")),
            "{field}: {}",
            page.body
        );
    }
    // One client's; its CSV the API's.
    let page = b.get(&format!("/console/reports?client_id={andes}")).await;
    assert!(page.body.contains("id=\"client-filter\""));
    assert!(table(&page.body, "aging-USD").is_empty());
    let csv = b
        .get(&format!(
            "/console/reports/aging.csv?as_of=2026-12-01&client_id={andes}"
        ))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let api = t
        .get(&format!(
            "/v1/reports/aging.csv?excel=1&as_of=2026-12-01&client_id={andes}"
        ))
        .await;
    assert_eq!(csv.body, api.raw);
    assert_eq!(
        b.get("/console/reports/aging.csv?as_of=nope").await.status,
        StatusCode::NOT_FOUND
    );
}

on_both_stacks!(
    the_reports_page_shows_the_apis_aging,
    a_person_is_changed_disabled_and_enabled,
    a_client_is_changed_from_its_page,
    clients_are_listed_opened_made_and_limited,
    an_invoice_is_made_from_the_form,
    broken_promises_and_plans_are_queued_for_a_week,
    promises_and_plans_from_the_invoice_page,
    the_log_shows_who_did_what,
    settings_make_and_revoke_api_keys,
    an_unmatched_payment_is_applied_from_the_queue,
    an_invoice_is_extended_relinked_and_voided,
    invoices_are_filtered_and_exported,
    an_invoice_is_worked_from_its_page,
    sign_in_by_link_and_out,
    five_links_an_hour,
    roles_are_checked_on_the_server,
);
