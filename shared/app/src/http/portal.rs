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
use axum::Router;
use axum::body::Body;
use axum::extract::{Form, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::NaiveDate;
use cobro_domain::arrangement::{self, PlanRequest, PromiseRequest, Refusal};
use cobro_domain::calendar::{add_days, days_between};
use cobro_domain::ledger::{self, Balance};
use cobro_domain::{Actor, Invoice, InvoiceStatus, Locale, Money, Party, secret};
use cobro_notify::words::{self, PageWords, PlanRow};
use rust_decimal::Decimal;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tower::ServiceExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::usecases::arrangements::{Ask, Made, make};
use crate::usecases::links::{self, Opened};
use crate::usecases::{Conflict, Error, nothing};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(page))
        .routes(routes!(print))
        .routes(routes!(checkout))
        .routes(routes!(promise))
        .routes(routes!(plan))
}

/// The local stand-in for a provider's hosted checkout (only `cobro serve` mounts it).
pub fn sandbox_routes() -> Router<App> {
    Router::new().route(
        "/sandbox/checkout/{token}",
        get(sandbox_page).post(sandbox_pay),
    )
}

const CSRF_COOKIE: &str = "cobro_csrf";

/// The portal's content security policy: no scripts at all; forms post here or to the
/// providers' hosted checkouts.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self' https://checkout.stripe.com https://*.mercadopago.com https://*.mercadopago.cl https://*.mercadopago.com.ar https://*.mercadopago.com.mx https://*.mercadopago.com.co; frame-ancestors 'none'; base-uri 'none'";

/// Security headers of every portal answer.
fn secure(res: Response) -> Response {
    super::pages::secure(res, CSP)
}

fn html(status: StatusCode, body: String) -> Response {
    super::pages::html(status, body, CSP)
}

/// The one answer for any token that does not open a page: no hint why.
fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        format!(
            "<!DOCTYPE html><html lang=\"es\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>404</title></head><body style=\"font-family:Arial,Helvetica,sans-serif;padding:2rem\"><h1>404</h1><p>{}</p></body></html>",
            words::LINK_GONE
        ),
    )
}

fn server_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "portal failed");
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>500</title></head><body><p>{}</p></body></html>",
            words::TRY_LATER
        ),
    )
}

/// The invoice a token opens, or the answer to give instead: the one 404 for any token
/// that opens nothing, a 500 when the store fails.
async fn open(app: &App, token: &str) -> Result<Opened, Response> {
    match links::open(app, token).await {
        Ok(opened) => Ok(opened),
        Err(Error::NotFound(_)) => Err(not_found()),
        Err(e) => Err(server_error(e)),
    }
}

/// A form posted on a pay link: the invoice its token opens, once the form's CSRF value
/// matches the cookie's (compared in constant time). Any token that opens nothing gets the
/// one 404, a form without its CSRF value a 403.
struct Posted {
    token: String,
    headers: HeaderMap,
    opened: Opened,
    form: PortalForm,
}

impl FromRequest<App> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Ok(Path(token)) = Path::<String>::from_request_parts(&mut parts, app).await else {
            return Err(not_found());
        };
        let headers = parts.headers.clone();
        let form = Form::<PortalForm>::from_request(Request::from_parts(parts, body), app).await;
        let opened = open(app, &token).await?;
        match (form, csrf_of(&headers)) {
            (Ok(Form(form)), Some(c)) if bool::from(form.csrf.as_bytes().ct_eq(c.as_bytes())) => {
                Ok(Posted {
                    token,
                    headers,
                    opened,
                    form,
                })
            }
            _ => Err(html(
                StatusCode::FORBIDDEN,
                format!(
                    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>403</title></head><body><p>{}</p></body></html>",
                    words::FORM_EXPIRED
                ),
            )),
        }
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

