//! The pay-portal function: `GET /pay/{token}`, the page a client opens from every e-mail.
//!
//! Server-rendered HTML (askama), no JavaScript, in the client's language: the business,
//! the invoice (lines, total, amount due now, due date, status with days overdue), how to
//! pay (hosted checkout where configured, bank transfer with the RF reference), the
//! client's other invoices, and a printable view. The token in the link is the only key:
//! 192 random bits, stored as SHA-256, scoped to one client, expiring. An unknown, expired
//! or revoked token gets the same plain 404. Every page sends a strict CSP, no-referrer and
//! frame-ancestors 'none'; forms carry a double-submit CSRF token.
//!
//! `cobro serve` adds a sandbox checkout ([`sandbox_router`]): paying there sends a
//! Standard Webhooks–signed event through the real webhook verification and ledger path,
//! then returns the client to the portal.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, body::Body};
use chrono::{DateTime, Utc};
use cobro_domain::ledger::{self, Balance};
use cobro_domain::{Client, Invoice, InvoiceStatus, Locale, secret};
use cobro_store::{PageRequest, StoredInvoice};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tower::ServiceExt;

use crate::App;

pub fn router(app: App) -> Router {
    Router::new()
        .route("/pay/{token}", get(page))
        .route("/pay/{token}/print", get(print))
        .route("/pay/{token}/checkout", post(checkout))
        .with_state(app)
}

/// The local stand-in for a provider's hosted checkout (only `cobro serve` mounts it).
pub fn sandbox_router(app: App) -> Router {
    Router::new()
        .route(
            "/sandbox/checkout/{token}",
            get(sandbox_page).post(sandbox_pay),
        )
        .with_state(app)
}

const CSRF_COOKIE: &str = "cobro_csrf";

/// A new pay link for an invoice: its URL (shown once) and the token record to store
/// (only the digest), expiring after `COBRO_PAY_TOKEN_DAYS`.
pub fn new_link(
    app: &App,
    client_id: &cobro_domain::ClientId,
    invoice_id: &cobro_domain::InvoiceId,
    now: DateTime<Utc>,
) -> (String, cobro_store::PayToken) {
    let token = secret::new_pay_token();
    let url = format!("{}/pay/{}", app.config.public_url, token.expose());
    let record = cobro_store::PayToken {
        digest: token.digest(),
        client_id: client_id.clone(),
        invoice_id: invoice_id.clone(),
        created_at: now,
        expires_at: now + chrono::Duration::days(i64::from(app.config.pay_token_days)),
        revoked_at: None,
    };
    (url, record)
}

/// Security headers of every portal answer.
fn secure(mut res: Response) -> Response {
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self' https://checkout.stripe.com https://*.mercadopago.com https://*.mercadopago.cl https://*.mercadopago.com.ar https://*.mercadopago.com.mx https://*.mercadopago.com.co; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::CACHE_CONTROL, "no-store");
    res
}

fn html(status: StatusCode, body: String) -> Response {
    secure(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
    )
}

/// The one answer for any token that does not open a page: no hint why.
fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "<!DOCTYPE html><html lang=\"es\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>404</title></head><body style=\"font-family:Arial,Helvetica,sans-serif;padding:2rem\"><h1>404</h1><p>Enlace no válido o vencido. · This link is not valid or has expired.</p></body></html>".into(),
    )
}

fn server_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "portal failed");
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>500</title></head><body><p>Error. Intenta de nuevo en unos minutos · Please try again in a few minutes.</p></body></html>".into(),
    )
}

/// What a valid token opens.
struct Opened {
    client: Client,
    stored: StoredInvoice,
    balance: Balance,
}

