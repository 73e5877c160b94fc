//! Numbering and writing an invoice: the next number, its first ledger entry, its pay link,
//! its place on the agenda and the client's credit brought onto it, in one atomic write
//! (with the client itself, when a client is created with its deposit). A number taken by a
//! concurrent writer is retried with the next.

use chrono::{DateTime, Utc};
use cobro_domain::invoice::Purpose;
use cobro_domain::ledger::EntryKind;
use cobro_domain::listing::Listing;
use cobro_domain::{
    Action, Actor, Client, Invoice, InvoiceId, LedgerEntry, ValidInvoice, dunning, ledger,
};
use cobro_store::{IdempotencyRecord, NewInvoiceWrite, StoreError, StoredInvoice};

use super::Error;
use super::ledgers::credit_sources;
use crate::App;

/// How many times a creation retries after losing the race for an invoice number.
pub const MAX_NUMBER_ATTEMPTS: usize = 50;

/// What the idempotency record of an invoice's write stands for.
pub enum Recorded<'a> {
    Nothing,
    /// The caller's answer, made from the invoice as written and its pay link.
    Answer(super::RememberLink<'a>),
    /// A record that only guards against a second, concurrent write of the same thing.
    Guard(IdempotencyRecord),
}

/// An invoice to number and write, with what is written beside it.
pub struct Issue<'a> {
    pub client: &'a Client,
    pub valid: ValidInvoice,
    /// The client's ledgers as just read (re-read after a lost race).
    pub ledgers: Option<Vec<StoredInvoice>>,
    /// Write the client too (a client asked for a deposit at once).
    pub new_client: bool,
    pub recorded: Recorded<'a>,
    /// The order reaches the client's budget exactly (a retainer is brought onto it).
    pub closes_budget: bool,
    /// Who asks for it (recorded on its entries and in the audit log).
    pub by: &'a Actor,
}

/// A written invoice.
pub struct Issued {
    pub invoice: Invoice,
    pub entries: Vec<LedgerEntry>,
    pub next_action_at: Option<DateTime<Utc>>,
    /// Its pay link, shown once.
    pub pay_url: String,
}

impl Issued {
    /// The invoice as the store now holds it.
    pub fn stored(&self) -> StoredInvoice {
        StoredInvoice {
            invoice: self.invoice.clone(),
            entries: self.entries.clone(),
            stages: Vec::new(),
            next_action_at: self.next_action_at,
        }
    }
}

/// Whether a deposit's money goes onto an order now: as credit always, as a retainer only
/// onto the order that reaches the budget.
pub fn deposits_apply(app: &App, client: &Client, closes_budget: bool) -> bool {
    match client.deposit.or(app.config.deposit_policy.terms) {
        Some(t) if t.hold == cobro_domain::deposit::Hold::Retainer => closes_budget,
        _ => true,
    }
}

/// Numbers and writes an invoice, bringing the client's credit onto it (orders only).
/// `None`: its idempotency record was written first by someone else.
pub async fn issue(app: &App, mut issue: Issue<'_>) -> Result<Option<Issued>, Error> {
    let client = issue.client;
    let now = app.now();
    let order = issue.valid.purpose == Purpose::Order;
    let with_deposits = deposits_apply(app, client, issue.closes_budget);
    for _ in 0..MAX_NUMBER_ATTEMPTS {
        let seq = app.store.last_invoice_seq().await?.saturating_add(1);
        let invoice = issue.valid.clone().issue(
            InvoiceId::generate(),
            seq,
            &app.config.invoice_prefix,
            client.timezone,
            now,
        );
        let (pay_url, pay_token) = super::links::new_link(app, &client.id, &invoice.id, now);
        let mut entries = vec![LedgerEntry {
            seq: 1,
            kind: EntryKind::Charge,
            amount: invoice.total,
            at: now,
            key: Some("charge".into()),
            by: Some(issue.by.clone()),
        }];
        // The client's credit (overpaid invoices and cleared deposits, oldest first) is
        // brought onto an order, in the same write; a source written meanwhile makes the
        // write fail and we re-read.
        let read = match issue.ledgers.take() {
            Some(l) => l,
            None if issue.new_client => Vec::new(),
            None => super::ledgers::client_ledgers(app, &client.id).await?,
        };
        let sources = if order {
            credit_sources(&read, with_deposits)?
        } else {
            Vec::new()
        };
        let plan = ledger::plan_credit(
            &invoice.total,
            &sources
                .iter()
                .map(|s| (s.id.clone(), s.credit))
                .collect::<Vec<_>>(),
        );
        let mut other_entries = Vec::new();
        for (source, amount) in plan {
            let from = sources.iter().find(|s| s.id == source);
            other_entries.push((
                source.clone(),
                LedgerEntry {
                    seq: from.map_or(1, |s| s.next_seq),
                    kind: if from.is_some_and(|s| s.deposit) {
                        EntryKind::DepositApplied
                    } else {
                        EntryKind::CreditOut
                    },
                    amount,
                    at: now,
                    key: Some(format!("credit-to:{}", invoice.id)),
                    by: Some(issue.by.clone()),
                },
            ));
            entries.push(LedgerEntry {
                seq: (entries.len() as u32).saturating_add(1),
                kind: EntryKind::CreditIn,
                amount,
                at: now,
                key: Some(format!("credit-from:{source}")),
                by: Some(issue.by.clone()),
            });
        }
        // The sources' listings with the entries they give.
        let mut other_listings = Vec::new();
        for (source, e) in &other_entries {
            if let Some(s) = read.iter().find(|s| s.invoice.id == *source) {
                let mut given = s.entries.clone();
                given.push(e.clone());
                other_listings.push((source.clone(), Listing::of(&s.invoice, &given)?));
            }
        }
        let next_action_at = dunning::plan(&invoice, &entries, &[], now)?.map(|n| n.at);
        let written = StoredInvoice {
            invoice,
            entries,
            stages: Vec::new(),
            next_action_at,
        };
        let idempotency = match &issue.recorded {
            Recorded::Nothing => None,
            Recorded::Answer(answer) => answer(&written, &pay_url),
            Recorded::Guard(r) => Some(r.clone()),
        };
        let mut audit = Vec::new();
        if issue.new_client {
            audit.extend(
                super::audit::record(issue.by, Action::ClientCreated, now)
                    .map(|r| r.on_client(client)),
            );
        }
        let inv = &written.invoice;
        audit.extend(
            super::audit::record(issue.by, Action::InvoiceCreated, now)
                .map(|r| r.on_invoice(inv).entry(1).amount(inv.total)),
        );
        let write = NewInvoiceWrite {
            audit,
            next_action_at,
            pay_token,
            idempotency,
            entries: written.entries,
            invoice: written.invoice,
            other_entries,
            other_listings,
            new_client: issue.new_client.then(|| client.clone()),
        };
        match app.store.create_invoice(&write).await {
            Ok(()) => {
                return Ok(Some(Issued {
                    invoice: write.invoice,
                    entries: write.entries,
                    next_action_at,
                    pay_url,
                }));
            }
            Err(StoreError::SequenceTaken) => continue,
            Err(StoreError::IdempotencyKeyTaken) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Busy)
}
