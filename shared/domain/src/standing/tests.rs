use super::*;
use crate::dunning::tests::{charge, clp, invoice, t};
use crate::invoice::Terms;
use crate::ledger::NewEntry;
use proptest::prelude::*;

fn pay(entries: &mut Vec<LedgerEntry>, units: i64, at: &str) {
    let n = entries.len();
    let e = ledger::next_entry(
        entries,
        NewEntry {
            kind: EntryKind::Payment {
                method: crate::PaymentMethod::Transfer,
                reference: None,
            },
            amount: clp(units),
            key: format!("manual:{n}:payment"),
        },
        t(at),
    );
    entries.push(e);
}

/// Invoices of CLP 100.000 due Tuesday Dec 1st 2026 (Santiago), read on Jan 15th 2027.
#[test]
fn histories_from_ledgers() {
    let inv = invoice(Terms::default());
    let now = t("2027-01-15T15:00:00Z");
    // Paid on the due date (late evening, still Dec 1st in Santiago): on time.
    let mut on_time = vec![charge(&inv)];
    pay(&mut on_time, 60_000, "2026-11-20T15:00:00Z");
    pay(&mut on_time, 40_000, "2026-12-02T02:00:00Z");
    let h = invoice_history(&inv, &on_time, now).unwrap().unwrap();
    assert_eq!(h.settled.map(|(_, d)| d), Some(0));
    assert_eq!((h.overdue, h.outstanding), (None, clp(0)));
    // Paid ten days late.
    let mut late = vec![charge(&inv)];
    pay(&mut late, 100_000, "2026-12-11T15:00:00Z");
    let h = invoice_history(&inv, &late, now).unwrap().unwrap();
    assert_eq!(h.settled.map(|(_, d)| d), Some(10));
    // Half paid, 45 days overdue.
    let mut open = vec![charge(&inv)];
    pay(&mut open, 50_000, "2026-12-20T15:00:00Z");
    let h = invoice_history(&inv, &open, now).unwrap().unwrap();
    assert_eq!(h.settled, None);
    assert_eq!(h.overdue, Some((clp(50_000), 45)));
    // A void invoice says nothing.
    let mut void = vec![charge(&inv)];
    void.push(ledger::next_entry(
        &void,
        NewEntry {
            kind: EntryKind::Void { reason: None },
            amount: clp(100_000),
            key: "void".into(),
        },
        now,
    ));
    assert_eq!(invoice_history(&inv, &void, now).unwrap(), None);

    let all: Vec<InvoiceHistory> = [&on_time, &late, &open]
        .iter()
        .map(|e| invoice_history(&inv, e, now).unwrap().unwrap())
        .collect();
    let s = standing(&all, None);
    // 1 of 2 settled late → 15; 10 days late → 1 (0.83); 45 days overdue → 5.
    assert_eq!(
        s.factors.points,
        Points {
            not_on_time: 15,
            lateness: 1,
            broken: 0,
            disputes: 0,
            overdue: 5
        }
    );
    assert_eq!((s.score, s.tier), (79, Tier::B));
    assert_eq!(s.factors.avg_days_late, Some(Decimal::from(5)));
    // Against a limit of 100.000, 50.000 overdue is half of the 30 points.
    let limited = standing(&all, Some(&clp(100_000)));
    assert_eq!(limited.factors.points.overdue, 15);
    assert_eq!(outstanding(&all).unwrap(), vec![clp(50_000)]);
    // Nothing yet: a new client.
    let new = standing(&[], None);
    assert_eq!((new.score, new.tier, new.history), (75, Tier::B, false));
}

fn history() -> impl Strategy<Value = InvoiceHistory> {
    (
        1i64..1_000_000,
        prop::option::of(0i64..200),
        prop::option::of((1i64..1_000_000, 1i64..200)),
        0u32..3,
        0u32..2,
        0u32..3,
    )
        .prop_map(|(units, settled, overdue, promises, plans, disputes)| {
            let settled = settled.map(|d| (t("2027-01-01T12:00:00Z"), d));
            let overdue = if settled.is_some() {
                None
            } else {
                overdue.map(|(u, d)| (clp(u), d))
            };
            InvoiceHistory {
                amount: clp(units),
                settled,
                outstanding: overdue.map_or(clp(0), |(m, _)| m),
                overdue,
                broken_promises: promises,
                broken_plans: plans,
                disputes,
            }
        })
}

proptest! {
    /// One more invoice paid late never raises the score; nor does paying any settled
    /// invoice later than it was. With or without a credit limit.
    #[test]
    fn the_score_is_monotone_in_late_payments(
        histories in prop::collection::vec(history(), 0..30),
        units in 1i64..1_000_000,
        late in 1i64..400,
        which in any::<prop::sample::Index>(),
        more in 1i64..100,
        limit in prop::option::of(1i64..5_000_000),
    ) {
        let limit = limit.map(clp);
        let before = standing(&histories, limit.as_ref());
        let mut plus = histories.clone();
        plus.push(InvoiceHistory {
            amount: clp(units),
            settled: Some((t("2027-01-01T12:00:00Z"), late)),
            overdue: None,
            outstanding: clp(0),
            broken_promises: 0,
            broken_plans: 0,
            disputes: 0,
        });
        let after = standing(&plus, limit.as_ref());
        prop_assert!(after.score <= before.score, "{} → {} adding a payment {late} days late", before.score, after.score);
        prop_assert!(after.tier >= before.tier);
        let settled: Vec<usize> = (0..histories.len()).filter(|i| histories[*i].settled.is_some()).collect();
        if !settled.is_empty() {
            let i = settled[which.index(settled.len())];
            let mut later = histories.clone();
            if let Some((at, d)) = later[i].settled {
                later[i].settled = Some((at, d + more));
            }
            let after = standing(&later, limit.as_ref());
            prop_assert!(after.score <= before.score, "paying later raised {} → {}", before.score, after.score);
        }
        prop_assert!(before.score <= 100);
    }
}
