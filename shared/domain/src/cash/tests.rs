//! A forecast worked out by hand (the arithmetic in the comments), in CLP and USD, as of
//! Wednesday 25 Nov 2026 in Santiago: the current week is 23–29 Nov, the weeks behind
//! begin on Monday 28 Sep, the weeks ahead end on Sunday 17 Jan 2027.

use super::*;
use crate::ledger::{EntryKind, Instalment, Party};
use crate::receivables::tests::{
    charge, clp, day, entry, invoice, money, payment, promise, santiago, usd,
};
use chrono_tz::America::Santiago;
use rust_decimal_macros::dec;

fn example() -> Vec<(Invoice, Vec<LedgerEntry>)> {
    let (a, b, c) = (
        ClientId::generate(),
        ClientId::generate(),
        ClientId::generate(),
    );
    let m = |v| money(v, clp());
    // A's history: H1 paid on time (30 Sep, due 1 Oct); H2 paid 10 days late (23:30 on
    // Sunday 11 Oct: 02:30 UTC on Monday, still the week of 5 Oct in Santiago), after a
    // promise for 5 Oct it broke; H3 paid on time, keeping a promise. On-time share 2 of
    // 3; kept share 1 of 2.
    let h1 = invoice(&a, clp(), dec!(100000), "2026-09-01", "2026-10-01");
    let e1 = vec![
        charge(&h1, "2026-09-01 09:00"),
        payment(2, m(dec!(100000)), santiago("2026-09-30 12:00")),
    ];
    let h2 = invoice(&a, clp(), dec!(100000), "2026-09-01", "2026-10-01");
    let e2 = vec![
        charge(&h2, "2026-09-01 09:00"),
        promise(2, m(dec!(100000)), "2026-10-05", "2026-10-02 10:00"),
        payment(3, m(dec!(100000)), santiago("2026-10-11 23:30")),
    ];
    let h3 = invoice(&a, clp(), dec!(50000), "2026-10-01", "2026-10-31");
    let e3 = vec![
        charge(&h3, "2026-10-01 09:00"),
        promise(2, m(dec!(50000)), "2026-10-30", "2026-10-20 10:00"),
        payment(3, m(dec!(50000)), santiago("2026-10-30 12:00")),
    ];
    // A owes O1, 200.000 due Tuesday 1 Dec; and O2, 90.000 due 14 Nov (past), of which
    // 60.000 promised for Thursday 10 Dec.
    let o1 = invoice(&a, clp(), dec!(200000), "2026-11-01", "2026-12-01");
    let eo1 = vec![charge(&o1, "2026-11-01 09:00")];
    let o2 = invoice(&a, clp(), dec!(90000), "2026-10-15", "2026-11-14");
    let eo2 = vec![
        charge(&o2, "2026-10-15 09:00"),
        promise(2, m(dec!(60000)), "2026-12-10", "2026-11-20 10:00"),
    ];
    // B, no history: O3, 40.000 due today; O4, 120.000 in a plan of three instalments
    // of 40.000 (23 Nov, paid that day; 23 Dec; 23 Jan, after the eighth week).
    let o3 = invoice(&b, clp(), dec!(40000), "2026-11-20", "2026-11-25");
    let eo3 = vec![charge(&o3, "2026-11-20 09:00")];
    let o4 = invoice(&b, clp(), dec!(120000), "2026-10-01", "2026-10-31");
    let plan = EntryKind::Plan {
        plan: 1,
        instalments: ["2026-11-23", "2026-12-23", "2027-01-23"]
            .iter()
            .map(|d| Instalment {
                due_date: day(d),
                amount: m(dec!(40000)),
            })
            .collect(),
        by: Party::Client,
    };
    let eo4 = vec![
        charge(&o4, "2026-10-01 09:00"),
        entry(2, plan, m(dec!(120000)), santiago("2026-11-02 10:00")),
        payment(3, m(dec!(40000)), santiago("2026-11-23 12:00")),
    ];
    // C, no history: USD 500.00 due Thursday 31 Dec.
    let u1 = invoice(&c, usd(), dec!(500.00), "2026-11-10", "2026-12-31");
    let eu1 = vec![charge(&u1, "2026-11-10 09:00")];
    vec![
        (h1, e1),
        (h2, e2),
        (h3, e3),
        (o1, eo1),
        (o2, eo2),
        (o3, eo3),
        (o4, eo4),
        (u1, eu1),
    ]
}

