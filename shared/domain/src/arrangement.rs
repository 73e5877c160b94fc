//! Promises to pay, payment plans and due-date extensions: agreements about an invoice,
//! written into its ledger (they move no money, so its balance never changes by them) and
//! judged by the ledger that follows them.
//!
//! - A **promise** pays `amount` by `date`. Money received after it was made and before
//!   the end of its date plus the grace days counts toward it (toward the earliest open
//!   promise first). Covered in time: kept. Not covered when that moment passes: broken.
//! - A **plan** splits the amount due into monthly instalments. Money received after it was
//!   made pays the oldest unpaid instalment first. An instalment still unpaid at the end of
//!   its due date plus grace breaks the plan; all paid: the plan is complete (kept).
//! - An **extension** moves the due date, with a reason, and restarts the reminders for
//!   the new date.
//!
//! While a promise or a plan is open the regular chase waits; once it ends, the chase goes
//! on where it stood, its later dates (late fees, escalation) moved by the days it waited.
//! Everything here is derived from the ledger and `now`: the same entries in any order of
//! arrival give the same judgement.

use chrono::{DateTime, Duration, Months, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

use crate::calendar::{add_days, local_moment};
use crate::invoice::{Invoice, MAX_PLAN_INSTALMENTS, MAX_TERM_DAYS};
use crate::ledger::{self, EntryKind, Instalment, InvoiceStatus, LedgerEntry, NewEntry, Party};
use crate::money::{Money, MoneyError};
use crate::validation::{FieldErrors, Shape, text};

/// How an arrangement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Its date has not passed and it is not yet covered.
    Open,
    /// Paid in time (a plan: every instalment).
    Kept,
    /// Its date passed without the money (a plan: an instalment missed).
    Broken,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PromiseState {
    pub promise: u32,
    #[serde(skip)]
    pub seq: u32,
    pub by: Party,
    pub made_at: DateTime<Utc>,
    pub date: NaiveDate,
    #[serde(serialize_with = "crate::money::as_decimal")]
    #[schema(value_type = String)]
    pub amount: Money,
    /// The end of the promised date plus the grace days, in the client's zone.
    pub deadline: DateTime<Utc>,
    /// Received toward it in time.
    #[serde(serialize_with = "crate::money::as_decimal")]
    #[schema(value_type = String)]
    pub paid: Money,
    pub outcome: Outcome,
    /// When it was kept (the payment that covered it) or broken (its deadline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InstalmentState {
    /// From 1.
    pub number: u32,
    pub due_date: NaiveDate,
    #[serde(serialize_with = "crate::money::as_decimal")]
    #[schema(value_type = String)]
    pub amount: Money,
    #[serde(serialize_with = "crate::money::as_decimal")]
    #[schema(value_type = String)]
    pub paid: Money,
    #[serde(skip)]
    pub deadline: DateTime<Utc>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlanState {
    pub plan: u32,
    #[serde(skip)]
    pub seq: u32,
    pub by: Party,
    pub made_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::money::as_decimal")]
    #[schema(value_type = String)]
    pub total: Money,
    pub instalments: Vec<InstalmentState>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
}

impl PlanState {
    /// The oldest instalment not yet paid.
    pub fn current(&self) -> Option<&InstalmentState> {
        self.instalments.iter().find(|i| i.outcome != Outcome::Kept)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExtensionState {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The business's note (never sent to the client).
    pub reason: String,
    /// What the client was told with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub at: DateTime<Utc>,
}

/// Every arrangement on an invoice, judged at `now`, and what they mean for the chase.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Arrangements {
    /// The due date after extensions.
    pub due_date: NaiveDate,
    /// Extensions so far: each restarts the reminders (round 0 is the invoice's own).
    #[serde(skip)]
    pub round: u32,
    /// When the current round began (the last extension).
    #[serde(skip)]
    pub round_started: Option<DateTime<Utc>>,
    pub promises: Vec<PromiseState>,
    pub plans: Vec<PlanState>,
    pub extensions: Vec<ExtensionState>,
    /// A promise or plan is open: the regular chase waits.
    pub paused: bool,
    /// Whole days the chase waited for arrangements that have ended: later stages move by it.
    #[serde(skip)]
    pub shift_days: i64,
    /// When the last broken arrangement ended: the chase resumes from there.
    #[serde(skip)]
    pub resumed_at: Option<DateTime<Utc>>,
}

impl Arrangements {
    /// The due date late fees and escalation count from: the (extended) due date moved by
    /// the days the chase waited for arrangements.
    pub fn chase_due_date(&self) -> NaiveDate {
        self.due_date
            .checked_add_signed(Duration::days(self.shift_days))
            .unwrap_or(self.due_date)
    }

    pub fn open_promises(&self) -> impl Iterator<Item = &PromiseState> {
        self.promises.iter().filter(|p| p.outcome == Outcome::Open)
    }

    pub fn active_plan(&self) -> Option<&PlanState> {
        self.plans.iter().find(|p| p.outcome == Outcome::Open)
    }
}

/// The end of `date` plus `grace` days in the invoice's zone.
fn deadline(inv: &Invoice, date: NaiveDate, grace: u32) -> DateTime<Utc> {
    let day = add_days(date, i64::from(grace).saturating_add(1));
    local_moment(inv.timezone, day, NaiveTime::MIN)
}

/// Money received, in the order it arrived: (when, ledger position, amount).
fn receipts(entries: &[LedgerEntry]) -> Vec<(DateTime<Utc>, u32, Money)> {
    let mut r: Vec<_> = entries
        .iter()
        .filter(|e| e.kind.pays())
        .map(|e| (e.at, e.seq, e.amount))
        .collect();
    r.sort_by_key(|(at, seq, _)| (*at, *seq));
    r
}

/// How many days the invoice is overdue on `today`: money is owed and its due date in force
/// (`due`, as extensions moved it) has passed. `None` while it is not.
pub fn days_overdue(amount_due: &Money, due: NaiveDate, today: NaiveDate) -> Option<i64> {
    (amount_due.is_positive() && today > due).then(|| crate::calendar::days_between(due, today))
}

/// Judges every arrangement on the invoice at `now`.
pub fn arrangements(
    inv: &Invoice,
    entries: &[LedgerEntry],
    now: DateTime<Utc>,
) -> Result<Arrangements, MoneyError> {
    let grace = inv.terms.grace_days;
    let zero = Money::zero(inv.currency);
    let mut ordered: Vec<&LedgerEntry> = entries.iter().collect();
    ordered.sort_by_key(|e| e.seq);
    let mut promises = Vec::new();
    let mut plans = Vec::new();
    let mut extensions = Vec::new();
    for e in &ordered {
        match &e.kind {
            EntryKind::Promise { promise, date, by } => promises.push(PromiseState {
                promise: *promise,
                seq: e.seq,
                by: *by,
                made_at: e.at,
                date: *date,
                amount: e.amount,
                deadline: deadline(inv, *date, grace),
                paid: zero,
                outcome: Outcome::Open,
                ended_at: None,
            }),
            EntryKind::Plan {
                plan,
                instalments,
                by,
            } => plans.push(PlanState {
                plan: *plan,
                seq: e.seq,
                by: *by,
                made_at: e.at,
                total: e.amount,
                instalments: instalments
                    .iter()
                    .zip(1..)
                    .map(|(i, number)| InstalmentState {
                        number,
                        due_date: i.due_date,
                        amount: i.amount,
                        paid: zero,
                        deadline: deadline(inv, i.due_date, grace),
                        outcome: Outcome::Open,
                    })
                    .collect(),
                outcome: Outcome::Open,
                ended_at: None,
            }),
            EntryKind::Extension {
                from,
                to,
                reason,
                message,
            } => extensions.push(ExtensionState {
                from: *from,
                to: *to,
                reason: reason.clone(),
                message: message.clone(),
                at: e.at,
            }),
            _ => {}
        }
    }
    let money = receipts(entries);

    // Promises: each receipt goes to the earliest open promise made before it, in time.
    for (at, seq, amount) in &money {
        let mut left = *amount;
        for p in promises.iter_mut() {
            if !left.is_positive() {
                break;
            }
            if p.outcome != Outcome::Open || p.seq >= *seq || *at >= p.deadline {
                continue;
            }
            let need = p.amount.checked_sub(&p.paid)?;
            let take = if left.amount() < need.amount() {
                left
            } else {
                need
            };
            p.paid = p.paid.checked_add(&take)?;
            left = left.checked_sub(&take)?;
            if p.paid.amount() >= p.amount.amount() {
                p.outcome = Outcome::Kept;
                p.ended_at = Some(*at);
            }
        }
    }
    for p in promises.iter_mut() {
        if p.outcome == Outcome::Open && now >= p.deadline {
            p.outcome = Outcome::Broken;
            p.ended_at = Some(p.deadline);
        }
    }

    // Plans: receipts after the plan pay its instalments oldest first.
    for plan in plans.iter_mut() {
        let mut i = 0;
        for (at, _, amount) in money.iter().filter(|(_, seq, _)| *seq > plan.seq) {
            let mut left = *amount;
            while left.is_positive() {
                let Some(inst) = plan.instalments.get_mut(i) else {
                    break;
                };
                if *at >= inst.deadline {
                    break; // missed before this money came
                }
                let need = inst.amount.checked_sub(&inst.paid)?;
                let take = if left.amount() < need.amount() {
                    left
                } else {
                    need
                };
                inst.paid = inst.paid.checked_add(&take)?;
                left = left.checked_sub(&take)?;
                if inst.paid.amount() >= inst.amount.amount() {
                    inst.outcome = Outcome::Kept;
                    i = i.saturating_add(1);
                    if i == plan.instalments.len() {
                        plan.outcome = Outcome::Kept;
                        plan.ended_at = Some(*at);
                    }
                }
            }
            if plan
                .instalments
                .get(i)
                .is_some_and(|inst| *at >= inst.deadline)
            {
                break;
            }
        }
        if let Some(missed) = plan.instalments.get_mut(i)
            && now >= missed.deadline
        {
            missed.outcome = Outcome::Broken;
            plan.outcome = Outcome::Broken;
            plan.ended_at = Some(missed.deadline);
        }
    }

    // The chase waits while something is open; ended waits move its later dates.
    let mut waits: Vec<(DateTime<Utc>, DateTime<Utc>)> = promises
        .iter()
        .filter_map(|p| p.ended_at.map(|e| (p.made_at, e)))
        .chain(
            plans
                .iter()
                .filter_map(|p| p.ended_at.map(|e| (p.made_at, e))),
        )
        .filter(|(s, e)| e > s)
        .collect();
    waits.sort();
    let mut waited = Duration::zero();
    let mut current: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for (s, e) in waits {
        current = match current {
            Some((cs, ce)) if s <= ce => Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                waited = waited
                    .checked_add(&ce.signed_duration_since(cs))
                    .unwrap_or(waited);
                Some((s, e))
            }
            None => Some((s, e)),
        };
    }
    if let Some((cs, ce)) = current {
        waited = waited
            .checked_add(&ce.signed_duration_since(cs))
            .unwrap_or(waited);
    }
    let resumed_at = promises
        .iter()
        .filter(|p| p.outcome == Outcome::Broken)
        .filter_map(|p| p.ended_at)
        .chain(
            plans
                .iter()
                .filter(|p| p.outcome == Outcome::Broken)
                .filter_map(|p| p.ended_at),
        )
        .max();
    let paused = promises.iter().any(|p| p.outcome == Outcome::Open)
        || plans.iter().any(|p| p.outcome == Outcome::Open);
    Ok(Arrangements {
        due_date: extensions.last().map_or(inv.due_date, |e| e.to),
        round: extensions.len() as u32,
        round_started: extensions.last().map(|e| e.at),
        promises,
        plans,
        extensions,
        paused,
        shift_days: waited.num_days(),
        resumed_at,
    })
}

/// Why an arrangement cannot be made.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Bad values, by field (422).
    Invalid(FieldErrors),
    /// Not possible on this invoice now (409): what stands in the way, and a sentence for
    /// people.
    Conflict(Conflict, String),
}

/// What stands in the way of an arrangement: the API names it (`type`), the pay page
/// explains it in the client's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// A deposit takes no promises, plans or extensions.
    Deposit,
    /// Nothing is owed on the invoice.
    NotOpen,
    /// A payment plan is in course.
    InAPlan,
    /// As many promises are open as the terms allow.
    TooManyPromises,
    /// Everything due is already promised.
    AlreadyPromised,
    /// A promise is open: a plan follows once it is judged.
    PromiseOpen,
    /// The terms offer no plans.
    PlansNotOffered,
    /// Overdue longer than the terms let the client choose a plan themselves.
    TooOverdueForAPlan,
    /// The invoice was handed over for collection: arrangements are made with whoever
    /// collects it now, not here.
    Escalated,
    /// The ledger cannot be read as money (a defect, not the caller's).
    InvalidLedger,
    /// A resume asked for an invoice that is not paused.
    NotPaused,
}