/// The invoice a token opens, or the answer to give instead: the one 404 for any token
/// that opens nothing, a 500 when the store fails.
async fn open(app: &App, token: &str) -> Result<Opened, Response> {
    let found = async {
        if !secret::looks_like_pay_token(token) {
            return Ok(None);
        }
        let Some(t) = app.store.pay_token(&secret::digest(token)).await? else {
            return Ok(None);
        };
        if !t.is_valid(app.now()) {
            return Ok(None);
        }
        let Some(stored) = app.store.invoice(&t.invoice_id).await? else {
            return Ok(None);
        };
        let Some(client) = app.store.client(&t.client_id).await? else {
            return Ok(None);
        };
        if stored.invoice.client_id != client.id {
            return Ok(None);
        }
        Ok::<_, cobro_store::StoreError>(Some((client, stored)))
    };
    match found.await {
        Ok(Some((client, stored))) => {
            let balance =
                ledger::balance(&stored.invoice.total, &stored.entries).map_err(server_error)?;
            Ok(Opened {
                client,
                stored,
                balance,
            })
        }
        Ok(None) => Err(not_found()),
        Err(e) => Err(server_error(e)),
    }
}

/// A form post on a token: the invoice it opens, once the form's CSRF value matches the
/// cookie's (compared in constant time); else a 403.
async fn open_form(
    app: &App,
    token: &str,
    headers: &HeaderMap,
    form: Result<Form<CheckoutForm>, FormRejection>,
) -> Result<(Opened, CheckoutForm), Response> {
    let opened = open(app, token).await?;
    match (form, csrf_of(headers)) {
        (Ok(Form(f)), Some(c)) if bool::from(f.csrf.as_bytes().ct_eq(c.as_bytes())) => {
            Ok((opened, f))
        }
        _ => Err(html(
            StatusCode::FORBIDDEN,
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>403</title></head><body><p>Formulario vencido: vuelve a abrir el enlace. · This form has expired: open the link again.</p></body></html>".into(),
        )),
    }
}

/// Back to the invoice's page.
fn back_to_page(token: &str) -> Response {
    secure(Redirect::to(&format!("/pay/{token}")).into_response())
}

/// A line of the page.
struct LineRow {
    description: String,
    quantity: String,
    amount: String,
}

struct OtherRow {
    number: String,
    due_date: String,
    amount_due: String,
    status: String,
}

/// Words of the page in one language.
struct Words {
    lang: &'static str,
    invoice: &'static str,
    amount_due: &'static str,
    total: &'static str,
    due: &'static str,
    how_to_pay: &'static str,
    transfer: &'static str,
    reference: &'static str,
    others: &'static str,
    print: &'static str,
    subtotal: &'static str,
    tax: &'static str,
    nothing_due: &'static str,
    paid_thanks: &'static str,
}

const ES: Words = Words {
    lang: "es",
    invoice: "Factura",
    amount_due: "Monto a pagar",
    total: "Total",
    due: "Vencimiento",
    how_to_pay: "Cómo pagar",
    transfer: "Transferencia bancaria: indica esta referencia en el comentario de la transferencia",
    reference: "Referencia",
    others: "Tus otras facturas",
    print: "Versión para imprimir",
    subtotal: "Subtotal",
    tax: "Impuesto",
    nothing_due: "Esta factura no tiene saldo pendiente: no hay nada que pagar.",
    paid_thanks: "¡Gracias! Recibimos tu pago.",
};

const EN: Words = Words {
    lang: "en",
    invoice: "Invoice",
    amount_due: "Amount due",
    total: "Total",
    due: "Due date",
    how_to_pay: "How to pay",
    transfer: "Bank transfer: quote this reference with your transfer",
    reference: "Reference",
    others: "Your other invoices",
    print: "Printable version",
    subtotal: "Subtotal",
    tax: "Tax",
    nothing_due: "Nothing is due on this invoice.",
    paid_thanks: "Thank you! We received your payment.",
};

fn words(l: Locale) -> &'static Words {
    match l {
        Locale::Es => &ES,
        Locale::En => &EN,
    }
}

