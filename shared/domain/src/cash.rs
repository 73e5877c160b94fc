//! **Expected cash**: for the week of a day and the seven after it (weeks from Monday to
//! Sunday in the business's time zone), per currency, what should come in, beside what
//! came in during the eight weeks before — all from the ledgers as they stood at the end
//! of that day.
//!
//! What each invoice still owes is expected on one date:
//! - under an open **plan**, each unpaid instalment (less what was paid toward it) on its
//!   due date;
//! - under open **promises**, each promise (less what was paid toward it) on its date, and
//!   the rest of what is owed as below;
//! - otherwise on its **due date** in force (as extended). What is already past due with
//!   no promise or plan has no date: it is shown apart (`overdue`), not in a week.
//!
//! A date already passed but still within its grace days is expected in the current
//! week. Each amount is **weighted by the client's history** over the twelve months
//! ending on the day (the months of a twelve-month DSO): an amount due by the due date by
//! the client's **on-time share** (of their invoices paid in full in those months, the
//! share paid by the due date in force, counted as a client's standing counts them); a
//! promise or instalment by their **kept share** (of their promises and plans decided in
//! those months, the share kept). A client without such history takes the business's
//! share over the same months; a business without any, 100 %.
//!
//! **Arrived** in a week: money received (payments, by the day they were recorded) less
//! what went back (refunds, disputes lost), as the trends count it.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::arrangement::{self, Outcome};
use crate::calendar::{add_days, local_moment, today_in};
use crate::dso::first_day;
use crate::ids::ClientId;
use crate::invoice::Invoice;
use crate::ledger::{self, LedgerEntry};
use crate::money::{Currency, Money, MoneyError};
use crate::receivables::entries_as_of;

/// Weeks ahead (the current one first) and weeks behind.
pub const WEEKS: usize = 8;

/// The months of history that weight what is expected.
pub const HISTORY_MONTHS: u32 = 12;

/// One week of the forecast, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CashWeek {
    /// Monday.
    #[schema(value_type = String)]
    pub from: NaiveDate,
    /// Sunday.
    #[schema(value_type = String)]
    pub to: NaiveDate,
    /// Received in it (so far, in the current week; nothing yet in later ones).
    pub arrived: Money,
    /// Owed by due dates in it, with no promise or plan.
    pub due: Money,
    /// Promised for it.
    pub promised: Money,
    /// Plan instalments due in it.
    pub instalments: Money,
    /// Those three, each weighted by its client's history.
    pub expected: Money,
}

/// One currency's forecast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CurrencyCash {
    #[schema(value_type = String, example = "CLP")]
    pub currency: Currency,
    /// The eight weeks before the current one and the eight from it, oldest first.
    pub weeks: Vec<CashWeek>,
    /// Past due with no promise or plan: expected, but on no date.
    pub overdue: Money,
    /// What is expected after the eighth week.
    pub later: Money,
}

/// Shares of a history: (good, all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Share(u32, u32);

impl Share {
    fn count(&mut self, good: bool) {
        self.1 = self.1.saturating_add(1);
        if good {
            self.0 = self.0.saturating_add(1);
        }
    }

    /// The share in percent, when there is any history.
    fn percent(self) -> Option<Decimal> {
        (self.1 > 0).then(|| {
            Decimal::from(self.0)
                .checked_div(Decimal::from(self.1))
                .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
                .unwrap_or(Decimal::ONE_HUNDRED)
        })
    }
}

/// A client's history in the months that weight the forecast.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct History {
    on_time: Share,
    kept: Share,
}

/// What one invoice is expected to bring, before weighting.
#[derive(Debug, Clone)]
struct Expected {
    client: ClientId,
    currency: Currency,
    /// Week index from the current one (0–7), or `None`: after the eighth.
    week: Option<usize>,
    amount: Money,
    /// By a promise or a plan (weighted by the kept share), else by a due date.
    arranged: bool,
    instalment: bool,
}

/// The forecast, built invoice by invoice ([`Forecast::add`]).
#[derive(Debug, Clone)]
pub struct Forecast {
    pub as_of: NaiveDate,
    pub tz: Tz,
    pub only: Option<Currency>,
    /// Monday of the current week.
    monday: NaiveDate,
    history_from: NaiveDate,
    histories: BTreeMap<ClientId, History>,
    expected: Vec<Expected>,
    arrived: BTreeMap<Currency, Vec<Money>>,
    overdue: BTreeMap<Currency, Money>,
}

