//! The work queues that are not invoice lists, read from the stage logs newest first
//! (never the whole table): invoices still owed with a promise or a plan broken in the
//! last seven days, and deposits that fell overdue and are still owed; each invoice once.

use chrono::{DateTime, Utc};
use cobro_domain::{Stage, StageRecord, calendar, today_in};
use cobro_store::{PageRequest, StageLog};

use super::Error;
use crate::App;

/// How many a queue shows at most (its count says "more" beyond).
pub const MAX_ITEMS: usize = cobro_store::MAX_PAGE as usize;

/// The days a "this week" queue looks back, today included.
const WEEK_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Promises to pay broken in the last seven days.
    BrokenPromises,
    /// Payment plans broken (an instalment missed) in the last seven days.
    BrokenPlans,
    /// Deposits that fell overdue and are still owed.
    OverdueDeposits,
}

impl Queue {
    pub const ALL: [Queue; 3] = [
        Queue::BrokenPromises,
        Queue::BrokenPlans,
        Queue::OverdueDeposits,
    ];

    /// Its name in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Queue::BrokenPromises => "broken-promises",
            Queue::BrokenPlans => "broken-plans",
            Queue::OverdueDeposits => "overdue-deposits",
        }
    }

    pub fn parse(s: &str) -> Option<Queue> {
        Queue::ALL.into_iter().find(|q| q.name() == s)
    }

    fn log(self) -> StageLog {
        match self {
            Queue::BrokenPromises | Queue::BrokenPlans => StageLog::Promises,
            Queue::OverdueDeposits => StageLog::Deposits,
        }
    }

    fn picks(self, stage: Stage) -> bool {
        matches!(
            (self, stage),
            (Queue::BrokenPromises, Stage::PromiseBroken(_))
                | (Queue::BrokenPlans, Stage::PlanBroken(_))
                | (Queue::OverdueDeposits, Stage::DepositOverdue)
        )
    }
}

/// One invoice in a queue: as the lists show it now, and when it got there.
#[derive(Debug, Clone)]
pub struct Item {
    pub row: super::lists::Row,
    pub since: DateTime<Utc>,
}

/// The queue's invoices, newest first, at most [`MAX_ITEMS`], and whether there are more.
/// A week's queue stops reading at the first record before the week; the deposits' reads
/// every deposit that ever fell overdue (few) and keeps those still owed.
pub async fn items(app: &App, queue: Queue) -> Result<(Vec<Item>, bool), Error> {
    let now = app.now();
    let tz = app.config.business_timezone;
    let first_day = calendar::add_days(today_in(tz, now), 1 - WEEK_DAYS);
    let from = calendar::local_moment(tz, first_day, chrono::NaiveTime::MIN);
    let (found, more) = read(app, queue, from).await?;
    let (listed, since): (Vec<_>, Vec<_>) = found.into_iter().unzip();
    let rows = super::lists::rows(app, listed, today_in(tz, now)).await?;
    let items = rows
        .into_iter()
        .zip(since)
        .map(|(row, since)| Item { row, since })
        .collect();
    Ok((items, more))
}

/// The queue's invoices as listed, with when each got there.
async fn read(
    app: &App,
    queue: Queue,
    from: DateTime<Utc>,
) -> Result<(Vec<(cobro_store::ListedInvoice, DateTime<Utc>)>, bool), Error> {
    let mut found = Vec::new();
    let mut page = PageRequest::first(cobro_store::MAX_PAGE);
    loop {
        let p = app.store.stage_log(queue.log(), &page).await?;
        for r in p.items {
            let at = done_at(&r);
            if queue != Queue::OverdueDeposits && at < from {
                return Ok((found, false));
            }
            if !queue.picks(r.stage) {
                continue;
            }
            let Some(stored) = app.store.invoice(&r.invoice_id).await? else {
                continue;
            };
            let listed = stored.listed()?;
            // Paid or void since: no longer work to do. Listed once (its latest record).
            let seen = found
                .iter()
                .any(|(l, _): &(cobro_store::ListedInvoice, _)| l.invoice.id == listed.invoice.id);
            if !listed.listing.is_owed() || seen {
                continue;
            }
            if found.len() == MAX_ITEMS {
                return Ok((found, true));
            }
            found.push((listed, at));
        }
        match p.next {
            Some(n) => page.after = Some(n),
            None => return Ok((found, false)),
        }
    }
}

fn done_at(r: &StageRecord) -> DateTime<Utc> {
    r.done_at.unwrap_or(r.claimed_at)
}
