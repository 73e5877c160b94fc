//! Deployment benchmark (issue 8): each packaged function (`cargo lambda build --release`)
//! started as Lambda starts it, against the Runtime API emulator, on the production
//! configuration (DynamoDB, SES and SSM on a local moto server). Prints JSON:
//!
//! - size: the `bootstrap`'s bytes (stripped by the release profile);
//! - cold start: exec → first `GET /runtime/invocation/next`, i.e. configuration read,
//!   AWS and HTTP clients built (and, for the webhook with secrets in SSM, the
//!   `GetParameters` call), over `starts` starts: median and max;
//! - memory: peak RSS (VmHWM) after `events` events of that function's kind, and their
//!   rate (bounded by the moto server, not a throughput figure); skipped when `events` is 0.
//!
//! `lambda-bench DIR ENDPOINT STARTS EVENTS`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cobro_e2e::lambda_runtime::{HttpAnswer, HttpEvent, RuntimeApi, SCHEDULED_EVENT};
use cobro_e2e::stack::Stack;
use serde_json::{Value, json};

/// In this order: the API makes the invoices the others read, sweep and pay.
const FUNCTIONS: [&str; 6] = [
    "invoices-api",
    "pay-portal",
    "reminder-sweep",
    "deposit-check",
    "payment-webhook",
    "console",
];
const SECRET: &str = "whsec_bench_lambda";

struct Setup {
    dir: PathBuf,
    stack: Stack,
}

impl Setup {
    /// The webhook's settings name its secrets' parameter (`ssm`) or give them directly.
    fn env_for(&self, function: &str, ssm: bool) -> Vec<(&'static str, String)> {
        match (function, ssm) {
            ("payment-webhook", true) => self.stack.env_with_stripe_parameter(),
            ("payment-webhook", false) => {
                let mut env = self.stack.env.clone();
                env.push(("COBRO_STRIPE_WEBHOOK_SECRETS", SECRET.into()));
                env
            }
            _ => self.stack.env.clone(),
        }
    }

    fn bootstrap(&self, function: &str) -> PathBuf {
        self.dir.join(function).join("bootstrap")
    }

    /// Exec → first poll, in ms, for each of `starts` starts.
    async fn cold_starts(&self, function: &str, ssm: bool, starts: usize) -> Vec<f64> {
        let mut out = Vec::new();
        for _ in 0..starts {
            let api = RuntimeApi::start().await;
            let log = self
                .stack
                .scratch
                .path()
                .join(format!("{function}-start.log"));
            let f = api.spawn(
                &self.bootstrap(function),
                function,
                &self.env_for(function, ssm),
                &log,
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            let polled = loop {
                if let Some(t) = api.first_poll() {
                    break t;
                }
                assert!(
                    Instant::now() < deadline,
                    "{function} never polled: see {}",
                    log.display()
                );
                tokio::time::sleep(Duration::from_micros(200)).await;
            };
            out.push((polled - f.started).as_secs_f64() * 1000.0);
        }
        out
    }
}

fn api_request<'a>(method: &'a str, path: &'a str, key: &str, body: Option<&'a [u8]>) -> Value {
    let mut e = HttpEvent::new(method, "/v1/{proxy+}", path);
    e.body = body;
    e.headers.push(("authorization", format!("Bearer {key}")));
    e.headers.push(("content-type", "application/json".into()));
    e.to_event()
}

async fn http(api: &RuntimeApi, event: Value) -> HttpAnswer {
    HttpAnswer::from_response(&api.invoke(event, Duration::from_secs(60)).await.response())
}

