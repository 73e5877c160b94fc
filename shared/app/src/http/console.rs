//! The console function: `/console/*`, the pages the business's finance team works from.
//!
//! Server-rendered (askama), no JavaScript, in the user's language (before sign-in: the
//! browser's, or `?lang=`). Sign-in is by a one-time link e-mailed to a user
//! ([`crate::usecases::people`]): `GET /console/auth/{token}` shows a button and only its
//! POST uses the token, so a mail scanner that fetches links does not spend it. The
//! session cookie is HttpOnly, SameSite=Lax, Secure off loopback, scoped to `/console`;
//! every form of a signed-in page carries the session's CSRF value
//! ([`cobro_domain::secret::csrf_for`]), the sign-in forms a double-submit one. Roles are
//! checked here, on the server: a viewer's POST is a 403 and writes nothing.

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use cobro_domain::user::NewUser;
use cobro_domain::{FieldErrors, Locale, Role, User, secret};
use cobro_notify::console::Words;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::pages;
use crate::App;

mod clients;
mod edit_client;
mod log;
mod new_invoice;
mod queues;
mod reports;
use crate::usecases::{Error, arrangements, lists, people};

const SESSION_COOKIE: &str = "cobro_session";
const CSRF_COOKIE: &str = "cobro_console_csrf";

/// The least time "send me a link" takes to answer, whatever the address.
const SIGN_IN_ANSWER: std::time::Duration = std::time::Duration::from_millis(700);

/// No scripts, forms only to the console itself.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/sign-in", get(sign_in_page).post(sign_in))
        .route("/console/auth/{token}", get(enter_page).post(enter))
        .route("/console/sign-out", post(sign_out))
        .route("/console/users", get(users_page).post(add_user))
        .route("/console/users/{id}/end-sessions", post(end_sessions))
        .route("/console/users/{id}/role", post(set_role))
        .route("/console/users/{id}/disable", post(disable_user))
        .route("/console/users/{id}/enable", post(enable_user))
        .route("/console/settings", get(settings_page))
        .route("/console/settings/keys", post(create_key))
        .route("/console/settings/keys/{id}/revoke", post(revoke_key))
        .route("/console/log", get(log::log_page))
        .route("/console/reports", get(reports::reports_page))
        .route("/console/reports/aging.csv", get(reports::aging_csv))
        .route("/console/clients", get(clients::clients_page))
        .route(
            "/console/clients/new",
            get(clients::new_client_page).post(clients::create_client),
        )
        .route("/console/clients/{id}", get(clients::client_page))
        .route(
            "/console/clients/{id}/credit-limit",
            post(clients::set_credit_limit),
        )
        .route("/console/clients/{id}/budget", post(clients::set_budget))
        .route(
            "/console/clients/{id}/edit",
            get(edit_client::edit_page).post(edit_client::update_client),
        )
        .route("/console/queues/{name}", get(queues::queue_page))
        .route("/console/unmatched", get(unmatched_page))
        .route("/console/unmatched/{id}/apply", post(apply_unmatched))
        .route("/console/invoices", get(invoices_page))
        .route("/console/invoices.csv", get(invoices_csv))
        .route(
            "/console/invoices/new",
            get(new_invoice::new_invoice_page).post(new_invoice::create_invoice),
        )
        .route("/console/invoices/{id}", get(invoice_page))
        .route("/console/invoices/{id}/payments", post(record_payment))
        .route("/console/invoices/{id}/pause", post(pause))
        .route("/console/invoices/{id}/resume", post(resume))
        .route("/console/invoices/{id}/void", post(void))
        .route("/console/invoices/{id}/extension", post(extend))
        .route("/console/invoices/{id}/promise", post(promise))
        .route("/console/invoices/{id}/plan", post(plan))
        .route("/console/invoices/{id}/pay-link", post(new_pay_link))
        .route("/console/invoices/{id}/revoke-links", post(revoke_links))
}

fn html(status: StatusCode, body: String) -> Response {
    pages::html(status, body, CSP)
}

/// What every page's frame needs.
struct Frame<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
    flash: Option<&'static str>,
    lang_query: String,
}

#[derive(Template)]
#[template(path = "console/enter.html")]
struct EnterPage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
    text: &'static str,
    refused: bool,
    next: Option<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
    /// (what, how many, more than shown, the list it counts)
    queues: Vec<(&'static str, usize, bool, Option<String>)>,
    fw: &'static cobro_notify::figures::FigureWords,
    /// What is owed today, per currency: the Reports page's aging, drawn.
    owed: Vec<reports::CurrencySection>,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
    flash: Option<(bool, &'static str)>,
    users: Vec<User>,
    roles: [Role; 3],
    form: UserForm,
    errors: Shown,
}

impl UsersPage<'_> {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

/// The clients to choose from in a form or a filter (the newest [`cobro_store::MAX_PAGE`]),
/// as (id, name), by name.
async fn client_choices(app: &App) -> Result<Vec<(String, String)>, cobro_store::StoreError> {
    let p = app
        .store
        .list_clients(&cobro_store::PageRequest::first(cobro_store::MAX_PAGE))
        .await?;
    let mut c: Vec<(String, String)> = p
        .items
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect();
    c.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(c)
}

/// Each refused field's problem, as the person reads it (in their language).
#[derive(Default)]
struct Shown(Vec<(String, String)>);

impl Shown {
    fn of(w: &Words, errors: Option<&FieldErrors>) -> Self {
        let each = errors.map(|e| {
            e.errors
                .iter()
                .map(|e| (e.field.clone(), w.field_error(&e.message)))
                .collect()
        });
        Shown(each.unwrap_or_default())
    }

    fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => server_error(e),
    }
}

fn render_with(status: StatusCode, t: impl Template) -> Response {
    let mut res = render(t);
    *res.status_mut() = status;
    res
}

fn server_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console failed");
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "<!DOCTYPE html><html lang=\"es\"><head><meta charset=\"utf-8\"><title>500</title></head><body><main><p>{}</p></main></body></html>",
            Words::of(Locale::Es).try_later
        ),
    )
}

/// The language of a page before sign-in: `?lang=`, else the browser's first choice.
fn visitor_locale(headers: &HeaderMap, lang: Option<&str>) -> Locale {
    if let Some(l) = lang.and_then(Locale::parse) {
        return l;
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim_start()
        .to_ascii_lowercase();
    if accept.starts_with("en") {
        Locale::En
    } else {
        Locale::Es
    }
}

#[derive(Deserialize, Default)]
struct LangQuery {
    #[serde(default)]
    lang: Option<String>,
}

/// The double-submit CSRF value of the pages before sign-in: the cookie's, or a new one.
fn visitor_csrf(headers: &HeaderMap) -> String {
    pages::cookie(headers, CSRF_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| secret::new_session_token().digest())
}

fn cookie_attrs(app: &App) -> &'static str {
    if pages::is_loopback(&app.config.public_url) {
        "; Path=/console; HttpOnly; SameSite=Lax"
    } else {
        "; Path=/console; HttpOnly; SameSite=Lax; Secure"
    }
}

