//! The people of the console: users added by an owner (or `cobro users add`), one-time
//! sign-in links e-mailed through the Mailer, sessions opened, checked and ended.
//!
//! Asking for a link answers the same whatever the address: a user's, nobody's, or one
//! over its hourly limit. Tokens and session ids are 256 random bits, stored only as
//! their SHA-256 digest; the session's CSRF value is derived from its id
//! ([`cobro_domain::secret::csrf_for`]).

use cobro_domain::user::{NewUser, SIGN_IN_MINUTES, normalize_email};
use cobro_domain::{Action, Actor, Role, Secret, Session, SignInToken, User, UserId, secret};
use cobro_notify::SignInLink;
use cobro_store::StoreError;

use super::{Conflict, Error, Thing};
use crate::App;

/// Adds a user; 409 when the address already signs in.
pub async fn add_user(app: &App, by: &Actor, input: &NewUser) -> Result<User, Error> {
    let user = input
        .validate(UserId::generate(), app.now())
        .map_err(Error::Invalid)?;
    match app.store.create_user(&user).await {
        Ok(()) => {
            tracing::info!(user_id = %user.id, role = user.role.code(), "user added");
            let record = super::audit::record(by, Action::UserAdded, user.created_at);
            let what = format!("{} ({}, {})", user.name, user.id, user.role.code());
            super::audit::keep(app, record.map(|r| r.detail(what))).await;
            Ok(user)
        }
        Err(StoreError::AlreadyExists) => Err(Error::conflict(Conflict::UserExists(user.email))),
        Err(e) => Err(e.into()),
    }
}

pub async fn list_users(app: &App) -> Result<Vec<User>, Error> {
    Ok(app.store.list_users().await?)
}

/// Ends every session of user `id` (an owner's act, or the user's own "sign out
/// everywhere").
pub async fn end_sessions(app: &App, by: &User, id: &str) -> Result<User, Error> {
    let id = UserId::parse(id).ok_or(Error::NotFound(Thing::User))?;
    if !(by.role.can_manage() || by.id == id) {
        return Err(Error::Forbidden);
    }
    let mut user = app
        .store
        .user(&id)
        .await?
        .ok_or(Error::NotFound(Thing::User))?;
    user.sessions_from = Some(app.now());
    app.store.update_user(&user).await?;
    tracing::info!(user_id = %user.id, by = %by.id, "sessions ended");
    let record = super::audit::record(&super::audit::user(by), Action::SessionsEnded, app.now());
    let what = format!("{} ({})", user.name, user.id);
    super::audit::keep(app, record.map(|r| r.detail(what))).await;
    Ok(user)
}

/// What an owner changes about a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChange {
    Role(Role),
    /// Takes their access away: their sessions end and no link signs them in.
    Disable,
    /// Gives it back.
    Enable,
}

/// Changes user `id`'s role or access (an owner's act). The business keeps at least one
/// owner who can sign in: the last one cannot be made something else or disabled (409).
pub async fn change_user(
    app: &App,
    by: &User,
    id: &str,
    change: UserChange,
) -> Result<User, Error> {
    if !by.role.can_manage() {
        return Err(Error::Forbidden);
    }
    let id = UserId::parse(id).ok_or(Error::NotFound(Thing::User))?;
    let mut user = app
        .store
        .user(&id)
        .await?
        .ok_or(Error::NotFound(Thing::User))?;
    let now = app.now();
    let before = user.clone();
    let action = match change {
        UserChange::Role(role) => {
            user.role = role;
            Action::UserRoleChanged
        }
        UserChange::Disable => {
            user.disabled_at = before.disabled_at.or(Some(now));
            user.sessions_from = Some(now);
            Action::UserDisabled
        }
        UserChange::Enable => {
            user.disabled_at = None;
            Action::UserEnabled
        }
    };
    if user.is_active() == before.is_active() && user.role == before.role {
        return Ok(user);
    }
    let was_active_owner = before.is_active() && before.role == Role::Owner;
    let still_active_owner = user.is_active() && user.role == Role::Owner;
    if was_active_owner && !still_active_owner {
        let owners = app
            .store
            .list_users()
            .await?
            .into_iter()
            .filter(|u| u.is_active() && u.role == Role::Owner)
            .count();
        if owners <= 1 {
            return Err(Error::conflict(Conflict::LastOwner));
        }
    }
    app.store.update_user(&user).await?;
    tracing::info!(user_id = %user.id, by = %by.id, action = action.as_str(), "user changed");
    let record = super::audit::record(&super::audit::user(by), action, now);
    let detail = match change {
        UserChange::Role(role) => format!(
            "{} ({}): {} → {}",
            user.name,
            user.id,
            before.role.code(),
            role.code()
        ),
        _ => format!("{} ({})", user.name, user.id),
    };
    super::audit::keep(app, record.map(|r| r.detail(detail))).await;
    Ok(user)
}