impl Conflict {
    /// The code the API answers with (`urn:cobro:problem:{code}`).
    pub fn code(&self) -> &'static str {
        match self {
            Conflict::Deposit => "deposit",
            Conflict::NotOpen => "not-open",
            Conflict::InAPlan => "in-a-plan",
            Conflict::TooManyPromises => "too-many-promises",
            Conflict::AlreadyPromised => "already-promised",
            Conflict::PromiseOpen => "promise-open",
            Conflict::PlansNotOffered => "plans-not-offered",
            Conflict::TooOverdueForAPlan => "too-overdue-for-a-plan",
            Conflict::Escalated => "escalated",
            Conflict::NotPaused => "not-paused",
            Conflict::InvalidLedger => "invalid-ledger",
        }
    }
}

impl Refusal {
    fn field(field: &str, message: impl Into<String>) -> Self {
        Refusal::Invalid(FieldErrors::single(field, message))
    }
}

/// What the invoice stands at and its arrangements now, when a new one can still be made
/// on it: something owed and no plan in course (`in_a_plan` says why not, in context).
fn open_for_arrangements(
    inv: &Invoice,
    entries: &[LedgerEntry],
    now: DateTime<Utc>,
    in_a_plan: &str,
) -> Result<(ledger::Balance, Arrangements), Refusal> {
    let invalid = |e: MoneyError| Refusal::Conflict(Conflict::InvalidLedger, e.to_string());
    if inv.purpose == crate::invoice::Purpose::Deposit {
        return Err(Refusal::Conflict(
            Conflict::Deposit,
            "A deposit is paid before credit is given: it takes no promises, plans or extensions (void it to waive it)."
                .into(),
        ));
    }
    let b = ledger::balance(&inv.total, entries).map_err(invalid)?;
    if !matches!(b.status, InvoiceStatus::Open | InvoiceStatus::PartiallyPaid)
        || !b.amount_due.is_positive()
    {
        let status = format!("{:?}", b.status).to_lowercase();
        return Err(Refusal::Conflict(
            Conflict::NotOpen,
            format!("The invoice is {status}: nothing is owed on it to arrange."),
        ));
    }
    let arr = arrangements(inv, entries, now).map_err(invalid)?;
    if arr.active_plan().is_some() {
        return Err(Refusal::Conflict(Conflict::InAPlan, in_a_plan.into()));
    }
    Ok((b, arr))
}