fn with_visitor_csrf(app: &App, mut res: Response, csrf: &str) -> Response {
    pages::set_cookie(
        &mut res,
        &format!("{CSRF_COOKIE}={csrf}{}", cookie_attrs(app)),
    );
    res
}

/// Whether a form's CSRF value is the one expected.
fn csrf_ok(sent: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()))
}

/// A signed-in request: the user and the session's CSRF value.
struct Signed {
    user: User,
    csrf: String,
}

impl Signed {
    /// The user as the actor of what they do.
    fn by(&self) -> cobro_domain::Actor {
        crate::usecases::audit::user(&self.user)
    }
}

/// The user the request's session cookie signs in, if any.
async fn signed(app: &App, headers: &HeaderMap) -> Result<Option<Signed>, Response> {
    let Some(id) = pages::cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    match people::signed_in(app, &id).await {
        Ok(Some(user)) => Ok(Some(Signed {
            user,
            csrf: secret::csrf_for(&id),
        })),
        Ok(None) => Ok(None),
        Err(e) => Err(server_error(e)),
    }
}

/// Signed in, or the answer to give instead: the sign-in page.
async fn require(app: &App, headers: &HeaderMap) -> Result<Signed, Response> {
    match signed(app, headers).await? {
        Some(s) => Ok(s),
        None => Err(Redirect::to("/console/sign-in").into_response()),
    }
}

/// A signed-in form post: the session's user once the form's CSRF value matches (else a
/// 403 that writes nothing) and their role allows `allowed` (else a 403).
async fn require_form(
    app: &App,
    headers: &HeaderMap,
    sent_csrf: &str,
    allowed: fn(Role) -> bool,
) -> Result<Signed, Response> {
    let s = require(app, headers).await?;
    if !csrf_ok(sent_csrf, &s.csrf) || !allowed(s.user.role) {
        return Err(forbidden(app, &s));
    }
    Ok(s)
}

fn forbidden(app: &App, s: &Signed) -> Response {
    refusal(
        app,
        s,
        StatusCode::FORBIDDEN,
        Words::of(s.user.locale).forbidden,
    )
}

/// The page for something that is not there (or not ours), with the way home.
fn not_found_page(app: &App, s: &Signed) -> Response {
    refusal(
        app,
        s,
        StatusCode::NOT_FOUND,
        Words::of(s.user.locale).not_found,
    )
}

fn refusal(app: &App, s: &Signed, status: StatusCode, text: &'static str) -> Response {
    let w = Words::of(s.user.locale);
    render_with(
        status,
        MessagePage {
            w,
            business: &app.config.business_name,
            me: Some(&s.user),
            csrf: s.csrf.clone(),
            title: w.console,
            text,
            refused: true,
            next: Some(("/console", w.home)),
        },
    )
}

// --- Sign-in ---------------------------------------------------------------------------

async fn sign_in_page(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    if let Ok(Some(_)) = signed(&app, &headers).await {
        return Redirect::to("/console").into_response();
    }
    let w = Words::of(visitor_locale(&headers, q.lang.as_deref()));
    let csrf = visitor_csrf(&headers);
    let page = SignInPage {
        w,
        business: &app.config.business_name,
        me: None,
        csrf: csrf.clone(),
        title: w.sign_in,
        flash: None,
        lang_query: format!("?lang={}", w.lang),
    };
    with_visitor_csrf(&app, render(page), &csrf)
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// "Send me a link": the same page whatever the address.
async fn sign_in(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let w = Words::of(visitor_locale(&headers, q.lang.as_deref()));
    let expected = pages::cookie(&headers, CSRF_COOKIE).unwrap_or_default();
    let Some(Form(form)) = form.ok().filter(|f| csrf_ok(&f.csrf, &expected)) else {
        return visitor_refused(&app, w, StatusCode::FORBIDDEN, w.forbidden);
    };
    // Every answer takes at least this long, so that a user's address (a token stored, a
    // mail sent) is not told from another's by the time the answer takes.
    let started = tokio::time::Instant::now();
    if let Err(e) = people::request_link(&app, &form.email).await {
        return server_error(e);
    }
    tokio::time::sleep(SIGN_IN_ANSWER.saturating_sub(started.elapsed())).await;
    let page = SignInPage {
        w,
        business: &app.config.business_name,
        me: None,
        csrf: expected,
        title: w.sign_in,
        flash: Some(w.link_sent),
        lang_query: format!("?lang={}", w.lang),
    };
    render(page)
}

fn visitor_refused(
    app: &App,
    w: &'static Words,
    status: StatusCode,
    text: &'static str,
) -> Response {
    render_with(
        status,
        MessagePage {
            w,
            business: &app.config.business_name,
            me: None,
            csrf: String::new(),
            title: w.sign_in,
            text,
            refused: true,
            next: Some(("/console/sign-in", w.ask_again)),
        },
    )
}

/// The page a sign-in link opens: a button, so that only a person's click spends it.
async fn enter_page(State(app): State<App>, headers: HeaderMap) -> Response {
    let w = Words::of(visitor_locale(&headers, None));
    let csrf = visitor_csrf(&headers);
    let page = EnterPage {
        w,
        business: &app.config.business_name,
        me: None,
        csrf: csrf.clone(),
        title: w.sign_in,
    };
    with_visitor_csrf(&app, render(page), &csrf)
}

#[derive(Deserialize, Default)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Spends the link: a session and its cookie, then home; one page for any link that
/// opens nothing (unknown, expired, used).
async fn enter(
    State(app): State<App>,
    headers: HeaderMap,
    Path(token): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let w = Words::of(visitor_locale(&headers, None));
    let expected = pages::cookie(&headers, CSRF_COOKIE).unwrap_or_default();
    if !form.is_ok_and(|Form(f)| csrf_ok(&f.csrf, &expected)) {
        return visitor_refused(&app, w, StatusCode::FORBIDDEN, w.forbidden);
    }
    match people::redeem(&app, &token).await {
        Ok(Some((_, session))) => {
            let mut res = Redirect::to("/console").into_response();
            pages::set_cookie(
                &mut res,
                &format!(
                    "{SESSION_COOKIE}={}{}",
                    session.expose(),
                    cookie_attrs(&app)
                ),
            );
            res
        }
        Ok(None) => visitor_refused(&app, w, StatusCode::BAD_REQUEST, w.link_gone),
        Err(e) => server_error(e),
    }
}

async fn sign_out(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let sent = form.map(|Form(f)| f.csrf).unwrap_or_default();
    let s = match require_form(&app, &headers, &sent, |_| true).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let id = pages::cookie(&headers, SESSION_COOKIE).unwrap_or_default();
    if let Err(e) = people::sign_out(&app, &id).await {
        return server_error(e);
    }
    tracing::info!(user_id = %s.user.id, "signed out");
    let mut res = Redirect::to("/console/sign-in").into_response();
    pages::set_cookie(
        &mut res,
        &format!("{SESSION_COOKIE}=; Max-Age=0{}", cookie_attrs(&app)),
    );
    res
}

// --- Pages -----------------------------------------------------------------------------

fn frame<'a>(app: &'a App, s: &'a Signed) -> Frame<'a> {
    Frame {
        w: Words::of(s.user.locale),
        business: &app.config.business_name,
        me: Some(&s.user),
        csrf: s.csrf.clone(),
    }
}

async fn home(State(app): State<App>, headers: HeaderMap) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let f = frame(&app, &s);
    let page = cobro_store::PageRequest::first(cobro_store::MAX_PAGE);
    let unmatched = match app.store.list_unmatched(&page).await {
        Ok(p) => (p.items.len(), p.next.is_some()),
        Err(e) => return server_error(e),
    };
    let mut queues = vec![(
        f.w.unmatched,
        unmatched.0,
        unmatched.1,
        Some("/console/unmatched".to_string()),
    )];
    // Invoice queues: each a filtered list, counted and linked.
    let today = cobro_domain::today_in(app.config.business_timezone, app.now());
    let week = cobro_domain::calendar::add_days(today, 7);
    for (label, query) in [
        (f.w.escalated, "status=escalated".to_string()),
        (f.w.disputed, "status=disputed".to_string()),
        (f.w.over_90, "overdue=90%2B".to_string()),
        (f.w.pauses_ending, format!("pause_ends_by={week}")),
    ] {
        let q: lists::ListQuery = match serde_urlencoded::from_str(&query) {
            Ok(q) => q,
            Err(e) => return server_error(e),
        };
        match lists::count(&app, &q).await {
            Ok((n, more)) => {
                queues.push((label, n, more, Some(format!("/console/invoices?{query}"))))
            }
            Err(e) => return server_error(e),
        }
    }
    for q in crate::usecases::queues::Queue::ALL {
        match crate::usecases::queues::items(&app, q).await {
            Ok((items, more)) => queues.push((
                queues::label(f.w, q),
                items.len(),
                more,
                Some(format!("/console/queues/{}", q.name())),
            )),
            Err(e) => return server_error(e),
        }
    }
    // What is owed today: the aging (it reads what is owed now, not the history).
    let ask = crate::usecases::figures::AgingAsk {
        as_of: today,
        currency: None,
        client: None,
    };
    let owed = match crate::usecases::figures::aging(&app, &ask).await {
        Ok(r) => r
            .aging
            .currencies
            .values()
            .map(|a| reports::section(s.user.locale, today, a))
            .collect(),
        Err(e) => return server_error(e),
    };
    render(HomePage {
        w: f.w,
        business: f.business,
        me: f.me,
        csrf: f.csrf,
        title: f.w.home,
        queues,
        fw: cobro_notify::figures::FigureWords::of(s.user.locale),
        owed,
    })
}

