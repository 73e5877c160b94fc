//! `/v1/reports/aging` (JSON) and `/v1/reports/aging.csv`: what was owed as of a day, by
//! how long past due, per currency and per client ([`crate::usecases::figures`]).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use cobro_domain::receivables::{AgingCell, CurrencyAging};
use cobro_domain::{Currency, Locale, listing::Bucket};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::problem::{Problem, ProblemBody};
use super::reports::{csv_response, excel_format};
use super::views::to_json;
use crate::App;
use crate::usecases::figures::{self, AgingQuery, AgingReport};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(aging))
        .routes(routes!(aging_csv))
        .routes(routes!(dso))
        .routes(routes!(cei))
        .routes(routes!(trends))
        .routes(routes!(cash))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct DayParams {
    /// The day (`YYYY-MM-DD`, in the business's time zone), not in the future; default
    /// today.
    #[serde(default)]
    as_of: Option<String>,
    /// Only this currency (ISO 4217).
    #[serde(default)]
    currency: Option<String>,
}

/// The expected cash, week by week.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CashView {
    /// `cash_forecast`.
    object: &'static str,
    #[schema(value_type = String, example = "2026-11-25")]
    as_of: chrono::NaiveDate,
    timezone: String,
    method: String,
    currencies: Vec<cobro_domain::cash::CurrencyCash>,
    invoices_read: u64,
}

