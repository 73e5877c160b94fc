//! `Idempotency-Key` on POSTs: a retry gets the first response and creates nothing new;
//! the same key with a different request is a 422. Keys are scoped to the API key that
//! sent them and remembered for 24 hours, in the same atomic write as the effect.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use cobro_store::{IdempotencyRecord, StoredInvoice};
use sha2::{Digest, Sha256};

use super::auth::Caller;
use super::json;
use super::problem::Problem;
use super::views::{InvoiceView, to_json};
use crate::App;

pub const HEADER: &str = "idempotency-key";
pub const TTL_HOURS: i64 = 24;

/// The key of one request, and the fingerprint of what it asked.
#[derive(Debug, Clone)]
pub struct Key {
    scoped: String,
    fingerprint: String,
}

/// The header as the API's description shows it, on every POST that takes one.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // only described: the `Idempotent` extractor reads the header
pub struct IdempotencyKeyHeader {
    /// 1 to 255 visible ASCII characters: a retry with the same key and body gets the first
    /// answer and creates nothing; the same key with another body is a 422.
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}

/// Reads the header; `None` without one. A malformed key is a 400.
pub fn key(
    caller: &Caller,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Option<Key>, Problem> {
    let Some(raw) = headers.get(HEADER) else {
        return Ok(None);
    };
    let value = raw.to_str().unwrap_or_default();
    if value.is_empty() || value.len() > 255 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Problem::malformed(
            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
        ));
    }
    let mut h = Sha256::new();
    for part in [method.as_bytes(), b"\n", path.as_bytes(), b"\n", body] {
        h.update(part);
    }
    Ok(Some(Key {
        scoped: format!("{}:{}", caller.key_id, value),
        fingerprint: hex::encode(h.finalize()),
    }))
}

impl Key {
    /// The record to write with the effect.
    pub fn record(
        &self,
        status: StatusCode,
        body: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> IdempotencyRecord {
        IdempotencyRecord {
            key: self.scoped.clone(),
            fingerprint: self.fingerprint.clone(),
            status: status.as_u16(),
            body: body.to_string(),
            created_at: now,
            expires_at: cobro_domain::calendar::later(now, Duration::hours(TTL_HOURS)),
        }
    }

    /// The remembered response for this key, if there is one.
    pub async fn replay(&self, app: &App) -> Result<Option<Response>, Problem> {
        let Some(rec) = app
            .store
            .idempotency_record(&self.scoped, app.now())
            .await?
        else {
            return Ok(None);
        };
        if rec.fingerprint != self.fingerprint {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency key reused",
                "This Idempotency-Key was already used with a different request.",
            ));
        }
        let status = StatusCode::from_u16(rec.status).unwrap_or(StatusCode::OK);
        let mut res = (status, rec.body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        Ok(Some(res))
    }
}

/// The opening of every idempotent POST, as an extractor: the body (size-limited) and the
/// `Idempotency-Key` of the API key that sent it. A retry of a request already answered
/// never reaches the handler: the extractor answers it from the record of its first
/// response. Last among a handler's arguments (it reads the body).
pub struct Idempotent {
    pub body: axum::body::Bytes,
    pub headers: HeaderMap,
    pub key: Option<Key>,
    /// The API key that sent it, as the actor of what it does.
    pub by: cobro_domain::Actor,
}

impl FromRequest<App> for Idempotent {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Self, Response> {
        let path = req.uri().path().to_string();
        let caller = req.extensions().get::<Caller>().cloned();
        let (parts, body) = req.into_parts();
        let bytes =
            axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), app).await;
        let problem = |p: Problem| p.into_response();
        let caller = caller.ok_or_else(Problem::unauthorized).map_err(problem)?;
        let body = json::body(bytes).map_err(problem)?;
        let key = key(&caller, &parts.headers, "POST", &path, &body).map_err(problem)?;
        if let Some(k) = &key
            && let Some(replayed) = k.replay(app).await.map_err(problem)?
        {
            return Err(replayed);
        }
        Ok(Idempotent {
            body,
            headers: parts.headers,
            key,
            by: caller.by,
        })
    }
}

impl Idempotent {
    /// The body parsed as JSON (400 for bad JSON, 422 naming a bad field).
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, Problem> {
        json::parse(&self.headers, &self.body)
    }

    /// The record of an answer `body` with `status`, to write with the effect.
    pub fn record(
        &self,
        status: StatusCode,
        body: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Option<IdempotencyRecord> {
        Some(self.key.as_ref()?.record(status, body, now))
    }

    /// The record of an answer that shows the invoice as the write leaves it.
    pub fn invoice_record(
        &self,
        status: StatusCode,
        after: &StoredInvoice,
        now: DateTime<Utc>,
    ) -> Option<IdempotencyRecord> {
        let key = self.key.as_ref()?;
        let view = to_json(&InvoiceView::full(after, now).ok()?).ok()?;
        Some(key.record(status, &view, now))
    }

    /// The answer to a use case's failure: a lost race for the key is answered with what
    /// the winner answered; anything else as a problem.
    pub async fn failed(&self, app: &App, e: crate::usecases::Error) -> Response {
        if e.is_idempotency_race() {
            return match replay_after_race(app, self.key.as_ref()).await {
                Ok(r) => r,
                Err(p) => p.into_response(),
            };
        }
        Problem::from(e).into_response()
    }
}

/// After the store refused our write because a concurrent request with the same key won:
/// answer what that request answered.
pub async fn replay_after_race(app: &App, key: Option<&Key>) -> Result<Response, Problem> {
    let Some(k) = key else {
        return Err(Problem::internal(&"idempotency conflict without a key"));
    };
    k.replay(app)
        .await?
        .ok_or_else(|| Problem::internal(&"idempotency record vanished after a conflict"))
}
