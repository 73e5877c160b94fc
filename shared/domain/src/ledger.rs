//! The ledger: every movement of money on an invoice is an immutable entry, and the
//! invoice's amount due and status are derived from it, never typed in.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::money::{Money, MoneyError};

/// Who made an arrangement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Business,
    Client,
}

/// One instalment of a payment plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Instalment {
    pub due_date: NaiveDate,
    pub amount: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Cheque,
    Transfer,
    CardTerminal,
    Provider,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Money given back to the client.
    Refund,
    /// The client disputed a payment: its money is at risk until the dispute closes.
    DisputeHold,
    /// The dispute was decided for the business: the payment stands.
    DisputeRelease,
    /// The dispute was decided for the client: the money is taken back.
    DisputeLost,
    /// Credit from an overpaid invoice, brought onto this one: counts as paid here.
    CreditIn,
    /// This invoice's excess, moved to another invoice of the same client.
    CreditOut,
    /// A late fee charged by the dunning engine for one period overdue, after its notice:
    /// a separate entry, so the invoice as sent is never edited.
    LateFee { period: u32 },
    /// An early-payment discount: the client paid the discounted amount in time.
    Discount,
    /// Part of a cleared deposit brought onto another invoice of the client (which gets a
    /// `credit_in`). The deposit stays paid: this only lowers what it still holds.
    DepositApplied,
    /// The invoice was cancelled; whatever was still due is no longer owed.
    Void {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A promise to pay `amount` by `date`. Moves no money: it pauses the chase, and the
    /// ledger that follows it decides whether it was kept.
    Promise {
        promise: u32,
        date: NaiveDate,
        by: Party,
    },
    /// The amount due split into instalments (summing to `amount`). Moves no money.
    Plan {
        plan: u32,
        instalments: Vec<Instalment>,
        by: Party,
    },
    /// The due date moved, and why (the amount is zero). `reason` is the business's own
    /// note, never sent; `message` what the client was told with it, if anything.
    Extension {
        from: NaiveDate,
        to: NaiveDate,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The business paused the chase until a day (the amount is zero): nothing is sent or
    /// charged before it. `reason` is its own note, never sent; the client is not told.
    Pause { until: NaiveDate, reason: String },
    /// The business resumed the chase before the pause's day.
    Resume,
}

impl EntryKind {
    /// How the entry moves the business's cash: 1 for money received (a payment), −1 for
    /// money that went back (a refund, a dispute lost), none otherwise (credits moved
    /// between invoices and discounts are no money).
    pub fn cash_sign(&self) -> Option<rust_decimal::Decimal> {
        match self {
            EntryKind::Payment { .. } => Some(rust_decimal::Decimal::ONE),
            EntryKind::Refund | EntryKind::DisputeLost => Some(rust_decimal::Decimal::NEGATIVE_ONE),
            _ => None,
        }
    }

    /// Money received toward the invoice (what keeps promises and pays instalments).
    pub fn pays(&self) -> bool {
        matches!(
            self,
            EntryKind::Payment { .. } | EntryKind::CreditIn | EntryKind::Discount
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    /// Position in the invoice's ledger, from 1.
    pub seq: u32,
    #[serde(flatten)]
    pub kind: EntryKind,
    /// Always positive; the kind says which way it moves the balance.
    pub amount: Money,
    pub at: DateTime<Utc>,
    /// What this entry records, unique within the invoice (`stripe:pi_1:payment`): the same
    /// fact delivered again finds its key and adds nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Who recorded it: a person or key of the business, the client, a provider's event,
    /// or cobro itself. Absent on entries from before it was kept. `recorded_by` in JSON
    /// (a promise's or plan's `by` is the party that made it).
    #[serde(
        default,
        rename = "recorded_by",
        skip_serializing_if = "Option::is_none"
    )]
    pub by: Option<crate::actor::Actor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Not issued yet: nothing is owed.
    Draft,
    Open,
    PartiallyPaid,
    Paid,
    /// More was received than charged: the excess is the client's credit.
    Overpaid,
    /// A payment is under dispute.
    Disputed,
    /// Past the escalation threshold and still owed: handed over for collection.
    Escalated,
    /// Money was received and all of it went back.
    Refunded,
    Void,
}

impl InvoiceStatus {
    /// Its name as the API, filters and stores write it (`partially_paid`): serde's.
    pub fn as_str(&self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "draft",
            InvoiceStatus::Open => "open",
            InvoiceStatus::PartiallyPaid => "partially_paid",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Overpaid => "overpaid",
            InvoiceStatus::Disputed => "disputed",
            InvoiceStatus::Escalated => "escalated",
            InvoiceStatus::Refunded => "refunded",
            InvoiceStatus::Void => "void",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Balance {
    /// The invoice's charge plus late fees.
    pub charged: Money,
    /// Late fees among `charged`.
    pub late_fees: Money,
    /// Early-payment discounts granted.
    pub discounted: Money,
    pub paid: Money,
    pub refunded: Money,
    pub disputed_lost: Money,
    /// Held by an open dispute.
    pub on_hold: Money,
    /// paid − refunded − lost.
    pub net_paid: Money,
    pub amount_due: Money,
    /// What was received beyond the charge: the client's credit. On a void invoice nothing
    /// is owed, so everything it still holds (received, less refunded, lost or moved, and
    /// less what an open dispute holds) is; if it gave back more than it held, that is its
    /// `amount_due`.
    pub credit: Money,
    pub status: InvoiceStatus,
}

/// Folds the ledger into the invoice's balance and status. The result depends only on the
/// set of entries, never on their order.
pub fn balance(total: &Money, entries: &[LedgerEntry]) -> Result<Balance, MoneyError> {
    let currency = total.currency();
    let zero = Money::zero(currency);
    let (mut charged, mut paid, mut refunded, mut lost, mut held) = (zero, zero, zero, zero, zero);
    let mut moved = zero;
    let (mut late_fees, mut discounted) = (zero, zero);
    let mut void = false;
    // A dispute is open while it has a hold and neither a release nor a loss, whatever
    // order those arrived in.
    let closed: std::collections::HashSet<&str> = entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::DisputeRelease | EntryKind::DisputeLost))
        .filter_map(|e| e.key.as_deref().and_then(dispute_of))
        .collect();
    for e in entries {
        match &e.kind {
            EntryKind::Charge => charged = charged.checked_add(&e.amount)?,
            EntryKind::Payment { .. } => paid = paid.checked_add(&e.amount)?,
            EntryKind::Refund => refunded = refunded.checked_add(&e.amount)?,
            EntryKind::CreditIn => paid = paid.checked_add(&e.amount)?,
            EntryKind::CreditOut => moved = moved.checked_add(&e.amount)?,
            EntryKind::DisputeLost => lost = lost.checked_add(&e.amount)?,
            EntryKind::DisputeHold => {
                if !e
                    .key
                    .as_deref()
                    .and_then(dispute_of)
                    .is_some_and(|d| closed.contains(d))
                {
                    held = held.checked_add(&e.amount)?;
                }
            }
            EntryKind::DisputeRelease => {}
            EntryKind::LateFee { .. } => {
                charged = charged.checked_add(&e.amount)?;
                late_fees = late_fees.checked_add(&e.amount)?;
            }
            EntryKind::Discount => discounted = discounted.checked_add(&e.amount)?,
            EntryKind::Void { .. } => void = true,
            EntryKind::Promise { .. }
            | EntryKind::Plan { .. }
            | EntryKind::Extension { .. }
            | EntryKind::Pause { .. }
            | EntryKind::Resume
            | EntryKind::DepositApplied => {}
        }
    }
    let net_paid = paid
        .checked_sub(&refunded)?
        .checked_sub(&lost)?
        .checked_sub(&moved)?;
    let owed = charged.checked_sub(&discounted)?.checked_sub(&net_paid)?;
    // A void invoice owes nothing, unless more went back than it held (a refund or a lost
    // dispute after its credit moved on): that is owed, not lost.
    let amount_due = if void {
        if net_paid.is_negative() {
            zero.checked_sub(&net_paid)?
        } else {
            zero
        }
    } else if owed.is_negative() {
        zero
    } else {
        owed
    };
    // A void invoice's credit is all it holds, less what an open dispute may still take.
    let void_credit = net_paid.checked_sub(&held)?;
    let credit = if void {
        if void_credit.is_positive() {
            void_credit
        } else {
            zero
        }
    } else if owed.is_negative() {
        zero.checked_sub(&owed)?
    } else {
        zero
    };
    let status = if void {
        InvoiceStatus::Void
    } else if charged.is_zero() {
        InvoiceStatus::Draft
    } else if held.is_positive() {
        InvoiceStatus::Disputed
    } else if paid.is_positive() && !net_paid.is_positive() && moved.is_zero() {
        InvoiceStatus::Refunded
    } else if owed.is_zero() {
        InvoiceStatus::Paid
    } else if owed.is_negative() {
        InvoiceStatus::Overpaid
    } else if net_paid.is_positive() {
        InvoiceStatus::PartiallyPaid
    } else {
        InvoiceStatus::Open
    };
    Ok(Balance {
        charged,
        late_fees,
        discounted,
        paid,
        refunded,
        disputed_lost: lost,
        on_hold: held,
        net_paid,
        amount_due,
        credit,
        status,
    })
}

/// The dispute named in an entry key `{source}:{dispute}:dispute-…`.
fn dispute_of(key: &str) -> Option<&str> {
    let (rest, suffix) = key.rsplit_once(':')?;
    suffix.starts_with("dispute-").then_some(rest)
}

/// A movement of money reported by a payment provider, a bank or a person, before it is
/// matched to an invoice's ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentFact {
    /// Who reports it: `stripe`, `mercadopago`, `standard`, `manual`.
    pub source: String,
    /// The reporter's id of the payment.
    pub payment_id: String,
    pub kind: FactKind,
    pub amount: Money,
    pub method: PaymentMethod,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FactKind {
    Received,
    /// With `cumulative`, `amount` is the total refunded so far on the payment.
    Refunded {
        cumulative: bool,
        refund_id: Option<String>,
    },
    DisputeOpened {
        dispute_id: String,
    },
    DisputeWon {
        dispute_id: String,
    },
    DisputeLost {
        dispute_id: String,
    },
}

/// An entry to append, before it has a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub kind: EntryKind,
    pub amount: Money,
    pub key: String,
}

