use super::*;
use crate::calendar::{BusinessHours, in_business_hours};
use crate::ids::{ClientId, InvoiceId};
use crate::invoice::{EarlyPaymentDiscount, LateFee, Terms};
use crate::money::Currency;
use crate::payref::PaymentReference;
use crate::stage::{CLAIM_LEASE_MINUTES, StageStatus};
use chrono::{Duration, Timelike, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::HashSet;

pub(crate) fn clp(units: i64) -> Money {
    Money::new(Decimal::from(units), Currency::parse("CLP").unwrap()).unwrap()
}

pub(crate) fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub(crate) fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Invoice F-000001: CLP 100.000, issued Mon 2026-11-02 in Santiago, due Tue 2026-12-01.
pub(crate) fn invoice(terms: Terms) -> Invoice {
    Invoice {
        id: InvoiceId::generate(),
        number: "F-000001".into(),
        seq: 1,
        client_id: ClientId::generate(),
        currency: Currency::parse("CLP").unwrap(),
        lines: vec![],
        subtotal: clp(100_000),
        tax_rate: None,
        tax: clp(0),
        total: clp(100_000),
        issue_date: date("2026-11-02"),
        due_date: date("2026-12-01"),
        terms,
        timezone: chrono_tz::America::Santiago,
        payment_reference: PaymentReference::generate(1),
        created_at: t("2026-11-02T12:00:00Z"),
        purpose: Default::default(),
        held_until_sent: false,
    }
}

pub(crate) fn charge(inv: &Invoice) -> LedgerEntry {
    LedgerEntry {
        seq: 1,
        kind: EntryKind::Charge,
        amount: inv.total,
        at: inv.created_at,
        key: Some("charge".into()),
        by: None,
    }
}

pub(crate) fn done(inv: &Invoice, next: &Next, at: DateTime<Utc>) -> StageRecord {
    StageRecord {
        invoice_id: inv.id.clone(),
        client_id: inv.client_id.clone(),
        stage: next.stage,
        status: StageStatus::Done,
        attempts: 1,
        claimed_at: at,
        lease_until: at + Duration::minutes(CLAIM_LEASE_MINUTES),
        done_at: Some(at),
        message_id: None,
        amount: next.amount,
        charge_on: next.charge_on,
        error: None,
    }
}

pub(crate) fn fee_terms() -> Terms {
    Terms {
        late_fee: Some(LateFee {
            kind: LateFeeKind::Percent,
            value: dec!(1.5),
            recurrence: Recurrence::Monthly,
            cap: Some(dec!(2500)),
            notice_days: 3,
        }),
        ..Terms::default()
    }
}

/// Runs the planner as a sweep every `step` would, from `from` to `until`, doing what it
/// says; returns what was done, in order, with when.
pub(crate) fn run(
    inv: &Invoice,
    entries: &mut Vec<LedgerEntry>,
    stages: &mut Vec<StageRecord>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    step: Duration,
) -> Vec<(Stage, DateTime<Utc>)> {
    let mut log = Vec::new();
    let mut now = from;
    while now <= until {
        for _ in 0..5 {
            let Some(next) = plan(inv, entries, stages, now).unwrap() else {
                break;
            };
            if !next.is_due(now) {
                break;
            }
            if let Stage::LateFee(n) = next.stage {
                entries.push(LedgerEntry {
                    seq: entries.len() as u32 + 1,
                    kind: EntryKind::LateFee { period: n },
                    amount: next.amount.unwrap(),
                    at: now,
                    key: next.stage.ledger_key(),
                    by: None,
                });
            }
            stages.retain(|s| s.stage != next.stage);
            stages.push(done(inv, &next, now));
            log.push((next.stage, now));
        }
        now += step;
    }
    log
}

#[test]
fn default_schedule_in_santiago() {
    let inv = invoice(fee_terms());
    let (mut entries, mut stages) = (vec![charge(&inv)], vec![]);
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        inv.created_at,
        t("2027-02-15T00:00:00Z"),
        Duration::minutes(15),
    );
    let got: Vec<(String, String)> = log
        .iter()
        .map(|(s, at)| {
            let local = at.with_timezone(&chrono_tz::America::Santiago);
            (s.to_string(), local.format("%a %Y-%m-%d %H:%M").to_string())
        })
        .collect();
    let want = [
        ("reminder:-7", "Tue 2026-11-24 09:00"),
        ("reminder:-1", "Mon 2026-11-30 09:00"),
        ("reminder:0", "Tue 2026-12-01 09:00"),
        // Grace ends Thursday 3rd: the notice goes out Friday, the fee three days later.
        ("fee-notice:0", "Fri 2026-12-04 09:00"),
        ("reminder:3", "Fri 2026-12-04 09:00"),
        ("late-fee:0", "Mon 2026-12-07 00:00"),
        ("reminder:10", "Fri 2026-12-11 09:00"),
        // The final notice (it announces the escalation): no fee is announced after it,
        // so the monthly fee's second period is not.
        ("reminder:20", "Mon 2026-12-21 09:00"),
        // Escalation on day 60 (Saturday 30th): the next business day.
        ("escalation", "Mon 2027-02-01 09:00"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want);
    let fees: Vec<Decimal> = entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::LateFee { .. }))
        .map(|e| e.amount.amount())
        .collect();
    assert_eq!(fees, [dec!(1500)]);
    let b = ledger::balance(&inv.total, &entries).unwrap();
    assert_eq!(status(&b, &stages), InvoiceStatus::Escalated);
    assert_eq!(
        plan(&inv, &entries, &stages, t("2027-03-01T12:00:00Z")).unwrap(),
        None
    );
}

