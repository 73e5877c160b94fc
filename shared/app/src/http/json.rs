//! Request bodies: size-limited bytes, parsed as JSON with the failing field's path.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use cobro_domain::FieldErrors;
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// Largest request body accepted by the API.
pub const MAX_BODY: usize = 256 * 1024;

/// The body as bytes, or the problem explaining why it could not be read (413 over the limit).
pub fn body(result: Result<Bytes, BytesRejection>) -> Result<Bytes, Problem> {
    result.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::too_large(MAX_BODY)
        } else {
            Problem::malformed(rejection.body_text())
        }
    })
}

/// The field a serde data error is about and what to do about it, in words a person can
/// act on: a missing or unknown field by its own name (not the object holding it), a date
/// or an amount written another way with the way to write it.
fn actionable(path: &str, message: &str) -> (String, String) {
    let at = |name: &str| match path {
        "." => name.to_string(),
        p => format!("{p}.{name}"),
    };
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_string);
    if let Some(name) = message.strip_prefix("missing field ").and_then(quoted) {
        return (at(&name), "is required".into());
    }
    // Its path already ends with the unknown name.
    if let Some(name) = message.strip_prefix("unknown field ").and_then(quoted) {
        let expected = message
            .split_once("expected ")
            .map(|(_, e)| format!(": the fields here are {}", e.trim_start_matches("one of ")))
            .unwrap_or_default();
        let field = if path == "." { name } else { path.to_string() };
        return (field, format!("is not a field of this request{expected}"));
    }
    let field = if path == "." {
        "body".to_string()
    } else {
        path.to_string()
    };
    const DATE: [&str; 5] = [
        "input contains invalid characters",
        "trailing input",
        "premature end of input",
        "input is out of range",
        "input is not enough",
    ];
    if DATE.iter().any(|d| message.starts_with(d)) {
        return (
            field,
            "must be a date written YYYY-MM-DD (AAAA-MM-DD), such as 2026-12-07".into(),
        );
    }
    if message.contains("expected a Decimal") {
        return (
            field,
            "must be a plain number such as 49990 or 120.50, without a currency sign or thousands separators (escribe 49990, sin $ ni puntos)".into(),
        );
    }
    (field, message.to_string())
}

/// Parses a JSON body. Syntax errors are a 400; a well-formed body with a wrong, missing or
/// unknown field is a 422 naming the field.
pub fn parse<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, Problem> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
        if !(ct.starts_with("application/json")
            || (ct.starts_with("application/") && ct.contains("+json")))
        {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "Send the body as application/json.",
            ));
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_data() {
                let message = inner.to_string();
                // serde's message ends with " at line L column C": not useful per field.
                let message = message.split(" at line ").next().unwrap_or(&message);
                let (field, message) = actionable(&path, message);
                Err(Problem::validation(FieldErrors::single(field, message)))
            } else {
                Err(Problem::malformed(format!(
                    "The body is not valid JSON: {inner}"
                )))
            }
        }
    }
}
