//! The invoice lists across clients (`GET /v1/invoices`, the console's invoices page and
//! their CSV export): the filters as typed, checked field by field; the page read from the
//! store's list indexes; each row with its client's name and how late it is.

use std::collections::HashMap;

use chrono::NaiveDate;
use cobro_domain::listing::{Bucket, fold};
use cobro_domain::{ClientId, Currency, FieldErrors, InvoiceStatus};
use cobro_store::{InvoiceFilter, InvoiceOrder, ListedInvoice, PageRequest};

use super::Error;
use super::reports::{CsvFormat, write_csv};
use crate::App;

/// Every status a list can be filtered by, as written in filters.
pub const STATUSES: [InvoiceStatus; 9] = [
    InvoiceStatus::Open,
    InvoiceStatus::PartiallyPaid,
    InvoiceStatus::Escalated,
    InvoiceStatus::Disputed,
    InvoiceStatus::Paid,
    InvoiceStatus::Overpaid,
    InvoiceStatus::Refunded,
    InvoiceStatus::Void,
    InvoiceStatus::Draft,
];

/// The sort orders, as written in filters: due date or amount due, `-` first for the
/// latest or largest first.
pub const SORTS: [&str; 4] = ["due_date", "-due_date", "amount_due", "-amount_due"];

/// The longest search text.
const MAX_SEARCH: usize = 100;

/// The most rows a CSV export holds.
pub const MAX_EXPORT: usize = 50_000;

/// A list's filters as a person or program typed them (a query string's names); absent or
/// empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListQuery {
    /// Statuses, comma-separated (`open,partially_paid`).
    #[serde(default, skip_serializing_if = "blank")]
    pub status: Option<String>,
    /// An overdue bucket: `current`, `1-30`, `31-60`, `61-90`, `90+`.
    #[serde(default, skip_serializing_if = "blank")]
    pub overdue: Option<String>,
    #[serde(default, skip_serializing_if = "blank")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "blank")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "blank")]
    pub due_from: Option<String>,
    #[serde(default, skip_serializing_if = "blank")]
    pub due_to: Option<String>,
    /// Text in the number, payment reference or lines.
    #[serde(default, skip_serializing_if = "blank")]
    pub q: Option<String>,
    /// One of [`SORTS`] (`due_date` by default).
    #[serde(default, skip_serializing_if = "blank")]
    pub sort: Option<String>,
    /// Paused, and the pause ends by this day (after today).
    #[serde(default, skip_serializing_if = "blank")]
    pub pause_ends_by: Option<String>,
}

fn blank(v: &Option<String>) -> bool {
    given(v).is_none()
}

impl ListQuery {
    /// Without the filter `field` (one that could not be read: the list shows the rest).
    pub fn clear(&mut self, field: &str) {
        let slot = match field {
            "status" => &mut self.status,
            "overdue" => &mut self.overdue,
            "client_id" => &mut self.client_id,
            "currency" => &mut self.currency,
            "due_from" => &mut self.due_from,
            "due_to" => &mut self.due_to,
            "q" => &mut self.q,
            "sort" => &mut self.sort,
            "pause_ends_by" => &mut self.pause_ends_by,
            _ => return,
        };
        *slot = None;
    }

    /// The text, when it is the only filter given (an id or reference typed to open an
    /// invoice).
    pub fn only_text(&self) -> Option<&str> {
        let others = [
            &self.status,
            &self.overdue,
            &self.client_id,
            &self.currency,
            &self.due_from,
            &self.due_to,
            &self.pause_ends_by,
        ];
        if others.iter().any(|v| given(v).is_some()) {
            return None;
        }
        given(&self.q)
    }
}

