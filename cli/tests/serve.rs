//! The `cobro` binary as a user runs it: keys on the command line, `serve --demo`, then
//! the check of issue 2 over HTTP, the outbox page, and revocation.

// A test fails loudly.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use mail_parser::MessageParser;
use serde_json::{Value, json};

fn cobro(data_dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cobro"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("COBRO_TABLE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cobro {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

mod common;
use common::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_the_api_the_demo_and_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let created = cobro(dir.path(), &["keys", "create", "--name", "finanzas"]);
    let key = created.lines().last().unwrap().trim().to_string();
    assert!(key.starts_with("cobro_sk_"), "{created}");
    assert!(cobro(dir.path(), &["keys", "list"]).contains("finanzas"));

    // Stands in for the Mercado Pago API: the payment the stack will fetch after a notification.
    let mp_payment = std::sync::Arc::new(std::sync::Mutex::new(serde_json::Value::Null));
    let mp_base = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = mp_payment.clone();
        let router = axum::Router::new().route(
            "/v1/payments/4242",
            axum::routing::get(move |headers: axum::http::HeaderMap| {
                let state = state.clone();
                async move {
                    assert_eq!(headers["authorization"], "Bearer TEST-cli-token");
                    axum::Json(state.lock().unwrap().clone())
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        base
    };

    let mut child = Command::new(env!("CARGO_BIN_EXE_cobro"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--addr", "127.0.0.1:0", "--demo"])
        .env_remove("COBRO_TABLE")
        .env_remove("COBRO_PUBLIC_URL")
        // The messages are counted below; the weekly summary would join them on the real
        // clock from Monday 08:00 (it has its own tests, on a clock of their own).
        .env("COBRO_WEEKLY_SUMMARY", "off")
        .env("COBRO_MERCADOPAGO_API_BASE", &mp_base)
        .env("COBRO_MERCADOPAGO_ACCESS_TOKEN", "TEST-cli-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let _server = Server(child);
    let first = lines.next().unwrap().unwrap();
    let base = first
        .strip_prefix("cobro listening on ")
        .expect(&first)
        .to_string();
    let mut demo = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("demo: F-") {
            demo.push(line);
            if demo.len() == 3 {
                break;
            }
        }
    }
    assert!(
        demo[0].contains("CLP 178464") && demo[0].contains(&format!("pay: {base}/pay/")),
        "{demo:?}"
    );
    assert!(demo[2].contains("USD 1549.99"), "{demo:?}");

    let http = reqwest::Client::new();
    let post = |path: &str, body: Value, idem: &str| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&key)
            .header("Idempotency-Key", idem)
            .json(&body)
            .send()
    };
    let client: Value = post(
        "/v1/clients",
        json!({"name": "Ferretería Norte", "email": "pagos@norte.cl"}),
        "c-1",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let body = json!({"client_id": client["id"], "currency": "CLP", "tax_rate": "19", "due_date": "2026-12-07",
        "issue_date": "2026-11-23", "send": true,
        "lines": [{"description": "Pernos", "quantity": "3", "unit_amount": "49990"}]});
    let res = post("/v1/invoices", body.clone(), "inv-1").await.unwrap();
    assert_eq!(res.status(), 201);
    let invoice: Value = res.json().await.unwrap();
    assert_eq!(invoice["total"], "178464");
    assert_eq!(
        invoice["number"], "F-000004",
        "after the three demo invoices"
    );
    let again: Value = post("/v1/invoices", body, "inv-1")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"], invoice["id"]);

    // The outbox page lists four messages; the newest is the Spanish e-mail of this invoice.
    let page = http
        .get(format!("{base}/outbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("4 message(s)"), "{page}");
    let id = invoice["id"].as_str().unwrap();
    let name = page
        .split('"')
        .find(|s| s.starts_with("/outbox/") && s.contains(id))
        .expect("message of the invoice");
    // Readable: headers and the text decoded (not quoted-printable), the HTML framed.
    let readable = http
        .get(format!("{base}{name}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for want in [
        "Total a pagar: $178.464 (CLP)",
        "Factura F-000004 de",
        "Ferretería Norte &#60;pagos@norte.cl&#62;",
        "<iframe sandbox=\"\"",
    ] {
        assert!(readable.contains(want), "{want} in {readable}");
    }
    assert!(!readable.contains("=C3="), "decoded: {readable}");
    let raw = http
        .get(format!("{base}{name}/raw"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let msg = MessageParser::default().parse(&raw[..]).unwrap();
    let text = msg.body_text(0).unwrap();
    assert!(text.contains("Total a pagar: $178.464 (CLP)"), "{text}");
    assert!(text.contains(invoice["pay_url"].as_str().unwrap()));
    assert!(text.contains(invoice["payment_reference_display"].as_str().unwrap()));

    // Paid through a signed Stripe event from `cobro webhook send`; the second copy is a duplicate.
    let send = |event_id: &str| {
        cobro(
            dir.path(),
            &[
                "webhook",
                "send",
                "stripe",
                "--invoice",
                id,
                "--amount",
                "178464",
                "--currency",
                "CLP",
                "--event-id",
                event_id,
                "--url",
                &base,
            ],
        )
    };
    assert!(send("evt_cli_1").contains("\"outcome\":\"applied\""));
    assert!(send("evt_cli_1").contains("\"outcome\":\"duplicate\""));
    let paid: Value = http
        .get(format!("{base}/v1/invoices/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (paid["status"].as_str(), paid["amount_due"].as_str()),
        (Some("paid"), Some("0"))
    );
    let page = http
        .get(format!("{base}/outbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("5 message(s)") && page.contains(&format!("{id}.receipt.")),
        "{page}"
    );

    // Mercado Pago: a signed notification; the stack fetches the payment and settles it.
    let second: Value = post(
        "/v1/invoices",
        json!({"client_id": client["id"], "currency": "CLP", "due_date": "2026-12-31",
        "lines": [{"description": "Tuercas", "quantity": "1", "unit_amount": "20000"}]}),
        "inv-2",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    *mp_payment.lock().unwrap() = json!({"id": 4242, "status": "approved", "currency_id": "CLP",
        "transaction_amount": 20000, "external_reference": second["id"]});
    let sent = cobro(
        dir.path(),
        &[
            "webhook",
            "send",
            "mercadopago",
            "--payment-id",
            "4242",
            "--url",
            &base,
        ],
    );
    assert!(sent.contains("\"outcome\":\"applied\""), "{sent}");
    let paid: Value = http
        .get(format!(
            "{base}/v1/invoices/{}",
            second["id"].as_str().unwrap()
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid["status"], "paid");

    // A promise to pay, judged by `cobro sweep --at` after its date: broken, the business
    // told once, the client's record in the promise report.
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let client: Value = post(
        "/v1/clients",
        serde_json::json!({"name": "Promesa SpA", "email": "promesa@cliente.cl"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let today = chrono::Utc::now().date_naive();
    let invoice: Value = post(
        "/v1/invoices",
        serde_json::json!({"client_id": client["id"], "currency": "CLP",
        "due_date": (today + chrono::Days::new(1)).to_string(),
        "lines": [{"description": "Asesoría", "quantity": "1", "unit_amount": "80000"}]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let promise_date = today + chrono::Days::new(3);
    let res = post(
        &format!("/v1/invoices/{}/promises", invoice["id"].as_str().unwrap()),
        serde_json::json!({"date": promise_date.to_string()}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let mut judged = promise_date + chrono::Days::new(3);
    while chrono::Datelike::weekday(&judged) != chrono::Weekday::Wed {
        judged = judged.succ_opt().unwrap();
    }
    let at = format!("{judged}T10:00:00-03:00");
    let report: Value = serde_json::from_str(&cobro(dir.path(), &["sweep", "--at", &at])).unwrap();
    assert_eq!(report["broken"], 1, "{report}");
    let again: Value = serde_json::from_str(&cobro(dir.path(), &["sweep", "--at", &at])).unwrap();
    assert_eq!(again["broken"], 0, "{again}");

    // A new client asked for a deposit, never paid: `cobro deposit-check --at` reminds
    // them after its due date, then marks them overdue and tells the business, once.
    let res = post(
        "/v1/clients",
        serde_json::json!({"name": "Depósito SpA", "email": "deposito@cliente.cl",
            "deposit": {"amount": "50000", "currency": "CLP"}}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["status"], "pending_deposit", "{created}");
    let mut reminded = today + chrono::Days::new(5);
    while chrono::Datelike::weekday(&reminded) != chrono::Weekday::Wed {
        reminded = reminded.succ_opt().unwrap();
    }
    let check = |day: chrono::NaiveDate| -> Value {
        let at = format!("{day}T10:00:00-03:00");
        serde_json::from_str(&cobro(dir.path(), &["deposit-check", "--at", &at])).unwrap()
    };
    let first = check(reminded);
    assert_eq!(first["deposit_reminders"], 1, "{first}");
    let overdue = check(reminded + chrono::Days::new(7));
    assert_eq!(overdue["deposits_overdue"], 1, "{overdue}");
    let after = check(reminded + chrono::Days::new(14));
    assert_eq!(after["due"], 0, "{after}");
    let depositor: Value = http
        .get(format!(
            "{base}/v1/clients/{}",
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(depositor["status"], "deposit_overdue", "{depositor}");
    let told: Vec<String> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read(e.path()).unwrap())
        .filter_map(|raw| {
            let msg = MessageParser::default().parse(&raw[..])?;
            Some(msg.subject()?.to_string())
        })
        .filter(|s| s.starts_with("Compromiso incumplido: Promesa SpA"))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    let promises: Value = http
        .get(format!(
            "{base}/v1/reports/promises?client_id={}",
            client["id"].as_str().unwrap()
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(promises["overall"]["broken"], 1, "{promises}");

    // Revoked on the command line: refused at once.
    let listed = cobro(dir.path(), &["keys", "list"]);
    let key_id = listed
        .lines()
        .find(|l| l.contains("finanzas"))
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    cobro(dir.path(), &["keys", "revoke", &key_id]);
    let res = http
        .get(format!("{base}/v1/clients"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // The sweep as of five months on (a Wednesday, 10:00 in Santiago): the open demo
    // invoices get their final notice (nothing is escalated without it), and a week later
    // they are escalated once, and the agency's CSV lists them.
    let mut day = chrono::Utc::now().date_naive() + chrono::Days::new(150);
    while chrono::Datelike::weekday(&day) != chrono::Weekday::Wed {
        day = day.succ_opt().unwrap();
    }
    let at = format!("{day}T10:00:00-03:00");
    // First a dry run: what it would do, and nothing done.
    let outbox = || {
        std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .count()
    };
    let before = outbox();
    let dry: Value =
        serde_json::from_str(&cobro(dir.path(), &["sweep", "--at", &at, "--dry-run"])).unwrap();
    let would = dry["would"].as_array().unwrap();
    assert!(
        would.iter().any(|w| w["to"] == "pagos@panaderiasol.cl"
            && w["what"].as_str().unwrap().starts_with("recordatorio")),
        "{dry}"
    );
    assert_eq!(outbox(), before, "a dry run sends nothing");
    let again: Value =
        serde_json::from_str(&cobro(dir.path(), &["sweep", "--at", &at, "--dry-run"])).unwrap();
    assert_eq!(again["would"], dry["would"], "and writes nothing");
    let report: Value = serde_json::from_str(&cobro(dir.path(), &["sweep", "--at", &at])).unwrap();
    assert_eq!(report["escalations"], 0, "{report}");
    assert!(report["reminders"].as_u64().unwrap() >= 1, "{report}");
    let to_clients = would
        .iter()
        .filter(|w| w["to"] == "pagos@panaderiasol.cl" || w["to"] == "ap@acme.example")
        .count();
    assert_eq!(
        report["reminders"].as_u64().unwrap() as usize,
        to_clients,
        "{dry} vs {report}"
    );
    // The sweep ran as a separate command; its pay links open on this serve.
    let finals: Vec<String> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|m| m.contains("ltimo aviso"))
        .collect();
    assert!(!finals.is_empty());
    assert!(
        finals.iter().all(|m| m.contains(&format!("{base}/pay/"))),
        "{}",
        finals[0]
    );
    let at = format!("{}T10:00:00-03:00", day + chrono::Days::new(7));
    let report: Value = serde_json::from_str(&cobro(dir.path(), &["sweep", "--at", &at])).unwrap();
    let escalated = report["escalations"].as_u64().unwrap();
    assert!(escalated >= 1, "{report}");
    let again: Value = serde_json::from_str(&cobro(dir.path(), &["sweep", "--at", &at])).unwrap();
    assert_eq!(again["escalations"], 0, "{again}");
    let csv_path = dir.path().join("escalated.csv");
    cobro(
        dir.path(),
        &[
            "export",
            "escalated",
            "--plain",
            "--out",
            csv_path.to_str().unwrap(),
        ],
    );
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert!(csv.starts_with("client_id,client_name,tax_id"), "{csv}");
    assert_eq!(csv.lines().count() as u64, escalated + 1, "{csv}");
    assert!(cobro(dir.path(), &["export", "late-fees"]).starts_with("\u{feff}cobrado el;"));

    // `serve --demo` again on the same data: nothing seeded twice.
    drop(_server);
    let mut child = Command::new(env!("CARGO_BIN_EXE_cobro"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--addr", "127.0.0.1:0", "--demo"])
        .env_remove("COBRO_TABLE")
        .env_remove("COBRO_PUBLIC_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let _again = Server(child);
    let base = lines.next().unwrap().unwrap();
    let base = base
        .strip_prefix("cobro listening on ")
        .unwrap()
        .to_string();
    let said: Vec<String> = lines
        .by_ref()
        .map(|l| l.unwrap())
        .skip_while(|l| !l.starts_with("demo: "))
        .take(3)
        .collect();
    assert!(said[2].contains("nothing seeded again"), "{said:?}");
    // A fresh sign-in link for the demo's owner of the console.
    assert!(
        said[1].starts_with("demo: console sign-in") && said[1].contains("/console/auth/"),
        "{said:?}"
    );
    let second = said[0].rsplit(' ').next().unwrap().to_string();
    let clients: Value = reqwest::Client::new()
        .get(format!("{base}/v1/clients?limit=100"))
        .bearer_auth(&second)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = clients["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .filter(|n| *n == "Panadería Sol")
        .collect();
    assert_eq!(names.len(), 1, "{clients}");
}

/// A port already taken is named, with what to do about it.
#[test]
fn a_busy_port_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_cobro"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--addr", &addr])
        .env_remove("COBRO_TABLE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("cannot listen on {addr}")) && said.contains("--addr"),
        "{said}"
    );
}
