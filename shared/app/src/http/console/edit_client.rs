//! Changing a client's contact and collection terms (`/console/clients/{id}/edit`): the
//! form is the API's `PATCH /v1/clients/{id}` ([`invoicing::update_client`]) field by
//! field, its names the API's (`terms.grace_days`), so the API's messages land on the
//! field they are about. A terms field left empty follows the business's policy.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveTime, Weekday};
use cobro_domain::calendar::BusinessHours;
use cobro_domain::invoice::{DiscountInput, LateFeeInput, LateFeeKind, Recurrence};
use cobro_domain::{Client, ClientChanges, FieldErrors, Role, TermsInput, User};
use cobro_notify::console::{TermsWords, Words};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{
    Shown, Signed, forbidden, frame, not_found_page, render_with, require, require_form,
    server_error, typed,
};
use crate::App;
use crate::usecases::ledgers::find_client;
use crate::usecases::{Error, invoicing};

const WEEK: [(Weekday, &str); 7] = [
    (Weekday::Mon, "mon"),
    (Weekday::Tue, "tue"),
    (Weekday::Wed, "wed"),
    (Weekday::Thu, "thu"),
    (Weekday::Fri, "fri"),
    (Weekday::Sat, "sat"),
    (Weekday::Sun, "sun"),
];

/// The form as typed; every field a string so what was typed comes back as it was.
#[derive(Deserialize, Default, Clone)]
pub(super) struct EditForm {
    #[serde(default)]
    csrf: String,
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
    #[serde(default, rename = "terms.grace_days")]
    grace_days: String,
    #[serde(default, rename = "terms.reminder_offsets")]
    reminder_offsets: String,
    #[serde(default, rename = "terms.escalate_after_days")]
    escalate_after_days: String,
    /// "" (the business's), `none`, `percent` or `fixed`.
    #[serde(default, rename = "terms.late_fee")]
    late_fee: String,
    #[serde(default, rename = "terms.late_fee.value")]
    fee_value: String,
    /// `once` or `monthly`.
    #[serde(default, rename = "terms.late_fee.recurrence")]
    fee_recurrence: String,
    #[serde(default, rename = "terms.late_fee.cap")]
    fee_cap: String,
    #[serde(default, rename = "terms.late_fee.notice_days")]
    fee_notice_days: String,
    /// "" (the business's), `none` or `custom`.
    #[serde(default, rename = "terms.early_payment_discount")]
    discount: String,
    #[serde(default, rename = "terms.early_payment_discount.percent")]
    discount_percent: String,
    #[serde(default, rename = "terms.early_payment_discount.within_days")]
    discount_days: String,
    /// "" (the business's) or `custom`.
    #[serde(default, rename = "terms.business_hours")]
    hours: String,
    #[serde(default, rename = "terms.business_hours.start")]
    hours_start: String,
    #[serde(default, rename = "terms.business_hours.end")]
    hours_end: String,
    #[serde(default, rename = "terms.business_hours.mon")]
    mon: Option<String>,
    #[serde(default, rename = "terms.business_hours.tue")]
    tue: Option<String>,
    #[serde(default, rename = "terms.business_hours.wed")]
    wed: Option<String>,
    #[serde(default, rename = "terms.business_hours.thu")]
    thu: Option<String>,
    #[serde(default, rename = "terms.business_hours.fri")]
    fri: Option<String>,
    #[serde(default, rename = "terms.business_hours.sat")]
    sat: Option<String>,
    #[serde(default, rename = "terms.business_hours.sun")]
    sun: Option<String>,
    #[serde(default, rename = "terms.promise_max_days")]
    promise_max_days: String,
    #[serde(default, rename = "terms.max_open_promises")]
    max_open_promises: String,
    #[serde(default, rename = "terms.plan_max_instalments")]
    plan_max_instalments: String,
    #[serde(default, rename = "terms.plan_max_days_overdue")]
    plan_max_days_overdue: String,
    /// "" (the business's), `yes` or `no`.
    #[serde(default, rename = "terms.plan_needs_approval")]
    plan_needs_approval: String,
}

