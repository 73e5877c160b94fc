//! The figures a finance team steers by, worked out from the ledger whenever they are
//! asked for (no running totals to drift): the **aging** of what is owed as of a day
//! ([`aging`], `GET /v1/reports/aging`, the console's Reports page).
//!
//! What is read is what can have been owed since the first day a figure looks at: the
//! store's receivables index ([`cobro_store::Store::receivables`]) gives the invoices
//! open now and those settled since that day, each with its ledger; invoices settled
//! before it are never read (the open ones always are). Each figure says how many
//! invoices it read.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use cobro_domain::cash::{CurrencyCash, Forecast};
use cobro_domain::receivables::Aging;
use cobro_domain::trends::Trends;
use cobro_domain::{Client, ClientId, Currency, FieldErrors, calendar, listing::Bucket};
use cobro_store::PageRequest;

use super::reports::{CsvFormat, write_csv};
use super::{Error, ledgers};
use crate::App;

/// What an aging is asked for with, as typed (a query string, a form).
#[derive(Debug, Clone, Default)]
pub struct AgingQuery {
    /// `YYYY-MM-DD`, not after today in the business's time zone; empty: today.
    pub as_of: Option<String>,
    /// Only this currency (ISO 4217).
    pub currency: Option<String>,
    /// Only this client (`cli_…`).
    pub client_id: Option<String>,
}

/// An aging as asked for, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AgingAsk {
    pub as_of: NaiveDate,
    pub currency: Option<Currency>,
    pub client: Option<Client>,
}

/// The aging, with the names of the clients in it and how many invoices were read.
#[derive(Debug, Clone)]
pub struct AgingReport {
    pub ask: AgingAsk,
    pub aging: Aging,
    /// The clients of [`Aging::clients`], by id.
    pub clients: BTreeMap<ClientId, Client>,
    pub invoices_read: u64,
}

impl AgingReport {
    /// The clients with what they owe in `currency`, largest total first.
    pub fn clients_in(
        &self,
        currency: Currency,
    ) -> Vec<(&Client, &cobro_domain::receivables::CurrencyAging)> {
        let mut rows: Vec<_> = self
            .aging
            .clients
            .iter()
            .filter_map(|(id, by)| Some((self.clients.get(id)?, by.get(&currency)?)))
            .collect();
        rows.sort_by(|a, b| {
            b.1.total
                .amount
                .amount()
                .cmp(&a.1.total.amount.amount())
                .then_with(|| a.0.name.cmp(&b.0.name))
        });
        rows
    }
}

/// Every invoice that may have been owed at some time since `since`, each once, with its
/// ledger, handed to `each` a page at a time; how many were read. An invoice whose key
/// moves while the pages are read (it settles, or changes again) is not counted twice.
pub(crate) async fn each_receivable(
    app: &App,
    since: chrono::DateTime<chrono::Utc>,
    mut each: impl FnMut(&cobro_store::StoredInvoice) -> Result<(), Error>,
) -> Result<u64, Error> {
    let mut seen = std::collections::HashSet::new();
    let mut page = PageRequest::first(cobro_store::MAX_PAGE);
    loop {
        let p = app.store.receivables(since, &page).await?;
        for s in &p.items {
            if seen.insert(s.invoice.id.clone()) {
                each(s)?;
            }
        }
        match p.next {
            Some(n) => page.after = Some(n),
            None => return Ok(u64::try_from(seen.len()).unwrap_or(u64::MAX)),
        }
    }
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Checks what an aging is asked for: every bad field at once (422), an unknown client
/// 404.
pub async fn check_aging(app: &App, q: &AgingQuery) -> Result<AgingAsk, Error> {
    let (as_of, currency) = check_day_and_currency(app, q).map_err(Error::Invalid)?;
    let client = match given(&q.client_id) {
        Some(id) => Some(ledgers::find_client(app, id).await?),
        None => None,
    };
    Ok(AgingAsk {
        as_of,
        currency,
        client,
    })
}

/// The day (not in the future; default today) and the currency of a figure.
fn check_day_and_currency(
    app: &App,
    q: &AgingQuery,
) -> Result<(NaiveDate, Option<Currency>), FieldErrors> {
    let mut errors = FieldErrors::new();
    let today = calendar::today_in(app.config.business_timezone, app.now());
    let as_of = match given(&q.as_of) {
        None => Some(today),
        Some(s) => match s.parse::<NaiveDate>() {
            Ok(d) if d > today => {
                errors.add("as_of", "must not be in the future");
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                errors.add("as_of", "must be a date (YYYY-MM-DD)");
                None
            }
        },
    };
    let currency = match given(&q.currency) {
        None => None,
        Some(c) => match Currency::parse(c) {
            Ok(c) => Some(c),
            Err(_) => {
                errors.add("currency", "is not an ISO 4217 currency code");
                None
            }
        },
    };
    errors.finish(|| (as_of.unwrap_or(today), currency))
}

/// An aging being worked out, invoice by invoice.
struct AgingWork<'a> {
    ask: &'a AgingAsk,
    aging: Aging,
}

