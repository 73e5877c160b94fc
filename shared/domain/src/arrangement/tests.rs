use super::*;
use crate::dunning;
use crate::dunning::tests::{charge, clp, date, invoice, run, t};
use crate::invoice::Terms;
use crate::money::Currency;
use crate::stage::{Stage, StageRecord};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn usd(amount: Decimal) -> Money {
    Money::new(amount, Currency::parse("USD").unwrap()).unwrap()
}

/// Appends an entry the way the store does: at the next position.
fn push(entries: &mut Vec<LedgerEntry>, new: NewEntry, at: DateTime<Utc>) {
    let e = ledger::next_entry(entries, new, at);
    entries.push(e);
}

fn pay(entries: &mut Vec<LedgerEntry>, amount: Money, at: DateTime<Utc>) {
    let n = entries.len();
    push(
        entries,
        NewEntry {
            kind: EntryKind::Payment {
                method: crate::PaymentMethod::Transfer,
                reference: None,
            },
            amount,
            key: format!("manual:{n}:payment"),
        },
        at,
    );
}

/// What was done, as `stage @ local time` in Santiago.
fn shown(log: &[(Stage, DateTime<Utc>)]) -> Vec<String> {
    log.iter()
        .map(|(s, at)| {
            let local = at.with_timezone(&chrono_tz::America::Santiago);
            format!("{s} @ {}", local.format("%a %Y-%m-%d %H:%M"))
        })
        .collect()
}

/// The default schedule up to Friday Dec 4th 10:00 Santiago (after reminder:3).
fn chased_until_friday() -> (Invoice, Vec<LedgerEntry>, Vec<StageRecord>, DateTime<Utc>) {
    let inv = invoice(Terms::default());
    let (mut entries, mut stages) = (vec![charge(&inv)], vec![]);
    let friday = t("2026-12-04T13:00:00Z");
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        inv.created_at,
        friday,
        Duration::minutes(30),
    );
    assert_eq!(log.len(), 4, "{:?}", shown(&log));
    (inv, entries, stages, friday)
}

fn promise_for(
    inv: &Invoice,
    entries: &[LedgerEntry],
    now: DateTime<Utc>,
    date: NaiveDate,
    amount: Option<Money>,
) -> Result<NewEntry, Refusal> {
    let today = crate::today_in(inv.timezone, now);
    let req = PromiseRequest {
        date,
        amount,
        by: Party::Client,
    };
    new_promise(inv, entries, today, now, &req)
}

#[test]
fn a_kept_promise_pauses_the_chase_and_is_recorded() {
    let (inv, mut entries, mut stages, friday) = chased_until_friday();
    let p = promise_for(&inv, &entries, friday, date("2026-12-10"), None).unwrap();
    assert_eq!(p.amount, clp(100_000));
    assert_eq!(p.key, "promise:1");
    push(&mut entries, p, friday);
    let paid_at = t("2026-12-10T15:00:00Z");
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        friday,
        paid_at - Duration::minutes(1),
        Duration::minutes(30),
    );
    // Reminder 10 would have gone out on the 11th: the chase waits for the promise.
    assert_eq!(shown(&log), ["promise-reminder:1 @ Wed 2026-12-09 09:00"]);
    pay(&mut entries, clp(100_000), paid_at);
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        paid_at,
        t("2027-04-01T00:00:00Z"),
        Duration::hours(6),
    );
    assert_eq!(shown(&log), ["promise-kept:1 @ Thu 2026-12-10 12:00"]);
    let arr = arrangements(&inv, &entries, paid_at).unwrap();
    assert_eq!(arr.promises[0].outcome, Outcome::Kept);
    assert_eq!(arr.promises[0].paid, clp(100_000));
}

