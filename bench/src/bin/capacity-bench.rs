//! DynamoDB capacity units and SES messages of an invoice's life (issue 9, item 5), on the
//! production configuration (DynamoDB and SES, here moto's server), priced on demand.
//!
//! `capacity-bench ENDPOINT N`: N invoices (each its own client) live their life through
//! the real code: created over the business API with an idempotency key and sent, three
//! reminder sweeps at the times their agenda names, a Stripe payment delivered to the
//! webhook (which records it and sends the receipt). Every AWS call goes through a metering
//! proxy in front of the server, which charges each DynamoDB request by AWS's published
//! rules from the items it actually touched (moto's own `ConsumedCapacity` is not
//! faithful), read back from the server before and after the call:
//!
//! - reads: item size rounded up to 4 KB per item (GetItem, BatchGetItem), or the summed
//!   size of every item a Query evaluated (before projections and filters) rounded up once;
//!   half for eventually consistent reads; transactional reads twice;
//! - writes: the larger of the item before and after, rounded up to 1 KB, at least 1
//!   (a failed conditional write too); transactional writes and condition checks twice;
//! - each global secondary index the write changes: its entry before and after (an entry
//!   whose key changed is a delete plus a put);
//! - item size: attribute names plus values (strings and binary by length, numbers by
//!   significant digits / 2 + 1, lists and maps 3 bytes plus 1 per element).
//!
//! Prints one JSON line per step with the units, the calls and the messages, for N
//! invoices and per invoice, plus the cost per 1,000 invoices at the on-demand prices below.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use cobro_app::App;
use cobro_e2e::stack::Stack;
use cobro_store::{DynamoStore, Store};
use serde_json::{Value, json};

/// On-demand prices, us-east-1, Standard table class (since the November 2024 reduction):
/// US$ per million write and read request units; SES outbound, US$ per 1,000 messages.
const WRITE_PRICE_PER_MILLION: f64 = 0.625;
const READ_PRICE_PER_MILLION: f64 = 0.125;
const SES_PRICE_PER_THOUSAND: f64 = 0.10;
const SECRET: &str = "whsec_capacity_bench";

// ---- item sizes -------------------------------------------------------------------------

/// Bytes of a number: one per two significant digits, plus one.
fn number_size(n: &str) -> usize {
    let mantissa = n.split(['e', 'E']).next().unwrap_or(n);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    significant.len().div_ceil(2) + 1
}

/// Bytes of one attribute value in DynamoDB's JSON wire format.
fn value_size(v: &Value) -> usize {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    let b64 = |s: &Value| s.as_str().map_or(0, |s| s.len() / 4 * 3);
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, str::len),
        "N" => inner.as_str().map_or(0, number_size),
        "B" => b64(inner),
        "BOOL" | "NULL" => 1,
        "SS" => inner
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_str().map_or(0, str::len))
            .sum(),
        "NS" => inner
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_str().map_or(0, number_size))
            .sum(),
        "BS" => inner.as_array().into_iter().flatten().map(b64).sum(),
        "L" => {
            3 + inner
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| 1 + value_size(e))
                .sum::<usize>()
        }
        "M" => {
            3 + inner
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, e)| 1 + k.len() + value_size(e))
                .sum::<usize>()
        }
        _ => 0,
    }
}

fn item_size(item: Option<&Value>) -> usize {
    item.and_then(Value::as_object)
        .map_or(0, |o| o.iter().map(|(k, v)| k.len() + value_size(v)).sum())
}

fn units(bytes: usize, unit: usize) -> f64 {
    bytes.div_ceil(unit).max(1) as f64
}

// ---- the table's shape --------------------------------------------------------------------

#[derive(Clone, Default)]
struct Shape {
    keys: Vec<String>,
    /// Each global secondary index: its key attributes.
    indexes: Vec<Vec<String>>,
}