impl<'a> AgingWork<'a> {
    fn new(app: &App, ask: &'a AgingAsk) -> Self {
        AgingWork {
            ask,
            aging: Aging::new(ask.as_of, app.config.business_timezone, ask.currency),
        }
    }

    /// Owed at the end of the day: open now, or settled since the day began.
    fn since(&self) -> chrono::DateTime<chrono::Utc> {
        calendar::local_moment(self.aging.tz, self.ask.as_of, NaiveTime::MIN)
    }

    fn add(&mut self, s: &cobro_store::StoredInvoice) -> Result<(), Error> {
        let theirs = self
            .ask
            .client
            .as_ref()
            .is_none_or(|c| c.id == s.invoice.client_id);
        if theirs {
            self.aging
                .add(&s.invoice, &s.entries)
                .map_err(Error::internal)?;
        }
        Ok(())
    }

    async fn finish(self, app: &App, read: u64) -> Result<AgingReport, Error> {
        let mut clients = BTreeMap::new();
        for id in self.aging.clients.keys() {
            if let Some(c) = app.store.client(id).await? {
                clients.insert(id.clone(), c);
            }
        }
        Ok(AgingReport {
            ask: self.ask.clone(),
            aging: self.aging,
            clients,
            invoices_read: read,
        })
    }
}

/// The aging asked for: every invoice that owed something at the end of the day, by
/// bucket, per currency and per client.
pub async fn aging(app: &App, ask: &AgingAsk) -> Result<AgingReport, Error> {
    let mut work = AgingWork::new(app, ask);
    let read = each_receivable(app, work.since(), |s| work.add(s)).await?;
    work.finish(app, read).await
}

/// Everything the Reports page shows.
#[derive(Debug, Clone)]
pub struct PageFigures {
    pub aging: AgingReport,
    pub dso: DsoReport,
    pub trends: TrendsReport,
    pub cash: CashReport,
}

/// The aging, DSO, the trends of `dso_ask`'s longest period and the expected cash of the
/// Reports page, in one read of the receivables (from the earliest day any of them
/// needs). The trends and the cash are the business's (or one currency's), like DSO.
pub async fn page_figures(
    app: &App,
    aging_ask: &AgingAsk,
    dso_ask: &DsoAsk,
) -> Result<PageFigures, Error> {
    let tz = app.config.business_timezone;
    let mut aging = AgingWork::new(app, aging_ask);
    let mut dso = DsoWork::new(app, dso_ask);
    let mut trends = Trends::new(dso_ask.as_of, trend_months(dso_ask), tz, dso_ask.currency);
    let mut cash = Forecast::new(dso_ask.as_of, tz, dso_ask.currency);
    let since = aging
        .since()
        .min(dso.since())
        .min(trends.since())
        .min(cash.since());
    let read = each_receivable(app, since, |s| {
        aging.add(s)?;
        dso.add(s)?;
        trends
            .add(&s.invoice, &s.entries)
            .map_err(Error::internal)?;
        cash.add(&s.invoice, &s.entries).map_err(Error::internal)
    })
    .await?;
    Ok(PageFigures {
        aging: aging.finish(app, read).await?,
        dso: dso.finish(read)?,
        trends: TrendsReport {
            as_of: dso_ask.as_of,
            currencies: trends.finish().map_err(Error::internal)?,
            invoices_read: read,
        },
        cash: CashReport {
            as_of: dso_ask.as_of,
            currencies: cash.finish().map_err(Error::internal)?,
            invoices_read: read,
        },
    })
}