#[test]
fn a_missed_week_sends_only_the_latest_reminder() {
    let inv = invoice(Terms::default());
    let (mut entries, mut stages) = (vec![charge(&inv)], vec![]);
    // The sweep was down from before −7 until Dec 2nd, 10:00 Santiago.
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        t("2026-12-02T13:00:00Z"),
        t("2026-12-02T13:00:00Z"),
        Duration::minutes(1),
    );
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, Stage::Reminder(0, 0));
}

#[test]
fn an_invoice_issued_late_skips_the_reminders_before_it() {
    let mut inv = invoice(Terms::default());
    inv.created_at = t("2026-11-28T12:00:00Z"); // after −7, before −1
    let (mut entries, mut stages) = (vec![charge(&inv)], vec![]);
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        inv.created_at,
        t("2026-12-01T23:00:00Z"),
        Duration::minutes(30),
    );
    let stages: Vec<Stage> = log.iter().map(|l| l.0).collect();
    assert_eq!(stages, [Stage::Reminder(-1, 0), Stage::Reminder(0, 0)]);
}

#[test]
fn paid_void_and_disputed_invoices_rest() {
    let inv = invoice(fee_terms());
    let now = t("2026-12-20T13:00:00Z");
    let mut paid = vec![charge(&inv)];
    paid.push(LedgerEntry {
        seq: 2,
        kind: EntryKind::Payment {
            method: crate::PaymentMethod::Cash,
            reference: None,
        },
        amount: clp(100_000),
        at: now,
        key: Some("manual:1:payment".into()),
        by: None,
    });
    assert_eq!(plan(&inv, &paid, &[], now).unwrap(), None);
    let mut void = vec![charge(&inv)];
    void.push(LedgerEntry {
        seq: 2,
        kind: EntryKind::Void { reason: None },
        amount: clp(100_000),
        at: now,
        key: Some("void".into()),
        by: None,
    });
    assert_eq!(plan(&inv, &void, &[], now).unwrap(), None);
    let mut disputed = paid.clone();
    disputed.push(LedgerEntry {
        seq: 3,
        kind: EntryKind::DisputeHold,
        amount: clp(100_000),
        at: now,
        key: Some("stripe:dp_1:dispute-hold".into()),
        by: None,
    });
    assert_eq!(plan(&inv, &disputed, &[], now).unwrap(), None);
    assert!(plan(&inv, &[charge(&inv)], &[], now).unwrap().is_some());
}