/// `GET /v1/reports/cash?as_of=&currency=`: per currency, what should come in during the
/// week of the day and the seven after it (by due dates, promises and plan instalments,
/// each weighted by its client's on-time or kept share of the last twelve months), beside
/// what arrived in the eight weeks before; what is past due with no date apart.
#[utoipa::path(get, operation_id = "cash_forecast", path = "/v1/reports/cash", tag = "reports",
    params(DayParams),
    responses(
        (status = 200, description = "Sixteen weeks per currency, oldest first", body = CashView),
        (status = 400, description = "An unknown query parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A bad `as_of` or `currency`, each named", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn cash(
    State(app): State<App>,
    params: Result<Query<DayParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(p) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    let ask = figures::check_day(
        &app,
        &figures::DayQuery {
            as_of: p.as_of,
            currency: p.currency,
        },
    )?;
    let r = figures::cash(&app, &ask).await?;
    let view = CashView {
        object: "cash_forecast",
        as_of: r.as_of,
        timezone: app.config.business_timezone.name().into(),
        method: cobro_notify::figures::cash_method(Locale::En),
        currencies: r.currencies,
        invoices_read: r.invoices_read,
    };
    Ok(Json(to_json(&view)?).into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct DsoParams {
    /// The day (`YYYY-MM-DD`, in the business's time zone), not in the future; default
    /// today.
    #[serde(default)]
    as_of: Option<String>,
    /// Only this currency (ISO 4217).
    #[serde(default)]
    currency: Option<String>,
    /// One period of 1 to 36 months; default 3, 6 and 12.
    #[serde(default)]
    months: Option<String>,
}

impl DsoParams {
    fn query(&self) -> figures::DsoQuery {
        figures::DsoQuery {
            as_of: self.as_of.clone(),
            currency: self.currency.clone(),
            months: self.months.clone(),
        }
    }
}

/// One currency's CEI, month by month.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CurrencyCeiView {
    #[schema(value_type = String, example = "CLP")]
    currency: Currency,
    /// Newest first.
    months: Vec<cobro_domain::dso::MonthCei>,
}

/// The collection effectiveness index, month by month.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CeiView {
    /// `cei`.
    object: &'static str,
    #[schema(value_type = String, example = "2026-11-30")]
    as_of: chrono::NaiveDate,
    timezone: String,
    method: String,
    currencies: Vec<CurrencyCeiView>,
    invoices_read: u64,
}

/// `GET /v1/reports/cei?as_of=&currency=&months=`: the collection effectiveness index of
/// each of the last 12 months (or `months`, 1–36) ending on the day, per currency, with
/// the receivables and sales each comes from.
#[utoipa::path(get, operation_id = "cei_report", path = "/v1/reports/cei", tag = "reports",
    params(DsoParams),
    responses(
        (status = 200, description = "CEI per currency and month", body = CeiView),
        (status = 400, description = "An unknown query parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A bad `as_of`, `currency` or `months` (over 36), each named", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn cei(
    State(app): State<App>,
    params: Result<Query<DsoParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(p) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    // The default periods (3, 6, 12) make CEI's twelve months: it covers the longest.
    let ask = figures::check_dso(&app, &p.query())?;
    let r = figures::cei(&app, &ask).await?;
    let view = CeiView {
        object: "cei",
        as_of: r.as_of,
        timezone: app.config.business_timezone.name().into(),
        method: cobro_notify::figures::cei_method(Locale::En),
        currencies: r
            .currencies
            .into_iter()
            .map(|(currency, months)| CurrencyCeiView { currency, months })
            .collect(),
        invoices_read: r.invoices_read,
    };
    Ok(Json(to_json(&view)?).into_response())
}

/// One currency's trends, month by month.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CurrencyTrendsView {
    #[schema(value_type = String, example = "CLP")]
    currency: Currency,
    /// Newest first.
    months: Vec<cobro_domain::trends::MonthTrend>,
}

/// The months a finance team looks back on.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TrendsView {
    /// `trends`.
    object: &'static str,
    #[schema(value_type = String, example = "2026-11-30")]
    as_of: chrono::NaiveDate,
    timezone: String,
    method: String,
    currencies: Vec<CurrencyTrendsView>,
    invoices_read: u64,
}

/// `GET /v1/reports/trends?as_of=&currency=&months=`: each of the last 12 months (or
/// `months`, 1–36) ending on the day, per currency: invoiced and collected, owed and
/// overdue at its end (and the overdue share), CEI, average days late of the invoices
/// settled in it weighted by amount, promise-kept and plan completion rates.
#[utoipa::path(get, operation_id = "trends_report", path = "/v1/reports/trends", tag = "reports",
    params(DsoParams),
    responses(
        (status = 200, description = "Each month's figures per currency", body = TrendsView),
        (status = 400, description = "An unknown query parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A bad `as_of`, `currency` or `months` (over 36), each named", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn trends(
    State(app): State<App>,
    params: Result<Query<DsoParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(p) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    let ask = figures::check_dso(&app, &p.query())?;
    let r = figures::trends(&app, &ask).await?;
    let view = TrendsView {
        object: "trends",
        as_of: r.as_of,
        timezone: app.config.business_timezone.name().into(),
        method: cobro_notify::figures::trends_method(Locale::En),
        currencies: r
            .currencies
            .into_iter()
            .map(|(currency, months)| CurrencyTrendsView { currency, months })
            .collect(),
        invoices_read: r.invoices_read,
    };
    Ok(Json(to_json(&view)?).into_response())
}

/// One currency's DSO.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CurrencyDsoView {
    #[schema(value_type = String, example = "CLP")]
    currency: Currency,
    /// One per period asked (3, 6 and 12 months by default).
    periods: Vec<cobro_domain::dso::Dso>,
    /// The credit sales of each month of the longest period, newest first.
    months: Vec<cobro_domain::dso::MonthSales>,
}

/// Days sales outstanding by the simple and the countback methods.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DsoView {
    /// `dso`.
    object: &'static str,
    #[schema(value_type = String, example = "2026-11-30")]
    as_of: chrono::NaiveDate,
    timezone: String,
    method: String,
    currencies: Vec<CurrencyDsoView>,
    invoices_read: u64,
}

/// `GET /v1/reports/dso?as_of=&currency=&months=`: days sales outstanding at the end of a
/// day, per currency, for the last 3, 6 and 12 months (or the `months` asked), by the
/// simple method and by countback, with the months' credit sales they come from.
#[utoipa::path(get, operation_id = "dso_report", path = "/v1/reports/dso", tag = "reports",
    params(DsoParams),
    responses(
        (status = 200, description = "DSO per currency and period", body = DsoView),
        (status = 400, description = "An unknown query parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A bad `as_of`, `currency` or `months` (over 36), each named", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn dso(
    State(app): State<App>,
    params: Result<Query<DsoParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(p) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    let ask = figures::check_dso(&app, &p.query())?;
    let r = figures::dso(&app, &ask).await?;
    let view = DsoView {
        object: "dso",
        as_of: r.ask.as_of,
        timezone: app.config.business_timezone.name().into(),
        method: cobro_notify::figures::dso_method(Locale::En, r.ask.as_of),
        currencies: r
            .currencies
            .into_iter()
            .map(|(currency, periods, months)| CurrencyDsoView {
                currency,
                periods,
                months,
            })
            .collect(),
        invoices_read: r.invoices_read,
    };
    Ok(Json(to_json(&view)?).into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct AgingParams {
    /// The day (`YYYY-MM-DD`, in the business's time zone), not in the future; default
    /// today.
    #[serde(default)]
    as_of: Option<String>,
    /// Only this currency (ISO 4217).
    #[serde(default)]
    currency: Option<String>,
    /// Only this client (`cli_…`).
    #[serde(default)]
    client_id: Option<String>,
    /// CSV only: `1` for a spreadsheet set to Spanish, `0` for programs.
    #[serde(default)]
    #[param(pattern = "^[01]$")]
    excel: Option<String>,
}

impl AgingParams {
    fn query(&self) -> AgingQuery {
        AgingQuery {
            as_of: self.as_of.clone(),
            currency: self.currency.clone(),
            client_id: self.client_id.clone(),
        }
    }
}

/// One bucket's invoices and amounts.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BucketView {
    /// `current`, `1-30`, `31-60`, `61-90` or `90+` days past due.
    bucket: &'static str,
    #[serde(flatten)]
    cell: AgingCell,
}

/// The aging of one currency.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CurrencyAgingView {
    #[schema(value_type = String, example = "CLP")]
    currency: Currency,
    buckets: Vec<BucketView>,
    total: AgingCell,
}

impl CurrencyAgingView {
    fn of(a: &CurrencyAging) -> Self {
        CurrencyAgingView {
            currency: a.currency,
            buckets: Bucket::ALL
                .iter()
                .map(|b| BucketView {
                    bucket: b.name(),
                    cell: a.cell(*b).clone(),
                })
                .collect(),
            total: a.total.clone(),
        }
    }
}

/// A client's aging, per currency.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientAgingView {
    client_id: String,
    name: String,
    currencies: Vec<CurrencyAgingView>,
}

/// What was owed at the end of a day, by how long past due.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AgingView {
    /// `aging`.
    object: &'static str,
    #[schema(value_type = String, example = "2026-11-30")]
    as_of: chrono::NaiveDate,
    /// The business's time zone, in which the day ends.
    timezone: String,
    /// How the figure is worked out, in words.
    method: String,
    /// Each currency on its own (amounts in different currencies are never added).
    currencies: Vec<CurrencyAgingView>,
    /// Each client that owed something, largest total first within each currency.
    clients: Vec<ClientAgingView>,
    /// Invoices read to work it out: the open ones and those settled since the day.
    invoices_read: u64,
}

fn view(app: &App, r: &AgingReport) -> AgingView {
    let mut clients: Vec<ClientAgingView> = Vec::new();
    for c in r.aging.currencies.keys() {
        for (client, _) in r.clients_in(*c) {
            let by = match r.aging.clients.get(&client.id) {
                Some(by) if !clients.iter().any(|v| v.client_id == client.id.as_str()) => by,
                _ => continue,
            };
            clients.push(ClientAgingView {
                client_id: client.id.to_string(),
                name: client.name.clone(),
                currencies: by.values().map(CurrencyAgingView::of).collect(),
            });
        }
    }
    AgingView {
        object: "aging",
        as_of: r.ask.as_of,
        timezone: app.config.business_timezone.name().into(),
        method: cobro_notify::figures::aging_method(Locale::En, r.ask.as_of),
        currencies: r
            .aging
            .currencies
            .values()
            .map(CurrencyAgingView::of)
            .collect(),
        clients,
        invoices_read: r.invoices_read,
    }
}

async fn report(app: &App, p: &AgingParams) -> Result<AgingReport, Problem> {
    let ask = figures::check_aging(app, &p.query()).await?;
    Ok(figures::aging(app, &ask).await?)
}

/// `GET /v1/reports/aging?as_of=&currency=&client_id=`: what was owed at the end of a day
/// (in the business's time zone), in the buckets current, 1–30, 31–60, 61–90 and 90+ days
/// past the due date in force that day: invoice count, amount, and of it principal and
/// late fees (payments pay late fees first), per currency and per client. Worked out from
/// each invoice's ledger as it stood that day.
#[utoipa::path(get, operation_id = "aging_report", path = "/v1/reports/aging", tag = "reports",
    params(AgingParams),
    responses(
        (status = 200, description = "The aging", body = AgingView),
        (status = 400, description = "An unknown query parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`as_of` is not a date or is in the future; `currency` is not ISO 4217 (each named)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn aging(
    State(app): State<App>,
    params: Result<Query<AgingParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(p) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    let r = report(&app, &p).await?;
    Ok(Json(to_json(&view(&app, &r))?).into_response())
}

/// The aging as CSV, safe to open in a spreadsheet: a row per client and currency, then
/// each currency's total.
#[utoipa::path(get, operation_id = "aging_report_csv", path = "/v1/reports/aging.csv", tag = "reports",
    params(AgingParams),
    responses(
        (status = 200, description = "One row per client and currency, then the totals", body = String, content_type = "text/csv"),
        (status = 400, description = "An unknown query parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A bad `as_of`, `currency` or `excel` (each named)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn aging_csv(
    State(app): State<App>,
    params: Result<Query<AgingParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(p) = params.map_err(|e| Problem::malformed(e.body_text()))?;
    let format = excel_format(&app, p.excel.as_deref())?;
    let r = report(&app, &p).await?;
    let name = format!("aging-{}.csv", r.ask.as_of);
    Ok(csv_response(&name, figures::aging_csv(&r, format)?))
}
