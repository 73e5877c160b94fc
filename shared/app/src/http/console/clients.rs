//! The clients in the console: the list (tier, what each owes and has overdue per
//! currency; by tier and by a text in the name, e-mail or tax id), a new client, and a
//! client's page (standing and why, contact, credit, deposit, budget and credit limit,
//! their invoices and activity) with its forms: the credit limit and the budget.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use cobro_domain::deposit::ClientStatus;
use cobro_domain::standing::Tier;
use cobro_domain::{AmountInput, FieldErrors, Locale, Money, NewClient, Role, User};
use cobro_notify::console::{TermsWords, Words};
use serde::Deserialize;

use super::log::{ActivityRow, rows as activity_rows};
use super::{
    InvoiceLine, Once, Shown, Signed, forbidden, frame, not_found_page, render_with, require,
    require_form, server_error,
};
use crate::App;
use crate::usecases::invoicing::{self, ClientDetails, ClientQuery};
use crate::usecases::{Conflict, Error, lists};

const PAGE: u32 = 25;

/// Amounts per currency, as one line.
fn amounts(l: Locale, m: &[Money]) -> String {
    m.iter()
        .filter(|m| !m.is_zero())
        .map(|m| m.format(l))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn deposit_status(w: &Words, s: ClientStatus) -> &'static str {
    match s {
        ClientStatus::Active => w.deposit_active,
        ClientStatus::PendingDeposit => w.deposit_pending,
        ClientStatus::DepositOverdue => w.deposit_overdue,
    }
}

fn tier_name(t: Tier) -> &'static str {
    match t {
        Tier::A => "A",
        Tier::B => "B",
        Tier::C => "C",
        Tier::D => "D",
    }
}

/// One client of the list.
pub(super) struct ClientLine {
    id: String,
    name: String,
    tier: &'static str,
    score: u32,
    owes: String,
    overdue: String,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "console/clients.html")]
struct ClientsPage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
    rows: Vec<ClientLine>,
    tier: String,
    q: String,
    /// The filters as a query string, kept on the next page's link.
    filters: String,
    next: Option<String>,
    paged: bool,
    can_act: bool,
}

#[derive(Deserialize, Default, serde::Serialize)]
pub(super) struct ClientsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(default, skip_serializing)]
    after: Option<String>,
}

pub(super) async fn clients_page(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<ClientsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let f = frame(&app, &s);
    let (w, l) = (f.w, s.user.locale);
    let form = query.map(|Query(q)| q).unwrap_or_default();
    // A tier that is not one is left out (the list of every tier).
    let tier = form.tier.as_deref().and_then(Tier::parse);
    let text = form
        .q
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.chars().count() <= 100);
    let q = ClientQuery {
        tier,
        text: text.map(str::to_string),
    };
    let page = cobro_store::PageRequest {
        limit: PAGE,
        after: form.after.clone().filter(|a| a.len() <= 200),
    };
    let (found, next) = match invoicing::find_clients(&app, &q, &page).await {
        Ok(found) => found,
        Err(e) => return server_error(e),
    };
    let rows = found
        .iter()
        .map(|d| ClientLine {
            id: d.client.id.to_string(),
            name: d.client.name.clone(),
            tier: tier_name(d.picture.standing.tier),
            score: d.picture.standing.score,
            owes: amounts(l, &d.balance),
            overdue: amounts(l, &d.overdue),
            status: deposit_status(w, d.status),
        })
        .collect();
    let kept = ClientsQuery {
        tier: tier.map(|t| tier_name(t).to_string()),
        q: text.map(str::to_string),
        after: None,
    };
    let filters = serde_urlencoded::to_string(&kept).unwrap_or_default();
    let next = next.map(|n| {
        let after = serde_urlencoded::to_string([("after", n)]).unwrap_or_default();
        if filters.is_empty() {
            after
        } else {
            format!("{filters}&{after}")
        }
    });
    render_with(
        StatusCode::OK,
        ClientsPage {
            w,
            business: f.business,
            me: f.me,
            csrf: f.csrf,
            title: w.clients,
            rows,
            tier: kept.tier.clone().unwrap_or_default(),
            q: kept.q.clone().unwrap_or_default(),
            filters,
            next,
            paged: page.after.is_some(),
            can_act: s.user.role.can_act(),
        },
    )
}

