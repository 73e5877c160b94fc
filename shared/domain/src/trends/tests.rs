//! Known answers worked out by hand (the arithmetic is in the comments), in CLP and USD,
//! across the 31 Oct / 1 Nov boundary in Santiago and a September that spans the
//! daylight-saving change of 6 Sep 2026.

use super::*;
use crate::ids::ClientId;
use crate::ledger::{EntryKind, Instalment, Party};
use crate::receivables::tests::{
    charge, clp, day, entry, invoice, money, payment, promise, santiago, usd,
};
use chrono_tz::America::Santiago;
use rust_decimal_macros::dec;

/// The ledgers of the example: (invoice, entries).
fn example() -> Vec<(Invoice, Vec<LedgerEntry>)> {
    let (a, b) = (ClientId::generate(), ClientId::generate());
    let m = |v| money(v, clp());
    // I1: 100.000 issued 20 Aug, due 19 Sep; promised on 25 Sep for 5 Oct, paid on
    // 4 Oct: settled 15 days late, the promise kept in October.
    let i1 = invoice(&a, clp(), dec!(100000), "2026-08-20", "2026-09-19");
    let e1 = vec![
        charge(&i1, "2026-08-20 09:00"),
        promise(2, m(dec!(100000)), "2026-10-05", "2026-09-25 10:00"),
        payment(3, m(dec!(100000)), santiago("2026-10-04 10:00")),
    ];
    // I2: 200.000 issued 10 Sep, due 10 Oct; 50.000 paid at 23:30 on 31 Oct (02:30 UTC
    // on 1 Nov: October in Santiago); promised on 5 Nov for 15 Nov, never paid: broken
    // at the end of 17 Nov (2 days of grace).
    let i2 = invoice(&a, clp(), dec!(200000), "2026-09-10", "2026-10-10");
    let e2 = vec![
        charge(&i2, "2026-09-10 09:00"),
        payment(2, m(dec!(50000)), santiago("2026-10-31 23:30")),
        promise(3, m(dec!(150000)), "2026-11-15", "2026-11-05 09:00"),
    ];
    // I3: 300.000 issued 2 Nov, due 2 Dec: current at the end of November.
    let i3 = invoice(&a, clp(), dec!(300000), "2026-11-02", "2026-12-02");
    let e3 = vec![charge(&i3, "2026-11-02 09:00")];
    // I4: 90.000 issued 1 Aug, due 31 Aug; a plan of 45.000 on 15 Sep and 15 Oct, both
    // paid: completed on 15 Oct, settled 45 days after 31 Aug.
    let i4 = invoice(&a, clp(), dec!(90000), "2026-08-01", "2026-08-31");
    let plan = EntryKind::Plan {
        plan: 1,
        instalments: vec![
            Instalment {
                due_date: day("2026-09-15"),
                amount: m(dec!(45000)),
            },
            Instalment {
                due_date: day("2026-10-15"),
                amount: m(dec!(45000)),
            },
        ],
        by: Party::Client,
    };
    let e4 = vec![
        charge(&i4, "2026-08-01 09:00"),
        entry(2, plan, m(dec!(90000)), santiago("2026-09-02 10:00")),
        payment(3, m(dec!(45000)), santiago("2026-09-14 10:00")),
        payment(4, m(dec!(45000)), santiago("2026-10-15 12:00")),
    ];
    // I5: 500.000 issued 20 Oct, void on 25 Oct: no sale, never owed at a month's end.
    let i5 = invoice(&a, clp(), dec!(500000), "2026-10-20", "2026-11-19");
    let e5 = vec![
        charge(&i5, "2026-10-20 09:00"),
        entry(
            2,
            EntryKind::Void { reason: None },
            m(dec!(0)),
            santiago("2026-10-25 09:00"),
        ),
    ];
    // U1: USD 1,000.00 issued 1 Sep, due 30 Sep; 1,100.00 received on 30 Sep (on time),
    // 100.00 refunded on 3 Nov.
    let u1 = invoice(&b, usd(), dec!(1000.00), "2026-09-01", "2026-09-30");
    let eu = vec![
        charge(&u1, "2026-09-01 09:00"),
        payment(2, money(dec!(1100.00), usd()), santiago("2026-09-30 12:00")),
        entry(
            3,
            EntryKind::Refund,
            money(dec!(100.00), usd()),
            santiago("2026-11-03 12:00"),
        ),
    ];
    vec![(i1, e1), (i2, e2), (i3, e3), (i4, e4), (i5, e5), (u1, eu)]
}

fn trends(as_of: &str, only: Option<Currency>) -> Vec<(Currency, Vec<MonthTrend>)> {
    let mut t = Trends::new(day(as_of), 3, Santiago, only);
    for (inv, entries) in example() {
        t.add(&inv, &entries).unwrap();
    }
    t.finish().unwrap()
}

