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
use chrono::{DateTime, NaiveDate, Utc};
use cobro_domain::arrangement::{
    self, Arrangements, Outcome, PlanRequest, PromiseRequest, Refusal,
};
use cobro_domain::ledger::{self, Balance};
use cobro_domain::{Client, Invoice, InvoiceStatus, Locale, Money, Party, secret};
use cobro_store::{PageRequest, StoredInvoice};
use rust_decimal::Decimal;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tower::ServiceExt;

use crate::App;
use crate::arrangements::{Ask, NotMade};

pub fn router(app: App) -> Router {
    Router::new()
        .route("/pay/{token}", get(page))
        .route("/pay/{token}/print", get(print))
        .route("/pay/{token}/checkout", post(checkout))
        .route("/pay/{token}/promise", post(promise))
        .route("/pay/{token}/plan", post(plan))
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
    arrangements: Arrangements,
}

impl Opened {
    /// What the pay buttons ask for: the plan's current instalment (what is left of it)
    /// while a plan runs, else the whole amount due.
    fn due_now(&self) -> Money {
        let instalment = self
            .arrangements
            .active_plan()
            .and_then(|p| p.current())
            .and_then(|i| i.amount.checked_sub(&i.paid).ok())
            .filter(|left| left.is_positive() && left.amount() < self.balance.amount_due.amount());
        instalment.unwrap_or(self.balance.amount_due)
    }
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
            let arrangements =
                arrangement::arrangements(&stored.invoice, &stored.entries, app.now())
                    .map_err(server_error)?;
            Ok(Opened {
                client,
                stored,
                balance,
                arrangements,
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
    form: Result<Form<PortalForm>, FormRejection>,
) -> Result<(Opened, PortalForm), Response> {
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
    arranged: &'static str,
    need_time: &'static str,
    promise_intro: &'static str,
    promise_date: &'static str,
    promise_amount: &'static str,
    promise_button: &'static str,
    plan_intro: &'static str,
    plan_button: &'static str,
    plan_title: &'static str,
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
    arranged: "Listo: quedó registrado y te enviamos la confirmación por correo.",
    need_time: "¿Necesitas más tiempo?",
    promise_intro: "Comprométete a pagar en una fecha: hasta entonces no te enviaremos recordatorios de cobro.",
    promise_date: "Pagaré a más tardar el",
    promise_amount: "Monto (vacío: todo el saldo)",
    promise_button: "Comprometer el pago",
    plan_intro: "O paga en cuotas mensuales:",
    plan_button: "Pedir el plan de pago",
    plan_title: "Plan de pago",
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
    arranged: "Done: it is recorded and we have e-mailed you the confirmation.",
    need_time: "Need more time?",
    promise_intro: "Promise to pay by a date: until then we will not send you payment reminders.",
    promise_date: "I will pay by",
    promise_amount: "Amount (empty: the whole balance)",
    promise_button: "Promise to pay",
    plan_intro: "Or pay in monthly instalments:",
    plan_button: "Ask for the payment plan",
    plan_title: "Payment plan",
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
    due_date: NaiveDate,
    b: &Balance,
    status: InvoiceStatus,
    now: DateTime<Utc>,
) -> String {
    let today = cobro_domain::today_in(inv.timezone, now);
    let late = (today - due_date).num_days();
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
    /// The plan's instalments: number, date, amount, state.
    plan_rows: Vec<PlanRow>,
    /// After a post: done, or why not (role=alert).
    flash: Option<(bool, String)>,
    /// The promise form: (earliest, latest) dates, the amount step and the most promisable.
    promise_form: Option<(String, String, String, String)>,
    /// The plan options: (count, label).
    plan_options: Vec<(u32, String)>,
}

/// A plan's instalment on the page: number, date, amount, state.
type PlanRow = (u32, String, String, String);

/// What the page says after a post.
enum Flash {
    None,
    Paid,
    Arranged,
    Refused(String),
}

/// The first instalment of a plan the client asks for: a week from today, or the due date
/// when that is later; then monthly.
fn plan_start(o: &Opened, today: NaiveDate) -> NaiveDate {
    (today + chrono::Days::new(7)).max(o.arrangements.due_date)
}

/// The arrangement in course, in the client's words, and a plan's rows.
fn arrangement_text(l: Locale, a: &Arrangements) -> (Option<String>, Vec<PlanRow>) {
    let es = l == Locale::Es;
    if let Some(plan) = a.active_plan().or_else(|| a.plans.last()) {
        let rows = plan
            .instalments
            .iter()
            .map(|i| {
                let state = match (i.outcome, es) {
                    (Outcome::Kept, true) => "Pagada",
                    (Outcome::Kept, false) => "Paid",
                    (Outcome::Broken, true) => "Impaga",
                    (Outcome::Broken, false) => "Missed",
                    (Outcome::Open, true) => "Pendiente",
                    (Outcome::Open, false) => "Due",
                };
                (
                    i.number,
                    l.long_date(i.due_date),
                    i.amount.format(l),
                    state.to_string(),
                )
            })
            .collect();
        let text = match (plan.outcome, plan.current()) {
            (Outcome::Open, Some(i)) if es => Some(format!(
                "En plan de pago: cuota {} de {}, {}, vence el {}",
                i.number,
                plan.instalments.len(),
                i.amount.format(l),
                l.long_date(i.due_date)
            )),
            (Outcome::Open, Some(i)) => Some(format!(
                "In a payment plan: instalment {} of {}, {}, due {}",
                i.number,
                plan.instalments.len(),
                i.amount.format(l),
                l.long_date(i.due_date)
            )),
            (Outcome::Broken, _) if es => Some(
                "El plan de pago se anuló por una cuota impaga: todo el saldo está vencido.".into(),
            ),
            (Outcome::Broken, _) => Some(
                "The payment plan ended with a missed instalment: the whole balance is due.".into(),
            ),
            _ => None,
        };
        if text.is_some() {
            return (text, rows);
        }
    }
    let open = a.open_promises().last();
    let text = match open {
        Some(p) if es => Some(format!(
            "Compromiso de pago: {} a más tardar el {}",
            p.amount.format(l),
            l.long_date(p.date)
        )),
        Some(p) => Some(format!(
            "Promise to pay: {} by {}",
            p.amount.format(l),
            l.long_date(p.date)
        )),
        None => match a.promises.last() {
            Some(p) if p.outcome == Outcome::Broken && es => Some(format!(
                "Compromiso de pago del {} incumplido.",
                l.long_date(p.date)
            )),
            Some(p) if p.outcome == Outcome::Broken => {
                Some(format!("Promise to pay by {} broken.", l.long_date(p.date)))
            }
            _ => None,
        },
    };
    (text, vec![])
}

/// Why a promise or plan asked on the page was not made, in the client's language.
fn refusal_text(l: Locale, o: &Opened, r: &Refusal, today: NaiveDate) -> String {
    let es = l == Locale::Es;
    let terms = &o.stored.invoice.terms;
    match r {
        Refusal::Invalid(errors) => {
            let field = errors
                .errors
                .first()
                .map(|e| e.field.as_str())
                .unwrap_or("");
            let latest = l.long_date(today + chrono::Days::new(u64::from(terms.promise_max_days)));
            let due = o.balance.amount_due.format(l);
            match field {
                "date" if es => format!("Elige una fecha entre hoy y el {latest}."),
                "date" => format!("Choose a date between today and {latest}."),
                "amount" | "currency" if es => format!(
                    "El monto debe ser mayor que cero y no superar el saldo por comprometer ({due} en total)."
                ),
                "amount" | "currency" => format!(
                    "The amount must be more than zero and at most the balance not yet promised ({due} in all)."
                ),
                _ if es => "Ese plan de pago no es posible para esta factura.".into(),
                _ => "That payment plan is not possible for this invoice.".into(),
            }
        }
        Refusal::Conflict(code, _) => match (*code, es) {
            ("too-many-promises", true) => format!(
                "Ya tienes {} compromisos abiertos en esta factura.",
                terms.max_open_promises
            ),
            ("too-many-promises", false) => format!(
                "You already have {} open promises on this invoice.",
                terms.max_open_promises
            ),
            ("in-a-plan", true) => "Esta factura ya está en un plan de pago.".into(),
            ("in-a-plan", false) => "This invoice is already in a payment plan.".into(),
            ("promise-open", true) => {
                "Tienes un compromiso de pago abierto: el plan puede pedirse cuando venza.".into()
            }
            ("promise-open", false) => {
                "You have an open promise to pay: a plan can follow once its date has passed."
                    .into()
            }
            ("already-promised", true) => "Ya comprometiste todo el saldo de esta factura.".into(),
            ("already-promised", false) => "You have already promised the whole balance.".into(),
            ("plans-not-offered", true) => "Esta factura no admite planes de pago.".into(),
            ("plans-not-offered", false) => {
                "Payment plans are not offered for this invoice.".into()
            }
            (_, true) => "Esta factura no tiene saldo pendiente.".into(),
            (_, false) => "Nothing is due on this invoice.".into(),
        },
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
    let (arrangement, plan_rows) = arrangement_text(l, a);
    let can_arrange = owed
        && status != InvoiceStatus::Escalated
        && a.active_plan().is_none()
        && inv.purpose.is_order();
    let promise_form = (can_arrange && inv.terms.max_open_promises > 0).then(|| {
        let latest = today + chrono::Days::new(u64::from(inv.terms.promise_max_days));
        let step = Decimal::new(1, inv.currency.exponent()).to_string();
        (
            today.to_string(),
            latest.to_string(),
            step,
            b.amount_due.amount().to_string(),
        )
    });
    let plan_options = if can_arrange && a.open_promises().next().is_none() {
        let first = plan_start(o, today);
        (2..=inv.terms.plan_max_instalments)
            .filter_map(|n| {
                let parts = arrangement::split(b.amount_due, n, first)?;
                let amounts: Vec<String> = parts.iter().map(|i| i.amount.format(l)).collect();
                let label = if l == Locale::Es {
                    format!(
                        "{n} cuotas mensuales desde el {}: {}",
                        l.long_date(first),
                        amounts.join(" + ")
                    )
                } else {
                    format!(
                        "{n} monthly instalments from {}: {}",
                        l.long_date(first),
                        amounts.join(" + ")
                    )
                };
                Some((n, label))
            })
            .collect()
    } else {
        vec![]
    };
    let w = words(l);
    let flash = match flash {
        Flash::None => None,
        Flash::Paid => Some((true, w.paid_thanks.to_string())),
        Flash::Arranged => Some((true, w.arranged.to_string())),
        Flash::Refused(why) => Some((false, why.clone())),
    };
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
                status: status_text(l, &s.invoice, s.invoice.due_date, &ob, st, now),
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
    #[serde(default)]
    arranged: Option<String>,
}

async fn page(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    query: axum::extract::Query<Query>,
) -> Response {
    let flash = match (&query.paid, &query.arranged) {
        (Some(_), _) => Flash::Paid,
        (None, Some(_)) => Flash::Arranged,
        _ => Flash::None,
    };
    show(&app, &token, &headers, false, flash).await
}

async fn print(State(app): State<App>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    show(&app, &token, &headers, true, Flash::None).await
}

async fn show(app: &App, token: &str, headers: &HeaderMap, print: bool, flash: Flash) -> Response {
    let opened = match open(app, token).await {
        Ok(o) => o,
        Err(answer) => return answer,
    };
    respond(app, &opened, token, headers, print, &flash, StatusCode::OK).await
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

/// Every form of the page: the CSRF value and what that form asks.
#[derive(Deserialize)]
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
    form: Result<Form<PortalForm>, FormRejection>,
) -> Response {
    let (opened, form) = match open_form(&app, &token, &headers, form).await {
        Ok(o) => o,
        Err(answer) => return answer,
    };
    let b = &opened.balance;
    let due_now = opened.due_now();
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
        amount: due_now,
        success_url: format!("{page}?paid=1"),
        cancel_url: page.clone(),
        idempotency_key: format!(
            "cobro-checkout-{}-{}-{}",
            inv.id,
            opened.stored.ledger_len(),
            due_now.amount()
        ),
    };
    let url = match method.as_str() {
        "stripe" => match app.config.stripe_api_key.current() {
            Some(key) => {
                cobro_providers::checkout::stripe_session(
                    app.http(),
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
                    app.http(),
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

/// The client promises to pay by a date (an amount, or all that is due).
async fn promise(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Result<Form<PortalForm>, FormRejection>,
) -> Response {
    let (opened, form) = match open_form(&app, &token, &headers, form).await {
        Ok(o) => o,
        Err(answer) => return answer,
    };
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
    arrange(&app, &opened, &token, &headers, ask).await
}

/// The client chooses a plan among the options the page offered.
async fn plan(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Result<Form<PortalForm>, FormRejection>,
) -> Response {
    let (opened, form) = match open_form(&app, &token, &headers, form).await {
        Ok(o) => o,
        Err(answer) => return answer,
    };
    let today = cobro_domain::today_in(opened.stored.invoice.timezone, app.now());
    let count = form
        .count
        .as_deref()
        .and_then(|c| c.trim().parse::<u32>().ok());
    let parts = count
        .and_then(|n| arrangement::split(opened.balance.amount_due, n, plan_start(&opened, today)));
    let ask = match parts {
        Some(instalments) => Ok(Ask::Plan(PlanRequest {
            instalments,
            by: Party::Client,
        })),
        None => Err(unreadable("instalments")),
    };
    arrange(&app, &opened, &token, &headers, ask).await
}

/// A field of the page's form that could not be read: refused like a bad value.
fn unreadable(field: &str) -> Refusal {
    Refusal::Invalid(cobro_domain::FieldErrors::single(field, "unreadable"))
}

/// Makes a promise or plan the client asked for; back to the page with a confirmation,
/// or the page again with why not (422 for bad values, 409 when not possible now).
async fn arrange(
    app: &App,
    opened: &Opened,
    token: &str,
    headers: &HeaderMap,
    ask: Result<Ask, Refusal>,
) -> Response {
    let l = opened.client.locale;
    let today = cobro_domain::today_in(opened.stored.invoice.timezone, app.now());
    let made = match ask {
        Ok(ask) => crate::arrangements::make(app, &opened.stored.invoice.id, &ask, &|_| None).await,
        Err(r) => Err(NotMade::Refused(r)),
    };
    match made {
        Ok(_) => secure(Redirect::to(&format!("/pay/{token}?arranged=1")).into_response()),
        Err(NotMade::Refused(r)) => {
            let status = match r {
                Refusal::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                Refusal::Conflict(..) => StatusCode::CONFLICT,
            };
            let why = Flash::Refused(refusal_text(l, opened, &r, today));
            respond(app, opened, token, headers, false, &why, status).await
        }
        Err(NotMade::NoInvoice) => not_found(),
        Err(NotMade::Store(e)) => server_error(e),
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
    let amount = opened.due_now().format(opened.client.locale);
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
    form: Result<Form<PortalForm>, FormRejection>,
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
            "amount": opened.due_now().amount().to_string(),
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
