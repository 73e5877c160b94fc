//! The weekly summary's figures, per currency, as of a day (a Monday, normally), from the
//! same builders as the Reports page: what was collected in the week before (the expected
//! cash's arrivals, [`crate::cash`]), what is overdue now by bucket and who owes most of
//! it (the aging, [`crate::receivables`]), what is promised for the current week (the
//! expected cash's promises), and the promises and plans broken in the week before.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;

use crate::arrangement::{self, Outcome};
use crate::calendar::{add_days, local_moment, today_in};
use crate::cash::{Forecast, WEEKS, monday_of};
use crate::ids::ClientId;
use crate::invoice::Invoice;
use crate::ledger::LedgerEntry;
use crate::listing::Bucket;
use crate::money::{Currency, Money, MoneyError};
use crate::receivables::{Aging, entries_as_of};

/// The clients named as owing most.
pub const TOP_CLIENTS: usize = 3;

/// One currency's lines of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencySummary {
    pub currency: Currency,
    /// Received in the week before (less what went back).
    pub collected: Money,
    /// Past due now, in each bucket but the current one.
    pub overdue: Vec<(Bucket, Money)>,
    pub overdue_total: Money,
    /// Promised for the current week, still unpaid.
    pub promised: Money,
    /// Broken in the week before.
    pub broken_promises: u32,
    pub broken_plans: u32,
    /// The clients with the most past due, largest first.
    pub top: Vec<(ClientId, Money)>,
}

/// The summary being built, invoice by invoice.
#[derive(Debug, Clone)]
pub struct Weekly {
    pub as_of: NaiveDate,
    pub tz: Tz,
    /// The Monday of the week before.
    pub last_monday: NaiveDate,
    aging: Aging,
    forecast: Forecast,
    broken: BTreeMap<Currency, (u32, u32)>,
}

impl Weekly {
    pub fn new(as_of: NaiveDate, tz: Tz) -> Self {
        Weekly {
            as_of,
            tz,
            last_monday: add_days(monday_of(as_of), -7),
            aging: Aging::new(as_of, tz, None),
            forecast: Forecast::new(as_of, tz, None),
            broken: BTreeMap::new(),
        }
    }

    /// From when an invoice can matter (the expected cash's, which reaches furthest).
    pub fn since(&self) -> chrono::DateTime<chrono::Utc> {
        self.forecast.since()
    }

    /// Counts an invoice with its ledger.
    pub fn add(&mut self, inv: &Invoice, entries: &[LedgerEntry]) -> Result<(), MoneyError> {
        self.aging.add(inv, entries)?;
        self.forecast.add(inv, entries)?;
        let Some(counted) = entries_as_of(inv, entries, self.as_of, self.tz) else {
            return Ok(());
        };
        let end = local_moment(self.tz, add_days(self.as_of, 1), NaiveTime::MIN);
        let arr = arrangement::arrangements(inv, &counted, end)?;
        let week = |t| {
            let d = today_in(self.tz, t);
            self.last_monday <= d && d < monday_of(self.as_of)
        };
        let promises = arr
            .promises
            .iter()
            .filter(|p| p.outcome == Outcome::Broken && p.ended_at.is_some_and(week))
            .count();
        let plans = arr
            .plans
            .iter()
            .filter(|p| p.outcome == Outcome::Broken && p.ended_at.is_some_and(week))
            .count();
        if promises > 0 || plans > 0 {
            let b = self.broken.entry(inv.currency).or_default();
            b.0 =
                b.0.saturating_add(u32::try_from(promises).unwrap_or(u32::MAX));
            b.1 = b.1.saturating_add(u32::try_from(plans).unwrap_or(u32::MAX));
        }
        Ok(())
    }

