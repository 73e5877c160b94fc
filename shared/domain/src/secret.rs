//! Bearer secrets: API keys and pay-link tokens. Both are random (>= 128 bits), shown once,
//! and stored only as their SHA-256 digest, so a copy of the table grants nothing.

use std::fmt;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::ids::random_bytes;

/// SHA-256 of a secret, hex-encoded: the only form in which secrets are stored.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A secret shown to a person once. Its Debug form is redacted so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> String {
        digest(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A new API key: `cobro_sk_` + 256 random bits (base64url).
pub fn new_api_key() -> Secret {
    let bytes = random_bytes::<32>();
    Secret(format!(
        "cobro_sk_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// A new pay-link token: 192 random bits, base64url (32 characters).
pub fn new_pay_token() -> Secret {
    let bytes = random_bytes::<24>();
    Secret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A new console session id or sign-in token: 256 random bits, base64url (43 characters).
pub fn new_session_token() -> Secret {
    let bytes = random_bytes::<32>();
    Secret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether a string could be a session id or sign-in token (cheap check before a lookup).
pub fn looks_like_session_token(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The CSRF value of a console session's forms: derived from the session's secret (which
/// only the browser's HttpOnly cookie and the server know), so it is stored nowhere and a
/// page of another origin cannot compute it.
pub fn csrf_for(session_secret: &str) -> String {
    digest(&format!("cobro-console-csrf:{session_secret}"))
}

/// Whether a string could be a pay token at all (cheap check before any lookup).
pub fn looks_like_pay_token(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_answer() {
        // FIPS 180-2 test vector.
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secrets_are_long_random_and_redacted() {
        let a = new_api_key();
        let b = new_api_key();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("cobro_sk_"));
        assert_eq!(a.expose().len(), 9 + 43);
        assert_eq!(format!("{a:?}"), "Secret(<redacted>)");
        let t = new_pay_token();
        assert!(looks_like_pay_token(t.expose()));
        assert!(!looks_like_pay_token("short"));
        assert!(!looks_like_pay_token("../../../../../../../../../../.."));
        assert_eq!(t.digest().len(), 64);
    }
}
