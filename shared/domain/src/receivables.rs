//! What was owed to the business on a given day, from the ledger alone: each invoice as
//! it stood at the end of that day, and the **aging** of all of them — current, 1–30,
//! 31–60, 61–90 and 90+ days past the due date in force — per currency, never summed
//! across currencies, overall and per client, with late fees apart from the principal.
//!
//! - **As of a day** (`as_of`, in the business's time zone): an invoice counts from its
//!   issue date; every other entry (a payment, a refund, a late fee, an extension, a
//!   void) from the day it was recorded. An entry recorded after the day does not count,
//!   so an aging of a past day does not change when later payments arrive.
//! - **Owed** is the ledger's amount due ([`crate::ledger::balance`]) on the entries
//!   that count: open, partially paid, disputed or escalated invoices with money due.
//! - **Late fees apart**: a payment pays the late fees first, then the principal — the
//!   rule of the Chilean Código Civil, art. 1595 ("Si se deben capital e intereses, el
//!   pago se imputará primeramente a los intereses…"). So what is still owed of the
//!   late fees is what was charged of them less everything received, never below zero;
//!   the rest of what is owed is principal.
//! - **Buckets** ([`Bucket`]): by the days between the due date in force that day (as
//!   extended by then) and the day; due that day or later is current.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;

use crate::calendar::today_in;
use crate::ids::ClientId;
use crate::invoice::Invoice;
use crate::ledger::{self, EntryKind, LedgerEntry};
use crate::listing::{self, Bucket};
use crate::money::{Currency, Money, MoneyError};

/// The entries of an invoice's ledger that count at the end of `day` in `tz`, or `None`
/// when it was not issued by then.
pub fn entries_as_of(
    inv: &Invoice,
    entries: &[LedgerEntry],
    day: NaiveDate,
    tz: Tz,
) -> Option<Vec<LedgerEntry>> {
    if inv.issue_date > day {
        return None;
    }
    Some(
        entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::Charge) || today_in(tz, e.at) <= day)
            .cloned()
            .collect(),
    )
}

/// What an invoice owed at the end of a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    pub due_date: NaiveDate,
    pub bucket: Bucket,
    /// All that was owed.
    pub amount: Money,
    /// Of it, late fees still unpaid (payments go to them first).
    pub late_fees: Money,
    /// The rest.
    pub principal: Money,
}

/// What `inv` owed at the end of `day` in `tz` (`None`: nothing, or not issued yet).
pub fn owed_as_of(
    inv: &Invoice,
    entries: &[LedgerEntry],
    day: NaiveDate,
    tz: Tz,
) -> Result<Option<Owed>, MoneyError> {
    let Some(counted) = entries_as_of(inv, entries, day, tz) else {
        return Ok(None);
    };
    let b = ledger::balance(&inv.total, &counted)?;
    if !listing::is_open(b.status) || !b.amount_due.is_positive() {
        return Ok(None);
    }
    let unpaid = unpaid_late_fees(&counted, inv.currency)?;
    let late_fees = if unpaid.amount() > b.amount_due.amount() {
        b.amount_due
    } else {
        unpaid
    };
    let due_date = listing::due_date(inv, &counted);
    Ok(Some(Owed {
        due_date,
        bucket: Bucket::of(due_date, day),
        amount: b.amount_due,
        principal: b.amount_due.checked_sub(&late_fees)?,
        late_fees,
    }))
}

/// The late fees not yet paid, in time order: each payment (or credit, or discount) pays
/// the late fees owed when it came first, then the principal (Código Civil, art. 1595).
/// A payment made before a fee was charged paid principal only.
fn unpaid_late_fees(entries: &[LedgerEntry], c: Currency) -> Result<Money, MoneyError> {
    let mut ordered: Vec<&LedgerEntry> = entries.iter().collect();
    ordered.sort_by_key(|e| (e.at, e.seq));
    let zero = Money::zero(c);
    let mut fees = zero;
    for e in ordered {
        if matches!(e.kind, EntryKind::LateFee { .. }) {
            fees = fees.checked_add(&e.amount)?;
        } else if e.kind.pays() {
            let left = fees.checked_sub(&e.amount)?;
            fees = if left.is_negative() { zero } else { left };
        }
    }
    Ok(fees)
}