impl Shape {
    fn key_of(&self, item: &Value) -> Value {
        Value::Object(
            self.keys
                .iter()
                .filter_map(|k| Some((k.clone(), item.get(k)?.clone())))
                .collect(),
        )
    }
}

fn in_index<'v>(image: Option<&'v Value>, keys: &[String]) -> Option<&'v Value> {
    image.filter(|i| keys.iter().all(|k| i.get(k).is_some()))
}

// ---- the meter -------------------------------------------------------------------------

#[derive(Clone, Copy, Default, Debug)]
struct Tally {
    read_units: f64,
    write_units: f64,
    index_write_units: f64,
    calls: u64,
    emails: u64,
}

impl Tally {
    fn minus(self, o: Tally) -> Tally {
        Tally {
            read_units: self.read_units - o.read_units,
            write_units: self.write_units - o.write_units,
            index_write_units: self.index_write_units - o.index_write_units,
            calls: self.calls - o.calls,
            emails: self.emails - o.emails,
        }
    }
}

/// One item a write request touches, as it was before the request.
struct Written {
    table: String,
    shape: Shape,
    key: Value,
    before: Option<Value>,
    /// The item a Put offers (charged even when the write is refused).
    offered: Option<Value>,
}

#[derive(Clone)]
struct Meter {
    upstream: String,
    http: reqwest::Client,
    shapes: Arc<Mutex<HashMap<String, Shape>>>,
    tally: Arc<Mutex<Tally>>,
}