#[derive(Deserialize, Default)]
struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    locale: String,
}

#[derive(Deserialize, Default)]
struct UsersQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn users_page(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<UsersQuery>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if !s.user.role.can_manage() {
        return forbidden(&app, &s);
    }
    let w = Words::of(s.user.locale);
    let flash = match q.done.as_deref() {
        Some("added") => Some((true, w.added)),
        Some("ended") => Some((true, w.sessions_ended)),
        Some("role") => Some((true, w.role_changed)),
        Some("disabled") => Some((true, w.person_disabled)),
        Some("enabled") => Some((true, w.person_enabled)),
        _ => None,
    };
    users_response(
        &app,
        &s,
        StatusCode::OK,
        flash,
        UserForm {
            role: Role::Collector.code().into(),
            ..UserForm::default()
        },
        None,
    )
    .await
}

async fn users_response(
    app: &App,
    s: &Signed,
    status: StatusCode,
    flash: Option<(bool, &'static str)>,
    form: UserForm,
    errors: Option<&FieldErrors>,
) -> Response {
    let f = frame(app, s);
    let users = match people::list_users(app).await {
        Ok(u) => u,
        Err(e) => return server_error(e),
    };
    let errors = Shown::of(f.w, errors);
    render_with(
        status,
        UsersPage {
            w: f.w,
            business: f.business,
            me: f.me,
            csrf: f.csrf,
            title: f.w.people,
            flash,
            users,
            roles: Role::ALL,
            form,
            errors,
        },
    )
}

async fn add_user(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<UserForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let s = match require_form(&app, &headers, &form.csrf, Role::can_manage).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let w = Words::of(s.user.locale);
    let input = NewUser {
        email: form.email.clone(),
        name: form.name.clone(),
        role: form.role.clone(),
        locale: Some(form.locale.clone()),
    };
    let (status, errors) = match people::add_user(&app, &s.by(), &input).await {
        Ok(_) => return Redirect::to("/console/users?done=added").into_response(),
        Err(Error::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        Err(Error::Conflict(_)) => (
            StatusCode::CONFLICT,
            FieldErrors::single("email", w.address_taken),
        ),
        Err(e) => return server_error(e),
    };
    users_response(
        &app,
        &s,
        status,
        Some((false, w.fix_below)),
        form,
        Some(&errors),
    )
    .await
}

/// A person's role, as its form sends it.
#[derive(Deserialize, Default)]
struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

async fn set_role(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<RoleForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let s = match require_form(&app, &headers, &form.csrf, Role::can_manage).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let Some(role) = Role::parse(&form.role) else {
        let w = Words::of(s.user.locale);
        let errors = FieldErrors::single("role", "must be owner, collector or viewer");
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        let blank = UserForm::default();
        return users_response(
            &app,
            &s,
            status,
            Some((false, w.fix_below)),
            blank,
            Some(&errors),
        )
        .await;
    };
    let changed = people::change_user(&app, &s.user, &id, people::UserChange::Role(role)).await;
    person_changed(&app, &s, changed.map(|_| ()), "role").await
}

async fn disable_user(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    act_on_person(&app, &headers, form, "disabled", async |by| {
        people::change_user(&app, by, &id, people::UserChange::Disable).await
    })
    .await
}

async fn enable_user(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    act_on_person(&app, &headers, form, "enabled", async |by| {
        people::change_user(&app, by, &id, people::UserChange::Enable).await
    })
    .await
}

async fn end_sessions(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    act_on_person(&app, &headers, form, "ended", async |by| {
        people::end_sessions(&app, by, &id).await
    })
    .await
}

/// An owner's button on a person (its form carries only the CSRF value): `act` by the
/// signed-in owner, then the people page with `done`'s message or the refusal.
async fn act_on_person(
    app: &App,
    headers: &HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
    done: &str,
    act: impl AsyncFnOnce(&User) -> Result<User, Error>,
) -> Response {
    let sent = form.map(|Form(f)| f.csrf).unwrap_or_default();
    let s = match require_form(app, headers, &sent, Role::can_manage).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let acted = act(&s.user).await;
    person_changed(app, &s, acted.map(|_| ()), done).await
}

/// The people page after an owner's act on a person: done (`done`'s message), refused
/// (the last owner), or no such person.
async fn person_changed(app: &App, s: &Signed, done: Result<(), Error>, what: &str) -> Response {
    match done {
        Ok(()) => Redirect::to(&format!("/console/users?done={what}")).into_response(),
        Err(Error::Conflict(_)) => {
            let w = Words::of(s.user.locale);
            let form = UserForm {
                role: Role::Collector.code().into(),
                ..UserForm::default()
            };
            users_response(
                app,
                s,
                StatusCode::CONFLICT,
                Some((false, w.last_owner)),
                form,
                None,
            )
            .await
        }
        Err(Error::NotFound(_)) => {
            let w = Words::of(s.user.locale);
            render_with(
                StatusCode::NOT_FOUND,
                MessagePage {
                    w,
                    business: &app.config.business_name,
                    me: Some(&s.user),
                    csrf: s.csrf.clone(),
                    title: w.people,
                    text: w.not_found,
                    refused: true,
                    next: Some(("/console/users", w.people)),
                },
            )
        }
        Err(Error::Forbidden) => forbidden(app, s),
        Err(e) => server_error(e),
    }
}

// --- Invoices --------------------------------------------------------------------------

/// The invoice list's filters, as its form sends them (the API's names), and the page.
#[derive(Deserialize, Serialize, Default, Clone)]
struct ListForm {
    #[serde(flatten)]
    filters: lists::ListQuery,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
}

impl ListForm {
    /// The filters as a query string (without the page), for the CSV and the next page.
    fn encoded(&self) -> String {
        serde_urlencoded::to_string(&self.filters).unwrap_or_default()
    }
}

// --- Settings (owners) -------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
    flash: Option<(bool, String)>,
    /// A key just made, shown this once.
    new_key: Option<String>,
    /// (id, name, created, revoked on)
    keys: Vec<(String, String, String, Option<String>)>,
    name: String,
    name_error: Option<String>,
    /// (what, as it is)
    terms: Vec<(&'static str, String)>,
}

#[derive(Deserialize, Default)]
struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

async fn settings_page(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if !s.user.role.can_manage() {
        return forbidden(&app, &s);
    }
    let flash = (q.done.as_deref() == Some("revoked"))
        .then(|| (true, Words::of(s.user.locale).key_revoked.to_string()));
    settings_response(&app, &s, StatusCode::OK, flash, None, String::new(), None).await
}

async fn settings_response(
    app: &App,
    s: &Signed,
    status: StatusCode,
    flash: Option<(bool, String)>,
    new_key: Option<String>,
    name: String,
    name_error: Option<String>,
) -> Response {
    let f = frame(app, s);
    let (w, l) = (f.w, s.user.locale);
    let keys = match crate::usecases::keys::list(app).await {
        Ok(keys) => keys,
        Err(e) => return server_error(e),
    };
    let day = |t: chrono::DateTime<chrono::Utc>| {
        cobro_domain::today_in(app.config.business_timezone, t).to_string()
    };
    let keys = keys
        .into_iter()
        .map(|k| {
            (
                k.id.to_string(),
                k.name,
                day(k.created_at),
                k.revoked_at.map(day),
            )
        })
        .collect();
    render_with(
        status,
        SettingsPage {
            w,
            business: f.business,
            me: f.me,
            csrf: f.csrf,
            title: w.settings,
            flash,
            new_key,
            keys,
            name,
            name_error,
            terms: cobro_notify::console::terms_in_effect(&app.config.default_terms, l),
        },
    )
}

/// Makes an API key: shown on the page this once (only its SHA-256 is kept).
async fn create_key(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<KeyForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let s = match require_form(&app, &headers, &form.csrf, Role::can_manage).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let w = Words::of(s.user.locale);
    match crate::usecases::keys::create(&app, &s.by(), &form.name).await {
        Ok((_, key)) => {
            let flash = Some((true, w.key_made.to_string()));
            let key = Some(key.expose().to_string());
            settings_response(&app, &s, StatusCode::OK, flash, key, String::new(), None).await
        }
        Err(Error::Invalid(e)) => {
            let message = e.errors.first().map(|f| w.field_error(&f.message));
            let flash = Some((false, w.fix_below.to_string()));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            settings_response(&app, &s, status, flash, None, form.name, message).await
        }
        Err(e) => server_error(e),
    }
}

async fn revoke_key(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let s = match require_form(&app, &headers, &form.csrf, Role::can_manage).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    match crate::usecases::keys::revoke(&app, &s.by(), &id).await {
        Ok(true) => Redirect::to("/console/settings?done=revoked").into_response(),
        Ok(false) => {
            let w = Words::of(s.user.locale);
            let flash = Some((false, w.not_found.to_string()));
            settings_response(
                &app,
                &s,
                StatusCode::NOT_FOUND,
                flash,
                None,
                String::new(),
                None,
            )
            .await
        }
        Err(e) => server_error(e),
    }
}

// --- The unmatched queue ----------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/unmatched.html")]
struct UnmatchedPage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
    flash: Option<(bool, String)>,
    items: Vec<QueuedLine>,
    more: bool,
    can_act: bool,
}

/// A payment waiting in the queue, with the invoices it likely belongs to.
struct QueuedLine {
    id: String,
    received: String,
    source: String,
    amount: String,
    target: String,
    reason: &'static str,
    suggestions: Vec<SuggestedLine>,
}

struct SuggestedLine {
    id: String,
    number: String,
    client: String,
    amount_due: String,
    due_date: String,
    why: String,
}

#[derive(Deserialize, Default)]
struct ApplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    invoice: String,
    #[serde(default)]
    other: String,
}