/// The status as a client reads it: "Vencida hace 3 días", "Paid", …
fn status_text(
    l: Locale,
    inv: &Invoice,
    b: &Balance,
    status: InvoiceStatus,
    now: DateTime<Utc>,
) -> String {
    let today = cobro_domain::today_in(inv.timezone, now);
    let late = (today - inv.due_date).num_days();
    let es = l == Locale::Es;
    match status {
        InvoiceStatus::Paid | InvoiceStatus::Overpaid => if es { "Pagada" } else { "Paid" }.into(),
        InvoiceStatus::Void => if es { "Anulada" } else { "Void" }.into(),
        InvoiceStatus::Refunded => if es { "Reembolsada" } else { "Refunded" }.into(),
        InvoiceStatus::Disputed => if es { "En disputa" } else { "Disputed" }.into(),
        InvoiceStatus::Draft => if es { "Borrador" } else { "Draft" }.into(),
        _ if late > 0 => {
            let s = if late == 1 { "" } else { "s" };
            if es {
                format!("Vencida hace {late} día{s}")
            } else {
                format!("Overdue by {late} day{s}")
            }
        }
        InvoiceStatus::PartiallyPaid => {
            let paid = b.net_paid.format(l);
            if es {
                format!("Pagada en parte ({paid})")
            } else {
                format!("Partially paid ({paid})")
            }
        }
        _ => if es { "Pendiente" } else { "Open" }.into(),
    }
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage<'a> {
    w: &'a Words,
    business: String,
    number: String,
    concept: String,
    lines: Vec<LineRow>,
    subtotal: String,
    /// (rate, amount) when the invoice carries tax.
    tax: Option<(String, String)>,
    total: String,
    amount_due: String,
    due_date: String,
    status: String,
    owed: bool,
    paid_now: bool,
    reference: String,
    token: String,
    csrf: String,
    /// Hosted checkouts offered: (method, button label).
    methods: Vec<(&'static str, &'static str)>,
    others: Vec<OtherRow>,
    print: bool,
    instructions: Option<String>,
}

async fn render(
    app: &App,
    o: &Opened,
    token: &str,
    csrf: &str,
    print: bool,
    paid_now: bool,
) -> Result<String, String> {
    let l = o.client.locale;
    let now = app.now();
    let inv = &o.stored.invoice;
    let b = &o.balance;
    let status = cobro_domain::dunning::status(b, &o.stored.stages);
    let owed = b.amount_due.is_positive()
        && !matches!(status, InvoiceStatus::Void | InvoiceStatus::Disputed);
    // The client's other invoices (theirs only), newest first.
    let page = app
        .store
        .client_invoices(&o.client.id, &PageRequest::first(20))
        .await
        .map_err(|e| e.to_string())?;
    let mut others = Vec::new();
    for other in page.items.iter().filter(|i| i.id != inv.id) {
        if let Some(s) = app
            .store
            .invoice(&other.id)
            .await
            .map_err(|e| e.to_string())?
        {
            let ob = ledger::balance(&s.invoice.total, &s.entries).map_err(|e| e.to_string())?;
            let st = cobro_domain::dunning::status(&ob, &s.stages);
            others.push(OtherRow {
                number: s.invoice.number.clone(),
                due_date: l.long_date(s.invoice.due_date),
                amount_due: ob.amount_due.format(l),
                status: status_text(l, &s.invoice, &ob, st, now),
            });
        }
    }
    PortalPage {
        w: words(l),
        business: app.config.business_name.clone(),
        number: inv.number.clone(),
        concept: inv.concept().to_string(),
        lines: inv
            .lines
            .iter()
            .map(|line| LineRow {
                description: line.description.clone(),
                quantity: line.quantity.normalize().to_string(),
                amount: line.amount.format(l),
            })
            .collect(),
        subtotal: inv.subtotal.format(l),
        tax: inv
            .tax_rate
            .map(|r| (r.normalize().to_string(), inv.tax.format(l))),
        total: inv.total.format(l),
        amount_due: b.amount_due.format(l),
        due_date: l.long_date(inv.due_date),
        status: status_text(l, inv, b, status, now),
        owed,
        paid_now,
        reference: inv.payment_reference.grouped(),
        token: token.to_string(),
        csrf: csrf.to_string(),
        methods: if owed { methods(app, l) } else { vec![] },
        others,
        print,
        instructions: app.config.payment_instructions.clone(),
    }
    .render()
    .map_err(|e| e.to_string())
}

