//! What the invoice lists show of an invoice, and how they find it: its status, what is
//! owed, the due date in force and a pause, derived from the ledger and kept beside the
//! invoice in the same write as the entries that change them; and the overdue buckets of
//! an aging report (current, 1–30, 31–60, 61–90, 90+ days past due).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{add_days, days_between};
use crate::invoice::Invoice;
use crate::ledger::{self, EntryKind, InvoiceStatus, LedgerEntry};
use crate::money::{Money, MoneyError};

/// An invoice's facts as lists filter and sort by them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// The ledger's status (an escalation is kept beside it, by the stage that does it:
    /// see [`Listing::shown_status`]).
    pub status: InvoiceStatus,
    pub amount_due: Money,
    /// The due date in force: the invoice's, moved by extensions.
    pub due_date: NaiveDate,
    /// The day the last pause on record ends (no resume after it); in force while that day
    /// is after today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_until: Option<NaiveDate>,
    /// While it is not open: when its ledger last changed (it settled then or before).
    /// Reports read the invoices settled since a day, and the open ones, to find every
    /// invoice owed at some time since that day. Absent on listings kept before it was:
    /// read as open, so such an invoice is read, never missed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime<Utc>>,
}

impl Listing {
    /// The listing of `inv` with these ledger entries.
    pub fn of(inv: &Invoice, entries: &[LedgerEntry]) -> Result<Listing, MoneyError> {
        let b = ledger::balance(&inv.total, entries)?;
        // Not before the day after its issue date (an invoice issued ahead and settled
        // before that day is still read for the period it is issued in).
        let issued = crate::calendar::add_days(inv.issue_date, 1)
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc());
        let settled_at = if is_open(b.status) {
            None
        } else {
            entries.iter().map(|e| e.at).chain(issued).max()
        };
        Ok(Listing {
            status: b.status,
            amount_due: b.amount_due,
            due_date: due_date(inv, entries),
            paused_until: crate::pause::pause_on_record(entries),
            settled_at,
        })
    }

    /// The status shown: `escalated` once handed over and still chased (as
    /// [`crate::dunning::status`] says from the stages).
    pub fn shown_status(&self, escalated: bool) -> InvoiceStatus {
        shown(self.status, escalated)
    }

    /// Whether money is still owed on it: lists of what to collect read these.
    pub fn is_open(&self) -> bool {
        is_open(self.status)
    }

    /// Its place in the receivables index: `{settled at, µs, UTC}#{id}`, or `~#{id}` while
    /// open (after every time). Every invoice owed at some time since `t` is at or after
    /// [`settled_key_from`]`(t)`.
    pub fn settled_key(&self, id: &crate::ids::InvoiceId) -> String {
        match self.settled_at {
            Some(at) => format!("{}#{id}", settled_stamp(at)),
            None => format!("~#{id}"),
        }
    }

    /// Still open with money owed on it (what an overdue bucket counts).
    pub fn is_owed(&self) -> bool {
        self.is_open() && self.amount_due.is_positive()
    }

    /// Days past the due date on `today` while money is owed.
    pub fn days_overdue(&self, today: NaiveDate) -> Option<i64> {
        crate::arrangement::days_overdue(&self.amount_due, self.due_date, today)
    }

    /// The pause in force on `today`.
    pub fn paused_on(&self, today: NaiveDate) -> Option<NaiveDate> {
        self.paused_until.filter(|u| *u > today)
    }
}

/// The status shown for a ledger status: `escalated` once handed over (`escalated`) and
/// still chased.
pub fn shown(status: InvoiceStatus, escalated: bool) -> InvoiceStatus {
    if escalated && chased(status) {
        InvoiceStatus::Escalated
    } else {
        status
    }
}

/// The statuses still chased (the sweep's): `escalated` is one of them once handed over.
pub fn chased(status: InvoiceStatus) -> bool {
    matches!(status, InvoiceStatus::Open | InvoiceStatus::PartiallyPaid)
}

/// Statuses of invoices on which money is owed or held: open, partially paid, escalated
/// and disputed. The others (paid, overpaid, refunded, void, draft) are closed.
pub fn is_open(status: InvoiceStatus) -> bool {
    matches!(
        status,
        InvoiceStatus::Open
            | InvoiceStatus::PartiallyPaid
            | InvoiceStatus::Escalated
            | InvoiceStatus::Disputed
    )
}

/// A time as the receivables index sorts it (fixed width, so text order is time order).
fn settled_stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The first key of the receivables index that can be owed at some time since `t`.
pub fn settled_key_from(t: DateTime<Utc>) -> String {
    settled_stamp(t)
}

