//! `cobro serve --demo`: seeds clients and invoices through the real API, in-process.

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use cobro_app::App;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn post(router: &Router, key: &str, path: &str, body: Value) -> anyhow::Result<Value> {
    let req = Request::post(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))?;
    let res = router.clone().oneshot(req).await?;
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await?;
    let value: Value = serde_json::from_slice(&bytes).context("demo: response is not JSON")?;
    anyhow::ensure!(
        status == StatusCode::CREATED,
        "demo: POST {path} answered {status}: {value}"
    );
    Ok(value)
}

/// The demo's owner of the console.
pub const DEMO_OWNER: &str = "duena@demo.cobro.cl";

/// Seeds the demo data once: a data directory that already has clients is left as it is
/// (a second `serve --demo` prints a fresh key and says so). Dates are relative to today.
pub async fn seed(app: &App, router: Router) -> anyhow::Result<()> {
    let (_, key) =
        cobro_app::usecases::keys::create(app, &cobro_domain::Actor::Cobro, "demo").await?;
    let key = key.expose();
    let first = cobro_store::PageRequest::first(1);
    if !app.store.list_clients(&first).await?.items.is_empty() {
        println!("demo: API key (shown once)  {key}");
        if let Some(owner) = app.store.user_by_email(DEMO_OWNER).await? {
            let link = cobro_app::usecases::people::link_for(app, &owner).await?;
            println!("demo: console sign-in (owner {DEMO_OWNER}, once, 15 minutes)  {link}");
        }
        println!("demo: the data directory already has clients; nothing seeded again");
        return Ok(());
    }
    let today = app.now().date_naive();
    let due = |days: i64| cobro_domain::calendar::add_days(today, days).to_string();
    let id = |v: &Value| v.get("id").cloned().unwrap_or_default();

    let sol = post(
        &router,
        key,
        "/v1/clients",
        json!({
            "name": "Panadería Sol", "email": "pagos@panaderiasol.cl", "locale": "es",
            "timezone": "America/Santiago", "country": "CL", "tax_id": "76.123.456-0"
        }),
    )
    .await?;
    let andes = post(
        &router,
        key,
        "/v1/clients",
        json!({
            "name": "Ferretería Los Andes", "email": "finanzas@ferreterialosandes.cl", "locale": "es",
            "timezone": "America/Santiago", "country": "CL", "tax_id": "77.654.321-7"
        }),
    )
    .await?;
    let acme = post(&router, key, "/v1/clients", json!({
        "name": "Acme Trading LLC", "email": "ap@acme.example", "locale": "en", "timezone": "America/New_York"
    })).await?;
    let invoices = [
        post(&router, key, "/v1/invoices", json!({
            "client_id": id(&sol), "currency": "CLP", "tax_rate": "19", "due_date": due(14), "send": true,
            "lines": [{"description": "Diseño de logo", "quantity": "3", "unit_amount": "49990"}]
        })).await?,
        post(&router, key, "/v1/invoices", json!({
            "client_id": id(&andes), "currency": "CLP", "due_date": due(30), "send": true,
            "terms": {"grace_days": 3, "late_fee": {"kind": "percent", "value": "1.5", "recurrence": "monthly"}},
            "lines": [{"description": "Mantención mensual del sitio", "quantity": "1", "unit_amount": "85000"}]
        })).await?,
        post(&router, key, "/v1/invoices", json!({
            "client_id": id(&acme), "currency": "USD", "due_date": due(30), "send": true,
            "terms": {"early_payment_discount": {"percent": "2", "within_days": 10}},
            "lines": [
                {"description": "Consulting (hours)", "quantity": "12.5", "unit_amount": "120.00"},
                {"description": "Hosting", "quantity": "1", "unit_amount": "49.99"}
            ]
        })).await?,
    ];
    println!("demo: API key (shown once)  {key}");
    let owner = cobro_app::usecases::people::add_user(
        app,
        &cobro_domain::Actor::Cobro,
        &cobro_domain::user::NewUser {
            email: DEMO_OWNER.into(),
            name: "Dueña Demo".into(),
            role: "owner".into(),
            locale: Some("es".into()),
        },
    )
    .await?;
    let link = cobro_app::usecases::people::link_for(app, &owner).await?;
    println!("demo: console sign-in (owner {DEMO_OWNER}, once, 15 minutes)  {link}");
    for inv in &invoices {
        println!(
            "demo: {} {} {} due {}  pay: {}",
            inv["number"].as_str().unwrap_or_default(),
            inv["currency"].as_str().unwrap_or_default(),
            inv["total"].as_str().unwrap_or_default(),
            inv["due_date"].as_str().unwrap_or_default(),
            inv["pay_url"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}
