use chrono::Duration;
use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::*;
use crate::dunning::tests::{charge, clp, date, done, invoice, run, t};
use crate::invoice::Purpose;
use crate::invoice::Terms;
use crate::ledger::PaymentMethod;

/// A deposit of CLP 100.000 asked for on Mon 2026-11-23 (Santiago), due Thu 2026-11-26,
/// overdue three days later.
fn deposit() -> Invoice {
    let mut inv = invoice(Terms {
        escalate_after_days: 3,
        ..Terms::default()
    });
    inv.purpose = Purpose::Deposit;
    inv.issue_date = date("2026-11-23");
    inv.due_date = date("2026-11-26");
    inv.created_at = t("2026-11-23T15:00:00Z");
    inv
}

fn payment(seq: u32, amount: Money, at: &str) -> LedgerEntry {
    LedgerEntry {
        seq,
        kind: EntryKind::Payment {
            method: PaymentMethod::Transfer,
            reference: None,
        },
        amount,
        at: t(at),
        key: Some(format!("payment:{seq}")),
        by: None,
    }
}

fn errors_of(input: DepositInput) -> Vec<String> {
    let mut errors = FieldErrors::new();
    let out = input.validate(&mut errors, "deposit");
    assert_eq!(out.is_none(), !errors.is_empty());
    errors.errors.into_iter().map(|e| e.field).collect()
}

#[test]
fn bad_deposits_are_refused_by_field() {
    let percent = |p| DepositInput {
        percent: Some(p),
        ..Default::default()
    };
    assert_eq!(errors_of(percent(dec!(-5))), ["deposit.percent"]);
    assert_eq!(errors_of(percent(dec!(100.01))), ["deposit.percent"]);
    assert!(errors_of(percent(dec!(100))).is_empty());
    assert!(errors_of(percent(dec!(0))).is_empty());
    let fixed = |amount, currency: &str| DepositInput {
        amount: Some(amount),
        currency: Some(currency.into()),
        ..Default::default()
    };
    assert_eq!(errors_of(fixed(dec!(-1), "CLP")), ["deposit.amount"]);
    assert_eq!(errors_of(fixed(dec!(10.5), "CLP")), ["deposit.amount"]);
    assert_eq!(errors_of(fixed(dec!(10), "XYZ")), ["deposit.currency"]);
    assert_eq!(errors_of(DepositInput::default()), ["deposit"]);
    assert_eq!(
        errors_of(DepositInput {
            percent: Some(dec!(10)),
            amount: Some(dec!(10)),
            ..Default::default()
        }),
        ["deposit"]
    );
    assert_eq!(
        errors_of(DepositInput {
            percent: Some(dec!(10)),
            due_days: Some(0),
            overdue_after_days: Some(91),
            hold: Some("escrow".into()),
            ..Default::default()
        }),
        [
            "deposit.due_days",
            "deposit.overdue_after_days",
            "deposit.hold"
        ]
    );
}

#[test]
fn what_is_asked_for() {
    let mut errors = FieldErrors::new();
    let terms = DepositInput {
        percent: Some(dec!(30)),
        hold: Some("retainer".into()),
        ..Default::default()
    }
    .validate(&mut errors, "deposit")
    .unwrap();
    assert_eq!(terms.due_days, DEFAULT_DUE_DAYS);
    assert_eq!(terms.hold, Hold::Retainer);
    // 30 % of CLP 100.001 is 30.000,3: rounded to whole pesos.
    assert_eq!(terms.required(&clp(100_001)).unwrap(), clp(30_000));
    let fixed = DepositTerms {
        rule: DepositRule::Fixed(clp(50_000)),
        ..terms
    };
    assert_eq!(fixed.required(&clp(1)).unwrap(), clp(50_000));
    let usd = Money::new(dec!(10), Currency::parse("USD").unwrap()).unwrap();
    assert!(fixed.required(&usd).is_err());
    assert!(
        DepositTerms {
            rule: DepositRule::Percent(dec!(0)),
            ..terms
        }
        .is_waived()
    );
}

#[test]
fn unpaid_deposit_is_opened_reminded_then_overdue() {
    let inv = deposit();
    let (mut entries, mut stages) = (vec![charge(&inv)], vec![]);
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        t("2026-11-23T15:00:00Z"),
        t("2026-12-10T00:00:00Z"),
        Duration::hours(1),
    );
    assert_eq!(
        log,
        [
            (Stage::DepositOpened, t("2026-11-23T15:00:00Z")),
            // The day after the due date, at 09:00 in Santiago.
            (Stage::DepositReminder, t("2026-11-27T12:00:00Z")),
            // Due date + 1 + 3 days: Monday 09:00.
            (Stage::DepositOverdue, t("2026-11-30T12:00:00Z")),
        ]
    );
    let refs = [(&inv, entries.as_slice(), stages.as_slice())];
    assert_eq!(client_status(refs).unwrap(), ClientStatus::DepositOverdue);

    // Paid late, it still clears and the client is active again.
    entries.push(payment(2, clp(100_000), "2026-12-11T18:00:00Z"));
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        t("2026-12-11T18:30:00Z"),
        t("2026-12-12T00:00:00Z"),
        Duration::hours(1),
    );
    assert_eq!(
        log,
        [(Stage::DepositCleared, t("2026-12-11T18:30:00Z"))],
        "recorded at the first look after the payment"
    );
    let refs = [(&inv, entries.as_slice(), stages.as_slice())];
    assert_eq!(client_status(refs).unwrap(), ClientStatus::Active);
    assert_eq!(held(&inv, &entries).unwrap(), clp(100_000));
}