fn shown<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl EditForm {
    /// The client as it is, to be changed.
    fn of(c: &Client) -> EditForm {
        let t = c.terms.clone().unwrap_or_default();
        let fee = t.late_fee.as_ref().map(|f| f.as_ref());
        let discount = t.early_payment_discount.as_ref().map(|d| d.as_ref());
        let hours = t.business_hours.as_ref();
        let day = |d: Weekday| {
            hours
                .filter(|h| h.days.contains(&d))
                .map(|_| "on".to_string())
        };
        EditForm {
            csrf: String::new(),
            name: c.name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone().unwrap_or_default(),
            locale: c.locale.code().into(),
            timezone: c.timezone.name().into(),
            grace_days: shown(t.grace_days),
            reminder_offsets: t
                .reminder_offsets
                .map(|o| o.iter().map(i64::to_string).collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
            escalate_after_days: shown(t.escalate_after_days),
            late_fee: match fee {
                None => "",
                Some(None) => "none",
                Some(Some(f)) if f.kind == LateFeeKind::Percent => "percent",
                Some(Some(_)) => "fixed",
            }
            .into(),
            fee_value: shown(fee.flatten().map(|f| f.value)),
            fee_recurrence: match fee.flatten().map(|f| f.recurrence) {
                Some(Recurrence::Monthly) => "monthly",
                _ => "once",
            }
            .into(),
            fee_cap: shown(fee.flatten().and_then(|f| f.cap)),
            fee_notice_days: shown(fee.flatten().and_then(|f| f.notice_days)),
            discount: match discount {
                None => "",
                Some(None) => "none",
                Some(Some(_)) => "custom",
            }
            .into(),
            discount_percent: shown(discount.flatten().map(|d| d.percent)),
            discount_days: shown(discount.flatten().map(|d| d.within_days)),
            hours: if hours.is_some() { "custom" } else { "" }.into(),
            hours_start: shown(hours.map(|h| h.start.format("%H:%M"))),
            hours_end: shown(hours.map(|h| h.end.format("%H:%M"))),
            mon: day(Weekday::Mon),
            tue: day(Weekday::Tue),
            wed: day(Weekday::Wed),
            thu: day(Weekday::Thu),
            fri: day(Weekday::Fri),
            sat: day(Weekday::Sat),
            sun: day(Weekday::Sun),
            promise_max_days: shown(t.promise_max_days),
            max_open_promises: shown(t.max_open_promises),
            plan_max_instalments: shown(t.plan_max_instalments),
            plan_max_days_overdue: shown(t.plan_max_days_overdue),
            plan_needs_approval: match t.plan_needs_approval {
                None => "",
                Some(true) => "yes",
                Some(false) => "no",
            }
            .into(),
        }
    }

    fn day_checked(&self, d: &str) -> bool {
        let on = match d {
            "mon" => &self.mon,
            "tue" => &self.tue,
            "wed" => &self.wed,
            "thu" => &self.thu,
            "fri" => &self.fri,
            "sat" => &self.sat,
            _ => &self.sun,
        };
        on.is_some()
    }

    /// What the form asks to change, or what could not be read (by field).
    fn changes(&self) -> Result<ClientChanges, FieldErrors> {
        let mut e = FieldErrors::new();
        let whole = |e: &mut FieldErrors, field: &str, v: &str| -> Option<i64> {
            let v = typed(v)?;
            v.parse()
                .map_err(|_| e.add(format!("terms.{field}"), "must be a whole number"))
                .ok()
        };
        let number = |e: &mut FieldErrors, field: &str, v: &str| -> Option<Decimal> {
            let v = typed(v)?;
            v.parse()
                .map_err(|_| {
                    e.add(
                        format!("terms.{field}"),
                        "must be a number, like 49990 or 1500.50 (no currency sign, no thousands separator)",
                    )
                })
                .ok()
        };
        let needed = |e: &mut FieldErrors, field: &str, v: Option<Decimal>, typed_in: &str| {
            if v.is_none() && typed(typed_in).is_none() {
                e.add(format!("terms.{field}"), "must not be empty");
            }
            v
        };
        let time = |e: &mut FieldErrors, field: &str, v: &str| -> Option<NaiveTime> {
            let parsed = typed(v).and_then(|v| NaiveTime::parse_from_str(v, "%H:%M").ok());
            if parsed.is_none() {
                e.add(format!("terms.{field}"), "must be a time (HH:MM)");
            }
            parsed
        };
        let reminder_offsets = typed(&self.reminder_offsets).and_then(|v| {
            let parsed: Result<Vec<i64>, _> = v
                .split([',', ';'])
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::parse)
                .collect();
            parsed
                .map_err(|_| {
                    e.add(
                        "terms.reminder_offsets",
                        "must be whole numbers separated by commas, like -3, 0, 7",
                    )
                })
                .ok()
        });
        let late_fee = match self.late_fee.as_str() {
            "none" => Some(None),
            kind @ ("percent" | "fixed") => {
                let value = number(&mut e, "late_fee.value", &self.fee_value);
                let value = needed(&mut e, "late_fee.value", value, &self.fee_value);
                let cap = number(&mut e, "late_fee.cap", &self.fee_cap);
                let notice_days = whole(&mut e, "late_fee.notice_days", &self.fee_notice_days);
                value.map(|value| {
                    Some(LateFeeInput {
                        kind: if kind == "percent" {
                            LateFeeKind::Percent
                        } else {
                            LateFeeKind::Fixed
                        },
                        value,
                        recurrence: if self.fee_recurrence == "monthly" {
                            Recurrence::Monthly
                        } else {
                            Recurrence::Once
                        },
                        cap,
                        notice_days,
                    })
                })
            }
            _ => None,
        };
        let early_payment_discount = match self.discount.as_str() {
            "none" => Some(None),
            "custom" => {
                let percent = number(
                    &mut e,
                    "early_payment_discount.percent",
                    &self.discount_percent,
                );
                let percent = needed(
                    &mut e,
                    "early_payment_discount.percent",
                    percent,
                    &self.discount_percent,
                );
                let within = whole(
                    &mut e,
                    "early_payment_discount.within_days",
                    &self.discount_days,
                );
                if within.is_none() && typed(&self.discount_days).is_none() {
                    e.add(
                        "terms.early_payment_discount.within_days",
                        "must not be empty",
                    );
                }
                percent.zip(within).map(|(percent, within_days)| {
                    Some(DiscountInput {
                        percent,
                        within_days,
                    })
                })
            }
            _ => None,
        };
        let business_hours = (self.hours == "custom")
            .then(|| {
                let start = time(&mut e, "business_hours.start", &self.hours_start);
                let end = time(&mut e, "business_hours.end", &self.hours_end);
                let days: Vec<Weekday> = WEEK
                    .iter()
                    .filter(|(_, d)| self.day_checked(d))
                    .map(|(w, _)| *w)
                    .collect();
                start
                    .zip(end)
                    .map(|(start, end)| BusinessHours { start, end, days })
            })
            .flatten();
        let terms = TermsInput {
            grace_days: whole(&mut e, "grace_days", &self.grace_days),
            late_fee,
            early_payment_discount,
            reminder_offsets,
            escalate_after_days: whole(&mut e, "escalate_after_days", &self.escalate_after_days),
            business_hours,
            promise_max_days: whole(&mut e, "promise_max_days", &self.promise_max_days),
            max_open_promises: whole(&mut e, "max_open_promises", &self.max_open_promises),
            plan_max_instalments: whole(&mut e, "plan_max_instalments", &self.plan_max_instalments),
            plan_max_days_overdue: whole(
                &mut e,
                "plan_max_days_overdue",
                &self.plan_max_days_overdue,
            ),
            plan_needs_approval: match self.plan_needs_approval.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
        };
        e.finish(|| ClientChanges {
            name: Some(self.name.clone()),
            email: Some(self.email.clone()),
            phone: Some(typed(&self.phone).map(str::to_string)),
            locale: Some(self.locale.clone()),
            timezone: Some(self.timezone.clone()),
            terms: Some(Some(terms).filter(|t| *t != TermsInput::default())),
        })
    }
}