/// Invoices and amounts in one bucket (or a total), in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AgingCell {
    pub invoices: u64,
    pub amount: Money,
    pub principal: Money,
    pub late_fees: Money,
}

impl AgingCell {
    fn zero(c: Currency) -> Self {
        AgingCell {
            invoices: 0,
            amount: Money::zero(c),
            principal: Money::zero(c),
            late_fees: Money::zero(c),
        }
    }

    fn add(&mut self, o: &Owed) -> Result<(), MoneyError> {
        self.invoices = self.invoices.saturating_add(1);
        self.amount = self.amount.checked_add(&o.amount)?;
        self.principal = self.principal.checked_add(&o.principal)?;
        self.late_fees = self.late_fees.checked_add(&o.late_fees)?;
        Ok(())
    }
}

/// The aging of one currency: a cell per bucket, in [`Bucket::ALL`]'s order, and the
/// total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CurrencyAging {
    pub currency: Currency,
    pub buckets: Vec<AgingCell>,
    pub total: AgingCell,
}

impl CurrencyAging {
    fn new(c: Currency) -> Self {
        CurrencyAging {
            currency: c,
            buckets: Bucket::ALL.iter().map(|_| AgingCell::zero(c)).collect(),
            total: AgingCell::zero(c),
        }
    }

    fn add(&mut self, o: &Owed) -> Result<(), MoneyError> {
        let cell = Bucket::ALL
            .iter()
            .zip(self.buckets.iter_mut())
            .find(|(b, _)| **b == o.bucket)
            .map(|(_, cell)| cell);
        if let Some(cell) = cell {
            cell.add(o)?;
        }
        self.total.add(o)
    }

    /// The cell of `bucket`.
    pub fn cell(&self, bucket: Bucket) -> &AgingCell {
        Bucket::ALL
            .iter()
            .zip(self.buckets.iter())
            .find(|(b, _)| **b == bucket)
            .map_or(&self.total, |(_, cell)| cell)
    }
}

/// The aging as of a day: per currency, and per client per currency. Built invoice by
/// invoice ([`Aging::add`]), so it can be fed a page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aging {
    pub as_of: NaiveDate,
    pub tz: Tz,
    /// Only this currency, when asked.
    pub only: Option<Currency>,
    pub currencies: BTreeMap<Currency, CurrencyAging>,
    pub clients: BTreeMap<ClientId, BTreeMap<Currency, CurrencyAging>>,
}

impl Aging {
    pub fn new(as_of: NaiveDate, tz: Tz, only: Option<Currency>) -> Self {
        Aging {
            as_of,
            tz,
            only,
            currencies: BTreeMap::new(),
            clients: BTreeMap::new(),
        }
    }

