//! Days sales outstanding (DSO): how many days of credit sales the receivables at the end
//! of a period stand for, by two methods, per currency.
//!
//! - **Months** end on the day asked about: the latest is that day's month up to the day
//!   (its days are the days so far), the ones before it whole calendar months, in the
//!   business's time zone.
//! - **Credit sales** of a month: the totals of the invoices issued in it (by issue date),
//!   void ones and deposits asked for left out (a deposit is applied to an order, which
//!   is the sale).
//! - **Receivables**: what was owed at the end of the day (the aging's total,
//!   [`crate::receivables`]).
//! - **Simple** (average) method: receivables ÷ the period's credit sales × the period's
//!   days ("Regular DSO = (Total Accounts Receivables / Total Credit Sales) × Number of
//!   Days in the period", CreditGuru, *Average Days Delinquent*; the same calculation in
//!   Oracle JD Edwards EnterpriseOne 9.2, *Current Balance Divided by Sales*).
//! - **Countback** (exhaustion) method: from the latest month backwards, while the
//!   receivables left are at least the month's sales, take the month's sales off and add
//!   its days; for the month that exhausts them add its days × what is left ÷ its sales
//!   (Oracle Hyperion Financial Management 11.2, *DSO – Days Sales Outstanding*). It stops
//!   at a month without sales. Receivables the period's sales do not exhaust leave the
//!   figure as a lower bound (`exhausted: false`).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::calendar::{add_days, days_between};
use crate::money::{Currency, Money, MoneyError};

/// One month of a DSO period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MonthSales {
    #[schema(value_type = String)]
    pub from: NaiveDate,
    #[schema(value_type = String)]
    pub to: NaiveDate,
    pub days: u32,
    pub sales: Money,
}

/// The months of a period of `n` months ending on `as_of`, newest first, with no sales
/// yet.
pub fn months(as_of: NaiveDate, n: u32, c: Currency) -> Vec<MonthSales> {
    spans(as_of, n)
        .into_iter()
        .map(|(from, to, days)| MonthSales {
            from,
            to,
            days,
            sales: Money::zero(c),
        })
        .collect()
}

/// The first day of a period of `n` months ending on `as_of`.
pub fn first_day(as_of: NaiveDate, n: u32) -> NaiveDate {
    spans(as_of, n).last().map_or(as_of, |s| s.0)
}

/// Each month's first and last day and its days, newest first.
pub fn spans(as_of: NaiveDate, n: u32) -> Vec<(NaiveDate, NaiveDate, u32)> {
    let mut out = Vec::new();
    let mut to = as_of;
    for _ in 0..n {
        let from = to.with_day(1).unwrap_or(to);
        let days = u32::try_from(days_between(from, to).saturating_add(1)).unwrap_or(0);
        out.push((from, to, days));
        to = add_days(from, -1);
    }
    out
}

/// Adds an invoice's total to the month of its issue date, if it is in the period.
pub fn add_sale(
    months: &mut [MonthSales],
    issued: NaiveDate,
    total: &Money,
) -> Result<(), MoneyError> {
    if let Some(m) = months
        .iter_mut()
        .find(|m| m.from <= issued && issued <= m.to)
    {
        m.sales = m.sales.checked_add(total)?;
    }
    Ok(())
}

/// Whether an invoice is a credit sale as of `day`: an order (a deposit asked for is
/// not a sale: the order it is applied to is), issued by then and not void.
pub fn is_sale(
    inv: &crate::invoice::Invoice,
    entries: &[crate::ledger::LedgerEntry],
    day: NaiveDate,
    tz: chrono_tz::Tz,
) -> Result<bool, MoneyError> {
    if inv.purpose != crate::invoice::Purpose::Order {
        return Ok(false);
    }
    let Some(counted) = crate::receivables::entries_as_of(inv, entries, day, tz) else {
        return Ok(false);
    };
    let b = crate::ledger::balance(&inv.total, &counted)?;
    Ok(b.status != crate::ledger::InvoiceStatus::Void)
}

/// To one decimal, always written with it ("30.0").
pub fn one_decimal(d: Decimal) -> Decimal {
    let mut r = d.round_dp(1);
    r.rescale(1);
    r
}