/// Feeds `events` events of the function's kind; returns (peak RSS KiB, events/s).
async fn memory(
    s: &Setup,
    function: &str,
    events: usize,
    state: &mut Vec<(String, String)>,
) -> (u64, f64) {
    let api = RuntimeApi::start().await;
    let log = s
        .stack
        .scratch
        .path()
        .join(format!("{function}-events.log"));
    let f = api.spawn(
        &s.bootstrap(function),
        function,
        &s.env_for(function, true),
        &log,
    );
    let started = Instant::now();
    match function {
        "invoices-api" => {
            let body = json!({"name": "Comercial Andes", "email": "pagos@andes.cl"}).to_string();
            let a = http(
                &api,
                api_request("POST", "/v1/clients", &s.stack.key, Some(body.as_bytes())),
            )
            .await;
            assert_eq!(a.status, 201, "{}", a.body);
            let client = a.json()["id"].as_str().unwrap().to_string();
            // A few invoices created (moto's writes slow down as its table grows), then
            // reads of them: the events a finance tool sends most.
            let creations = (events / 20).max(1);
            for i in 0..events {
                if i < creations {
                    let body = json!({"client_id": client, "currency": "CLP", "tax_rate": "19",
                        "issue_date": "2026-11-01", "due_date": "2026-11-15", "send": false,
                        "lines": [{"description": format!("Servicio {i}"), "quantity": 1, "unit_amount": "150000"}]})
                    .to_string();
                    let a = http(
                        &api,
                        api_request("POST", "/v1/invoices", &s.stack.key, Some(body.as_bytes())),
                    )
                    .await;
                    assert_eq!(a.status, 201, "{}", a.body);
                    let inv = a.json();
                    let token = inv["pay_url"]
                        .as_str()
                        .unwrap()
                        .rsplit('/')
                        .next()
                        .unwrap()
                        .to_string();
                    state.push((inv["id"].as_str().unwrap().to_string(), token));
                } else {
                    let path = format!("/v1/invoices/{}", state[i % state.len()].0);
                    let a = http(&api, api_request("GET", &path, &s.stack.key, None)).await;
                    assert_eq!(a.status, 200, "{}", a.body);
                }
            }
        }
        "console" => {
            // The page everyone meets first: the sign-in form (no session, no store read).
            for _ in 0..events {
                let a = http(
                    &api,
                    HttpEvent::new("GET", "/console/{proxy+}", "/console/sign-in").to_event(),
                )
                .await;
                assert_eq!(a.status, 200, "{}", a.body);
            }
        }
        "pay-portal" => {
            for i in 0..events {
                let path = format!("/pay/{}", state[i % state.len()].1);
                let a = http(
                    &api,
                    HttpEvent::new("GET", "/pay/{proxy+}", &path).to_event(),
                )
                .await;
                assert_eq!(a.status, 200, "{}", a.body);
            }
        }
        "payment-webhook" => {
            // Every event delivered twice (the second a duplicate); the first payment of an
            // invoice pays it, later ones become the client's credit.
            for i in 0..events {
                let (id, _) = &state[(i / 2) % state.len()];
                let body = json!({"id": format!("evt_bench_{}", i / 2), "object": "event",
                    "type": "payment_intent.succeeded", "created": chrono::Utc::now().timestamp(),
                    "data": {"object": {"id": format!("pi_bench_{}", i / 2), "amount": 178500,
                        "amount_received": 178500, "currency": "clp", "metadata": {"invoice_id": id}}}})
                .to_string();
                let sig = cobro_providers::stripe::sign(
                    body.as_bytes(),
                    SECRET,
                    chrono::Utc::now().timestamp(),
                );
                let mut e = HttpEvent::new("POST", "/webhooks/{provider}", "/webhooks/stripe");
                e.headers = vec![
                    ("content-type", "application/json".into()),
                    ("stripe-signature", sig),
                ];
                e.body = Some(body.as_bytes());
                let a = http(&api, e.to_event()).await;
                assert_eq!(a.status, 200, "{}", a.body);
            }
        }
        _ => {
            let event: Value = serde_json::from_str(SCHEDULED_EVENT).unwrap();
            for _ in 0..events {
                let report = api
                    .invoke(event.clone(), Duration::from_secs(300))
                    .await
                    .response();
                assert_eq!(report["failed"], 0, "{report}");
            }
        }
    }
    let rate = events as f64 / started.elapsed().as_secs_f64();
    let rss = f.peak_rss_kib().expect("VmHWM");
    assert!(
        api.init_error().is_none(),
        "{function}: see {}",
        log.display()
    );
    (rss, rate)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, endpoint, starts, events] = args.as_slice() else {
        eprintln!("usage: lambda-bench DIR ENDPOINT STARTS EVENTS");
        std::process::exit(2);
    };
    let starts: usize = starts.parse().expect("STARTS");
    let events: usize = events.parse().expect("EVENTS");
    let s = Setup {
        dir: Path::new(dir).to_path_buf(),
        stack: Stack::on_moto(endpoint, SECRET).await,
    };
    let mut rows = Vec::new();
    let mut state = Vec::new();
    for function in FUNCTIONS {
        let size = std::fs::metadata(s.bootstrap(function))
            .expect("bootstrap")
            .len();
        let mut cold = s.cold_starts(function, false, starts).await;
        let cold_max = cold.iter().cloned().fold(0.0, f64::max);
        let cold_median = median(&mut cold);
        let (mut ssm_median, mut ssm_max) = (None, None);
        if function == "payment-webhook" {
            let mut ssm = s.cold_starts(function, true, starts).await;
            ssm_max = Some(ssm.iter().cloned().fold(0.0, f64::max));
            ssm_median = Some(median(&mut ssm));
        }
        let (rss_kib, rate) = if events > 0 {
            let (rss, rate) = memory(&s, function, events, &mut state).await;
            (Some(rss), Some(rate))
        } else {
            (None, None)
        };
        rows.push(json!({
            "function": function, "bytes": size,
            "cold_start_ms_median": cold_median, "cold_start_ms_max": cold_max,
            "cold_start_ssm_ms_median": ssm_median, "cold_start_ssm_ms_max": ssm_max,
            "peak_rss_kib": rss_kib, "events": events, "events_per_s": rate,
        }));
    }
    println!("{}", json!({"starts": starts, "rows": rows}));
}
