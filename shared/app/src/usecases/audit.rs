//! The audit log: every action a person, an API key, the client or the command line takes
//! on the business's data is recorded with who took it ([`Actor`]), what it was
//! ([`Action`]), on which invoice or client, and when.
//!
//! An action that writes ledger entries or an invoice carries its record in that same
//! write ([`cobro_store::LedgerWrite::audit`], [`cobro_store::NewInvoiceWrite::audit`]), and
//! each entry carries its actor. The others (clients, budgets, pay links, people, keys)
//! record theirs once what they did is written ([`keep`]); a failure to record is tried
//! again, then logged for an operator, never turned into a failure of what was done.

use chrono::{DateTime, Utc};
use cobro_domain::{Action, Actor, AuditRecord, ClientId, FieldErrors, InvoiceId, User};
use cobro_store::{AuditFilter, Page, PageRequest};

use super::Error;
use crate::App;

/// The actor of a console user.
pub fn user(u: &User) -> Actor {
    Actor::User {
        id: u.id.clone(),
        name: u.name.clone(),
    }
}

/// The record of `action` by `by` at `at`, or none when a provider's event did it (the
/// event is its record).
pub fn record(by: &Actor, action: Action, at: DateTime<Utc>) -> Option<AuditRecord> {
    (!matches!(by, Actor::Provider { .. })).then(|| AuditRecord::new(by.clone(), action, at))
}

/// Records an action whose effect is already written.
/// What it did stands either way: a record that cannot be written (after a second try)
/// is logged as an error for an operator, and the person gets the answer of what they did
/// (an API key's secret, shown once, is never lost to it).
pub async fn keep(app: &App, record: Option<AuditRecord>) {
    let Some(r) = record else {
        return;
    };
    for attempt in 1..=2 {
        match app.store.record_audit(&r).await {
            Ok(()) => return,
            Err(e) if attempt == 2 => {
                tracing::error!(action = r.action.as_str(), audit_id = %r.id, error = %e, "audit record not kept");
            }
            Err(_) => {}
        }
    }
}

/// The part of the log asked for: one invoice's (`invoice_id`), one client's
/// (`client_id`: theirs and their invoices'), or all. Each must be one of ours; naming
/// both is refused.
pub async fn filter(
    app: &App,
    invoice_id: Option<&str>,
    client_id: Option<&str>,
) -> Result<AuditFilter, Error> {
    fn given(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    match (given(invoice_id), given(client_id)) {
        (Some(_), Some(_)) => Err(Error::Invalid(FieldErrors::single(
            "client_id",
            "give an invoice or a client, not both",
        ))),
        (Some(i), None) => {
            let id = InvoiceId::parse(i).filter(|_| i.len() <= 64);
            match id {
                Some(id) if app.store.invoice(&id).await?.is_some() => Ok(AuditFilter::Invoice(id)),
                _ => Err(Error::Invalid(FieldErrors::single(
                    "invoice_id",
                    "no invoice with this id",
                ))),
            }
        }
        (None, Some(c)) => {
            let id = ClientId::parse(c);
            match id {
                Some(id) if app.store.client(&id).await?.is_some() => Ok(AuditFilter::Client(id)),
                _ => Err(Error::Invalid(FieldErrors::single(
                    "client_id",
                    "no client with this id",
                ))),
            }
        }
        (None, None) => Ok(AuditFilter::All),
    }
}

/// A page of the log, newest first.
pub async fn log(
    app: &App,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditRecord>, Error> {
    Ok(app.store.audit_log(filter, page).await?)
}
