//! cobro's domain: the pure rules of getting paid. No I/O, no clock (every rule takes
//! `now` or `today` as an argument), no AWS, no async.

// Its unit tests count and step through dates freely (the rest may not: Cargo.toml).
#![cfg_attr(test, allow(clippy::arithmetic_side_effects))]

pub mod actor;
pub mod arrangement;
pub mod audit;
pub mod calendar;
pub mod cash;
pub mod client;
pub mod deposit;
pub mod dso;
pub mod dunning;
pub mod ids;
pub mod invoice;
pub mod ledger;
pub mod listing;
pub mod locale;
pub mod money;
pub mod pause;
pub mod payref;
pub mod receivables;
pub mod secret;
pub mod stage;
pub mod standing;
pub mod summary;
pub mod taxid;
pub mod trends;
pub mod user;
pub mod validation;

pub use actor::Actor;
pub use arrangement::Outcome;
pub use audit::{Action, AuditRecord};
pub use calendar::today_in;
pub use client::{Client, ClientChanges, NewClient};
pub use ids::{ApiKeyId, ClientId, InvoiceId, PaymentId, UnmatchedId, UserId};
pub use invoice::{Invoice, Line, NewInvoice, Terms, TermsInput, ValidInvoice};
pub use ledger::{
    Balance, Decision, EntryKind, FactKind, Instalment, InvoiceStatus, LedgerEntry, NewEntry,
    Party, PaymentFact, PaymentMethod, UnmatchedReason,
};
pub use locale::Locale;
pub use money::{AmountInput, Currency, Money, MoneyError};
pub use payref::PaymentReference;
pub use secret::Secret;
pub use stage::{JobRecord, Stage, StageRecord, StageStatus};
pub use user::{Role, Session, SignInToken, User};
pub use validation::{FieldError, FieldErrors};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_depends_on_the_time_zone() {
        let now = "2026-11-24T02:30:00Z".parse().unwrap();
        assert_eq!(
            today_in(chrono_tz::America::Santiago, now).to_string(),
            "2026-11-23"
        );
        assert_eq!(
            today_in(chrono_tz::Europe::Madrid, now).to_string(),
            "2026-11-24"
        );
    }
}