#[derive(Template)]
#[template(path = "console/edit_client.html")]
struct EditPage<'a> {
    w: &'static Words,
    tw: &'static TermsWords,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: String,
    id: String,
    client_name: String,
    form: EditForm,
    errors: Shown,
    flash: Option<String>,
    week: Vec<(&'static str, &'static str)>,
}

impl EditPage<'_> {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

fn edit_response(
    app: &App,
    s: &Signed,
    client: &Client,
    status: StatusCode,
    form: EditForm,
    errors: Option<FieldErrors>,
) -> Response {
    let f = frame(app, s);
    let (w, l) = (f.w, s.user.locale);
    let tw = TermsWords::of(l);
    let flash = errors.as_ref().map(|_| w.fix_below.to_string());
    let errors = Shown::of(w, errors.as_ref());
    let week = WEEK
        .iter()
        .map(|(d, code)| (*code, cobro_notify::console::weekday(*d, l)))
        .collect();
    render_with(
        status,
        EditPage {
            w,
            tw,
            business: f.business,
            me: f.me,
            csrf: f.csrf,
            title: format!("{} · {}", tw.title, client.name),
            id: client.id.to_string(),
            client_name: client.name.clone(),
            form,
            errors,
            flash,
            week,
        },
    )
}

pub(super) async fn edit_page(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if !s.user.role.can_act() {
        return forbidden(&app, &s);
    }
    match find_client(&app, &id).await {
        Ok(c) => edit_response(&app, &s, &c, StatusCode::OK, EditForm::of(&c), None),
        Err(Error::NotFound(_)) => not_found_page(&app, &s),
        Err(e) => server_error(e),
    }
}

pub(super) async fn update_client(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<EditForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let s = match require_form(&app, &headers, &form.csrf, Role::can_act).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let client = match find_client(&app, &id).await {
        Ok(c) => c,
        Err(Error::NotFound(_)) => return not_found_page(&app, &s),
        Err(e) => return server_error(e),
    };
    let changed = match form.changes() {
        Ok(changes) => invoicing::update_client(&app, &s.by(), &id, &changes).await,
        Err(e) => Err(Error::Invalid(e)),
    };
    match changed {
        Ok(_) => Redirect::to(&format!("/console/clients/{id}?done=edited")).into_response(),
        Err(Error::Invalid(e)) => edit_response(
            &app,
            &s,
            &client,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            Some(e),
        ),
        Err(Error::NotFound(_)) => not_found_page(&app, &s),
        Err(e) => server_error(e),
    }
}