/// Why a payment waits in the unmatched queue for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnmatchedReason {
    /// It names no invoice we know (yet: a refund may arrive before its payment).
    UnknownInvoice,
    /// It is in another currency than the invoice it names.
    CurrencyMismatch,
}

impl UnmatchedReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            UnmatchedReason::UnknownInvoice => "unknown_invoice",
            UnmatchedReason::CurrencyMismatch => "currency_mismatch",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Apply(NewEntry),
    /// Already in the ledger: nothing to do.
    Duplicate,
    /// Cannot go on this invoice (another currency): to the unmatched queue.
    Unmatched(UnmatchedReason),
    /// Nothing to record (a zero amount).
    Ignore(&'static str),
}

/// Decides what a fact adds to an invoice's ledger. Pure and idempotent: a fact whose key
/// is already present adds nothing, so duplicates and redeliveries change the ledger once.
pub fn reconcile(
    invoice_currency: crate::Currency,
    entries: &[LedgerEntry],
    fact: &PaymentFact,
) -> Decision {
    if fact.amount.currency() != invoice_currency {
        return Decision::Unmatched(UnmatchedReason::CurrencyMismatch);
    }
    let has = |key: &str| entries.iter().any(|e| e.key.as_deref() == Some(key));
    let (source, pid) = (fact.source.as_str(), fact.payment_id.as_str());
    let entry = |kind: EntryKind, amount: Money, key: String| {
        if has(&key) {
            Decision::Duplicate
        } else {
            Decision::Apply(NewEntry { kind, amount, key })
        }
    };
    match &fact.kind {
        FactKind::Received if fact.amount.is_zero() => Decision::Ignore("zero_amount"),
        FactKind::Received => entry(
            EntryKind::Payment {
                method: fact.method,
                reference: Some(format!("{source}:{pid}")),
            },
            fact.amount,
            format!("{source}:{pid}:payment"),
        ),
        FactKind::Refunded {
            cumulative: false,
            refund_id,
        } => {
            let id = refund_id.as_deref().unwrap_or("-");
            entry(
                EntryKind::Refund,
                fact.amount,
                format!("{source}:{pid}:refund:{id}"),
            )
        }
        FactKind::Refunded {
            cumulative: true, ..
        } => {
            // Refunds so far on this payment; a total not above them is old news.
            let prefix = format!("{source}:{pid}:refund");
            let so_far = entries
                .iter()
                .filter(|e| {
                    e.kind == EntryKind::Refund
                        && e.key.as_deref().is_some_and(|k| k.starts_with(&prefix))
                })
                .try_fold(Money::zero(invoice_currency), |acc, e| {
                    acc.checked_add(&e.amount)
                });
            match so_far.and_then(|s| fact.amount.checked_sub(&s)) {
                Ok(delta) if delta.is_positive() => entry(
                    EntryKind::Refund,
                    delta,
                    format!("{prefix}-to:{}", fact.amount.amount()),
                ),
                Ok(_) => Decision::Duplicate,
                Err(_) => Decision::Unmatched(UnmatchedReason::CurrencyMismatch),
            }
        }
        FactKind::DisputeOpened { dispute_id } => entry(
            EntryKind::DisputeHold,
            fact.amount,
            format!("{source}:{dispute_id}:dispute-hold"),
        ),
        FactKind::DisputeWon { dispute_id } => entry(
            EntryKind::DisputeRelease,
            fact.amount,
            format!("{source}:{dispute_id}:dispute-release"),
        ),
        FactKind::DisputeLost { dispute_id } => entry(
            EntryKind::DisputeLost,
            fact.amount,
            format!("{source}:{dispute_id}:dispute-lost"),
        ),
    }
}

