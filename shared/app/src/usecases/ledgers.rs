//! Reading what the ledgers say: an invoice or client by the id a caller gave, a client's
//! invoices with their ledgers, the credit they hold, an invoice's place on the agenda.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cobro_domain::arrangement;
use cobro_domain::invoice::Purpose;
use cobro_domain::ledger::EntryKind;
use cobro_domain::{
    Client, ClientId, Currency, Instalment, InvoiceId, Money, MoneyError, deposit, dunning, ledger,
};
use cobro_store::{PageRequest, StoredInvoice};

use super::{Error, Thing};
use crate::App;

/// The client with the id a caller gave (`NotFound` for a malformed id too).
pub async fn find_client(app: &App, id: &str) -> Result<Client, Error> {
    let id = ClientId::parse(id).ok_or(Error::NotFound(Thing::Client))?;
    app.store
        .client(&id)
        .await?
        .ok_or(Error::NotFound(Thing::Client))
}

/// The invoice a typed text names exactly, by its id (`inv_…`) or its payment reference
/// (compact or as people write it), if any: what a person types to open an invoice, what
/// a queued payment named.
pub async fn named_invoice(app: &App, text: &str) -> Result<Option<StoredInvoice>, Error> {
    let text = text.trim();
    let id = match InvoiceId::parse(text) {
        Some(id) => Some(id),
        None => match cobro_domain::PaymentReference::parse(text) {
            Some(reference) => app.store.invoice_by_payment_reference(&reference).await?,
            None => None,
        },
    };
    match id {
        Some(id) => Ok(app.store.invoice(&id).await?),
        None => Ok(None),
    }
}

/// The invoice with the id a caller gave, with its ledger and stages.
pub async fn find_invoice(app: &App, id: &str) -> Result<StoredInvoice, Error> {
    let id = InvoiceId::parse(id).ok_or(Error::NotFound(Thing::Invoice))?;
    app.store
        .invoice(&id)
        .await?
        .ok_or(Error::NotFound(Thing::Invoice))
}

/// Every invoice of the client with its ledger, newest first (read concurrently per page).
pub async fn client_ledgers(app: &App, client: &ClientId) -> Result<Vec<StoredInvoice>, Error> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(cobro_store::MAX_PAGE);
    loop {
        let p = app.store.client_invoices(client, &page).await?;
        all.extend(read_all(app, p.items.iter().map(|i| &i.id)).await?);
        match p.next {
            Some(next) => page.after = Some(next),
            None => return Ok(all),
        }
    }
}

/// The invoices named, with their ledgers, read concurrently (gone ones left out).
pub async fn read_all(
    app: &App,
    ids: impl Iterator<Item = &InvoiceId>,
) -> Result<Vec<StoredInvoice>, Error> {
    let stored = futures::future::try_join_all(ids.map(|id| app.store.invoice(id))).await?;
    Ok(stored.into_iter().flatten().collect())
}

/// An invoice holding credit for its client.
pub struct CreditSource {
    pub id: InvoiceId,
    /// Its next ledger position.
    pub next_seq: u32,
    pub credit: Money,
    /// A cleared deposit (its credit leaves as `deposit_applied`, not `credit_out`).
    pub deposit: bool,
}

/// The client's invoices holding credit, oldest first, derived from their ledgers (as
/// [`client_ledgers`] reads them, newest first); cleared deposits only `with_deposits`.
pub fn credit_sources(
    ledgers: &[StoredInvoice],
    with_deposits: bool,
) -> Result<Vec<CreditSource>, MoneyError> {
    let mut sources = Vec::new();
    for s in ledgers.iter().rev() {
        let deposit = s.invoice.purpose == Purpose::Deposit;
        let credit = if deposit {
            if !with_deposits {
                continue;
            }
            deposit::held(&s.invoice, &s.entries)?
        } else {
            ledger::balance(&s.invoice.total, &s.entries)?.credit
        };
        if credit.is_positive() {
            sources.push(CreditSource {
                id: s.invoice.id.clone(),
                next_seq: s.next_seq(),
                credit,
                deposit,
            });
        }
    }
    Ok(sources)
}

/// The client's credit per currency: what their invoices received beyond their totals,
/// and what their cleared deposits hold.
pub fn client_credit(ledgers: &[StoredInvoice]) -> Result<Vec<Money>, MoneyError> {
    let mut credit: BTreeMap<Currency, Money> = Default::default();
    for source in credit_sources(ledgers, true)? {
        let c = source.credit;
        let sum = credit
            .entry(c.currency())
            .or_insert_with(|| Money::zero(c.currency()));
        *sum = sum.checked_add(&c)?;
    }
    Ok(credit.into_values().collect())
}

/// What the client owes now and, of it, what is overdue, per currency (each currency on
/// its own, never summed across), from their orders' ledgers (deposits and void invoices
/// aside).
pub fn client_balance(
    ledgers: &[StoredInvoice],
    now: DateTime<Utc>,
) -> Result<(Vec<Money>, Vec<Money>), MoneyError> {
    let mut owed: BTreeMap<Currency, Money> = Default::default();
    let mut late: BTreeMap<Currency, Money> = Default::default();
    let add = |map: &mut BTreeMap<Currency, Money>, m: &Money| -> Result<(), MoneyError> {
        let sum = map
            .entry(m.currency())
            .or_insert_with(|| Money::zero(m.currency()));
        *sum = sum.checked_add(m)?;
        Ok(())
    };
    for s in ledgers.iter().filter(|s| s.invoice.purpose.is_order()) {
        let inv = &s.invoice;
        let b = ledger::balance(&inv.total, &s.entries)?;
        if !b.amount_due.is_positive() {
            continue;
        }
        add(&mut owed, &b.amount_due)?;
        let due = arrangement::arrangements(inv, &s.entries, now)?.due_date;
        let today = cobro_domain::today_in(inv.timezone, now);
        if arrangement::days_overdue(&b.amount_due, due, today).is_some() {
            add(&mut late, &b.amount_due)?;
        }
    }
    Ok((owed.into_values().collect(), late.into_values().collect()))
}

/// When the invoice should next be looked at, as the planner sees it now.
pub fn agenda_of(
    stored: &StoredInvoice,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, MoneyError> {
    Ok(dunning::plan(&stored.invoice, &stored.entries, &stored.stages, now)?.map(|n| n.at))
}

/// The instalments of plan `n`, as its ledger entry has them.
pub fn plan_instalments(stored: &StoredInvoice, n: u32) -> Option<&[Instalment]> {
    stored.entries.iter().find_map(|e| match &e.kind {
        EntryKind::Plan {
            plan, instalments, ..
        } if *plan == n => Some(instalments.as_slice()),
        _ => None,
    })
}