#[test]
fn a_failed_claim_is_retried_after_its_lease_in_business_hours() {
    let inv = invoice(Terms::default());
    let entries = vec![charge(&inv)];
    let now = t("2026-11-24T12:00:00Z"); // Tue 09:00 Santiago
    let next = plan(&inv, &entries, &[], now).unwrap().unwrap();
    assert_eq!((next.stage, next.at), (Stage::Reminder(-7, 0), now));
    let mut claim = done(&inv, &next, now);
    claim.status = StageStatus::Claimed;
    let retry = plan(&inv, &entries, &[claim.clone()], now)
        .unwrap()
        .unwrap();
    assert_eq!((retry.stage, retry.retry), (Stage::Reminder(-7, 0), true));
    assert_eq!(retry.at, claim.lease_until);
    // Claimed at 18:58: the lease ends after hours, so the retry waits for the morning.
    let late = t("2026-11-24T21:58:00Z");
    claim.lease_until = late + Duration::minutes(CLAIM_LEASE_MINUTES);
    let retry = plan(&inv, &entries, &[claim], late).unwrap().unwrap();
    assert_eq!(retry.at, t("2026-11-25T12:00:00Z"));
}

#[test]
fn a_stage_failed_for_good_holds_the_chase_for_a_person() {
    let inv = invoice(Terms::default());
    let entries = vec![charge(&inv)];
    let now = t("2026-11-24T12:00:00Z");
    let next = plan(&inv, &entries, &[], now).unwrap().unwrap();
    let mut failed = done(&inv, &next, now);
    failed.status = StageStatus::Failed;
    failed.error = Some("invalid address".into());
    // Not retried after its lease, and nothing after it: not the next reminder, not a fee,
    // not the escalation, however late it gets.
    for later in [
        "2026-11-25T12:00:00Z",
        "2026-12-15T12:00:00Z",
        "2027-03-01T12:00:00Z",
    ] {
        assert_eq!(
            plan(&inv, &entries, &[failed.clone()], t(later)).unwrap(),
            None
        );
    }
    // A claimed (transient) failure is retried, as before.
    failed.status = StageStatus::Claimed;
    assert!(
        plan(&inv, &entries, &[failed], t("2026-11-25T12:00:00Z"))
            .unwrap()
            .is_some()
    );
}

#[test]
fn business_hours_follow_daylight_saving() {
    // Santiago moves to summer time (UTC−3) in September; in July it is UTC−4.
    let hours = BusinessHours::default();
    let tz = chrono_tz::America::Santiago;
    let july = next_business_moment(&hours, tz, t("2026-07-04T12:00:00Z")); // Saturday
    assert_eq!(july, t("2026-07-06T13:00:00Z"));
    let dec = next_business_moment(&hours, tz, t("2026-12-05T12:00:00Z"));
    assert_eq!(dec, t("2026-12-07T12:00:00Z"));
    assert!(in_business_hours(&hours, tz, t("2026-12-07T21:59:00Z")));
    assert!(!in_business_hours(&hours, tz, t("2026-12-07T22:00:00Z")));
}

#[test]
fn early_payment_discount_window() {
    let terms = Terms {
        early_payment_discount: Some(EarlyPaymentDiscount {
            percent: dec!(2),
            within_days: 10,
        }),
        ..Terms::default()
    };
    let inv = invoice(terms);
    let pay = |units: i64, at: DateTime<Utc>| {
        let mut entries = vec![charge(&inv)];
        entries.push(LedgerEntry {
            seq: 2,
            kind: EntryKind::Payment {
                method: crate::PaymentMethod::Transfer,
                reference: None,
            },
            amount: clp(units),
            at,
            key: Some("manual:x:payment".into()),
            by: None,
        });
        entries
    };
    // Issued Nov 2nd, 10 days: paid by the end of Nov 12th in Santiago.
    let inside = t("2026-11-13T02:59:00Z");
    let d = early_payment_discount(&inv, &pay(98_000, inside), inside)
        .unwrap()
        .unwrap();
    assert_eq!((&d.kind, d.amount), (&EntryKind::Discount, clp(2_000)));
    let mut entries = pay(98_000, inside);
    entries.push(crate::ledger::next_entry(&entries, d, inside));
    assert_eq!(
        ledger::balance(&inv.total, &entries).unwrap().status,
        InvoiceStatus::Paid
    );
    // Too late, too little, or already paid in full: nothing.
    let outside = t("2026-11-13T03:00:00Z");
    assert_eq!(
        early_payment_discount(&inv, &pay(98_000, outside), outside).unwrap(),
        None
    );
    assert_eq!(
        early_payment_discount(&inv, &pay(97_999, inside), inside).unwrap(),
        None
    );
    assert_eq!(
        early_payment_discount(&inv, &pay(100_000, inside), inside).unwrap(),
        None
    );
}

