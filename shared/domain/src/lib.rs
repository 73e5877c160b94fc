//! cobro's domain: the pure rules of getting paid. No I/O, no clock (every rule takes
//! `now` or `today` as an argument), no AWS, no async.

pub mod arrangement;
pub mod client;
pub mod deposit;
pub mod dunning;
pub mod ids;
pub mod invoice;
pub mod ledger;
pub mod locale;
pub mod money;
pub mod payref;
pub mod secret;
pub mod standing;
pub mod validation;

pub use arrangement::{Instalment, Outcome, Party};
pub use client::{AmountInput, Client, NewClient};
pub use dunning::{Stage, StageRecord, StageStatus};
pub use ids::{ApiKeyId, ClientId, InvoiceId, PaymentId, UnmatchedId};
pub use invoice::{Invoice, Line, NewInvoice, Terms, TermsInput, ValidInvoice};
pub use ledger::{
    Balance, Decision, EntryKind, FactKind, InvoiceStatus, LedgerEntry, NewEntry, PaymentFact,
    PaymentMethod,
};
pub use locale::Locale;
pub use money::{Currency, Money, MoneyError};
pub use payref::PaymentReference;
pub use secret::Secret;
pub use validation::{FieldError, FieldErrors};

/// Today's date in a time zone: what "today" means to a client in Santiago or Mexico City.
pub fn today_in(tz: chrono_tz::Tz, now: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
    now.with_timezone(&tz).date_naive()
}

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
