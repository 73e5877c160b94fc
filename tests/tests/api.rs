//! The invoices API over real HTTP, on both stacks: SQLite + outbox, and DynamoDB + SES
//! (moto). GIVEN a running app on a random port, WHEN a client calls it, THEN …

use std::path::PathBuf;
use std::sync::Arc;

use cobro_app::{App, Config};
use cobro_notify::{Mailer, OutboxMailer, SesMailer};
use cobro_store::{SqliteStore, Store};
use mail_parser::MessageParser;
use reqwest::StatusCode;
use serde_json::{Value, json};

enum Mail {
    Outbox(PathBuf),
    Ses(String),
}

type MpPayments = Arc<std::sync::Mutex<std::collections::HashMap<String, Value>>>;

/// Checkout requests the fake Stripe and Mercado Pago APIs received: (path, headers, body).
type Checkouts = Arc<std::sync::Mutex<Vec<(String, axum::http::HeaderMap, String)>>>;

const STRIPE_API_KEY: &str = "sk_test_cobro_e2e";

struct TestApp {
    checkouts: Checkouts,
    mp_payments: MpPayments,
    base: String,
    key: String,
    http: reqwest::Client,
    store: Arc<dyn Store>,
    mail: Mail,
    app: App,
    /// The app's clock: epoch milliseconds, or 0 for the real time.
    now: Arc<std::sync::atomic::AtomicI64>,
    _dir: tempfile::TempDir,
}

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Dynamo,
}

async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

/// A stack whose configuration `f` changes first.
async fn spawn_with(backend: Backend, f: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = dir.path().to_path_buf();
    config.public_url = base.clone();
    config.business_name = "Estudio Sur".into();
    config.from_email = "Estudio Sur <cobros@estudiosur.cl>".into();
    config.stripe_webhook_secrets = cobro_providers::Secrets::parse(STRIPE_SECRET);
    config.standard_webhook_secrets =
        cobro_providers::Secrets::parse(&format!("whsec_b2xk,{STANDARD_SECRET}"));
    config.mercadopago_webhook_secrets = cobro_providers::Secrets::parse(MP_SECRET);
    config.mercadopago_access_token = cobro_providers::Secrets::parse(MP_TOKEN);
    let mp_payments = MpPayments::default();
    config.sandbox_checkout = true;
    config.payment_instructions = Some("Efectivo o cheque en Av. Italia 1234, Providencia".into());
    let checkouts = Checkouts::default();
    config.stripe_api_key = cobro_providers::Secrets::parse(STRIPE_API_KEY);
    config.stripe_api_base = fake_stripe(checkouts.clone()).await;
    config.mercadopago_api_base = fake_mercadopago(mp_payments.clone(), checkouts.clone()).await;
    let (store, mailer, mail): (Arc<dyn Store>, Arc<dyn Mailer>, Mail) = match backend {
        Backend::Sqlite => (
            Arc::new(SqliteStore::open(dir.path()).unwrap()),
            Arc::new(OutboxMailer::new(dir.path())),
            Mail::Outbox(dir.path().join("outbox")),
        ),
        Backend::Dynamo => {
            let endpoint = cobro_store::testing::endpoint();
            let ses =
                aws_sdk_sesv2::Client::new(&cobro_store::testing::sdk_config(&endpoint).await);
            ses.create_email_identity()
                .email_identity("estudiosur.cl")
                .send()
                .await
                .unwrap();
            (
                Arc::new(cobro_store::testing::fresh_dynamo_store().await),
                Arc::new(SesMailer::new(ses, None)),
                Mail::Ses(endpoint),
            )
        }
    };
    config.business_email = format!(
        "dueno-{}@estudiosur.cl",
        cobro_domain::ClientId::generate()
            .as_str()
            .trim_start_matches("cli_")
    );
    f(&mut config);
    let now = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let clock = now.clone();
    let app = App::new(store.clone(), mailer, config).with_clock(Arc::new(move || {
        match clock.load(std::sync::atomic::Ordering::SeqCst) {
            0 => chrono::Utc::now(),
            ms => chrono::DateTime::from_timestamp_millis(ms).unwrap(),
        }
    }));
    let router = cobro_app::finish(
        cobro_app::invoices_api::router(app.clone())
            .merge(cobro_app::webhooks::router(app.clone()))
            .merge(cobro_app::portal::router(app.clone()))
            .merge(cobro_app::portal::sandbox_router(app.clone())),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let (_, key) = cobro_app::keys::create(&app, "tests").await.unwrap();
    TestApp {
        checkouts,
        mp_payments,
        base,
        key: key.expose().to_string(),
        http: reqwest::Client::new(),
        store,
        mail,
        app,
        now,
        _dir: dir,
    }
}

struct Answer {
    status: StatusCode,
    content_type: String,
    replayed: bool,
    raw: String,
    body: Value,
}

impl TestApp {
    /// Sets the app's clock.
    fn set_now(&self, at: &str) -> chrono::DateTime<chrono::Utc> {
        let at: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
        self.now
            .store(at.timestamp_millis(), std::sync::atomic::Ordering::SeqCst);
        at
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let res = req.send().await.unwrap();
        let status = res.status();
        let header = |n: &str| {
            res.headers()
                .get(n)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let content_type = header("content-type").unwrap_or_default();
        let replayed = header("idempotent-replayed").is_some();
        let raw = res.text().await.unwrap();
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Answer {
            status,
            content_type,
            replayed,
            raw,
            body,
        }
    }

    async fn post(&self, path: &str, body: &Value, idem: Option<&str>) -> Answer {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(body);
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        self.send(req).await
    }

    async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(
            self.http
                .put(format!("{}{path}", self.base))
                .bearer_auth(&self.key)
                .json(body),
        )
        .await
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(
            self.http
                .get(format!("{}{path}", self.base))
                .bearer_auth(&self.key),
        )
        .await
    }

    async fn client(&self, body: Value) -> String {
        let a = self.post("/v1/clients", &body, None).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
        a.body["id"].as_str().unwrap().to_string()
    }

    /// Every message sent to `to`, as raw RFC 5322 text.
    async fn mails_to(&self, to: &str) -> Vec<String> {
        match &self.mail {
            Mail::Outbox(dir) => {
                let mut out = Vec::new();
                for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    let raw = std::fs::read_to_string(e.path()).unwrap();
                    if raw.contains(&format!("<{to}>")) {
                        out.push(raw);
                    }
                }
                out
            }
            Mail::Ses(endpoint) => cobro_e2e::stack::ses_messages_to(endpoint, to).await,
        }
    }
}

fn unique_email(tag: &str) -> String {
    format!(
        "{tag}-{}@cliente.cl",
        cobro_domain::ClientId::generate()
            .as_str()
            .trim_start_matches("cli_")
    )
}

fn clp_invoice(client_id: &str, send: bool) -> Value {
    json!({
        "client_id": client_id, "currency": "CLP", "tax_rate": "19", "due_date": "2026-12-07",
        "issue_date": "2026-11-23", "send": send,
        "lines": [{"description": "Diseño de logo", "quantity": 3, "unit_amount": "49990"}]
    })
}

/// The check of issue 2: a CLP invoice of 3 × 49.990 + 19 % is 178.464, e-mailed in
/// Spanish with a pay link and reference, and a retry with the same key creates nothing.
async fn clp_invoice_is_exact_emailed_and_idempotent(t: TestApp) {
    let email = unique_email("sol");
    let cid = t
        .client(json!({"name": "Panadería Sol", "email": email, "timezone": "America/Santiago"}))
        .await;
    let first = t
        .post("/v1/invoices", &clp_invoice(&cid, true), Some("factura-1"))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
    let inv = &first.body;
    assert_eq!(inv["total"], "178464");
    assert_eq!(inv["tax"], "28494");
    assert_eq!(inv["amount_due"], "178464");
    assert_eq!(inv["status"], "open");
    assert!(inv["number"].as_str().unwrap().starts_with("F-0000"));
    let pay_url = inv["pay_url"].as_str().unwrap();
    let token = pay_url
        .strip_prefix(&format!("{}/pay/", t.base))
        .expect("pay link format");
    assert!(cobro_domain::secret::looks_like_pay_token(token));

    // The token is stored hashed, scoped to the client, expiring in 90 days.
    let stored = t
        .store
        .pay_token(&cobro_domain::secret::digest(token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.invoice_id.as_str(), inv["id"].as_str().unwrap());
    assert_eq!(stored.client_id.as_str(), cid);
    assert_eq!((stored.expires_at - stored.created_at).num_days(), 90);

    // The e-mail: Spanish, with what, how much, when, where.
    let mails = t.mails_to(&email).await;
    assert_eq!(mails.len(), 1);
    let msg = MessageParser::default().parse(mails[0].as_bytes()).unwrap();
    let text = msg.body_text(0).unwrap().replace("\r\n", "\n");
    let html = msg.body_html(0).unwrap();
    assert!(
        msg.subject()
            .unwrap()
            .starts_with(&format!("Factura {}", inv["number"].as_str().unwrap()))
    );
    for body in [&text, &html.to_string()] {
        assert!(body.contains("$178.464"));
        assert!(body.contains("lunes, 7 de diciembre de 2026"));
        assert!(body.contains(pay_url));
        assert!(body.contains(inv["payment_reference_display"].as_str().unwrap()));
        assert!(body.contains("Diseño de logo"));
    }

    // A retry with the same key: the same answer, nothing new, no second e-mail.
    let again = t
        .post("/v1/invoices", &clp_invoice(&cid, true), Some("factura-1"))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert!(again.replayed);
    assert_eq!(again.body["id"], inv["id"]);
    assert_eq!(again.body, first.body);
    let listed = t.get(&format!("/v1/clients/{cid}/invoices")).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(t.mails_to(&email).await.len(), 1);

    // The same key with another body is refused and writes nothing.
    let mut other = clp_invoice(&cid, true);
    other["lines"][0]["quantity"] = json!(4);
    let reused = t.post("/v1/invoices", &other, Some("factura-1")).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reused.body["type"],
        "urn:cobro:problem:idempotency-key-reused"
    );
    assert_eq!(
        t.get(&format!("/v1/clients/{cid}/invoices")).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

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

/// Each bad request gets a clear problem+json 4xx naming the field, and writes nothing.
async fn bad_input_is_refused_and_writes_nothing(t: TestApp) {
    let cid = t
        .client(json!({"name": "Cliente", "email": unique_email("bad")}))
        .await;
    let seq_before = t.store.last_invoice_seq().await.unwrap();
    let clients_before = t.get("/v1/clients?limit=100").await.body["data"]
        .as_array()
        .unwrap()
        .len();

    let base = clp_invoice(&cid, true);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        v
    };
    let line = base["lines"][0].clone();
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "unknown currency",
            with(&|v| v["currency"] = json!("XYZ")),
            422,
            "currency",
        ),
        (
            "CLP with decimals",
            with(&|v| v["lines"][0]["unit_amount"] = json!("1000.5")),
            422,
            "lines[0].unit_amount",
        ),
        (
            "zero quantity",
            with(&|v| v["lines"][0]["quantity"] = json!("0")),
            422,
            "lines[0].quantity",
        ),
        (
            "negative quantity",
            with(&|v| v["lines"][0]["quantity"] = json!(-2)),
            422,
            "lines[0].quantity",
        ),
        ("no lines", with(&|v| v["lines"] = json!([])), 422, "lines"),
        (
            "201 lines",
            with(&|v| v["lines"] = json!(vec![line.clone(); 201])),
            422,
            "lines",
        ),
        (
            "due before issue",
            with(&|v| v["due_date"] = json!("2026-11-22")),
            422,
            "due_date",
        ),
        (
            "unknown client",
            with(&|v| v["client_id"] = json!("cli_aaaaaaaaaaaaaaaaaaaaaaaaaa")),
            422,
            "client_id",
        ),
        (
            "not a client id",
            with(&|v| v["client_id"] = json!("bob")),
            422,
            "client_id",
        ),
        (
            "unknown field",
            with(&|v| v["discount"] = json!("5")),
            422,
            "discount",
        ),
        (
            "missing due date",
            with(&|v| {
                v.as_object_mut().unwrap().remove("due_date");
            }),
            422,
            "body",
        ),
        (
            "amount not a number",
            with(&|v| v["lines"][0]["unit_amount"] = json!("mucho")),
            422,
            "lines[0].unit_amount",
        ),
    ];
    for (name, body, status, field) in cases {
        let a = t
            .post(
                "/v1/invoices",
                &body,
                Some(&format!("bad-{}", name.replace(' ', "-"))),
            )
            .await;
        assert_eq!(a.status.as_u16(), status, "{name}: {}", a.raw);
        assert_eq!(a.content_type, "application/problem+json", "{name}");
        assert_eq!(a.body["type"], "urn:cobro:problem:validation", "{name}");
        let fields: Vec<&str> = a.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{name}: {fields:?}");
        assert!(a.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }

    // Malformed JSON: 400. Too large: 413. Wrong media type: 415.
    let raw = |body: Vec<u8>, ct: &str| {
        t.http
            .post(format!("{}/v1/invoices", t.base))
            .bearer_auth(&t.key)
            .header("content-type", ct)
            .body(body)
    };
    let a = t
        .send(raw(b"{\"client_id\": ".to_vec(), "application/json"))
        .await;
    assert_eq!(
        (a.status, a.body["type"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("urn:cobro:problem:malformed-request")
        )
    );
    let a = t
        .send(raw(vec![b' '; 256 * 1024 + 1], "application/json"))
        .await;
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "application/problem+json")
    );
    let a = t
        .send(raw(serde_json::to_vec(&base).unwrap(), "text/plain"))
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Clients: invalid e-mail, time zone, locale; all reported at once.
    let a = t.post("/v1/clients", &json!({"name": "X", "email": "no-at-sign", "timezone": "America/Atlantis", "locale": "fr"}), None).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = a.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "locale", "timezone"]);
    let a = t.post("/v1/clients", &json!({"name": "X", "email": "x@y.cl", "credit_limit": {"amount": "1.5", "currency": "CLP"}}), None).await;
    assert_eq!(a.body["errors"][0]["field"], "credit_limit.amount");
    let a = t
        .post("/v1/clients", &json!({"name": "X"}), Some("  "))
        .await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "a blank Idempotency-Key is malformed"
    );

    assert_eq!(
        t.store.last_invoice_seq().await.unwrap(),
        seq_before,
        "no invoice number used"
    );
    assert_eq!(
        t.get(&format!("/v1/clients/{cid}/invoices")).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        t.get("/v1/clients?limit=100").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        clients_before
    );
    let client = t.get(&format!("/v1/clients/{cid}")).await;
    let email = client.body["email"].as_str().unwrap();
    assert!(
        t.mails_to(email).await.is_empty(),
        "no e-mail for refused invoices"
    );
}