/// The status as a client reads it: "Vencida hace 3 días", "Paid", …
fn status_text(
    l: Locale,
    inv: &Invoice,
    due_date: NaiveDate,
    b: &Balance,
    status: InvoiceStatus,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let late = days_between(due_date, cobro_domain::today_in(inv.timezone, now));
    words::invoice_status(l, status, late, &b.net_paid)
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage<'a> {
    w: &'a PageWords,
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
    reference: String,
    token: String,
    csrf: String,
    /// Hosted checkouts offered: (method, button label).
    methods: Vec<(&'static str, &'static str)>,
    others: Vec<OtherRow>,
    print: bool,
    instructions: Option<String>,
    /// The promise or plan in course, in a sentence.
    arrangement: Option<String>,
    /// The early-payment discount still on offer, in a sentence.
    discount: Option<String>,
    /// How to pay by transfer (the business's account, when it gave one).
    transfer: String,
    /// Who the business is, in one line.
    footer: String,
    /// What the business's country calls the tax ("IVA").
    tax_label: String,
    /// The plan's instalments: number, date, amount, state.
    plan_rows: Vec<PlanRow>,
    /// After a post: done, or why not (role=alert).
    flash: Option<(bool, String)>,
    /// The promise form: (earliest, latest) dates, the amount step and the most promisable.
    promise_form: Option<(String, String, String, String)>,
    /// The plan options: (count, label).
    plan_options: Vec<(u32, String)>,
}

/// What the page says after a post.
enum Flash {
    None,
    Paid,
    Arranged,
    /// A plan asked for, waiting for the business.
    Requested,
    Refused(String),
}

/// The first instalment of a plan the client asks for: a week from today, or the due date
/// when that is later; then monthly.
fn plan_start(o: &Opened, today: NaiveDate) -> NaiveDate {
    add_days(today, 7).max(o.arrangements.due_date)
}

/// Why a promise or plan asked on the page was not made, in the client's language.
fn refusal_text(l: Locale, o: &Opened, e: &Error, today: NaiveDate) -> String {
    let terms = &o.stored.invoice.terms;
    match e {
        Error::Conflict(c) => match **c {
            Conflict::Arrangement(code, _) => words::refused(l, code, terms),
            _ => words::refused(l, arrangement::Conflict::NotOpen, terms),
        },
        Error::Invalid(errors) => {
            let field = errors
                .errors
                .first()
                .map(|e| e.field.as_str())
                .unwrap_or("");
            words::refused_field(l, field, terms, &o.balance.amount_due, today)
        }
        _ => words::refused_field(l, "", terms, &o.balance.amount_due, today),
    }
}

async fn render(
    app: &App,
    o: &Opened,
    token: &str,
    csrf: &str,
    print: bool,
    flash: &Flash,
) -> Result<String, String> {
    let l = o.client.locale;
    let now = app.now();
    let inv = &o.stored.invoice;
    let b = &o.balance;
    let status = cobro_domain::dunning::status(b, &o.stored.stages);
    let owed = b.amount_due.is_positive()
        && !matches!(status, InvoiceStatus::Void | InvoiceStatus::Disputed);
    let today = cobro_domain::today_in(inv.timezone, now);
    let a = &o.arrangements;
    let (arrangement, plan_rows) = words::arrangement(l, a);
    let can_arrange = owed
        && status != InvoiceStatus::Escalated
        && a.active_plan().is_none()
        && inv.purpose.is_order();
    let promise_form = (can_arrange && inv.terms.max_open_promises > 0).then(|| {
        let latest = add_days(today, i64::from(inv.terms.promise_max_days));
        let step = Decimal::new(1, inv.currency.exponent()).to_string();
        (
            today.to_string(),
            latest.to_string(),
            step,
            b.amount_due.amount().to_string(),
        )
    });
    // Plans the client may choose: not on an invoice overdue longer than the terms allow.
    let too_overdue = days_between(a.due_date, today) > i64::from(inv.terms.plan_max_days_overdue);
    let plan_options = if can_arrange && !too_overdue && a.open_promises().next().is_none() {
        let first = plan_start(o, today);
        (2..=inv.terms.plan_max_instalments)
            .filter_map(|n| {
                let parts = arrangement::split(b.amount_due, n, first)?;
                let amounts: Vec<String> = parts.iter().map(|i| i.amount.format(l)).collect();
                Some((n, words::plan_option(l, n, first, &amounts)))
            })
            .collect()
    } else {
        vec![]
    };
    let w = words::page(l);
    let flash = match flash {
        Flash::None => None,
        Flash::Paid => Some((true, w.paid_thanks.to_string())),
        Flash::Arranged => Some((true, w.arranged.to_string())),
        Flash::Requested => Some((true, w.plan_requested.to_string())),
        Flash::Refused(why) => Some((false, why.clone())),
    };
    // The client's other invoices (theirs only), newest first.
    let mut others = Vec::new();
    for s in links::other_invoices(app, o)
        .await
        .map_err(|e| e.to_string())?
    {
        let ob = ledger::balance(&s.invoice.total, &s.entries).map_err(|e| e.to_string())?;
        let st = cobro_domain::dunning::status(&ob, &s.stages);
        others.push(OtherRow {
            number: s.invoice.number.clone(),
            due_date: l.long_date(s.invoice.due_date),
            amount_due: ob.amount_due.format(l),
            status: status_text(l, &s.invoice, s.invoice.due_date, &ob, st, now),
        });
    }
    let discount = cobro_domain::dunning::discount_offer(inv, &o.stored.entries, now)
        .map_err(|e| e.to_string())?
        .map(|(m, d)| words::discount_offer(l, &m.format(l), &l.long_date(d)));
    let sender = app.config.sender();
    PortalPage {
        discount,
        transfer: sender.transfer(l, &inv.payment_reference.grouped()),
        footer: sender.footer(),
        tax_label: sender.tax_label(l),
        w: words::page(l),
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
        amount_due: o.due_now().format(l),
        due_date: l.long_date(a.due_date),
        status: status_text(l, inv, a.due_date, b, status, now),
        owed,
        reference: inv.payment_reference.grouped(),
        token: token.to_string(),
        csrf: csrf.to_string(),
        methods: if owed { methods(app, l) } else { vec![] },
        others,
        print,
        instructions: app.config.payment_instructions.clone(),
        arrangement,
        plan_rows,
        flash,
        promise_form,
        plan_options,
    }
    .render()
    .map_err(|e| e.to_string())
}

