//! The reminder sweep: runs the dunning actions that are due.
//!
//! It pages through the agenda (only invoices whose next action is due: its cost follows
//! the actions due, not the invoices stored), works on a bounded number of invoices at
//! once, and for each asks the pure planner what to do:
//!
//! - a message stage (reminder, late-fee notice, escalation) is claimed with a conditional
//!   write before it is sent (with the client's one message of the day, all or nothing),
//!   so overlapping or crashed sweeps never send a stage twice; a failed send keeps the
//!   claim, which the planner retries after its lease, on a later sweep;
//! - a late fee is a ledger entry keyed by its period, written with its log record: once;
//! - afterwards the invoice's place on the agenda is recomputed, under a check that its
//!   ledger did not change meanwhile.
//!
//! It stops starting work when the deadline is near and leaves the rest for the next run.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use cobro_domain::arrangement::arrangements;
use cobro_domain::calendar::{add_days, days_between, later, local_moment, next_business_moment};
use cobro_domain::dunning;
use cobro_domain::ledger::{EntryKind, LedgerEntry};
use cobro_domain::stage::{CLAIM_LEASE_MINUTES, Next};
use cobro_domain::{
    Client, ClientId, InvoiceId, Money, Outcome, Stage, StageRecord, StageStatus, today_in,
};
use cobro_notify::{
    About, Agreed, Arrangement, BrokenArrangement, Escalation, NoticeLine, OverdueDeposit, Tone,
    Undeliverable,
};
pub use cobro_store::Lane;
use cobro_store::{LedgerWrite, PageRequest, StoreError, StoredInvoice};
use futures::StreamExt;
use tracing::instrument;

use super::ledgers::{agenda_of, plan_instalments};
use super::mail::{Letter, Undelivered, mail_business, mail_client, stage_key};
use crate::App;

/// Stop starting new work this long before the deadline.
pub const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);
/// Actions one invoice may get in one sweep (a fee, then a message, …).
const MAX_ACTIONS_PER_INVOICE: usize = 4;

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Agenda entries looked at.
    pub due: usize,
    /// Invoices read (each with its ledger and stages): with `due`, all the sweep read.
    pub invoices_read: usize,
    pub reminders: usize,
    pub notices: usize,
    pub late_fees: usize,
    pub escalations: usize,
    /// Reminders of promises (the day before) and of plan instalments.
    pub arrangement_reminders: usize,
    /// Promises recorded as kept.
    pub promises_kept: usize,
    /// Broken promises and plans told to the business.
    pub broken: usize,
    /// Weekly summaries sent (to each address, once a week; see [`super::summary`]).
    pub summaries: usize,
    /// The weekly summary could not be sent (a later sweep tries again).
    pub summary_failed: bool,
    /// Deposits recorded as paid: their clients are active.
    pub deposits_cleared: usize,
    /// Reminders of deposits past their due date.
    pub deposit_reminders: usize,
    /// Deposits overdue, told to the business.
    pub deposits_overdue: usize,
    /// Payments from the unmatched queue applied to the deposit they named.
    pub deposits_matched: usize,
    /// Moved to the client's next business day (already messaged today).
    pub deferred: usize,
    /// Messages that failed; retried on a later sweep.
    pub failed: usize,
    /// Messages that failed for a reason retrying will not fix (recorded on the invoice,
    /// told to the business): the invoice is held for a person.
    pub held: usize,
    /// Taken by another sweep.
    pub skipped: usize,
    /// The deadline came first; the rest waits for the next sweep.
    pub stopped_early: bool,
}

impl SweepReport {
    fn actions(&self) -> usize {
        [
            self.reminders,
            self.notices,
            self.late_fees,
            self.escalations,
            self.arrangement_reminders,
            self.promises_kept,
            self.broken,
            self.deposits_cleared,
            self.deposit_reminders,
            self.deposits_overdue,
            self.deposits_matched,
        ]
        .into_iter()
        .fold(0, usize::saturating_add)
    }