impl Meter {
    async fn dynamo(&self, op: &str, body: &Value) -> Value {
        let res = self
            .http
            .post(&self.upstream)
            .header("x-amz-target", format!("DynamoDB_20120810.{op}"))
            .header("content-type", "application/x-amz-json-1.0")
            .header("authorization", "AWS4-HMAC-SHA256 Credential=test/20261123/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
            .body(body.to_string())
            .send()
            .await
            .expect("upstream");
        res.json().await.expect("upstream json")
    }

    async fn shape(&self, table: &str) -> Shape {
        if let Some(s) = self.shapes.lock().expect("shapes").get(table) {
            return s.clone();
        }
        let d = self
            .dynamo("DescribeTable", &json!({"TableName": table}))
            .await;
        let names = |ks: &Value| -> Vec<String> {
            ks.as_array()
                .into_iter()
                .flatten()
                .filter_map(|k| k["AttributeName"].as_str().map(str::to_string))
                .collect()
        };
        let shape = Shape {
            keys: names(&d["Table"]["KeySchema"]),
            indexes: d["Table"]["GlobalSecondaryIndexes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| names(&i["KeySchema"]))
                .collect(),
        };
        self.shapes
            .lock()
            .expect("shapes")
            .insert(table.to_string(), shape.clone());
        shape
    }

    /// The whole item at `key`, strongly consistent, unmetered.
    async fn item(&self, table: &str, key: &Value) -> Option<Value> {
        let r = self
            .dynamo(
                "GetItem",
                &json!({"TableName": table, "Key": key, "ConsistentRead": true}),
            )
            .await;
        r.get("Item").cloned()
    }

    /// Write units of one item written (table and indexes), from its images.
    fn write_units(shape: &Shape, before: Option<&Value>, after: Option<&Value>) -> (f64, f64) {
        let table = units(item_size(before).max(item_size(after)), 1024);
        let mut index = 0.0;
        for keys in &shape.indexes {
            // Every index projects ALL: an entry is the whole item, when it has the keys.
            let key = |i: &Value| keys.iter().map(|k| i[k].clone()).collect::<Vec<_>>();
            index += match (in_index(before, keys), in_index(after, keys)) {
                (None, None) => 0.0,
                (Some(b), None) => units(item_size(Some(b)), 1024),
                (None, Some(a)) => units(item_size(Some(a)), 1024),
                (Some(b), Some(a)) if b == a => 0.0,
                (Some(b), Some(a)) if key(b) == key(a) => units(item_size(Some(a)), 1024),
                (Some(b), Some(a)) => {
                    units(item_size(Some(b)), 1024) + units(item_size(Some(a)), 1024)
                }
            };
        }
        (table, index)
    }

    /// Forwards one request, charging it.
    async fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let op = target.strip_prefix("DynamoDB_20120810.").unwrap_or("");
        let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        // Images before the call, for the writes.
        let mut befores: Vec<Written> = Vec::new();
        let mut checks = 0.0;
        let writes: Vec<(String, Value)> = match op {
            "PutItem" | "UpdateItem" | "DeleteItem" => {
                vec![(op.to_string(), req.clone())]
            }
            "TransactWriteItems" => req["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    t.as_object()?
                        .iter()
                        .next()
                        .map(|(k, v)| (k.clone(), v.clone()))
                })
                .collect(),
            "BatchWriteItem" => req["RequestItems"]
                .as_object()
                .into_iter()
                .flatten()
                .flat_map(|(table, reqs)| {
                    reqs.as_array().into_iter().flatten().filter_map(move |r| {
                        let (k, v) = r.as_object()?.iter().next()?;
                        let mut v = v.clone();
                        v["TableName"] = json!(table);
                        Some((
                            if k == "PutRequest" { "Put" } else { "Delete" }.to_string(),
                            v,
                        ))
                    })
                })
                .collect(),
            _ => vec![],
        };
        for (kind, w) in &writes {
            let table = w["TableName"].as_str().unwrap_or_default().to_string();
            let shape = self.shape(&table).await;
            let key = match w.get("Key") {
                Some(k) => k.clone(),
                None => shape.key_of(&w["Item"]),
            };
            let before = self.item(&table, &key).await;
            if kind == "ConditionCheck" {
                checks += units(item_size(before.as_ref()), 1024);
                continue;
            }
            befores.push(Written {
                table,
                shape,
                key,
                before,
                offered: w.get("Item").cloned(),
            });
        }
        let res = self
            .http
            .request(
                method,
                format!("{}{}", self.upstream.trim_end_matches('/'), uri),
            )
            .headers(headers)
            .body(body.clone())
            .send()
            .await
            .expect("upstream");
        let status = res.status();
        let res_headers = res.headers().clone();
        let res_body = res.bytes().await.expect("upstream body");

        let (mut read, mut write, mut index) = (0.0, 0.0, 0.0);
        let factor = if op.starts_with("Transact") { 2.0 } else { 1.0 };
        let failed = !status.is_success();
        for Written {
            table,
            shape,
            key,
            before,
            offered,
        } in &befores
        {
            // A refused write is still charged, on the larger of the item stored and the
            // one a Put offered.
            let after = if failed {
                offered.clone().or_else(|| before.clone())
            } else {
                self.item(table, key).await
            };
            let (w, i) = Meter::write_units(shape, before.as_ref(), after.as_ref());
            write += w * factor;
            if !failed {
                index += i * factor;
            }
        }
        write += checks * factor;
        let consistent = |r: &Value| r["ConsistentRead"].as_bool().unwrap_or(false);
        let read_factor = |r: &Value| if consistent(r) { 1.0 } else { 0.5 };
        match op {
            "GetItem" => {
                let table = req["TableName"].as_str().unwrap_or_default();
                let full = self.item(table, &req["Key"]).await;
                read += units(item_size(full.as_ref()), 4096) * read_factor(&req);
            }
            "BatchGetItem" => {
                for (table, r) in req["RequestItems"].as_object().into_iter().flatten() {
                    for key in r["Keys"].as_array().into_iter().flatten() {
                        let full = self.item(table, key).await;
                        read += units(item_size(full.as_ref()), 4096) * read_factor(r);
                    }
                }
            }
            "TransactGetItems" => {
                for t in req["TransactItems"].as_array().into_iter().flatten() {
                    let g = &t["Get"];
                    let full = self
                        .item(g["TableName"].as_str().unwrap_or_default(), &g["Key"])
                        .await;
                    read += 2.0 * units(item_size(full.as_ref()), 4096);
                }
            }
            "Query" | "Scan" => {
                // What the request evaluated: the same request without projection or filter.
                let mut full = req.clone();
                let o = full.as_object_mut().expect("query");
                for k in [
                    "ProjectionExpression",
                    "FilterExpression",
                    "Select",
                    "AttributesToGet",
                ] {
                    o.remove(k);
                }
                let used = req["KeyConditionExpression"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                for names in ["ExpressionAttributeNames", "ExpressionAttributeValues"] {
                    if let Some(m) = o.get_mut(names).and_then(Value::as_object_mut) {
                        m.retain(|k, _| used.contains(k.as_str()));
                        if m.is_empty() {
                            o.remove(names);
                        }
                    }
                }
                let r = self.dynamo(op, &full).await;
                let total: usize = r["Items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|i| item_size(Some(i)))
                    .sum();
                read += units(total, 4096) * read_factor(&req);
            }
            _ => {}
        }
        {
            let mut t = self.tally.lock().expect("tally");
            t.read_units += read;
            t.write_units += write;
            t.index_write_units += index;
            t.calls += 1;
            if op.is_empty() && uri.path().starts_with("/v2/email/outbound-emails") && !failed {
                t.emails += 1;
            }
        }
        let mut out = Response::builder().status(status.as_u16());
        for (k, v) in &res_headers {
            if k != "content-length" && k != "transfer-encoding" {
                out = out.header(k, v);
            }
        }
        out.body(axum::body::Body::from(res_body))
            .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
    }
}

async fn proxy(
    State(meter): State<Meter>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    meter.handle(method, uri, headers, body).await
}

// ---- the life --------------------------------------------------------------------------

struct Life {
    base: String,
    key: String,
    http: reqwest::Client,
    now: Arc<std::sync::atomic::AtomicI64>,
}

impl Life {
    fn set_now(&self, at: DateTime<Utc>) {
        self.now
            .store(at.timestamp_millis(), std::sync::atomic::Ordering::SeqCst);
    }

    async fn post(&self, path: &str, body: &Value, idem: &str) -> Value {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", idem)
            .json(body)
            .send()
            .await
            .expect("post");
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(endpoint), Some(n)) = (
        args.get(1),
        args.get(2).and_then(|a| a.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: capacity-bench ENDPOINT N");
        std::process::exit(2);
    };
    let stack = Stack::on_moto(endpoint, SECRET).await;
    let meter = Meter {
        upstream: endpoint.trim_end_matches('/').to_string() + "/",
        http: reqwest::Client::new(),
        shapes: Default::default(),
        tally: Default::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let proxy_url = format!("http://{}", listener.local_addr().expect("addr"));
    let router = axum::Router::new()
        .fallback(proxy)
        .with_state(meter.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    // The functions' configuration, with every AWS call through the meter.
    let env: Vec<(&str, String)> = stack
        .env
        .iter()
        .map(|(k, v)| match *k {
            "AWS_ENDPOINT_URL" => (*k, proxy_url.clone()),
            _ => (*k, v.clone()),
        })
        .chain([
            ("COBRO_STRIPE_WEBHOOK_SECRETS", SECRET.to_string()),
            ("COBRO_MAILER", "ses".to_string()),
            // An invoice's life, not the business's Monday summary (whose day would
            // depend on the day the bench runs).
            ("COBRO_WEEKLY_SUMMARY", "off".to_string()),
        ])
        .collect();
    let lookup = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    let sdk = cobro_store::testing::sdk_config(&proxy_url).await;
    let now = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let clock = now.clone();
    let app = App::load(lookup, Some(sdk))
        .await
        .expect("app")
        .with_clock(Arc::new(move || {
            match clock.load(std::sync::atomic::Ordering::SeqCst) {
                0 => Utc::now(),
                ms => DateTime::from_timestamp_millis(ms).expect("ms"),
            }
        }));
    let router = cobro_app::http::finish(
        cobro_app::http::invoices_api(app.clone())
            .merge(cobro_app::http::payment_webhook(app.clone())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let life = Life {
        base,
        key: stack.key.clone(),
        http: reqwest::Client::new(),
        now,
    };
    // An unmetered view of the table, to find the agenda's times.
    let direct = DynamoStore::from_sdk(
        &cobro_store::testing::sdk_config(endpoint).await,
        lookup("COBRO_TABLE").expect("table"),
    );

    let snapshot = || *meter.tally.lock().expect("tally");
    let mut steps: Vec<(String, Tally, usize)> = Vec::new();
    let start = Utc::now();
    life.set_now(start);

    let mark = snapshot();
    let mut clients = Vec::new();
    for i in 0..n {
        let c = life
            .post(
                "/v1/clients",
                &json!({"name": format!("Cliente {i}"), "email": format!("pagos{i}@cliente.cl"), "tax_id": null}),
                &format!("client-{i}"),
            )
            .await;
        clients.push(c["id"].as_str().expect("client id").to_string());
    }
    steps.push((
        "a client (once per client)".into(),
        snapshot().minus(mark),
        n,
    ));

    let mark = snapshot();
    let due = (start + Duration::days(30)).date_naive();
    let mut invoices = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let inv = life
            .post(
                "/v1/invoices",
                &json!({"client_id": c, "currency": "CLP", "due_date": due, "send": true,
                        "lines": [{"description": "Mantención mensual", "quantity": "1", "unit_amount": "178464"}]}),
                &format!("invoice-{i}"),
            )
            .await;
        invoices.push(inv);
    }
    steps.push((
        "created and sent (API, idempotency key)".into(),
        snapshot().minus(mark),
        n,
    ));

    for r in 1..=3 {
        let id =
            cobro_domain::InvoiceId::parse(invoices[0]["id"].as_str().expect("id")).expect("id");
        let at = direct
            .invoice(&id)
            .await
            .expect("read")
            .expect("invoice")
            .next_action_at
            .expect("an agenda time");
        life.set_now(at);
        let mark = snapshot();
        let report = cobro_app::usecases::sweep::sweep(&app, at, None)
            .await
            .expect("sweep");
        assert_eq!(report.reminders, n, "reminder {r}: {report:?}");
        steps.push((
            format!("reminder {r} (sweep at {})", at.format("%Y-%m-%d %H:%M")),
            snapshot().minus(mark),
            n,
        ));
    }

    // The Reports page (aging, DSO, trends, expected cash: one read of the receivables
    // index) and the aging alone, with every invoice open: per page view, not per invoice.
    let today = cobro_domain::today_in(app.config.business_timezone, app.now());
    let aging_ask = cobro_app::usecases::figures::AgingAsk {
        as_of: today,
        currency: None,
        client: None,
    };
    let dso_ask = cobro_app::usecases::figures::DsoAsk {
        as_of: today,
        currency: None,
        periods: cobro_app::usecases::figures::DSO_PERIODS.to_vec(),
    };
    let mark = snapshot();
    let page = cobro_app::usecases::figures::page_figures(&app, &aging_ask, &dso_ask)
        .await
        .expect("reports page");
    assert_eq!(page.aging.invoices_read, n as u64);
    let reports_page = snapshot().minus(mark);
    let mark = snapshot();
    cobro_app::usecases::figures::aging(&app, &aging_ask)
        .await
        .expect("aging");
    let aging_only = snapshot().minus(mark);
    for (what, t) in [("reports page", reports_page), ("aging", aging_only)] {
        println!(
            "{}",
            json!({"kind": "reports", "invoices": n, "what": what,
                   "read_units": t.read_units, "calls": t.calls,
                   "read_units_per_invoice": t.read_units / n as f64})
        );
    }

    let mark = snapshot();
    let t = app.now().timestamp();
    for (i, inv) in invoices.iter().enumerate() {
        let body = json!({"id": format!("evt_cap_{i}"), "object": "event", "type": "payment_intent.succeeded",
            "created": t, "data": {"object": {"id": format!("pi_cap_{i}"), "object": "payment_intent",
            "amount": 178464, "amount_received": 178464, "currency": "clp", "status": "succeeded",
            "metadata": {"invoice_id": inv["id"]}}}})
        .to_string();
        let res = life
            .http
            .post(format!("{}/webhooks/stripe", life.base))
            .header(
                "stripe-signature",
                cobro_providers::stripe::sign(body.as_bytes(), SECRET, t),
            )
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("webhook");
        let v: Value = res.json().await.expect("json");
        assert_eq!(v["outcome"], "applied", "{v}");
    }
    steps.push((
        "payment (Stripe webhook) and receipt".into(),
        snapshot().minus(mark),
        n,
    ));

    // What a scheduled sweep costs when nothing is due (once per run, not per invoice).
    let mark = snapshot();
    let idle = app.now() + Duration::days(365);
    cobro_app::usecases::sweep::sweep(&app, idle, None)
        .await
        .expect("sweep");
    let idle = snapshot().minus(mark);

    let mut life_total = Tally::default();
    for (name, t, per) in &steps {
        let per = *per as f64;
        if !name.starts_with("a client") {
            life_total.read_units += t.read_units;
            life_total.write_units += t.write_units;
            life_total.index_write_units += t.index_write_units;
            life_total.calls += t.calls;
            life_total.emails += t.emails;
        }
        println!(
            "{}",
            json!({"kind": "step", "invoices": n, "step": name,
                   "read_units": t.read_units / per, "write_units": t.write_units / per,
                   "index_write_units": t.index_write_units / per,
                   "calls": t.calls as f64 / per, "emails": t.emails as f64 / per})
        );
    }
    let per = n as f64;
    let (r, w) = (
        life_total.read_units / per,
        (life_total.write_units + life_total.index_write_units) / per,
    );
    let e = life_total.emails as f64 / per;
    println!(
        "{}",
        json!({"kind": "life", "invoices": n,
               "read_units": r, "write_units": w, "emails": e, "calls": life_total.calls as f64 / per,
               "dynamodb_usd_per_1000": 1000.0 * (r * READ_PRICE_PER_MILLION + w * WRITE_PRICE_PER_MILLION) / 1e6,
               "ses_usd_per_1000": 1000.0 * e * SES_PRICE_PER_THOUSAND / 1000.0,
               "idle_sweep_read_units": idle.read_units, "idle_sweep_write_units": idle.write_units,
               "prices": {"write_per_million": WRITE_PRICE_PER_MILLION, "read_per_million": READ_PRICE_PER_MILLION,
                          "ses_per_thousand": SES_PRICE_PER_THOUSAND}})
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked examples of AWS's "Item sizes and formats" page.
    #[test]
    fn sizes_follow_aws_rules() {
        assert_eq!(number_size("123"), 3);
        assert_eq!(number_size("1000"), 2);
        assert_eq!(number_size("0.0012"), 2);
        let item = json!({"pk": {"S": "abc"}, "n": {"N": "42"}, "b": {"BOOL": true},
                          "l": {"L": [{"S": "x"}, {"NULL": true}]}, "m": {"M": {"k": {"S": "vv"}}}});
        // pk 2+3, n 1+2, b 1+1, l 1+(3+(1+1)+(1+1)), m 1+(3+1+1+2)
        assert_eq!(item_size(Some(&item)), 5 + 3 + 2 + 8 + 8);
        assert_eq!(units(0, 1024), 1.0);
        assert_eq!(units(1025, 1024), 2.0);
        assert_eq!(units(4096, 4096), 1.0);
    }
}
