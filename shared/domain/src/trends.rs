//! The months a finance team looks back on, per currency (never summed across
//! currencies), each worked out from the ledger as it stood at the end of the day asked
//! about ([`crate::receivables::entries_as_of`]):
//!
//! - **Invoiced**: the month's credit sales, as DSO counts them ([`crate::dso::is_sale`]).
//! - **Collected**: money received in the month (payments, by the day they were recorded
//!   in the business's time zone) less what went back (refunds, disputes lost). Credits
//!   moved between invoices and discounts are not money received.
//! - **Owed** at the end of the month and, of it, **overdue** (past its due date in
//!   force): the aging's totals ([`crate::receivables::Aging`]); the **overdue share** is
//!   overdue ÷ owed × 100.
//! - **CEI** of the month ([`crate::dso::MonthCei`]).
//! - **Average days late**, weighted by amount: of the invoices paid in full in the month,
//!   Σ (amount × days after the due date in force) ÷ Σ amount, an invoice paid by its due
//!   date counting 0 days — the lateness measure of a client's standing
//!   ([`crate::standing::invoice_history`]), over the business.
//! - **Promise-kept rate** and **plan completion rate**: of the promises (plans) decided
//!   in the month — kept when the money covering them arrived, broken when their deadline
//!   passed ([`crate::arrangement`]) — the share kept. Those still open are not counted.
//!
//! Percentages and days are to one decimal; a figure with nothing to divide by is none.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::arrangement::{self, Outcome};
use crate::calendar::{add_days, local_moment, today_in};
use crate::dso::{self, MonthCei, MonthSales, one_decimal, percent};
use crate::invoice::Invoice;
use crate::ledger::LedgerEntry;
use crate::listing::Bucket;
use crate::money::{Currency, Money, MoneyError};
use crate::receivables::{Aging, entries_as_of};

/// One month of the trends, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MonthTrend {
    #[schema(value_type = String)]
    pub from: NaiveDate,
    #[schema(value_type = String)]
    pub to: NaiveDate,
    /// The month's days (the latest month's so far).
    pub days: u32,
    pub invoiced: Money,
    pub collected: Money,
    /// Owed at the end of the day before the month.
    pub owed_at_start: Money,
    /// Owed at the end of the month (of `to`).
    pub owed_at_end: Money,
    /// Of it, not yet due.
    pub current_at_end: Money,
    /// Of it, past its due date.
    pub overdue_at_end: Money,
    /// Overdue ÷ owed at the end × 100.
    #[schema(value_type = Option<String>)]
    pub overdue_share: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub cei: Option<Decimal>,
    /// Invoices paid in full in the month, and what they were for.
    pub settled_invoices: u32,
    pub settled_amount: Money,
    /// Their days late, weighted by amount.
    #[schema(value_type = Option<String>)]
    pub avg_days_late: Option<Decimal>,
    pub promises_kept: u32,
    pub promises_broken: u32,
    #[schema(value_type = Option<String>)]
    pub promise_kept_rate: Option<Decimal>,
    pub plans_completed: u32,
    pub plans_broken: u32,
    #[schema(value_type = Option<String>)]
    pub plan_completion_rate: Option<Decimal>,
}

impl MonthTrend {
    /// The month's CEI with the amounts it comes from.
    pub fn cei_row(&self) -> MonthCei {
        MonthCei {
            from: self.from,
            to: self.to,
            begin: self.owed_at_start,
            sales: self.invoiced,
            end: self.owed_at_end,
            end_current: self.current_at_end,
            cei: self.cei,
        }
    }
}

/// What is added up for one month before its figures are worked out.
#[derive(Debug, Clone)]
struct Tally {
    sales: MonthSales,
    collected: Money,
    settled: u32,
    settled_amount: Money,
    /// Σ amount × days late.
    late_weight: Decimal,
    promises: (u32, u32),
    plans: (u32, u32),
}

/// The trends of the `n` months ending on a day, built invoice by invoice
/// ([`Trends::add`]) so they can be fed a page at a time.
#[derive(Debug, Clone)]
pub struct Trends {
    pub as_of: NaiveDate,
    pub tz: Tz,
    pub only: Option<Currency>,
    spans: Vec<(NaiveDate, NaiveDate, u32)>,
    /// What was owed at the end of each month (newest first), then at the end of the day
    /// before the first.
    ends: Vec<Aging>,
    tallies: BTreeMap<Currency, Vec<Tally>>,
}

impl Trends {
    pub fn new(as_of: NaiveDate, months: u32, tz: Tz, only: Option<Currency>) -> Self {
        let spans = dso::spans(as_of, months);
        let mut days: Vec<NaiveDate> = spans.iter().map(|s| s.1).collect();
        days.push(add_days(dso::first_day(as_of, months), -1));
        Trends {
            as_of,
            tz,
            only,
            ends: days.iter().map(|d| Aging::new(*d, tz, only)).collect(),
            spans,
            tallies: BTreeMap::new(),
        }
    }

    /// From when an invoice can matter: owed at the start of the day before the first
    /// month, or settled since.
    pub fn since(&self) -> DateTime<Utc> {
        let before = self.ends.last().map_or(self.as_of, |a| a.as_of);
        local_moment(self.tz, before, NaiveTime::MIN)
    }

    /// The month (its index, newest first) a day falls in.
    fn month_of(&self, day: NaiveDate) -> Option<usize> {
        self.spans
            .iter()
            .position(|(from, to, _)| *from <= day && day <= *to)
    }