fn count_of(entries: &[LedgerEntry], f: impl Fn(&EntryKind) -> bool) -> u32 {
    entries.iter().filter(|e| f(&e.kind)).count() as u32
}

/// A promise asked for: by when, and how much (the rest still unpromised when `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct PromiseRequest {
    pub date: NaiveDate,
    pub amount: Option<Money>,
    pub by: Party,
}

/// The ledger entry of a new promise, or why it cannot be made.
pub fn new_promise(
    inv: &Invoice,
    entries: &[LedgerEntry],
    today: NaiveDate,
    now: DateTime<Utc>,
    req: &PromiseRequest,
) -> Result<NewEntry, Refusal> {
    let (balance, arr) = open_for_arrangements(
        inv,
        entries,
        now,
        "The invoice is in a payment plan: its instalments are the promise.",
    )?;
    let open: Vec<&PromiseState> = arr.open_promises().collect();
    let max_open = inv.terms.max_open_promises;
    if open.len() as u32 >= max_open {
        return Err(Refusal::Conflict(
            Conflict::TooManyPromises,
            format!(
                "The invoice already has {} open promise(s); at most {max_open} may be open at once.",
                open.len()
            ),
        ));
    }
    let mut errors = FieldErrors::new();
    let latest = add_days(today, i64::from(inv.terms.promise_max_days));
    if req.date < today {
        errors.add("date", "must not be in the past");
    } else if req.date > latest {
        errors.add(
            "date",
            format!(
                "must be within {} days, by {latest} at the latest",
                inv.terms.promise_max_days
            ),
        );
    }
    // What is not yet promised by the open ones.
    let mut promised = Money::zero(inv.currency);
    for p in &open {
        let left = p.amount.checked_sub(&p.paid).unwrap_or(p.amount);
        promised = promised.checked_add(&left).unwrap_or(promised);
    }
    let available = balance
        .amount_due
        .checked_sub(&promised)
        .unwrap_or(balance.amount_due);
    let amount = match req.amount {
        Some(m) if m.currency() != inv.currency => {
            errors.add(
                "currency",
                format!("the invoice is in {}", inv.currency.code()),
            );
            m
        }
        Some(m) if !m.is_positive() => {
            errors.add("amount", "must be greater than zero");
            m
        }
        Some(m) if m.amount() > available.amount() => {
            errors.add(
                "amount",
                format!(
                    "must be at most {} (the amount due not already promised)",
                    available.amount()
                ),
            );
            m
        }
        Some(m) => m,
        None if !available.is_positive() => {
            return Err(Refusal::Conflict(
                Conflict::AlreadyPromised,
                "Everything due is already promised.".into(),
            ));
        }
        None => available,
    };
    if !errors.is_empty() {
        return Err(Refusal::Invalid(errors));
    }
    let n = count_of(entries, |k| matches!(k, EntryKind::Promise { .. })).saturating_add(1);
    Ok(NewEntry {
        kind: EntryKind::Promise {
            promise: n,
            date: req.date,
            by: req.by,
        },
        amount,
        key: format!("promise:{n}"),
    })
}