async fn unmatched_page(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let flash = (q.done.as_deref() == Some("applied"))
        .then(|| (true, Words::of(s.user.locale).done_applied.to_string()));
    unmatched_response(&app, &s, StatusCode::OK, flash).await
}

/// The queue as `s`'s user sees it, with a message after an action.
async fn unmatched_response(
    app: &App,
    s: &Signed,
    status: StatusCode,
    flash: Option<(bool, String)>,
) -> Response {
    let f = frame(app, s);
    let (w, l) = (f.w, s.user.locale);
    let page = match crate::usecases::payments::list_unmatched(
        app,
        &cobro_store::PageRequest::first(cobro_store::MAX_PAGE),
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return server_error(e),
    };
    let mut items = Vec::new();
    for u in &page.items {
        let suggestions = match lists::suggestions(app, u).await {
            Ok(found) => found,
            Err(e) => return server_error(e),
        };
        items.push(QueuedLine {
            id: u.id.to_string(),
            received: cobro_domain::today_in(app.config.business_timezone, u.received_at)
                .to_string(),
            source: format!("{} · {}", u.fact.source, u.fact.payment_id),
            amount: u.fact.amount.format(l),
            target: u.target.clone().unwrap_or_default(),
            reason: match u.reason {
                cobro_domain::UnmatchedReason::UnknownInvoice => w.reason_unknown,
                cobro_domain::UnmatchedReason::CurrencyMismatch => w.reason_currency,
            },
            suggestions: suggestions
                .into_iter()
                .map(|sg| SuggestedLine {
                    id: sg.row.listed.invoice.id.to_string(),
                    number: sg.row.listed.invoice.number.clone(),
                    client: sg.row.client_name.clone(),
                    amount_due: sg.row.listed.listing.amount_due.format(l),
                    due_date: sg.row.listed.listing.due_date.to_string(),
                    why: sg
                        .clues
                        .iter()
                        .map(|c| match c {
                            lists::Clue::Named => w.clue_named,
                            lists::Clue::SameAmount => w.clue_amount,
                            lists::Clue::SameClient => w.clue_client,
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                })
                .collect(),
        });
    }
    render_with(
        status,
        UnmatchedPage {
            w,
            business: f.business,
            me: f.me,
            csrf: f.csrf,
            title: w.unmatched,
            flash,
            items,
            more: page.next.is_some(),
            can_act: s.user.role.can_act(),
        },
    )
}

/// Applies a queued payment to the invoice picked among the suggestions, or typed (its id
/// or payment reference): the ledger entry and the resolution in one write.
async fn apply_unmatched(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<ApplyForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let s = match require_form(&app, &headers, &form.csrf, Role::can_act).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let w = Words::of(s.user.locale);
    let picked = typed(&form.other).or(typed(&form.invoice));
    let refused = |text: &str| Some((false, text.to_string()));
    let Some(picked) = picked else {
        return unmatched_response(
            &app,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            refused(w.pick_invoice),
        )
        .await;
    };
    let invoice = match crate::usecases::ledgers::named_invoice(&app, picked).await {
        Ok(Some(found)) => found.invoice.id,
        Ok(None) => {
            return unmatched_response(
                &app,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                refused(w.no_such_invoice),
            )
            .await;
        }
        Err(e) => return server_error(e),
    };
    let applied = crate::usecases::payments::apply_unmatched(
        &app,
        &s.by(),
        &id,
        invoice.as_str(),
        &crate::usecases::nothing,
    )
    .await;
    match applied {
        Ok(_) => Redirect::to("/console/unmatched?done=applied").into_response(),
        Err(Error::Invalid(e)) => {
            let text = e
                .errors
                .first()
                .map(|f| w.field_error(&f.message))
                .unwrap_or_default();
            unmatched_response(
                &app,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((false, text)),
            )
            .await
        }
        Err(Error::Conflict(_)) => {
            unmatched_response(&app, &s, StatusCode::CONFLICT, refused(w.already_applied)).await
        }
        Err(Error::NotFound(_)) => {
            unmatched_response(&app, &s, StatusCode::NOT_FOUND, refused(w.not_found)).await
        }
        Err(e) => server_error(e),
    }
}

#[derive(Template)]
#[template(path = "console/invoices.html")]
struct InvoicesPage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
    form: ListForm,
    errors: Shown,
    statuses: Vec<(String, String)>,
    buckets: Vec<(&'static str, &'static str)>,
    clients: Vec<(String, String)>,
    currencies: Vec<&'static str>,
    sorts: Vec<(&'static str, &'static str)>,
    rows: Vec<InvoiceLine>,
    filters: String,
    next: Option<String>,
    paged: bool,
}

impl InvoicesPage<'_> {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }

    fn chosen(&self, value: Option<&str>, option: &str) -> bool {
        value == Some(option)
    }
}