#[test]
fn a_broken_promise_is_told_and_the_chase_resumes_at_once() {
    let (inv, mut entries, mut stages, friday) = chased_until_friday();
    let p = promise_for(&inv, &entries, friday, date("2026-12-10"), None).unwrap();
    push(&mut entries, p, friday);
    let mut log = run(
        &inv,
        &mut entries,
        &mut stages,
        friday,
        t("2026-12-09T13:00:00Z"),
        Duration::minutes(30),
    );
    // After its reminder the promise is still on the agenda: judged at its deadline.
    let next = dunning::plan(&inv, &entries, &stages, t("2026-12-09T13:00:00Z")).unwrap();
    assert_eq!(
        next.map(|n| (n.stage, n.at)),
        Some((Stage::PromiseBroken(1), t("2026-12-14T12:00:00Z")))
    );
    log.extend(run(
        &inv,
        &mut entries,
        &mut stages,
        t("2026-12-09T13:30:00Z"),
        t("2027-04-01T00:00:00Z"),
        Duration::minutes(30),
    ));
    // Due Dec 13th 00:00 (the 10th + 2 grace days): a Sunday, so told Monday at opening,
    // with the next reminder. The chase waited 8 whole days: escalation moves by them
    // (Dec 1st + 8 + 60 = Sunday Feb 7th → Monday).
    assert_eq!(
        shown(&log),
        [
            "promise-reminder:1 @ Wed 2026-12-09 09:00",
            "promise-broken:1 @ Mon 2026-12-14 09:00",
            "reminder:10 @ Mon 2026-12-14 09:00",
            "reminder:20 @ Mon 2026-12-21 09:00",
            "escalation @ Mon 2027-02-08 09:00",
        ]
    );
    let arr = arrangements(&inv, &entries, t("2026-12-14T12:00:00Z")).unwrap();
    assert_eq!(arr.promises[0].outcome, Outcome::Broken);
    assert_eq!(arr.shift_days, 8);
}

#[test]
fn a_voided_invoice_is_not_told_as_a_broken_promise() {
    let (inv, mut entries, mut stages, friday) = chased_until_friday();
    let p = promise_for(&inv, &entries, friday, date("2026-12-10"), None).unwrap();
    push(&mut entries, p, friday);
    let void = NewEntry {
        kind: EntryKind::Void { reason: None },
        amount: clp(100_000),
        key: "void".into(),
    };
    push(&mut entries, void, t("2026-12-07T15:00:00Z"));
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        friday,
        t("2027-04-01T00:00:00Z"),
        Duration::hours(3),
    );
    assert!(log.is_empty(), "{:?}", shown(&log));
}

#[test]
fn a_partly_kept_promise_is_broken_and_leaves_the_rest_due() {
    let (inv, mut entries, mut stages, friday) = chased_until_friday();
    let p = promise_for(&inv, &entries, friday, date("2026-12-10"), None).unwrap();
    push(&mut entries, p, friday);
    pay(&mut entries, clp(60_000), t("2026-12-09T15:00:00Z"));
    let after = t("2026-12-14T13:00:00Z");
    run(
        &inv,
        &mut entries,
        &mut stages,
        friday,
        after,
        Duration::hours(1),
    );
    let arr = arrangements(&inv, &entries, after).unwrap();
    assert_eq!(arr.promises[0].outcome, Outcome::Broken);
    assert_eq!(arr.promises[0].paid, clp(60_000));
    let b = ledger::balance(&inv.total, &entries).unwrap();
    assert_eq!(b.amount_due, clp(40_000));
    assert!(stages.iter().any(|s| s.stage == Stage::PromiseBroken(1)));
}

#[test]
fn a_plan_with_a_missed_instalment_breaks_and_the_chase_resumes() {
    let (inv, mut entries, mut stages, friday) = chased_until_friday();
    let instalments = split(clp(100_000), 3, date("2026-12-15")).unwrap();
    let req = PlanRequest {
        instalments,
        by: Party::Business,
    };
    let today = crate::today_in(inv.timezone, friday);
    let plan = new_plan(&inv, &entries, today, friday, &req).unwrap();
    assert_eq!(plan.key, "plan:1");
    push(&mut entries, plan, friday);
    let paid_at = t("2026-12-15T14:00:00Z");
    let mut log = run(
        &inv,
        &mut entries,
        &mut stages,
        friday,
        paid_at,
        Duration::minutes(30),
    );
    pay(&mut entries, clp(33_333), paid_at);
    log.extend(run(
        &inv,
        &mut entries,
        &mut stages,
        paid_at,
        t("2027-06-01T00:00:00Z"),
        Duration::minutes(30),
    ));
    // Instalment 2 (Jan 15th) unpaid by the end of the 17th: broken on Monday the 18th,
    // the chase resumes with its latest reminder; it waited 44 days (escalation:
    // Dec 1st + 44 + 60 = Monday Mar 15th).
    assert_eq!(
        shown(&log),
        [
            "instalment:1:1:-7 @ Tue 2026-12-08 09:00",
            "instalment:1:1:-1 @ Mon 2026-12-14 09:00",
            "instalment:1:1:0 @ Tue 2026-12-15 09:00",
            "instalment:1:2:-7 @ Fri 2027-01-08 09:00",
            "instalment:1:2:-1 @ Thu 2027-01-14 09:00",
            "instalment:1:2:0 @ Fri 2027-01-15 09:00",
            "plan-broken:1 @ Mon 2027-01-18 09:00",
            "reminder:20 @ Mon 2027-01-18 09:00",
            "escalation @ Mon 2027-03-15 09:00",
        ]
    );
    let arr = arrangements(&inv, &entries, t("2027-01-18T12:00:00Z")).unwrap();
    let plan = &arr.plans[0];
    assert_eq!(plan.outcome, Outcome::Broken);
    let outcomes: Vec<Outcome> = plan.instalments.iter().map(|i| i.outcome).collect();
    assert_eq!(outcomes, [Outcome::Kept, Outcome::Broken, Outcome::Open]);
    assert!(!arr.paused);
}