fn csrf_of(headers: &HeaderMap) -> Option<String> {
    super::pages::cookie(headers, CSRF_COOKIE).filter(|v| v.len() == 64)
}

#[derive(Deserialize)]
struct Query {
    #[serde(default)]
    paid: Option<String>,
    #[serde(default)]
    arranged: Option<String>,
}

/// The pay page: the invoice, what is due now, how to pay, the client's other invoices,
/// and the forms to promise or choose a plan. In the client's language; no JavaScript.
#[utoipa::path(get, operation_id = "pay_page", path = "/pay/{token}", tag = "pay page",
    params(("token" = String, Path, description = "The pay link's token (192 random bits, base64url)"),
        ("paid" = Option<String>, Query, description = "Back from a checkout: says the payment is being confirmed"),
        ("arranged" = Option<String>, Query, description = "After a promise or plan: says it was recorded (`requested`: that the plan waits for the business)")),
    responses((status = 200, description = "The page (sets the CSRF cookie)", body = String, content_type = "text/html"), (status = 404, description = "The one answer for any token that opens nothing: unknown, expired or revoked", body = String, content_type = "text/html")))]
async fn page(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    query: axum::extract::Query<Query>,
) -> Result<Response, Response> {
    let flash = match (&query.paid, &query.arranged) {
        (Some(_), _) => Flash::Paid,
        (None, Some(v)) if v == "requested" => Flash::Requested,
        (None, Some(_)) => Flash::Arranged,
        _ => Flash::None,
    };
    show(&app, &token, &headers, false, flash).await
}

/// The invoice to print or save as PDF.
#[utoipa::path(get, operation_id = "print_page", path = "/pay/{token}/print", tag = "pay page",
    params(("token" = String, Path, description = "The pay link's token (192 random bits, base64url)")),
    responses((status = 200, description = "The printable invoice", body = String, content_type = "text/html"), (status = 404, description = "The one answer for any token that opens nothing: unknown, expired or revoked", body = String, content_type = "text/html")))]
async fn print(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    show(&app, &token, &headers, true, Flash::None).await
}

async fn show(
    app: &App,
    token: &str,
    headers: &HeaderMap,
    print: bool,
    flash: Flash,
) -> Result<Response, Response> {
    let opened = open(app, token).await?;
    Ok(respond(app, &opened, token, headers, print, &flash, StatusCode::OK).await)
}