    fn tally(&mut self, c: Currency, month: usize) -> Option<&mut Tally> {
        let spans = &self.spans;
        self.tallies
            .entry(c)
            .or_insert_with(|| {
                spans
                    .iter()
                    .map(|(from, to, days)| Tally {
                        sales: MonthSales {
                            from: *from,
                            to: *to,
                            days: *days,
                            sales: Money::zero(c),
                        },
                        collected: Money::zero(c),
                        settled: 0,
                        settled_amount: Money::zero(c),
                        late_weight: Decimal::ZERO,
                        promises: (0, 0),
                        plans: (0, 0),
                    })
                    .collect()
            })
            .get_mut(month)
    }

    /// Counts an invoice with its ledger.
    pub fn add(&mut self, inv: &Invoice, entries: &[LedgerEntry]) -> Result<(), MoneyError> {
        let c = inv.currency;
        if self.only.is_some_and(|only| only != c) {
            return Ok(());
        }
        for a in &mut self.ends {
            a.add(inv, entries)?;
        }
        let Some(counted) = entries_as_of(inv, entries, self.as_of, self.tz) else {
            return Ok(());
        };
        if dso::is_sale(inv, entries, self.as_of, self.tz)?
            && let Some(m) = self.month_of(inv.issue_date)
            && let Some(t) = self.tally(c, m)
        {
            t.sales.sales = t.sales.sales.checked_add(&inv.total)?;
        }
        for e in &counted {
            let Some(sign) = e.kind.cash_sign() else {
                continue;
            };
            if let Some(m) = self.month_of(today_in(self.tz, e.at))
                && let Some(t) = self.tally(c, m)
            {
                t.collected = t.collected.checked_add(&e.amount.checked_mul(sign)?)?;
            }
        }
        // Judged at the end of the day asked about.
        let end = local_moment(self.tz, add_days(self.as_of, 1), NaiveTime::MIN);
        if let Some(h) = crate::standing::invoice_history(inv, &counted, end)?
            && let Some((at, late)) = h.settled
            && let Some(m) = self.month_of(today_in(self.tz, at))
            && let Some(t) = self.tally(c, m)
        {
            t.settled = t.settled.saturating_add(1);
            t.settled_amount = t.settled_amount.checked_add(&h.amount)?;
            let weight = h
                .amount
                .amount()
                .checked_mul(Decimal::from(late))
                .ok_or(MoneyError::Overflow)?;
            t.late_weight = t
                .late_weight
                .checked_add(weight)
                .ok_or(MoneyError::Overflow)?;
        }
        let arr = arrangement::arrangements(inv, &counted, end)?;
        let promises = arr.promises.iter().map(|p| (p.outcome, p.ended_at));
        let plans = arr.plans.iter().map(|p| (p.outcome, p.ended_at));
        for (is_plan, (outcome, ended)) in
            promises.map(|p| (false, p)).chain(plans.map(|p| (true, p)))
        {
            let Some(ended) = ended else { continue };
            if outcome == Outcome::Open {
                continue;
            }
            if let Some(m) = self.month_of(today_in(self.tz, ended))
                && let Some(t) = self.tally(c, m)
            {
                let pair = if is_plan {
                    &mut t.plans
                } else {
                    &mut t.promises
                };
                if outcome == Outcome::Kept {
                    pair.0 = pair.0.saturating_add(1);
                } else {
                    pair.1 = pair.1.saturating_add(1);
                }
            }
        }
        Ok(())
    }

    /// Each currency's months, newest first.
    pub fn finish(mut self) -> Result<Vec<(Currency, Vec<MonthTrend>)>, MoneyError> {
        let mut currencies: Vec<Currency> = self.tallies.keys().copied().collect();
        for a in &self.ends {
            currencies.extend(a.currencies.keys().copied());
        }
        currencies.sort();
        currencies.dedup();
        let mut out = Vec::new();
        for c in currencies {
            // Every month has a tally once the currency has one.
            let _ = self.tally(c, 0);
            let tallies = self.tallies.remove(&c).unwrap_or_default();
            let owed = |i: usize, current: bool| {
                let zero = Money::zero(c);
                self.ends
                    .get(i)
                    .and_then(|a| a.currencies.get(&c))
                    .map_or(zero, |a| {
                        if current {
                            a.cell(Bucket::Current).amount
                        } else {
                            a.total.amount
                        }
                    })
            };
            let mut rows = Vec::new();
            for (i, t) in tallies.into_iter().enumerate() {
                let (start, end, current) = (
                    owed(i.saturating_add(1), false),
                    owed(i, false),
                    owed(i, true),
                );
                let cei = MonthCei::new(&t.sales, start, end, current)?;
                let overdue = end.checked_sub(&current)?;
                let rate = |(kept, broken): (u32, u32)| {
                    percent(
                        Decimal::from(kept),
                        Decimal::from(kept.saturating_add(broken)),
                    )
                };
                rows.push(MonthTrend {
                    from: t.sales.from,
                    to: t.sales.to,
                    days: t.sales.days,
                    invoiced: t.sales.sales,
                    collected: t.collected,
                    owed_at_start: start,
                    owed_at_end: end,
                    current_at_end: current,
                    overdue_at_end: overdue,
                    overdue_share: percent(overdue.amount(), end.amount()),
                    cei: cei.cei,
                    settled_invoices: t.settled,
                    settled_amount: t.settled_amount,
                    avg_days_late: t.settled_amount.is_positive().then(|| {
                        t.late_weight
                            .checked_div(t.settled_amount.amount())
                            .map(one_decimal)
                            .unwrap_or_default()
                    }),
                    promises_kept: t.promises.0,
                    promises_broken: t.promises.1,
                    promise_kept_rate: rate(t.promises),
                    plans_completed: t.plans.0,
                    plans_broken: t.plans.1,
                    plan_completion_rate: rate(t.plans),
                });
            }
            out.push((c, rows));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
