//! The people of the business who use the console, what each may do, and the rules of
//! signing in: one-time links e-mailed to them, and sessions that end.
//!
//! - A sign-in link is good for [`SIGN_IN_MINUTES`] and once; an address gets at most
//!   [`SIGN_IN_PER_HOUR`] links an hour, whether or not it is a user's.
//! - A session ends after [`SESSION_IDLE_HOURS`] without use, [`SESSION_MAX_DAYS`] after
//!   it began, at sign-out, or when an owner ends the user's sessions (every session begun
//!   before [`User::sessions_from`]).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::locale::Locale;
use crate::validation::{FieldErrors, required_text};

pub const SIGN_IN_MINUTES: i64 = 15;
pub const SIGN_IN_PER_HOUR: usize = 5;
pub const SESSION_IDLE_HOURS: i64 = 12;
pub const SESSION_MAX_DAYS: i64 = 7;
/// A session's last use is written at most this often (not on every page).
pub const SESSION_TOUCH_MINUTES: i64 = 5;

/// What a person may do in the console (and, later, what their API calls may do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, people and API keys included.
    Owner,
    /// Works the invoices and clients: payments, arrangements, pauses, voids.
    Collector,
    /// Reads only.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Collector, Role::Viewer];

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "owner" => Some(Role::Owner),
            "collector" => Some(Role::Collector),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Collector => "collector",
            Role::Viewer => "viewer",
        }
    }

    /// May change invoices and clients.
    pub fn can_act(self) -> bool {
        matches!(self, Role::Owner | Role::Collector)
    }

    /// May manage people, their sessions and API keys.
    pub fn can_manage(self) -> bool {
        self == Role::Owner
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// Lower case: the one address a person signs in with.
    pub email: String,
    pub name: String,
    pub role: Role,
    pub locale: Locale,
    pub created_at: DateTime<Utc>,
    /// Sessions begun before this moment are over (an owner ended them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_from: Option<DateTime<Utc>>,
    /// When an owner took their access away: no link is sent to them, none signs them in,
    /// and no session of theirs lives until an owner gives it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
}

impl User {
    /// May sign in (not disabled).
    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none()
    }
}

/// A person as an owner (or `cobro users add`) asks for them, before validation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: String,
    #[serde(default)]
    pub locale: Option<String>,
}

impl NewUser {
    pub fn validate(&self, id: UserId, now: DateTime<Utc>) -> Result<User, FieldErrors> {
        let mut errors = FieldErrors::new();
        let email = crate::validation::email(&mut errors, "email", &self.email).to_lowercase();
        let name = required_text(&mut errors, "name", &self.name, 200);
        let role = Role::parse(&self.role);
        if role.is_none() {
            errors.add("role", "must be owner, collector or viewer");
        }
        let locale = match self.locale.as_deref().map(str::trim) {
            None | Some("") => Some(Locale::default()),
            Some(l) => Locale::parse(l),
        };
        if locale.is_none() {
            errors.add("locale", "must be es or en");
        }
        let (Some(role), Some(locale)) = (role, locale) else {
            return Err(errors);
        };
        errors.finish(|| User {
            id,
            email,
            name,
            role,
            locale,
            created_at: now,
            sessions_from: None,
            disabled_at: None,
        })
    }
}

/// The form an address takes as a key: trimmed, lower case.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A one-time sign-in link, stored by the digest of its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInToken {
    pub digest: String,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<DateTime<Utc>>,
}

impl SignInToken {
    pub fn new(digest: String, user_id: UserId, now: DateTime<Utc>) -> Self {
        SignInToken {
            digest,
            user_id,
            created_at: now,
            expires_at: crate::calendar::later(now, Duration::minutes(SIGN_IN_MINUTES)),
            used_at: None,
        }
    }
}

/// A console session, stored by the digest of its id (the cookie's value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub digest: String,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

impl Session {
    pub fn new(digest: String, user_id: UserId, now: DateTime<Utc>) -> Self {
        Session {
            digest,
            user_id,
            created_at: now,
            last_seen_at: now,
        }
    }

    /// When it ends at the latest, whatever happens: kept that long, no longer.
    pub fn expires_at(&self) -> DateTime<Utc> {
        crate::calendar::later(self.created_at, Duration::days(SESSION_MAX_DAYS))
    }

    /// Whether it still opens the console for `user` at `now`.
    pub fn is_live(&self, user: &User, now: DateTime<Utc>) -> bool {
        let idle_until =
            crate::calendar::later(self.last_seen_at, Duration::hours(SESSION_IDLE_HOURS));
        self.user_id == user.id
            && user.is_active()
            && now < self.expires_at()
            && now < idle_until
            && user
                .sessions_from
                .is_none_or(|from| self.created_at >= from)
    }