    fn add(&mut self, o: &SweepReport) {
        tally(&mut self.invoices_read, o.invoices_read);
        tally(&mut self.reminders, o.reminders);
        tally(&mut self.notices, o.notices);
        tally(&mut self.late_fees, o.late_fees);
        tally(&mut self.escalations, o.escalations);
        tally(&mut self.arrangement_reminders, o.arrangement_reminders);
        tally(&mut self.promises_kept, o.promises_kept);
        tally(&mut self.broken, o.broken);
        tally(&mut self.deposits_cleared, o.deposits_cleared);
        tally(&mut self.deposit_reminders, o.deposit_reminders);
        tally(&mut self.deposits_overdue, o.deposits_overdue);
        tally(&mut self.deposits_matched, o.deposits_matched);
        tally(&mut self.deferred, o.deferred);
        tally(&mut self.failed, o.failed);
        tally(&mut self.held, o.held);
        tally(&mut self.skipped, o.skipped);
    }
}

/// Adds `by` to a report's counter.
fn tally(counter: &mut usize, by: usize) {
    *counter = counter.saturating_add(by);
}

/// Runs every action due at `now` on the dunning agenda (the reminder sweep).
/// `deadline`: when the caller must be done (a Lambda's).
pub async fn sweep(
    app: &App,
    now: DateTime<Utc>,
    deadline: Option<Instant>,
) -> Result<SweepReport, StoreError> {
    run_lane(app, Lane::Dunning, now, deadline).await
}

/// Runs every action due at `now` on the deposits' agenda (the deposit check).
pub async fn deposit_check(
    app: &App,
    now: DateTime<Utc>,
    deadline: Option<Instant>,
) -> Result<SweepReport, StoreError> {
    run_lane(app, Lane::Deposits, now, deadline).await
}

#[instrument(skip_all, fields(lane = lane.name(), now = %now))]
async fn run_lane(
    app: &App,
    lane: Lane,
    now: DateTime<Utc>,
    deadline: Option<Instant>,
) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    let mut page = PageRequest::first(cobro_store::MAX_PAGE);
    loop {
        let due = app.store.due_agenda(lane, now, &page).await?;
        // One client's invoices one after the other, in agenda order (the one due first
        // gets the client's message of the day, as the dry run foresees); clients at once.
        let mut by_client: Vec<(ClientId, Vec<InvoiceId>)> = Vec::new();
        for item in due.items {
            match by_client.iter_mut().find(|(c, _)| *c == item.client_id) {
                Some((_, ids)) => ids.push(item.invoice_id),
                None => by_client.push((item.client_id, vec![item.invoice_id])),
            }
        }
        let mut results = futures::stream::iter(by_client.into_iter().map(|(_, ids)| async move {
            let mut done = Vec::with_capacity(ids.len());
            for id in ids {
                if deadline
                    .is_some_and(|d| d.saturating_duration_since(Instant::now()) <= DEADLINE_MARGIN)
                {
                    done.push(None);
                    break;
                }
                done.push(Some(work_on(app, &id, now).await));
            }
            futures::stream::iter(done)
        }))
        .buffer_unordered(app.config.sweep_concurrency)
        .flatten();
        while let Some(r) = results.next().await {
            match r {
                None => report.stopped_early = true,
                Some(Ok(o)) => {
                    tally(&mut report.due, 1);
                    report.add(&o);
                }
                Some(Err(e)) => {
                    tally(&mut report.due, 1);
                    tally(&mut report.failed, 1);
                    tracing::error!(error = %e, "dunning failed on an invoice; it stays on the agenda");
                }
            }
        }
        match due.next {
            Some(next) if !report.stopped_early => page.after = Some(next),
            _ => break,
        }
    }
    if lane == Lane::Dunning && app.config.weekly_summary && !report.stopped_early {
        match super::summary::weekly_summary(app, now).await {
            Ok(super::summary::SummaryOutcome::Sent(n)) => tally(&mut report.summaries, n),
            Ok(super::summary::SummaryOutcome::NotDue) => {}
            Err(e) => {
                report.summary_failed = true;
                tracing::error!(error = %e, "the weekly summary was not sent; a later sweep tries again");
            }
        }
    }
    tracing::info!(?report, lane = lane.name(), "sweep finished");
    Ok(report)
}