/// One invoice of the list, as shown.
struct InvoiceLine {
    id: String,
    number: String,
    client: String,
    concept: String,
    status: &'static str,
    due_date: String,
    days_overdue: String,
    amount_due: String,
    total: String,
    paused_until: Option<String>,
}

impl InvoiceLine {
    fn of(l: Locale, r: &lists::Row) -> Self {
        let inv = &r.listed.invoice;
        InvoiceLine {
            id: inv.id.to_string(),
            number: inv.number.clone(),
            client: r.client_name.clone(),
            concept: inv.concept().to_string(),
            status: cobro_notify::words::status_name(l, r.status),
            due_date: r.listed.listing.due_date.to_string(),
            days_overdue: r.days_overdue.map(|d| d.to_string()).unwrap_or_default(),
            amount_due: r.listed.listing.amount_due.format(l),
            total: inv.total.format(l),
            paused_until: r.paused_until.map(|d| d.to_string()),
        }
    }
}

/// The list a user's filters pick: the filters it could not read are dropped (and named),
/// the rest applied.
async fn checked_list(
    app: &App,
    w: &Words,
    form: &mut ListForm,
) -> Result<(lists::Checked, Vec<(String, String)>), Error> {
    match lists::check(app, &form.filters).await {
        Ok(c) => Ok((c, Vec::new())),
        Err(Error::Invalid(e)) => {
            let mut errors = Vec::new();
            for f in e.errors {
                form.filters.clear(&f.field);
                errors.push((f.field.clone(), w.field_error(&f.message)));
            }
            Ok((lists::check(app, &form.filters).await?, errors))
        }
        Err(e) => Err(e),
    }
}

/// The invoices across clients, filtered, sorted, 25 at a time; an exact invoice id or
/// payment reference typed alone opens that invoice.
async fn invoices_page(
    State(app): State<App>,
    headers: HeaderMap,
    Query(mut form): Query<ListForm>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if let Some(q) = form.filters.only_text().filter(|_| form.after.is_none()) {
        match crate::usecases::ledgers::named_invoice(&app, q).await {
            Ok(Some(found)) => {
                let id = found.invoice.id;
                return Redirect::to(&format!("/console/invoices/{id}")).into_response();
            }
            Ok(None) => {}
            Err(e) => return server_error(e),
        }
    }
    let f = frame(&app, &s);
    let (w, l) = (f.w, s.user.locale);
    let (checked, errors) = match checked_list(&app, w, &mut form).await {
        Ok(found) => found,
        Err(e) => return server_error(e),
    };
    // A cursor that is not ours shows the first page.
    let mut ignored = FieldErrors::new();
    let page = super::paging::page_of(Some("25"), form.after.as_deref(), &mut ignored);
    let page = if ignored.is_empty() {
        page
    } else {
        cobro_store::PageRequest::first(25)
    };
    let listed = match lists::page(&app, &checked, &page).await {
        Ok(listed) => listed,
        Err(e) => return server_error(e),
    };
    let clients = match client_choices(&app).await {
        Ok(c) => c,
        Err(e) => return server_error(e),
    };
    let rows = listed.rows.iter().map(|r| InvoiceLine::of(l, r)).collect();
    let next = listed.next.map(|n| {
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(n);
        serde_urlencoded::to_string([("after", cursor)]).unwrap_or_default()
    });
    render(InvoicesPage {
        w,
        business: f.business,
        me: f.me,
        csrf: f.csrf,
        title: w.invoices,
        filters: form.encoded(),
        paged: page.after.is_some(),
        statuses: std::iter::once((
            "open,partially_paid,escalated,disputed".to_string(),
            w.owed.to_string(),
        ))
        .chain(lists::STATUSES.iter().map(|st| {
            (
                st.as_str().to_string(),
                cobro_notify::words::status_name(l, *st).to_string(),
            )
        }))
        .collect(),
        buckets: vec![
            ("current", w.current),
            ("1-30", w.days_1_30),
            ("31-60", w.days_31_60),
            ("61-90", w.days_61_90),
            ("90+", w.days_90),
        ],
        clients,
        currencies: vec!["CLP", "MXN", "COP", "ARS", "BRL", "PEN", "USD", "EUR"],
        sorts: vec![
            ("due_date", w.sort_due),
            ("-due_date", w.sort_due_desc),
            ("amount_due", w.sort_amount),
            ("-amount_due", w.sort_amount_desc),
        ],
        rows,
        next,
        form,
        errors: Shown(errors),
    })
}