/// `total` in `count` monthly instalments from `first`: equal in the currency's minor
/// units, the remainder on the last, so they always sum to `total` exactly.
pub fn split(total: Money, count: u32, first: NaiveDate) -> Option<Vec<Instalment>> {
    let units = total.to_minor_units()?;
    let n = i64::from(count);
    if n < 1 || units < n {
        return None;
    }
    let each = units.checked_div(n)?;
    // What the equal shares leave over goes on the last one.
    let last = units.checked_sub(each.checked_mul(n.checked_sub(1)?)?)?;
    (0..count)
        .map(|k| {
            let amount = if k.saturating_add(1) == count {
                last
            } else {
                each
            };
            Some(Instalment {
                due_date: first.checked_add_months(Months::new(k))?,
                amount: Money::from_minor_units(amount, total.currency()),
            })
        })
        .collect()
}

/// A plan asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRequest {
    pub instalments: Vec<Instalment>,
    pub by: Party,
}

/// The ledger entry of a new plan, or why it cannot be made.
pub fn new_plan(
    inv: &Invoice,
    entries: &[LedgerEntry],
    today: NaiveDate,
    now: DateTime<Utc>,
    req: &PlanRequest,
) -> Result<NewEntry, Refusal> {
    let (balance, arr) = open_for_arrangements(
        inv,
        entries,
        now,
        "The invoice already has a payment plan in course.",
    )?;
    if arr.open_promises().next().is_some() {
        return Err(Refusal::Conflict(
            Conflict::PromiseOpen,
            "A promise to pay is open on the invoice; a plan can follow once it is judged.".into(),
        ));
    }
    let max = match req.by {
        Party::Client => inv.terms.plan_max_instalments,
        Party::Business => MAX_PLAN_INSTALMENTS,
    };
    let overdue = crate::calendar::days_between(arr.due_date, today);
    if req.by == Party::Client && max >= 2 && overdue > i64::from(inv.terms.plan_max_days_overdue) {
        return Err(Refusal::Conflict(
            Conflict::TooOverdueForAPlan,
            format!(
                "The invoice is {overdue} days overdue; the client may choose a plan up to {} days: the business can still make one.",
                inv.terms.plan_max_days_overdue
            ),
        ));
    }
    if max < 2 {
        return Err(Refusal::Conflict(
            Conflict::PlansNotOffered,
            "Payment plans are not offered on this invoice.".into(),
        ));
    }
    let count = req.instalments.len() as u32;
    if !(2..=max).contains(&count) {
        return Err(Refusal::field(
            "instalments",
            format!("must be between 2 and {max} instalments"),
        ));
    }
    let mut errors = FieldErrors::new();
    let latest = add_days(today, MAX_TERM_DAYS);
    let mut sum = Money::zero(inv.currency);
    let mut previous: Option<NaiveDate> = None;
    for (k, i) in req.instalments.iter().enumerate() {
        let f = |name: &str| format!("instalments[{k}].{name}");
        if i.amount.currency() != inv.currency {
            errors.add(
                f("currency"),
                format!("the invoice is in {}", inv.currency.code()),
            );
            continue;
        }
        if !i.amount.is_positive() {
            errors.add(f("amount"), "must be greater than zero");
        }
        sum = sum.checked_add(&i.amount).unwrap_or(sum);
        if k == 0 && i.due_date < today {
            errors.add(f("due_date"), "must not be in the past");
        }
        if previous.is_some_and(|p| i.due_date <= p) {
            errors.add(f("due_date"), "must be after the previous instalment's");
        }
        previous = Some(i.due_date);
        if i.due_date > latest {
            errors.add(f("due_date"), format!("must be by {latest} at the latest"));
        }
    }
    if errors.is_empty() && sum != balance.amount_due {
        errors.add(
            "instalments",
            format!(
                "sum to {}; the amount due is {}",
                sum.amount(),
                balance.amount_due.amount()
            ),
        );
    }
    if !errors.is_empty() {
        return Err(Refusal::Invalid(errors));
    }
    let n = count_of(entries, |k| matches!(k, EntryKind::Plan { .. })).saturating_add(1);
    Ok(NewEntry {
        kind: EntryKind::Plan {
            plan: n,
            instalments: req.instalments.clone(),
            by: req.by,
        },
        amount: balance.amount_due,
        key: format!("plan:{n}"),
    })
}