/// The scheduled entry point: sweeps at the app's clock, stopping before `deadline_ms`
/// (epoch milliseconds, the Lambda invocation's deadline).
/// A store failure fails the invocation (EventBridge retries it; claims make that safe).
pub async fn scheduled(
    app: &App,
    lane: Lane,
    deadline_ms: u64,
) -> Result<SweepReport, Box<dyn std::error::Error + Send + Sync>> {
    let now = app.now();
    let left =
        deadline_ms.saturating_sub(u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0));
    let start = Instant::now();
    let deadline = start
        .checked_add(std::time::Duration::from_millis(left))
        .unwrap_or(start);
    Ok(run_lane(app, lane, now, Some(deadline)).await?)
}

/// One thing a sweep would do, as `--dry-run` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Planned {
    pub invoice_id: InvoiceId,
    pub invoice_number: String,
    pub client_id: cobro_domain::ClientId,
    pub stage: Stage,
    /// The stage in the business's words ("recordatorio, 20 días de atraso").
    pub what: String,
    /// Who would get a message: the client's address, the business's, or nobody (a fee
    /// charged, a promise recorded as kept).
    pub to: Option<String>,
}

/// What a sweep of `lane` at `now` would do, without doing any of it: the due invoices are
/// read and planned as the sweep plans them (several steps each, one client message a
/// day), on copies; nothing is written or sent. Deposits matched to early payments are not
/// foreseen.
pub async fn preview(
    app: &App,
    lane: Lane,
    now: DateTime<Utc>,
) -> Result<Vec<Planned>, StoreError> {
    let mut out = Vec::new();
    let mut busy = std::collections::HashSet::new();
    let mut page = PageRequest::first(cobro_store::MAX_PAGE);
    let l = app.config.business_locale;
    loop {
        let due = app.store.due_agenda(lane, now, &page).await?;
        for item in due.items {
            let Some(mut stored) = app.store.invoice(&item.invoice_id).await? else {
                continue;
            };
            let client = app.store.client(&stored.invoice.client_id).await?;
            for _ in 0..MAX_ACTIONS_PER_INVOICE {
                let inv = &stored.invoice;
                let next = dunning::plan(inv, &stored.entries, &stored.stages, now)
                    .map_err(StoreError::backend)?;
                let Some(next) = next.filter(|n| n.is_due(now)) else {
                    break;
                };
                if next.stage.messages_client()
                    && !busy.insert((inv.client_id.clone(), today_in(inv.timezone, now)))
                {
                    break; // the client's one message of the day is taken
                }
                let record = done_record(&stored, &next, now);
                let to = if next.stage.messages_client() {
                    client.as_ref().map(|c| c.email.clone())
                } else if next.stage.is_message() {
                    Some(app.config.business_email.clone())
                } else {
                    None
                };
                out.push(Planned {
                    invoice_id: inv.id.clone(),
                    invoice_number: inv.number.clone(),
                    client_id: inv.client_id.clone(),
                    stage: next.stage,
                    what: cobro_notify::words::stage(&record, l),
                    to,
                });
                if let (Stage::LateFee(period), Some(amount)) = (next.stage, next.amount) {
                    let entry = cobro_domain::ledger::next_entry(
                        &stored.entries,
                        cobro_domain::ledger::NewEntry {
                            kind: EntryKind::LateFee { period },
                            amount,
                            key: next.stage.ledger_key().unwrap_or_default(),
                        },
                        now,
                    );
                    stored.entries.push(entry);
                }
                stored.stages.retain(|s| s.stage != next.stage);
                stored.stages.push(record);
            }
        }
        match due.next {
            Some(n) => page.after = Some(n),
            None => return Ok(out),
        }
    }
}