/// A sign-in link for `user`, stored (hashed) and not sent: `serve --demo` prints one.
pub async fn link_for(app: &App, user: &User) -> Result<String, Error> {
    let token = secret::new_session_token();
    app.store
        .put_sign_in_token(&SignInToken::new(
            token.digest(),
            user.id.clone(),
            app.now(),
        ))
        .await?;
    Ok(format!(
        "{}/console/auth/{}",
        app.config.public_url,
        token.expose()
    ))
}

/// "Send me a link": e-mails a one-time link when `email` is a user's and the address has
/// not had five in the last hour. The caller answers the same in every case.
pub async fn request_link(app: &App, email: &str) -> Result<(), Error> {
    let address = normalize_email(email);
    if address.is_empty() || address.len() > 254 || !address.contains('@') {
        return Ok(());
    }
    let now = app.now();
    if !app
        .store
        .count_sign_in_link(&secret::digest(&address), now)
        .await?
    {
        tracing::info!("sign-in link not sent: the address's hourly limit");
        return Ok(());
    }
    let Some(user) = app
        .store
        .user_by_email(&address)
        .await?
        .filter(User::is_active)
    else {
        return Ok(());
    };
    // From here on only a user's address goes: a failure is logged, never answered (the
    // answer must not tell a user's address from another).
    let link = match link_for(app, &user).await {
        Ok(link) => link,
        Err(e) => {
            tracing::error!(user_id = %user.id, error = %e, "sign-in link not stored");
            return Ok(());
        }
    };
    let message = SignInLink {
        locale: user.locale,
        business: app.config.business_name.clone(),
        name: user.name.clone(),
        link,
        minutes: SIGN_IN_MINUTES,
    };
    let key = format!("{}.sign-in.{}", user.id, now.timestamp_micros());
    let sent = match message.email(&app.config.from_email, &user.email, &key) {
        Ok(email) => app.mailer.send(&email).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(s) => tracing::info!(user_id = %user.id, message_id = %s.id, "sign-in link sent"),
        // The error's own words (never the address: `MailError` does not print it).
        Err(e) => tracing::error!(user_id = %user.id, error = %e, "sign-in link not sent"),
    }
    Ok(())
}

/// Opens a session from a sign-in link's token: the user and the session's secret (the
/// cookie's value), or `None` for a token that is unknown, expired or used.
pub async fn redeem(app: &App, token: &str) -> Result<Option<(User, Secret)>, Error> {
    if !secret::looks_like_session_token(token) {
        return Ok(None);
    }
    let now = app.now();
    let Some(used) = app
        .store
        .use_sign_in_token(&secret::digest(token), now)
        .await?
    else {
        return Ok(None);
    };
    let Some(user) = app.store.user(&used.user_id).await?.filter(User::is_active) else {
        return Ok(None);
    };
    // A link sent before an owner ended the user's sessions ends with them.
    if user
        .sessions_from
        .is_some_and(|from| used.created_at < from)
    {
        return Ok(None);
    }
    let id = secret::new_session_token();
    app.store
        .put_session(&Session::new(id.digest(), user.id.clone(), now))
        .await?;
    tracing::info!(user_id = %user.id, "signed in");
    Ok(Some((user, id)))
}

/// The user a session cookie's value signs in, while the session lives.
pub async fn signed_in(app: &App, session_secret: &str) -> Result<Option<User>, Error> {
    if !secret::looks_like_session_token(session_secret) {
        return Ok(None);
    }
    let digest = secret::digest(session_secret);
    let Some(session) = app.store.session(&digest).await? else {
        return Ok(None);
    };
    let Some(user) = app.store.user(&session.user_id).await? else {
        return Ok(None);
    };
    let now = app.now();
    if !session.is_live(&user, now) {
        return Ok(None);
    }
    if session.needs_touch(now) {
        app.store.touch_session(&digest, now).await?;
    }
    Ok(Some(user))
}

/// Ends the session (sign-out).
pub async fn sign_out(app: &App, session_secret: &str) -> Result<(), Error> {
    if secret::looks_like_session_token(session_secret) {
        app.store
            .delete_session(&secret::digest(session_secret))
            .await?;
    }
    Ok(())
}