/// The list the same filters pick, whole, as CSV (in the user's language; ready for a
/// spreadsheet set to Spanish when that is theirs).
async fn invoices_csv(
    State(app): State<App>,
    headers: HeaderMap,
    Query(mut form): Query<ListForm>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let w = Words::of(s.user.locale);
    let (checked, _) = match checked_list(&app, w, &mut form).await {
        Ok(found) => found,
        Err(e) => return server_error(e),
    };
    let format = crate::usecases::reports::CsvFormat {
        locale: s.user.locale,
        excel: s.user.locale == Locale::Es,
    };
    match lists::csv(&app, &checked, format).await {
        Ok(body) => super::reports::csv_response("invoices.csv", body),
        Err(e) => server_error(e),
    }
}

#[derive(Template)]
#[template(path = "console/invoice.html")]
struct InvoicePage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: String,
    id: String,
    number: String,
    client_name: String,
    status: String,
    amount_due: String,
    due_date: String,
    currency: &'static str,
    paused_until: Option<String>,
    next_action: Option<String>,
    lines: Vec<(String, String, String)>,
    total: String,
    timeline: Vec<(String, cobro_notify::console::TimelineLine)>,
    /// What people, keys and the client did on it, newest first.
    activity: Vec<log::ActivityRow>,
    /// Its promises and plans, and how each stands.
    arrangements: Vec<String>,
    /// Promises and plans can be made on it: still chased and not escalated.
    can_arrange: bool,
    messages: Vec<(String, String, &'static str)>,
    can_act: bool,
    /// Still chased (open or partially paid): it can be voided or given more time.
    open: bool,
    methods: Vec<(&'static str, &'static str)>,
    flash: Option<(bool, String)>,
    form: InvoiceForm,
    errors: Shown,
}

impl InvoicePage<'_> {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

/// What the invoice page's forms post (each form sends its part).
#[derive(Deserialize, Default, Clone)]
struct InvoiceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    void_reason: String,
    #[serde(default)]
    void_message: String,
    #[serde(default)]
    new_due: String,
    #[serde(default)]
    ext_reason: String,
    #[serde(default)]
    ext_message: String,
    #[serde(default)]
    promise_date: String,
    #[serde(default)]
    promise_amount: String,
    #[serde(default)]
    plan_count: String,
    #[serde(default)]
    plan_first: String,
}

/// A use case's field errors under the names of the form that sent them.
fn renamed(e: Error, names: &[(&str, &str)]) -> Error {
    match e {
        Error::Invalid(errors) => {
            let mut out = FieldErrors::new();
            for f in errors.errors {
                // A name ending in `*` stands for every field it begins (`instalments[0]…`).
                let field = names
                    .iter()
                    .find(|(from, _)| match from.strip_suffix('*') {
                        Some(prefix) => f.field.starts_with(prefix),
                        None => *from == f.field,
                    })
                    .map_or(f.field.clone(), |(_, to)| to.to_string());
                out.add(field, f.message);
            }
            Error::Invalid(out)
        }
        e => e,
    }
}

