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
    // 1 of 2 settled late → 15; 10 days late → 1 (0.83); 45 days overdue → 10 + 15.
    assert_eq!(
        s.factors.points,
        Points {
            not_on_time: 15,
            lateness: 1,
            broken: 0,
            disputes: 0,
            overdue: 25
        }
    );
    assert_eq!((s.score, s.tier), (59, Tier::C));
    assert_eq!(s.factors.avg_days_late, Some(Decimal::from(5)));
    assert_eq!(s.factors.oldest_overdue_days, Some(45));
    // Against a limit of 100.000, 50.000 overdue is half of 30 points; 45 days still caps.
    let limited = standing(&all, Some(&clp(100_000)));
    assert_eq!(limited.factors.points.overdue, 15);
    assert_eq!((limited.score, limited.tier), (69, Tier::C));
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

/// The report's case: a client whose only history is CLP 357.000 31 days overdue scored
/// 97/A. Money overdue now weighs more than having no history at all.
#[test]
fn money_long_overdue_is_never_tier_a() {
    let one = |days| InvoiceHistory {
        amount: clp(357_000),
        settled: None,
        overdue: Some((clp(357_000), days)),
        outstanding: clp(357_000),
        broken_promises: 0,
        broken_plans: 0,
        disputes: 0,
    };
    let new = standing(&[], None).score;
    let s = standing(&[one(31)], None);
    assert_eq!((s.score, s.tier), (74, Tier::B));
    assert!(s.score < new);
    assert_eq!(
        standing(&[one(5)], None).tier,
        Tier::A,
        "a few days late is not a verdict"
    );
    assert_eq!(standing(&[one(61)], None).tier, Tier::C);
    assert_eq!(standing(&[one(91)], None).tier, Tier::D);
}

proptest! {
    /// Whatever else the history says, money more than 30 days overdue keeps a client out
    /// of tier A and below a new client; more than 60, out of B; more than 90, in D.
    #[test]
    fn overdue_money_caps_the_tier(
        histories in prop::collection::vec(history(), 0..30),
        limit in prop::option::of(1i64..5_000_000),
    ) {
        let s = standing(&histories, limit.map(clp).as_ref());
        let oldest = histories.iter().filter_map(|h| h.overdue.map(|(_, d)| d)).max();
        match oldest {
            Some(d) if d > 90 => prop_assert_eq!(s.tier, Tier::D),
            Some(d) if d > 60 => prop_assert!(s.tier >= Tier::C),
            Some(d) if d > 30 => prop_assert!(s.tier >= Tier::B && s.score < NEW_CLIENT_SCORE),
            _ => {}
        }
    }

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
