//! The packaged functions, started as Lambda starts them. The test command builds them with
//! `cargo lambda build --release` and names the folder in `COBRO_LAMBDA_DIR`; each
//! `bootstrap` runs against the Runtime API emulator (`cobro_e2e::lambda_runtime`) and is
//! fed the events API Gateway (HTTP API, payload 2.0) and EventBridge send, with the
//! production configuration: DynamoDB, SES and SSM Parameter Store, all on moto's server.
//!
//! The console's sign-in runs through its binary: the page, a link e-mailed by SES, the
//! session it opens. One invoice's life goes through the five others: the API creates it, the pay page
//! (a GET that sets the CSRF cookie, then a base64-encoded form post carrying it back in
//! `cookies`) records a promise, the sweep and the deposit check run on a scheduled event,
//! and a Stripe webhook, signed with a secret that only exists in SSM, pays it, twice.

use std::path::PathBuf;
use std::time::Duration;

use cobro_e2e::lambda_runtime::{
    Function, HttpAnswer, HttpEvent, Outcome, RuntimeApi, SCHEDULED_EVENT,
};
use cobro_e2e::stack::Stack;
use serde_json::{Value, json};

const LAMBDA_DIR_ENV: &str = "COBRO_LAMBDA_DIR";
const TIMEOUT: Duration = Duration::from_secs(30);

fn lambda_dir() -> PathBuf {
    let dir = std::env::var(LAMBDA_DIR_ENV).unwrap_or_else(|_| {
        panic!("{LAMBDA_DIR_ENV} is not set: run the test command (./scripts/test), which builds the functions with cargo lambda")
    });
    PathBuf::from(dir)
}

struct Running {
    api: RuntimeApi,
    _function: Function,
    name: &'static str,
}

impl Running {
    async fn start(name: &'static str, env: &[(&str, String)], logs: &std::path::Path) -> Running {
        let bootstrap = lambda_dir().join(name).join("bootstrap");
        assert!(
            bootstrap.is_file(),
            "{} is missing: cargo lambda build --release",
            bootstrap.display()
        );
        let api = RuntimeApi::start().await;
        let function = api.spawn(&bootstrap, name, env, &logs.join(format!("{name}.log")));
        Running {
            api,
            _function: function,
            name,
        }
    }

    async fn call(&self, event: Value) -> Value {
        match self.api.invoke(event, TIMEOUT).await {
            Outcome::Response(v) => v,
            Outcome::Error(e) => panic!("{} reported an error: {e}", self.name),
        }
    }

    async fn http(&self, request: HttpEvent<'_>) -> HttpAnswer {
        HttpAnswer::from_response(&self.call(request.to_event()).await)
    }
}

fn json_request<'a>(
    method: &'a str,
    path: &'a str,
    key: Option<&str>,
    body: Option<&'a [u8]>,
) -> HttpEvent<'a> {
    let mut e = HttpEvent::new(method, "/v1/{proxy+}", path);
    e.body = body;
    e.headers.push(("accept", "application/json".into()));
    if body.is_some() {
        e.headers.push(("content-type", "application/json".into()));
    }
    if let Some(key) = key {
        e.headers.push(("authorization", format!("Bearer {key}")));
    }
    e
}