#[test]
fn stages_round_trip_as_text() {
    for s in [
        Stage::Reminder(-7, 0),
        Stage::Reminder(20, 0),
        Stage::FeeNotice(2),
        Stage::LateFee(0),
        Stage::Escalation,
    ] {
        assert_eq!(s.to_string().parse::<Stage>().unwrap(), s);
    }
    assert!("reminder:x".parse::<Stage>().is_err());
    assert!("later".parse::<Stage>().is_err());
}

fn policy() -> impl Strategy<Value = Terms> {
    (
        prop::collection::btree_set(-20i32..40, 1..7),
        0u32..6,
        prop::option::of((
            any::<bool>(),
            1u32..5000,
            any::<bool>(),
            prop::option::of(1u32..10_000),
            0u32..6,
        )),
        41u32..120,
        (
            6u32..12,
            1u32..10,
            prop::collection::btree_set(0u32..7, 1..7),
        ),
    )
        .prop_map(
            |(offsets, grace, fee, escalate, (start, len, days))| Terms {
                grace_days: grace,
                late_fee: fee.map(|(fixed, value, monthly, cap, notice)| LateFee {
                    kind: if fixed {
                        LateFeeKind::Fixed
                    } else {
                        LateFeeKind::Percent
                    },
                    value: if fixed {
                        Decimal::from(value)
                    } else {
                        Decimal::from(value % 100 + 1) / dec!(10)
                    },
                    recurrence: if monthly {
                        Recurrence::Monthly
                    } else {
                        Recurrence::Once
                    },
                    cap: cap.map(Decimal::from),
                    notice_days: notice,
                }),
                early_payment_discount: None,
                reminder_offsets: offsets.into_iter().collect(),
                escalate_after_days: escalate,
                business_hours: BusinessHours {
                    start: NaiveTime::from_hms_opt(start, 0, 0).unwrap(),
                    end: NaiveTime::from_hms_opt(start + len, 30, 0).unwrap(),
                    days: days
                        .into_iter()
                        .map(|d| Weekday::try_from(d as u8).unwrap())
                        .collect(),
                },
                ..Terms::default()
            },
        )
}