/// The page for an opened token, with the CSRF cookie.
async fn respond(
    app: &App,
    opened: &Opened,
    token: &str,
    headers: &HeaderMap,
    print: bool,
    flash: &Flash,
    status: StatusCode,
) -> Response {
    // Double-submit: a random value in a strict cookie and in each form.
    let csrf = csrf_of(headers).unwrap_or_else(|| secret::new_pay_token().digest());
    match render(app, opened, token, &csrf, print, flash).await {
        Ok(body) => {
            let mut res = html(status, body);
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

/// What a promise or a plan asked on the page gets back (for the API's description).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // only described, never built: the handlers answer pages
enum Arranged {
    /// Recorded: back to the page.
    #[response(status = 303)]
    Recorded,
    /// The form's CSRF value does not match its cookie.
    #[response(status = 403, content_type = "text/html")]
    Forbidden(String),
    /// The one answer for any token that opens nothing: unknown, expired or revoked.
    #[response(status = 404, content_type = "text/html")]
    NotFound(String),
    /// Not possible now: the page again, saying why.
    #[response(status = 409, content_type = "text/html")]
    NotNow(String),
    /// A value the page cannot take: the page again, saying why.
    #[response(status = 422, content_type = "text/html")]
    Refused(String),
}

/// Every form of the page: the CSRF value and what that form asks.
#[derive(Deserialize, utoipa::ToSchema)]
struct PortalForm {
    csrf: String,
    #[serde(default)]
    method: Option<String>,
    /// A promise: by when, and how much (empty: all that is due).
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    amount: Option<String>,
    /// A plan: how many monthly instalments.
    #[serde(default)]
    count: Option<String>,
}

/// The hosted checkouts configured, with their button labels.
fn methods(app: &App, l: Locale) -> Vec<(&'static str, &'static str)> {
    links::checkout_methods(app)
        .into_iter()
        .map(|m| (m, words::pay_button(l, m)))
        .collect()
}

/// Starts a checkout for the amount due now. Refused without its CSRF token; an invoice
/// with nothing due creates no checkout (the page says so).
#[utoipa::path(post, operation_id = "pay_checkout", path = "/pay/{token}/checkout", tag = "pay page",
    params(("token" = String, Path, description = "The pay link's token (192 random bits, base64url)")), request_body(content = PortalForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "To the provider's hosted checkout, or back to the page when nothing is due"),
        (status = 403, description = "The form's CSRF value does not match its cookie", body = String, content_type = "text/html"),
        (status = 404, description = "The one answer for any token that opens nothing: unknown, expired or revoked", body = String, content_type = "text/html"),
    ))]
async fn checkout(State(app): State<App>, posted: Posted) -> Result<Response, Response> {
    let Posted {
        token,
        opened,
        form,
        ..
    } = posted;
    let b = &opened.balance;
    let method = form.method.unwrap_or_else(|| "sandbox".into());
    let l = opened.client.locale;
    if !b.amount_due.is_positive() || !links::checkout_methods(&app).contains(&method.as_str()) {
        return Err(back_to_page(&token)); // nothing due (the page says so), or no such method
    }
    let inv = &opened.stored.invoice;
    let description = format!(
        "{} {} · {}",
        words::page(l).invoice,
        inv.number,
        inv.concept()
    );
    let url = match links::checkout(&app, &opened, &method, &token, description).await {
        Ok(Some(url)) => Ok(url),
        Ok(None) => return Err(back_to_page(&token)),
        Err(e) => Err(e),
    };
    Ok(match url {
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
    })
}

/// The client promises to pay by a date (an amount, or all that is due).
#[utoipa::path(post, operation_id = "pay_page_promise", path = "/pay/{token}/promise", tag = "pay page",
    params(("token" = String, Path, description = "The pay link's token (192 random bits, base64url)")), request_body(content = PortalForm, content_type = "application/x-www-form-urlencoded"),
    responses(Arranged))]
async fn promise(State(app): State<App>, posted: Posted) -> Response {
    let (opened, form) = (&posted.opened, &posted.form);
    let currency = opened.stored.invoice.currency;
    let date = form
        .date
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
    let amount = match form
        .amount
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        None => Ok(None),
        Some(a) => a
            .parse::<Decimal>()
            .ok()
            .and_then(|d| Money::new(d, currency).ok())
            .map(Some)
            .ok_or("amount"),
    };
    let ask = match (date, amount) {
        (Some(date), Ok(amount)) => Ok(Ask::Promise(PromiseRequest {
            date,
            amount,
            by: Party::Client,
        })),
        (None, _) => Err(unreadable("date")),
        (_, Err(field)) => Err(unreadable(field)),
    };
    arrange(&app, &posted, ask).await
}

/// The client chooses a plan among the options the page offered.
#[utoipa::path(post, operation_id = "pay_page_plan", path = "/pay/{token}/plan", tag = "pay page",
    params(("token" = String, Path, description = "The pay link's token (192 random bits, base64url)")), request_body(content = PortalForm, content_type = "application/x-www-form-urlencoded"),
    responses(Arranged))]