    /// Counts an invoice with its ledger, if it owed something at the end of the day.
    pub fn add(&mut self, inv: &Invoice, entries: &[LedgerEntry]) -> Result<(), MoneyError> {
        if self.only.is_some_and(|c| c != inv.currency) {
            return Ok(());
        }
        let Some(owed) = owed_as_of(inv, entries, self.as_of, self.tz)? else {
            return Ok(());
        };
        let c = inv.currency;
        self.currencies
            .entry(c)
            .or_insert_with(|| CurrencyAging::new(c))
            .add(&owed)?;
        self.clients
            .entry(inv.client_id.clone())
            .or_default()
            .entry(c)
            .or_insert_with(|| CurrencyAging::new(c))
            .add(&owed)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Known answers worked out by hand from small ledgers (amounts in the comments).

    use super::*;
    use crate::ledger::PaymentMethod;
    use crate::money::Currency;
    use chrono::{DateTime, TimeZone, Utc};
    use chrono_tz::America::Santiago;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    pub(crate) fn clp() -> Currency {
        Currency::parse("CLP").unwrap()
    }

    pub(crate) fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    pub(crate) fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A local time in Santiago as UTC.
    pub(crate) fn santiago(s: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        Santiago
            .from_local_datetime(&naive)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    pub(crate) fn money(a: Decimal, c: Currency) -> Money {
        Money::new(a, c).unwrap()
    }

    /// One line of `total`, no tax.
    pub(crate) fn invoice(
        client: &ClientId,
        c: Currency,
        total: Decimal,
        issued: &str,
        due: &str,
    ) -> Invoice {
        let new = crate::invoice::NewInvoice {
            client_id: client.to_string(),
            currency: c.code().into(),
            lines: vec![crate::invoice::NewLine {
                description: "Servicio".into(),
                quantity: Decimal::ONE,
                unit_amount: total,
            }],
            tax_rate: None,
            issue_date: Some(day(issued)),
            due_date: Some(day(due)),
            days_until_due: None,
            terms: None,
            send: false,
        };
        let valid = new
            .validate(day(issued), &crate::invoice::Terms::default())
            .unwrap();
        let inv = valid.issue(
            crate::ids::InvoiceId::generate(),
            1,
            "F-",
            Santiago,
            santiago(&format!("{issued} 09:00")),
        );
        assert_eq!(inv.total.amount(), total);
        inv
    }

    pub(crate) fn entry(
        seq: u32,
        kind: EntryKind,
        amount: Money,
        at: DateTime<Utc>,
    ) -> LedgerEntry {
        LedgerEntry {
            seq,
            kind,
            amount,
            at,
            key: None,
            by: None,
        }
    }

    /// The invoice's charge, recorded at a local time in Santiago.
    pub(crate) fn charge(inv: &Invoice, at: &str) -> LedgerEntry {
        entry(1, EntryKind::Charge, inv.total, santiago(at))
    }

    /// The client's promise to pay `amount` by `date`, made at a local time in Santiago.
    pub(crate) fn promise(seq: u32, amount: Money, date: &str, made: &str) -> LedgerEntry {
        let kind = EntryKind::Promise {
            promise: 1,
            date: day(date),
            by: crate::ledger::Party::Client,
        };
        entry(seq, kind, amount, santiago(made))
    }

    pub(crate) fn payment(seq: u32, amount: Money, at: DateTime<Utc>) -> LedgerEntry {
        let kind = EntryKind::Payment {
            method: PaymentMethod::Transfer,
            reference: None,
        };
        entry(seq, kind, amount, at)
    }

    #[test]
    fn an_invoice_ages_by_the_day_and_by_what_was_recorded_by_then() {
        let a = ClientId::generate();
        // CLP 100.000 issued 1 Oct, due 31 Oct; 30.000 paid on 10 Nov; a late fee of
        // 2.000 charged on 15 Nov; 50.000 paid on 5 Dec.
        let inv = invoice(&a, clp(), dec!(100000), "2026-10-01", "2026-10-31");
        let entries = vec![
            entry(
                1,
                EntryKind::Charge,
                inv.total,
                santiago("2026-10-01 09:00"),
            ),
            payment(2, money(dec!(30000), clp()), santiago("2026-11-10 12:00")),
            entry(
                3,
                EntryKind::LateFee { period: 1 },
                money(dec!(2000), clp()),
                santiago("2026-11-15 08:00"),
            ),
            payment(4, money(dec!(50000), clp()), santiago("2026-12-05 12:00")),
        ];
        let owed = |d: &str| owed_as_of(&inv, &entries, day(d), Santiago).unwrap();
        // Before its issue date: nothing.
        assert_eq!(owed("2026-09-30"), None);
        // Due on 31 Oct: current that day, 1 day late the next.
        let o = owed("2026-10-31").unwrap();
        assert_eq!(
            (o.bucket, o.amount.amount()),
            (Bucket::Current, dec!(100000))
        );
        assert_eq!(owed("2026-11-01").unwrap().bucket, Bucket::Days1To30);
        // 10 Nov: 100.000 − 30.000 = 70.000, 10 days late.
        let o = owed("2026-11-10").unwrap();
        assert_eq!(
            (o.bucket, o.amount.amount()),
            (Bucket::Days1To30, dec!(70000))
        );
        // 15 Nov: 70.000 + 2.000 fee = 72.000; the 30.000 paid before the fee went to
        // the principal (the fee did not exist), so 2.000 of fees are owed.
        let o = owed("2026-11-15").unwrap();
        assert_eq!(
            (
                o.amount.amount(),
                o.late_fees.amount(),
                o.principal.amount()
            ),
            (dec!(72000), dec!(2000), dec!(70000))
        );
        // 30 Nov: 30 days late, still 1–30; 1 Dec: 31 days, 31–60.
        assert_eq!(owed("2026-11-30").unwrap().bucket, Bucket::Days1To30);
        assert_eq!(owed("2026-12-01").unwrap().bucket, Bucket::Days31To60);
        // 5 Dec: 72.000 − 50.000 = 22.000. Everything received (80.000) covers the
        // 2.000 of fees first: no fees owed, 22.000 of principal.
        let o = owed("2026-12-05").unwrap();
        assert_eq!(
            (
                o.amount.amount(),
                o.late_fees.amount(),
                o.principal.amount()
            ),
            (dec!(22000), dec!(0), dec!(22000))
        );
        // 31 Oct + 30 (Nov) + 31 (Dec) + 29 = 29 Jan 2027, 90 days: still 61–90;
        // 30 Jan, 91 days: 90+.
        assert_eq!(owed("2027-01-29").unwrap().bucket, Bucket::Days61To90);
        assert_eq!(owed("2027-01-30").unwrap().bucket, Bucket::Over90);
    }

    #[test]
    fn a_day_ends_at_midnight_in_santiago_across_the_daylight_saving_change() {
        // Chile moves its clocks forward at 24:00 on Saturday 5 Sep 2026 (the first
        // Sunday of September, America/Santiago in the tz database chrono-tz bundles):
        // 6 Sep begins at 01:00 local, 04:00 UTC.
        let a = ClientId::generate();
        let inv = invoice(&a, usd(), dec!(500.00), "2026-08-01", "2026-09-01");
        let paid_at = Utc.with_ymd_and_hms(2026, 9, 6, 3, 30, 0).unwrap();
        // 03:30 UTC on 6 Sep is 23:30 on 5 Sep in Santiago (UTC−4 until midnight).
        assert_eq!(today_in(Santiago, paid_at), day("2026-09-05"));
        let entries = vec![
            entry(
                1,
                EntryKind::Charge,
                inv.total,
                santiago("2026-08-01 10:00"),
            ),
            payment(2, money(dec!(500.00), usd()), paid_at),
        ];
        assert_eq!(
            owed_as_of(&inv, &entries, day("2026-09-05"), Santiago).unwrap(),
            None
        );
        let o = owed_as_of(&inv, &entries, day("2026-09-04"), Santiago)
            .unwrap()
            .unwrap();
        assert_eq!(
            (o.bucket, o.amount.amount()),
            (Bucket::Days1To30, dec!(500.00))
        );
        // An hour later, 04:30 UTC, is 6 Sep 00:30… which does not exist: 01:30 (UTC−3).
        let later = Utc.with_ymd_and_hms(2026, 9, 6, 4, 30, 0).unwrap();
        assert_eq!(today_in(Santiago, later), day("2026-09-06"));
    }

    #[test]
    fn a_deposit_asked_for_is_owed_but_is_no_sale() {
        let a = ClientId::generate();
        let mut inv = invoice(&a, clp(), dec!(20000), "2026-11-01", "2026-11-10");
        let entries = vec![entry(
            1,
            EntryKind::Charge,
            inv.total,
            santiago("2026-11-01 09:00"),
        )];
        let as_of = day("2026-11-30");
        assert!(crate::dso::is_sale(&inv, &entries, as_of, Santiago).unwrap());
        inv.purpose = crate::invoice::Purpose::Deposit;
        assert!(!crate::dso::is_sale(&inv, &entries, as_of, Santiago).unwrap());
        assert!(
            owed_as_of(&inv, &entries, as_of, Santiago)
                .unwrap()
                .is_some()
        );
        // Nor is a sale issued after the day.
        inv.purpose = crate::invoice::Purpose::Order;
        assert!(!crate::dso::is_sale(&inv, &entries, day("2026-10-31"), Santiago).unwrap());
    }

    #[test]
    fn an_extension_moves_the_bucket_from_the_day_it_was_recorded() {
        let a = ClientId::generate();
        let inv = invoice(&a, clp(), dec!(10000), "2026-10-01", "2026-10-15");
        let entries = vec![
            entry(
                1,
                EntryKind::Charge,
                inv.total,
                santiago("2026-10-01 09:00"),
            ),
            entry(
                2,
                EntryKind::Extension {
                    from: day("2026-10-15"),
                    to: day("2026-11-30"),
                    reason: "acuerdo".into(),
                    message: None,
                },
                Money::zero(clp()),
                santiago("2026-11-20 09:00"),
            ),
        ];
        // 19 Nov: 35 days past 15 Oct. 20 Nov: due 30 Nov, current.
        let before = owed_as_of(&inv, &entries, day("2026-11-19"), Santiago)
            .unwrap()
            .unwrap();
        assert_eq!(before.bucket, Bucket::Days31To60);
        let after = owed_as_of(&inv, &entries, day("2026-11-20"), Santiago)
            .unwrap()
            .unwrap();
        assert_eq!(
            (after.bucket, after.due_date),
            (Bucket::Current, day("2026-11-30"))
        );
    }

    #[test]
    fn the_aging_keeps_currencies_and_clients_apart() {
        let (a, b) = (ClientId::generate(), ClientId::generate());
        let as_of = day("2026-12-01");
        let at = santiago("2026-09-01 09:00");
        let mut aging = Aging::new(as_of, Santiago, None);
        // a: CLP 100.000 due 20 Nov (11 days: 1–30), CLP 50.000 due 1 Dec (current);
        // b: CLP 40.000 due 1 Sep (91 days: 90+) with 10.000 paid, USD 250.00 due 15 Oct
        // (47 days: 31–60); a void invoice and a paid one owe nothing.
        let cases = [
            (&a, clp(), dec!(100000), "2026-11-20", None, false),
            (&a, clp(), dec!(50000), "2026-12-01", None, false),
            (
                &b,
                clp(),
                dec!(40000),
                "2026-09-01",
                Some(dec!(10000)),
                false,
            ),
            (&b, usd(), dec!(250.00), "2026-10-15", None, false),
            (&b, clp(), dec!(999), "2026-10-01", None, true),
            (
                &a,
                usd(),
                dec!(80.00),
                "2026-10-01",
                Some(dec!(80.00)),
                false,
            ),
        ];
        for (client, c, total, due, paid, void) in cases {
            let inv = invoice(client, c, total, "2026-08-01", due);
            let mut entries = vec![entry(1, EntryKind::Charge, inv.total, at)];
            if let Some(p) = paid {
                entries.push(payment(2, money(p, c), at));
            }
            if void {
                let kind = EntryKind::Void { reason: None };
                entries.push(entry(2, kind, Money::zero(c), at));
            }
            aging.add(&inv, &entries).unwrap();
        }
        let cell = |c: Currency, bucket: Bucket| {
            let cell = aging.currencies[&c].cell(bucket);
            (cell.invoices, cell.amount.amount())
        };
        assert_eq!(cell(clp(), Bucket::Current), (1, dec!(50000)));
        assert_eq!(cell(clp(), Bucket::Days1To30), (1, dec!(100000)));
        assert_eq!(cell(clp(), Bucket::Days31To60), (0, dec!(0)));
        assert_eq!(cell(clp(), Bucket::Over90), (1, dec!(30000)));
        assert_eq!(aging.currencies[&clp()].total.amount.amount(), dec!(180000));
        assert_eq!(cell(usd(), Bucket::Days31To60), (1, dec!(250.00)));
        assert_eq!(aging.currencies[&usd()].total.invoices, 1);
        assert_eq!(
            aging.clients[&a][&clp()].total.amount.amount(),
            dec!(150000)
        );
        assert_eq!(aging.clients[&b][&clp()].total.amount.amount(), dec!(30000));
        assert!(
            !aging.clients[&a].contains_key(&usd()),
            "a's USD invoice is paid"
        );
        // Only USD, when asked.
        let mut only = Aging::new(as_of, Santiago, Some(usd()));
        let inv = invoice(&a, clp(), dec!(1000), "2026-08-01", "2026-11-01");
        only.add(&inv, &[entry(1, EntryKind::Charge, inv.total, at)])
            .unwrap();
        assert!(only.currencies.is_empty());
    }

    pub(crate) mod properties {
        use super::*;
        use proptest::prelude::*;

        /// One invoice: currency, total, days from 1 Jun to its issue and to its due date,
        /// and entries as (kind 0–5, amount, days from 1 Jun).
        pub(crate) type Case = (bool, i64, i64, i64, Vec<(u8, i64, i64)>);

        pub(crate) fn case() -> impl Strategy<Value = Case> {
            (
                any::<bool>(),
                1i64..2_000_000,
                0i64..150,
                0i64..90,
                prop::collection::vec((0u8..6, 1i64..1_500_000, 0i64..240), 0..6),
            )
        }

        /// 1 Jun 2026, the first day of every case.
        pub(crate) fn start() -> NaiveDate {
            day("2026-06-01")
        }

        /// Noon in Santiago `d` days after 1 Jun 2026.
        pub(crate) fn noon(d: i64) -> DateTime<Utc> {
            santiago(&format!("{} 12:00", crate::calendar::add_days(start(), d)))
        }

        /// The ledgers of random cases, for two clients in turn.
        pub(crate) fn ledgers(cases: &[Case]) -> Vec<(Invoice, Vec<LedgerEntry>)> {
            let clients = [ClientId::generate(), ClientId::generate()];
            let mut out = Vec::new();
            for (i, (usd_, total, issue, due_in, raw)) in cases.iter().enumerate() {
                let c = if *usd_ { usd() } else { clp() };
                let total = Decimal::new(*total, c.exponent());
                let issued = crate::calendar::add_days(start(), *issue);
                let due = crate::calendar::add_days(issued, *due_in);
                let inv = invoice(
                    &clients[i % 2],
                    c,
                    total,
                    &issued.to_string(),
                    &due.to_string(),
                );
                let mut entries = vec![entry(1, EntryKind::Charge, inv.total, noon(*issue))];
                for (k, (kind, amount, when)) in raw.iter().enumerate() {
                    let m = Money::rounded(Decimal::new(*amount, c.exponent()), c);
                    let kind = match kind {
                        0 | 1 => EntryKind::Payment {
                            method: PaymentMethod::Transfer,
                            reference: None,
                        },
                        2 => EntryKind::LateFee {
                            period: k as u32 + 1,
                        },
                        3 => EntryKind::Refund,
                        4 => EntryKind::Discount,
                        _ => EntryKind::CreditIn,
                    };
                    entries.push(entry(k as u32 + 2, kind, m, noon(issue + when)));
                }
                out.push((inv, entries));
            }
            out
        }

        proptest! {
            /// For random ledgers and days, each currency's buckets sum exactly to its
            /// total, the total is every invoice's amount due by the ledger as of that day,
            /// principal and late fees make up each amount, and a client's agings add up
            /// to the currency's.
            #[test]
            fn buckets_sum_to_what_is_due(cases in prop::collection::vec(case(), 1..12), as_of in 0i64..260) {
                let as_of = crate::calendar::add_days(start(), as_of);
                let mut aging = Aging::new(as_of, Santiago, None);
                let mut expected: BTreeMap<Currency, Decimal> = BTreeMap::new();
                for (inv, entries) in ledgers(&cases) {
                    let c = inv.currency;
                    aging.add(&inv, &entries).unwrap();
                    if let Some(counted) = entries_as_of(&inv, &entries, as_of, Santiago) {
                        let b = ledger::balance(&inv.total, &counted).unwrap();
                        if listing::is_open(b.status) {
                            *expected.entry(c).or_default() += b.amount_due.amount();
                        }
                    }
                }
                for (c, want) in &expected {
                    let got = aging.currencies.get(c).map_or(Decimal::ZERO, |a| a.total.amount.amount());
                    prop_assert_eq!(got, *want);
                }
                for (c, a) in &aging.currencies {
                    let sum: Decimal = a.buckets.iter().map(|b| b.amount.amount()).sum();
                    prop_assert_eq!(sum, a.total.amount.amount());
                    let n: u64 = a.buckets.iter().map(|b| b.invoices).sum();
                    prop_assert_eq!(n, a.total.invoices);
                    for cell in a.buckets.iter().chain([&a.total]) {
                        prop_assert!(!cell.late_fees.is_negative() && !cell.principal.is_negative());
                        prop_assert_eq!(cell.principal.amount() + cell.late_fees.amount(), cell.amount.amount());
                    }
                    let by_clients: Decimal = aging.clients.values().filter_map(|m| m.get(c)).map(|a| a.total.amount.amount()).sum();
                    prop_assert_eq!(by_clients, a.total.amount.amount());
                }
            }
        }
    }
}
