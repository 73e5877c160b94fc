//! API keys for the business's API: created (shown once), listed, revoked.

use cobro_domain::validation::required_text;
use cobro_domain::{Action, Actor, ApiKeyId, FieldErrors, Secret, secret};
use cobro_store::ApiKey;

use super::Error;
use crate::App;

/// Creates a key named `name`; returns its record and the key itself (shown once).
pub async fn create(app: &App, by: &Actor, name: &str) -> Result<(ApiKey, Secret), Error> {
    let mut errors = FieldErrors::new();
    let name = required_text(&mut errors, "name", name, 100);
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let secret = secret::new_api_key();
    let key = ApiKey {
        id: ApiKeyId::generate(),
        name,
        digest: secret.digest(),
        created_at: app.now(),
        revoked_at: None,
    };
    app.store.put_api_key(&key).await?;
    tracing::info!(api_key = %key.id, "API key created");
    let record = super::audit::record(by, Action::ApiKeyCreated, key.created_at);
    super::audit::keep(
        app,
        record.map(|r| r.detail(format!("{} ({})", key.name, key.id))),
    )
    .await;
    Ok((key, secret))
}

pub async fn list(app: &App) -> Result<Vec<ApiKey>, Error> {
    Ok(app.store.list_api_keys().await?)
}

/// Revokes a key by id; `false` when no such key exists.
pub async fn revoke(app: &App, by: &Actor, id: &str) -> Result<bool, Error> {
    let Some(id) = ApiKeyId::parse(id) else {
        return Ok(false);
    };
    let now = app.now();
    let revoked = app.store.revoke_api_key(&id, now).await?;
    if revoked {
        let record = super::audit::record(by, Action::ApiKeyRevoked, now);
        super::audit::keep(app, record.map(|r| r.detail(id.to_string()))).await;
    }
    Ok(revoked)
}