/// The aging as CSV: a row per client and currency (largest first), then each currency's
/// total, with the amount in each bucket, the total and the late fees in it.
pub fn aging_csv(report: &AgingReport, format: CsvFormat) -> Result<String, Error> {
    let mut columns = vec!["client_id", "client_name", "currency"];
    columns.extend(Bucket::ALL.iter().map(|b| b.name()));
    columns.extend(["total", "late_fees", "invoices"]);
    let row = |id: &str, name: &str, a: &cobro_domain::receivables::CurrencyAging| {
        let mut r = vec![id.to_string(), name.to_string(), a.currency.code().into()];
        r.extend(a.buckets.iter().map(|b| format.amount(&b.amount)));
        r.push(format.amount(&a.total.amount));
        r.push(format.amount(&a.total.late_fees));
        r.push(a.total.invoices.to_string());
        r
    };
    let total = cobro_notify::words::csv_column("total", format.locale);
    let mut rows = Vec::new();
    for (c, a) in &report.aging.currencies {
        for (client, by) in report.clients_in(*c) {
            rows.push(row(client.id.as_str(), &client.name, by));
        }
        rows.push(row("", &total.to_uppercase(), a));
    }
    write_csv(format, &columns, rows)
}

/// The longest DSO period asked for, in months.
pub const MAX_MONTHS: u32 = 36;

/// The periods DSO is given for when none is asked: 3, 6 and 12 months.
pub const DSO_PERIODS: [u32; 3] = [3, 6, 12];

/// What DSO is asked for, as typed.
#[derive(Debug, Clone, Default)]
pub struct DsoQuery {
    pub as_of: Option<String>,
    pub currency: Option<String>,
    /// One period, 1 to 36 months; empty: 3, 6 and 12.
    pub months: Option<String>,
}

/// DSO as asked for, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct DsoAsk {
    pub as_of: NaiveDate,
    pub currency: Option<Currency>,
    pub periods: Vec<u32>,
}

/// DSO per currency: each period's figures and the months' sales (newest first).
#[derive(Debug, Clone)]
pub struct DsoReport {
    pub ask: DsoAsk,
    pub currencies: Vec<(
        Currency,
        Vec<cobro_domain::dso::Dso>,
        Vec<cobro_domain::dso::MonthSales>,
    )>,
    pub invoices_read: u64,
}

/// Checks what DSO is asked for: every bad field at once (422).
pub fn check_dso(app: &App, q: &DsoQuery) -> Result<DsoAsk, Error> {
    let aging = AgingQuery {
        as_of: q.as_of.clone(),
        currency: q.currency.clone(),
        client_id: None,
    };
    let mut errors = FieldErrors::new();
    let periods = match given(&q.months) {
        None => DSO_PERIODS.to_vec(),
        Some(m) => match m.parse::<u32>() {
            Ok(n) if (1..=MAX_MONTHS).contains(&n) => vec![n],
            _ => {
                errors.add("months", format!("must be between 1 and {MAX_MONTHS}"));
                Vec::new()
            }
        },
    };
    let (as_of, currency) = match check_day_and_currency(app, &aging) {
        Ok(v) => v,
        Err(e) => {
            errors.errors.extend(e.errors);
            return Err(Error::Invalid(errors));
        }
    };
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok(DsoAsk {
        as_of,
        currency,
        periods,
    })
}

/// DSO being worked out, invoice by invoice.
struct DsoWork<'a> {
    ask: &'a DsoAsk,
    periods: cobro_domain::dso::Periods,
}

impl<'a> DsoWork<'a> {
    fn new(app: &App, ask: &'a DsoAsk) -> Self {
        let tz = app.config.business_timezone;
        DsoWork {
            ask,
            periods: cobro_domain::dso::Periods::new(ask.as_of, tz, ask.currency, &ask.periods),
        }
    }

    fn since(&self) -> chrono::DateTime<chrono::Utc> {
        self.periods.since()
    }

    fn add(&mut self, s: &cobro_store::StoredInvoice) -> Result<(), Error> {
        self.periods
            .add(&s.invoice, &s.entries)
            .map_err(Error::internal)
    }

    fn finish(self, read: u64) -> Result<DsoReport, Error> {
        Ok(DsoReport {
            ask: self.ask.clone(),
            currencies: self.periods.finish().map_err(Error::internal)?,
            invoices_read: read,
        })
    }
}

