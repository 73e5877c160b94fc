//! The audit log in the console: everything the business's people and API keys did, and
//! clients on their pay page, newest first, 25 a page; one client's or one invoice's
//! actions with `?client=` or `?invoice=`. Every signed-in role may read it.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cobro_domain::{AuditRecord, Locale, User};
use cobro_notify::console::Words;
use cobro_store::AuditFilter;
use serde::Deserialize;

use super::{frame, render_with, require, server_error};
use crate::App;
use crate::usecases::{Error, audit};

const PAGE: u32 = 25;

/// One action as the console lists it.
pub(super) struct ActivityRow {
    pub(super) when: String,
    pub(super) who: String,
    pub(super) what: &'static str,
    /// What it was on (an invoice's number, a client's name) and where that is shown.
    pub(super) subject: Option<(String, String)>,
    pub(super) detail: String,
}

/// The rows for `records`, times in `tz`.
pub(super) fn rows(l: Locale, tz: chrono_tz::Tz, records: &[AuditRecord]) -> Vec<ActivityRow> {
    records
        .iter()
        .map(|r| {
            let href = match (&r.invoice_id, &r.client_id) {
                (Some(i), _) => Some(format!("/console/invoices/{i}")),
                (None, Some(c)) => Some(format!("/console/clients/{c}")),
                (None, None) => None,
            };
            ActivityRow {
                when: r.at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
                who: cobro_notify::console::actor(l, &r.actor),
                what: cobro_notify::console::action(l, r.action),
                subject: r.subject.clone().zip(href),
                detail: [
                    r.amount.map(|m| m.format(l)),
                    r.day.map(|d| l.long_date(d)),
                    r.detail.clone(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/log.html")]
struct LogPage<'a> {
    w: &'static Words,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
    activity: Vec<ActivityRow>,
    /// What the list is narrowed to, as a query string (kept on the next page's link).
    narrowed: String,
    next: Option<String>,
    paged: bool,
    flash: Option<(bool, String)>,
}

#[derive(Deserialize, Default)]
pub(super) struct LogForm {
    #[serde(default)]
    invoice: Option<String>,
    #[serde(default)]
    client: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

pub(super) async fn log_page(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Query<LogForm>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let f = frame(&app, &s);
    let w = f.w;
    let form = form.map(|Query(f)| f).unwrap_or_default();
    // An id of another kind, or none of ours, shows the whole log and says why.
    let chosen = audit::filter(&app, form.invoice.as_deref(), form.client.as_deref()).await;
    let (filter, refused) = match chosen {
        Ok(f) => (f, None),
        Err(Error::Invalid(e)) => {
            let why = e.errors.first().map(|f| w.field_error(&f.message));
            (AuditFilter::All, Some(why.unwrap_or_default()))
        }
        Err(e) => return server_error(e),
    };
    let narrowed = match &filter {
        AuditFilter::All => String::new(),
        AuditFilter::Invoice(i) => format!("invoice={i}"),
        AuditFilter::Client(c) => format!("client={c}"),
    };
    let page = cobro_store::PageRequest {
        limit: PAGE,
        after: form.after.filter(|a| a.len() <= 100),
    };
    let found = match audit::log(&app, &filter, &page).await {
        Ok(p) => p,
        Err(e) => return server_error(e),
    };
    let next = found.next.map(|n| {
        let after = serde_urlencoded::to_string([("after", n)]).unwrap_or_default();
        if narrowed.is_empty() {
            after
        } else {
            format!("{narrowed}&{after}")
        }
    });
    let activity = rows(s.user.locale, app.config.business_timezone, &found.items);
    render_with(
        StatusCode::OK,
        LogPage {
            w,
            business: f.business,
            me: f.me,
            csrf: f.csrf,
            title: w.log,
            activity,
            narrowed,
            next,
            paged: page.after.is_some(),
            flash: refused.map(|why| (false, why)),
        },
    )
}
