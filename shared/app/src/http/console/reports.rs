//! The Reports page (`/console/reports`, every role): the aging as of a day, a chart and
//! a table per currency, who owes what, and the same as CSV
//! (`/console/reports/aging.csv`). The figures are the API's
//! ([`crate::usecases::figures`]), so the page and `GET /v1/reports/aging` agree.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cobro_domain::listing::Bucket;
use cobro_domain::receivables::CurrencyAging;
use cobro_domain::{FieldErrors, Locale, User};
use cobro_notify::console::Words;
use cobro_notify::figures::{self as words, FigureWords};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use super::{Shown, frame, render_with, require, server_error};
use crate::App;
use crate::http::charts::{self, Chart};
use crate::usecases::Error;
use crate::usecases::figures::{self, AgingAsk, AgingQuery};

/// The clients listed under each currency's aging.
const TOP_CLIENTS: usize = 10;

/// The page's filters, as its form sends them (the API's names).
#[derive(Deserialize, Serialize, Default, Clone)]
pub(super) struct ReportsForm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    as_of: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
}

impl ReportsForm {
    fn query(&self) -> AgingQuery {
        AgingQuery {
            as_of: self.as_of.clone(),
            currency: self.currency.clone(),
            client_id: self.client_id.clone(),
        }
    }
}

/// A row of a currency's table.
struct BucketRow {
    name: &'static str,
    invoices: u64,
    principal: String,
    late_fees: String,
    amount: String,
}

/// A client under a currency.
struct ClientRow {
    id: String,
    name: String,
    amount: String,
    overdue: String,
}

/// One period's DSO as the page shows it.
struct DsoRow {
    months: u32,
    days: u32,
    receivables: String,
    sales: String,
    simple: String,
    countback: String,
}

/// One currency's DSO.
struct DsoSection {
    code: &'static str,
    rows: Vec<DsoRow>,
}

/// One currency's aging as the page shows it.
struct CurrencySection {
    code: &'static str,
    chart: String,
    rows: Vec<BucketRow>,
    total: BucketRow,
    clients: Vec<ClientRow>,
}

#[derive(Template)]
#[template(path = "console/reports.html")]
struct ReportsPage<'a> {
    w: &'static Words,
    fw: &'static FigureWords,
    business: &'a str,
    me: Option<&'a User>,
    csrf: String,
    title: &'static str,
    as_of: String,
    currency: String,
    client: Option<(String, String)>,
    sections: Vec<CurrencySection>,
    method: String,
    dso: Vec<DsoSection>,
    dso_method: String,
    read: u64,
    csv: String,
    errors: Shown,
    flash: Option<String>,
}

impl ReportsPage<'_> {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

fn row(l: Locale, name: &'static str, cell: &cobro_domain::receivables::AgingCell) -> BucketRow {
    BucketRow {
        name,
        invoices: cell.invoices,
        principal: cell.principal.format(l),
        late_fees: cell.late_fees.format(l),
        amount: cell.amount.format(l),
    }
}

fn section(l: Locale, as_of: chrono::NaiveDate, a: &CurrencyAging) -> CurrencySection {
    let fw = FigureWords::of(l);
    let code = a.currency.code();
    let value = |m: &cobro_domain::Money| m.amount().to_f32().unwrap_or(0.0);
    let largest = Bucket::ALL
        .iter()
        .max_by_key(|b| a.cell(**b).amount.amount())
        .copied()
        .unwrap_or(Bucket::Current);
    let id = format!("aging-{}", code.to_ascii_lowercase());
    let title = words::aging_chart_title(l, code, as_of);
    let desc = words::aging_chart_desc(
        l,
        &a.total.amount.format(l),
        (words::bucket(l, largest), &a.cell(largest).amount.format(l)),
    );
    let chart = charts::stacked_bars(&Chart {
        id: &id,
        title: &title,
        desc: &desc,
        categories: Bucket::ALL
            .iter()
            .map(|b| words::bucket(l, *b).to_string())
            .collect(),
        series: vec![
            (
                fw.principal.to_string(),
                Bucket::ALL
                    .iter()
                    .map(|b| value(&a.cell(*b).principal))
                    .collect(),
            ),
            (
                fw.late_fees.to_string(),
                Bucket::ALL
                    .iter()
                    .map(|b| value(&a.cell(*b).late_fees))
                    .collect(),
            ),
        ],
    });
    CurrencySection {
        code,
        chart,
        rows: Bucket::ALL
            .iter()
            .map(|b| row(l, words::bucket(l, *b), a.cell(*b)))
            .collect(),
        total: row(l, fw.total, &a.total),
        clients: Vec::new(),
    }
}

