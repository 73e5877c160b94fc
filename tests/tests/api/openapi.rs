//! The API describes itself: `GET /v1/openapi.json`, public, OpenAPI 3.1, the same
//! document as `docs/openapi.json` (regenerate with `cargo run -p cobro -- openapi >
//! docs/openapi.json`), and every operation under `/v1` with its key and its problems.

use super::helpers::*;

async fn the_api_serves_its_own_description(t: TestApp) {
    let res = t
        .http
        .get(format!("{}/v1/openapi.json", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "public: no key needed");
    assert_eq!(res.headers()["content-type"], "application/json");
    let served = res.text().await.unwrap();
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json"))
            .unwrap();
    assert_eq!(
        served.trim_end(),
        checked_in.trim_end(),
        "docs/openapi.json is out of date: cargo run -p cobro -- openapi > docs/openapi.json"
    );

    let doc: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/v1/clients", &["get", "post"][..]),
        ("/v1/clients/{id}", &["get"]),
        ("/v1/clients/{id}/invoices", &["get"]),
        ("/v1/clients/{id}/standing", &["get"]),
        ("/v1/clients/{id}/budget", &["put"]),
        ("/v1/invoices", &["post"]),
        ("/v1/invoices/{id}", &["get"]),
        ("/v1/invoices/{id}/payments", &["post"]),
        ("/v1/invoices/{id}/pay-links", &["post"]),
        ("/v1/invoices/{id}/pay-links/revoke", &["post"]),
        ("/v1/invoices/{id}/void", &["post"]),
        ("/v1/invoices/{id}/promises", &["post"]),
        ("/v1/invoices/{id}/plans", &["post"]),
        ("/v1/invoices/{id}/extensions", &["post"]),
        ("/v1/unmatched", &["get"]),
        ("/v1/unmatched/{id}/apply", &["post"]),
        ("/v1/reports/escalated", &["get"]),
        ("/v1/reports/late-fees", &["get"]),
        ("/v1/reports/promises", &["get"]),
        ("/webhooks/{provider}", &["post"]),
        ("/pay/{token}", &["get"]),
        ("/pay/{token}/print", &["get"]),
        ("/pay/{token}/checkout", &["post"]),
        ("/pay/{token}/promise", &["post"]),
        ("/pay/{token}/plan", &["post"]),
    ] {
        for m in methods {
            assert!(paths[path].get(*m).is_some(), "{m} {path} is not described");
        }
    }
    // Every operation of the API: behind the key, and every error it documents is a problem.
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/v1/")) {
        for (method, op) in item.as_object().unwrap() {
            assert_eq!(op["security"], json!([{"api_key": []}]), "{method} {path}");
            for (status, answer) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        answer["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status}"
                    );
                }
            }
            assert!(op["responses"]["401"].is_object(), "{method} {path}");
        }
    }
    // Request bodies are described from the types the handlers parse.
    let create = &paths["/v1/clients"]["post"]["requestBody"]["content"]["application/json"];
    assert_eq!(create["schema"]["$ref"], "#/components/schemas/NewClient");
    let new_client = &doc["components"]["schemas"]["NewClient"];
    assert_eq!(new_client["additionalProperties"], false);
    assert_eq!(new_client["required"], json!(["name", "email"]));
    // Amounts shown beside their currency are decimal strings, as the views send them.
    for (schema, field) in [
        ("PromiseState", "amount"),
        ("InstalmentState", "paid"),
        ("InvoiceView", "amount_due"),
    ] {
        assert_eq!(
            doc["components"]["schemas"][schema]["properties"][field]["type"], "string",
            "{schema}.{field}"
        );
    }
    // Every pay-page operation documents the page it answers when something fails.
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/pay/")) {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"]["500"]["content"]["text/html"].is_object(),
                "{method} {path}"
            );
        }
    }
}

on_both_stacks!(the_api_serves_its_own_description);