/// Text typed in a form: `None` when left empty.
fn typed(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn invoice_page(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let w = Words::of(s.user.locale);
    let flash = match q.done.as_deref() {
        Some("paid") => Some((true, w.done_paid.to_string())),
        Some("paused") => Some((true, w.done_paused.to_string())),
        Some("resumed") => Some((true, w.done_resumed.to_string())),
        Some("voided") => Some((true, w.done_voided.to_string())),
        Some("extended") => Some((true, w.done_extended.to_string())),
        Some("promised") => Some((true, w.done_promised.to_string())),
        Some("created") => Some((true, w.done_created.to_string())),
        Some("planned") => Some((true, w.done_planned.to_string())),
        Some("revoked") => Some((true, w.done_revoked.to_string())),
        _ => None,
    };
    invoice_response(
        &app,
        &s,
        &id,
        StatusCode::OK,
        flash,
        InvoiceForm::default(),
        None,
    )
    .await
}

/// The invoice page for `s`'s user, with a form's values and errors when one was refused.
async fn invoice_response(
    app: &App,
    s: &Signed,
    id: &str,
    status: StatusCode,
    flash: Option<(bool, String)>,
    form: InvoiceForm,
    errors: Option<&FieldErrors>,
) -> Response {
    let f = frame(app, s);
    let w = f.w;
    let l = s.user.locale;
    let stored = match crate::usecases::invoicing::invoice(app, id).await {
        Ok(stored) => stored,
        Err(Error::NotFound(_)) => return not_found_page(app, s),
        Err(e) => return server_error(e),
    };
    let inv = &stored.invoice;
    let now = app.now();
    let balance = match cobro_domain::ledger::balance(&inv.total, &stored.entries) {
        Ok(b) => b,
        Err(e) => return server_error(e),
    };
    let today = cobro_domain::today_in(inv.timezone, now);
    let due_date = cobro_domain::arrangement::arrangements(inv, &stored.entries, now)
        .map(|a| a.due_date)
        .unwrap_or(inv.due_date);
    let late = cobro_domain::calendar::days_between(due_date, today);
    let shown_status = cobro_domain::dunning::status(&balance, &stored.stages);
    let client_name = match app.store.client(&inv.client_id).await {
        Ok(c) => c.map(|c| c.name).unwrap_or_default(),
        Err(e) => return server_error(e),
    };
    let local = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&inv.timezone)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let mut entries = stored.entries.clone();
    entries.sort_by_key(|e| e.seq);
    let timeline = entries
        .iter()
        .map(|e| (local(e.at), cobro_notify::console::timeline_line(l, e)))
        .collect();
    let filter = cobro_store::AuditFilter::Invoice(inv.id.clone());
    let recent = cobro_store::PageRequest::first(cobro_store::MAX_PAGE);
    let activity = match crate::usecases::audit::log(app, &filter, &recent).await {
        Ok(p) => log::rows(l, inv.timezone, &p.items),
        Err(e) => return server_error(e),
    };
    let messages = stored
        .stages
        .iter()
        .filter(|r| !r.stage.is_record())
        .map(|r| {
            let state = match (r.status, l) {
                (cobro_domain::StageStatus::Done, _) => "",
                (cobro_domain::StageStatus::Claimed, Locale::Es) => "enviándose",
                (cobro_domain::StageStatus::Claimed, Locale::En) => "being sent",
                (cobro_domain::StageStatus::Failed, Locale::Es) => "falló",
                (cobro_domain::StageStatus::Failed, Locale::En) => "failed",
            };
            (
                local(r.done_at.unwrap_or(r.claimed_at)),
                cobro_notify::words::stage(r, l),
                state,
            )
        })
        .collect();
    let errors = Shown::of(w, errors);
    let mut form = form;
    // A fresh value per page shown: posting the same form twice records one payment.
    form.nonce = secret::new_session_token().expose().to_string();
    render_with(
        status,
        InvoicePage {
            w,
            business: f.business,
            me: f.me,
            csrf: f.csrf,
            title: format!("{} {}", w.invoice, inv.number),
            id: inv.id.to_string(),
            number: inv.number.clone(),
            client_name,
            status: cobro_notify::words::invoice_status(l, shown_status, late, &balance.paid),
            amount_due: balance.amount_due.format(l),
            due_date: l.long_date(due_date),
            currency: inv.currency.code(),
            paused_until: cobro_domain::pause::paused_until(&stored.entries, today)
                .map(|d| l.long_date(d)),
            next_action: stored.next_action_at.map(local),
            lines: inv
                .lines
                .iter()
                .map(|li| {
                    (
                        li.description.clone(),
                        li.quantity.to_string(),
                        li.amount.format(l),
                    )
                })
                .collect(),
            total: inv.total.format(l),
            timeline,
            activity,
            arrangements: cobro_domain::arrangement::arrangements(inv, &stored.entries, now)
                .map(|a| cobro_notify::console::arrangement_lines(l, &a))
                .unwrap_or_default(),
            can_arrange: cobro_domain::listing::chased(balance.status)
                && shown_status != cobro_domain::InvoiceStatus::Escalated,
            messages,
            can_act: s.user.role.can_act(),
            open: cobro_domain::listing::chased(balance.status),
            methods: vec![
                ("transfer", w.transfer),
                ("cash", w.cash),
                ("cheque", w.cheque),
                ("card_terminal", w.card_terminal),
            ],
            flash,
            form,
            errors,
        },
    )
}

/// The answer to a refused invoice form: the page again with the form's values, a
/// message, and each field's problem.
async fn invoice_refused(app: &App, s: &Signed, id: &str, form: InvoiceForm, e: Error) -> Response {
    let w = Words::of(s.user.locale);
    let (status, errors, text) = match e {
        Error::Invalid(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            w.fix_below.to_string(),
        ),
        Error::Conflict(c) => match *c {
            crate::usecases::Conflict::Arrangement(code, _) => (
                StatusCode::CONFLICT,
                FieldErrors::new(),
                cobro_notify::words::refused(s.user.locale, code, &cobro_domain::Terms::default()),
            ),
            crate::usecases::Conflict::DuplicatePayment => (
                StatusCode::CONFLICT,
                FieldErrors::single("reference", w.payment_duplicate),
                w.fix_below.to_string(),
            ),
            _ => (
                StatusCode::CONFLICT,
                FieldErrors::new(),
                w.not_possible.to_string(),
            ),
        },
        Error::NotFound(_) => (
            StatusCode::NOT_FOUND,
            FieldErrors::new(),
            w.not_found.to_string(),
        ),
        e => return server_error(e),
    };
    invoice_response(app, s, id, status, Some((false, text)), form, Some(&errors)).await
}

fn invoice_form(form: Result<Form<InvoiceForm>, FormRejection>) -> InvoiceForm {
    form.map(|Form(f)| f).unwrap_or_default()
}

async fn record_payment(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<InvoiceForm>, FormRejection>,
) -> Response {
    let form = invoice_form(form);
    let s = match require_form(&app, &headers, &form.csrf, Role::can_act).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let amount = match number("amount", &form.amount) {
        Ok(a) => a,
        Err(e) => return invoice_refused(&app, &s, &id, form, e).await,
    };
    let currency = match cobro_domain::InvoiceId::parse(&id) {
        Some(i) => match app.store.invoice(&i).await {
            Ok(Some(stored)) => stored.invoice.currency.code().to_string(),
            Ok(None) => String::new(),
            Err(e) => return server_error(e),
        },
        None => String::new(),
    };
    let input = crate::usecases::payments::ManualPayment {
        method: form.method.clone(),
        amount,
        currency,
        reference: Some(form.reference.trim().to_string()).filter(|r| !r.is_empty()),
    };
    // The same form posted again (a double click, a reload) records nothing more.
    let once = Once::of(&app, &s, &form.nonce);
    let remember = |_: &cobro_store::StoredInvoice| once.record(String::new());
    match crate::usecases::payments::record_manual(
        &app,
        &s.by(),
        &id,
        input,
        crate::usecases::payments::Direction::Received,
        &remember,
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/console/invoices/{id}?done=paid")).into_response(),
        Err(e) if e.is_idempotency_race() => {
            Redirect::to(&format!("/console/invoices/{id}?done=paid")).into_response()
        }
        Err(e) => invoice_refused(&app, &s, &id, form, e).await,
    }
}

/// An invoice form's action, by someone who may act: `run` does it with the form; done,
/// the invoice's page again with `done`'s message; refused, the page with the form's values
/// and its errors (nothing written).
async fn act<Fut>(
    app: &App,
    headers: &HeaderMap,
    id: &str,
    form: Result<Form<InvoiceForm>, FormRejection>,
    done: &str,
    run: impl FnOnce(InvoiceForm, cobro_domain::Actor) -> Fut,
) -> Response
where
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let form = invoice_form(form);
    let s = match require_form(app, headers, &form.csrf, Role::can_act).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    match run(form.clone(), s.by()).await {
        Ok(()) => Redirect::to(&format!("/console/invoices/{id}?done={done}")).into_response(),
        Err(e) => invoice_refused(app, &s, id, form, e).await,
    }
}

/// A form's one-time value (a fresh one on every form shown), remembered for a day with
/// what the form made: the same form posted again finds it, and makes nothing more.
struct Once {
    key: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
}

impl Once {
    fn of(app: &App, s: &Signed, nonce: &str) -> Self {
        Once {
            key: (!nonce.trim().is_empty())
                .then(|| format!("console:{}:{}", s.user.id, secret::digest(nonce))),
            now: app.now(),
        }
    }

