//! What every area of the end-to-end API tests shares: the stack on a random port (SQLite +
//! outbox, or DynamoDB + SES on moto), requests, mail read back, the fake provider APIs,
//! and the builders and clocks the areas use.

pub(crate) use std::path::PathBuf;
pub(crate) use std::sync::Arc;

pub(crate) use cobro_app::{App, Config};
pub(crate) use cobro_notify::{Mailer, OutboxMailer, SesMailer};
pub(crate) use cobro_store::{SqliteStore, Store};
pub(crate) use mail_parser::MessageParser;
pub(crate) use reqwest::StatusCode;
pub(crate) use serde_json::{Value, json};

pub(crate) enum Mail {
    Outbox(PathBuf),
    Ses(String),
}

pub(crate) type MpPayments = Arc<std::sync::Mutex<std::collections::HashMap<String, Value>>>;

/// Checkout requests the fake Stripe and Mercado Pago APIs received: (path, headers, body).
pub(crate) type Checkouts = Arc<std::sync::Mutex<Vec<(String, axum::http::HeaderMap, String)>>>;

pub(crate) const STRIPE_API_KEY: &str = "sk_test_cobro_e2e";

pub(crate) struct TestApp {
    pub(crate) checkouts: Checkouts,
    pub(crate) mp_payments: MpPayments,
    pub(crate) base: String,
    pub(crate) key: String,
    pub(crate) http: reqwest::Client,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) mail: Mail,
    pub(crate) app: App,
    /// The app's clock: epoch milliseconds, or 0 for the real time.
    pub(crate) now: Arc<std::sync::atomic::AtomicI64>,
    pub(crate) _dir: tempfile::TempDir,
}

#[derive(Clone, Copy)]
pub(crate) enum Backend {
    Sqlite,
    Dynamo,
}

pub(crate) async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

/// A stack whose configuration `f` changes first.
pub(crate) async fn spawn_with(backend: Backend, f: impl FnOnce(&mut Config)) -> TestApp {
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
    let router = cobro_app::http::finish(
        cobro_app::http::invoices_api(app.clone())
            .merge(cobro_app::http::payment_webhook(app.clone()))
            .merge(cobro_app::http::pay_portal(app.clone()))
            .merge(cobro_app::http::sandbox(app.clone()))
            .merge(cobro_app::http::console(app.clone())),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let (_, key) = cobro_app::usecases::keys::create(&app, &cobro_domain::Actor::Cobro, "tests")
        .await
        .unwrap();
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

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) replayed: bool,
    pub(crate) raw: String,
    pub(crate) body: Value,
}

impl TestApp {
    /// Sets the app's clock.
    pub(crate) fn set_now(&self, at: &str) -> chrono::DateTime<chrono::Utc> {
        let at: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
        self.now
            .store(at.timestamp_millis(), std::sync::atomic::Ordering::SeqCst);
        at
    }

    pub(crate) async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
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

    pub(crate) async fn post(&self, path: &str, body: &Value, idem: Option<&str>) -> Answer {
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

    pub(crate) async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(
            self.http
                .put(format!("{}{path}", self.base))
                .bearer_auth(&self.key)
                .json(body),
        )
        .await
    }

    pub(crate) async fn patch(&self, path: &str, body: &Value) -> Answer {
        self.send(
            self.http
                .patch(format!("{}{path}", self.base))
                .bearer_auth(&self.key)
                .json(body),
        )
        .await
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send(
            self.http
                .get(format!("{}{path}", self.base))
                .bearer_auth(&self.key),
        )
        .await
    }

    pub(crate) async fn client(&self, body: Value) -> String {
        let a = self.post("/v1/clients", &body, None).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
        a.body["id"].as_str().unwrap().to_string()
    }

    /// Every message to `to` but the invoice itself ("Factura F-… de Estudio Sur: …"): what
    /// the chase sent, as the dunning tests count it.
    pub(crate) async fn chase_mails(&self, to: &str) -> Vec<String> {
        self.mails_to(to)
            .await
            .into_iter()
            .filter(|m| {
                let s = parsed(m).0;
                let invoice = (s.starts_with("Factura F-") && s.contains(" de Estudio Sur: "))
                    || (s.starts_with("Invoice F-") && s.contains(" from Estudio Sur: "));
                !invoice
            })
            .collect()
    }

    /// Every message sent to the business's address about an invoice or a client (the
    /// weekly summaries left out), oldest first.
    pub(crate) async fn business_notices(&self) -> Vec<String> {
        self.mails_to(&self.app.config.business_email)
            .await
            .into_iter()
            .filter(|m| {
                let s = parsed(m).0;
                !(s.starts_with("Resumen semanal") || s.starts_with("Weekly collections summary"))
            })
            .collect()
    }