const ZONES: [Tz; 5] = [
    chrono_tz::America::Santiago,
    chrono_tz::America::Mexico_City,
    chrono_tz::America::New_York,
    chrono_tz::America::Bogota,
    chrono_tz::Europe::Madrid,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever the policy, zone, sweep rhythm and payments: no stage twice, reminders in
    /// order, messages only in business hours, fees only after their notice and grace,
    /// never more than announced or capped, and nothing after payment or escalation.
    #[test]
    fn sweeps_keep_the_dunning_invariants(
        terms in policy(),
        zone in 0usize..ZONES.len(),
        steps in prop::collection::vec((1i64..4000, prop::option::of(1i64..60_000)), 1..150),
        start_offset in 0i64..(24 * 60),
    ) {
        let mut inv = invoice(terms);
        inv.timezone = ZONES[zone];
        let mut entries = vec![charge(&inv)];
        let mut stages: Vec<StageRecord> = vec![];
        let mut now = inv.created_at + Duration::minutes(start_offset);
        let mut seen = HashSet::new();
        let mut last_reminder = i32::MIN;
        let hours = inv.terms.business_hours.clone();
        // Like the real sweep, the invoice is read only when its agenda entry is due (and
        // replanned by each payment): nothing may fall due before the agenda says.
        let mut agenda = plan(&inv, &entries, &stages, now).unwrap().map(|n| n.at);
        for (step, payment) in steps {
            if plan(&inv, &entries, &stages, now).unwrap().is_some_and(|n| n.is_due(now)) {
                prop_assert!(agenda.is_some_and(|a| a <= now), "due at {now}, agenda {agenda:?}");
            }
            let read = agenda.is_some_and(|a| a <= now);
            for _ in 0..6 {
                if !read { break; }
                let Some(next) = plan(&inv, &entries, &stages, now).unwrap() else { break };
                if next.stage.is_message() {
                    prop_assert!(in_business_hours(&hours, inv.timezone, next.at), "{next:?} outside hours");
                }
                prop_assert!(next.at >= now);
                if !next.is_due(now) { break; }
                prop_assert!(seen.insert(next.stage), "{} twice", next.stage);
                match next.stage {
                    Stage::Reminder(o, _) => {
                        prop_assert!(o > last_reminder, "reminders out of order");
                        last_reminder = o;
                        if o == inv.terms.final_notice_offset() {
                            // The final notice gives its days, and not before the policy's.
                            let announced = next.charge_on.unwrap();
                            let local_now = now.with_timezone(&inv.timezone).date_naive();
                            prop_assert!(announced >= add_days(local_now, ESCALATION_NOTICE_DAYS));
                            prop_assert!(announced >= add_days(inv.due_date, i64::from(inv.terms.escalate_after_days)));
                        }
                    }
                    Stage::LateFee(n) => {
                        let notice = stages.iter().find(|s| s.stage == Stage::FeeNotice(n));
                        prop_assert!(notice.is_some_and(|s| s.is_done()), "fee before its notice");
                        let notice = notice.unwrap();
                        let fee = inv.terms.late_fee.as_ref().unwrap();
                        let sent_on = notice.done_at.unwrap().with_timezone(&inv.timezone).date_naive();
                        let local_now = now.with_timezone(&inv.timezone).date_naive();
                        prop_assert!(local_now >= add_days(sent_on, i64::from(fee.notice_days)));
                        prop_assert!(local_now > add_days(inv.due_date, i64::from(inv.terms.grace_days + fee.notice_days)));
                        let amount = next.amount.unwrap();
                        prop_assert!(amount.is_positive());
                        prop_assert!(amount.amount() <= notice.amount.unwrap().amount(), "more than announced");
                        entries.push(LedgerEntry {
                            seq: entries.len() as u32 + 1,
                            kind: EntryKind::LateFee { period: n },
                            amount,
                            at: now,
                            key: next.stage.ledger_key(),
                            by: None,
                        });
                        let b = ledger::balance(&inv.total, &entries).unwrap();
                        if let Some(cap) = fee.cap {
                            prop_assert!(b.late_fees.amount() <= cap, "over the cap");
                        }
                    }
                    Stage::FeeNotice(_) => {
                        prop_assert!(next.charge_on.is_some());
                        let final_notice = Stage::Reminder(inv.terms.final_notice_offset(), 0);
                        prop_assert!(!seen.contains(&final_notice), "a fee announced after the final notice");
                    }
                    Stage::Escalation => {
                        // Only after the final notice went and the date it announced came.
                        let final_notice = Stage::Reminder(inv.terms.final_notice_offset(), 0);
                        let notice = stages.iter().find(|s| s.stage == final_notice);
                        prop_assert!(notice.is_some_and(|s| s.is_done()), "escalated without the final notice");
                        let local_now = now.with_timezone(&inv.timezone).date_naive();
                        prop_assert!(local_now >= notice.unwrap().charge_on.unwrap(), "escalated before the announced day");
                    }
                    other => prop_assert!(false, "{other} without any promise or plan"),
                }
                stages.retain(|s| s.stage != next.stage);
                stages.push(done(&inv, &next, now));
            }
            if let Some(units) = payment {
                entries.push(LedgerEntry {
                    seq: entries.len() as u32 + 1,
                    kind: EntryKind::Payment { method: crate::PaymentMethod::Cash, reference: None },
                    amount: clp(units),
                    at: now,
                    key: Some(format!("manual:{}:payment", entries.len())),
                    by: None,
                });
            }
            if read || payment.is_some() {
                agenda = plan(&inv, &entries, &stages, now).unwrap().map(|n| n.at);
            }
            let b = ledger::balance(&inv.total, &entries).unwrap();
            if b.amount_due.is_zero() || stages.iter().any(|s| s.stage == Stage::Escalation) {
                prop_assert_eq!(plan(&inv, &entries, &stages, now).unwrap(), None);
            }
            now += Duration::minutes(step * 7);
            let _ = now.minute();
        }
    }
}

