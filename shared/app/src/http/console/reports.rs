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
pub(super) struct BucketRow {
    pub(super) name: &'static str,
    pub(super) invoices: u64,
    pub(super) principal: String,
    pub(super) late_fees: String,
    pub(super) amount: String,
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

/// A month of the trends as the page shows it.
struct TrendRow {
    month: String,
    invoiced: String,
    collected: String,
    overdue: String,
    share: String,
    cei: String,
    late: String,
    promises: String,
    plans: String,
}

/// One currency's trends: two charts and the table.
struct TrendSection {
    code: &'static str,
    money_chart: String,
    share_chart: String,
    rows: Vec<TrendRow>,
}

/// A week of the expected cash as the page shows it.
struct CashRow {
    week: String,
    current: bool,
    arrived: String,
    due: String,
    promised: String,
    instalments: String,
    expected: String,
}

/// One currency's expected cash.
struct CashSection {
    code: &'static str,
    chart: String,
    rows: Vec<CashRow>,
    overdue: String,
    later: String,
}

/// One currency's aging as the page shows it.
pub(super) struct CurrencySection {
    pub(super) code: &'static str,
    pub(super) chart: String,
    pub(super) rows: Vec<BucketRow>,
    pub(super) total: BucketRow,
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
    trends: Vec<TrendSection>,
    trends_method: String,
    cash: Vec<CashSection>,
    cash_method: String,
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

pub(super) fn section(l: Locale, as_of: chrono::NaiveDate, a: &CurrencyAging) -> CurrencySection {
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
    let chart = charts::draw(
        &Chart {
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
                        .map(|b| Some(value(&a.cell(*b).principal)))
                        .collect(),
                ),
                (
                    fw.late_fees.to_string(),
                    Bucket::ALL
                        .iter()
                        .map(|b| Some(value(&a.cell(*b).late_fees)))
                        .collect(),
                ),
            ],
        },
        charts::Kind::Stacked,
    );
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
    let figures::PageFigures {
        aging: report,
        dso: dso_report,
        trends,
        cash,
    } = match figures::page_figures(&app, &ask, &dso_ask).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let trends: Vec<TrendSection> = trends
        .currencies
        .iter()
        .map(|(c, months)| trend_section(l, *c, months))
        .collect();
    let cash: Vec<CashSection> = cash.currencies.iter().map(|c| cash_section(l, c)).collect();
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
            trends,
            trends_method: words::trends_method(l),
            cash,
            cash_method: words::cash_method(l),
            read: report.invoices_read,
            csv,
            errors: Shown::of(w, errors.as_ref()),
            flash,
        },
    )
}

/// A figure to one decimal, or a dash when there is none.
fn figure(v: Option<rust_decimal::Decimal>, unit: &str) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v}{unit}"))
}

/// `kept` of `kept + broken`, and the rate.
fn rate(kept: u32, broken: u32, r: Option<rust_decimal::Decimal>) -> String {
    match r {
        Some(r) => format!("{kept}/{} ({r} %)", kept.saturating_add(broken)),
        None => "—".into(),
    }
}

