//! The use cases: what cobro does, one module per business capability, below HTTP.
//!
//! Each reads through the store, asks the domain to decide, and writes the decision with
//! its cause in one atomic write; a lost race re-reads and decides again. They know nothing
//! of axum, status codes or JSON values: they take typed input, return typed output or an
//! [`Error`], and the HTTP adapters ([`crate::http`]), the scheduled functions and the CLI
//! all call the same ones.
//!
//! In dependency order (a module uses only those before it; `scripts/check-layers` checks):
//! - [`error`]: the typed error every use case returns;
//! - [`audit`]: who did what, recorded with it, and the log;
//! - [`keys`]: the business's API keys;
//! - [`people`]: the console's users, sign-in links and sessions;
//! - [`ledgers`]: an invoice or client by id, a client's ledgers, the credit they hold;
//! - [`links`]: pay links: made, stored hashed, opened, revoked; hosted checkouts;
//! - [`standing`]: a client's standing and the credit check;
//! - [`reports`]: escalations, late fees and promises, for people and agencies;
//! - [`lists`]: the invoice lists across clients, their filters and CSV export;
//! - [`queues`]: the work queues read from the stage logs (broken promises and plans,
//!   deposits overdue);
//! - [`mail`]: the messages to clients and to the business, through the Mailer port;
//! - [`issue`]: numbering and writing an invoice with the client's credit brought onto it;
//! - [`payments`]: money onto invoices (provider events, manual payments, the unmatched
//!   queue), exactly once;
//! - [`arrangements`]: promises, plans and extensions;
//! - [`deposits`]: deposits asked for before credit, budgets, early payments matched;
//! - [`invoicing`]: clients and invoices created, read, voided;
//! - [`sweep`]: the engine of the reminder sweep and the deposit check.

pub mod arrangements;
pub mod audit;
pub mod deposits;
pub mod error;
pub mod figures;
pub mod invoicing;
pub mod issue;
pub mod keys;
pub mod ledgers;
pub mod links;
pub mod lists;
pub mod mail;
pub mod payments;
pub mod people;
pub mod queues;
pub mod reports;
pub mod standing;
pub mod summary;
pub mod sweep;

pub use error::{Conflict, Error, Thing};

/// What an effect's idempotency record will say, made from the invoice as the write leaves
/// it: the HTTP adapter's answer to remember, written in the same atomic write.
pub type Remember<'a> = &'a (
        dyn Fn(&cobro_store::StoredInvoice) -> Option<cobro_store::IdempotencyRecord> + Send + Sync
    );

/// [`Remember`] for an answer that also shows a new pay link.
pub type RememberLink<'a> = &'a (
        dyn Fn(&cobro_store::StoredInvoice, &str) -> Option<cobro_store::IdempotencyRecord>
            + Send
            + Sync
    );

/// Nothing to remember (the pay page, the sweep, a parked event).
pub fn nothing(_: &cobro_store::StoredInvoice) -> Option<cobro_store::IdempotencyRecord> {
    None
}
