//! A Lambda Runtime API emulator: the HTTP interface a `bootstrap` talks to inside Lambda
//! (`GET /2018-06-01/runtime/invocation/next`, `POST …/{id}/response`, `POST …/{id}/error`,
//! `POST /2018-06-01/runtime/init/error`), served on loopback so a packaged function can be
//! started as Lambda starts it (`AWS_LAMBDA_RUNTIME_API=host:port`) and fed events.
//!
//! Used by the deployment test (every packaged function handles recorded event shapes)
//! and by the cold-start benchmark (exec to the first `next` request, peak RSS).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// What the function answered to one invocation.
#[derive(Debug)]
pub enum Outcome {
    /// The handler's result (`…/response`), as JSON.
    Response(Value),
    /// The handler failed (`…/error`): the runtime's error document.
    Error(Value),
}

impl Outcome {
    /// The response, or a panic with the error the function reported.
    pub fn response(self) -> Value {
        match self {
            Outcome::Response(v) => v,
            Outcome::Error(e) => panic!("the function reported an error: {e}"),
        }
    }
}

struct Shared {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_poll: Mutex<Option<Instant>>,
    init_error: Mutex<Option<Value>>,
}

/// The emulator, serving on a free loopback port until dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    events: mpsc::UnboundedSender<(String, Value)>,
    shared: Arc<Shared>,
    next_id: std::sync::atomic::AtomicU64,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A `bootstrap` started against the emulator; killed when dropped.
pub struct Function {
    pub child: tokio::process::Child,
    pub started: Instant,
}

impl Function {
    /// The process's peak resident set (VmHWM), in KiB, read from /proc.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let (events, queue) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(queue),
            pending: Mutex::new(HashMap::new()),
            first_poll: Mutex::new(None),
            init_error: Mutex::new(None),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(|s, id, body| answer(s, id, body, false)),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(|s, id, body| answer(s, id, body, true)),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        RuntimeApi {
            addr,
            events,
            shared,
            next_id: Default::default(),
            server,
        }
    }

    /// `AWS_LAMBDA_RUNTIME_API`'s value.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// When the function first asked for an event (its init done).
    pub fn first_poll(&self) -> Option<Instant> {
        *self.shared.first_poll.lock().unwrap()
    }

    /// What the function reported through `/runtime/init/error`, if it did.
    pub fn init_error(&self) -> Option<Value> {
        self.shared.init_error.lock().unwrap().clone()
    }

    /// Starts `bootstrap` as Lambda does: the runtime API's address and the function's
    /// identity in the environment, plus `env`. Its output goes to `log`.
    pub fn spawn(
        &self,
        bootstrap: &Path,
        name: &str,
        env: &[(&str, String)],
        log: &Path,
    ) -> Function {
        let out = std::fs::File::create(log).unwrap();
        let mut cmd = tokio::process::Command::new(bootstrap);
        cmd.env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", self.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/23/[$LATEST]emulator")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_REGION", "us-east-1")
            .env("TZ", ":UTC")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bootstrap.display()));
        Function { child, started }
    }

    /// Sends one event and waits (up to `timeout`) for the function's answer.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Outcome {
        let id = format!(
            "req-{:08}",
            self.next_id
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().unwrap().insert(id.clone(), tx);
        self.events.send((id.clone(), event)).unwrap();
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(outcome)) => outcome,
            _ => panic!(
                "no answer to {id} within {timeout:?} (init error: {:?})",
                self.init_error()
            ),
        }
    }
}