    /// Each currency's lines, in currency order.
    pub fn finish(self) -> Result<Vec<CurrencySummary>, MoneyError> {
        let cash = self.forecast.finish()?;
        let mut currencies: Vec<Currency> = cash.iter().map(|c| c.currency).collect();
        currencies.extend(self.aging.currencies.keys().copied());
        currencies.extend(self.broken.keys().copied());
        currencies.sort();
        currencies.dedup();
        let mut out = Vec::new();
        for c in currencies {
            let zero = Money::zero(c);
            let weeks = cash.iter().find(|x| x.currency == c).map(|x| &x.weeks);
            let week = |i: usize| weeks.and_then(|w| w.get(i));
            let collected = week(WEEKS.saturating_sub(1)).map_or(zero, |w| w.arrived);
            let promised = week(WEEKS).map_or(zero, |w| w.promised);
            let aging = self.aging.currencies.get(&c);
            let overdue: Vec<(Bucket, Money)> = Bucket::ALL
                .iter()
                .filter(|b| **b != Bucket::Current)
                .map(|b| (*b, aging.map_or(zero, |a| a.cell(*b).amount)))
                .collect();
            let overdue_total = Money::sum(c, overdue.iter().map(|(_, m)| m))?;
            let mut top: Vec<(ClientId, Money)> = Vec::new();
            for (id, by) in &self.aging.clients {
                if let Some(a) = by.get(&c) {
                    let past = a
                        .total
                        .amount
                        .checked_sub(&a.cell(Bucket::Current).amount)?;
                    if past.is_positive() {
                        top.push((id.clone(), past));
                    }
                }
            }
            top.sort_by(|a, b| b.1.amount().cmp(&a.1.amount()).then_with(|| a.0.cmp(&b.0)));
            top.truncate(TOP_CLIENTS);
            let (broken_promises, broken_plans) = self.broken.get(&c).copied().unwrap_or_default();
            out.push(CurrencySummary {
                currency: c,
                collected,
                overdue,
                overdue_total,
                promised,
                broken_promises,
                broken_plans,
                top,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    //! Worked out by hand, as of Monday 7 Dec 2026 in Santiago: the week before is
    //! 30 Nov – 6 Dec.

    use super::*;
    use crate::ledger::EntryKind;
    use crate::receivables::tests::{
        clp, day, entry, invoice, money, payment, promise, santiago, usd,
    };
    use chrono_tz::America::Santiago;
    use rust_decimal_macros::dec;

    #[test]
    fn the_week_before_and_now_by_hand() {
        let (a, b, c) = (
            ClientId::generate(),
            ClientId::generate(),
            ClientId::generate(),
        );
        let m = |v| money(v, clp());
        // A: I1 100.000 due 31 Oct, promised on 20 Nov for 1 Dec; 30.000 paid on 2 Dec:
        // the promise broke at the end of 3 Dec (2 days of grace); 70.000 owed, 37 days.
        let i1 = invoice(&a, clp(), dec!(100000), "2026-10-01", "2026-10-31");
        let e1 = vec![
            entry(1, EntryKind::Charge, i1.total, santiago("2026-10-01 09:00")),
            promise(2, m(dec!(100000)), "2026-12-01", "2026-11-20 10:00"),
            payment(3, m(dec!(30000)), santiago("2026-12-02 10:00")),
        ];
        // A: I2 50.000 due 1 Dec, promised on 5 Dec for Wednesday 9 Dec: 6 days late.
        let i2 = invoice(&a, clp(), dec!(50000), "2026-11-01", "2026-12-01");
        let e2 = vec![
            entry(1, EntryKind::Charge, i2.total, santiago("2026-11-01 09:00")),
            promise(2, m(dec!(50000)), "2026-12-09", "2026-12-05 10:00"),
        ];
        // B: I3 20.000 due 31 Aug: 98 days.
        let i3 = invoice(&b, clp(), dec!(20000), "2026-08-01", "2026-08-31");
        let e3 = vec![entry(
            1,
            EntryKind::Charge,
            i3.total,
            santiago("2026-08-01 09:00"),
        )];
        // C: USD 300.00 paid on Monday 30 Nov at 00:30 (the week before's first hour).
        let u1 = invoice(&c, usd(), dec!(300.00), "2026-11-01", "2026-11-15");
        let eu = vec![
            entry(1, EntryKind::Charge, u1.total, santiago("2026-11-01 09:00")),
            payment(2, money(dec!(300.00), usd()), santiago("2026-11-30 00:30")),
        ];
        let mut w = Weekly::new(day("2026-12-07"), Santiago);
        assert_eq!(w.last_monday, day("2026-11-30"));
        for (inv, entries) in [(i1, e1), (i2, e2), (i3, e3), (u1, eu)] {
            w.add(&inv, &entries).unwrap();
        }
        let all = w.finish().unwrap();
        assert_eq!(all.len(), 2);
        let (clp_, usd_) = (&all[0], &all[1]);
        assert_eq!(clp_.collected.amount(), dec!(30000));
        let buckets: Vec<_> = clp_.overdue.iter().map(|(b, m)| (*b, m.amount())).collect();
        assert_eq!(
            buckets,
            [
                (Bucket::Days1To30, dec!(50000)),
                (Bucket::Days31To60, dec!(70000)),
                (Bucket::Days61To90, dec!(0)),
                (Bucket::Over90, dec!(20000)),
            ]
        );
        assert_eq!(clp_.overdue_total.amount(), dec!(140000));
        assert_eq!(clp_.promised.amount(), dec!(50000));
        assert_eq!((clp_.broken_promises, clp_.broken_plans), (1, 0));
        let top: Vec<_> = clp_
            .top
            .iter()
            .map(|(id, m)| (id.clone(), m.amount()))
            .collect();
        assert_eq!(top, [(a, dec!(120000)), (b, dec!(20000))]);
        assert_eq!(
            (
                usd_.collected.amount(),
                usd_.overdue_total.amount(),
                usd_.top.len()
            ),
            (dec!(300.00), dec!(0), 0)
        );
    }
}