/// Does what is due for one invoice, then puts it back on the agenda.
#[instrument(skip_all, fields(invoice_id = %id))]
async fn work_on(app: &App, id: &InvoiceId, now: DateTime<Utc>) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    let mut client: Option<Client> = None;
    for _ in 0..MAX_ACTIONS_PER_INVOICE * 4 {
        tally(&mut report.invoices_read, 1);
        let Some(stored) = app.store.invoice(id).await? else {
            return Ok(report);
        };
        let next = dunning::plan(&stored.invoice, &stored.entries, &stored.stages, now)
            .map_err(StoreError::backend)?;
        let Some(next) = next.clone().filter(|n| n.is_due(now)) else {
            let at = next.map(|n| n.at);
            if stored.next_action_at == at {
                return Ok(report);
            }
            match app.store.set_agenda(id, at, stored.ledger_len()).await {
                Err(StoreError::SequenceTaken) => continue,
                other => return other.map(|()| report),
            }
        };
        if report.actions() >= MAX_ACTIONS_PER_INVOICE {
            return Ok(report);
        }
        // Before each step on an unpaid deposit: a payment that named it before it existed.
        if matches!(
            next.stage,
            Stage::DepositOpened | Stage::DepositReminder | Stage::DepositOverdue
        ) {
            let matched = super::deposits::rematch(app, &stored).await?;
            if matched > 0 {
                tally(&mut report.deposits_matched, matched);
                continue;
            }
        }
        if next.stage.is_record() {
            // A record only (the promise figures, a deposit seen or cleared): claimed as
            // done, once.
            match app
                .store
                .claim_stage(&done_record(&stored, &next, now), None)
                .await
            {
                Ok(()) => match next.stage {
                    Stage::PromiseKept(_) => tally(&mut report.promises_kept, 1),
                    Stage::DepositCleared => {
                        tracing::info!(client_id = %stored.invoice.client_id, "deposit cleared: client active");
                        tally(&mut report.deposits_cleared, 1)
                    }
                    _ => {}
                },
                Err(StoreError::StageTaken) => tally(&mut report.skipped, 1),
                Err(e) => return Err(e),
            }
            continue;
        }
        if let Stage::LateFee(period) = next.stage {
            match charge_late_fee(app, &stored, &next, period, now).await {
                Ok(agenda) => {
                    tally(&mut report.late_fees, 1);
                    if agenda.is_none_or(|a| a > now) {
                        return Ok(report); // nothing else due: no need to read it again
                    }
                }
                Err(StoreError::SequenceTaken) => {}
                Err(e) => return Err(e),
            }
            continue;
        }
        let client = match &client {
            Some(c) => c.clone(),
            None => {
                let c = app
                    .store
                    .client(&stored.invoice.client_id)
                    .await?
                    .ok_or_else(|| StoreError::Backend("the invoice's client is missing".into()))?;
                client = Some(c.clone());
                c
            }
        };
        match send_stage(app, &stored, &client, &next, now).await? {
            Sent::Done(agenda) => {
                match next.stage {
                    Stage::Reminder(..) => tally(&mut report.reminders, 1),
                    Stage::FeeNotice(_) => tally(&mut report.notices, 1),
                    Stage::PromiseReminder(_) | Stage::Instalment(..) => {
                        tally(&mut report.arrangement_reminders, 1)
                    }
                    Stage::PromiseBroken(_) | Stage::PlanBroken(_) => tally(&mut report.broken, 1),
                    Stage::DepositReminder => tally(&mut report.deposit_reminders, 1),
                    Stage::DepositOverdue => tally(&mut report.deposits_overdue, 1),
                    _ => tally(&mut report.escalations, 1),
                }
                if agenda.is_none_or(|a| a > now) {
                    return Ok(report); // nothing else due: no need to read it again
                }
            }
            Sent::Failed => {
                tally(&mut report.failed, 1);
                return Ok(report);
            }
            Sent::Held => {
                tally(&mut report.held, 1);
                return Ok(report);
            }
            Sent::Taken => {
                tally(&mut report.skipped, 1);
                return Ok(report);
            }
            Sent::ClientBusy => {
                tally(&mut report.deferred, 1);
                let hours = &stored.invoice.terms.business_hours;
                let tz = stored.invoice.timezone;
                let tomorrow = add_days(today_in(tz, now), 1);
                let at = next_business_moment(hours, tz, local_moment(tz, tomorrow, hours.start));
                match app
                    .store
                    .set_agenda(id, Some(at), stored.ledger_len())
                    .await
                {
                    Ok(()) | Err(StoreError::SequenceTaken) => return Ok(report),
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(report)
}

/// Charges a period's late fee: a ledger entry (once, by its key) and its log record, with
/// the invoice's new place on the agenda, in one write.
async fn charge_late_fee(
    app: &App,
    stored: &StoredInvoice,
    next: &Next,
    period: u32,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let amount = next
        .amount
        .ok_or_else(|| StoreError::Backend("a late fee without an amount".into()))?;
    let entry = LedgerEntry {
        seq: stored.next_seq(),
        kind: EntryKind::LateFee { period },
        amount,
        at: now,
        key: next.stage.ledger_key(),
        by: Some(cobro_domain::Actor::Cobro),
    };
    let record = done_record(stored, next, now);
    let mut after = stored.clone();
    after.entries.push(entry.clone());
    after.stages.push(record.clone());
    let agenda = agenda_of(&after, now).map_err(StoreError::backend)?;
    after.next_action_at = agenda;
    app.store
        .append_entries(
            &LedgerWrite::new(stored.invoice.id.clone(), vec![entry])
                .leaving(&after)?
                .with_stage(record),
        )
        .await?;
    tracing::info!(period, amount = %amount, "late fee charged");
    Ok(agenda)
}

/// The record of a stage done at once, without a message (a late fee, a kept promise).
fn done_record(stored: &StoredInvoice, next: &Next, now: DateTime<Utc>) -> StageRecord {
    StageRecord {
        invoice_id: stored.invoice.id.clone(),
        client_id: stored.invoice.client_id.clone(),
        stage: next.stage,
        status: StageStatus::Done,
        attempts: 1,
        claimed_at: now,
        lease_until: now,
        done_at: Some(now),
        message_id: None,
        amount: next.amount,
        charge_on: next.charge_on,
        error: None,
    }
}

enum Sent {
    /// Sent and recorded; the invoice's next action time.
    Done(Option<DateTime<Utc>>),
    /// Failed; retried after the lease.
    Failed,
    /// Failed for good: recorded on the invoice, which is held for a person.
    Held,
    Taken,
    ClientBusy,
}

/// Claims a message stage, sends it, and records the outcome.
async fn send_stage(
    app: &App,
    stored: &StoredInvoice,
    client: &Client,
    next: &Next,
    now: DateTime<Utc>,
) -> Result<Sent, StoreError> {
    let previous = stored.stages.iter().find(|s| s.stage == next.stage);
    let mut record = StageRecord {
        invoice_id: stored.invoice.id.clone(),
        client_id: stored.invoice.client_id.clone(),
        stage: next.stage,
        status: StageStatus::Claimed,
        attempts: previous.map_or(1, |p| p.attempts.saturating_add(1)),
        claimed_at: now,
        lease_until: later(now, Duration::minutes(CLAIM_LEASE_MINUTES)),
        done_at: None,
        message_id: None,
        // A retried notice keeps what it announced.
        amount: previous.and_then(|p| p.amount).or(next.amount),
        charge_on: previous.and_then(|p| p.charge_on).or(next.charge_on),
        error: None,
    };
    let client_day = next
        .stage
        .messages_client()
        .then(|| today_in(stored.invoice.timezone, now));
    match app.store.claim_stage(&record, client_day).await {
        Ok(()) => {}
        Err(StoreError::StageTaken) => return Ok(Sent::Taken),
        Err(StoreError::ClientBusy) => return Ok(Sent::ClientBusy),
        Err(e) => return Err(e),
    }
    let result = match next.stage {
        Stage::Escalation => send_escalation(app, stored, client, now).await,
        Stage::PromiseBroken(_) | Stage::PlanBroken(_) => {
            send_broken(app, stored, client, next.stage, now).await
        }
        Stage::DepositOverdue => send_deposit_overdue(app, stored, client).await,
        _ => send_reminder(app, stored, client, &record, now).await,
    };
    let mut after = stored.clone();
    let outcome = match result {
        Ok(message_id) => {
            record.status = StageStatus::Done;
            record.done_at = Some(now);
            record.message_id = Some(message_id);
            Sent::Done(None)
        }
        Err(e) if e.permanent => {
            tracing::error!(invoice_id = %stored.invoice.id, stage = %record.stage, error = %e,
                "dunning message cannot be sent; the invoice is held for a person");
            record.status = StageStatus::Failed;
            record.error = Some(e.why.chars().take(500).collect());
            Sent::Held
        }
        Err(e) => {
            tracing::error!(invoice_id = %stored.invoice.id, stage = %record.stage, error = %e,
                "dunning message failed; retried after the lease");
            record.error = Some(e.why.chars().take(500).collect());
            Sent::Failed
        }
    };
    after.stages.retain(|s| s.stage != record.stage);
    after.stages.push(record.clone());
    let agenda = agenda_of(&after, now).map_err(StoreError::backend)?;
    match app.store.finish_stage(&record, agenda).await {
        Ok(()) => {
            tracing::info!(stage = %record.stage, attempts = record.attempts, "dunning stage recorded");
            if let Sent::Held = outcome {
                tell_held(app, stored, client, &record).await;
            }
            Ok(match outcome {
                Sent::Done(_) => Sent::Done(agenda),
                other => other,
            })
        }
        // Our lease ran out and another sweep took over: it records the stage.
        Err(StoreError::StageTaken) => Ok(Sent::Taken),
        Err(e) => Err(e),
    }
}

/// Tells the business, once (only the sweep that recorded the failure gets here), that a
/// message about the invoice could not be sent and the chase is held. Best effort: if the
/// business's own address fails too, the log and the invoice's dunning view keep it.
async fn tell_held(app: &App, stored: &StoredInvoice, client: &Client, record: &StageRecord) {
    let about = About::Undeliverable(Undeliverable {
        what: cobro_notify::words::stage(record, app.config.business_locale),
        why: record.error.clone().unwrap_or_default(),
    });
    let key = format!("{}.held", stage_key(&stored.invoice, record.stage));
    if let Err(e) = mail_business(app, stored, client, about, &key).await {
        tracing::error!(invoice_id = %stored.invoice.id, error = %e,
            "the business could not be told that the invoice is held");
    }
}

async fn send_reminder(
    app: &App,
    stored: &StoredInvoice,
    client: &Client,
    record: &StageRecord,
    now: DateTime<Utc>,
) -> Result<String, Undelivered> {
    let inv = &stored.invoice;
    let arr = arrangements(inv, &stored.entries, now)?;
    let escalation_day = add_days(
        arr.chase_due_date(),
        i64::from(inv.terms.escalate_after_days),
    );
    let mut arrangement = None;
    let tone = match record.stage {
        Stage::FeeNotice(_) => Tone::FeeNotice,
        Stage::Reminder(o, _) if o < 0 => Tone::Upcoming,
        Stage::Reminder(0, _) => Tone::DueToday,
        Stage::Reminder(o, _) if o > 0 && o == inv.terms.final_notice_offset() => Tone::Final,
        Stage::DepositReminder => Tone::DepositDue,
        Stage::PromiseReminder(n) => {
            let p = arr
                .promises
                .iter()
                .find(|p| p.promise == n)
                .ok_or("the promise is not in the ledger")?;
            arrangement = Some(Arrangement::Promise {
                amount: &p.amount,
                date: p.date,
            });
            Tone::PromiseDue
        }
        Stage::Instalment(plan, number, _) => {
            let instalments =
                plan_instalments(stored, plan).ok_or("the plan is not in the ledger")?;
            arrangement = Some(Arrangement::Plan {
                instalments,
                current: Some(number),
            });
            Tone::InstalmentDue
        }
        _ => Tone::Overdue,
    };
    let fee = match (record.amount.as_ref(), record.charge_on) {
        (Some(m), Some(d)) if tone == Tone::FeeNotice => Some((m, d)),
        _ => None,
    };
    let letter = Letter {
        tone,
        arrangement,
        fee,
        escalation_date: (tone == Tone::Final).then_some(
            record
                .charge_on
                .unwrap_or(escalation_day)
                .max(escalation_day),
        ),
        due_date: arr.due_date,
    };
    mail_client(
        app,
        stored,
        client,
        letter,
        &stage_key(&stored.invoice, record.stage),
        now,
    )
    .await
}

/// Tells the business a deposit is overdue (the client is now `deposit_overdue`).
async fn send_deposit_overdue(
    app: &App,
    stored: &StoredInvoice,
    client: &Client,
) -> Result<String, Undelivered> {
    let l = app.config.business_locale;
    let about = About::DepositOverdue(OverdueDeposit {
        due_date: l.long_date(stored.invoice.due_date),
    });
    mail_business(
        app,
        stored,
        client,
        about,
        &stage_key(&stored.invoice, Stage::DepositOverdue),
    )
    .await
}

/// Tells the business a promise or a plan was broken (the chase resumes by itself).
async fn send_broken(
    app: &App,
    stored: &StoredInvoice,
    client: &Client,
    stage: Stage,
    now: DateTime<Utc>,
) -> Result<String, Undelivered> {
    let inv = &stored.invoice;
    let l = app.config.business_locale;
    let arr = arrangements(inv, &stored.entries, now)?;
    let (agreed, paid) = match stage {
        Stage::PromiseBroken(n) => {
            let p = arr
                .promises
                .iter()
                .find(|p| p.promise == n)
                .ok_or("the promise is not in the ledger")?;
            let agreed = Agreed::Promise {
                amount: p.amount.format(l),
                date: l.long_date(p.date),
            };
            (agreed, p.paid.format(l))
        }
        Stage::PlanBroken(n) => {
            let p = arr
                .plans
                .iter()
                .find(|p| p.plan == n)
                .ok_or("the plan is not in the ledger")?;
            let missed = p
                .instalments
                .iter()
                .find(|i| i.outcome == Outcome::Broken)
                .ok_or("the plan has no missed instalment")?;
            let agreed = Agreed::Plan {
                count: p.instalments.len(),
                number: missed.number,
                amount: missed.amount.format(l),
                date: l.long_date(missed.due_date),
            };
            let paid = p
                .instalments
                .iter()
                .try_fold(Money::zero(inv.currency), |a, i| a.checked_add(&i.paid))?;
            (agreed, paid.format(l))
        }
        other => {
            return Err(Undelivered::permanent(format!(
                "{other} is not a broken arrangement"
            )));
        }
    };
    let about = About::Broken(BrokenArrangement {
        concept: inv.concept().to_string(),
        agreed,
        paid,
    });
    mail_business(
        app,
        stored,
        client,
        about,
        &stage_key(&stored.invoice, stage),
    )
    .await
}

/// Tells the business the invoice was escalated, with every notice the client was sent.
async fn send_escalation(
    app: &App,
    stored: &StoredInvoice,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<String, Undelivered> {
    let inv = &stored.invoice;
    let l = app.config.business_locale;
    let today = today_in(inv.timezone, now);
    let mut done: Vec<&StageRecord> = stored.stages.iter().filter(|s| s.is_done()).collect();
    done.sort_by_key(|s| s.done_at);
    let about = About::Escalated(Escalation {
        tax_id: client.tax_id.clone().unwrap_or_else(|| "—".into()),
        concept: inv.concept().to_string(),
        due_date: l.long_date(inv.due_date),
        days_overdue: days_between(inv.due_date, today),
        notices: done
            .iter()
            .map(|s| NoticeLine {
                date: s
                    .done_at
                    .map(|d| today_in(inv.timezone, d).to_string())
                    .unwrap_or_default(),
                what: cobro_notify::words::stage(s, l),
            })
            .collect(),
    });
    mail_business(
        app,
        stored,
        client,
        about,
        &stage_key(&stored.invoice, Stage::Escalation),
    )
    .await
}