/// DSO by both methods for each period asked, per currency: the receivables at the end of
/// the day over the credit sales of the months before it.
pub async fn dso(app: &App, ask: &DsoAsk) -> Result<DsoReport, Error> {
    let mut work = DsoWork::new(app, ask);
    let read = each_receivable(app, work.since(), |s| work.add(s)).await?;
    work.finish(read)
}

/// The trends of each month, per currency, newest first.
#[derive(Debug, Clone)]
pub struct TrendsReport {
    pub as_of: NaiveDate,
    pub currencies: Vec<(Currency, Vec<cobro_domain::trends::MonthTrend>)>,
    pub invoices_read: u64,
}

/// The months of a trend or CEI asked for: the longest period (default 12).
fn trend_months(ask: &DsoAsk) -> u32 {
    ask.periods.iter().copied().max().unwrap_or(12)
}

/// Each of the months ending on the day (default 12), per currency: invoiced and
/// collected, owed and overdue at its end, CEI, average days late, promises kept and plans
/// completed ([`cobro_domain::trends`]), from the receivables at each month's start and
/// end and what happened in it.
pub async fn trends(app: &App, ask: &DsoAsk) -> Result<TrendsReport, Error> {
    let tz = app.config.business_timezone;
    let mut t = Trends::new(ask.as_of, trend_months(ask), tz, ask.currency);
    let read = each_receivable(app, t.since(), |s| {
        t.add(&s.invoice, &s.entries).map_err(Error::internal)
    })
    .await?;
    Ok(TrendsReport {
        as_of: ask.as_of,
        currencies: t.finish().map_err(Error::internal)?,
        invoices_read: read,
    })
}

/// The CEI of each month, per currency, newest first.
#[derive(Debug, Clone)]
pub struct CeiReport {
    pub as_of: NaiveDate,
    pub currencies: Vec<(Currency, Vec<cobro_domain::dso::MonthCei>)>,
    pub invoices_read: u64,
}

/// The collection effectiveness index of each of the months ending on the day (default
/// 12), per currency: the trends' CEI with the amounts it comes from.
pub async fn cei(app: &App, ask: &DsoAsk) -> Result<CeiReport, Error> {
    let t = trends(app, ask).await?;
    Ok(CeiReport {
        as_of: t.as_of,
        currencies: t
            .currencies
            .into_iter()
            .map(|(c, rows)| (c, rows.iter().map(|r| r.cei_row()).collect()))
            .collect(),
        invoices_read: t.invoices_read,
    })
}

/// A day and a currency asked for, as typed.
#[derive(Debug, Clone, Default)]
pub struct DayQuery {
    pub as_of: Option<String>,
    pub currency: Option<String>,
}

/// A day and a currency, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct DayAsk {
    pub as_of: NaiveDate,
    pub currency: Option<Currency>,
}

/// Checks a day (not in the future; default today) and a currency: each bad one named
/// (422).
pub fn check_day(app: &App, q: &DayQuery) -> Result<DayAsk, Error> {
    let aging = AgingQuery {
        as_of: q.as_of.clone(),
        currency: q.currency.clone(),
        client_id: None,
    };
    let (as_of, currency) = check_day_and_currency(app, &aging).map_err(Error::Invalid)?;
    Ok(DayAsk { as_of, currency })
}

/// The expected cash of the week of a day and the seven after it, beside what arrived
/// in the eight before, per currency.
#[derive(Debug, Clone)]
pub struct CashReport {
    pub as_of: NaiveDate,
    pub currencies: Vec<CurrencyCash>,
    pub invoices_read: u64,
}

/// The expected cash as of the day ([`cobro_domain::cash`]): what is owed by due dates,
/// promises and plan instalments, each weighted by its client's history of the last
/// twelve months, beside what arrived.
pub async fn cash(app: &App, ask: &DayAsk) -> Result<CashReport, Error> {
    let mut f = Forecast::new(ask.as_of, app.config.business_timezone, ask.currency);
    let read = each_receivable(app, f.since(), |s| {
        f.add(&s.invoice, &s.entries).map_err(Error::internal)
    })
    .await?;
    Ok(CashReport {
        as_of: ask.as_of,
        currencies: f.finish().map_err(Error::internal)?,
        invoices_read: read,
    })
}