/// `part` as a percentage of `whole`, to one decimal; none when `whole` is not positive.
pub fn percent(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole <= Decimal::ZERO {
        return None;
    }
    part.checked_div(whole)
        .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
        .map(one_decimal)
}

/// DSO over one period, by both methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Dso {
    /// How many months the period has.
    pub months: u32,
    /// The period's days (the latest month's so far).
    pub days: u32,
    pub receivables: Money,
    pub sales: Money,
    /// Receivables ÷ sales × days, to one decimal; none without sales.
    #[schema(value_type = Option<String>)]
    pub simple: Option<Decimal>,
    /// The countback figure, to one decimal; none when the latest month has no sales.
    #[schema(value_type = Option<String>)]
    pub countback: Option<Decimal>,
    /// Whether the period's sales exhausted the receivables (else `countback` is a
    /// lower bound).
    pub exhausted: bool,
}

/// DSO of `receivables` over `months` (newest first, from [`months`]).
pub fn dso(receivables: &Money, months: &[MonthSales]) -> Result<Dso, MoneyError> {
    let c = receivables.currency();
    let mut sales = Money::zero(c);
    let mut days = 0u32;
    for m in months {
        sales = sales.checked_add(&m.sales)?;
        days = days.saturating_add(m.days);
    }
    let simple = if sales.is_positive() {
        receivables
            .amount()
            .checked_div(sales.amount())
            .and_then(|r| r.checked_mul(Decimal::from(days)))
            .map(one_decimal)
    } else {
        None
    };
    // Countback: exhaust the receivables month by month, newest first.
    let mut left = receivables.amount();
    let mut counted = Decimal::ZERO;
    let mut exhausted = !left.is_sign_positive() || left.is_zero();
    let mut any = false;
    for m in months {
        if exhausted || !m.sales.is_positive() {
            break;
        }
        any = true;
        let month_days = Decimal::from(m.days);
        if left >= m.sales.amount() {
            left = left
                .checked_sub(m.sales.amount())
                .ok_or(MoneyError::Overflow)?;
            counted = counted
                .checked_add(month_days)
                .ok_or(MoneyError::Overflow)?;
            exhausted = left.is_zero();
        } else {
            let part = left
                .checked_div(m.sales.amount())
                .and_then(|f| f.checked_mul(month_days))
                .ok_or(MoneyError::Overflow)?;
            counted = counted.checked_add(part).ok_or(MoneyError::Overflow)?;
            exhausted = true;
        }
    }
    let countback = (any || receivables.is_zero()).then(|| one_decimal(counted));
    Ok(Dso {
        months: u32::try_from(months.len()).unwrap_or(u32::MAX),
        days,
        receivables: *receivables,
        sales,
        simple,
        countback,
        exhausted,
    })
}

/// DSO of each currency over periods of months ending on one day, built invoice by
/// invoice ([`Periods::add`]) so it can be fed a page at a time.
#[derive(Debug, Clone)]
pub struct Periods {
    pub as_of: NaiveDate,
    pub tz: chrono_tz::Tz,
    pub only: Option<Currency>,
    /// The periods, in months.
    pub periods: Vec<u32>,
    longest: u32,
    /// What was owed at the end of the day.
    aging: crate::receivables::Aging,
    sales: BTreeMap<Currency, Vec<MonthSales>>,
}

/// A currency's DSO for each period, and the months' sales (newest first).
pub type CurrencyDso = (Currency, Vec<Dso>, Vec<MonthSales>);

impl Periods {
    pub fn new(
        as_of: NaiveDate,
        tz: chrono_tz::Tz,
        only: Option<Currency>,
        periods: &[u32],
    ) -> Self {
        Periods {
            as_of,
            tz,
            only,
            periods: periods.to_vec(),
            longest: periods.iter().copied().max().unwrap_or(12),
            aging: crate::receivables::Aging::new(as_of, tz, only),
            sales: BTreeMap::new(),
        }
    }

