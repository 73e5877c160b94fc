//! What the server-rendered pages (the pay portal, the console) share: their security
//! headers, HTML answers and cookies.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The security headers of a page: `csp`, no referrer, no framing, no sniffing, no cache.
pub fn secure(mut res: Response, csp: &'static str) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    for (k, v) in [
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    res
}

/// An HTML page with `status` and the security headers of `csp`.
pub fn html(status: StatusCode, body: String, csp: &'static str) -> Response {
    secure(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        csp,
    )
}

/// The value of cookie `name` in a request, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Adds a `Set-Cookie` to an answer.
pub fn set_cookie(res: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Whether the public URL is this machine's (`cobro serve`): cookies there go over plain
/// HTTP, so they cannot be `Secure`.
pub fn is_loopback(public_url: &str) -> bool {
    let rest = public_url
        .strip_prefix("http://")
        .or_else(|| public_url.strip_prefix("https://"))
        .unwrap_or(public_url);
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = if host.starts_with('[') {
        host.split(']')
            .next()
            .map(|h| h.trim_start_matches('['))
            .unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_this_machine_only() {
        assert!(is_loopback("http://127.0.0.1:8080"));
        assert!(is_loopback("http://localhost:3000/x"));
        assert!(is_loopback("http://[::1]:8080"));
        assert!(!is_loopback("https://pagar.example.cl"));
        assert!(!is_loopback("http://127.0.0.1.example.com"));
    }
}