/// The new-client form as typed.
#[derive(Deserialize, Default, Clone)]
pub(super) struct NewClientForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    tax_id: String,
    #[serde(default)]
    country: String,
}

#[derive(Template)]
#[template(path = "console/new_client.html")]
struct NewClientPage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
    form: NewClientForm,
    errors: Shown,
    flash: Option<String>,
}

impl NewClientPage<'_> {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

fn new_client_response(
    app: &App,
    s: &Signed,
    status: StatusCode,
    mut form: NewClientForm,
    errors: Option<FieldErrors>,
    flash: Option<String>,
) -> Response {
    let f = frame(app, s);
    let w = f.w;
    form.nonce = cobro_domain::secret::new_session_token()
        .expose()
        .to_string();
    let errors = Shown::of(w, errors.as_ref());
    render_with(
        status,
        NewClientPage {
            w,
            business: f.business,
            me: f.me,
            csrf: f.csrf,
            title: w.new_client,
            form,
            errors,
            flash,
        },
    )
}

pub(super) async fn new_client_page(State(app): State<App>, headers: HeaderMap) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if !s.user.role.can_act() {
        return forbidden(&app, &s);
    }
    let form = NewClientForm {
        locale: app.config.business_locale.code().into(),
        timezone: app.config.business_timezone.name().into(),
        ..NewClientForm::default()
    };
    new_client_response(&app, &s, StatusCode::OK, form, None, None)
}

pub(super) async fn create_client(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<NewClientForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let s = match require_form(&app, &headers, &form.csrf, Role::can_act).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let w = Words::of(s.user.locale);
    let typed = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let input = NewClient {
        name: form.name.clone(),
        email: form.email.clone(),
        phone: typed(&form.phone),
        locale: typed(&form.locale),
        timezone: typed(&form.timezone),
        tax_id: typed(&form.tax_id),
        country: typed(&form.country),
        ..NewClient::default()
    };
    // Posted again (a double click, a reload), the form opens the client it made.
    let once = Once::of(&app, &s, &form.nonce);
    if let Some(first) = once.made(&app).await {
        return Redirect::to(&format!("/console/clients/{first}")).into_response();
    }
    let remember = |c: &cobro_domain::Client, _: Option<(&cobro_domain::Invoice, &str)>| {
        once.record(c.id.to_string())
    };
    let created = invoicing::create_client(&app, &s.by(), &input, &remember).await;
    let (status, errors, flash) = match created {
        Ok(made) => {
            let to = format!("/console/clients/{}?done=created", made.client.id);
            return Redirect::to(&to).into_response();
        }
        Err(e) if e.is_idempotency_race() => {
            let to = once.made(&app).await.unwrap_or_default();
            return Redirect::to(&format!("/console/clients/{to}")).into_response();
        }
        Err(Error::Invalid(e)) => (StatusCode::UNPROCESSABLE_ENTITY, e, w.fix_below.to_string()),
        Err(Error::Conflict(c)) => match *c {
            Conflict::DuplicateTaxId(first) => (
                StatusCode::CONFLICT,
                FieldErrors::single("tax_id", format!("{}: {}", w.tax_id_taken, first.name)),
                w.fix_below.to_string(),
            ),
            _ => (
                StatusCode::CONFLICT,
                FieldErrors::new(),
                w.not_possible.to_string(),
            ),
        },
        Err(e) => return server_error(e),
    };
    new_client_response(&app, &s, status, form, Some(errors), Some(flash))
}

#[derive(Template)]
#[template(path = "console/client.html")]
struct ClientPage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: String,
    id: String,
    client: cobro_domain::Client,
    language: &'static str,
    tier: &'static str,
    score: u32,
    history: bool,
    reasons: Vec<String>,
    owes: String,
    overdue: String,
    credit: String,
    status: &'static str,
    open_deposit: Option<(String, String)>,
    budget: String,
    credit_limit: String,
    available: String,
    invoices: Vec<InvoiceLine>,
    more_invoices: bool,
    activity: Vec<ActivityRow>,
    tw: &'static cobro_notify::console::TermsWords,
    terms: Vec<(&'static str, String)>,
    can_act: bool,
    flash: Option<(bool, String)>,
    form: LimitForm,
    errors: Shown,
}

