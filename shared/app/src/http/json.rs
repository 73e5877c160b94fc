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
                let field = if path == "." {
                    "body".to_string()
                } else {
                    path
                };
                let message = inner.to_string();
                // serde's message ends with " at line L column C": not useful per field.
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_string();
                Err(Problem::validation(FieldErrors::single(field, message)))
            } else {
                Err(Problem::malformed(format!(
                    "The body is not valid JSON: {inner}"
                )))
            }
        }
    }
}
