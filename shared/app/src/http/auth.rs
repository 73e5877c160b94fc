//! Bearer API keys. A key is looked up by its SHA-256; a missing, unknown or revoked key
//! gets the same 401, so a caller learns nothing about which it was.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cobro_domain::{ApiKeyId, secret};

use super::problem::Problem;
use crate::App;

/// The authenticated caller, put in the request's extensions.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: ApiKeyId,
    /// The key as the actor of what it does (its name as it is now).
    pub by: cobro_domain::Actor,
}

fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty() && t.len() <= 200)
}

pub async fn require_api_key(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let Some(token) = bearer(&req) else {
        return Problem::unauthorized().into_response();
    };
    match app.store.api_key_by_digest(&secret::digest(token)).await {
        Ok(Some(key)) if key.revoked_at.is_none() => {
            tracing::debug!(api_key = %key.id, "authenticated");
            req.extensions_mut().insert(Caller {
                by: cobro_domain::Actor::ApiKey {
                    id: key.id.clone(),
                    name: key.name,
                },
                key_id: key.id,
            });
            next.run(req).await
        }
        Ok(_) => Problem::unauthorized().into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}