    /// Every message sent to `to`, oldest first, as raw RFC 5322 text.
    pub(crate) async fn mails_to(&self, to: &str) -> Vec<String> {
        match &self.mail {
            Mail::Outbox(dir) => {
                let mut out = Vec::new();
                // Oldest first: the outbox's file names begin with the time written.
                let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
                    .collect();
                paths.sort();
                for path in paths {
                    let raw = std::fs::read_to_string(path).unwrap();
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

pub(crate) fn unique_email(tag: &str) -> String {
    format!(
        "{tag}-{}@cliente.cl",
        cobro_domain::ClientId::generate()
            .as_str()
            .trim_start_matches("cli_")
    )
}

pub(crate) fn clp_invoice(client_id: &str, send: bool) -> Value {
    json!({
        "client_id": client_id, "currency": "CLP", "tax_rate": "19", "due_date": "2026-12-07",
        "issue_date": "2026-11-23", "send": send,
        "lines": [{"description": "Diseño de logo", "quantity": 3, "unit_amount": "49990"}]
    })
}

pub(crate) const STRIPE_SECRET: &str = "whsec_cobro_stripe_e2e";
pub(crate) const MP_SECRET: &str = "mp-e2e-secret";
pub(crate) const MP_TOKEN: &str = "APP_USR-e2e-token";

/// Stands in for the Mercado Pago API: `GET /v1/payments/{id}` answers the payment in
/// Mercado Pago's wire format, only with the right bearer token; unknown ids are a 404.
/// Stands in for Stripe's API: `POST /v1/checkout/sessions` (form-encoded, bearer secret
/// key) answers a session with its `url`, as Stripe documents it.
pub(crate) async fn fake_stripe(seen: Checkouts) -> String {
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

pub(crate) async fn fake_mercadopago(payments: MpPayments, seen: Checkouts) -> String {
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
pub(crate) const STANDARD_SECRET: &str = "whsec_Y29icm8tc3RhbmRhcmQtd2ViaG9va3MtZTJl";

impl TestApp {
    pub(crate) async fn stripe(&self, body: &Value, header: Option<String>) -> Answer {
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

    pub(crate) async fn standard(&self, id: &str, body: &Value) -> Answer {
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

    pub(crate) async fn mercadopago(
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

    pub(crate) async fn invoice(&self, id: &str) -> Value {
        self.get(&format!("/v1/invoices/{id}")).await.body
    }
}

pub(crate) fn stripe_event(id: &str, kind: &str, object: Value) -> Value {
    json!({"id": id, "object": "event", "type": kind, "created": chrono::Utc::now().timestamp(), "data": {"object": object}})
}

pub(crate) fn pi_succeeded(event_id: &str, pi: &str, invoice_id: &str, amount: i64) -> Value {
    stripe_event(
        event_id,
        "payment_intent.succeeded",
        json!({"id": pi, "amount": amount, "amount_received": amount,
        "currency": "clp", "metadata": {"invoice_id": invoice_id}}),
    )
}

pub(crate) async fn new_clp_invoice(t: &TestApp, tag: &str) -> (String, Value) {
    let email = unique_email(tag);
    let cid = t.client(json!({"name": "Pagadora", "email": email})).await;
    let a = t
        .post("/v1/invoices", &clp_invoice(&cid, false), None)
        .await;
    (email, a.body)
}

/// A parsed e-mail: subject, text and HTML.
pub(crate) fn parsed(raw: &str) -> (String, String, String) {
    let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
    (
        msg.subject().unwrap_or_default().to_string(),
        msg.body_text(0).unwrap_or_default().replace("\r\n", "\n"),
        msg.body_html(0).unwrap_or_default().to_string(),
    )
}

pub(crate) async fn sweep_at(app: &App, at: &str) -> cobro_app::usecases::sweep::SweepReport {
    cobro_app::usecases::sweep::sweep(app, at.parse().unwrap(), None)
        .await
        .unwrap()
}

/// A browser's first visit to a pay page (redirects not followed).
pub(crate) struct Visit {
    pub(crate) browser: reqwest::Client,
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    /// `cobro_csrf=…`, as the browser sends it back.
    pub(crate) cookie: String,
    pub(crate) body: String,
    /// The CSRF value of the page's first form, if it has one.
    pub(crate) csrf: Option<String>,
}

pub(crate) async fn visit(link: &str) -> Visit {
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

pub(crate) fn secret_token() -> String {
    cobro_domain::secret::new_pay_token().expose().to_string()
}

/// A client in Santiago with an invoice of CLP 100.000 due Tuesday Dec 1st 2026 (default
/// terms: 2 grace days, reminders −7, −1, 0, 3, 10, 20, escalation at 60 days).
pub(crate) async fn arranged_invoice(t: &TestApp, tag: &str) -> (String, String, String) {
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
            &json!({"client_id": cid, "currency": "CLP", "due_date": "2026-12-01", "send": true,
                "lines": [{"description": "Mantención de equipos", "quantity": "1", "unit_amount": "100000"}]}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    (cid, a.body["id"].as_str().unwrap().to_string(), email)
}

/// Sweeps once a day at 12:00 UTC (09:00 Santiago) from `from` to `to`, inclusive.
pub(crate) async fn daily_sweeps(
    t: &TestApp,
    from: &str,
    to: &str,
) -> cobro_app::usecases::sweep::SweepReport {
    let mut total = cobro_app::usecases::sweep::SweepReport::default();
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

pub(crate) fn subjects(mails: &[String]) -> Vec<String> {
    let mut s: Vec<String> = mails.iter().map(|m| parsed(m).0).collect();
    s.sort();
    s
}

pub(crate) async fn deposit_check_at(
    app: &App,
    at: &str,
) -> cobro_app::usecases::sweep::SweepReport {
    cobro_app::usecases::sweep::deposit_check(app, at.parse().unwrap(), None)
        .await
        .unwrap()
}
