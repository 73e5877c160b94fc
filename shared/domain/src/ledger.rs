//! The ledger: every movement of money on an invoice is an immutable entry, and the
//! invoice's amount due and status are derived from it, never typed in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::money::{Money, MoneyError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Cheque,
    Transfer,
    CardTerminal,
    Provider,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryKind {
    /// The invoice was issued for its total: the client owes it from now on.
    Charge,
    /// Money received against the invoice.
    Payment {
        method: PaymentMethod,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// The invoice was cancelled; whatever was still due is no longer owed.
    Void {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Position in the invoice's ledger, from 1.
    pub seq: u32,
    #[serde(flatten)]
    pub kind: EntryKind,
    /// Always positive; the kind says which way it moves the balance.
    pub amount: Money,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Not issued yet: nothing is owed.
    Draft,
    Open,
    Paid,
    Void,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub charged: Money,
    pub paid: Money,
    pub amount_due: Money,
    pub status: InvoiceStatus,
}

/// Folds the ledger into the invoice's balance and status.
pub fn balance(total: &Money, entries: &[LedgerEntry]) -> Result<Balance, MoneyError> {
    let currency = total.currency();
    let mut charged = Money::zero(currency);
    let mut paid = Money::zero(currency);
    let mut void = false;
    for e in entries {
        match &e.kind {
            EntryKind::Charge => charged = charged.checked_add(&e.amount)?,
            EntryKind::Payment { .. } => paid = paid.checked_add(&e.amount)?,
            EntryKind::Void { .. } => void = true,
        }
    }
    let owed = charged.checked_sub(&paid)?;
    let amount_due = if void || owed.is_negative() {
        Money::zero(currency)
    } else {
        owed
    };
    let status = if void {
        InvoiceStatus::Void
    } else if charged.is_zero() {
        InvoiceStatus::Draft
    } else if amount_due.is_zero() {
        InvoiceStatus::Paid
    } else {
        InvoiceStatus::Open
    };
    Ok(Balance {
        charged,
        paid,
        amount_due,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;

    fn clp(units: i64) -> Money {
        Money::from_minor_units(units, Currency::parse("CLP").unwrap())
    }

    fn entry(seq: u32, kind: EntryKind, amount: Money) -> LedgerEntry {
        LedgerEntry {
            seq,
            kind,
            amount,
            at: "2026-11-23T12:00:00Z".parse().unwrap(),
        }
    }

    fn pay(seq: u32, units: i64) -> LedgerEntry {
        entry(
            seq,
            EntryKind::Payment {
                method: PaymentMethod::Transfer,
                reference: None,
            },
            clp(units),
        )
    }

    #[test]
    fn statuses_follow_the_ledger() {
        let total = clp(178_464);
        assert_eq!(balance(&total, &[]).unwrap().status, InvoiceStatus::Draft);
        let charge = entry(1, EntryKind::Charge, total);
        let b = balance(&total, std::slice::from_ref(&charge)).unwrap();
        assert_eq!((b.status, b.amount_due), (InvoiceStatus::Open, total));
        let b = balance(&total, &[charge.clone(), pay(2, 78_464)]).unwrap();
        assert_eq!(
            (b.status, b.amount_due),
            (InvoiceStatus::Open, clp(100_000))
        );
        let b = balance(&total, &[charge.clone(), pay(2, 78_464), pay(3, 100_000)]).unwrap();
        assert_eq!((b.status, b.amount_due), (InvoiceStatus::Paid, clp(0)));
        let b = balance(
            &total,
            &[charge, entry(2, EntryKind::Void { reason: None }, clp(0))],
        )
        .unwrap();
        assert_eq!((b.status, b.amount_due), (InvoiceStatus::Void, clp(0)));
    }

    #[test]
    fn a_payment_in_another_currency_is_an_error() {
        let total = clp(1000);
        let usd = Money::from_minor_units(100, Currency::parse("USD").unwrap());
        let err = balance(
            &total,
            &[
                entry(1, EntryKind::Charge, total),
                entry(
                    2,
                    EntryKind::Payment {
                        method: PaymentMethod::Cash,
                        reference: None,
                    },
                    usd,
                ),
            ],
        );
        assert!(err.is_err());
    }

    #[test]
    fn entries_serialize_with_their_kind() {
        let e = pay(2, 5000);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"], "payment");
        assert_eq!(json["method"], "transfer");
        assert_eq!(json["amount"]["amount"], "5000");
        assert_eq!(serde_json::from_value::<LedgerEntry>(json).unwrap(), e);
    }

    proptest! {
        /// The amount due never goes below zero, never exceeds what was charged, and the
        /// order in which payments are recorded does not change the balance.
        #[test]
        fn balance_is_bounded_and_order_free(total in 1i64..10_000_000, payments in prop::collection::vec(1i64..5_000_000, 0..8)) {
            let t = clp(total);
            let mut entries = vec![entry(1, EntryKind::Charge, t)];
            entries.extend(payments.iter().enumerate().map(|(i, p)| pay(i as u32 + 2, *p)));
            let b = balance(&t, &entries).unwrap();
            prop_assert!(!b.amount_due.is_negative());
            prop_assert!(b.amount_due.amount() <= t.amount());
            let paid: i64 = payments.iter().sum();
            prop_assert_eq!(b.status == InvoiceStatus::Paid, paid >= total);
            entries[1..].reverse();
            prop_assert_eq!(balance(&t, &entries).unwrap(), b);
        }
    }
}