/// A form posted to the console as a browser posts it through API Gateway.
fn form_post<'a>(path: &'a str, body: &'a str, cookie: &str) -> HttpEvent<'a> {
    let mut post = HttpEvent::new("POST", "/console/{proxy+}", path);
    post.headers = vec![(
        "content-type",
        "application/x-www-form-urlencoded".to_string(),
    )];
    post.body = Some(body.as_bytes());
    post.base64 = true;
    post.cookies = vec![cookie.to_string()];
    post
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_packaged_function_handles_its_events_on_the_production_configuration() {
    let endpoint = cobro_store::testing::endpoint();
    // The webhook secret exists only in SSM: the new one first, the old one still listed,
    // as during a rotation.
    let mut stack = Stack::on_moto(&endpoint, "whsec_lambda_new,whsec_lambda_old").await;
    let key = stack.key.clone();
    let business = format!(
        "dueno-{}@estudiosur.cl",
        cobro_domain::ClientId::generate().as_str()
    );
    stack.env.extend([
        ("COBRO_BUSINESS_EMAIL", business),
        (
            "COBRO_DEFAULT_TERMS",
            json!({"business_hours": {"start": "00:00", "end": "23:59",
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}})
            .to_string(),
        ),
    ]);
    let webhook_env = stack.env_with_stripe_parameter();
    let logs_path = stack.scratch.path();
    let (api, portal, webhook, sweep, deposits, console) = tokio::join!(
        Running::start("invoices-api", &stack.env, logs_path),
        Running::start("pay-portal", &stack.env, logs_path),
        Running::start("payment-webhook", &webhook_env, logs_path),
        Running::start("reminder-sweep", &stack.env, logs_path),
        Running::start("deposit-check", &stack.env, logs_path),
        Running::start("console", &stack.env, logs_path),
    );

    // The console: signed out, the sign-in page; the owner asks for a link, SES (moto)
    // carries it, its button opens a session, and home opens with the session's cookie.
    let a = console
        .http(HttpEvent::new("GET", "/console", "/console"))
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.header("location"), Some("/console/sign-in"));
    let a = console
        .http(HttpEvent::new(
            "GET",
            "/console/{proxy+}",
            "/console/sign-in",
        ))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    let csrf = a
        .cookies
        .iter()
        .find_map(|c| c.strip_prefix("cobro_console_csrf="))
        .expect("the sign-in page sets its CSRF cookie")
        .to_string();
    let cookie = format!("cobro_console_csrf={csrf}");
    let forged = format!("csrf=x&email={}", stack.owner);
    let a = console
        .http(form_post("/console/sign-in", &forged, &cookie))
        .await;
    assert_eq!(a.status, 403, "no CSRF value, nothing sent: {}", a.body);
    let asked = format!("csrf={csrf}&email={}", stack.owner);
    let a = console
        .http(form_post("/console/sign-in", &asked, &cookie))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let mails = cobro_e2e::stack::ses_messages_to(&endpoint, &stack.owner).await;
    assert_eq!(mails.len(), 1, "one link, by SES");
    // Read as a mail client reads it: the text part decoded (quoted-printable wraps long
    // lines, a link among them).
    let message = mail_parser::MessageParser::default()
        .parse(mails[0].as_bytes())
        .expect("an RFC 5322 message");
    let text = message.body_text(0).expect("a text part").to_string();
    let link = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("https://pagar.estudiosur.cl"))
        .expect("the link in the e-mail")
        .to_string();
    assert!(link.starts_with("/console/auth/"), "{link}");
    let body = format!("csrf={csrf}");
    let a = console.http(form_post(&link, &body, &cookie)).await;
    assert_eq!(a.status, 303, "{}", a.body);
    let session = a
        .cookies
        .iter()
        .find(|c| c.starts_with("cobro_session="))
        .expect("a session cookie")
        .clone();
    let mut home = HttpEvent::new("GET", "/console", "/console");
    home.cookies = vec![session];
    let a = console.http(home).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("Por atender"), "{}", a.body);

    // The business API: authorization, validation, then a client and an overdue invoice.
    let a = api
        .http(json_request("POST", "/v1/clients", None, Some(b"{}")))
        .await;
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(a.header("content-type"), Some("application/problem+json"));
    // Its description, without a key, as the function ships it.
    let doc = api
        .http(json_request("GET", "/v1/openapi.json", None, None))
        .await;
    assert_eq!(doc.status, 200, "{}", doc.body);
    assert_eq!(doc.json()["openapi"], "3.1.0");
    assert!(doc.json()["paths"]["/v1/invoices"]["post"].is_object());
    let email = format!(
        "pagos-{}@cliente.cl",
        cobro_domain::ClientId::generate().as_str()
    );
    let body = json!({"name": "Comercial Andes", "email": email}).to_string();
    let a = api
        .http(json_request(
            "POST",
            "/v1/clients",
            Some(&key),
            Some(body.as_bytes()),
        ))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let client_id = a.json()["id"].as_str().unwrap().to_string();
    let bad = json!({"client_id": client_id, "currency": "XYZ", "due_date": "2026-12-31",
        "lines": [{"description": "x", "quantity": 1, "unit_amount": "1"}]})
    .to_string();
    let a = api
        .http(json_request(
            "POST",
            "/v1/invoices",
            Some(&key),
            Some(bad.as_bytes()),
        ))
        .await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("currency"), "{}", a.body);
    let today = chrono::Utc::now().date_naive();
    let invoice = json!({
        "client_id": client_id, "currency": "CLP", "tax_rate": "19", "send": true,
        "issue_date": (today - chrono::Days::new(20)).to_string(),
        "due_date": (today - chrono::Days::new(10)).to_string(),
        "lines": [{"description": "Diseño de logo", "quantity": 3, "unit_amount": "49990"}]
    })
    .to_string();
    let mut create = json_request("POST", "/v1/invoices", Some(&key), Some(invoice.as_bytes()));
    create
        .headers
        .push(("idempotency-key", "lambda-invoice-1".into()));
    let a = api.http(create).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let inv = a.json();
    assert_eq!(inv["total"], "178464");
    let id = inv["id"].as_str().unwrap().to_string();
    let pay_url = inv["pay_url"].as_str().unwrap().to_string();
    let token = pay_url.rsplit('/').next().unwrap().to_string();
    let get_path = format!("/v1/invoices/{id}");
    let a = api
        .http(json_request("GET", &get_path, Some(&key), None))
        .await;
    assert_eq!((a.status, a.json()["status"].as_str()), (200, Some("open")));

    // The scheduled functions, on EventBridge's event: the sweep reminds the client of the
    // overdue invoice (business hours are all day here), the deposit check finds nothing.
    let scheduled: Value = serde_json::from_str(SCHEDULED_EVENT).unwrap();
    let report = sweep.call(scheduled.clone()).await;
    assert!(report["due"].as_u64().unwrap() >= 1, "{report}");
    assert!(report["invoices_read"].as_u64().unwrap() >= 1, "{report}");
    let sent = ["reminders", "notices", "escalations"]
        .iter()
        .map(|k| report[k].as_u64().unwrap())
        .sum::<u64>();
    // (Deferred instead only in the one minute a day outside those hours, 23:59.)
    let deferred = report["deferred"].as_u64().unwrap();
    assert_eq!(
        (sent + deferred, report["failed"].as_u64()),
        (1, Some(0)),
        "{report}"
    );
    let report = deposits.call(scheduled).await;
    assert_eq!(
        (report["due"].as_u64(), report["failed"].as_u64()),
        (Some(0), Some(0)),
        "{report}"
    );

    // The pay page: a GET (sets the CSRF cookie), a promise posted as a browser posts a
    // form through API Gateway (base64 body, the cookie in `cookies`), an unknown link.
    let page_path = format!("/pay/{token}");
    let a = portal
        .http(HttpEvent::new("GET", "/pay/{proxy+}", &page_path))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.header("content-type").unwrap().starts_with("text/html"));
    assert!(
        a.body.contains(inv["number"].as_str().unwrap()),
        "{}",
        a.body
    );
    let csrf = a
        .cookies
        .iter()
        .find_map(|c| c.strip_prefix("cobro_csrf="))
        .expect("the page sets its CSRF cookie")
        .to_string();
    let promise_path = format!("/pay/{token}/promise");
    let form = format!("csrf={csrf}&date={}&amount=", today + chrono::Days::new(5));
    let mut post = HttpEvent::new("POST", "/pay/{proxy+}", &promise_path);
    post.headers = vec![(
        "content-type",
        "application/x-www-form-urlencoded".to_string(),
    )];
    post.body = Some(form.as_bytes());
    post.base64 = true;
    post.cookies = vec![format!("cobro_csrf={csrf}")];
    let a = portal.http(post).await;
    assert_eq!(a.status, 303, "{}", a.body);
    let a = api
        .http(json_request("GET", &get_path, Some(&key), None))
        .await;
    let promises = &a.json()["arrangements"]["promises"];
    assert_eq!(promises.as_array().map(Vec::len), Some(1), "{}", a.body);
    // The client's invoices, paged with a query string (a bad one is a 422).
    let listing_path = format!("/v1/clients/{client_id}/invoices");
    let mut listing = json_request("GET", &listing_path, Some(&key), None);
    listing.query = "limit=5";
    let a = api.http(listing).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains(&id), "{}", a.body);
    let mut listing = json_request("GET", &listing_path, Some(&key), None);
    listing.query = "limit=lots";
    assert_eq!(api.http(listing).await.status, 422);
    let a = portal
        .http(HttpEvent::new("GET", "/pay/{proxy+}", "/pay/not-a-token"))
        .await;
    assert_eq!(a.status, 404, "{}", a.body);

    // A Stripe payment, signed with the old secret that SSM still lists: applied once,
    // then the same delivery again (acknowledged, not applied twice), then a forgery.
    let event = json!({"id": "evt_lambda_1", "object": "event", "type": "payment_intent.succeeded",
        "created": chrono::Utc::now().timestamp(),
        "data": {"object": {"id": "pi_lambda_1", "amount": 178464, "amount_received": 178464,
            "currency": "clp", "metadata": {"invoice_id": id}}}})
    .to_string();
    let signature = cobro_providers::stripe::sign(
        event.as_bytes(),
        "whsec_lambda_old",
        chrono::Utc::now().timestamp(),
    );
    let stripe = |signature: String| {
        let mut e = HttpEvent::new("POST", "/webhooks/{provider}", "/webhooks/stripe");
        e.headers = vec![
            ("content-type", "application/json; charset=utf-8".into()),
            ("stripe-signature", signature),
            (
                "user-agent",
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)".into(),
            ),
        ];
        e.body = Some(event.as_bytes());
        e
    };
    for _ in 0..2 {
        let a = webhook.http(stripe(signature.clone())).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let forged = cobro_providers::stripe::sign(
        event.as_bytes(),
        "whsec_not_ours",
        chrono::Utc::now().timestamp(),
    );
    let a = webhook.http(stripe(forged)).await;
    assert_eq!(a.status, 400, "{}", a.body);
    let a = api
        .http(json_request("GET", &get_path, Some(&key), None))
        .await;
    let paid = a.json();
    assert_eq!(paid["status"], "paid", "{paid}");
    let payments = paid["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "payment")
        .count();
    assert_eq!(payments, 1, "{paid}");

    // The client's mail went out through SES: the invoice, the reminder, the promise's
    // confirmation and the receipt.
    let to_client = cobro_e2e::stack::ses_messages_to(&endpoint, &email)
        .await
        .len();
    assert!(
        to_client as u64 >= 3 + sent,
        "{to_client} messages to the client"
    );
    for f in [&api, &portal, &webhook, &sweep, &deposits] {
        assert!(f.api.init_error().is_none(), "{} init error", f.name);
    }
}