/// The filters checked: what the store reads, with the day they were read on.
#[derive(Debug, Clone)]
pub struct Checked {
    pub filter: InvoiceFilter,
    /// The business's today, in its time zone: buckets and days overdue count from it.
    pub today: NaiveDate,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Checks `q` (every field's mistake named: `Error::Invalid`). The client must exist.
pub async fn check(app: &App, q: &ListQuery) -> Result<Checked, Error> {
    let mut errors = FieldErrors::new();
    let today = cobro_domain::today_in(app.config.business_timezone, app.now());
    let mut statuses = Vec::new();
    for s in given(&q.status).into_iter().flat_map(|s| s.split(',')) {
        match STATUSES.iter().find(|st| st.as_str() == s.trim()) {
            Some(st) if !statuses.contains(st) => statuses.push(*st),
            Some(_) => {}
            None => {
                errors.add(
                    "status",
                    format!(
                        "must be one or more of {}, separated by commas",
                        STATUSES.map(|s| s.as_str()).join(", ")
                    ),
                );
                break;
            }
        }
    }
    let bucket = given(&q.overdue).and_then(|b| {
        let found = Bucket::parse(b);
        if found.is_none() {
            errors.add("overdue", "must be current, 1-30, 31-60, 61-90 or 90+");
        }
        found
    });
    let client = given(&q.client_id).and_then(|c| {
        let id = ClientId::parse(c);
        if id.is_none() {
            errors.add("client_id", "is not a client id (cli_…)");
        }
        id
    });
    let currency = given(&q.currency).and_then(|c| {
        Currency::parse(&c.to_ascii_uppercase())
            .map_err(|_| errors.add("currency", "is not an ISO 4217 currency code"))
            .ok()
    });
    let mut date = |field: &str, v: &Option<String>| {
        given(v).and_then(|d| {
            d.parse::<NaiveDate>()
                .map_err(|_| errors.add(field, "must be a date (YYYY-MM-DD)"))
                .ok()
        })
    };
    let (mut due_from, mut due_to) = (date("due_from", &q.due_from), date("due_to", &q.due_to));
    let pause_ends = date("pause_ends_by", &q.pause_ends_by).map(|by| (today, by));
    if let (Some(f), Some(t)) = (due_from, due_to)
        && f > t
    {
        errors.add("due_to", "must not be before due_from");
    }
    let text = given(&q.q).and_then(|t| {
        if t.chars().count() > MAX_SEARCH {
            errors.add("q", format!("must be at most {MAX_SEARCH} characters"));
            return None;
        }
        Some(fold(t))
    });
    let (order, descending) = match given(&q.sort) {
        None | Some("due_date") => (InvoiceOrder::DueDate, false),
        Some("-due_date") => (InvoiceOrder::DueDate, true),
        Some("amount_due") => (InvoiceOrder::AmountDue, false),
        Some("-amount_due") => (InvoiceOrder::AmountDue, true),
        Some(_) => {
            errors.add("sort", format!("must be one of {}", SORTS.join(", ")));
            (InvoiceOrder::DueDate, false)
        }
    };
    // A bucket is a range of due dates of what is still owed, within any dates given.
    if let Some(b) = bucket {
        let (from, to) = b.due_between(today);
        due_from = due_from.max(from);
        due_to = match (due_to, to) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    if let Some(c) = &client
        && app.store.client(c).await?.is_none()
    {
        return Err(Error::Invalid(FieldErrors::single(
            "client_id",
            "is no client of this business",
        )));
    }
    Ok(Checked {
        filter: InvoiceFilter {
            statuses,
            client,
            currency,
            due_from,
            due_to,
            owing: bucket.is_some(),
            text,
            pause_ends,
            order,
            descending,
        },
        today,
    })
}

/// How many invoices a list has, counted up to a page of [`cobro_store::MAX_PAGE`]: the
/// count, and whether there are more (a work queue's figure).
pub async fn count(app: &App, q: &ListQuery) -> Result<(usize, bool), Error> {
    let checked = check(app, q).await?;
    let p = app
        .store
        .list_invoices(&checked.filter, &PageRequest::first(cobro_store::MAX_PAGE))
        .await?;
    Ok((p.items.len(), p.next.is_some()))
}

/// One invoice of a list, as it is shown.
#[derive(Debug, Clone)]
pub struct Row {
    pub listed: ListedInvoice,
    pub client_name: String,
    pub status: InvoiceStatus,
    /// Days past the due date in force while money is owed.
    pub days_overdue: Option<i64>,
    /// Its overdue bucket while money is owed.
    pub bucket: Option<Bucket>,
    /// The pause in force.
    pub paused_until: Option<NaiveDate>,
}

/// A page of a list.
#[derive(Debug, Clone)]
pub struct Listed {
    pub rows: Vec<Row>,
    /// The cursor of the next page.
    pub next: Option<String>,
    pub today: NaiveDate,
}

/// The page of the list `checked` picks.
pub async fn page(app: &App, checked: &Checked, page: &PageRequest) -> Result<Listed, Error> {
    let p = app.store.list_invoices(&checked.filter, page).await?;
    let rows = rows(app, p.items, checked.today).await?;
    Ok(Listed {
        rows,
        next: p.next,
        today: checked.today,
    })
}

/// The rows of listed invoices, with their clients' names (each client read once).
pub(super) async fn rows(
    app: &App,
    items: Vec<ListedInvoice>,
    today: NaiveDate,
) -> Result<Vec<Row>, Error> {
    let mut names: HashMap<ClientId, String> = HashMap::new();
    let mut wanted: Vec<ClientId> = items.iter().map(|l| l.invoice.client_id.clone()).collect();
    wanted.sort_by_key(|c| c.to_string());
    wanted.dedup();
    let read = futures::future::join_all(wanted.iter().map(|c| app.store.client(c))).await;
    for found in read {
        if let Some(c) = found? {
            names.insert(c.id.clone(), c.name);
        }
    }
    Ok(items
        .into_iter()
        .map(|listed| {
            let days_overdue = listed.listing.days_overdue(today);
            let owed = listed.listing.is_owed();
            Row {
                client_name: names
                    .get(&listed.invoice.client_id)
                    .cloned()
                    .unwrap_or_default(),
                status: listed.status(),
                bucket: owed.then(|| Bucket::of(listed.listing.due_date, today)),
                paused_until: listed.listing.paused_on(today),
                days_overdue,
                listed,
            }
        })
        .collect())
}

const INVOICES: [&str; 13] = [
    "invoice_id",
    "invoice_number",
    "client_id",
    "client_name",
    "concept",
    "status",
    "currency",
    "total",
    "amount_due",
    "issue_date",
    "due_date",
    "days_overdue",
    "paused_until",
];

/// The whole list `checked` picks (every page, up to [`MAX_EXPORT`] rows) as CSV, safe to
/// open in a spreadsheet.
pub async fn csv(app: &App, checked: &Checked, format: CsvFormat) -> Result<String, Error> {
    let mut out = Vec::new();
    let mut request = PageRequest::first(cobro_store::MAX_PAGE);
    loop {
        let p = page(app, checked, &request).await?;
        for r in p.rows {
            let inv = &r.listed.invoice;
            let l = &r.listed.listing;
            out.push(vec![
                inv.id.to_string(),
                inv.number.clone(),
                inv.client_id.to_string(),
                r.client_name,
                inv.concept().to_string(),
                match format.excel {
                    true => cobro_notify::words::status_name(format.locale, r.status).to_string(),
                    false => r.status.as_str().to_string(),
                },
                inv.currency.code().to_string(),
                format.amount(&inv.total),
                format.amount(&l.amount_due),
                inv.issue_date.to_string(),
                l.due_date.to_string(),
                r.days_overdue.unwrap_or(0).to_string(),
                r.paused_until.map(|d| d.to_string()).unwrap_or_default(),
            ]);
        }
        match p.next {
            Some(n) if out.len() < MAX_EXPORT => request.after = Some(n),
            _ => break,
        }
    }
    out.truncate(MAX_EXPORT);
    write_csv(format, &INVOICES, out)
}

/// Why an invoice is suggested for a payment waiting in the unmatched queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Clue {
    /// The payment named it, or part of its number or payment reference.
    Named,
    /// What it still owes is the payment's amount.
    SameAmount,
    /// It is owed by the client of the invoice the payment named.
    SameClient,
}

/// An invoice a queued payment likely belongs to, and why.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub row: Row,
    pub clues: Vec<Clue>,
}

/// The most suggestions shown for one payment.
pub const MAX_SUGGESTIONS: usize = 5;

/// The invoices a queued payment likely belongs to, best first: owed, in its currency,
/// and named by it (its id, number or part of its payment reference), of the same client
/// as the invoice it named, or owing exactly its amount. Read from the lists, never the
/// whole table: the named client's invoices, a text search, and the first 500 owed
/// invoices in the currency for the amount.
pub async fn suggestions(app: &App, u: &cobro_store::Unmatched) -> Result<Vec<Suggestion>, Error> {
    let today = cobro_domain::today_in(app.config.business_timezone, app.now());
    let owed = InvoiceFilter {
        currency: Some(u.fact.amount.currency()),
        owing: true,
        ..Default::default()
    };
    let mut found: Vec<(ListedInvoice, Vec<Clue>)> = Vec::new();
    let mut note = |l: ListedInvoice, clue: Clue| match found
        .iter_mut()
        .find(|(f, _)| f.invoice.id == l.invoice.id)
    {
        Some((_, clues)) if !clues.contains(&clue) => clues.push(clue),
        Some(_) => {}
        None => found.push((l, vec![clue])),
    };
    let target = u.target.as_deref().map(str::trim).filter(|t| !t.is_empty());
    // The invoice it named (in another currency): its client's.
    let named = match target {
        Some(t) => super::ledgers::named_invoice(app, t).await?,
        None => None,
    };
    if let Some(stored) = named {
        let client = InvoiceFilter {
            client: Some(stored.invoice.client_id.clone()),
            ..owed.clone()
        };
        for l in app
            .store
            .list_invoices(&client, &PageRequest::first(cobro_store::MAX_PAGE))
            .await?
            .items
        {
            note(l, Clue::SameClient);
        }
    }
    // Its number or payment reference, whole or in part (as people write it, or compact).
    if let Some(t) = target.filter(|t| t.chars().count() >= 4) {
        let mut texts = vec![fold(t), fold(&t.replace(' ', ""))];
        texts.dedup();
        for text in texts {
            let named = InvoiceFilter {
                text: Some(text),
                ..owed.clone()
            };
            for l in app
                .store
                .list_invoices(&named, &PageRequest::first(20))
                .await?
                .items
            {
                note(l, Clue::Named);
            }
        }
    }
    // What is owed is exactly the payment.
    let mut page = PageRequest::first(cobro_store::MAX_PAGE);
    for _ in 0..5 {
        let p = app.store.list_invoices(&owed, &page).await?;
        for l in p.items {
            if l.listing.amount_due == u.fact.amount {
                note(l, Clue::SameAmount);
            }
        }
        match p.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    found.sort_by(|(a, ca), (b, cb)| {
        cb.len()
            .cmp(&ca.len())
            .then_with(|| ca.iter().min().cmp(&cb.iter().min()))
            .then_with(|| a.listing.due_date.cmp(&b.listing.due_date))
    });
    found.truncate(MAX_SUGGESTIONS);
    let (listed, clues): (Vec<ListedInvoice>, Vec<Vec<Clue>>) = found.into_iter().unzip();
    let rows = rows(app, listed, today).await?;
    Ok(rows
        .into_iter()
        .zip(clues)
        .map(|(row, mut clues)| {
            clues.sort();
            Suggestion { row, clues }
        })
        .collect())
}