#[test]
fn sixteen_weeks_by_hand() {
    let mut f = Forecast::new(day("2026-11-25"), Santiago, None);
    for (inv, entries) in example() {
        f.add(&inv, &entries).unwrap();
    }
    let all = f.finish().unwrap();
    assert_eq!(all.len(), 2);
    let clp_ = &all[0];
    assert_eq!(clp_.weeks.len(), 16);
    assert_eq!(
        (clp_.weeks[0].from, clp_.weeks[8].from, clp_.weeks[15].to),
        (day("2026-09-28"), day("2026-11-23"), day("2027-01-17"))
    );
    // Arrived: 100.000 (H1, week of 28 Sep), 100.000 (H2, week of 5 Oct), 50.000 (H3,
    // week of 26 Oct), 40.000 (O4's first instalment, this week).
    let arrived: Vec<Decimal> = clp_.weeks.iter().map(|w| w.arrived.amount()).collect();
    let z = dec!(0);
    assert_eq!(
        arrived,
        [
            dec!(100000),
            dec!(100000),
            z,
            z,
            dec!(50000),
            z,
            z,
            z,
            dec!(40000),
            z,
            z,
            z,
            z,
            z,
            z,
            z
        ]
    );
    // Ahead, weighted: O3 40.000 today × B's (none: the business's 2/3) = 26.666,67 →
    // 26.667; O1 200.000 × A's 2/3 = 133.333; O2's promise 60.000 × A's 1/2 = 30.000;
    // O4's 23 Dec instalment 40.000 × the business's kept share 1/2 = 20.000.
    let ahead: Vec<(Decimal, Decimal, Decimal, Decimal)> = clp_.weeks[8..]
        .iter()
        .map(|w| {
            (
                w.due.amount(),
                w.promised.amount(),
                w.instalments.amount(),
                w.expected.amount(),
            )
        })
        .collect();
    assert_eq!(
        ahead,
        [
            (dec!(40000), z, z, dec!(26667)),
            (dec!(200000), z, z, dec!(133333)),
            (z, dec!(60000), z, dec!(30000)),
            (z, z, z, z),
            (z, z, dec!(40000), dec!(20000)),
            (z, z, z, z),
            (z, z, z, z),
            (z, z, z, z),
        ]
    );
    // O2's 30.000 not promised is past due, on no date; O4's last instalment, 40.000 ×
    // 1/2, is after the eighth week.
    assert_eq!(
        (clp_.overdue.amount(), clp_.later.amount()),
        (dec!(30000), dec!(20000))
    );
    // USD: C has no history; 500.00 × the business's on-time share 2/3 = 333.33 in the
    // week of 28 Dec.
    let usd_ = &all[1];
    assert_eq!(usd_.currency, usd());
    let w = &usd_.weeks[13];
    assert_eq!(w.from, day("2026-12-28"));
    assert_eq!(
        (w.due.amount(), w.expected.amount()),
        (dec!(500.00), dec!(333.33))
    );
    // Only USD, when asked: the histories are the clients', whatever the currency.
    let mut only = Forecast::new(day("2026-11-25"), Santiago, Some(usd()));
    for (inv, entries) in example() {
        only.add(&inv, &entries).unwrap();
    }
    let only = only.finish().unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].weeks[13].expected.amount(), dec!(333.33));
    // Without any history, every amount is taken at 100 %.
    let mut new = Forecast::new(day("2026-11-25"), Santiago, None);
    let (inv, entries) = example().pop().unwrap();
    new.add(&inv, &entries).unwrap();
    assert_eq!(
        new.finish().unwrap()[0].weeks[13].expected.amount(),
        dec!(500.00)
    );
}

#[test]
fn weeks_begin_on_monday() {
    assert_eq!(monday_of(day("2026-11-25")), day("2026-11-23"));
    assert_eq!(monday_of(day("2026-11-23")), day("2026-11-23"));
    assert_eq!(monday_of(day("2026-11-29")), day("2026-11-23"));
    assert_eq!(monday_of(day("2027-01-01")), day("2026-12-28"));
}