#[test]
fn a_plan_paid_in_full_is_kept() {
    let (inv, mut entries, _, friday) = chased_until_friday();
    let today = crate::today_in(inv.timezone, friday);
    let req = PlanRequest {
        instalments: split(clp(100_000), 2, date("2026-12-15")).unwrap(),
        by: Party::Client,
    };
    let plan = new_plan(&inv, &entries, today, friday, &req).unwrap();
    push(&mut entries, plan, friday);
    // One payment covering both instalments early.
    pay(&mut entries, clp(100_000), t("2026-12-07T15:00:00Z"));
    let arr = arrangements(&inv, &entries, t("2027-03-01T00:00:00Z")).unwrap();
    assert_eq!(arr.plans[0].outcome, Outcome::Kept);
    assert!(!arr.paused);
}

#[test]
fn an_extension_restarts_the_reminders_for_the_new_date() {
    let (inv, mut entries, mut stages, friday) = chased_until_friday();
    let today = crate::today_in(inv.timezone, friday);
    let ext = new_extension(
        &inv,
        &entries,
        today,
        friday,
        date("2026-12-22"),
        (
            "cliente espera pago de su cliente",
            Some("Como acordamos por teléfono."),
        ),
    )
    .unwrap();
    assert_eq!(
        ext.kind,
        EntryKind::Extension {
            from: date("2026-12-01"),
            to: date("2026-12-22"),
            reason: "cliente espera pago de su cliente".into(),
            message: Some("Como acordamos por teléfono.".into()),
        }
    );
    push(&mut entries, ext, friday);
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        friday,
        t("2027-04-01T00:00:00Z"),
        Duration::minutes(30),
    );
    assert_eq!(
        shown(&log),
        [
            "reminder-r1:-7 @ Tue 2026-12-15 09:00",
            "reminder-r1:-1 @ Mon 2026-12-21 09:00",
            "reminder-r1:0 @ Tue 2026-12-22 09:00",
            "reminder-r1:3 @ Fri 2026-12-25 09:00",
            "reminder-r1:10 @ Fri 2027-01-01 09:00",
            "reminder-r1:20 @ Mon 2027-01-11 09:00",
            "escalation @ Mon 2027-02-22 09:00",
        ]
    );
}