#[test]
fn a_deposit_paid_in_time_is_never_chased() {
    let inv = deposit();
    let mut entries = vec![
        charge(&inv),
        payment(2, clp(100_000), "2026-11-24T13:00:00Z"),
    ];
    let mut stages = vec![];
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        t("2026-11-24T13:00:00Z"),
        t("2026-12-10T00:00:00Z"),
        Duration::hours(1),
    );
    assert_eq!(log, [(Stage::DepositCleared, t("2026-11-24T13:00:00Z"))]);
    // Voided instead: nothing at all.
    let inv = deposit();
    let void = LedgerEntry {
        seq: 2,
        kind: EntryKind::Void { reason: None },
        amount: clp(0),
        at: t("2026-11-23T16:00:00Z"),
        key: Some("void".into()),
        by: None,
    };
    let (mut entries, mut stages) = (vec![charge(&inv), void], vec![]);
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        t("2026-11-23T17:00:00Z"),
        t("2026-12-10T00:00:00Z"),
        Duration::hours(6),
    );
    assert_eq!(log, []);
}

#[test]
fn a_late_reminder_still_leaves_a_day_before_overdue() {
    let inv = deposit();
    let entries = vec![charge(&inv)];
    let opened = Next {
        stage: Stage::DepositOpened,
        at: inv.created_at,
        amount: None,
        charge_on: None,
        retry: false,
    };
    let reminder = Next {
        stage: Stage::DepositReminder,
        ..opened.clone()
    };
    // No check ran until Monday 30th at 15:00 UTC: the reminder goes then, the overdue
    // notice a day later.
    let stages = vec![
        done(&inv, &opened, inv.created_at),
        done(&inv, &reminder, t("2026-11-30T15:00:00Z")),
    ];
    let next = plan(&inv, &entries, &stages, t("2026-11-30T15:00:00Z"))
        .unwrap()
        .unwrap();
    assert_eq!(next.stage, Stage::DepositOverdue);
    assert_eq!(next.at, t("2026-12-01T15:00:00Z"));
}

#[test]
fn held_is_what_was_received_less_what_was_applied() {
    let inv = deposit();
    let mut entries = vec![
        charge(&inv),
        payment(2, clp(60_000), "2026-11-24T13:00:00Z"),
    ];
    assert_eq!(held(&inv, &entries).unwrap(), clp(0), "not cleared yet");
    let refs = [(&inv, entries.as_slice(), &[][..])];
    assert_eq!(client_status(refs).unwrap(), ClientStatus::PendingDeposit);
    entries.push(payment(3, clp(50_000), "2026-11-24T14:00:00Z"));
    assert_eq!(held(&inv, &entries).unwrap(), clp(110_000), "overpaid");
    entries.push(LedgerEntry {
        seq: 4,
        kind: EntryKind::DepositApplied,
        amount: clp(80_000),
        at: t("2026-11-25T14:00:00Z"),
        key: Some("credit-to:inv".into()),
        by: None,
    });
    assert_eq!(held(&inv, &entries).unwrap(), clp(30_000));
    let b = ledger::balance(&inv.total, &entries).unwrap();
    assert_eq!(
        b.status,
        InvoiceStatus::Overpaid,
        "applying it changes no status"
    );
}

proptest! {
    /// Whatever order the payments and applications arrive in, the deposit holds the same
    /// amount, never less than zero and never more than it received, and its client has
    /// the same status.
    #[test]
    fn deposits_are_order_independent(
        amounts in prop::collection::vec(1i64..80_000, 0..5),
        applied in prop::collection::vec(1i64..60_000, 0..3),
        seed in any::<u64>(),
    ) {
        let inv = deposit();
        let mut entries = vec![charge(&inv)];
        for a in &amounts {
            entries.push(payment(entries.len() as u32 + 1, clp(*a), "2026-11-24T13:00:00Z"));
        }
        for a in &applied {
            entries.push(LedgerEntry {
                seq: entries.len() as u32 + 1,
                kind: EntryKind::DepositApplied,
                amount: clp(*a),
                at: t("2026-11-25T13:00:00Z"),
                key: None,
                by: None,
            });
        }
        let mut shuffled = entries.clone();
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let received: i64 = amounts.iter().sum();
        let h = held(&inv, &entries).unwrap();
        prop_assert_eq!(h, held(&inv, &shuffled).unwrap());
        prop_assert!(!h.is_negative());
        prop_assert!(h.amount() <= Decimal::from(received));
        let cleared = received >= 100_000;
        prop_assert_eq!(h.is_positive(), cleared && received > applied.iter().sum::<i64>());
        let status = |e: &[LedgerEntry]| client_status([(&inv, e, &[][..])]).unwrap();
        prop_assert_eq!(status(&entries), status(&shuffled));
        prop_assert_eq!(status(&entries) == ClientStatus::Active, cleared);
    }
}