async fn plan(State(app): State<App>, posted: Posted) -> Response {
    let (opened, form) = (&posted.opened, &posted.form);
    let today = cobro_domain::today_in(opened.stored.invoice.timezone, app.now());
    let count = form
        .count
        .as_deref()
        .and_then(|c| c.trim().parse::<u32>().ok());
    let parts = count
        .and_then(|n| arrangement::split(opened.balance.amount_due, n, plan_start(opened, today)));
    let ask = match parts {
        Some(instalments) => Ok(Ask::Plan(PlanRequest {
            instalments,
            by: Party::Client,
        })),
        None => Err(unreadable("instalments")),
    };
    arrange(&app, &posted, ask).await
}

/// A field of the page's form that could not be read: refused like a bad value.
fn unreadable(field: &str) -> Error {
    Refusal::Invalid(cobro_domain::FieldErrors::single(field, "unreadable")).into()
}

/// Makes a promise or plan the client asked for; back to the page with a confirmation,
/// or the page again with why not (422 for bad values, 409 when not possible now).
async fn arrange(app: &App, posted: &Posted, ask: Result<Ask, Error>) -> Response {
    let (opened, token, headers) = (&posted.opened, posted.token.as_str(), &posted.headers);
    let l = opened.client.locale;
    let today = cobro_domain::today_in(opened.stored.invoice.timezone, app.now());
    let made = match ask {
        Ok(ask) => {
            make(
                app,
                &Actor::Client,
                &opened.stored.invoice.id,
                &ask,
                &nothing,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match made {
        Ok(Made::Recorded(_)) => {
            secure(Redirect::to(&format!("/pay/{token}?arranged=1")).into_response())
        }
        Ok(Made::Requested(_)) => {
            secure(Redirect::to(&format!("/pay/{token}?arranged=requested")).into_response())
        }
        Err(e @ (Error::Invalid(_) | Error::Conflict(_))) => {
            let status = match e {
                Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::CONFLICT,
            };
            let why = Flash::Refused(refusal_text(l, opened, &e, today));
            respond(app, opened, token, headers, false, &why, status).await
        }
        Err(Error::NotFound(_)) => not_found(),
        Err(e) => server_error(e),
    }
}

async fn sandbox_page(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let opened = open(&app, &token).await?;
    let Some(csrf) = csrf_of(&headers) else {
        return Err(back_to_page(&token));
    };
    let amount = opened.due_now().format(opened.client.locale);
    Ok(html(
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
    ))
}

/// Pays in the sandbox: a Standard Webhooks event, signed with the configured secret, sent
/// through the real webhook route; then back to the portal.
async fn sandbox_pay(State(app): State<App>, posted: Posted) -> Result<Response, Response> {
    let Posted { token, opened, .. } = posted;
    let (inv, b) = (&opened.stored.invoice, &opened.balance);
    if !b.amount_due.is_positive() {
        return Err(back_to_page(&token));
    }
    let Some(secret) = app.config.standard_webhook_secrets.current() else {
        return Err(server_error("the sandbox needs a Standard Webhooks secret"));
    };
    let event_id = format!("msg_{}", cobro_domain::PaymentId::generate().as_str());
    let body = serde_json::json!({
        "type": "payment.succeeded",
        "timestamp": app.now(),
        "data": {
            "invoice_id": inv.id,
            "payment_id": format!("sandbox_{}", cobro_domain::PaymentId::generate().as_str()),
            "amount": opened.due_now().amount().to_string(),
            "currency": inv.currency.code(),
        }
    })
    .to_string();
    let ts = app.now().timestamp();
    let Some(signature) = cobro_providers::standard::sign(secret, &event_id, ts, body.as_bytes())
    else {
        return Err(server_error("the Standard Webhooks secret is malformed"));
    };
    let request = axum::http::Request::post("/webhooks/standard")
        .header("content-type", "application/json")
        .header("webhook-id", &event_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(Body::from(body));
    let Ok(request) = request else {
        return Err(server_error("could not build the sandbox event"));
    };
    Ok(
        match super::payment_webhook(app.clone()).oneshot(request).await {
            Ok(res) if res.status().is_success() => {
                tracing::info!(invoice_id = %inv.id, "sandbox payment sent through the webhook");
                secure(Redirect::to(&format!("/pay/{token}?paid=1")).into_response())
            }
            Ok(res) => server_error(format!("the sandbox event was refused: {}", res.status())),
            Err(e) => server_error(e),
        },
    )
}