fn csrf_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == CSRF_COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 64)
}

#[derive(Deserialize)]
struct Query {
    #[serde(default)]
    paid: Option<String>,
}

async fn page(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    query: axum::extract::Query<Query>,
) -> Response {
    show(&app, &token, &headers, false, query.paid.is_some()).await
}

async fn print(State(app): State<App>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    show(&app, &token, &headers, true, false).await
}

async fn show(
    app: &App,
    token: &str,
    headers: &HeaderMap,
    print: bool,
    paid_now: bool,
) -> Response {
    let opened = match open(app, token).await {
        Ok(o) => o,
        Err(answer) => return answer,
    };
    // Double-submit: a random value in a strict cookie and in each form.
    let csrf = csrf_of(headers).unwrap_or_else(|| secret::new_pay_token().digest());
    match render(app, &opened, token, &csrf, print, paid_now).await {
        Ok(body) => {
            let mut res = html(StatusCode::OK, body);
            let cookie = format!(
                "{CSRF_COOKIE}={csrf}; Path=/; HttpOnly; SameSite=Strict{}",
                if app.config.public_url.starts_with("https://") {
                    "; Secure"
                } else {
                    ""
                }
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => server_error(e),
    }
}

#[derive(Deserialize)]
struct CheckoutForm {
    csrf: String,
    #[serde(default)]
    method: Option<String>,
}

/// The hosted checkouts configured, with their button labels.
fn methods(app: &App, l: Locale) -> Vec<(&'static str, &'static str)> {
    let es = l == Locale::Es;
    let mut m = Vec::new();
    if !app.config.stripe_api_key.is_empty() {
        m.push((
            "stripe",
            if es {
                "Pagar con tarjeta"
            } else {
                "Pay by card"
            },
        ));
    }
    if !app.config.mercadopago_access_token.is_empty() {
        m.push((
            "mercadopago",
            if es {
                "Pagar con Mercado Pago"
            } else {
                "Pay with Mercado Pago"
            },
        ));
    }
    if app.config.sandbox_checkout {
        m.push((
            "sandbox",
            if es {
                "Pagar en línea (sandbox)"
            } else {
                "Pay online (sandbox)"
            },
        ));
    }
    m
}

/// Starts a checkout for the amount due now. Refused without its CSRF token; an invoice
/// with nothing due creates no checkout (the page says so).
async fn checkout(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CheckoutForm>, FormRejection>,
) -> Response {
    let (opened, form) = match open_form(&app, &token, &headers, form).await {
        Ok(o) => o,
        Err(answer) => return answer,
    };
    let b = &opened.balance;
    let method = form.method.unwrap_or_else(|| "sandbox".into());
    let l = opened.client.locale;
    if !b.amount_due.is_positive() || !methods(&app, l).iter().any(|(m, _)| *m == method) {
        return back_to_page(&token); // nothing due (the page says so), or no such method
    }
    let inv = &opened.stored.invoice;
    let page = format!("{}/pay/{token}", app.config.public_url);
    let request = cobro_providers::checkout::CheckoutRequest {
        invoice_id: inv.id.to_string(),
        description: format!("{} {} · {}", words(l).invoice, inv.number, inv.concept()),
        amount: b.amount_due,
        success_url: format!("{page}?paid=1"),
        cancel_url: page.clone(),
        idempotency_key: format!(
            "cobro-checkout-{}-{}-{}",
            inv.id,
            opened.stored.ledger_len(),
            b.amount_due.amount()
        ),
    };
    let url = match method.as_str() {
        "stripe" => match app.config.stripe_api_key.current() {
            Some(key) => {
                cobro_providers::checkout::stripe_session(
                    &app.config.stripe_api_base,
                    key,
                    &request,
                )
                .await
            }
            None => return back_to_page(&token),
        },
        "mercadopago" => match app.config.mercadopago_access_token.current() {
            Some(token) => {
                cobro_providers::checkout::mercadopago_preference(
                    &app.config.mercadopago_api_base,
                    token,
                    &request,
                )
                .await
            }
            None => return back_to_page(&token),
        },
        _ => Ok(format!("/sandbox/checkout/{token}")),
    };
    match url {
        Ok(url)
            if url.starts_with("https://")
                || url.starts_with("http://")
                || url.starts_with('/') =>
        {
            tracing::info!(invoice_id = %inv.id, method, "checkout created");
            secure(Redirect::to(&url).into_response())
        }
        Ok(_) => server_error("the provider answered an unusable checkout URL"),
        Err(e) => server_error(e),
    }
}

async fn sandbox_page(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let opened = match open(&app, &token).await {
        Ok(o) => o,
        Err(answer) => return answer,
    };
    let Some(csrf) = csrf_of(&headers) else {
        return back_to_page(&token);
    };
    let amount = opened.balance.amount_due.format(opened.client.locale);
    html(
        StatusCode::OK,
        format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Sandbox checkout</title></head>\
             <body style=\"font-family:Arial,Helvetica,sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem\">\
             <p style=\"background:#fff3c4;padding:.5rem\">cobro sandbox: no real money moves.</p>\
             <h1>{} · {}</h1><p style=\"font-size:2rem;font-weight:bold\">{}</p>\
             <form method=\"post\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\" style=\"font-size:1.2rem;padding:.8rem 2rem;background:#0b6e4f;color:#fff;border:0;border-radius:6px\">Pay {}</button></form></body></html>",
            askama::filters::escape(&app.config.business_name, askama::filters::Html)
                .map(|e| e.to_string())
                .unwrap_or_default(),
            opened.stored.invoice.number,
            amount,
            amount
        ),
    )
}

/// Pays in the sandbox: a Standard Webhooks event, signed with the configured secret, sent
/// through the real webhook route; then back to the portal.
async fn sandbox_pay(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CheckoutForm>, FormRejection>,
) -> Response {
    let (opened, _) = match open_form(&app, &token, &headers, form).await {
        Ok(o) => o,
        Err(answer) => return answer,
    };
    let (inv, b) = (&opened.stored.invoice, &opened.balance);
    if !b.amount_due.is_positive() {
        return back_to_page(&token);
    }
    let Some(secret) = app.config.standard_webhook_secrets.current() else {
        return server_error("the sandbox needs a Standard Webhooks secret");
    };
    let event_id = format!("msg_{}", cobro_domain::PaymentId::generate().as_str());
    let body = serde_json::json!({
        "type": "payment.succeeded",
        "timestamp": app.now(),
        "data": {
            "invoice_id": inv.id,
            "payment_id": format!("sandbox_{}", cobro_domain::PaymentId::generate().as_str()),
            "amount": b.amount_due.amount().to_string(),
            "currency": inv.currency.code(),
        }
    })
    .to_string();
    let ts = app.now().timestamp();
    let Some(signature) = cobro_providers::standard::sign(secret, &event_id, ts, body.as_bytes())
    else {
        return server_error("the Standard Webhooks secret is malformed");
    };
    let request = axum::http::Request::post("/webhooks/standard")
        .header("content-type", "application/json")
        .header("webhook-id", &event_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(Body::from(body));
    let Ok(request) = request else {
        return server_error("could not build the sandbox event");
    };
    match crate::webhooks::router(app.clone()).oneshot(request).await {
        Ok(res) if res.status().is_success() => {
            tracing::info!(invoice_id = %inv.id, "sandbox payment sent through the webhook");
            secure(Redirect::to(&format!("/pay/{token}?paid=1")).into_response())
        }
        Ok(res) => server_error(format!("the sandbox event was refused: {}", res.status())),
        Err(e) => server_error(e),
    }
}