/// The Monday of the week of `day`.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    add_days(
        day,
        0i64.saturating_sub(i64::from(day.weekday().num_days_from_monday())),
    )
}

impl Forecast {
    pub fn new(as_of: NaiveDate, tz: Tz, only: Option<Currency>) -> Self {
        Forecast {
            as_of,
            tz,
            only,
            monday: monday_of(as_of),
            history_from: first_day(as_of, HISTORY_MONTHS),
            histories: BTreeMap::new(),
            expected: Vec::new(),
            arrived: BTreeMap::new(),
            overdue: BTreeMap::new(),
        }
    }

    /// The first Monday of the weeks behind.
    fn first_monday(&self) -> NaiveDate {
        add_days(self.monday, (-7i64).saturating_mul(WEEKS as i64))
    }

    /// From when an invoice can matter: settled in the months of history or in the weeks
    /// behind, or owed now.
    pub fn since(&self) -> DateTime<Utc> {
        let first = self.history_from.min(self.first_monday());
        local_moment(self.tz, first, NaiveTime::MIN)
    }

    /// The week (0 = the first of the weeks behind) a day falls in, of the sixteen.
    fn week_of(&self, day: NaiveDate) -> Option<usize> {
        let days = crate::calendar::days_between(self.first_monday(), day);
        let week = usize::try_from(days.div_euclid(7)).ok()?;
        (days >= 0 && week < WEEKS.saturating_mul(2)).then_some(week)
    }

    /// Counts an invoice with its ledger.
    pub fn add(&mut self, inv: &Invoice, entries: &[LedgerEntry]) -> Result<(), MoneyError> {
        let c = inv.currency;
        let Some(counted) = entries_as_of(inv, entries, self.as_of, self.tz) else {
            return Ok(());
        };
        // The client's history counts whatever the currency asked for.
        let end = local_moment(self.tz, add_days(self.as_of, 1), NaiveTime::MIN);
        let arr = arrangement::arrangements(inv, &counted, end)?;
        self.learn(inv, &counted, &arr, end)?;
        if self.only.is_some_and(|only| only != c) {
            return Ok(());
        }
        // What arrived in the weeks behind and the current one so far.
        for e in &counted {
            let Some(sign) = e.kind.cash_sign() else {
                continue;
            };
            if let Some(w) = self.week_of(today_in(self.tz, e.at)) {
                let weeks = self
                    .arrived
                    .entry(c)
                    .or_insert_with(|| vec![Money::zero(c); WEEKS.saturating_mul(2)]);
                if let Some(slot) = weeks.get_mut(w) {
                    *slot = slot.checked_add(&e.amount.checked_mul(sign)?)?;
                }
            }
        }
        // What it still owes, and when.
        let b = ledger::balance(&inv.total, &counted)?;
        if !crate::listing::is_open(b.status) || !b.amount_due.is_positive() {
            return Ok(());
        }
        let mut left = b.amount_due;
        let mut dated: Vec<(NaiveDate, Money, bool)> = Vec::new();
        if let Some(plan) = arr.active_plan() {
            for i in plan
                .instalments
                .iter()
                .filter(|i| i.outcome != Outcome::Kept)
            {
                let owed = i.amount.checked_sub(&i.paid)?;
                dated.push((i.due_date, owed, true));
            }
        } else {
            for p in arr.open_promises() {
                dated.push((p.date, p.amount.checked_sub(&p.paid)?, false));
            }
        }
        for (date, amount, instalment) in dated {
            let amount = if amount.amount() > left.amount() {
                left
            } else {
                amount
            };
            if !amount.is_positive() {
                continue;
            }
            left = left.checked_sub(&amount)?;
            self.expect(inv, date.max(self.as_of), amount, true, instalment);
        }
        if left.is_positive() {
            if arr.due_date < self.as_of {
                let o = self.overdue.entry(c).or_insert_with(|| Money::zero(c));
                *o = o.checked_add(&left)?;
            } else {
                self.expect(inv, arr.due_date, left, false, false);
            }
        }
        Ok(())
    }