#[test]
fn bad_arrangements_are_refused() {
    let (inv, mut entries, _, friday) = chased_until_friday();
    let today = crate::today_in(inv.timezone, friday);
    let field = |r: Result<NewEntry, Refusal>| match r {
        Err(Refusal::Invalid(e)) => e
            .errors
            .iter()
            .map(|e| e.field.as_str())
            .collect::<Vec<_>>()
            .join(","),
        other => panic!("expected invalid, got {other:?}"),
    };
    let conflict = |r: Result<NewEntry, Refusal>| match r {
        Err(Refusal::Conflict(code, _)) => code.code(),
        other => panic!("expected a conflict, got {other:?}"),
    };
    // Promises: in the past, beyond the maximum, over the amount due, another currency.
    assert_eq!(
        field(promise_for(
            &inv,
            &entries,
            friday,
            date("2026-12-03"),
            None
        )),
        "date"
    );
    assert_eq!(
        field(promise_for(
            &inv,
            &entries,
            friday,
            date("2026-12-20"),
            None
        )),
        "date"
    );
    let over = Some(clp(100_001));
    assert_eq!(
        field(promise_for(
            &inv,
            &entries,
            friday,
            date("2026-12-10"),
            over
        )),
        "amount"
    );
    let dollars = Some(usd(dec!(10)));
    assert_eq!(
        field(promise_for(
            &inv,
            &entries,
            friday,
            date("2026-12-10"),
            dollars
        )),
        "currency"
    );
    // Two open promises at most, and never more than is due.
    for (d, amount) in [("2026-12-08", 30_000), ("2026-12-10", 30_000)] {
        let p = promise_for(&inv, &entries, friday, date(d), Some(clp(amount))).unwrap();
        push(&mut entries, p, friday);
    }
    assert_eq!(
        conflict(promise_for(
            &inv,
            &entries,
            friday,
            date("2026-12-11"),
            None
        )),
        "too-many-promises"
    );
    // A plan while promises are open; a plan that does not sum.
    let mut instalments = split(clp(100_000), 2, date("2026-12-15")).unwrap();
    let req = |instalments: Vec<Instalment>| PlanRequest {
        instalments,
        by: Party::Client,
    };
    assert_eq!(
        conflict(new_plan(
            &inv,
            &entries,
            today,
            friday,
            &req(instalments.clone())
        )),
        "promise-open"
    );
    let (inv2, entries2, _, _) = chased_until_friday();
    instalments[1].amount = clp(49_999);
    assert_eq!(
        field(new_plan(
            &inv2,
            &entries2,
            today,
            friday,
            &req(instalments.clone())
        )),
        "instalments"
    );
    instalments[1].due_date = date("2026-12-14");
    instalments[1].amount = clp(50_000);
    assert_eq!(
        field(new_plan(&inv2, &entries2, today, friday, &req(instalments))),
        "instalments[1].due_date"
    );
    let seven = split(clp(100_000), 7, date("2026-12-15")).unwrap();
    assert_eq!(
        field(new_plan(&inv2, &entries2, today, friday, &req(seven))),
        "instalments"
    );
    // Extensions: no reason, not later than the due date.
    let ext = |to: &str, reason: &str| {
        new_extension(&inv2, &entries2, today, friday, date(to), (reason, None))
    };
    assert_eq!(field(ext("2026-12-22", "  ")), "reason");
    assert_eq!(field(ext("2026-11-30", "x")), "due_date");
    // Nothing on a paid invoice.
    let mut paid = entries2.clone();
    pay(&mut paid, clp(100_000), friday);
    assert_eq!(
        conflict(promise_for(&inv2, &paid, friday, date("2026-12-10"), None)),
        "not-open"
    );
    assert_eq!(
        conflict(new_extension(
            &inv2,
            &paid,
            today,
            friday,
            date("2026-12-22"),
            ("x", None)
        )),
        "not-open"
    );
}

#[test]
fn split_gives_the_remainder_to_the_last_and_clamps_month_ends() {
    let s = split(clp(100_000), 3, date("2027-01-31")).unwrap();
    let got: Vec<(String, Decimal)> = s
        .iter()
        .map(|i| (i.due_date.to_string(), i.amount.amount()))
        .collect();
    assert_eq!(
        got,
        [
            ("2027-01-31".to_string(), dec!(33333)),
            ("2027-02-28".to_string(), dec!(33333)),
            ("2027-03-31".to_string(), dec!(33334)),
        ]
    );
    let s = split(usd(dec!(100.00)), 3, date("2027-01-15")).unwrap();
    let amounts: Vec<Decimal> = s.iter().map(|i| i.amount.amount()).collect();
    assert_eq!(amounts, [dec!(33.33), dec!(33.33), dec!(33.34)]);
    // Too small to split: one peso in two.
    assert_eq!(split(clp(1), 2, date("2027-01-15")), None);
}