#[test]
fn three_months_by_hand_in_clp_and_usd() {
    let all = trends("2026-11-30", None);
    let codes: Vec<&str> = all.iter().map(|(c, _)| c.code()).collect();
    assert_eq!(codes, ["CLP", "USD"]);
    let clp_rows = &all[0].1;
    let (nov, oct, sep) = (&clp_rows[0], &clp_rows[1], &clp_rows[2]);
    assert_eq!(
        (sep.from, sep.to, oct.days, nov.to),
        (day("2026-09-01"), day("2026-09-30"), 31, day("2026-11-30"))
    );
    let amounts = |r: &MonthTrend| {
        [
            r.invoiced,
            r.collected,
            r.owed_at_start,
            r.owed_at_end,
            r.current_at_end,
            r.overdue_at_end,
        ]
        .map(|m| m.amount())
    };
    // Invoiced: Sep I2 200.000; Oct nothing (I5 is void); Nov I3 300.000.
    // Collected: Sep 45.000 (I4); Oct 100.000 (I1) + 45.000 (I4) + 50.000 (I2, 23:30
    // on 31 Oct) = 195.000; Nov nothing.
    // Owed on 31 Aug: I1 100.000 + I4 90.000 = 190.000, all current.
    // 30 Sep: I1 100.000 (overdue) + I2 200.000 (current) + I4 45.000 (overdue) =
    // 345.000, 200.000 current, 145.000 overdue.
    // 31 Oct: I2 150.000, overdue. 30 Nov: I2 150.000 overdue + I3 300.000 current.
    assert_eq!(
        amounts(sep),
        [
            dec!(200000),
            dec!(45000),
            dec!(190000),
            dec!(345000),
            dec!(200000),
            dec!(145000)
        ]
    );
    assert_eq!(
        amounts(oct),
        [
            dec!(0),
            dec!(195000),
            dec!(345000),
            dec!(150000),
            dec!(0),
            dec!(150000)
        ]
    );
    assert_eq!(
        amounts(nov),
        [
            dec!(300000),
            dec!(0),
            dec!(150000),
            dec!(450000),
            dec!(300000),
            dec!(150000)
        ]
    );
    // Overdue share: 145/345 = 42.03 % → 42.0; 150/150 = 100.0; 150/450 = 33.3.
    let shares: Vec<_> = clp_rows.iter().map(|r| r.overdue_share).collect();
    assert_eq!(
        shares,
        [Some(dec!(33.3)), Some(dec!(100.0)), Some(dec!(42.0))]
    );
    // CEI: Sep (190 + 200 − 345) ÷ (190 + 200 − 200) = 45/190 = 23.68 → 23.7;
    // Oct (345 + 0 − 150) ÷ (345 − 0) = 195/345 = 56.52 → 56.5;
    // Nov (150 + 300 − 450) ÷ (150 + 300 − 300) = 0/150 = 0.0.
    let ceis: Vec<_> = clp_rows.iter().map(|r| r.cei).collect();
    assert_eq!(ceis, [Some(dec!(0.0)), Some(dec!(56.5)), Some(dec!(23.7))]);
    // Days late, by amount: October settled I1 (100.000, 15 days) and I4 (90.000, 45
    // days): (1.500.000 + 4.050.000) ÷ 190.000 = 29.21 → 29.2. None settled in Sep, Nov.
    assert_eq!(
        (oct.settled_invoices, oct.settled_amount.amount()),
        (2, dec!(190000))
    );
    let late: Vec<_> = clp_rows.iter().map(|r| r.avg_days_late).collect();
    assert_eq!(late, [None, Some(dec!(29.2)), None]);
    // Promises: I1's kept in October, I2's broken in November; I4's plan completed in
    // October.
    let kept: Vec<_> = clp_rows
        .iter()
        .map(|r| (r.promises_kept, r.promises_broken, r.promise_kept_rate))
        .collect();
    assert_eq!(
        kept,
        [
            (0, 1, Some(dec!(0.0))),
            (1, 0, Some(dec!(100.0))),
            (0, 0, None)
        ]
    );
    let plans: Vec<_> = clp_rows
        .iter()
        .map(|r| (r.plans_completed, r.plans_broken, r.plan_completion_rate))
        .collect();
    assert_eq!(
        plans,
        [(0, 0, None), (1, 0, Some(dec!(100.0))), (0, 0, None)]
    );
    // The CEI rows are the same month, with its amounts.
    let row = sep.cei_row();
    assert_eq!(
        (row.begin.amount(), row.sales.amount(), row.cei),
        (dec!(190000), dec!(200000), Some(dec!(23.7)))
    );

    // USD, on its own: Sep invoiced 1,000.00, collected 1,100.00, settled on time (0.0
    // days late); Nov collected −100.00 (the refund). Nothing was owed at any month's
    // end: no overdue share; CEI of Sep (0 + 1,000 − 0) ÷ (0 + 1,000 − 0) = 100.0.
    let usd_rows = &all[1].1;
    let collected: Vec<_> = usd_rows.iter().map(|r| r.collected.amount()).collect();
    assert_eq!(collected, [dec!(-100.00), dec!(0), dec!(1100.00)]);
    let sep = &usd_rows[2];
    assert_eq!(
        (sep.invoiced.amount(), sep.avg_days_late, sep.cei),
        (dec!(1000.00), Some(dec!(0.0)), Some(dec!(100.0)))
    );
    assert!(usd_rows.iter().all(|r| r.overdue_share.is_none()));
    assert_eq!(trends("2026-11-30", Some(usd())).len(), 1);
}

#[test]
fn a_month_is_as_it_stood_at_the_end_of_the_day_asked_about() {
    // As of 31 Oct, I2's broken promise (made 5 Nov) and November do not exist; the
    // payment at 23:30 that night counts, the refund of 3 Nov does not.
    let all = trends("2026-10-31", None);
    let clp_rows = &all[0].1;
    assert_eq!(clp_rows[0].to, day("2026-10-31"));
    assert_eq!(clp_rows[0].collected.amount(), dec!(195000));
    assert_eq!(clp_rows[0].owed_at_end.amount(), dec!(150000));
    assert!(clp_rows.iter().all(|r| r.promises_broken == 0));
    // As of 30 Oct, the 50.000 of the 31st is not there: October collected 145.000.
    let all = trends("2026-10-30", None);
    assert_eq!(all[0].1[0].collected.amount(), dec!(145000));
    assert_eq!(all[0].1[0].owed_at_end.amount(), dec!(200000));
}