    /// The record to write with what the form makes (`made`: its id).
    fn record(&self, made: String) -> Option<cobro_store::IdempotencyRecord> {
        let key = self.key.clone()?;
        Some(cobro_store::IdempotencyRecord {
            fingerprint: key.clone(),
            key,
            status: 303,
            body: made,
            created_at: self.now,
            expires_at: cobro_domain::calendar::later(self.now, chrono::Duration::days(1)),
        })
    }

    /// What the form made when it was posted before (its id), if it was.
    async fn made(&self, app: &App) -> Option<String> {
        let key = self.key.as_deref()?;
        match app.store.idempotency_record(key, self.now).await {
            Ok(found) => found.map(|r| r.body),
            Err(e) => {
                tracing::warn!(error = %e, "a form's first answer could not be read");
                None
            }
        }
    }
}

/// An amount typed in `field`.
fn number(field: &str, value: &str) -> Result<rust_decimal::Decimal, Error> {
    value.trim().parse().map_err(|_| {
        Error::Invalid(FieldErrors::single(
            field,
            "must be a number, like 49990 or 1500.50 (no currency sign, no thousands separator)",
        ))
    })
}

/// Records the client's promise to pay (all that is due, or the amount typed) by a day:
/// the chase waits until then, and the client is sent it in writing.
async fn promise(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<InvoiceForm>, FormRejection>,
) -> Response {
    let (app, id) = (&app, id.as_str());
    act(app, &headers, id, form, "promised", |f, by| async move {
        let date = day("promise_date", &f.promise_date)?;
        let amount = match typed(&f.promise_amount) {
            Some(a) => Some(number("promise_amount", a)?),
            None => None,
        };
        let input = arrangements::Input::Promise(arrangements::PromiseInput {
            date,
            amount,
            currency: None,
        });
        arrangements::request(app, &by, id, input, &crate::usecases::nothing)
            .await
            .map(|_| ())
            .map_err(|e| renamed(e, &[("date", "promise_date"), ("amount", "promise_amount")]))
    })
    .await
}

/// Agrees a plan: what is due split exactly into monthly instalments from a first day
/// (the remainder on the last); the client is sent it.
async fn plan(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<InvoiceForm>, FormRejection>,
) -> Response {
    let (app, id) = (&app, id.as_str());
    act(app, &headers, id, form, "planned", |f, by| async move {
        let count = f.plan_count.trim().parse::<u32>().map_err(|_| {
            Error::Invalid(FieldErrors::single(
                "plan_count",
                "must be a whole number of instalments",
            ))
        })?;
        let input = arrangements::Input::Plan(arrangements::PlanInput {
            instalments: None,
            count: Some(count),
            first_due_date: Some(day("plan_first", &f.plan_first)?),
        });
        arrangements::request(app, &by, id, input, &crate::usecases::nothing)
            .await
            .map(|_| ())
            .map_err(|e| {
                renamed(
                    e,
                    &[
                        ("count", "plan_count"),
                        ("first_due_date", "plan_first"),
                        ("instalments[0].due_date", "plan_first"),
                        ("instalments*", "plan_count"),
                    ],
                )
            })
    })
    .await
}

/// A day typed in `field`.
fn day(field: &str, value: &str) -> Result<chrono::NaiveDate, Error> {
    value
        .trim()
        .parse()
        .map_err(|_| Error::Invalid(FieldErrors::single(field, "must be a date (YYYY-MM-DD)")))
}

async fn pause(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<InvoiceForm>, FormRejection>,
) -> Response {
    let (app, id) = (&app, id.as_str());
    act(app, &headers, id, form, "paused", |f, by| async move {
        let input = arrangements::Input::Pause(arrangements::PauseInput {
            until: day("until", &f.until)?,
            reason: f.reason,
        });
        arrangements::request(app, &by, id, input, &crate::usecases::nothing).await?;
        Ok(())
    })
    .await
}

async fn resume(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<InvoiceForm>, FormRejection>,
) -> Response {
    let (app, id) = (&app, id.as_str());
    act(app, &headers, id, form, "resumed", |_, by| async move {
        let input = arrangements::Input::Resume;
        arrangements::request(app, &by, id, input, &crate::usecases::nothing).await?;
        Ok(())
    })
    .await
}

/// Voids the invoice (what is owed is cancelled, the chase stops; the client is told, with
/// the message when one is written; the reason stays in its history).
async fn void(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<InvoiceForm>, FormRejection>,
) -> Response {
    let (app, id) = (&app, id.as_str());
    act(app, &headers, id, form, "voided", |f, by| async move {
        let (reason, message) = (typed(&f.void_reason), typed(&f.void_message));
        crate::usecases::invoicing::void(app, &by, id, reason, message)
            .await
            .map(|_| ())
            .map_err(|e| renamed(e, &[("reason", "void_reason"), ("message", "void_message")]))
    })
    .await
}

/// Moves the due date (an extension, with the business's reason; the client is told the
/// new date, with the message when one is written).
async fn extend(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<InvoiceForm>, FormRejection>,
) -> Response {
    let (app, id) = (&app, id.as_str());
    act(app, &headers, id, form, "extended", |f, by| async move {
        let input = arrangements::Input::Extension(arrangements::ExtensionInput {
            due_date: day("new_due", &f.new_due)?,
            reason: f.ext_reason.clone(),
            message: typed(&f.ext_message).map(str::to_string),
        });
        arrangements::request(app, &by, id, input, &crate::usecases::nothing)
            .await
            .map(|_| ())
            .map_err(|e| {
                renamed(
                    e,
                    &[
                        ("due_date", "new_due"),
                        ("reason", "ext_reason"),
                        ("message", "ext_message"),
                    ],
                )
            })
    })
    .await
}

/// Revokes every pay link of the invoice (one went to the wrong person): they open the
/// pay page's "not found" from now on.
async fn revoke_links(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<InvoiceForm>, FormRejection>,
) -> Response {
    let (app, id) = (&app, id.as_str());
    act(app, &headers, id, form, "revoked", |_, by| async move {
        crate::usecases::links::revoke(app, &by, id).await?;
        Ok(())
    })
    .await
}

/// A fresh pay link for the invoice, shown this once on the page (only its hash is kept).
async fn new_pay_link(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<InvoiceForm>, FormRejection>,
) -> Response {
    let form = invoice_form(form);
    let s = match require_form(&app, &headers, &form.csrf, Role::can_act).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    match crate::usecases::links::reissue(&app, &s.by(), &id).await {
        Ok((_, url, _)) => {
            let w = Words::of(s.user.locale);
            let flash = Some((true, format!("{} {url}", w.new_link_made)));
            let form = InvoiceForm::default();
            invoice_response(&app, &s, &id, StatusCode::OK, flash, form, None).await
        }
        Err(e) => invoice_refused(&app, &s, &id, form, e).await,
    }
}