    /// From when an invoice can matter: owed at the end of the day, or sold in the
    /// longest period.
    pub fn since(&self) -> DateTime<Utc> {
        let first = first_day(self.as_of, self.longest);
        crate::calendar::local_moment(self.tz, first, NaiveTime::MIN)
    }

    /// Counts an invoice with its ledger.
    pub fn add(
        &mut self,
        inv: &crate::invoice::Invoice,
        entries: &[crate::ledger::LedgerEntry],
    ) -> Result<(), MoneyError> {
        let c = inv.currency;
        if self.only.is_some_and(|only| only != c) {
            return Ok(());
        }
        self.aging.add(inv, entries)?;
        if is_sale(inv, entries, self.as_of, self.tz)? {
            let (as_of, longest) = (self.as_of, self.longest);
            let months = self
                .sales
                .entry(c)
                .or_insert_with(|| months(as_of, longest, c));
            add_sale(months, inv.issue_date, &inv.total)?;
        }
        Ok(())
    }

    /// Each currency's figures, in currency order.
    pub fn finish(mut self) -> Result<Vec<CurrencyDso>, MoneyError> {
        let mut currencies: Vec<Currency> = self.sales.keys().copied().collect();
        currencies.extend(self.aging.currencies.keys().copied());
        currencies.sort();
        currencies.dedup();
        let mut out = Vec::new();
        for c in currencies {
            let ms = self
                .sales
                .remove(&c)
                .unwrap_or_else(|| months(self.as_of, self.longest, c));
            let owed = self
                .aging
                .currencies
                .get(&c)
                .map_or(Money::zero(c), |a| a.total.amount);
            let figures = self
                .periods
                .iter()
                .map(|n| dso(&owed, ms.get(..*n as usize).unwrap_or(&ms)))
                .collect::<Result<Vec<_>, _>>()?;
            out.push((c, figures, ms));
        }
        Ok(out)
    }
}

/// The collection effectiveness index (CEI) of one month: of what could have been
/// collected (receivables at its start plus its credit sales, less what was still current
/// at its end), how much was: `(begin + sales − end) ÷ (begin + sales − end current) ×
/// 100`, to one decimal (Credit Research Foundation's definition, as quoted by the Credit
/// Management Association, "Collection Effectiveness Index (CEI)", 2010-09-03; the same in
/// Oracle Advanced Collections). None when nothing could have been collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MonthCei {
    #[schema(value_type = String)]
    pub from: NaiveDate,
    #[schema(value_type = String)]
    pub to: NaiveDate,
    /// Receivables at the end of the day before the month.
    pub begin: Money,
    pub sales: Money,
    /// Receivables at the end of the month (of `to`).
    pub end: Money,
    /// Of them, not yet due.
    pub end_current: Money,
    #[schema(value_type = Option<String>)]
    pub cei: Option<Decimal>,
}

impl MonthCei {
    pub fn new(
        month: &MonthSales,
        begin: Money,
        end: Money,
        end_current: Money,
    ) -> Result<MonthCei, MoneyError> {
        let could = begin.checked_add(&month.sales)?;
        let collected = could.checked_sub(&end)?;
        let collectable = could.checked_sub(&end_current)?;
        let cei = percent(collected.amount(), collectable.amount());
        Ok(MonthCei {
            from: month.from,
            to: month.to,
            begin,
            sales: month.sales,
            end,
            end_current,
            cei,
        })
    }
}

#[cfg(test)]
mod tests {
    //! Known answers worked out by hand.

    use super::*;
    use rust_decimal_macros::dec;

    fn clp() -> Currency {
        Currency::parse("CLP").unwrap()
    }