fn trend_section(
    l: Locale,
    c: cobro_domain::Currency,
    months: &[cobro_domain::trends::MonthTrend],
) -> TrendSection {
    let fw = FigureWords::of(l);
    let code = c.code();
    let value = |m: &cobro_domain::Money| Some(m.amount().to_f32().unwrap_or(0.0));
    let pct = |v: Option<rust_decimal::Decimal>| v.and_then(|d| d.to_f32());
    // Oldest first, left to right.
    let oldest: Vec<&cobro_domain::trends::MonthTrend> = months.iter().rev().collect();
    let labels: Vec<String> = oldest
        .iter()
        .map(|m| m.from.format("%Y-%m").to_string())
        .collect();
    let latest = months.first();
    let month = latest
        .map(|m| m.from.format("%Y-%m").to_string())
        .unwrap_or_default();
    let lower = code.to_ascii_lowercase();
    let (money_id, share_id) = (format!("trend-{lower}"), format!("share-{lower}"));
    let money_title = words::trends_chart_title(l, code, true);
    let money_desc = words::trends_chart_desc(
        l,
        &month,
        true,
        &latest.map(|m| m.invoiced.format(l)).unwrap_or_default(),
        &latest.map(|m| m.collected.format(l)).unwrap_or_default(),
    );
    let money_chart = charts::draw(
        &Chart {
            id: &money_id,
            title: &money_title,
            desc: &money_desc,
            categories: labels.clone(),
            series: vec![
                (
                    fw.invoiced.into(),
                    oldest.iter().map(|m| value(&m.invoiced)).collect(),
                ),
                (
                    fw.collected.into(),
                    oldest.iter().map(|m| value(&m.collected)).collect(),
                ),
            ],
        },
        charts::Kind::Grouped,
    );
    let share_title = words::trends_chart_title(l, code, false);
    let share_desc = words::trends_chart_desc(
        l,
        &month,
        false,
        &figure(latest.and_then(|m| m.overdue_share), " %"),
        &figure(latest.and_then(|m| m.cei), ""),
    );
    let share_chart = charts::draw(
        &Chart {
            id: &share_id,
            title: &share_title,
            desc: &share_desc,
            categories: labels,
            series: vec![
                (
                    fw.overdue_share.into(),
                    oldest.iter().map(|m| pct(m.overdue_share)).collect(),
                ),
                (fw.cei.into(), oldest.iter().map(|m| pct(m.cei)).collect()),
            ],
        },
        charts::Kind::Lines,
    );
    TrendSection {
        code,
        money_chart,
        share_chart,
        rows: months
            .iter()
            .map(|m| TrendRow {
                month: m.from.format("%Y-%m").to_string(),
                invoiced: m.invoiced.format(l),
                collected: m.collected.format(l),
                overdue: m.overdue_at_end.format(l),
                share: figure(m.overdue_share, " %"),
                cei: figure(m.cei, ""),
                late: figure(m.avg_days_late, ""),
                promises: rate(m.promises_kept, m.promises_broken, m.promise_kept_rate),
                plans: rate(m.plans_completed, m.plans_broken, m.plan_completion_rate),
            })
            .collect(),
    }
}

fn cash_section(l: Locale, c: &cobro_domain::cash::CurrencyCash) -> CashSection {
    let fw = FigureWords::of(l);
    let code = c.currency.code();
    let value = |m: &cobro_domain::Money| Some(m.amount().to_f32().unwrap_or(0.0));
    let label = |d: chrono::NaiveDate| match l {
        Locale::Es => d.format("%d/%m").to_string(),
        Locale::En => d.format("%m/%d").to_string(),
    };
    let (behind, ahead) = c
        .weeks
        .split_at(cobro_domain::cash::WEEKS.min(c.weeks.len()));
    let sum = |weeks: &[cobro_domain::cash::CashWeek],
               f: fn(&cobro_domain::cash::CashWeek) -> cobro_domain::Money| {
        cobro_domain::Money::sum(c.currency, weeks.iter().map(f).collect::<Vec<_>>().iter())
            .unwrap_or(cobro_domain::Money::zero(c.currency))
    };
    let arrived = sum(behind, |w| w.arrived);
    let expected = sum(ahead, |w| w.expected);
    let id = format!("cash-{}", code.to_ascii_lowercase());
    let title = words::cash_chart_title(l, code);
    let desc = words::cash_chart_desc(l, &arrived.format(l), &expected.format(l));
    let chart = charts::draw(
        &Chart {
            id: &id,
            title: &title,
            desc: &desc,
            categories: c.weeks.iter().map(|w| label(w.from)).collect(),
            series: vec![
                (
                    fw.arrived.into(),
                    c.weeks.iter().map(|w| value(&w.arrived)).collect(),
                ),
                (
                    fw.expected.into(),
                    c.weeks.iter().map(|w| value(&w.expected)).collect(),
                ),
            ],
        },
        charts::Kind::Grouped,
    );
    let current = ahead.first().map(|w| w.from);
    CashSection {
        code,
        chart,
        rows: c
            .weeks
            .iter()
            .map(|w| CashRow {
                week: format!("{} – {}", label(w.from), label(w.to)),
                current: Some(w.from) == current,
                arrived: w.arrived.format(l),
                due: w.due.format(l),
                promised: w.promised.format(l),
                instalments: w.instalments.format(l),
                expected: w.expected.format(l),
            })
            .collect(),
        overdue: c.overdue.format(l),
        later: c.later.format(l),
    }
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