    /// Counts what the invoice says of its client's history.
    fn learn(
        &mut self,
        inv: &Invoice,
        counted: &[LedgerEntry],
        arr: &arrangement::Arrangements,
        end: DateTime<Utc>,
    ) -> Result<(), MoneyError> {
        let h = crate::standing::invoice_history(inv, counted, end)?;
        let (history_from, as_of, tz) = (self.history_from, self.as_of, self.tz);
        let in_history = |t: DateTime<Utc>| {
            let d = today_in(tz, t);
            history_from <= d && d <= as_of
        };
        let hist = self.histories.entry(inv.client_id.clone()).or_default();
        if let Some((at, late)) = h.as_ref().and_then(|h| h.settled)
            && in_history(at)
        {
            hist.on_time.count(late == 0);
        }
        let decided = arr
            .promises
            .iter()
            .map(|p| (p.outcome, p.ended_at))
            .chain(arr.plans.iter().map(|p| (p.outcome, p.ended_at)));
        for (outcome, ended) in decided {
            if outcome != Outcome::Open
                && let Some(t) = ended
                && in_history(t)
            {
                hist.kept.count(outcome == Outcome::Kept);
            }
        }
        Ok(())
    }

    fn expect(
        &mut self,
        inv: &Invoice,
        date: NaiveDate,
        amount: Money,
        arranged: bool,
        instalment: bool,
    ) {
        let week = self.week_of(date).and_then(|w| w.checked_sub(WEEKS));
        self.expected.push(Expected {
            client: inv.client_id.clone(),
            currency: inv.currency,
            week,
            amount,
            arranged,
            instalment,
        });
    }

    /// Each currency's forecast, in currency order.
    pub fn finish(self) -> Result<Vec<CurrencyCash>, MoneyError> {
        // The business's shares, for clients without their own.
        let mut business = History::default();
        for h in self.histories.values() {
            business.on_time.0 = business.on_time.0.saturating_add(h.on_time.0);
            business.on_time.1 = business.on_time.1.saturating_add(h.on_time.1);
            business.kept.0 = business.kept.0.saturating_add(h.kept.0);
            business.kept.1 = business.kept.1.saturating_add(h.kept.1);
        }
        let weight = |client: &ClientId, arranged: bool| {
            let h = self.histories.get(client).copied().unwrap_or_default();
            let pick = |h: History| if arranged { h.kept } else { h.on_time };
            pick(h)
                .percent()
                .or_else(|| pick(business).percent())
                .unwrap_or(Decimal::ONE_HUNDRED)
        };
        let mut currencies: Vec<Currency> = self.arrived.keys().copied().collect();
        currencies.extend(self.expected.iter().map(|e| e.currency));
        currencies.extend(self.overdue.keys().copied());
        currencies.sort();
        currencies.dedup();
        let mut out = Vec::new();
        for c in currencies {
            let zero = Money::zero(c);
            let arrived = self.arrived.get(&c);
            let mut weeks: Vec<CashWeek> = (0..WEEKS.saturating_mul(2))
                .map(|w| {
                    let from = add_days(self.first_monday(), 7i64.saturating_mul(w as i64));
                    CashWeek {
                        from,
                        to: add_days(from, 6),
                        arrived: arrived.and_then(|a| a.get(w)).copied().unwrap_or(zero),
                        due: zero,
                        promised: zero,
                        instalments: zero,
                        expected: zero,
                    }
                })
                .collect();
            let mut later = zero;
            for e in self.expected.iter().filter(|e| e.currency == c) {
                let weighted = e.amount.percent(weight(&e.client, e.arranged))?;
                let Some(w) = e.week.and_then(|i| weeks.get_mut(i.saturating_add(WEEKS))) else {
                    later = later.checked_add(&weighted)?;
                    continue;
                };
                let slot = match (e.arranged, e.instalment) {
                    (false, _) => &mut w.due,
                    (true, false) => &mut w.promised,
                    (true, true) => &mut w.instalments,
                };
                *slot = slot.checked_add(&e.amount)?;
                w.expected = w.expected.checked_add(&weighted)?;
            }
            out.push(CurrencyCash {
                currency: c,
                weeks,
                overdue: self.overdue.get(&c).copied().unwrap_or(zero),
                later,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
