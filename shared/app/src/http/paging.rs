//! Paged lists: `?limit=&after=` in, `{object: "list", data, next_cursor}` out. The cursor
//! is the store's, opaque to callers (base64url).

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use cobro_domain::FieldErrors;
use cobro_store::PageRequest;
use serde::{Deserialize, Serialize};

use super::problem::Problem;
use super::views::{ListView, to_json};

/// Read as text, so a bad value is a 422 naming it rather than a rejection.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Items per page (20 by default).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// The page asked for: 20 by default, at most the store's page.
pub fn page_request(
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<PageRequest, Problem> {
    let Query(p) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    let mut errors = FieldErrors::new();
    let page = page_of(p.limit.as_deref(), p.after.as_deref(), &mut errors);
    errors.finish(|| page).map_err(Problem::validation)
}

/// The page `limit` and `after` ask for, each mistake added to `errors`.
pub fn page_of(limit: Option<&str>, after: Option<&str>, errors: &mut FieldErrors) -> PageRequest {
    let limit = match limit {
        None => 20,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=cobro_store::MAX_PAGE).contains(l))
            .unwrap_or_else(|| {
                errors.add(
                    "limit",
                    format!("must be a whole number from 1 to {}", cobro_store::MAX_PAGE),
                );
                20
            }),
    };
    let after = match after {
        None | Some("") => None,
        Some(c) => {
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            if decoded.is_none() {
                errors.add("after", "is not a cursor returned by this API");
            }
            decoded
        }
    };
    PageRequest { limit, after }
}

/// A page of `data` as the API lists it, with the cursor of the next page.
pub fn list<T: Serialize>(data: Vec<T>, next: Option<String>) -> Result<Response, Problem> {
    let list = ListView {
        object: "list",
        data,
        next_cursor: next.map(|n| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(n)),
    };
    Ok(Json(to_json(&list)?).into_response())
}