impl ClientPage<'_> {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

/// The client page's forms (each sends its part).
#[derive(Deserialize, Default, Clone)]
pub(super) struct LimitForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    credit_limit: String,
    #[serde(default)]
    budget: String,
    /// The currency of the amount typed.
    #[serde(default)]
    currency: String,
}

pub(super) async fn client_page(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<super::DoneQuery>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let w = Words::of(s.user.locale);
    let flash = match q.done.as_deref() {
        Some("created") => Some((true, w.done_client.to_string())),
        Some("limit") => Some((true, w.done_limit.to_string())),
        Some("budget") => Some((true, w.done_budget.to_string())),
        Some("edited") => Some((true, TermsWords::of(s.user.locale).done.to_string())),
        _ => None,
    };
    let status = StatusCode::OK;
    client_response(&app, &s, &id, status, flash, LimitForm::default(), None).await
}

async fn client_response(
    app: &App,
    s: &Signed,
    id: &str,
    status: StatusCode,
    flash: Option<(bool, String)>,
    form: LimitForm,
    errors: Option<FieldErrors>,
) -> Response {
    let f = frame(app, s);
    let (w, l) = (f.w, s.user.locale);
    let d: ClientDetails = match invoicing::client_details(app, id).await {
        Ok(d) => d,
        Err(Error::NotFound(_)) => return not_found_page(app, s),
        Err(e) => return server_error(e),
    };
    let c = &d.client;
    // Their latest invoices, as the lists show them.
    let query = lists::ListQuery {
        client_id: Some(c.id.to_string()),
        sort: Some("-due_date".into()),
        ..lists::ListQuery::default()
    };
    let listed = match lists::check(app, &query).await {
        Ok(checked) => lists::page(app, &checked, &cobro_store::PageRequest::first(PAGE)).await,
        Err(e) => Err(e),
    };
    let listed = match listed {
        Ok(p) => p,
        Err(e) => return server_error(e),
    };
    let invoices_currency = listed.rows.first().map(|r| r.listed.invoice.currency);
    let invoices: Vec<InvoiceLine> = listed.rows.iter().map(|r| InvoiceLine::of(l, r)).collect();
    let more_invoices = listed.next.is_some();
    let filter = cobro_store::AuditFilter::Client(c.id.clone());
    let recent = cobro_store::PageRequest::first(PAGE);
    let activity = match crate::usecases::audit::log(app, &filter, &recent).await {
        Ok(p) => activity_rows(l, app.config.business_timezone, &p.items),
        Err(e) => return server_error(e),
    };
    let available = crate::usecases::standing::available(c, &d.picture.outstanding);
    let tier = Some(d.picture.standing.tier);
    let terms = crate::usecases::standing::client_terms(app, c, tier, &mut FieldErrors::new());
    // The currency of the client's amounts, else of what they owe, else of their latest
    // invoice: what a limit or budget typed here is in (it can be changed).
    let currency = c
        .currency()
        .or(d.balance.first().map(|m| m.currency()))
        .or(invoices_currency)
        .map_or("CLP", |c| c.code());
    let mut form = form;
    if form.currency.trim().is_empty() {
        form.currency = currency.to_string();
    }
    let errors = Shown::of(w, errors.as_ref());
    render_with(
        status,
        ClientPage {
            w,
            business: f.business,
            me: f.me,
            csrf: f.csrf,
            title: c.name.clone(),
            id: c.id.to_string(),
            language: if c.locale == Locale::Es {
                "español"
            } else {
                "English"
            },
            tier: tier_name(d.picture.standing.tier),
            score: d.picture.standing.score,
            history: d.picture.standing.history,
            reasons: cobro_notify::words::standing_reasons(&d.picture.standing, l),
            owes: amounts(l, &d.balance),
            overdue: amounts(l, &d.overdue),
            credit: amounts(l, &d.credit),
            status: deposit_status(w, d.status),
            open_deposit: d
                .open_deposit
                .as_ref()
                .map(|i| (i.id.to_string(), i.number.clone())),
            budget: c.budget.map(|b| b.format(l)).unwrap_or_default(),
            credit_limit: c.credit_limit.map(|m| m.format(l)).unwrap_or_default(),
            available: available.map(|m| m.format(l)).unwrap_or_default(),
            invoices,
            more_invoices,
            activity,
            tw: TermsWords::of(l),
            terms: cobro_notify::console::terms_in_effect(&terms, l),
            can_act: s.user.role.can_act(),
            flash,
            form,
            errors,
            client: d.client.clone(),
        },
    )
}