/// After an outage (or `sweep --at` far ahead) with one reminder sent, the next sweep sends
/// the fee notice and the final notice, never the escalation: that comes on the day the
/// final notice announced, at least ESCALATION_NOTICE_DAYS later.
#[test]
fn a_late_sweep_sends_the_final_notice_before_escalating() {
    let inv = invoice(fee_terms());
    let mut entries = vec![charge(&inv)];
    let mut stages = vec![];
    let first = run(
        &inv,
        &mut entries,
        &mut stages,
        t("2026-11-24T12:00:00Z"),
        t("2026-11-24T13:00:00Z"),
        Duration::minutes(30),
    );
    assert_eq!(first[0].0, Stage::Reminder(-7, 0));
    // Nothing runs until 90 days after the due date (Tue 2026-12-01).
    let late = run(
        &inv,
        &mut entries,
        &mut stages,
        t("2027-03-01T13:00:00Z"),
        t("2027-03-20T13:00:00Z"),
        Duration::hours(6),
    );
    let order: Vec<Stage> = late.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        order,
        [
            Stage::FeeNotice(0),
            Stage::Reminder(20, 0),
            Stage::LateFee(0),
            Stage::Escalation
        ],
        "{late:?}"
    );
    let final_notice = stages
        .iter()
        .find(|s| s.stage == Stage::Reminder(20, 0))
        .unwrap();
    assert_eq!(final_notice.charge_on, Some(date("2027-03-08")));
    let escalated = late[3].1.with_timezone(&inv.timezone).date_naive();
    assert_eq!(escalated, date("2027-03-08"));
}

/// A policy without a reminder after the due date still sends a final notice, a week
/// before the escalation day, before escalating.
#[test]
fn no_escalation_without_a_final_notice() {
    let inv = invoice(Terms {
        reminder_offsets: vec![-1, 0],
        escalate_after_days: 30,
        ..Terms::default()
    });
    let mut entries = vec![charge(&inv)];
    let mut stages = vec![];
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        t("2026-11-29T12:00:00Z"),
        t("2027-01-31T12:00:00Z"),
        Duration::hours(3),
    );
    let order: Vec<Stage> = log.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        order,
        [
            Stage::Reminder(-1, 0),
            Stage::Reminder(0, 0),
            Stage::Reminder(23, 0),
            Stage::Escalation
        ]
    );
    let local = |i: usize| log[i].1.with_timezone(&inv.timezone).date_naive();
    assert_eq!(local(2), date("2026-12-24"));
    assert_eq!(local(3), date("2026-12-31"));
}

/// An invoice created without being e-mailed is not chased: no reminder, fee or
/// escalation, however late. Once sent, the chase starts the next business day with the
/// latest reminder due, as for an invoice issued that moment.
#[test]
fn an_unsent_invoice_is_not_chased_until_sent() {
    let mut inv = invoice(fee_terms());
    inv.held_until_sent = true;
    let entries = vec![charge(&inv)];
    for at in [
        "2026-11-24T12:00:00Z",
        "2026-12-04T12:00:00Z",
        "2027-03-01T12:00:00Z",
    ] {
        assert_eq!(plan(&inv, &entries, &[], t(at)).unwrap(), None, "{at}");
    }
    // Sent on Mon 2026-12-14 at 16:00 Santiago, 13 days overdue.
    let sent_at = t("2026-12-14T19:00:00Z");
    let sent = StageRecord {
        stage: Stage::Sent,
        ..done(
            &inv,
            &Next {
                stage: Stage::Sent,
                at: sent_at,
                amount: None,
                charge_on: None,
                retry: false,
            },
            sent_at,
        )
    };
    let next = plan(&inv, &entries, std::slice::from_ref(&sent), sent_at)
        .unwrap()
        .unwrap();
    assert_eq!(next.stage, Stage::FeeNotice(0));
    assert_eq!(next.at, t("2026-12-15T12:00:00Z"), "the next day, 09:00");
    let (mut entries, mut stages) = (entries, vec![sent]);
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        sent_at,
        t("2026-12-16T00:00:00Z"),
        Duration::minutes(30),
    );
    let order: Vec<Stage> = log.iter().map(|(s, _)| *s).collect();
    assert_eq!(order, [Stage::FeeNotice(0), Stage::Reminder(10, 0)]);
}