async fn next(State(s): State<Arc<Shared>>) -> Response {
    s.first_poll
        .lock()
        .unwrap()
        .get_or_insert_with(Instant::now);
    let Some((id, event)) = s.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 60_000;
    let mut headers = HeaderMap::new();
    let h = |v: &str| HeaderValue::from_str(v).unwrap();
    headers.insert("lambda-runtime-aws-request-id", h(&id));
    headers.insert("lambda-runtime-deadline-ms", h(&deadline.to_string()));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        h("arn:aws:lambda:us-east-1:123456789012:function:cobro"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        h("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
    );
    headers.insert("content-type", h("application/json"));
    (headers, event.to_string()).into_response()
}

async fn answer(
    State(s): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
    error: bool,
) -> StatusCode {
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let Some(tx) = s.pending.lock().unwrap().remove(&id) else {
        return StatusCode::BAD_REQUEST;
    };
    let _ = tx.send(if error {
        Outcome::Error(value)
    } else {
        Outcome::Response(value)
    });
    StatusCode::ACCEPTED
}

async fn init_error(State(s): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *s.init_error.lock().unwrap() = Some(
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
    );
    StatusCode::ACCEPTED
}

/// An API Gateway HTTP API request (payload format 2.0), as API Gateway sends it for a
/// route of the SAM template: `route` is the route key's path (`/v1/{proxy+}`), `path` the
/// request's, `body` sent base64-encoded when `base64` (API Gateway does so for form posts
/// and binary bodies).
pub struct HttpEvent<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: Vec<(&'a str, String)>,
    pub body: Option<&'a [u8]>,
    pub base64: bool,
    /// The request's cookies: format 2.0 carries them in `cookies`, not in a header.
    pub cookies: Vec<String>,
}

impl<'a> HttpEvent<'a> {
    /// A request without query, headers, body or cookies.
    pub fn new(method: &'a str, route: &'a str, path: &'a str) -> Self {
        HttpEvent {
            method,
            route,
            path,
            query: "",
            headers: Vec::new(),
            body: None,
            base64: false,
            cookies: Vec::new(),
        }
    }
}

impl HttpEvent<'_> {
    pub fn to_event(&self) -> Value {
        use base64::Engine;
        let mut event: Value = serde_json::from_str(APIGW_V2_REQUEST).unwrap();
        let route_key = format!("{} {}", self.method_route(), self.route);
        event["routeKey"] = route_key.clone().into();
        event["rawPath"] = self.path.into();
        event["rawQueryString"] = self.query.into();
        let headers = event["headers"].as_object_mut().unwrap();
        for (k, v) in &self.headers {
            headers.insert(k.to_ascii_lowercase(), v.clone().into());
        }
        if let Some(body) = self.body {
            headers.insert("content-length".into(), body.len().to_string().into());
            event["body"] = if self.base64 {
                base64::engine::general_purpose::STANDARD.encode(body)
            } else {
                String::from_utf8(body.to_vec()).unwrap()
            }
            .into();
            event["isBase64Encoded"] = self.base64.into();
        }
        if !self.query.is_empty() {
            let mut params = serde_json::Map::new();
            for pair in self.query.split('&') {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                params.insert(k.into(), v.into());
            }
            event["queryStringParameters"] = params.into();
        }
        if !self.cookies.is_empty() {
            event["cookies"] = self.cookies.clone().into();
        }
        event["pathParameters"] = self.path_parameters().into();
        let ctx = &mut event["requestContext"];
        ctx["routeKey"] = route_key.into();
        ctx["http"]["method"] = self.method.into();
        ctx["http"]["path"] = self.path.into();
        event
    }

    fn method_route(&self) -> &str {
        if self.route.ends_with("{proxy+}") {
            "ANY"
        } else {
            self.method
        }
    }

    /// `{proxy+}` and `{provider}` as API Gateway fills them from the path.
    fn path_parameters(&self) -> serde_json::Map<String, Value> {
        let mut params = serde_json::Map::new();
        let route: Vec<&str> = self.route.split('/').collect();
        let path: Vec<&str> = self.path.split('/').collect();
        for (i, part) in route.iter().enumerate() {
            let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
                continue;
            };
            let value = match name.strip_suffix('+') {
                Some(_) => path.get(i..).map(|rest| rest.join("/")).unwrap_or_default(),
                None => path.get(i).map(|p| p.to_string()).unwrap_or_default(),
            };
            params.insert(name.trim_end_matches('+').into(), value.into());
        }
        params
    }
}

/// The payload API Gateway sends for an HTTP API request (format 2.0), as documented in
/// "Working with AWS Lambda proxy integrations for HTTP APIs", with the headers a browser or
/// provider request carries through CloudFront-less API Gateway. Method, paths, route,
/// query, headers and body are filled in per request.
pub const APIGW_V2_REQUEST: &str = r#"{
  "version": "2.0",
  "routeKey": "$default",
  "rawPath": "/",
  "rawQueryString": "",
  "headers": {
    "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
    "user-agent": "Mozilla/5.0 (X11; Linux x86_64)",
    "x-amzn-trace-id": "Root=1-6741f1a2-0f3c4d5e6a7b8c9d0e1f2a3b",
    "x-forwarded-for": "190.22.14.7",
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https",
    "accept-encoding": "gzip, deflate, br"
  },
  "requestContext": {
    "accountId": "123456789012",
    "apiId": "a1b2c3d4e5",
    "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
    "domainPrefix": "a1b2c3d4e5",
    "http": {
      "method": "GET",
      "path": "/",
      "protocol": "HTTP/1.1",
      "sourceIp": "190.22.14.7",
      "userAgent": "Mozilla/5.0 (X11; Linux x86_64)"
    },
    "requestId": "CpS8Lh3UIAMEbyA=",
    "routeKey": "$default",
    "stage": "$default",
    "time": "23/Nov/2026:12:00:00 +0000",
    "timeEpoch": 1795435200000
  },
  "isBase64Encoded": false
}"#;

/// The event EventBridge sends on a schedule ("Scheduled Event"), as documented.
pub const SCHEDULED_EVENT: &str = r#"{
  "version": "0",
  "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  "source": "aws.events",
  "account": "123456789012",
  "time": "2026-11-23T12:00:00Z",
  "region": "us-east-1",
  "resources": ["arn:aws:events:us-east-1:123456789012:rule/cobro-sweep"],
  "detail": {}
}"#;

/// An HTTP answer from a function behind API Gateway (the response payload, format 2.0).
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: serde_json::Map<String, Value>,
    pub body: String,
    /// The cookies set (format 2.0 returns them in `cookies`), as `name=value`.
    pub cookies: Vec<String>,
}

impl HttpAnswer {
    pub fn from_response(v: &Value) -> HttpAnswer {
        use base64::Engine;
        let body = v["body"].as_str().unwrap_or_default();
        let body = if v["isBase64Encoded"].as_bool() == Some(true) {
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .expect("base64 body"),
            )
            .expect("utf-8 body")
        } else {
            body.to_string()
        };
        HttpAnswer {
            status: v["statusCode"].as_u64().expect("statusCode") as u16,
            headers: v["headers"].as_object().cloned().unwrap_or_default(),
            body,
            cookies: v["cookies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|c| c.split(';').next().unwrap_or_default().to_string())
                .collect(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(Value::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}
