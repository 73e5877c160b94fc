//! The new-invoice form (`/console/invoices/new`): a client, up to five lines, tax, the
//! due date, and whether to e-mail it now. It goes through the API's use case, so its
//! checks and messages are the API's, shown field by field in the person's language; a
//! refused form comes back with what was typed and writes nothing. Each form carries a
//! one-time value: posted twice (a double click, a reload), it makes one invoice.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use cobro_domain::invoice::NewLine;
use cobro_domain::{FieldErrors, NewInvoice, Role, User, secret};
use cobro_notify::console::{NotInvoiced, Words, not_invoiced};
use rust_decimal::Decimal;

use super::{
    Once, Shown, Signed, client_choices, forbidden, frame, render_with, require, require_form,
    server_error,
};
use crate::App;
use crate::usecases::{Conflict, Error};

/// Lines the form offers (without JavaScript, a fixed number).
const LINES: usize = 5;

/// The currencies offered first (any ISO 4217 code the API takes may be typed instead).
const CURRENCIES: [&str; 6] = ["CLP", "USD", "MXN", "COP", "ARS", "BRL"];

/// One line of the form, as typed.
#[derive(Clone, Default)]
pub(super) struct LineForm {
    description: String,
    quantity: String,
    unit_amount: String,
}

/// The form as typed.
#[derive(Clone, Default)]
pub(super) struct InvoiceForm {
    csrf: String,
    nonce: String,
    client_id: String,
    currency: String,
    lines: Vec<LineForm>,
    tax_rate: String,
    due_date: String,
    send: bool,
}

impl InvoiceForm {
    /// An empty form: its lines, to be e-mailed when made.
    fn blank() -> Self {
        InvoiceForm {
            lines: vec![LineForm::default(); LINES],
            send: true,
            ..InvoiceForm::default()
        }
    }

    fn read(fields: Vec<(String, String)>) -> Self {
        let mut f = InvoiceForm {
            send: false,
            ..InvoiceForm::blank()
        };
        for (k, v) in fields {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "nonce" => f.nonce = v,
                "client_id" => f.client_id = v,
                "currency" => f.currency = v,
                "tax_rate" => f.tax_rate = v,
                "due_date" => f.due_date = v,
                "send" => f.send = v == "1",
                other => {
                    // line{k}_description, line{k}_quantity, line{k}_unit_amount
                    let Some((n, what)) = other
                        .strip_prefix("line")
                        .and_then(|rest| rest.split_once('_'))
                    else {
                        continue;
                    };
                    let Some(line) = n.parse::<usize>().ok().and_then(|n| f.lines.get_mut(n))
                    else {
                        continue;
                    };
                    match what {
                        "description" => line.description = v,
                        "quantity" => line.quantity = v,
                        "unit_amount" => line.unit_amount = v,
                        _ => {}
                    }
                }
            }
        }
        f
    }

    /// The API's request, with the form's field name of each line the API will name
    /// (`lines[j]` is the form's line `rows[j]`), or the fields that are not numbers.
    fn request(&self) -> Result<(NewInvoice, Vec<usize>), FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut lines = Vec::new();
        let mut rows = Vec::new();
        let number = |errors: &mut FieldErrors, field: String, v: &str| -> Decimal {
            v.trim().parse().unwrap_or_else(|_| {
                errors.add(
                    field,
                    "must be a number, like 49990 or 1500.50 (no currency sign, no thousands separator)",
                );
                Decimal::ZERO
            })
        };
        for (k, l) in self.lines.iter().enumerate() {
            let typed = [&l.description, &l.quantity, &l.unit_amount];
            if typed.iter().all(|v| v.trim().is_empty()) {
                continue;
            }
            let quantity = if l.quantity.trim().is_empty() {
                Decimal::ONE
            } else {
                number(&mut errors, format!("line{k}_quantity"), &l.quantity)
            };
            let unit_amount = number(&mut errors, format!("line{k}_unit_amount"), &l.unit_amount);
            lines.push(NewLine {
                description: l.description.clone(),
                quantity,
                unit_amount,
            });
            rows.push(k);
        }
        let tax_rate = match self.tax_rate.trim() {
            "" => None,
            t => Some(number(&mut errors, "tax_rate".into(), t)),
        };
        let due_date = match self.due_date.trim() {
            "" => None,
            d => d.parse().map(Some).unwrap_or_else(|_| {
                errors.add("due_date", "must be a date (YYYY-MM-DD)");
                None
            }),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let request = NewInvoice {
            client_id: self.client_id.trim().to_string(),
            currency: self.currency.trim().to_ascii_uppercase(),
            lines,
            tax_rate,
            issue_date: None,
            due_date,
            days_until_due: None,
            terms: None,
            send: self.send,
        };
        Ok((request, rows))
    }
}

/// The API's field errors under the form's names.
fn on_form(errors: FieldErrors, rows: &[usize]) -> FieldErrors {
    let mut out = FieldErrors::new();
    for e in errors.errors {
        let field = match e.field.strip_prefix("lines[") {
            Some(rest) => match rest.split_once("].") {
                Some((j, what)) => match j.parse::<usize>().ok().and_then(|j| rows.get(j)) {
                    Some(k) => format!("line{k}_{what}"),
                    None => "lines".into(),
                },
                None => "lines".into(),
            },
            None => e.field,
        };
        out.add(field, e.message);
    }
    out
}

