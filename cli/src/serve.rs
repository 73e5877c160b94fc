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
            .merge(cobro_app::http::console(app.clone()))
            .merge(local_routes(&data_dir)),
    );

    println!("cobro listening on {base}");
    println!("  API       {base}/v1   (needs a key: cobro keys create --name me)");
    println!(
        "  webhooks  {base}/webhooks/stripe  {base}/webhooks/standard   (try: cobro webhook send --help)"
    );
    println!("  pay links {base}/pay/…   (sandbox checkout at {base}/sandbox/checkout/…)");
    println!("  console   {base}/console   (people: cobro users add --email … --role owner)");
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
        .route("/outbox/{name}/raw", get(outbox_raw))
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

/// Text for HTML: escaped (askama's escaper, as every page uses).
fn esc(s: &str) -> String {
    askama::filters::escape(s, askama::filters::Html)
        .map(|e| e.to_string())
        .unwrap_or_default()
}

/// What a person reads of a stored message: its headers, its text and its HTML, decoded.
struct Readable {
    subject: String,
    from: String,
    to: String,
    date: String,
    text: String,
    html: String,
}

fn readable(raw: &[u8]) -> Option<Readable> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    let who = |a: Option<&mail_parser::Address<'_>>| {
        a.and_then(|a| a.first())
            .map(|a| match (a.name(), a.address()) {
                (Some(n), Some(e)) => format!("{n} <{e}>"),
                (None, Some(e)) => e.to_string(),
                (Some(n), None) => n.to_string(),
                (None, None) => String::new(),
            })
            .unwrap_or_default()
    };
    Some(Readable {
        subject: msg.subject().unwrap_or_default().to_string(),
        from: who(msg.from()),
        to: who(msg.to()),
        date: msg.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
        text: msg
            .body_text(0)
            .map(|t| t.replace("\r\n", "\n"))
            .unwrap_or_default(),
        html: msg.body_html(0).map(|h| h.to_string()).unwrap_or_default(),
    })
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"es\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        esc(title)
    ))
}

async fn outbox_list(State(outbox): State<OutboxMailer>) -> Response {
    match outbox.list() {
        Ok(entries) => {
            let rows: String = entries
                .iter()
                .rev()
                .map(|e| {
                    let m = std::fs::read(&e.path).ok().and_then(|raw| readable(&raw));
                    let (date, to, subject) = m
                        .map(|m| (m.date, m.to, m.subject))
                        .unwrap_or_default();
                    format!(
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/outbox/{}\">{}</a></td></tr>",
                        esc(&date),
                        esc(&to),
                        esc(&subject),
                        esc(&e.file_name),
                        esc(&e.file_name)
                    )
                })
                .collect();
            page(
                "Outbox",
                &format!(
                    "<h1>Outbox</h1><p>{} message(s), newest first, in {}</p>\
                     <table><thead><tr><th scope=\"col\">Date</th><th scope=\"col\">To</th><th scope=\"col\">Subject</th><th scope=\"col\">Message</th></tr></thead><tbody>{rows}</tbody></table>",
                    entries.len(),
                    esc(&outbox.dir().display().to_string())
                ),
            )
            .into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// One message as a person reads it: headers, the text, and the HTML rendered in a
/// sandboxed frame (no scripts, no same-origin); the raw RFC 5322 file at `…/raw`.
async fn outbox_message(
    State(outbox): State<OutboxMailer>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    match outbox.read(&name) {
        Ok(Some(bytes)) => match readable(&bytes) {
            Some(m) => page(
                &m.subject,
                &format!(
                    "<p><a href=\"/outbox\">Outbox</a> · <a href=\"/outbox/{n}/raw\">raw</a></p><h1>{s}</h1>\
                     <dl><dt>From</dt><dd>{f}</dd><dt>To</dt><dd>{t}</dd><dt>Date</dt><dd>{d}</dd></dl>\
                     <h2>Text</h2><pre style=\"white-space:pre-wrap\">{x}</pre>\
                     <h2>HTML</h2><iframe sandbox=\"\" title=\"HTML\" style=\"width:100%;height:40rem;border:1px solid #ccc\" srcdoc=\"{h}\"></iframe>",
                    n = esc(&name),
                    s = esc(&m.subject),
                    f = esc(&m.from),
                    t = esc(&m.to),
                    d = esc(&m.date),
                    x = esc(&m.text),
                    h = esc(&m.html),
                ),
            )
            .into_response(),
            None => (StatusCode::UNPROCESSABLE_ENTITY, "not a readable message").into_response(),
        },
        Ok(None) => (StatusCode::NOT_FOUND, "no such message").into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// The stored file as it is.
async fn outbox_raw(
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