    fn m(a: Decimal) -> Money {
        Money::new(a, clp()).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_months_of_a_period_end_on_the_day() {
        let ms = months(day("2026-11-15"), 3, clp());
        let spans: Vec<(NaiveDate, NaiveDate, u32)> =
            ms.iter().map(|m| (m.from, m.to, m.days)).collect();
        assert_eq!(
            spans,
            [
                (day("2026-11-01"), day("2026-11-15"), 15),
                (day("2026-10-01"), day("2026-10-31"), 31),
                (day("2026-09-01"), day("2026-09-30"), 30),
            ]
        );
        // Across a year and a leap February.
        let ms = months(day("2028-03-31"), 2, clp());
        assert_eq!((ms[1].from, ms[1].days), (day("2028-02-01"), 29));
    }

    #[test]
    fn both_methods_by_hand() {
        // As of 30 Nov, three whole months: sales Nov 300.000, Oct 200.000, Sep 100.000;
        // receivables 400.000.
        let mut ms = months(day("2026-11-30"), 3, clp());
        add_sale(&mut ms, day("2026-11-10"), &m(dec!(300000))).unwrap();
        add_sale(&mut ms, day("2026-10-05"), &m(dec!(120000))).unwrap();
        add_sale(&mut ms, day("2026-10-31"), &m(dec!(80000))).unwrap();
        add_sale(&mut ms, day("2026-09-01"), &m(dec!(100000))).unwrap();
        // Outside the period: not counted.
        add_sale(&mut ms, day("2026-08-31"), &m(dec!(999999))).unwrap();
        add_sale(&mut ms, day("2026-12-01"), &m(dec!(999999))).unwrap();
        let d = dso(&m(dec!(400000)), &ms).unwrap();
        // Simple: 400.000 / 600.000 × (30 + 31 + 30 = 91) = 60.666… → 60.7.
        assert_eq!((d.sales.amount(), d.days), (dec!(600000), 91));
        assert_eq!(d.simple, Some(dec!(60.7)));
        // Countback: Nov's 300.000 leaves 100.000 and counts 30 days; Oct's 200.000
        // exhausts it: 31 × 100.000 / 200.000 = 15.5. 30 + 15.5 = 45.5.
        assert_eq!(d.countback, Some(dec!(45.5)));
        assert!(d.exhausted);
    }

    #[test]
    fn a_partial_month_and_receivables_beyond_the_sales() {
        // As of 10 Dec: Dec so far (10 days) sold 50.000, Nov 100.000; receivables
        // 200.000 over two months.
        let mut ms = months(day("2026-12-10"), 2, clp());
        add_sale(&mut ms, day("2026-12-02"), &m(dec!(50000))).unwrap();
        add_sale(&mut ms, day("2026-11-20"), &m(dec!(100000))).unwrap();
        let d = dso(&m(dec!(200000)), &ms).unwrap();
        // Simple: 200.000 / 150.000 × (10 + 30 = 40) = 53.333… → 53.3.
        assert_eq!(d.simple, Some(dec!(53.3)));
        // Countback: 10 days, then 30: 50.000 of receivables are left — a lower bound.
        assert_eq!((d.countback, d.exhausted), (Some(dec!(40)), false));
    }

    #[test]
    fn without_sales_or_receivables() {
        let ms = months(day("2026-11-30"), 3, clp());
        let d = dso(&m(dec!(1000)), &ms).unwrap();
        assert_eq!((d.simple, d.countback), (None, None));
        let d = dso(&Money::zero(clp()), &ms).unwrap();
        assert_eq!((d.countback, d.exhausted), (Some(dec!(0)), true));
        // A month without sales stops the countback (Oracle's rule).
        let mut ms = months(day("2026-11-30"), 3, clp());
        add_sale(&mut ms, day("2026-11-10"), &m(dec!(100))).unwrap();
        add_sale(&mut ms, day("2026-09-10"), &m(dec!(100000))).unwrap();
        let d = dso(&m(dec!(500)), &ms).unwrap();
        assert_eq!((d.countback, d.exhausted), (Some(dec!(30)), false));
    }

    #[test]
    fn cei_by_hand() {
        let mut ms = months(day("2026-11-30"), 1, clp());
        ms[0].sales = m(dec!(50));
        // (100 + 50 − 80) ÷ (100 + 50 − 30) × 100 = 70 ÷ 120 × 100 = 58.33… → 58.3.
        let c = MonthCei::new(&ms[0], m(dec!(100)), m(dec!(80)), m(dec!(30))).unwrap();
        assert_eq!(c.cei, Some(dec!(58.3)));
        // Everything collected: 100.0; nothing collectable: none.
        let c = MonthCei::new(&ms[0], m(dec!(100)), m(dec!(0)), m(dec!(0))).unwrap();
        assert_eq!(c.cei.map(|v| v.to_string()), Some("100.0".into()));
        let c = MonthCei::new(&ms[0], m(dec!(0)), m(dec!(50)), m(dec!(50))).unwrap();
        assert_eq!(c.cei, None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Paying an invoice never raises the DSO of a closed period, by either
            /// method: whenever the payment is recorded (inside the period, after its last
            /// day, or later still), for random ledgers.
            #[test]
            fn paying_never_raises_a_closed_periods_dso(
                cases in prop::collection::vec(crate::receivables::tests::properties::case(), 1..10),
                which in 0usize..10,
                amount in 1i64..2_000_000,
                when in 0i64..260,
            ) {
                use crate::ledger::{EntryKind, PaymentMethod};
                use crate::receivables::tests::{entry, properties::{ledgers, noon}};
                // Closed: 30 Sep 2026, the periods of 1, 3 and 6 months ending on it.
                let as_of = day("2026-09-30");
                let figures = |ledgers: &[(crate::invoice::Invoice, Vec<crate::ledger::LedgerEntry>)]| {
                    let mut p = Periods::new(as_of, chrono_tz::America::Santiago, None, &[1, 3, 6]);
                    for (inv, entries) in ledgers {
                        p.add(inv, entries).unwrap();
                    }
                    p.finish().unwrap()
                };
                let mut books = ledgers(&cases);
                let before = figures(&books);
                let i = which % books.len();
                let (inv, entries) = &mut books[i];
                let c = inv.currency;
                // A refunded invoice (all it received given back) owes nothing; money
                // arriving on it again reopens it by the ledger's rule: that is not
                // paying what is owed, and is left out.
                let then = crate::receivables::entries_as_of(inv, entries, as_of, chrono_tz::America::Santiago);
                let refunded = then.is_some_and(|e| {
                    crate::ledger::balance(&inv.total, &e).unwrap().status == crate::ledger::InvoiceStatus::Refunded
                });
                prop_assume!(!refunded);
                let seq = entries.len() as u32 + 1;
                let kind = EntryKind::Payment { method: PaymentMethod::Transfer, reference: None };
                entries.push(entry(seq, kind, Money::rounded(Decimal::new(amount, c.exponent()), c), noon(when)));
                let after = figures(&books);
                prop_assert_eq!(before.len(), after.len());
                for ((c1, a, _), (c2, b, _)) in before.iter().zip(&after) {
                    prop_assert_eq!(c1, c2);
                    for (x, y) in a.iter().zip(b) {
                        prop_assert!(y.receivables.amount() <= x.receivables.amount());
                        prop_assert_eq!(x.sales, y.sales);
                        if let (Some(p), Some(q)) = (x.simple, y.simple) {
                            prop_assert!(q <= p, "simple {} → {}", p, q);
                        }
                        if let (Some(p), Some(q)) = (x.countback, y.countback) {
                            prop_assert!(q <= p, "countback {} → {}", p, q);
                        }
                    }
                }
            }

            /// Both figures are never negative, countback never exceeds the period's days,
            /// and more receivables never lower either figure.
            #[test]
            fn bounded_and_monotone(sales in prop::collection::vec(0i64..1_000_000, 1..13), ar in 0i64..5_000_000, more in 0i64..1_000_000) {
                let mut ms = months(day("2026-11-30"), sales.len() as u32, clp());
                for (m, s) in ms.iter_mut().zip(&sales) {
                    m.sales = Money::new(Decimal::from(*s), clp()).unwrap();
                }
                let a = dso(&Money::new(Decimal::from(ar), clp()).unwrap(), &ms).unwrap();
                let b = dso(&Money::new(Decimal::from(ar + more), clp()).unwrap(), &ms).unwrap();
                if let Some(c) = a.countback {
                    prop_assert!(c >= Decimal::ZERO && c <= Decimal::from(a.days));
                    prop_assert!(b.countback.unwrap_or(c) >= c);
                }
                if let (Some(x), Some(y)) = (a.simple, b.simple) {
                    prop_assert!(x >= Decimal::ZERO && y >= x);
                }
            }
        }
    }
}