/// The due date in force: the invoice's, or the last extension's.
pub fn due_date(inv: &Invoice, entries: &[LedgerEntry]) -> NaiveDate {
    entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Extension { to, .. } => Some((e.seq, *to)),
            _ => None,
        })
        .max_by_key(|(seq, _)| *seq)
        .map_or(inv.due_date, |(_, to)| to)
}

/// How long past due an owed invoice is, in the buckets of an aging report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Bucket {
    /// Not yet due (or due today).
    #[serde(rename = "current")]
    Current,
    #[serde(rename = "1-30")]
    Days1To30,
    #[serde(rename = "31-60")]
    Days31To60,
    #[serde(rename = "61-90")]
    Days61To90,
    #[serde(rename = "90+")]
    Over90,
}

impl Bucket {
    pub const ALL: [Bucket; 5] = [
        Bucket::Current,
        Bucket::Days1To30,
        Bucket::Days31To60,
        Bucket::Days61To90,
        Bucket::Over90,
    ];

    /// Its name in filters and reports: `current`, `1-30`, `31-60`, `61-90`, `90+`.
    pub fn name(&self) -> &'static str {
        match self {
            Bucket::Current => "current",
            Bucket::Days1To30 => "1-30",
            Bucket::Days31To60 => "31-60",
            Bucket::Days61To90 => "61-90",
            Bucket::Over90 => "90+",
        }
    }

    pub fn parse(s: &str) -> Option<Bucket> {
        Bucket::ALL.into_iter().find(|b| b.name() == s)
    }

    /// The bucket of an invoice due on `due`, on `today`.
    pub fn of(due: NaiveDate, today: NaiveDate) -> Bucket {
        match days_between(due, today) {
            ..=0 => Bucket::Current,
            1..=30 => Bucket::Days1To30,
            31..=60 => Bucket::Days31To60,
            61..=90 => Bucket::Days61To90,
            _ => Bucket::Over90,
        }
    }

    /// The due dates in this bucket on `today`, from and to (both included; `None`: open).
    pub fn due_between(&self, today: NaiveDate) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let ago = |days: i64| Some(add_days(today, days.saturating_neg()));
        match self {
            Bucket::Current => (ago(0), None),
            Bucket::Days1To30 => (ago(30), ago(1)),
            Bucket::Days31To60 => (ago(60), ago(31)),
            Bucket::Days61To90 => (ago(90), ago(61)),
            Bucket::Over90 => (None, ago(91)),
        }
    }
}

/// The text an invoice is found by in a list's search: its number, payment reference (as
/// stored and as people write it) and line descriptions, folded by [`fold`].
pub fn search_text(inv: &Invoice) -> String {
    let mut s = format!(
        "{} {} {}",
        inv.number,
        inv.payment_reference.as_str(),
        inv.payment_reference.grouped()
    );
    for l in &inv.lines {
        s.push(' ');
        s.push_str(&l.description);
    }
    fold(&s)
}

/// Lower case without accents ("Ferretería" and "ferreteria" are found by each other), the
/// way searches compare text.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn buckets_meet_without_gaps_or_overlap() {
        let today = d("2026-12-02");
        for days in -5..200 {
            let due = add_days(today, -days);
            let b = Bucket::of(due, today);
            let (from, to) = b.due_between(today);
            assert!(from.is_none_or(|f| f <= due), "{days}: {b:?} from {from:?}");
            assert!(to.is_none_or(|t| due <= t), "{days}: {b:?} to {to:?}");
            for other in Bucket::ALL.into_iter().filter(|o| *o != b) {
                let (f, t) = other.due_between(today);
                assert!(
                    f.is_some_and(|f| due < f) || t.is_some_and(|t| due > t),
                    "{days} days is in {b:?} and {other:?}"
                );
            }
        }
        assert_eq!(Bucket::of(d("2026-11-02"), today), Bucket::Days1To30);
        assert_eq!(Bucket::of(d("2026-11-01"), today), Bucket::Days31To60);
        assert_eq!(Bucket::of(d("2026-09-02"), today), Bucket::Over90);
        assert_eq!(Bucket::of(d("2026-09-03"), today), Bucket::Days61To90);
    }

    #[test]
    fn bucket_names_read_back() {
        for b in Bucket::ALL {
            assert_eq!(Bucket::parse(b.name()), Some(b));
        }
        assert_eq!(Bucket::parse("31–60"), None);
    }

    #[test]
    fn folding_drops_case_and_accents() {
        assert_eq!(fold("Ferretería ÑANDÚ"), "ferreteria nandu");
    }
}