#[derive(Template)]
#[template(path = "console/new_invoice.html")]
struct NewInvoicePage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
    clients: Vec<(String, String)>,
    currencies: Vec<&'static str>,
    form: InvoiceForm,
    errors: Shown,
    flash: Option<String>,
}

impl NewInvoicePage<'_> {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }

    fn line_error(&self, k: &usize, what: &str) -> Option<&str> {
        self.error(&format!("line{k}_{what}"))
    }
}

async fn page(
    app: &App,
    s: &Signed,
    status: StatusCode,
    mut form: InvoiceForm,
    errors: Option<FieldErrors>,
    flash: Option<String>,
) -> Response {
    let f = frame(app, s);
    let w = f.w;
    let clients = match client_choices(app).await {
        Ok(c) => c,
        Err(e) => return server_error(e),
    };
    // The client chosen (from their page) is offered even when not among the newest.
    let mut clients = clients;
    if let Some(id) = cobro_domain::ClientId::parse(form.client_id.trim())
        && !clients.iter().any(|(c, _)| *c == id.as_str())
    {
        match app.store.client(&id).await {
            Ok(Some(c)) => clients.insert(0, (c.id.to_string(), c.name)),
            Ok(None) => {}
            Err(e) => return server_error(e),
        }
    }
    if form.currency.is_empty() {
        form.currency = CURRENCIES[0].into();
    }
    // A fresh value per form shown: posting the same form twice makes one invoice.
    form.nonce = secret::new_session_token().expose().to_string();
    let errors = Shown::of(w, errors.as_ref());
    render_with(
        status,
        NewInvoicePage {
            w,
            business: f.business,
            me: f.me,
            csrf: f.csrf,
            title: w.new_invoice,
            clients,
            currencies: CURRENCIES.to_vec(),
            form,
            errors,
            flash,
        },
    )
}

#[derive(serde::Deserialize, Default)]
pub(super) struct Prefill {
    #[serde(default)]
    client_id: Option<String>,
}

pub(super) async fn new_invoice_page(
    State(app): State<App>,
    headers: HeaderMap,
    Query(prefill): Query<Prefill>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if !s.user.role.can_act() {
        return forbidden(&app, &s);
    }
    let form = InvoiceForm {
        client_id: prefill.client_id.unwrap_or_default(),
        ..InvoiceForm::blank()
    };
    page(&app, &s, StatusCode::OK, form, None, None).await
}

pub(super) async fn create_invoice(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let form = InvoiceForm::read(form.map(|Form(f)| f).unwrap_or_default());
    let s = match require_form(&app, &headers, &form.csrf, Role::can_act).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let w = Words::of(s.user.locale);
    let (request, rows) = match form.request() {
        Ok(r) => r,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let flash = Some(w.fix_below.to_string());
            return page(&app, &s, status, form, Some(errors), flash).await;
        }
    };
    // Posted again, the form opens the invoice it made the first time.
    let once = Once::of(&app, &s, &form.nonce);
    if let Some(first) = once.made(&app).await {
        return Redirect::to(&format!("/console/invoices/{first}")).into_response();
    }
    let remember =
        |stored: &cobro_store::StoredInvoice, _: &str| once.record(stored.invoice.id.to_string());
    let created =
        crate::usecases::invoicing::create_invoice(&app, &s.by(), &request, &remember).await;
    let l = s.user.locale;
    let (status, errors, flash) = match created {
        Ok(issued) => {
            let to = format!("/console/invoices/{}?done=created", issued.invoice.id);
            return Redirect::to(&to).into_response();
        }
        Err(e) if e.is_idempotency_race() => {
            return match once.made(&app).await {
                Some(first) => Redirect::to(&format!("/console/invoices/{first}")).into_response(),
                None => Redirect::to("/console/invoices").into_response(),
            };
        }
        Err(Error::Invalid(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            on_form(errors, &rows),
            w.fix_below.to_string(),
        ),
        Err(Error::Conflict(c)) => {
            let why = match &*c {
                Conflict::DepositRequired(d) => Some(NotInvoiced::DepositFirst {
                    number: &d.invoice.number,
                    amount: d.amount.format(l),
                }),
                Conflict::OverBudget { left, total, .. } => Some(NotInvoiced::OverBudget {
                    left: left.format(l),
                    total: total.format(l),
                }),
                Conflict::OverCreditLimit { left, total, .. } => {
                    Some(NotInvoiced::OverCreditLimit {
                        left: left.format(l),
                        total: total.format(l),
                    })
                }
                Conflict::RestrictedTier(_) => Some(NotInvoiced::NoCredit),
                _ => None,
            };
            let why = why.map_or_else(|| w.not_possible.to_string(), |n| not_invoiced(l, &n));
            (StatusCode::CONFLICT, FieldErrors::new(), why)
        }
        Err(e) => return server_error(e),
    };
    page(&app, &s, status, form, Some(errors), Some(flash)).await
}