    /// Whether its last use should be written now.
    pub fn needs_touch(&self, now: DateTime<Utc>) -> bool {
        now.signed_duration_since(self.last_seen_at) >= Duration::minutes(SESSION_TOUCH_MINUTES)
    }
}

/// Whether one more sign-in link may go to an address that was sent links at `recent`
/// (any order) within the hour before `now`.
pub fn may_send_link(recent: &[DateTime<Utc>], now: DateTime<Utc>) -> bool {
    let hour_ago = crate::calendar::later(now, Duration::hours(-1));
    recent
        .iter()
        .filter(|t| **t > hour_ago && **t <= now)
        .count()
        < SIGN_IN_PER_HOUR
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn user() -> User {
        NewUser {
            email: " Ana@Estudio.CL ".into(),
            name: "Ana Pérez".into(),
            role: "collector".into(),
            locale: None,
        }
        .validate(UserId::generate(), at("2026-12-01T12:00:00Z"))
        .unwrap()
    }

    #[test]
    fn a_user_is_validated_field_by_field() {
        let u = user();
        assert_eq!(u.email, "ana@estudio.cl");
        assert_eq!((u.role, u.locale), (Role::Collector, Locale::Es));
        let bad = NewUser {
            email: "ana".into(),
            name: " ".into(),
            role: "admin".into(),
            locale: Some("fr".into()),
        }
        .validate(UserId::generate(), at("2026-12-01T12:00:00Z"))
        .unwrap_err();
        let fields: Vec<_> = bad.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "name", "role", "locale"]);
    }

    #[test]
    fn roles_say_what_each_may_do() {
        assert!(Role::Owner.can_act() && Role::Owner.can_manage());
        assert!(Role::Collector.can_act() && !Role::Collector.can_manage());
        assert!(!Role::Viewer.can_act() && !Role::Viewer.can_manage());
        for r in Role::ALL {
            assert_eq!(Role::parse(r.code()), Some(r));
        }
    }

    #[test]
    fn sessions_end_idle_at_the_limit_or_when_ended() {
        let mut u = user();
        let start = at("2026-12-01T12:00:00Z");
        let mut s = Session::new("d".into(), u.id.clone(), start);
        assert!(s.is_live(&u, at("2026-12-01T23:59:59Z")));
        assert!(!s.is_live(&u, at("2026-12-02T00:00:00Z")), "12 h idle");
        // Used every 11 hours, it still ends 7 days after it began.
        let mut now = start;
        while now < at("2026-12-08T12:00:00Z") {
            assert!(s.is_live(&u, now), "{now}");
            s.last_seen_at = now;
            now += Duration::hours(11);
        }
        assert!(!s.is_live(&u, at("2026-12-08T12:00:00Z")));
        // An owner ends the user's sessions: every session begun before then.
        let s = Session::new("d".into(), u.id.clone(), start);
        u.sessions_from = Some(at("2026-12-01T13:00:00Z"));
        assert!(!s.is_live(&u, at("2026-12-01T13:00:01Z")));
        let later = Session::new("e".into(), u.id.clone(), at("2026-12-01T13:00:00Z"));
        assert!(later.is_live(&u, at("2026-12-01T13:00:01Z")));
        // Another user's session opens nothing for this one.
        let other = Session::new("f".into(), UserId::generate(), at("2026-12-01T13:30:00Z"));
        assert!(!other.is_live(&u, at("2026-12-01T13:30:01Z")));
        assert!(!s.needs_touch(at("2026-12-01T12:04:59Z")));
        assert!(s.needs_touch(at("2026-12-01T12:05:00Z")));
    }

    #[test]
    fn five_links_an_hour_per_address() {
        let now = at("2026-12-01T12:00:00Z");
        let times: Vec<_> = (0..5).map(|m| now - Duration::minutes(50 - m)).collect();
        assert!(may_send_link(&times[..4], now));
        assert!(!may_send_link(&times, now));
        // An hour later the first one no longer counts.
        assert!(may_send_link(&times, now + Duration::minutes(11)));
    }

    #[test]
    fn a_sign_in_link_lasts_fifteen_minutes() {
        let t = SignInToken::new("d".into(), UserId::generate(), at("2026-12-01T12:00:00Z"));
        assert_eq!(t.expires_at, at("2026-12-01T12:15:00Z"));
    }
}