/// A client form's action, by someone who may act: done, the page with `done`'s message;
/// refused, the page with the form's values and its errors (nothing written).
async fn act_on_client(
    app: &App,
    headers: &HeaderMap,
    id: &str,
    form: Result<Form<LimitForm>, FormRejection>,
    done: &str,
    run: impl AsyncFnOnce(&LimitForm, cobro_domain::Actor) -> Result<(), Error>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let s = match require_form(app, headers, &form.csrf, Role::can_act).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let w = Words::of(s.user.locale);
    let (status, errors, text) = match run(&form, s.by()).await {
        Ok(()) => {
            return Redirect::to(&format!("/console/clients/{id}?done={done}")).into_response();
        }
        Err(Error::Invalid(e)) => (StatusCode::UNPROCESSABLE_ENTITY, e, w.fix_below.to_string()),
        Err(Error::Conflict(c)) => match *c {
            Conflict::BudgetBelowInvoiced { invoiced } => (
                StatusCode::CONFLICT,
                FieldErrors::single(
                    "budget",
                    format!("must be at least {} (already invoiced)", invoiced.amount()),
                ),
                w.fix_below.to_string(),
            ),
            _ => (
                StatusCode::CONFLICT,
                FieldErrors::new(),
                w.not_possible.to_string(),
            ),
        },
        Err(Error::NotFound(_)) => return not_found_page(app, &s),
        Err(e) => return server_error(e),
    };
    client_response(app, &s, id, status, Some((false, text)), form, Some(errors)).await
}

/// An amount typed in `field`, in the form's currency (`None`: left empty).
fn typed_amount(f: &LimitForm, field: &str, value: &str) -> Result<Option<AmountInput>, Error> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let amount = super::number(field, value)?;
    Ok(Some(AmountInput {
        amount,
        currency: f.currency.trim().to_ascii_uppercase(),
    }))
}

/// The API's `credit_limit.amount` / `budget.amount` under the form's field.
fn on_field(e: Error, field: &str) -> Error {
    match e {
        Error::Invalid(errors) => {
            let mut out = FieldErrors::new();
            for f in errors.errors {
                let to = if f.field.ends_with(".currency") {
                    "currency"
                } else {
                    field
                };
                out.add(to, f.message);
            }
            Error::Invalid(out)
        }
        e => e,
    }
}

pub(super) async fn set_credit_limit(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<LimitForm>, FormRejection>,
) -> Response {
    let (app, id) = (&app, id.as_str());
    act_on_client(app, &headers, id, form, "limit", async |f, by| {
        let input = typed_amount(f, "credit_limit", &f.credit_limit)?;
        invoicing::set_credit_limit(app, &by, id, input.as_ref())
            .await
            .map_err(|e| on_field(e, "credit_limit"))?;
        Ok(())
    })
    .await
}

pub(super) async fn set_budget(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<LimitForm>, FormRejection>,
) -> Response {
    let (app, id) = (&app, id.as_str());
    act_on_client(app, &headers, id, form, "budget", async |f, by| {
        let Some(input) = typed_amount(f, "budget", &f.budget)? else {
            return Err(Error::Invalid(FieldErrors::single(
                "budget",
                "must not be empty",
            )));
        };
        crate::usecases::deposits::set_budget(app, &by, id, &input)
            .await
            .map_err(|e| on_field(e, "budget"))?;
        Ok(())
    })
    .await
}