proptest! {
    /// Instalments always sum exactly to the amount, in CLP (no decimals) and USD (cents),
    /// each positive, monthly, and no two differ by more than the remainder.
    #[test]
    fn instalments_sum_exactly(units in 2i64..10_000_000_000, count in 2u32..=36, usd_cents in any::<bool>()) {
        let currency = Currency::parse(if usd_cents { "USD" } else { "CLP" }).unwrap();
        let total = Money::from_minor_units(units, currency);
        prop_assume!(units >= i64::from(count));
        let parts = split(total, count, date("2027-01-31")).unwrap();
        prop_assert_eq!(parts.len() as u32, count);
        let sum = parts.iter().try_fold(Money::zero(currency), |a, i| a.checked_add(&i.amount)).unwrap();
        prop_assert_eq!(sum, total);
        prop_assert!(parts.iter().all(|i| i.amount.is_positive()));
        prop_assert!(parts.windows(2).all(|w| w[0].due_date < w[1].due_date));
        let first = parts[0].amount.to_minor_units().unwrap();
        let last = parts[parts.len() - 1].amount.to_minor_units().unwrap();
        prop_assert!(last >= first && last - first < i64::from(count));
    }

    /// Whatever the promise (date, amount) and the payments around it: while it is open
    /// the regular chase waits; a kept promise is never told as broken and, when it
    /// covered all that was due, no client message follows; a broken one is told once
    /// and the chase resumes (the next reminder at once when one is left, else later
    /// stages), never with a message to the client before it was judged.
    #[test]
    fn kept_promises_never_resume_and_broken_ones_always_do(
        made_hours in 0i64..(40 * 24),
        days_ahead in 0i64..=15,
        part in prop::option::of(1i64..100_000),
        payments in prop::collection::vec((0i64..(30 * 24), 1i64..120_000), 0..3),
    ) {
        let inv = invoice(Terms::default());
        let (mut entries, mut stages) = (vec![charge(&inv)], vec![]);
        let made = t("2026-11-20T12:00:00Z") + Duration::hours(made_hours);
        let step = Duration::minutes(90);
        run(&inv, &mut entries, &mut stages, inv.created_at, made, step);
        let today = crate::today_in(inv.timezone, made);
        let due_before = ledger::balance(&inv.total, &entries).unwrap().amount_due;
        let amount = part.map(clp).filter(|m| m.amount() <= due_before.amount());
        let Ok(p) = promise_for(&inv, &entries, made, today + Duration::days(days_ahead), amount) else {
            return Ok(()); // refused (e.g. escalated already): nothing to judge
        };
        let covers_all = p.amount == due_before;
        push(&mut entries, p, made);
        let deadline = arrangements(&inv, &entries, made).unwrap().promises[0].deadline;
        let mut pays: Vec<(DateTime<Utc>, Money)> = payments
            .iter()
            .map(|(h, u)| (made + Duration::hours(*h), clp(*u)))
            .collect();
        pays.sort_by_key(|(at, _)| *at);
        let mut now = made;
        let end = made + Duration::days(200);
        let mut log: Vec<(Stage, DateTime<Utc>)> = Vec::new();
        // When the agenda says to look next: nothing may fall due before it.
        let wake = |entries: &[LedgerEntry], stages: &[StageRecord], at| {
            dunning::plan(&inv, entries, stages, at).unwrap().map(|n| n.at)
        };
        let mut agenda = wake(&entries, &stages, now);
        while now <= end {
            for (at, m) in pays.iter().filter(|(at, _)| *at > now - step && *at <= now) {
                pay(&mut entries, *m, *at);
                agenda = wake(&entries, &stages, *at); // a payment replans the invoice
            }
            if dunning::plan(&inv, &entries, &stages, now).unwrap().is_some_and(|n| n.is_due(now)) {
                prop_assert!(agenda.is_some_and(|a| a <= now), "due at {now} but the agenda said {agenda:?}");
            }
            // Like the real sweep: the invoice is read only when its agenda entry is due.
            if agenda.is_some_and(|a| a <= now) {
                log.extend(run(&inv, &mut entries, &mut stages, now, now, step));
                agenda = wake(&entries, &stages, now);
            }
            now += step;
        }
        let arr = arrangements(&inv, &entries, end).unwrap();
        let promise = &arr.promises[0];
        let regular = |s: &Stage| matches!(s, Stage::Reminder(..) | Stage::FeeNotice(_) | Stage::LateFee(_) | Stage::Escalation);
        let ended = promise.ended_at.unwrap_or(end);
        for (s, at) in &log {
            prop_assert!(!(regular(s) && *at < ended), "{s} at {at} while the promise was open");
        }
        let broken: Vec<_> = log.iter().filter(|(s, _)| *s == Stage::PromiseBroken(1)).collect();
        match promise.outcome {
            Outcome::Kept => {
                prop_assert!(broken.is_empty());
                prop_assert!(log.iter().any(|(s, _)| *s == Stage::PromiseKept(1)));
                if covers_all {
                    let after: Vec<_> = log.iter().filter(|(s, at)| *at >= ended && s.messages_client()).collect();
                    prop_assert!(after.is_empty(), "client messages after a kept promise: {after:?}");
                }
            }
            Outcome::Broken => {
                prop_assert!(broken.len() <= 1);
                prop_assert!(promise.ended_at == Some(deadline));
                let owed = ledger::balance(&inv.total, &entries).unwrap().amount_due.is_positive();
                if owed {
                    prop_assert_eq!(broken.len(), 1, "told once while still owed");
                    // The chase went on to its end: escalation.
                    prop_assert!(log.iter().any(|(s, at)| *s == Stage::Escalation && *at >= deadline), "{:?}", log);
                }
            }
            Outcome::Open => prop_assert!(false, "still open 200 days later"),
        }
        // The planner agrees with itself: nothing due is left undone.
        prop_assert!(dunning::plan(&inv, &entries, &stages, end).unwrap().is_none_or(|n| n.at > end));
    }
}
