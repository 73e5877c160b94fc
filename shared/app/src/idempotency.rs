//! `Idempotency-Key` on POSTs: a retry gets the first response and creates nothing new;
//! the same key with a different request is a 422. Keys are scoped to the API key that
//! sent them and remembered for 24 hours, in the same atomic write as the effect.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use cobro_store::IdempotencyRecord;
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::{App, Problem, json};

pub const HEADER: &str = "idempotency-key";
pub const TTL_HOURS: i64 = 24;

/// The key of one request, and the fingerprint of what it asked.
#[derive(Debug, Clone)]
pub struct Key {
    scoped: String,
    fingerprint: String,
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
            expires_at: now + Duration::hours(TTL_HOURS),
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

/// How an idempotent POST begins.
pub enum Start {
    /// A retry of a request already answered: send this again.
    Replay(Response),
    /// A new request: its body, and the key to record with its effect (if one was sent).
    Fresh {
        body: axum::body::Bytes,
        key: Option<Key>,
    },
}

/// Reads the body (size-limited) and the `Idempotency-Key`, and answers a retry from the
/// record of its first response.
pub async fn start(
    app: &App,
    caller: &Caller,
    headers: &HeaderMap,
    path: &str,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Start, Problem> {
    let body = json::body(body)?;
    let key = key(caller, headers, "POST", path, &body)?;
    if let Some(k) = &key
        && let Some(replayed) = k.replay(app).await?
    {
        return Ok(Start::Replay(replayed));
    }
    Ok(Start::Fresh { body, key })
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