/// How much of each source's credit to bring onto a new invoice that owes `due`: oldest
/// sources first, never more than is due, never more than a source holds, same currency only.
pub fn plan_credit<K: Clone>(due: &Money, sources: &[(K, Money)]) -> Vec<(K, Money)> {
    let mut left = *due;
    let mut plan = Vec::new();
    for (key, credit) in sources {
        if !left.is_positive() {
            break;
        }
        if credit.currency() != due.currency() || !credit.is_positive() {
            continue;
        }
        let take = if credit.amount() < left.amount() {
            *credit
        } else {
            left
        };
        if let Ok(rest) = left.checked_sub(&take) {
            left = rest;
            plan.push((key.clone(), take));
        }
    }
    plan
}

/// Appends an entry at the next position.
pub fn next_entry(entries: &[LedgerEntry], new: NewEntry, at: DateTime<Utc>) -> LedgerEntry {
    LedgerEntry {
        seq: entries
            .iter()
            .map(|e| e.seq)
            .max()
            .unwrap_or(0)
            .saturating_add(1),
        kind: new.kind,
        amount: new.amount,
        at,
        key: Some(new.key),
        by: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;

    fn clp(units: i64) -> Money {
        Money::from_minor_units(units, Currency::parse("CLP").unwrap())
    }

    /// A promise's party (`by`) and who recorded it (`recorded_by`) are two keys: each
    /// survives the trip through JSON (as the stores keep entries).
    #[test]
    fn a_promise_keeps_its_party_and_who_recorded_it() {
        let e = LedgerEntry {
            by: Some(crate::actor::Actor::Client),
            ..entry(
                2,
                EntryKind::Promise {
                    promise: 1,
                    date: NaiveDate::from_ymd_opt(2026, 12, 20).unwrap(),
                    by: Party::Client,
                },
                clp(1000),
            )
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["by"], "client");
        assert_eq!(json["recorded_by"]["type"], "client");
        assert_eq!(serde_json::from_value::<LedgerEntry>(json).unwrap(), e);
    }

    #[test]
    fn a_status_is_named_as_serde_writes_it() {
        use InvoiceStatus::*;
        for s in [
            Draft,
            Open,
            PartiallyPaid,
            Paid,
            Overpaid,
            Disputed,
            Escalated,
            Refunded,
            Void,
        ] {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
    }

    fn entry(seq: u32, kind: EntryKind, amount: Money) -> LedgerEntry {
        LedgerEntry {
            seq,
            kind,
            amount,
            at: "2026-11-23T12:00:00Z".parse().unwrap(),
            key: None,
            by: None,
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
            (InvoiceStatus::PartiallyPaid, clp(100_000))
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
            prop_assert_eq!(matches!(b.status, InvoiceStatus::Paid | InvoiceStatus::Overpaid), paid >= total);
            entries[1..].reverse();
            prop_assert_eq!(balance(&t, &entries).unwrap(), b);
        }
    }

    fn fact(source: &str, pid: &str, kind: FactKind, units: i64) -> PaymentFact {
        PaymentFact {
            source: source.into(),
            payment_id: pid.into(),
            kind,
            amount: clp(units),
            method: PaymentMethod::Provider,
        }
    }

    /// Applies facts one by one, as deliveries would.
    fn fold(total: &Money, facts: &[PaymentFact]) -> (Vec<LedgerEntry>, usize) {
        let mut entries = vec![LedgerEntry {
            key: Some("charge".into()),
            ..entry(1, EntryKind::Charge, *total)
        }];
        let mut unmatched = 0;
        for f in facts {
            match reconcile(total.currency(), &entries, f) {
                Decision::Apply(new) => {
                    let e = next_entry(&entries, new, "2026-11-23T12:00:00Z".parse().unwrap());
                    entries.push(e);
                }
                Decision::Unmatched(_) => unmatched += 1,
                Decision::Duplicate | Decision::Ignore(_) => {}
            }
        }
        (entries, unmatched)
    }

    #[test]
    fn payments_refunds_and_disputes() {
        let total = clp(100_000);
        let received = fact("stripe", "pi_1", FactKind::Received, 60_000);
        let (e, _) = fold(&total, &[received.clone(), received.clone()]);
        let b = balance(&total, &e).unwrap();
        assert_eq!(
            (b.status, b.amount_due, b.paid),
            (InvoiceStatus::PartiallyPaid, clp(40_000), clp(60_000))
        );

        let more = fact("standard", "tr_9", FactKind::Received, 50_000);
        let (e, _) = fold(&total, &[received.clone(), more.clone()]);
        let b = balance(&total, &e).unwrap();
        assert_eq!(
            (b.status, b.credit, b.amount_due),
            (InvoiceStatus::Overpaid, clp(10_000), clp(0))
        );

        // Stripe's amount_refunded is cumulative: 10.000 then 25.000 is 25.000 in all.
        let r1 = fact(
            "stripe",
            "pi_1",
            FactKind::Refunded {
                cumulative: true,
                refund_id: None,
            },
            10_000,
        );
        let r2 = fact(
            "stripe",
            "pi_1",
            FactKind::Refunded {
                cumulative: true,
                refund_id: None,
            },
            25_000,
        );
        let (e, _) = fold(
            &total,
            &[received.clone(), r1.clone(), r2.clone(), r1.clone()],
        );
        assert_eq!(balance(&total, &e).unwrap().refunded, clp(25_000));
        let full = fact(
            "stripe",
            "pi_1",
            FactKind::Refunded {
                cumulative: true,
                refund_id: None,
            },
            60_000,
        );
        let (e, _) = fold(&total, &[received.clone(), full]);
        assert_eq!(balance(&total, &e).unwrap().status, InvoiceStatus::Refunded);

        let hold = fact(
            "stripe",
            "pi_1",
            FactKind::DisputeOpened {
                dispute_id: "dp_1".into(),
            },
            60_000,
        );
        let lost = fact(
            "stripe",
            "pi_1",
            FactKind::DisputeLost {
                dispute_id: "dp_1".into(),
            },
            60_000,
        );
        let won = fact(
            "stripe",
            "pi_1",
            FactKind::DisputeWon {
                dispute_id: "dp_1".into(),
            },
            60_000,
        );
        let (e, _) = fold(&total, &[received.clone(), hold.clone()]);
        assert_eq!(balance(&total, &e).unwrap().status, InvoiceStatus::Disputed);
        let (e, _) = fold(&total, &[received.clone(), hold.clone(), won]);
        assert_eq!(
            balance(&total, &e).unwrap().status,
            InvoiceStatus::PartiallyPaid
        );
        let (e, _) = fold(&total, &[lost.clone(), received.clone(), hold]);
        let b = balance(&total, &e).unwrap();
        assert_eq!(
            (b.status, b.amount_due),
            (InvoiceStatus::Refunded, clp(100_000))
        );

        let usd = PaymentFact {
            amount: Money::from_minor_units(100, Currency::parse("USD").unwrap()),
            ..received
        };
        assert_eq!(
            reconcile(total.currency(), &e, &usd),
            Decision::Unmatched(UnmatchedReason::CurrencyMismatch)
        );
        assert_eq!(
            reconcile(total.currency(), &e, &fact("x", "y", FactKind::Received, 0)),
            Decision::Ignore("zero_amount")
        );
    }

    /// A set of facts about one invoice, as providers could report them.
    fn facts() -> impl Strategy<Value = Vec<PaymentFact>> {
        let payment = (
            0..3usize,
            1i64..80_000,
            prop::collection::vec(0i64..80_000, 0..3),
            prop::option::of(any::<bool>()),
            any::<bool>(),
        );
        prop::collection::vec(payment, 1..4).prop_map(|payments| {
            let mut out = Vec::new();
            for (i, (source, amount, refunds, dispute, by_id)) in payments.into_iter().enumerate() {
                let source = ["stripe", "standard", "manual"][source];
                let pid = format!("p{i}");
                out.push(fact(source, &pid, FactKind::Received, amount));
                let mut totals: Vec<i64> = refunds.into_iter().map(|r| r.min(amount)).collect();
                totals.sort();
                for (j, r) in totals.iter().enumerate() {
                    let kind = if by_id {
                        FactKind::Refunded {
                            cumulative: false,
                            refund_id: Some(format!("re{j}")),
                        }
                    } else {
                        FactKind::Refunded {
                            cumulative: true,
                            refund_id: None,
                        }
                    };
                    if *r > 0 {
                        out.push(fact(source, &pid, kind, *r));
                    }
                }
                if let Some(won) = dispute {
                    let d = format!("dp{i}");
                    out.push(fact(
                        source,
                        &pid,
                        FactKind::DisputeOpened {
                            dispute_id: d.clone(),
                        },
                        amount,
                    ));
                    let close = if won {
                        FactKind::DisputeWon { dispute_id: d }
                    } else {
                        FactKind::DisputeLost { dispute_id: d }
                    };
                    out.push(fact(source, &pid, close, amount));
                }
            }
            out
        })
    }

    proptest! {
        /// Any order and any duplication of the same facts gives the same balance.
        #[test]
        fn permutations_and_duplicates_converge(facts in facts(), total in 1i64..200_000, seed in any::<u64>(), dups in prop::collection::vec(0usize..20, 0..10)) {
            let t = clp(total);
            let (in_order, _) = fold(&t, &facts);
            let mut shuffled = facts.clone();
            for d in dups { let f = shuffled[d % shuffled.len()].clone(); shuffled.push(f); }
            let n = shuffled.len();
            let mut state = seed;
            for i in (1..n).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (state >> 33) as usize % (i + 1));
            }
            let (any_order, _) = fold(&t, &shuffled);
            prop_assert_eq!(balance(&t, &any_order).unwrap(), balance(&t, &in_order).unwrap());
        }

        /// The ledger always balances: what is due minus the credit is what was charged
        /// minus what was kept, and keys are never repeated.
        #[test]
        fn the_ledger_balances(facts in facts(), total in 1i64..200_000) {
            let t = clp(total);
            let (entries, _) = fold(&t, &facts);
            let b = balance(&t, &entries).unwrap();
            prop_assert_eq!(b.amount_due.checked_sub(&b.credit).unwrap(), b.charged.checked_sub(&b.net_paid).unwrap());
            prop_assert!(!b.amount_due.is_negative() && !b.credit.is_negative());
            prop_assert!(b.amount_due.is_zero() || b.credit.is_zero());
            let keys: std::collections::HashSet<_> = entries.iter().map(|e| e.key.clone()).collect();
            prop_assert_eq!(keys.len(), entries.len());
        }
    }

    proptest! {
        /// Nothing received goes nowhere: what an invoice holds (received, less refunded,
        /// lost or moved) is applied to its charge or is the client's credit, and a void
        /// invoice applies nothing, so all it holds is credit.
        #[test]
        fn what_an_invoice_holds_is_applied_or_credit(facts in facts(), total in 1i64..200_000, void_at in prop::option::of(0usize..12)) {
            let t = clp(total);
            let (mut entries, _) = fold(&t, &facts);
            if let Some(at) = void_at {
                let void = entry(0, EntryKind::Void { reason: None }, clp(0));
                entries.insert(at.min(entries.len()), void);
            }
            let b = balance(&t, &entries).unwrap();
            if void_at.is_some() {
                // All it holds is credit, but what an open dispute may still take; what it
                // gave back beyond that is owed.
                let free = b.net_paid.checked_sub(&b.on_hold).unwrap();
                prop_assert_eq!(b.credit.amount(), free.amount().max(rust_decimal::Decimal::ZERO));
                prop_assert_eq!(b.amount_due.amount(), (-b.net_paid.amount()).max(rust_decimal::Decimal::ZERO));
            } else if !b.net_paid.is_negative() {
                let applied = b.charged.checked_sub(&b.discounted).unwrap().checked_sub(&b.amount_due).unwrap();
                prop_assert_eq!(applied.checked_add(&b.credit).unwrap(), b.net_paid);
            }
            prop_assert!(!b.credit.is_negative());
        }
    }

    #[test]
    fn credit_moves_between_invoices_exactly() {
        let usd = Money::from_minor_units(500, Currency::parse("USD").unwrap());
        let plan = plan_credit(
            &clp(10_000),
            &[
                ("a", clp(3_000)),
                ("usd", usd),
                ("b", clp(9_000)),
                ("c", clp(1)),
            ],
        );
        assert_eq!(plan, vec![("a", clp(3_000)), ("b", clp(7_000))]);
        assert!(plan_credit(&clp(0), &[("a", clp(5))]).is_empty());

        // The source keeps paid status; the target counts the credit as paid.
        let total = clp(100_000);
        let charge = LedgerEntry {
            key: Some("charge".into()),
            ..entry(1, EntryKind::Charge, total)
        };
        let source = vec![
            charge.clone(),
            pay(2, 105_000),
            entry(3, EntryKind::CreditOut, clp(5_000)),
        ];
        let b = balance(&total, &source).unwrap();
        assert_eq!(
            (b.status, b.credit, b.amount_due),
            (InvoiceStatus::Paid, clp(0), clp(0))
        );
        let target = vec![charge, entry(2, EntryKind::CreditIn, clp(5_000))];
        let b = balance(&total, &target).unwrap();
        assert_eq!(
            (b.status, b.amount_due),
            (InvoiceStatus::PartiallyPaid, clp(95_000))
        );
    }

    proptest! {
        /// Credit is never created or lost: what leaves the sources is what the target gets,
        /// and it never exceeds what is due or what each source holds.
        #[test]
        fn credit_plans_conserve_money(due in 0i64..1_000_000, credits in prop::collection::vec(0i64..500_000, 0..6)) {
            let sources: Vec<(usize, Money)> = credits.iter().map(|c| clp(*c)).enumerate().collect();
            let plan = plan_credit(&clp(due), &sources);
            let moved: i64 = plan.iter().map(|(_, m)| m.to_minor_units().unwrap()).sum();
            prop_assert_eq!(moved, due.min(credits.iter().sum()));
            for (i, m) in &plan {
                prop_assert!(m.is_positive() && m.amount() <= sources[*i].1.amount());
            }
        }
    }
}