pub(super) async fn reports_page(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<ReportsForm>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let f = frame(&app, &s);
    let (w, l) = (f.w, s.user.locale);
    let fw = FigureWords::of(l);
    let mut form = query.map(|Query(q)| q).unwrap_or_default();
    // Filters that cannot be read are named and left out; the rest is shown.
    let mut errors: Option<FieldErrors> = None;
    let ask = loop {
        let e = match figures::check_aging(&app, &form.query()).await {
            Ok(ask) => break ask,
            Err(Error::Invalid(e)) => e,
            Err(Error::NotFound(_)) => FieldErrors::single("client_id", "no client with this id"),
            Err(e) => return server_error(e),
        };
        let before = (
            form.as_of.is_some(),
            form.currency.is_some(),
            form.client_id.is_some(),
        );
        for field in e.errors.iter().map(|e| e.field.as_str()) {
            match field {
                "as_of" => form.as_of = None,
                "currency" => form.currency = None,
                _ => form.client_id = None,
            }
        }
        errors
            .get_or_insert_with(FieldErrors::new)
            .errors
            .extend(e.errors);
        if before
            == (
                form.as_of.is_some(),
                form.currency.is_some(),
                form.client_id.is_some(),
            )
        {
            return server_error(Error::internal("a filter left out is still refused"));
        }
    };
    // DSO is the business's (or one currency's), whatever client the aging is narrowed
    // to; both come from one read of the receivables.
    let dso_ask = figures::DsoAsk {
        as_of: ask.as_of,
        currency: ask.currency,
        periods: figures::DSO_PERIODS.to_vec(),
    };
    let (report, dso_report) = match figures::aging_and_dso(&app, &ask, &dso_ask).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let sections = report
        .aging
        .currencies
        .values()
        .map(|a| {
            let mut sec = section(l, ask.as_of, a);
            sec.clients = report
                .clients_in(a.currency)
                .into_iter()
                .take(TOP_CLIENTS)
                .map(|(c, by)| ClientRow {
                    id: c.id.to_string(),
                    name: c.name.clone(),
                    amount: by.total.amount.format(l),
                    overdue: overdue(by).format(l),
                })
                .collect();
            sec
        })
        .collect();
    let dso: Vec<DsoSection> = dso_report
        .currencies
        .iter()
        .map(|(c, periods, _)| DsoSection {
            code: c.code(),
            rows: periods
                .iter()
                .map(|d| DsoRow {
                    months: d.months,
                    days: d.days,
                    receivables: d.receivables.format(l),
                    sales: d.sales.format(l),
                    simple: d
                        .simple
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "—".into()),
                    countback: match d.countback {
                        Some(v) if d.exhausted => v.to_string(),
                        Some(v) => format!("≥ {v}"),
                        None => "—".into(),
                    },
                })
                .collect(),
        })
        .collect();
    let kept = ReportsForm {
        as_of: Some(ask.as_of.to_string()),
        currency: ask.currency.map(|c| c.code().to_string()),
        client_id: ask.client.as_ref().map(|c| c.id.to_string()),
    };
    let csv = format!(
        "/console/reports/aging.csv?{}",
        serde_urlencoded::to_string(&kept).unwrap_or_default()
    );
    let flash = errors.as_ref().map(|_| w.filters_dropped.to_string());
    render_with(
        if errors.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        ReportsPage {
            w,
            fw,
            business: f.business,
            me: f.me,
            csrf: f.csrf,
            title: fw.title,
            as_of: ask.as_of.to_string(),
            currency: kept.currency.clone().unwrap_or_default(),
            client: ask
                .client
                .as_ref()
                .map(|c| (c.id.to_string(), c.name.clone())),
            sections,
            method: words::aging_method(l, ask.as_of),
            dso,
            dso_method: words::dso_method(l, ask.as_of),
            read: report.invoices_read,
            csv,
            errors: Shown::of(w, errors.as_ref()),
            flash,
        },
    )
}

/// What is past due: every bucket but the current one.
fn overdue(a: &CurrencyAging) -> cobro_domain::Money {
    Bucket::ALL
        .iter()
        .filter(|b| **b != Bucket::Current)
        .fold(cobro_domain::Money::zero(a.currency), |sum, b| {
            sum.checked_add(&a.cell(*b).amount).unwrap_or(sum)
        })
}

pub(super) async fn aging_csv(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<ReportsForm>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match require(&app, &headers).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let form = query.map(|Query(q)| q).unwrap_or_default();
    let ask: AgingAsk = match figures::check_aging(&app, &form.query()).await {
        Ok(ask) => ask,
        // The page's link carries only what it checked: anything else is a made-up URL.
        Err(Error::Invalid(_) | Error::NotFound(_)) => {
            return super::not_found_page(&app, &s);
        }
        Err(e) => return server_error(e),
    };
    let format = crate::usecases::reports::CsvFormat {
        locale: s.user.locale,
        excel: s.user.locale == Locale::Es,
    };
    let body = match figures::aging(&app, &ask).await {
        Ok(r) => figures::aging_csv(&r, format),
        Err(e) => Err(e),
    };
    match body {
        Ok(body) => crate::http::reports::csv_response(&format!("aging-{}.csv", ask.as_of), body),
        Err(e) => server_error(e),
    }
}