/// Missing, wrong and revoked keys get byte-identical 401s.
async fn api_keys_guard_every_route(t: TestApp) {
    let (revoked_key, revoked) = cobro_app::keys::create(&t.app, "old").await.unwrap();
    assert!(
        cobro_app::keys::revoke(&t.app, revoked_key.id.as_str())
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

/// Simultaneous retries with one key create one invoice and all get its answer; different
/// invoices at once get distinct, gapless numbers.
async fn simultaneous_requests(t: TestApp) {
    let cid = t
        .client(json!({"name": "Paralelo", "email": unique_email("par")}))
        .await;
    let t = Arc::new(t);
    let same = futures::future::join_all((0..8).map(|_| {
        let (t, body) = (t.clone(), clp_invoice(&cid, false));
        async move { t.post("/v1/invoices", &body, Some("same-key")).await }
    }))
    .await;
    let ids: std::collections::BTreeSet<String> = same
        .iter()
        .map(|a| {
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
            a.body["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1);

    let start = t.store.last_invoice_seq().await.unwrap();
    let many = futures::future::join_all((0..10).map(|i| {
        let (t, body) = (t.clone(), clp_invoice(&cid, false));
        async move { t.post("/v1/invoices", &body, Some(&format!("k-{i}"))).await }
    }))
    .await;
    let mut numbers: Vec<String> = many
        .iter()
        .map(|a| a.body["number"].as_str().unwrap().to_string())
        .collect();
    numbers.sort();
    let expected: Vec<String> = (start + 1..=start + 10)
        .map(|n| format!("F-{n:06}"))
        .collect();
    assert_eq!(numbers, expected);
    assert_eq!(
        t.get(&format!("/v1/clients/{cid}/invoices?limit=100"))
            .await
            .body["data"]
            .as_array()
            .unwrap()
            .len(),
        11
    );
}

async fn english_clients_get_english_mail(t: TestApp) {
    let email = unique_email("en");
    let cid = t
        .client(json!({"name": "Sun Bakery", "email": email, "locale": "en"}))
        .await;
    let a = t.post("/v1/invoices", &json!({"client_id": cid, "currency": "USD", "due_date": "2026-12-31", "issue_date": "2026-11-23", "send": true,
        "lines": [{"description": "Consulting", "quantity": "12.5", "unit_amount": "120"}]}), None).await;
    assert_eq!(a.body["total"], "1500.00");
    let mails = t.mails_to(&email).await;
    let msg = MessageParser::default().parse(mails[0].as_bytes()).unwrap();
    assert!(
        msg.subject()
            .unwrap()
            .contains("US$1,500.00 due Thursday, December 31, 2026"),
        "{:?}",
        msg.subject()
    );
    assert!(
        msg.body_text(0)
            .unwrap()
            .contains("Amount due: US$1,500.00 (USD)")
    );
}

/// SES refuses the sender (not a verified identity): the invoice exists anyway and the
/// answer does not depend on the mail server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_email_does_not_lose_the_invoice() {
    let t = spawn(Backend::Dynamo).await;
    let mut config = (*t.app.config).clone();
    config.from_email = "Nadie <nadie@no-verificado.example>".into();
    let endpoint = cobro_store::testing::endpoint();
    let app = App::new(
        t.store.clone(),
        Arc::new(SesMailer::new(
            aws_sdk_sesv2::Client::new(&cobro_store::testing::sdk_config(&endpoint).await),
            None,
        )),
        config,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            cobro_app::finish(cobro_app::invoices_api::router(app)),
        )
        .await
        .unwrap()
    });
    let t = TestApp { base, ..t };

    let email = unique_email("refused");
    let cid = t
        .client(json!({"name": "Sin Correo", "email": email}))
        .await;
    let a = t
        .post("/v1/invoices", &clp_invoice(&cid, true), Some("refused-1"))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let id = a.body["id"].as_str().unwrap();
    assert_eq!(
        t.get(&format!("/v1/invoices/{id}")).await.body["total"],
        "178464"
    );
    assert!(t.mails_to(&email).await.is_empty(), "SES refused it");
}

const STRIPE_SECRET: &str = "whsec_cobro_stripe_e2e";
const MP_SECRET: &str = "mp-e2e-secret";
const MP_TOKEN: &str = "APP_USR-e2e-token";

/// Stands in for the Mercado Pago API: `GET /v1/payments/{id}` answers the payment in
/// Mercado Pago's wire format, only with the right bearer token; unknown ids are a 404.
/// Stands in for Stripe's API: `POST /v1/checkout/sessions` (form-encoded, bearer secret
/// key) answers a session with its `url`, as Stripe documents it.
async fn fake_stripe(seen: Checkouts) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new().route(
        "/v1/checkout/sessions",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                use axum::response::IntoResponse;
                if headers["authorization"] != format!("Bearer {STRIPE_API_KEY}") {
                    return (axum::http::StatusCode::UNAUTHORIZED, "{}").into_response();
                }
                seen.lock().unwrap().push(("stripe".into(), headers, body));
                axum::Json(json!({"id": "cs_test_a1", "object": "checkout.session",
                    "url": "https://checkout.stripe.com/c/pay/cs_test_a1"}))
                .into_response()
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

async fn fake_mercadopago(payments: MpPayments, seen: Checkouts) -> String {
    use axum::extract::{Path, State};
    use axum::http::HeaderMap;
    async fn payment(
        State(p): State<MpPayments>,
        Path(id): Path<String>,
        headers: HeaderMap,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        if headers.get("authorization").and_then(|v| v.to_str().ok())
            != Some(&format!("Bearer {MP_TOKEN}"))
        {
            return (axum::http::StatusCode::UNAUTHORIZED, "{}").into_response();
        }
        match p.lock().unwrap().get(&id) {
            Some(v) => axum::Json(v.clone()).into_response(),
            None => (
                axum::http::StatusCode::NOT_FOUND,
                r#"{"message":"Payment not found","status":404}"#,
            )
                .into_response(),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/v1/payments/{id}", axum::routing::get(payment))
        .route(
            "/checkout/preferences",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let seen = seen.clone();
                async move {
                    assert_eq!(headers["authorization"], format!("Bearer {MP_TOKEN}"));
                    seen.lock()
                        .unwrap()
                        .push(("mercadopago".into(), headers, body));
                    axum::Json(json!({"id": "123-pref", "init_point":
                        "https://www.mercadopago.cl/checkout/v1/redirect?pref_id=123-pref"}))
                }
            }),
        )
        .with_state(payments);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}
/// base64 of "cobro-standard-webhooks-e2e".
const STANDARD_SECRET: &str = "whsec_Y29icm8tc3RhbmRhcmQtd2ViaG9va3MtZTJl";

impl TestApp {
    async fn stripe(&self, body: &Value, header: Option<String>) -> Answer {
        let raw = body.to_string();
        let now = chrono::Utc::now().timestamp();
        let header = header
            .unwrap_or_else(|| cobro_providers::stripe::sign(raw.as_bytes(), STRIPE_SECRET, now));
        self.send(
            self.http
                .post(format!("{}/webhooks/stripe", self.base))
                .header("stripe-signature", header)
                .body(raw),
        )
        .await
    }

    async fn standard(&self, id: &str, body: &Value) -> Answer {
        let raw = body.to_string();
        // Signed at the app's time (its clock may be set), as a live sender would.
        let ts = self.app.now().timestamp();
        let sig = cobro_providers::standard::sign(STANDARD_SECRET, id, ts, raw.as_bytes()).unwrap();
        self.send(
            self.http
                .post(format!("{}/webhooks/standard", self.base))
                .header("webhook-id", id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", sig)
                .body(raw),
        )
        .await
    }

    async fn mercadopago(
        &self,
        notification_id: u64,
        data_id: &str,
        body_data_id: &str,
        topic: &str,
    ) -> Answer {
        let body = json!({"id": notification_id, "live_mode": false, "type": topic, "action": "payment.updated",
            "api_version": "v1", "data": {"id": body_data_id}});
        let request_id = format!("req-{notification_id}");
        let sig = cobro_providers::mercadopago::sign(
            MP_SECRET,
            data_id,
            &request_id,
            chrono::Utc::now().timestamp_millis(),
        );
        self.send(
            self.http
                .post(format!(
                    "{}/webhooks/mercadopago?data.id={data_id}&type={topic}",
                    self.base
                ))
                .header("x-signature", sig)
                .header("x-request-id", request_id)
                .json(&body),
        )
        .await
    }

    async fn invoice(&self, id: &str) -> Value {
        self.get(&format!("/v1/invoices/{id}")).await.body
    }
}

fn stripe_event(id: &str, kind: &str, object: Value) -> Value {
    json!({"id": id, "object": "event", "type": kind, "created": chrono::Utc::now().timestamp(), "data": {"object": object}})
}

fn pi_succeeded(event_id: &str, pi: &str, invoice_id: &str, amount: i64) -> Value {
    stripe_event(
        event_id,
        "payment_intent.succeeded",
        json!({"id": pi, "amount": amount, "amount_received": amount,
        "currency": "clp", "metadata": {"invoice_id": invoice_id}}),
    )
}

async fn new_clp_invoice(t: &TestApp, tag: &str) -> (String, Value) {
    let email = unique_email(tag);
    let cid = t.client(json!({"name": "Pagadora", "email": email})).await;
    let a = t
        .post("/v1/invoices", &clp_invoice(&cid, false), None)
        .await;
    (email, a.body)
}

/// A Stripe payment pays the invoice once, whatever the number of deliveries, and the
/// client gets one receipt.
async fn stripe_payment_applies_once(t: TestApp) {
    let (email, inv) = new_clp_invoice(&t, "stripe").await;
    let id = inv["id"].as_str().unwrap();
    let event = pi_succeeded("evt_pay_1", &format!("pi_{id}"), id, 178_464);
    let a = t.stripe(&event, None).await;
    assert_eq!(
        (a.status, a.body["outcome"].as_str()),
        (StatusCode::OK, Some("applied")),
        "{}",
        a.raw
    );
    let again = t.stripe(&event, None).await;
    assert_eq!(
        (again.status, again.body["outcome"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    let now = t.invoice(id).await;
    assert_eq!(
        (
            now["status"].as_str(),
            now["amount_due"].as_str(),
            now["amount_paid"].as_str()
        ),
        (Some("paid"), Some("0"), Some("178464"))
    );
    assert_eq!(now["ledger"].as_array().unwrap().len(), 2);
    // The same payment reported by another event (checkout.session.completed) adds nothing.
    let session = stripe_event(
        "evt_cs_1",
        "checkout.session.completed",
        json!({"id": "cs_1", "payment_intent": format!("pi_{id}"),
        "amount_total": 178_464, "currency": "clp", "payment_status": "paid", "metadata": {"invoice_id": id}}),
    );
    assert_eq!(t.stripe(&session, None).await.body["outcome"], "duplicate");
    assert_eq!(t.invoice(id).await["ledger"].as_array().unwrap().len(), 2);

    let receipts: Vec<String> = t.mails_to(&email).await;
    assert_eq!(receipts.len(), 1, "one receipt");
    let msg = MessageParser::default()
        .parse(receipts[0].as_bytes())
        .unwrap();
    assert!(
        msg.subject()
            .unwrap()
            .contains("Recibimos tu pago de $178.464"),
        "{:?}",
        msg.subject()
    );
    assert!(
        msg.body_text(0)
            .unwrap()
            .contains("está pagada por completo")
    );

    // Refunded in two steps (amount_refunded is cumulative), then a lost dispute on nothing left.
    let charge = |evt: &str, refunded: i64| {
        stripe_event(
            evt,
            "charge.refunded",
            json!({"id": "ch_1", "payment_intent": format!("pi_{id}"),
        "amount_refunded": refunded, "currency": "clp"}),
        )
    };
    assert_eq!(
        t.stripe(&charge("evt_r1", 50_000), None).await.body["outcome"],
        "applied"
    );
    assert_eq!(
        t.stripe(&charge("evt_r2", 78_464), None).await.body["outcome"],
        "applied"
    );
    assert_eq!(
        t.stripe(&charge("evt_r1_late", 50_000), None).await.body["outcome"],
        "duplicate"
    );
    let now = t.invoice(id).await;
    assert_eq!(
        (now["status"].as_str(), now["amount_due"].as_str()),
        (Some("partially_paid"), Some("78464"))
    );
}

/// 50 simultaneous deliveries of one event change the ledger once; 20 different events
/// at once on one invoice all land (no lost update).
async fn simultaneous_deliveries(t: TestApp) {
    let (_, inv) = new_clp_invoice(&t, "burst").await;
    let id = inv["id"].as_str().unwrap().to_string();
    let t = Arc::new(t);
    let event = pi_succeeded("evt_burst", "pi_burst", &id, 1_000);
    let answers = futures::future::join_all((0..50).map(|_| {
        let (t, e) = (t.clone(), event.clone());
        async move { t.stripe(&e, None).await }
    }))
    .await;
    let applied = answers
        .iter()
        .filter(|a| a.body["outcome"] == "applied")
        .count();
    assert!(
        answers.iter().all(|a| a.status == StatusCode::OK),
        "all acknowledged"
    );
    assert_eq!(applied, 1);
    assert_eq!(t.invoice(&id).await["amount_paid"], "1000");

    let many = futures::future::join_all((0..20).map(|i| {
        let (t, id) = (t.clone(), id.clone());
        async move {
            t.stripe(
                &pi_succeeded(&format!("evt_m{i}"), &format!("pi_m{i}"), &id, 100),
                None,
            )
            .await
        }
    }))
    .await;
    assert!(
        many.iter().all(|a| a.body["outcome"] == "applied"),
        "{:?}",
        many.iter().map(|a| a.raw.clone()).collect::<Vec<_>>()
    );
    let now = t.invoice(&id).await;
    assert_eq!(now["amount_paid"], "3000");
    assert_eq!(now["ledger"].as_array().unwrap().len(), 22);
}

/// Standard Webhooks: by reference, out of order, unknown and wrong-currency payments.
async fn standard_payments_and_the_unmatched_queue(t: TestApp) {
    let (_, inv) = new_clp_invoice(&t, "std").await;
    let id = inv["id"].as_str().unwrap();
    let reference = inv["payment_reference_display"].as_str().unwrap();
    // A refund that arrives before its payment, then the payment: same result as in order.
    let refund = json!({"type": "payment.refunded", "data": {"invoice_id": id, "payment_id": "tr_1", "refund_id": "re_1", "amount": "8464", "currency": "CLP"}});
    assert_eq!(
        t.standard("msg_refund", &refund).await.body["outcome"],
        "applied"
    );
    let pay = json!({"type": "payment.succeeded", "data": {"payment_reference": reference.to_lowercase(), "payment_id": "tr_1", "amount": "100000", "currency": "CLP"}});
    assert_eq!(t.standard("msg_pay", &pay).await.body["outcome"], "applied");
    let now = t.invoice(id).await;
    assert_eq!(
        (now["status"].as_str(), now["amount_due"].as_str()),
        (Some("partially_paid"), Some("86928"))
    );

    let unknown = json!({"type": "payment.succeeded", "data": {"payment_reference": "RF18 5390 0754 7034", "payment_id": "tr_2", "amount": "5000", "currency": "CLP"}});
    assert_eq!(
        t.standard("msg_unknown", &unknown).await.body["outcome"],
        "unmatched"
    );
    assert_eq!(
        t.standard("msg_unknown", &unknown).await.body["outcome"],
        "duplicate"
    );
    let usd = json!({"type": "payment.succeeded", "data": {"invoice_id": id, "payment_id": "tr_3", "amount": "10.00", "currency": "USD"}});
    assert_eq!(
        t.standard("msg_usd", &usd).await.body["outcome"],
        "unmatched"
    );
    let ignored = json!({"type": "invoice.viewed", "data": {}});
    assert_eq!(
        t.standard("msg_view", &ignored).await.body["outcome"],
        "ignored"
    );

    let queue = t.get("/v1/unmatched?limit=100").await.body;
    let mine: Vec<&Value> = queue["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["event_id"] == "msg_unknown" || u["event_id"] == "msg_usd")
        .collect();
    assert_eq!(mine.len(), 2, "{queue}");
    assert!(mine.iter().any(|u| u["reason"] == "currency_mismatch" && u["fact"]["amount"]["amount"] == "10.00"));
    assert!(
        mine.iter()
            .any(|u| u["reason"] == "unknown_invoice" && u["target"] == "RF18 5390 0754 7034")
    );
    assert_eq!(
        t.invoice(id).await["amount_due"],
        "86928",
        "nothing else touched the invoice"
    );

    // A person applies them: the CLP one to this invoice; the USD one cannot go on it.
    let find = |event: &str| {
        mine.iter().find(|u| u["event_id"] == event).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (unknown_id, usd_id) = (find("msg_unknown"), find("msg_usd"));
    let apply = |uid: &str| format!("/v1/unmatched/{uid}/apply");
    let a = t
        .post(
            &apply(&unknown_id),
            &json!({"invoice_id": id}),
            Some("apply-1"),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.body["amount_due"], "81928");
    assert!(
        t.post(
            &apply(&unknown_id),
            &json!({"invoice_id": id}),
            Some("apply-1")
        )
        .await
        .replayed
    );
    assert_eq!(
        t.post(&apply(&unknown_id), &json!({"invoice_id": id}), None)
            .await
            .status,
        StatusCode::CONFLICT
    );
    let a = t
        .post(&apply(&usd_id), &json!({"invoice_id": id}), None)
        .await;
    assert_eq!(
        (a.status, a.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invoice_id"))
    );
    let a = t
        .post(
            &apply(&usd_id),
            &json!({"invoice_id": "inv_aaaaaaaaaaaaaaaaaaaaaaaaaa"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = t
        .post(
            &apply("unm_aaaaaaaaaaaaaaaaaaaaaaaaaa"),
            &json!({"invoice_id": id}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let queue = t.get("/v1/unmatched?limit=100").await.body;
    let ids: Vec<&str> = queue["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&unknown_id.as_str()) && ids.contains(&usd_id.as_str()));
    assert_eq!(t.invoice(id).await["amount_due"], "81928");
}

/// Every forgery and malformed delivery is refused with one generic 400, and changes nothing.
async fn forged_and_malformed_webhooks_change_nothing(t: TestApp) {
    let (_, inv) = new_clp_invoice(&t, "forged").await;
    let id = inv["id"].as_str().unwrap();
    let event = pi_succeeded("evt_forged", "pi_forged", id, 178_464);
    let raw = event.to_string();
    let now = chrono::Utc::now().timestamp();
    let good = cobro_providers::stripe::sign(raw.as_bytes(), STRIPE_SECRET, now);
    let other_body = cobro_providers::stripe::sign(b"{}", STRIPE_SECRET, now);
    let wrong_secret = cobro_providers::stripe::sign(raw.as_bytes(), "whsec_wrong", now);
    let old = cobro_providers::stripe::sign(raw.as_bytes(), STRIPE_SECRET, now - 600);
    let future = cobro_providers::stripe::sign(raw.as_bytes(), STRIPE_SECRET, now + 600);
    let truncated = good[..good.len() - 2].to_string();
    let mut bodies = Vec::new();
    for header in [
        other_body,
        wrong_secret,
        old,
        future,
        truncated,
        format!("t={now},v1="),
        "garbage".into(),
        String::new(),
    ] {
        let a = t.stripe(&event, Some(header.clone())).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{header}");
        bodies.push(a.raw);
    }
    let a = t
        .send(
            t.http
                .post(format!("{}/webhooks/stripe", t.base))
                .body(raw.clone()),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "missing header");
    bodies.push(a.raw);
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one generic answer: {bodies:?}"
    );
    assert_eq!(t.invoice(id).await["status"], "open");

    // Valid signatures over bad content.
    let signed = |body: String| {
        let h = cobro_providers::stripe::sign(
            body.as_bytes(),
            STRIPE_SECRET,
            chrono::Utc::now().timestamp(),
        );
        t.http
            .post(format!("{}/webhooks/stripe", t.base))
            .header("stripe-signature", h)
            .body(body)
    };
    assert_eq!(
        t.send(signed("{not json".into())).await.status,
        StatusCode::BAD_REQUEST
    );
    let negative = pi_succeeded("evt_neg", "pi_neg", id, -5).to_string();
    assert_eq!(
        t.send(signed(negative)).await.status,
        StatusCode::BAD_REQUEST
    );
    let mut zzz = pi_succeeded("evt_zzz", "pi_zzz", id, 5);
    zzz["data"]["object"]["currency"] = json!("zzz");
    assert_eq!(
        t.send(signed(zzz.to_string())).await.status,
        StatusCode::BAD_REQUEST
    );
    let mut text = pi_succeeded("evt_txt", "pi_txt", id, 5);
    text["data"]["object"]["amount_received"] = json!("mucho");
    assert_eq!(
        t.send(signed(text.to_string())).await.status,
        StatusCode::BAD_REQUEST
    );
    let big = format!("{{\"pad\":\"{}\"}}", "a".repeat(256 * 1024));
    assert_eq!(
        t.send(signed(big)).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let a = t
        .send(
            t.http
                .post(format!("{}/webhooks/paypal", t.base))
                .body("{}"),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // An unknown invoice is not an error for the provider: queued for a person.
    let lost = pi_succeeded("evt_lost", "pi_lost", "inv_aaaaaaaaaaaaaaaaaaaaaaaaaa", 5);
    assert_eq!(t.stripe(&lost, None).await.body["outcome"], "unmatched");
    assert_eq!(
        t.invoice(id).await["ledger"].as_array().unwrap().len(),
        1,
        "nothing written on the invoice"
    );
}

/// Stripe refunds and disputes name no invoice. Arriving before their payment they wait in
/// the queue, then follow the payment: reversed order ends where the right order ends.
async fn out_of_order_events_converge(t: TestApp) {
    let mut finals = Vec::new();
    for reversed in [false, true] {
        let (_, inv) = new_clp_invoice(&t, "order").await;
        let id = inv["id"].as_str().unwrap();
        let pi = format!("pi_order_{id}");
        let tag = if reversed { "rev" } else { "fwd" };
        let pay = pi_succeeded(&format!("evt_{tag}_pay_{id}"), &pi, id, 178_464);
        let refund = stripe_event(
            &format!("evt_{tag}_ref_{id}"),
            "charge.refunded",
            json!({"id": format!("ch_{id}"),
            "payment_intent": pi, "amount_refunded": 10_000, "currency": "clp"}),
        );
        let dispute = stripe_event(
            &format!("evt_{tag}_dp_{id}"),
            "charge.dispute.created",
            json!({"id": format!("dp_{id}"),
            "charge": format!("ch_{id}"), "payment_intent": pi, "amount": 168_464, "currency": "clp", "status": "needs_response"}),
        );
        let mut events = vec![pay, refund, dispute];
        if reversed {
            events.reverse();
        }
        let outcomes: Vec<String> =
            futures::future::join_all(events.iter().map(|e| t.stripe(e, None)))
                .await
                .into_iter()
                .map(|a| a.body["outcome"].as_str().unwrap_or(&a.raw).to_string())
                .collect();
        // Sequential delivery in the chosen order (join_all above ran them concurrently;
        // deliver again one by one: duplicates change nothing).
        for e in &events {
            assert_eq!(t.stripe(e, None).await.status, StatusCode::OK);
        }
        let now = t.invoice(id).await;
        let queue = t.get("/v1/unmatched?limit=100").await.body;
        assert!(
            !queue["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["fact"]["payment_id"] == pi.as_str()),
            "{outcomes:?}: nothing left waiting"
        );
        finals.push(json!([
            now["status"],
            now["amount_paid"],
            now["amount_refunded"],
            now["amount_on_hold"],
            now["amount_due"]
        ]));
    }
    assert_eq!(
        finals[0],
        json!(["disputed", "178464", "10000", "168464", "10000"])
    );
    assert_eq!(finals[0], finals[1]);

    // Strictly one after the other, refund and dispute first: parked, then settled.
    let (_, inv) = new_clp_invoice(&t, "order-seq").await;
    let id = inv["id"].as_str().unwrap();
    let pi = format!("pi_seq_{id}");
    let dispute = stripe_event(
        &format!("evt_seq_dp_{id}"),
        "charge.dispute.created",
        json!({"id": format!("dps_{id}"),
        "charge": format!("chs_{id}"), "payment_intent": pi, "amount": 178_464, "currency": "clp", "status": "needs_response"}),
    );
    assert_eq!(t.stripe(&dispute, None).await.body["outcome"], "unmatched");
    assert_eq!(t.invoice(id).await["status"], "open");
    assert_eq!(
        t.stripe(
            &pi_succeeded(&format!("evt_seq_pay_{id}"), &pi, id, 178_464),
            None
        )
        .await
        .body["outcome"],
        "applied"
    );
    assert_eq!(t.invoice(id).await["status"], "disputed");
}

/// Payments received by hand use the same ledger.
async fn manual_payments(t: TestApp) {
    let (email, inv) = new_clp_invoice(&t, "manual").await;
    let id = inv["id"].as_str().unwrap();
    let path = format!("/v1/invoices/{id}/payments");
    let a = t
        .post(
            &path,
            &json!({"method": "cash", "amount": "78464", "currency": "CLP"}),
            Some("cash-1"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(
        (a.body["status"].as_str(), a.body["amount_due"].as_str()),
        (Some("partially_paid"), Some("100000"))
    );
    let again = t
        .post(
            &path,
            &json!({"method": "cash", "amount": "78464", "currency": "CLP"}),
            Some("cash-1"),
        )
        .await;
    assert!(again.replayed);
    assert_eq!(again.body, a.body);
    let cheque = json!({"method": "cheque", "amount": 100000, "currency": "CLP", "reference": "cheque 0042"});
    assert_eq!(t.post(&path, &cheque, None).await.body["status"], "paid");
    let extra =
        json!({"method": "transfer", "amount": "5000", "currency": "CLP", "reference": "tr-extra"});
    let over = t.post(&path, &extra, None).await.body;
    assert_eq!(
        (
            over["status"].as_str(),
            over["credit"].as_str(),
            over["amount_due"].as_str()
        ),
        (Some("overpaid"), Some("5000"), Some("0"))
    );
    let client = t
        .get(&format!(
            "/v1/clients/{}",
            inv["client_id"].as_str().unwrap()
        ))
        .await
        .body;
    assert_eq!(
        client["credit"],
        json!([{"amount": "5000", "currency": "CLP"}]),
        "the client's credit is visible"
    );

    // The next CLP invoice takes the credit, in the same write; USD invoices do not.
    let cid = inv["client_id"].as_str().unwrap();
    let next = t.post("/v1/invoices", &clp_invoice(cid, true), None).await;
    assert_eq!(next.status, StatusCode::CREATED, "{}", next.raw);
    assert_eq!(
        (
            next.body["amount_due"].as_str(),
            next.body["status"].as_str()
        ),
        (Some("173464"), Some("partially_paid"))
    );
    let old = t.invoice(id).await;
    assert_eq!(
        (old["credit"].as_str(), old["status"].as_str()),
        (Some("0"), Some("paid"))
    );
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["credit"], json!([]));
    let mails = t.mails_to(&email).await;
    let issued = mails
        .iter()
        .find(|m| m.contains(next.body["id"].as_str().unwrap()))
        .expect("e-mail of the new invoice");
    let msg = MessageParser::default().parse(issued.as_bytes()).unwrap();
    let text = msg.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        text.contains("Total a pagar: $173.464 (CLP)")
            && text.contains("Saldo a favor aplicado: -$5.000"),
        "{text}"
    );
    let third = t.post("/v1/invoices", &clp_invoice(cid, false), None).await;
    assert_eq!(
        third.body["amount_due"], "178464",
        "the credit was used once"
    );
    assert_eq!(
        t.post(&path, &cheque, None).await.status,
        StatusCode::CONFLICT,
        "the same cheque twice"
    );
    for (body, field) in [
        (
            json!({"method": "barter", "amount": "1", "currency": "CLP"}),
            "method",
        ),
        (
            json!({"method": "cash", "amount": "0", "currency": "CLP"}),
            "amount",
        ),
        (
            json!({"method": "cash", "amount": "1.5", "currency": "CLP"}),
            "amount",
        ),
        (
            json!({"method": "cash", "amount": "10", "currency": "USD"}),
            "currency",
        ),
        (
            json!({"method": "cash", "amount": "10", "currency": "ABC"}),
            "currency",
        ),
    ] {
        let a = t.post(&path, &body, None).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(a.body["errors"][0]["field"], field, "{body}");
    }
    let a = t
        .post(
            "/v1/invoices/inv_aaaaaaaaaaaaaaaaaaaaaaaaaa/payments",
            &json!({"method": "cash", "amount": "1", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(
        t.invoice(id).await["ledger"].as_array().unwrap().len(),
        5,
        "charge, three payments, credit moved out"
    );
}

/// Mercado Pago: the notification is verified, the payment fetched, its state settled once.
async fn mercadopago_payments(t: TestApp) {
    let (_, inv) = new_clp_invoice(&t, "mp").await;
    let id = inv["id"].as_str().unwrap();
    let pid = format!(
        "{}",
        9_000_000 + (inv["number"].as_str().unwrap()[2..].parse::<u64>().unwrap())
    );
    // Not yet visible at the API: 503, nothing recorded, so Mercado Pago retries.
    let a = t.mercadopago(1, &pid, &pid, "payment").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.raw);
    t.mp_payments.lock().unwrap().insert(pid.clone(), json!({"id": pid.parse::<u64>().unwrap(), "status": "approved",
        "status_detail": "accredited", "currency_id": "CLP", "transaction_amount": 178464, "transaction_amount_refunded": 0,
        "external_reference": id, "date_approved": "2026-11-23T10:00:00.000-03:00"}));
    assert_eq!(
        t.mercadopago(1, &pid, &pid, "payment").await.body["outcome"],
        "applied"
    );
    assert_eq!(
        t.mercadopago(1, &pid, &pid, "payment").await.body["outcome"],
        "duplicate"
    );
    assert_eq!(
        t.mercadopago(2, &pid, &pid, "payment").await.body["outcome"],
        "duplicate",
        "same state, new notification"
    );
    assert_eq!(t.invoice(id).await["status"], "paid");
    // A partial refund shows up in the payment's state.
    t.mp_payments.lock().unwrap().get_mut(&pid).unwrap()["transaction_amount_refunded"] =
        json!(78464);
    assert_eq!(
        t.mercadopago(3, &pid, &pid, "payment").await.body["outcome"],
        "applied"
    );
    let now = t.invoice(id).await;
    assert_eq!(
        (now["status"].as_str(), now["amount_due"].as_str()),
        (Some("partially_paid"), Some("78464"))
    );
    // Other topics are acknowledged; a body naming another payment than the signed one is refused.
    assert_eq!(
        t.mercadopago(4, &pid, &pid, "merchant_order").await.body["outcome"],
        "ignored"
    );
    assert_eq!(
        t.mercadopago(5, &pid, "123", "payment").await.status,
        StatusCode::BAD_REQUEST
    );
    let forged = t
        .send(
            t.http
                .post(format!("{}/webhooks/mercadopago?data.id={pid}", t.base))
                .header("x-signature", "ts=1,v1=00")
                .header("x-request-id", "r")
                .body("{}"),
        )
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert_eq!(t.invoice(id).await["ledger"].as_array().unwrap().len(), 3);
}

/// Where the fault strikes: at the k-th write, before it happens or after it committed
/// (the answer lost on its way back).
#[derive(Clone, Copy, Debug)]
enum Fault {
    Before(usize),
    After(usize),
}

/// The real store, failing one chosen write.
struct FaultyStore {
    inner: Arc<dyn Store>,
    fault: std::sync::Mutex<Option<Fault>>,
    writes: std::sync::atomic::AtomicUsize,
}

impl FaultyStore {
    async fn write<T>(
        &self,
        f: impl std::future::Future<Output = cobro_store::Result<T>>,
    ) -> cobro_store::Result<T> {
        let n = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let fault = *self.fault.lock().unwrap();
        let injected = || cobro_store::StoreError::Backend("injected fault".into());
        match fault {
            Some(Fault::Before(k)) if k == n => Err(injected()),
            Some(Fault::After(k)) if k == n => f.await.and(Err(injected())),
            _ => f.await,
        }
    }

    fn arm(&self, fault: Option<Fault>) {
        *self.fault.lock().unwrap() = fault;
        self.writes.store(0, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Store for FaultyStore {
    async fn put_api_key(&self, k: &cobro_store::ApiKey) -> cobro_store::Result<()> {
        self.inner.put_api_key(k).await
    }
    async fn api_key_by_digest(&self, d: &str) -> cobro_store::Result<Option<cobro_store::ApiKey>> {
        self.inner.api_key_by_digest(d).await
    }
    async fn list_api_keys(&self) -> cobro_store::Result<Vec<cobro_store::ApiKey>> {
        self.inner.list_api_keys().await
    }
    async fn revoke_api_key(
        &self,
        id: &cobro_domain::ApiKeyId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> cobro_store::Result<bool> {
        self.inner.revoke_api_key(id, at).await
    }
    async fn update_client(&self, c: &cobro_domain::Client) -> cobro_store::Result<bool> {
        self.write(self.inner.update_client(c)).await
    }
    async fn idempotency_record(
        &self,
        k: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> cobro_store::Result<Option<cobro_store::IdempotencyRecord>> {
        self.inner.idempotency_record(k, now).await
    }
    async fn create_client(
        &self,
        c: &cobro_domain::Client,
        i: Option<&cobro_store::IdempotencyRecord>,
    ) -> cobro_store::Result<()> {
        self.inner.create_client(c, i).await
    }
    async fn client(
        &self,
        id: &cobro_domain::ClientId,
    ) -> cobro_store::Result<Option<cobro_domain::Client>> {
        self.inner.client(id).await
    }
    async fn list_clients(
        &self,
        p: &cobro_store::PageRequest,
    ) -> cobro_store::Result<cobro_store::Page<cobro_domain::Client>> {
        self.inner.list_clients(p).await
    }
    async fn last_invoice_seq(&self) -> cobro_store::Result<u64> {
        self.inner.last_invoice_seq().await
    }
    async fn create_invoice(&self, w: &cobro_store::NewInvoiceWrite) -> cobro_store::Result<()> {
        self.inner.create_invoice(w).await
    }
    async fn invoice(
        &self,
        id: &cobro_domain::InvoiceId,
    ) -> cobro_store::Result<Option<cobro_store::StoredInvoice>> {
        self.inner.invoice(id).await
    }
    async fn client_invoices(
        &self,
        c: &cobro_domain::ClientId,
        p: &cobro_store::PageRequest,
    ) -> cobro_store::Result<cobro_store::Page<cobro_domain::Invoice>> {
        self.inner.client_invoices(c, p).await
    }
    async fn invoice_by_payment_reference(
        &self,
        r: &cobro_domain::PaymentReference,
    ) -> cobro_store::Result<Option<cobro_domain::InvoiceId>> {
        self.inner.invoice_by_payment_reference(r).await
    }
    async fn pay_token(&self, d: &str) -> cobro_store::Result<Option<cobro_store::PayToken>> {
        self.inner.pay_token(d).await
    }
    async fn append_entries(&self, w: &cobro_store::LedgerWrite) -> cobro_store::Result<()> {
        self.write(self.inner.append_entries(w)).await
    }
    async fn record_event(
        &self,
        e: &cobro_store::EventRecord,
        u: Option<&cobro_store::Unmatched>,
    ) -> cobro_store::Result<()> {
        self.write(self.inner.record_event(e, u)).await
    }
    async fn event(
        &self,
        p: &str,
        id: &str,
    ) -> cobro_store::Result<Option<cobro_store::EventRecord>> {
        self.inner.event(p, id).await
    }
    async fn invoice_for_payment(
        &self,
        s: &str,
        p: &str,
    ) -> cobro_store::Result<Option<cobro_domain::InvoiceId>> {
        self.inner.invoice_for_payment(s, p).await
    }
    async fn unmatched(
        &self,
        id: &cobro_domain::UnmatchedId,
    ) -> cobro_store::Result<Option<cobro_store::Unmatched>> {
        self.inner.unmatched(id).await
    }
    async fn unmatched_for_payment(
        &self,
        s: &str,
        p: &str,
    ) -> cobro_store::Result<Vec<cobro_store::Unmatched>> {
        self.inner.unmatched_for_payment(s, p).await
    }
    async fn list_unmatched(
        &self,
        p: &cobro_store::PageRequest,
    ) -> cobro_store::Result<cobro_store::Page<cobro_store::Unmatched>> {
        self.inner.list_unmatched(p).await
    }
    async fn put_pay_token(&self, t: &cobro_store::PayToken) -> cobro_store::Result<()> {
        self.write(self.inner.put_pay_token(t)).await
    }
    async fn revoke_pay_tokens(
        &self,
        id: &cobro_domain::InvoiceId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> cobro_store::Result<u32> {
        self.write(self.inner.revoke_pay_tokens(id, at)).await
    }
    async fn claim_stage(
        &self,
        r: &cobro_domain::StageRecord,
        day: Option<chrono::NaiveDate>,
    ) -> cobro_store::Result<()> {
        self.write(self.inner.claim_stage(r, day)).await
    }
    async fn finish_stage(
        &self,
        r: &cobro_domain::StageRecord,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> cobro_store::Result<()> {
        self.write(self.inner.finish_stage(r, at)).await
    }
    async fn set_agenda(
        &self,
        id: &cobro_domain::InvoiceId,
        at: Option<chrono::DateTime<chrono::Utc>>,
        len: u32,
    ) -> cobro_store::Result<()> {
        self.write(self.inner.set_agenda(id, at, len)).await
    }
    async fn due_agenda(
        &self,
        lane: cobro_store::Lane,
        now: chrono::DateTime<chrono::Utc>,
        p: &cobro_store::PageRequest,
    ) -> cobro_store::Result<cobro_store::Page<cobro_store::AgendaItem>> {
        self.inner.due_agenda(lane, now, p).await
    }
    async fn stage_log(
        &self,
        log: cobro_store::StageLog,
        p: &cobro_store::PageRequest,
    ) -> cobro_store::Result<cobro_store::Page<cobro_domain::StageRecord>> {
        self.inner.stage_log(log, p).await
    }
}

/// The store fails at each write step of a delivery, before or after committing; the
/// provider's redelivery then converges to exactly the ledger of a clean delivery.
async fn store_faults_then_redelivery_converge(t: TestApp) {
    let faulty = Arc::new(FaultyStore {
        inner: t.store.clone(),
        fault: Default::default(),
        writes: Default::default(),
    });
    let app = App::new(
        faulty.clone(),
        t.app.mailer.clone(),
        (*t.app.config).clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = cobro_app::finish(
        cobro_app::invoices_api::router(app.clone()).merge(cobro_app::webhooks::router(app)),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let t = TestApp { base, ..t };

    for (k, fault) in [Fault::Before(0), Fault::After(0)].into_iter().enumerate() {
        // One fact, one write (entry + event record).
        let (_, inv) = new_clp_invoice(&t, "fault-stripe").await;
        let id = inv["id"].as_str().unwrap();
        let event = pi_succeeded(
            &format!("evt_fault_{k}"),
            &format!("pi_fault_{k}"),
            id,
            100_000,
        );
        faulty.arm(Some(fault));
        assert!(
            t.stripe(&event, None).await.status.is_server_error(),
            "{fault:?}: a 5xx makes Stripe retry"
        );
        faulty.arm(None);
        assert_eq!(t.stripe(&event, None).await.status, StatusCode::OK);
        let now = t.invoice(id).await;
        assert_eq!(
            (
                now["amount_paid"].as_str(),
                now["ledger"].as_array().unwrap().len()
            ),
            (Some("100000"), 2),
            "{fault:?}"
        );
    }
    // Two facts (received, refunded), two writes: fail at each.
    for (k, fault) in [
        Fault::Before(0),
        Fault::After(0),
        Fault::Before(1),
        Fault::After(1),
    ]
    .into_iter()
    .enumerate()
    {
        let (_, inv) = new_clp_invoice(&t, "fault-mp").await;
        let id = inv["id"].as_str().unwrap();
        let pid = format!(
            "{}",
            7_000_000
                + k as u64
                + 10 * inv["number"].as_str().unwrap()[2..].parse::<u64>().unwrap()
        );
        t.mp_payments.lock().unwrap().insert(pid.clone(), json!({"id": pid.parse::<u64>().unwrap(), "status": "approved",
            "currency_id": "CLP", "transaction_amount": 178464, "transaction_amount_refunded": 464, "external_reference": id}));
        faulty.arm(Some(fault));
        assert!(
            t.mercadopago(500 + k as u64, &pid, &pid, "payment")
                .await
                .status
                .is_server_error(),
            "{fault:?}"
        );
        faulty.arm(None);
        assert_eq!(
            t.mercadopago(500 + k as u64, &pid, &pid, "payment")
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            t.mercadopago(500 + k as u64, &pid, &pid, "payment")
                .await
                .body["outcome"],
            "duplicate"
        );
        let now = t.invoice(id).await;
        assert_eq!(
            (
                now["amount_due"].as_str(),
                now["ledger"].as_array().unwrap().len()
            ),
            (Some("464"), 3),
            "{fault:?}"
        );
    }
}

/// A parsed e-mail: subject, text and HTML.
fn parsed(raw: &str) -> (String, String, String) {
    let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
    (
        msg.subject().unwrap_or_default().to_string(),
        msg.body_text(0).unwrap_or_default().replace("\r\n", "\n"),
        msg.body_html(0).unwrap_or_default().to_string(),
    )
}

async fn sweep_at(app: &App, at: &str) -> cobro_app::dunning::SweepReport {
    cobro_app::dunning::sweep(app, at.parse().unwrap(), None)
        .await
        .unwrap()
}

/// An invoice followed from issue to escalation by sweeps twice a day: every reminder on
/// its day at 09:00 Santiago, one message per client per day, the late fee announced
/// with its exact amount and date and charged once after the notice, the business told,
/// the agency's CSV complete; overlapping sweeps never send a stage twice.
async fn dunning_from_issue_to_escalation(t: TestApp) {
    t.set_now("2026-11-02T12:00:00Z");
    let email = unique_email("dunning");
    let cid = t
        .client(json!({"name": "Ferretería Los Andes", "email": email, "tax_id": "76.543.210-K", "timezone": "America/Santiago"}))
        .await;
    let a = t
        .post(
            "/v1/invoices",
            &json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-01",
                "lines": [{"description": "Mantención de equipos", "quantity": "1", "unit_amount": "100000"}],
                "terms": {"late_fee": {"kind": "fixed", "value": "5000", "notice_days": 3}}}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let id = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        a.body["next_action_at"], "2026-11-24T12:00:00Z",
        "−7 days, 09:00 Santiago"
    );

    // A minute early: nothing. On time, three overlapping sweeps: one reminder.
    assert_eq!(sweep_at(&t.app, "2026-11-24T11:59:00Z").await.due, 0);
    let sweeps = (0..3).map(|_| {
        let app = t.app.clone();
        tokio::spawn(async move { sweep_at(&app, "2026-11-24T12:00:00Z").await })
    });
    let mut sent = 0;
    for s in sweeps.collect::<Vec<_>>() {
        sent += s.await.unwrap().reminders;
    }
    assert_eq!(sent, 1);
    let mails = t.mails_to(&email).await;
    assert_eq!(mails.len(), 1);
    let (subject, text, html) = parsed(&mails[0]);
    assert_eq!(
        subject,
        "Recordatorio: la factura F-000001 vence el martes, 1 de diciembre de 2026"
    );
    for want in [
        "Mantención de equipos",
        "$100.000",
        "en 7 días",
        "/pay/",
        "RF",
    ] {
        assert!(text.contains(want), "{want} missing in\n{text}");
    }
    assert!(html.contains("Pagar ahora"));
    let pay_url = text
        .lines()
        .find(|l| l.contains("/pay/"))
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    let token = pay_url.rsplit('/').next().unwrap();
    let stored = t
        .store
        .pay_token(&cobro_domain::secret::digest(token))
        .await
        .unwrap();
    assert_eq!(
        stored.unwrap().invoice_id.as_str(),
        id,
        "the reminder's pay link is live"
    );

    // Twice a day until February: what was sent, charged and escalated, each once.
    let mut day = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let mut per_day = std::collections::BTreeMap::new();
    while day <= chrono::NaiveDate::from_ymd_opt(2027, 2, 5).unwrap() {
        for hour in ["12:00"] {
            let r = sweep_at(&t.app, &format!("{day}T{hour}:00Z")).await;
            assert_eq!((r.failed, r.skipped), (0, 0), "{r:?}");
            *per_day.entry(day).or_insert(0) += r.reminders + r.notices;
        }
        day = day.succ_opt().unwrap();
    }
    assert!(
        per_day.values().all(|n| *n <= 1),
        "one message per client per day"
    );
    let mut subjects: Vec<String> = t
        .mails_to(&email)
        .await
        .iter()
        .map(|m| parsed(m).0)
        .collect();
    subjects.sort();
    assert_eq!(subjects.len(), 7, "{subjects:#?}");
    assert!(subjects.contains(&"Aviso de recargo por atraso: factura F-000001".to_string()));
    assert!(subjects.contains(&"Último aviso: factura F-000001 vencida hace 20 días".to_string()));
    assert!(subjects.contains(&"Hoy vence la factura F-000001: $100.000".to_string()));
    let notice = t
        .mails_to(&email)
        .await
        .into_iter()
        .map(|m| parsed(&m))
        .find(|m| m.0.starts_with("Aviso de recargo"))
        .unwrap();
    assert!(
        notice.1.contains("si no recibimos el pago a más tardar el domingo, 6 de diciembre de 2026, el lunes, 7 de diciembre de 2026 se agregará a la factura un recargo por atraso de $5.000"),
        "{}",
        notice.1
    );

    let inv = t.get(&format!("/v1/invoices/{id}")).await.body;
    assert_eq!(inv["status"], "escalated");
    assert_eq!(inv["late_fees"], "5000");
    assert_eq!(inv["amount_due"], "105000");
    assert!(inv.get("next_action_at").is_none(), "the chase stopped");
    let fees: Vec<&Value> = inv["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "late_fee")
        .collect();
    assert_eq!(fees.len(), 1);
    assert!(
        fees[0]["at"].as_str().unwrap() >= "2026-12-07T03:00:00Z",
        "after grace + notice"
    );
    let stages: Vec<&str> = inv["dunning"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "reminder:-7",
            "reminder:-1",
            "reminder:0",
            "reminder:3",
            "reminder:10",
            "reminder:20",
            "fee-notice:0",
            "late-fee:0",
            "escalation"
        ]
    );

    let business = t.mails_to(&t.app.config.business_email).await;
    assert_eq!(business.len(), 1);
    let (subject, text, _) = parsed(&business[0]);
    assert!(
        subject.starts_with("Factura F-000001 escalada a cobranza: $105.000"),
        "{subject}"
    );
    assert!(
        text.contains("76.543.210-K") && text.contains("aviso de recargo de $5.000"),
        "{text}"
    );

    let csv = t.get("/v1/reports/escalated").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.content_type.starts_with("text/csv"));
    let rows: Vec<&str> = csv.raw.lines().collect();
    assert_eq!(rows.len(), 2, "{}", csv.raw);
    assert!(rows[0].starts_with("client_id,client_name,tax_id"));
    for want in [
        "Ferretería Los Andes",
        "76.543.210-K",
        "F-000001",
        "105000",
        "2026-12-01",
        "2027-02-01",
        "2026-11-24 reminder, 7 days before the due date",
    ] {
        assert!(rows[1].contains(want), "{want} missing in {}", rows[1]);
    }
    let fees = t.get("/v1/reports/late-fees").await;
    assert_eq!(fees.raw.lines().count(), 2, "{}", fees.raw);
    assert!(
        fees.raw.contains(&id) && fees.raw.contains(",CLP,5000,2026-12-07"),
        "{}",
        fees.raw
    );

    // Nothing more, however often it runs.
    let r = sweep_at(&t.app, "2027-03-01T12:00:00Z").await;
    assert_eq!(
        r,
        cobro_app::dunning::SweepReport::default(),
        "nothing on the agenda"
    );
    // Paid now: off the agency's list.
    t.set_now("2027-03-02T12:00:00Z");
    let paid = t
        .post(
            &format!("/v1/invoices/{id}/payments"),
            &json!({"method": "transfer", "amount": "105000", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(paid.body["status"], "paid", "{}", paid.raw);
    assert_eq!(t.get("/v1/reports/escalated").await.raw.lines().count(), 1);
}

/// Paid inside the window for the discounted amount: settled in full with a discount
/// entry. After the window the same payment leaves the rest due.
async fn early_payment_discount(t: TestApp) {
    t.set_now("2026-11-02T12:00:00Z");
    let cid = t
        .client(json!({"name": "Pronto Pago", "email": unique_email("discount")}))
        .await;
    let body = json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-01",
        "lines": [{"description": "Asesoría", "quantity": "1", "unit_amount": "100000"}],
        "terms": {"early_payment_discount": {"percent": "2", "within_days": 10}}});
    let early = t.post("/v1/invoices", &body, None).await.body;
    let late = t.post("/v1/invoices", &body, None).await.body;
    let pay = json!({"method": "transfer", "amount": "98000", "currency": "CLP"});
    t.set_now("2026-11-13T02:30:00Z"); // Nov 12th, 23:30 in Santiago: the last day
    let a = t
        .post(
            &format!("/v1/invoices/{}/payments", early["id"].as_str().unwrap()),
            &pay,
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_eq!(
        (
            &a.body["status"],
            &a.body["discount"],
            &a.body["amount_due"]
        ),
        (&json!("paid"), &json!("2000"), &json!("0"))
    );
    let kinds: Vec<&str> = a.body["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["charge", "payment", "discount"]);
    assert!(
        t.get(&format!("/v1/invoices/{}", early["id"].as_str().unwrap()))
            .await
            .body
            .get("next_action_at")
            .is_none()
    );
    t.set_now("2026-11-13T03:00:00Z"); // Nov 13th: too late
    let b = t
        .post(
            &format!("/v1/invoices/{}/payments", late["id"].as_str().unwrap()),
            &pay,
            None,
        )
        .await;
    assert_eq!(
        (
            &b.body["status"],
            &b.body["discount"],
            &b.body["amount_due"]
        ),
        (&json!("partially_paid"), &json!("0"), &json!("2000"))
    );
}

/// Bad policies are refused with the field named, at the invoice and at the client.
async fn bad_policies_are_refused(t: TestApp) {
    let cid = t
        .client(json!({"name": "Política", "email": unique_email("policy")}))
        .await;
    let cases = [
        (json!({"grace_days": -2}), "terms.grace_days"),
        (
            json!({"reminder_offsets": [5, 1]}),
            "terms.reminder_offsets",
        ),
        (
            json!({"late_fee": {"kind": "percent", "value": "150"}}),
            "terms.late_fee.value",
        ),
        (
            json!({"early_payment_discount": {"percent": "3", "within_days": 60}}),
            "terms.early_payment_discount.within_days",
        ),
        (
            json!({"business_hours": {"start": "18:00", "end": "08:00", "days": ["mon"]}}),
            "terms.business_hours.end",
        ),
    ];
    for (terms, field) in cases {
        let a = t
            .post("/v1/invoices", &json!({"client_id": cid, "currency": "CLP", "due_date": "2027-01-05",
                "lines": [{"description": "X", "quantity": "1", "unit_amount": "1000"}], "terms": terms}), None)
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.raw);
        assert_eq!(a.body["errors"][0]["field"], field, "{}", a.raw);
    }
    let a = t
        .post("/v1/clients", &json!({"name": "Mala", "email": unique_email("bad"), "terms": {"escalate_after_days": 0}}), None)
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.raw);
    assert_eq!(a.body["errors"][0]["field"], "terms.escalate_after_days");
    assert!(
        t.get(&format!("/v1/clients/{cid}/invoices")).await.body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// A mailer that refuses while told to.
struct Flaky {
    inner: Arc<dyn Mailer>,
    failing: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Mailer for Flaky {
    async fn send(
        &self,
        e: &cobro_notify::Email,
    ) -> Result<cobro_notify::Sent, cobro_notify::MailError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(cobro_notify::MailError::Delivery(
                "refused for the test".into(),
            ));
        }
        self.inner.send(e).await
    }
}

/// A message that fails is retried by a later sweep once its claim's lease ends: sent
/// once, never lost. A client with two invoices due the same day gets one message that
/// day and the other the next business day.
async fn failed_messages_are_retried_and_clients_get_one_a_day(t: TestApp) {
    t.set_now("2026-11-02T12:00:00Z");
    let email = unique_email("retry");
    let cid = t
        .client(json!({"name": "Dos Facturas", "email": email}))
        .await;
    let body = json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-01",
        "lines": [{"description": "Arriendo", "quantity": "1", "unit_amount": "50000"}]});
    let first = t.post("/v1/invoices", &body, None).await.body;
    let second = t.post("/v1/invoices", &body, None).await.body;
    let flaky = Arc::new(Flaky {
        inner: t.app.mailer.clone(),
        failing: true.into(),
    });
    let mut app = t.app.clone();
    app.mailer = flaky.clone();

    let r = sweep_at(&app, "2026-11-24T12:00:00Z").await;
    assert_eq!((r.reminders, r.failed, r.deferred), (0, 1, 1), "{r:?}");
    assert!(t.mails_to(&email).await.is_empty());
    // Within the lease nobody retries; the other invoice waits for tomorrow.
    let r = sweep_at(&app, "2026-11-24T12:03:00Z").await;
    assert_eq!(r.reminders + r.failed, 0, "{r:?}");
    flaky
        .failing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let r = sweep_at(&app, "2026-11-24T12:05:00Z").await;
    assert_eq!(r.reminders, 1, "{r:?}");
    let r = sweep_at(&app, "2026-11-24T15:00:00Z").await;
    assert_eq!(r.reminders, 0, "the client had their message today: {r:?}");
    let r = sweep_at(&app, "2026-11-25T12:00:00Z").await;
    assert_eq!(r.reminders, 1, "{r:?}");
    let mails = t.mails_to(&email).await;
    assert_eq!(mails.len(), 2);
    for inv in [&first, &second] {
        let got = t
            .get(&format!("/v1/invoices/{}", inv["id"].as_str().unwrap()))
            .await
            .body;
        let stage = &got["dunning"][0];
        assert_eq!(
            (&stage["stage"], &stage["status"]),
            (&json!("reminder:-7"), &json!("done"))
        );
    }
    let retried = t
        .get(&format!("/v1/invoices/{}", first["id"].as_str().unwrap()))
        .await
        .body;
    let other = t
        .get(&format!("/v1/invoices/{}", second["id"].as_str().unwrap()))
        .await
        .body;
    let attempts: std::collections::BTreeSet<u64> = [&retried, &other]
        .iter()
        .map(|i| i["dunning"][0]["attempts"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, [1, 2].into(), "one was retried once");
    for inv in [&retried, &other] {
        assert_eq!(
            inv["next_action_at"], "2026-11-30T12:00:00Z",
            "next: the −1 reminder"
        );
    }
}

/// A sweep whose deadline is too near starts nothing and says so; the work waits on the
/// agenda for the next run, which does it.
async fn a_sweep_stops_before_its_deadline(t: TestApp) {
    t.set_now("2026-11-02T12:00:00Z");
    let email = unique_email("deadline");
    let cid = t.client(json!({"name": "Plazo", "email": email})).await;
    let body = json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-01",
        "lines": [{"description": "Servicio", "quantity": "1", "unit_amount": "10000"}]});
    assert_eq!(
        t.post("/v1/invoices", &body, None).await.status,
        StatusCode::CREATED
    );
    t.set_now("2026-11-24T12:00:00Z");
    let soon = chrono::Utc::now().timestamp_millis() as u64 + 5_000; // inside the 10 s margin
    let r = cobro_app::dunning::scheduled(&t.app, cobro_app::dunning::Lane::Dunning, soon)
        .await
        .unwrap();
    assert!(r.stopped_early && r.reminders == 0, "{r:?}");
    assert!(t.mails_to(&email).await.is_empty());
    let later = chrono::Utc::now().timestamp_millis() as u64 + 300_000;
    let r = cobro_app::dunning::scheduled(&t.app, cobro_app::dunning::Lane::Dunning, later)
        .await
        .unwrap();
    assert!(!r.stopped_early && r.reminders == 1, "{r:?}");
    assert_eq!(t.mails_to(&email).await.len(), 1);
}

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

/// A browser's first visit to a pay page (redirects not followed).
struct Visit {
    browser: reqwest::Client,
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    /// `cobro_csrf=…`, as the browser sends it back.
    cookie: String,
    body: String,
    /// The CSRF value of the page's first form, if it has one.
    csrf: Option<String>,
}

async fn visit(link: &str) -> Visit {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser.get(link).send().await.unwrap();
    let (status, headers) = (page.status(), page.headers().clone());
    let cookie = headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body = page.text().await.unwrap();
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .map(|rest| rest.split('"').next().unwrap().to_string());
    Visit {
        browser,
        status,
        headers,
        cookie,
        body,
        csrf,
    }
}

fn secret_token() -> String {
    cobro_domain::secret::new_pay_token().expose().to_string()
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

/// A client in Santiago with an invoice of CLP 100.000 due Tuesday Dec 1st 2026 (default
/// terms: 2 grace days, reminders −7, −1, 0, 3, 10, 20, escalation at 60 days).
async fn arranged_invoice(t: &TestApp, tag: &str) -> (String, String, String) {
    t.set_now("2026-11-02T12:00:00Z");
    let email = unique_email(tag);
    let cid = t
        .client(
            json!({"name": "Ferretería Los Andes", "email": email, "timezone": "America/Santiago"}),
        )
        .await;
    let a = t
        .post(
            "/v1/invoices",
            &json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-01",
                "lines": [{"description": "Mantención de equipos", "quantity": "1", "unit_amount": "100000"}]}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    (cid, a.body["id"].as_str().unwrap().to_string(), email)
}

/// Sweeps once a day at 12:00 UTC (09:00 Santiago) from `from` to `to`, inclusive.
async fn daily_sweeps(t: &TestApp, from: &str, to: &str) -> cobro_app::dunning::SweepReport {
    let mut total = cobro_app::dunning::SweepReport::default();
    let mut day: chrono::NaiveDate = from.parse().unwrap();
    while day <= to.parse().unwrap() {
        let at = format!("{day}T12:00:00Z");
        t.set_now(&at);
        let r = sweep_at(&t.app, &at).await;
        assert_eq!((r.failed, r.skipped), (0, 0), "{r:?}");
        total.reminders += r.reminders;
        total.arrangement_reminders += r.arrangement_reminders;
        total.promises_kept += r.promises_kept;
        total.broken += r.broken;
        total.escalations += r.escalations;
        day = day.succ_opt().unwrap();
    }
    total
}

fn subjects(mails: &[String]) -> Vec<String> {
    let mut s: Vec<String> = mails.iter().map(|m| parsed(m).0).collect();
    s.sort();
    s
}

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
    let confirmation = t.mails_to(&email).await;
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
    let mails = t.mails_to(&email).await;
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
    let business = t.mails_to(&t.app.config.business_email).await;
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
        "/v1/reports/promises",
    ] {
        assert!(told[0].1.contains(want), "{want} missing in {}", told[0].1);
    }
    let client_mails = subjects(&t.mails_to(&email).await);
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
    let (subject, text, _) = parsed(&t.mails_to(&email).await[0]);
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
    let business = subjects(&t.mails_to(&t.app.config.business_email).await);
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
    ] {
        let a = t.post(&path, &body, None).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.raw);
        assert!(a.raw.contains(field), "{}", a.raw);
    }
    let a = t
        .post(
            &path,
            &json!({"due_date": "2026-12-22", "reason": "Espera el pago de su propio cliente"}),
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
    let (subject, text, _) = parsed(&t.mails_to(&email).await[0]);
    assert!(
        subject.starts_with("Nueva fecha de vencimiento de la factura"),
        "{subject}"
    );
    assert!(
        text.contains("martes, 22 de diciembre de 2026")
            && text.contains("Espera el pago de su propio cliente"),
        "{text}"
    );
    let r = daily_sweeps(&t, "2026-12-05", "2026-12-22").await;
    assert_eq!(r.reminders, 3, "−7, −1 and 0 of the new date: {r:?}");
    let subjects = subjects(&t.mails_to(&email).await);
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
            "instalments",
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
}

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
            .contains("1 of 1 settled invoices paid after their due date")),
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

async fn deposit_check_at(app: &App, at: &str) -> cobro_app::dunning::SweepReport {
    cobro_app::dunning::deposit_check(app, at.parse().unwrap(), None)
        .await
        .unwrap()
}

/// A new client asked for a fixed deposit: the deposit invoice comes with the client, the
/// first order is refused until it is paid, a webhook pays it, the client is active at
/// once (recorded by the deposit check, once), and the deposit is brought onto the first
/// invoice; the next invoice is on credit as usual.
async fn a_new_client_pays_a_deposit_by_webhook(t: TestApp) {
    t.set_now("2026-11-23T13:00:00Z"); // Monday 10:00 in Santiago
    let email = unique_email("deposito");
    let created = t
        .post(
            "/v1/clients",
            &json!({"name": "Ferretería Norte", "email": email, "timezone": "America/Santiago",
                "deposit": {"amount": "200000", "currency": "CLP"}}),
            Some("client-deposit-1"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    assert_eq!(created.body["status"], "pending_deposit", "{}", created.raw);
    let deposit = &created.body["open_deposit"];
    assert_eq!(
        (
            deposit["amount"].as_str(),
            deposit["currency"].as_str(),
            deposit["due_date"].as_str()
        ),
        (Some("200000"), Some("CLP"), Some("2026-11-26")),
        "{}",
        created.raw
    );
    assert!(deposit["pay_url"].as_str().unwrap().contains("/pay/"));
    let dep_id = deposit["invoice_id"].as_str().unwrap().to_string();
    let cid = created.body["id"].as_str().unwrap().to_string();
    // A retry with the same key replays the answer: one client, one deposit.
    let again = t
        .post(
            "/v1/clients",
            &json!({"name": "Ferretería Norte", "email": email, "timezone": "America/Santiago",
                "deposit": {"amount": "200000", "currency": "CLP"}}),
            Some("client-deposit-1"),
        )
        .await;
    assert!(again.replayed);
    assert_eq!(again.body["open_deposit"]["invoice_id"], dep_id.as_str());
    let mails = t.mails_to(&email).await;
    assert_eq!(mails.len(), 1, "the deposit invoice was e-mailed once");
    assert!(
        parsed(&mails[0]).1.contains("200.000"),
        "{}",
        parsed(&mails[0]).1
    );
    let dep = t.invoice(&dep_id).await;
    assert_eq!(dep["purpose"], "deposit", "{dep}");
    // Its pay page asks for the deposit, and offers no promise or plan.
    let page = visit(deposit["pay_url"].as_str().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("200.000"), "{}", page.body);
    assert!(!page.body.contains("promise-form"), "{}", page.body);

    // The first order waits for the deposit: 409 naming it, nothing written.
    let order = json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-31",
        "lines": [{"description": "Herramientas", "quantity": "1", "unit_amount": "500000"}]});
    let refused = t.post("/v1/invoices", &order, Some("order-1")).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.raw);
    assert!(refused.raw.contains("deposit-required"), "{}", refused.raw);
    assert_eq!(refused.body["deposit"]["invoice_id"], dep_id.as_str());
    assert_eq!(refused.body["deposit"]["reason"], "new-client");
    let listed = t.get(&format!("/v1/clients/{cid}/invoices")).await.body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);

    // Paid by a provider webhook: active at once.
    let pay = json!({"type": "payment.succeeded", "data": {"invoice_id": dep_id, "payment_id": "tr_dep_1", "amount": "200000", "currency": "CLP"}});
    assert_eq!(
        t.standard("msg_dep_1", &pay).await.body["outcome"],
        "applied"
    );
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["status"], "active", "{client}");
    assert_eq!(
        client["credit"],
        json!([{"amount": "200000", "currency": "CLP"}])
    );
    assert!(client.get("open_deposit").is_none(), "{client}");
    // The deposit check records it, once; the reminder sweep never sees deposits.
    let r = deposit_check_at(&t.app, "2026-11-23T14:00:00Z").await;
    assert_eq!((r.due, r.deposits_cleared), (1, 1), "{r:?}");
    let r = deposit_check_at(&t.app, "2026-12-20T14:00:00Z").await;
    assert_eq!((r.due, r.deposits_cleared), (0, 0), "{r:?}");
    assert_eq!(sweep_at(&t.app, "2026-12-20T14:00:00Z").await.due, 0);

    // The first invoice, with the deposit brought onto it (the same key now succeeds:
    // the refusal was not recorded).
    let first = t.post("/v1/invoices", &order, Some("order-1")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
    assert_eq!(
        (
            first.body["amount_paid"].as_str(),
            first.body["amount_due"].as_str()
        ),
        (Some("200000"), Some("300000")),
        "{}",
        first.raw
    );
    let dep = t.invoice(&dep_id).await;
    assert_eq!(dep["status"], "paid", "{dep}");
    assert!(
        dep["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "deposit_applied" && e["amount"]["amount"] == "200000"),
        "{dep}"
    );
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["credit"], json!([]), "{client}");
    // No longer new: the next order is on credit, nothing held to apply.
    let second = t
        .post(
            "/v1/invoices",
            &json!({"client_id": cid, "currency": "CLP", "due_date": "2027-01-31",
                "lines": [{"description": "Pernos", "quantity": "1", "unit_amount": "100000"}]}),
            None,
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.raw);
    assert_eq!(second.body["amount_due"], "100000");
}

/// A percentage deposit asked for with the first order, never paid: the deposit check
/// reminds the client the day after its due date, then marks them overdue and tells the
/// business; paid late, the client is active again.
async fn an_unpaid_deposit_is_reminded_then_overdue(t: TestApp) {
    t.set_now("2026-11-23T13:00:00Z");
    let email = unique_email("sin-deposito");
    let created = t
        .post(
            "/v1/clients",
            &json!({"name": "Imprenta Andes", "email": email, "timezone": "America/Santiago",
                "deposit": {"percent": "30", "due_days": 2}}),
            None,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    assert_eq!(
        created.body["status"], "active",
        "a percentage waits for the order"
    );
    let cid = created.body["id"].as_str().unwrap().to_string();
    let order = json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-31",
        "lines": [{"description": "Folletos", "quantity": "2", "unit_amount": "500001"}]});
    let first = t.post("/v1/invoices", &order, None).await;
    assert_eq!(first.status, StatusCode::CONFLICT, "{}", first.raw);
    // 30 % of 1.000.002, in whole pesos.
    assert_eq!(first.body["deposit"]["amount"], "300001", "{}", first.raw);
    assert_eq!(first.body["deposit"]["due_date"], "2026-11-25");
    let dep_id = first.body["deposit"]["invoice_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Asked again: the same deposit, with a fresh pay link; still one deposit invoice.
    let second = t.post("/v1/invoices", &order, None).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.body["deposit"]["invoice_id"], dep_id.as_str());
    assert_ne!(
        second.body["deposit"]["pay_url"],
        first.body["deposit"]["pay_url"]
    );
    let listed = t.get(&format!("/v1/clients/{cid}/invoices")).await.body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["status"], "pending_deposit");
    assert_eq!(client["open_deposit"]["invoice_id"], dep_id.as_str());
    // A deposit takes no promise to pay.
    let promise = t
        .post(
            &format!("/v1/invoices/{dep_id}/promises"),
            &json!({"date": "2026-11-30"}),
            None,
        )
        .await;
    assert_eq!(promise.status, StatusCode::CONFLICT, "{}", promise.raw);
    assert!(promise.raw.contains("deposit"), "{}", promise.raw);

    // Checks twice a day: nothing to the client before the due date has passed.
    let mut log = Vec::new();
    let mut day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    while day <= chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap() {
        for hour in ["13:30", "22:00"] {
            let at = format!("{day}T{hour}:00Z");
            let r = deposit_check_at(&t.app, &at).await;
            if r.deposit_reminders + r.deposits_overdue > 0 {
                log.push((at.clone(), r.deposit_reminders, r.deposits_overdue));
            }
            assert_eq!(
                sweep_at(&t.app, &at).await.due,
                0,
                "the sweep never sees it"
            );
        }
        day = day.succ_opt().unwrap();
    }
    assert_eq!(
        log,
        [
            // The day after the due date (Wed 25th), from 09:00 Santiago.
            ("2026-11-26T13:30:00Z".to_string(), 1, 0),
            // Due date + 1 + 3 days: Sunday 29th is closed, so Monday.
            ("2026-11-30T13:30:00Z".to_string(), 0, 1),
        ]
    );
    let to_client = subjects(&t.mails_to(&email).await);
    assert!(
        to_client
            .iter()
            .any(|s| s.starts_with("Depósito pendiente")),
        "{to_client:?}"
    );
    let to_business = subjects(&t.mails_to(&t.app.config.business_email).await);
    assert_eq!(to_business.len(), 1, "{to_business:?}");
    assert!(to_business[0].starts_with("Depósito vencido: Imprenta Andes"));
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["status"], "deposit_overdue", "{client}");
    let refused = t.post("/v1/invoices", &order, None).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);

    // Paid late by hand: active again, recorded by the next check.
    t.set_now("2026-12-04T15:00:00Z");
    let paid = t
        .post(
            &format!("/v1/invoices/{dep_id}/payments"),
            &json!({"method": "transfer", "amount": "300001", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.raw);
    assert_eq!(
        t.get(&format!("/v1/clients/{cid}")).await.body["status"],
        "active"
    );
    let r = deposit_check_at(&t.app, "2026-12-04T16:00:00Z").await;
    assert_eq!(r.deposits_cleared, 1, "{r:?}");
    let issued = t.post("/v1/invoices", &order, None).await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.raw);
    assert_eq!(issued.body["amount_due"], "700001");
}

/// A deposit paid before the client existed in cobro (a bank transfer carrying the
/// payer's RUT, handled while the business was still typing the client in) waits in the
/// unmatched queue; the deposit check applies it once the deposit exists, and the client
/// is active. A payment from someone else stays in the queue.
async fn an_early_payment_activates_its_deposit(t: TestApp) {
    t.set_now("2026-11-23T13:00:00Z");
    let early = json!({"type": "payment.succeeded", "data": {"payment_reference": "76.543.210-k", "payment_id": "tr_early", "amount": "150000", "currency": "CLP"}});
    assert_eq!(
        t.standard("msg_early", &early).await.body["outcome"],
        "unmatched"
    );
    let other = json!({"type": "payment.succeeded", "data": {"payment_reference": "11.111.111-1", "payment_id": "tr_other", "amount": "150000", "currency": "CLP"}});
    assert_eq!(
        t.standard("msg_other", &other).await.body["outcome"],
        "unmatched"
    );
    let email = unique_email("anticipado");
    let created = t
        .post(
            "/v1/clients",
            &json!({"name": "Café Puerto", "email": email, "tax_id": "76543210-K",
                "deposit": {"amount": "150000", "currency": "CLP"}}),
            None,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    let cid = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body["status"], "pending_deposit");
    let r = deposit_check_at(&t.app, "2026-11-23T13:05:00Z").await;
    assert_eq!((r.deposits_matched, r.deposits_cleared), (1, 1), "{r:?}");
    let client = t.get(&format!("/v1/clients/{cid}")).await.body;
    assert_eq!(client["status"], "active", "{client}");
    let queue = t.get("/v1/unmatched").await.body;
    assert!(
        !queue.to_string().contains("tr_early") && queue.to_string().contains("tr_other"),
        "it left the queue, the other stayed: {queue}"
    );
    // Nothing more to do, and a second check changes nothing.
    let r = deposit_check_at(&t.app, "2026-11-30T13:05:00Z").await;
    assert_eq!((r.due, r.deposits_matched), (0, 0), "{r:?}");
}

/// Bad deposits and budgets are refused by field; a retainer is held against the budget
/// and brought onto the invoice that reaches it; invoices over the budget wait for the
/// business to raise it.
async fn deposits_budgets_and_bad_input(t: TestApp) {
    t.set_now("2026-11-23T13:00:00Z");
    let before = t.get("/v1/clients?limit=100").await.body["data"]
        .as_array()
        .unwrap()
        .len();
    let email = unique_email("malo");
    for (deposit, extra, field) in [
        (json!({"percent": "-5"}), json!({}), "deposit.percent"),
        (json!({"percent": "150"}), json!({}), "deposit.percent"),
        (
            json!({"percent": "10", "amount": "5", "currency": "CLP"}),
            json!({}),
            "deposit",
        ),
        (
            json!({"amount": "-1", "currency": "CLP"}),
            json!({}),
            "deposit.amount",
        ),
        (
            json!({"amount": "10.5", "currency": "CLP"}),
            json!({}),
            "deposit.amount",
        ),
        (
            json!({"percent": "10", "hold": "escrow"}),
            json!({}),
            "deposit.hold",
        ),
        (
            json!({"amount": "100", "currency": "USD"}),
            json!({"credit_limit": {"amount": "500000", "currency": "CLP"}}),
            "deposit.currency",
        ),
        (
            json!({"percent": "10"}),
            json!({"credit_limit": {"amount": "500000", "currency": "CLP"}, "budget": {"amount": "900", "currency": "USD"}}),
            "budget.currency",
        ),
    ] {
        let mut body = json!({"name": "Malo", "email": email, "deposit": deposit});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let a = t.post("/v1/clients", &body, None).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.raw
        );
        assert!(
            a.body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {}",
            a.raw
        );
    }
    let after = t.get("/v1/clients?limit=100").await.body["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "nothing written");

    // Simultaneous first orders of a new client: one deposit invoice, named by every answer.
    let racer = t
        .client(json!({"name": "Carrera", "email": unique_email("carrera"),
            "deposit": {"percent": "50"}}))
        .await;
    let body = json!({"client_id": racer, "currency": "CLP", "due_date": "2026-12-31",
        "lines": [{"description": "x", "quantity": "1", "unit_amount": "1000"}]});
    let answers =
        futures::future::join_all((0..4).map(|_| t.post("/v1/invoices", &body, None))).await;
    let named: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.raw);
            a.body["deposit"]["invoice_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(named.len(), 1, "{named:?}");
    let listed = t.get(&format!("/v1/clients/{racer}/invoices")).await.body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);

    // A CLP deposit: a first order in USD is refused on its currency.
    let clp = t
        .client(json!({"name": "Solo CLP", "email": unique_email("clp"),
            "deposit": {"amount": "50000", "currency": "CLP"}}))
        .await;
    let usd = t
        .post(
            "/v1/invoices",
            &json!({"client_id": clp, "currency": "USD", "due_date": "2026-12-31",
                "lines": [{"description": "x", "quantity": "1", "unit_amount": "10"}]}),
            None,
        )
        .await;
    assert_eq!(usd.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", usd.raw);
    assert!(usd.raw.contains("deposit is in CLP"), "{}", usd.raw);

    // A retainer of 20 % against a budget of 1.000.000.
    let cid = t
        .client(
            json!({"name": "Obra Larga", "email": unique_email("anticipo"),
            "deposit": {"percent": "20", "hold": "retainer"},
            "budget": {"amount": "1000000", "currency": "CLP"}}),
        )
        .await;
    let order = |amount: &str| {
        json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-31",
            "lines": [{"description": "Avance de obra", "quantity": "1", "unit_amount": amount}]})
    };
    let asked = t.post("/v1/invoices", &order("600000"), None).await;
    assert_eq!(asked.status, StatusCode::CONFLICT, "{}", asked.raw);
    assert_eq!(asked.body["deposit"]["amount"], "120000");
    let dep_id = asked.body["deposit"]["invoice_id"].as_str().unwrap();
    let paid = t
        .post(
            &format!("/v1/invoices/{dep_id}/payments"),
            &json!({"method": "cheque", "amount": "120000", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.raw);
    let first = t.post("/v1/invoices", &order("600000"), None).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
    assert_eq!(first.body["amount_due"], "600000", "the retainer is kept");
    let over = t.post("/v1/invoices", &order("500000"), None).await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{}", over.raw);
    assert!(over.raw.contains("over-budget"), "{}", over.raw);
    assert_eq!(over.body["budget"]["left"], "400000");
    let path = format!("/v1/clients/{cid}/budget");
    let budget = |body: Value| {
        let (t, path) = (&t, &path);
        async move { t.put(path, &body).await }
    };
    let low = budget(json!({"amount": "500000", "currency": "CLP"})).await;
    assert_eq!(low.status, StatusCode::CONFLICT, "{}", low.raw);
    assert!(low.raw.contains("budget-below-invoiced"));
    let wrong = budget(json!({"amount": "2000", "currency": "USD"})).await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.raw
    );
    let zero = budget(json!({"amount": "0", "currency": "CLP"})).await;
    assert_eq!(
        zero.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        zero.raw
    );
    let nobody = t
        .put(
            "/v1/clients/cli_00000000000000000000000000/budget",
            &json!({"amount": "1", "currency": "CLP"}),
        )
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND, "{}", nobody.raw);
    let raised = budget(json!({"amount": "1100000", "currency": "CLP"})).await;
    assert_eq!(raised.status, StatusCode::OK, "{}", raised.raw);
    assert_eq!(raised.body["budget"]["amount"], "1100000");
    // The invoice that reaches the budget gets the retainer.
    let last = t.post("/v1/invoices", &order("500000"), None).await;
    assert_eq!(last.status, StatusCode::CREATED, "{}", last.raw);
    assert_eq!(last.body["amount_due"], "380000", "{}", last.raw);
}

/// The business's default deposit (30 %) for every new client unless waived, and
/// restricted tiers asked to prepay the whole invoice instead of being refused.
async fn deposit_policies_from_config(backend: Backend) {
    let t = spawn_with(backend, |c| {
        c.deposit_policy.terms = Some(cobro_domain::deposit::DepositTerms {
            rule: cobro_domain::deposit::DepositRule::Percent(30.into()),
            due_days: 3,
            overdue_after_days: 3,
            hold: cobro_domain::deposit::Hold::Credit,
        });
        c.credit_policy.restrict_tiers = vec![cobro_domain::standing::Tier::B];
        c.credit_policy.restricted = cobro_domain::standing::Restricted::Prepay;
    })
    .await;
    t.set_now("2026-11-23T13:00:00Z");
    let order = |cid: &str| {
        json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-31",
            "lines": [{"description": "Servicio", "quantity": "1", "unit_amount": "100000"}]})
    };
    // A new client is in tier B (no history), which must prepay: 100 %.
    let cid = t
        .client(json!({"name": "Prepago", "email": unique_email("prepago")}))
        .await;
    let a = t.post("/v1/invoices", &order(&cid), None).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.raw);
    assert_eq!(
        (
            a.body["deposit"]["amount"].as_str(),
            a.body["deposit"]["reason"].as_str()
        ),
        (Some("100000"), Some("prepay")),
        "{}",
        a.raw
    );
    // Prepaid, the invoice is issued already paid.
    let dep = a.body["deposit"]["invoice_id"].as_str().unwrap();
    let paid = t
        .post(
            &format!("/v1/invoices/{dep}/payments"),
            &json!({"method": "transfer", "amount": "100000", "currency": "CLP"}),
            None,
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.raw);
    let issued = t.post("/v1/invoices", &order(&cid), None).await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.raw);
    assert_eq!(
        (
            issued.body["status"].as_str(),
            issued.body["amount_due"].as_str()
        ),
        (Some("paid"), Some("0"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposit_policies_from_config_sqlite() {
    deposit_policies_from_config(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposit_policies_from_config_dynamodb() {
    deposit_policies_from_config(Backend::Dynamo).await
}

macro_rules! on_both_stacks {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::spawn(super::Backend::Sqlite).await).await }) *
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::spawn(super::Backend::Dynamo).await).await }) *
        }
    };
}

on_both_stacks!(
    a_new_client_pays_a_deposit_by_webhook,
    an_unpaid_deposit_is_reminded_then_overdue,
    an_early_payment_activates_its_deposit,
    deposits_budgets_and_bad_input,
    clp_invoice_is_exact_emailed_and_idempotent,
    invoices_and_clients_read_back,
    bad_input_is_refused_and_writes_nothing,
    api_keys_guard_every_route,
    simultaneous_requests,
    english_clients_get_english_mail,
    stripe_payment_applies_once,
    simultaneous_deliveries,
    standard_payments_and_the_unmatched_queue,
    forged_and_malformed_webhooks_change_nothing,
    manual_payments,
    mercadopago_payments,
    store_faults_then_redelivery_converge,
    out_of_order_events_converge,
    dunning_from_issue_to_escalation,
    early_payment_discount,
    bad_policies_are_refused,
    failed_messages_are_retried_and_clients_get_one_a_day,
    a_sweep_stops_before_its_deadline,
    pay_portal_full_local_loop,
    an_expired_pay_link_is_a_404,
    hosted_checkouts_carry_the_invoice,
    pay_links_reissued_revoked_and_void,
    a_promise_kept_end_to_end,
    a_promise_broken_end_to_end,
    a_payment_plan_with_a_missed_instalment,
    an_extension_moves_the_due_date,
    bad_arrangements_are_refused,
    promises_and_plans_on_the_pay_page,
    standing_and_credit_limits,
);