/// The ledger entry moving the due date to `to`, with the business's own `reason` (kept,
/// never sent) and an optional `message` for the client, or why it cannot be moved.
pub fn new_extension(
    inv: &Invoice,
    entries: &[LedgerEntry],
    today: NaiveDate,
    now: DateTime<Utc>,
    to: NaiveDate,
    (reason, message): (&str, Option<&str>),
) -> Result<NewEntry, Refusal> {
    let (_, arr) = open_for_arrangements(
        inv,
        entries,
        now,
        "The invoice is in a payment plan: its instalments set the dates.",
    )?;
    let mut errors = FieldErrors::new();
    let reason = text(&mut errors, "reason", reason, 500, Shape::Lines).unwrap_or_else(|| {
        errors.add("reason", "is required: it is kept in the invoice's history");
        String::new()
    });
    let message = message.and_then(|m| text(&mut errors, "message", m, 1000, Shape::Lines));
    if to <= arr.due_date {
        errors.add(
            "due_date",
            format!("must be after the current due date, {}", arr.due_date),
        );
    } else if to < today {
        errors.add("due_date", "must not be in the past");
    } else if to > add_days(today, MAX_TERM_DAYS) {
        errors.add("due_date", "is too far in the future");
    }
    if !errors.is_empty() {
        return Err(Refusal::Invalid(errors));
    }
    let n = count_of(entries, |k| matches!(k, EntryKind::Extension { .. })).saturating_add(1);
    Ok(NewEntry {
        kind: EntryKind::Extension {
            from: arr.due_date,
            to,
            reason,
            message,
        },
        amount: Money::zero(inv.currency),
        key: format!("extension:{n}"),
    })
}

#[cfg(test)]
mod tests;