proptest! {
    /// What the client is told to pay for the discount is exactly what earns it: that much
    /// on the last day settles the invoice; one minor unit less does not, nor does it a day
    /// late.
    #[test]
    fn the_discount_offered_is_the_discount_earned(
        total in 1_000i64..10_000_000,
        percent in 1u32..30,
        within in 0u32..20,
        partial in 0i64..1000,
    ) {
        let mut inv = invoice(Terms {
            early_payment_discount: Some(EarlyPaymentDiscount {
                percent: Decimal::from(percent),
                within_days: within,
            }),
            ..Terms::default()
        });
        inv.total = clp(total);
        let mut entries = vec![charge(&inv)];
        let issued = inv.created_at;
        let pay = |entries: &[LedgerEntry], units: i64, at: DateTime<Utc>| {
            let mut e = entries.to_vec();
            e.push(LedgerEntry {
                seq: e.len() as u32 + 1,
                kind: EntryKind::Payment { method: crate::PaymentMethod::Cash, reference: None },
                amount: clp(units),
                at,
                key: Some(format!("manual:{}:payment", e.len())),
                by: None,
            });
            e
        };
        // A first payment before the offer is read.
        if partial > 0 && partial < total / 2 {
            entries = pay(&entries, partial, issued);
        }
        let Some((to_pay, last_day)) = discount_offer(&inv, &entries, issued).unwrap() else {
            return Ok(());
        };
        prop_assert_eq!(last_day, add_days(inv.issue_date, i64::from(within)));
        let last_moment = local_moment(inv.timezone, add_days(last_day, 1), NaiveTime::MIN) - Duration::seconds(1);
        let units = to_pay.to_minor_units().unwrap();
        let paid = pay(&entries, units, last_moment);
        let d = early_payment_discount(&inv, &paid, last_moment).unwrap();
        prop_assert!(d.is_some(), "paying {to_pay} by {last_day} earns it");
        let short = pay(&entries, units - 1, last_moment);
        prop_assert!(early_payment_discount(&inv, &short, last_moment).unwrap().is_none());
        let late = last_moment + Duration::seconds(1);
        prop_assert!(early_payment_discount(&inv, &pay(&entries, units, late), late).unwrap().is_none());
        prop_assert_eq!(discount_offer(&inv, &entries, late).unwrap(), None);
    }
}

/// Paused from 2026-11-20 until 2026-12-10: nothing is sent or charged in between (the −7,
/// −1, 0 and +3 reminders, the fee notice), and on the 10th at the opening of business
/// the chase resumes with the latest reminder due; a resume ends a pause early.
#[test]
fn a_paused_invoice_waits_for_the_pauses_day() {
    let inv = invoice(fee_terms());
    let mut entries = vec![charge(&inv)];
    let mut stages = Vec::new();
    let until = date("2026-12-10");
    let pause = crate::pause::new_pause(
        inv.currency,
        &entries,
        date("2026-11-20"),
        until,
        "Cliente pidió esperar la OC",
    )
    .unwrap();
    entries.push(crate::ledger::next_entry(
        &entries,
        pause,
        t("2026-11-20T12:00:00Z"),
    ));
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        t("2026-11-20T12:00:00Z"),
        t("2026-12-09T23:59:00Z"),
        Duration::hours(1),
    );
    assert!(log.is_empty(), "nothing while paused: {log:?}");
    let next = plan(&inv, &entries, &stages, t("2026-12-09T23:00:00Z"))
        .unwrap()
        .unwrap();
    assert_eq!(
        next.at,
        t("2026-12-10T12:00:00Z"),
        "09:00 in Santiago on the 10th"
    );
    let log = run(
        &inv,
        &mut entries,
        &mut stages,
        t("2026-12-10T00:00:00Z"),
        t("2026-12-10T23:00:00Z"),
        Duration::hours(1),
    );
    assert_eq!(
        log.first().map(|(_, at)| *at),
        Some(t("2026-12-10T12:00:00Z")),
        "{log:?}"
    );

    // Paused again, then resumed the next day: the chase is back at once.
    let mut entries = vec![charge(&inv)];
    let pause =
        crate::pause::new_pause(inv.currency, &entries, date("2026-12-02"), until, "x").unwrap();
    entries.push(crate::ledger::next_entry(
        &entries,
        pause,
        t("2026-12-02T12:00:00Z"),
    ));
    assert!(
        plan(&inv, &entries, &[], t("2026-12-03T13:00:00Z"))
            .unwrap()
            .unwrap()
            .at
            >= t("2026-12-10T12:00:00Z")
    );
    let resume = crate::pause::new_resume(inv.currency, &entries, date("2026-12-03")).unwrap();
    entries.push(crate::ledger::next_entry(
        &entries,
        resume,
        t("2026-12-03T13:00:00Z"),
    ));
    let next = plan(&inv, &entries, &[], t("2026-12-03T13:00:00Z"))
        .unwrap()
        .unwrap();
    assert!(next.is_due(t("2026-12-03T13:00:00Z")), "{next:?}");
}
