//! `cobro serve`: every HTTP function on one port, the embedded store, the outbox.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use cobro_app::{App, Config};
use cobro_notify::OutboxMailer;

pub async fn run(
    mut config: Config,
    addr: SocketAddr,
    demo: bool,
    sweep_every: u64,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!(
            "cannot listen on {addr}: another program (another cobro serve?) is using it; stop it or choose another address, e.g. --addr 127.0.0.1:{}",
            addr.port().saturating_add(1)
        )
    })?;
    let local = listener.local_addr()?;
    let base = format!("http://{local}");
    if std::env::var_os("COBRO_PUBLIC_URL").is_none() {
        config.public_url = base.clone();
    }
    // Kept for the other commands on this data (sweep, deposit-check, …): the pay links
    // they write must open on this serve.
    std::fs::create_dir_all(&config.data_dir)?;
    std::fs::write(
        config.data_dir.join(crate::PUBLIC_URL_FILE),
        &config.public_url,
    )
    .with_context(|| format!("writing {}", config.data_dir.display()))?;
    let mut config = config.with_local_webhook_secrets();
    config.sandbox_checkout = true;
    let data_dir = config.data_dir.clone();
    let store_name = match &config.table {
        Some(t) => format!("DynamoDB table {t}"),
        None => format!("SQLite {}", data_dir.join("cobro.db").display()),
    };
    let app = App::from_config(config).await?;
    let router = cobro_app::http::finish(
        cobro_app::http::invoices_api(app.clone())
            .merge(cobro_app::http::payment_webhook(app.clone()))
            .merge(cobro_app::http::pay_portal(app.clone()))
            .merge(cobro_app::http::sandbox(app.clone()))
            .merge(local_routes(&data_dir)),
    );

    println!("cobro listening on {base}");
    println!("  API       {base}/v1   (needs a key: cobro keys create --name me)");
    println!(
        "  webhooks  {base}/webhooks/stripe  {base}/webhooks/standard   (try: cobro webhook send --help)"
    );
    println!("  pay links {base}/pay/…   (sandbox checkout at {base}/sandbox/checkout/…)");
    println!("  outbox    {base}/outbox");
    println!("  store     {store_name}");
    if demo {
        crate::demo::seed(&app, router.clone()).await?;
    }
    if sweep_every > 0 {
        println!(
            "  schedules every {sweep_every}s (reminder sweep: reminders, late fees, escalations; deposit check)"
        );
        // The schedules the template gives the reminder-sweep and deposit-check functions,
        // on one timer.
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(sweep_every));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = cobro_app::usecases::sweep::sweep(&app, app.now(), None).await {
                    tracing::error!(error = %e, "sweep failed; the next one retries");
                }
                if let Err(e) =
                    cobro_app::usecases::sweep::deposit_check(&app, app.now(), None).await
                {
                    tracing::error!(error = %e, "deposit check failed; the next one retries");
                }
            }
        });
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Pages that exist only on the local stack: the index and the outbox.
fn local_routes(data_dir: &Path) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(|| async { "ok" }))
        .route("/outbox", get(outbox_list))
        .route("/outbox/{name}", get(outbox_message))
        .with_state(OutboxMailer::new(data_dir))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}li{margin:.3rem 0}code{background:#eee;padding:0 .2rem}";

async fn index() -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"es\"><head><meta charset=\"utf-8\"><title>cobro</title><style>{STYLE}</style></head><body>\
         <h1>cobro</h1><ul><li><a href=\"/outbox\">Outbox</a>: e-mails the local stack has sent</li>\
         <li><code>/v1</code>: the business API (Authorization: Bearer &lt;key&gt;)</li></ul></body></html>"
    ))
}

async fn outbox_list(State(outbox): State<OutboxMailer>) -> Response {
    match outbox.list() {
        Ok(entries) => {
            let items: String = entries
                .iter()
                .rev()
                .map(|e| format!("<li><a href=\"/outbox/{0}\">{0}</a></li>", e.file_name))
                .collect();
            Html(format!(
                "<!DOCTYPE html><html lang=\"es\"><head><meta charset=\"utf-8\"><title>Outbox</title><style>{STYLE}</style></head>\
                 <body><h1>Outbox</h1><p>{} message(s), newest first, in {}</p><ul>{items}</ul></body></html>",
                entries.len(),
                outbox.dir().display()
            ))
            .into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn outbox_message(
    State(outbox): State<OutboxMailer>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    match outbox.read(&name) {
        Ok(Some(bytes)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], bytes).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, "no such message").into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
