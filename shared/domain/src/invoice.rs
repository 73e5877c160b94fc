//! Invoices: numbered, exact, with terms stored now and enforced by the dunning engine.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::calendar::{BusinessHours, add_days, days_between};
use crate::ids::{ClientId, InvoiceId};
use crate::money::{Currency, Money};
use crate::payref::PaymentReference;
use crate::validation::{FieldErrors, required_text};

pub const MAX_LINES: usize = 200;
pub const DEFAULT_GRACE_DAYS: u32 = 2;
pub const DEFAULT_NOTICE_DAYS: u32 = 3;
/// Longest payment term accepted between issue and due date (guards typos like 2206).
pub const MAX_TERM_DAYS: i64 = 3 * 365;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Line {
    pub description: String,
    pub quantity: Decimal,
    pub unit_amount: Money,
    /// quantity × unit amount, rounded half-even to the currency.
    pub amount: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LateFeeKind {
    /// A fixed amount in the invoice's currency.
    Fixed,
    /// A percentage of the overdue amount.
    Percent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    Once,
    Monthly,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LateFee {
    pub kind: LateFeeKind,
    /// The fixed amount, or the percentage ("1.5" is 1.5 %).
    pub value: Decimal,
    #[serde(default = "once")]
    pub recurrence: Recurrence,
    /// Most that late fees may add up to on this invoice, in its currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<Decimal>,
    /// Days between the notice and the charge.
    #[serde(default = "default_notice_days")]
    pub notice_days: u32,
}

fn once() -> Recurrence {
    Recurrence::Once
}

fn default_notice_days() -> u32 {
    DEFAULT_NOTICE_DAYS
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EarlyPaymentDiscount {
    /// Percentage off when paid within `within_days` of the issue date.
    pub percent: Decimal,
    pub within_days: u32,
}

/// What an invoice is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A sale: goods or services billed.
    #[default]
    Order,
    /// A deposit asked for before credit is given.
    Deposit,
}

impl Purpose {
    pub fn is_order(&self) -> bool {
        *self == Purpose::Order
    }
}

/// Reminder offsets in days from the due date, business default.
pub const DEFAULT_REMINDER_OFFSETS: [i32; 6] = [-7, -1, 0, 3, 10, 20];
pub const DEFAULT_ESCALATE_AFTER_DAYS: u32 = 60;
/// Furthest a promise to pay may reach, in days from today.
pub const DEFAULT_PROMISE_MAX_DAYS: u32 = 15;
/// Promises that may be open on one invoice at once.
pub const DEFAULT_MAX_OPEN_PROMISES: u32 = 2;
/// Most monthly instalments a client may choose on the pay page (2 up to this; 0: none).
pub const DEFAULT_PLAN_MAX_INSTALMENTS: u32 = 6;
/// The most days overdue an invoice may be for its client to choose a plan themselves.
pub const DEFAULT_PLAN_MAX_DAYS_OVERDUE: u32 = 30;
/// Most instalments any plan may have (the business may set up to this many).
pub const MAX_PLAN_INSTALMENTS: u32 = 36;
pub const MAX_REMINDERS: usize = 12;
/// The fewest days the final notice gives before the escalation it announces.
pub const ESCALATION_NOTICE_DAYS: i64 = 7;

/// The dunning policy of an invoice: its terms (grace, late fee, early-payment discount)
/// and how it is chased (reminders, business hours, escalation). Resolved when the invoice
/// is issued (business default, then the client's overrides, then the invoice's) and
/// stored with it, so what was promised is what is enforced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Terms {
    #[serde(default = "default_grace_days")]
    pub grace_days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_fee: Option<LateFee>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_payment_discount: Option<EarlyPaymentDiscount>,
    /// Days relative to the due date on which reminders go out, ascending.
    #[serde(default = "default_offsets")]
    pub reminder_offsets: Vec<i32>,
    /// Days past due after which the invoice is escalated.
    #[serde(default = "default_escalate")]
    pub escalate_after_days: u32,
    #[serde(default)]
    pub business_hours: BusinessHours,
    /// How far ahead a promise to pay may be dated, in days.
    #[serde(default = "default_promise_max_days")]
    pub promise_max_days: u32,
    /// How many promises may be open on one invoice at once.
    #[serde(default = "default_max_open_promises")]
    pub max_open_promises: u32,
    /// Most monthly instalments a client may choose on the pay page (0: plans only by
    /// the business).
    #[serde(default = "default_plan_max_instalments")]
    pub plan_max_instalments: u32,
    /// The most days overdue an invoice may be for its client to choose a plan on the pay
    /// page (later, plans are only the business's).
    #[serde(default = "default_plan_max_days_overdue")]
    pub plan_max_days_overdue: u32,
    /// A plan the client chooses is only a request until the business makes it (it is told
    /// with the plan's terms, and the client that it waits for approval).
    #[serde(default)]
    pub plan_needs_approval: bool,
}

fn default_plan_max_days_overdue() -> u32 {
    DEFAULT_PLAN_MAX_DAYS_OVERDUE
}

fn default_promise_max_days() -> u32 {
    DEFAULT_PROMISE_MAX_DAYS
}

fn default_max_open_promises() -> u32 {
    DEFAULT_MAX_OPEN_PROMISES
}

fn default_plan_max_instalments() -> u32 {
    DEFAULT_PLAN_MAX_INSTALMENTS
}

fn default_grace_days() -> u32 {
    DEFAULT_GRACE_DAYS
}

fn default_offsets() -> Vec<i32> {
    DEFAULT_REMINDER_OFFSETS.to_vec()
}

fn default_escalate() -> u32 {
    DEFAULT_ESCALATE_AFTER_DAYS
}

impl Terms {
    /// The reminder that is the final notice (it announces the escalation date): the last
    /// one after the due date, or, when the policy has none, one the notice's days before
    /// the escalation day (the day after the due date at the earliest).
    pub fn final_notice_offset(&self) -> i32 {
        match self.reminder_offsets.last() {
            Some(o) if *o > 0 => *o,
            _ => {
                let notice = u32::try_from(ESCALATION_NOTICE_DAYS).unwrap_or(0);
                let day = self.escalate_after_days.saturating_sub(notice).max(1);
                i32::try_from(day).unwrap_or(i32::MAX)
            }
        }
    }

    /// The reminders' offsets with the final notice among them, ascending.
    pub fn reminder_schedule(&self) -> Vec<i32> {
        let mut offsets = self.reminder_offsets.clone();
        let last = self.final_notice_offset();
        if !offsets.contains(&last) {
            offsets.push(last);
        }
        offsets
    }
}

impl Default for Terms {
    fn default() -> Self {
        Terms {
            grace_days: DEFAULT_GRACE_DAYS,
            late_fee: None,
            early_payment_discount: None,
            reminder_offsets: default_offsets(),
            escalate_after_days: DEFAULT_ESCALATE_AFTER_DAYS,
            business_hours: BusinessHours::default(),
            promise_max_days: DEFAULT_PROMISE_MAX_DAYS,
            max_open_promises: DEFAULT_MAX_OPEN_PROMISES,
            plan_max_instalments: DEFAULT_PLAN_MAX_INSTALMENTS,
            plan_max_days_overdue: DEFAULT_PLAN_MAX_DAYS_OVERDUE,
            plan_needs_approval: false,
        }
    }
}

/// Overrides of a policy, as the business default, a client or an invoice gives them:
/// every field is optional; `late_fee: null` and `early_payment_discount: null` remove one.
/// Days are signed here so a negative one is reported against its field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermsInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_days: Option<i64>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub late_fee: Option<Option<LateFeeInput>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub early_payment_discount: Option<Option<DiscountInput>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_offsets: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promise_max_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_promises: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_max_instalments: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_max_days_overdue: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_needs_approval: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LateFeeInput {
    pub kind: LateFeeKind,
    pub value: Decimal,
    #[serde(default = "once")]
    pub recurrence: Recurrence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountInput {
    pub percent: Decimal,
    pub within_days: i64,
}

/// A field that is present (even as `null`) deserializes to `Some`.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A whole number of days in `0..=max`, reported against `field` otherwise.
fn days(errors: &mut FieldErrors, field: &str, v: i64, max: i64) -> u32 {
    bounded(errors, field, v, max, " days")
}

/// A whole number in `0..=max` (`unit` names what is counted in the message).
fn bounded(errors: &mut FieldErrors, field: &str, v: i64, max: i64, unit: &str) -> u32 {
    if v < 0 {
        errors.add(field, "must not be negative");
        0
    } else if v > max {
        errors.add(field, format!("must be at most {max}{unit}"));
        0
    } else {
        v as u32
    }
}

impl TermsInput {
    /// Applies these overrides on top of `base`, validating what they set. `currency` is
    /// the invoice's, when known (fixed fees and caps must fit it).
    pub fn apply(
        &self,
        base: &Terms,
        errors: &mut FieldErrors,
        prefix: &str,
        currency: Option<Currency>,
    ) -> Terms {
        let f = |name: &str| format!("{prefix}.{name}");
        let mut t = base.clone();
        if let Some(g) = self.grace_days {
            t.grace_days = days(errors, &f("grace_days"), g, 90);
        }
        if let Some(fee) = &self.late_fee {
            t.late_fee = fee.as_ref().map(|fee| LateFee {
                kind: fee.kind,
                value: fee.value,
                recurrence: fee.recurrence,
                cap: fee.cap,
                notice_days: fee.notice_days.map_or(DEFAULT_NOTICE_DAYS, |n| {
                    days(errors, &f("late_fee.notice_days"), n, 60)
                }),
            });
        }
        if let Some(d) = &self.early_payment_discount {
            t.early_payment_discount = d.as_ref().map(|d| EarlyPaymentDiscount {
                percent: d.percent,
                within_days: days(
                    errors,
                    &f("early_payment_discount.within_days"),
                    d.within_days,
                    365,
                ),
            });
        }
        if let Some(offsets) = &self.reminder_offsets {
            let field = f("reminder_offsets");
            if offsets.len() > MAX_REMINDERS {
                errors.add(
                    &field,
                    format!("must have at most {MAX_REMINDERS} reminders"),
                );
            }
            if offsets.iter().any(|o| !(-90..=365).contains(o)) {
                errors.add(
                    &field,
                    "each must be between -90 and 365 days from the due date",
                );
            } else if offsets
                .iter()
                .zip(offsets.iter().skip(1))
                .any(|(a, b)| a >= b)
            {
                errors.add(&field, "must be in ascending order, without repeats");
            }
            t.reminder_offsets = offsets
                .iter()
                .map(|o| (*o).clamp(-90, 365) as i32)
                .collect();
        }
        if let Some(e) = self.escalate_after_days {
            t.escalate_after_days = days(errors, &f("escalate_after_days"), e, 730);
        }
        if let Some(h) = &self.business_hours {
            t.business_hours = h.clone();
        }
        if let Some(d) = self.promise_max_days {
            t.promise_max_days = days(errors, &f("promise_max_days"), d, 365);
        }
        if let Some(n) = self.max_open_promises {
            t.max_open_promises = bounded(errors, &f("max_open_promises"), n, 10, "");
        }
        if let Some(n) = self.plan_max_instalments {
            let max = i64::from(MAX_PLAN_INSTALMENTS);
            t.plan_max_instalments = bounded(errors, &f("plan_max_instalments"), n, max, "");
        }
        if let Some(d) = self.plan_max_days_overdue {
            t.plan_max_days_overdue = days(errors, &f("plan_max_days_overdue"), d, 365);
        }
        if let Some(a) = self.plan_needs_approval {
            t.plan_needs_approval = a;
        }
        t.validate(errors, prefix, currency);
        t
    }
}

impl Terms {
    /// Checks the policy as a whole; reports under `prefix` (`terms`).
    pub fn validate(&self, errors: &mut FieldErrors, prefix: &str, currency: Option<Currency>) {
        let f = |name: &str| format!("{prefix}.{name}");
        if let Some(fee) = &self.late_fee {
            if fee.value <= Decimal::ZERO {
                errors.add(f("late_fee.value"), "must be greater than zero");
            }
            match (fee.kind, currency) {
                (LateFeeKind::Percent, _) if fee.value > Decimal::ONE_HUNDRED => {
                    errors.add(f("late_fee.value"), "a percentage must be at most 100");
                }
                (LateFeeKind::Fixed, Some(c)) if !c.fits(fee.value) => errors.add(
                    f("late_fee.value"),
                    format!("has more decimals than {c} allows"),
                ),
                _ => {}
            }
            if let Some(cap) = fee.cap {
                if cap <= Decimal::ZERO {
                    errors.add(f("late_fee.cap"), "must be greater than zero");
                } else if currency.is_some_and(|c| !c.fits(cap)) {
                    errors.add(
                        f("late_fee.cap"),
                        "has more decimals than the currency allows",
                    );
                }
            }
        }
        if let Some(d) = &self.early_payment_discount {
            if d.percent <= Decimal::ZERO || d.percent >= Decimal::ONE_HUNDRED {
                errors.add(
                    f("early_payment_discount.percent"),
                    "must be more than 0 and less than 100",
                );
            }
            if d.within_days == 0 {
                errors.add(
                    f("early_payment_discount.within_days"),
                    "must be at least 1 day",
                );
            }
        }
        if self.escalate_after_days == 0 {
            errors.add(f("escalate_after_days"), "must be at least 1 day");
        } else if self
            .reminder_offsets
            .last()
            .is_some_and(|last| i64::from(*last) >= i64::from(self.escalate_after_days))
        {
            errors.add(
                f("escalate_after_days"),
                "must come after the last reminder",
            );
        }
        let h = &self.business_hours;
        if h.start >= h.end {
            errors.add(f("business_hours.end"), "must be after the start");
        }
        if h.days.is_empty() {
            errors.add(f("business_hours.days"), "must name at least one day");
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: InvoiceId,
    /// Human number, sequential per business: "F-000123".
    pub number: String,
    /// The sequence behind the number (1, 2, 3, …): allocated atomically by the store.
    pub seq: u64,
    pub client_id: ClientId,
    pub currency: Currency,
    pub lines: Vec<Line>,
    pub subtotal: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<Decimal>,
    pub tax: Money,
    pub total: Money,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub terms: Terms,
    /// The client's time zone when the invoice was issued: its dates, business hours and
    /// discount windows are read in it.
    #[serde(default = "default_timezone")]
    pub timezone: chrono_tz::Tz,
    pub payment_reference: PaymentReference,
    pub created_at: DateTime<Utc>,
    /// A sale, or a deposit asked for before credit is given.
    #[serde(default, skip_serializing_if = "Purpose::is_order")]
    pub purpose: Purpose,
    /// Created without being e-mailed: nothing is sent or charged until it is sent
    /// ([`Stage::Sent`](crate::Stage::Sent)), so a client's first word of it is never a
    /// reminder. (Invoices stored before this field were e-mailed or chased as they were.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held_until_sent: bool,
}

fn default_timezone() -> chrono_tz::Tz {
    crate::calendar::DEFAULT_TIMEZONE
}

impl Invoice {
    /// What the invoice is for, in a few words: the first line, and how many more.
    pub fn concept(&self) -> &str {
        self.lines
            .first()
            .map(|l| l.description.as_str())
            .unwrap_or_default()
    }
}

/// Formats a sequence number: prefix + six digits at least ("F-000123").
pub fn format_number(prefix: &str, seq: u64) -> String {
    format!("{prefix}{seq:06}")
}

/// An invoice as asked for by the caller, before validation.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoice {
    pub client_id: String,
    pub currency: String,
    pub lines: Vec<NewLine>,
    #[serde(default)]
    pub tax_rate: Option<Decimal>,
    #[serde(default)]
    pub issue_date: Option<NaiveDate>,
    /// The day it is due (YYYY-MM-DD); or give `days_until_due`.
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
    /// Days from the issue date to the due date ("30 días"), instead of `due_date`.
    #[serde(default)]
    pub days_until_due: Option<i64>,
    #[serde(default)]
    pub terms: Option<TermsInput>,
    /// E-mail the invoice to the client now.
    #[serde(default)]
    pub send: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    pub description: String,
    pub quantity: Decimal,
    pub unit_amount: Decimal,
}

/// A validated invoice that has not been numbered yet.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidInvoice {
    pub client_id: ClientId,
    pub currency: Currency,
    pub lines: Vec<Line>,
    pub subtotal: Money,
    pub tax_rate: Option<Decimal>,
    pub tax: Money,
    pub total: Money,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub terms: Terms,
    pub send: bool,
    pub purpose: Purpose,
}

impl NewInvoice {
    /// Validates everything that does not need the store. `today` is the issue date used
    /// when none is given (the caller computes it in the client's time zone).
    pub fn validate(&self, today: NaiveDate, base: &Terms) -> Result<ValidInvoice, FieldErrors> {
        let mut errors = FieldErrors::new();
        let client_id = ClientId::parse(self.client_id.trim());
        if client_id.is_none() {
            errors.add("client_id", "must be a client id (cli_…)");
        }
        let currency = Currency::parse(&self.currency)
            .map_err(|e| errors.add("currency", e.to_string()))
            .ok();

        if self.lines.is_empty() {
            errors.add("lines", "must have at least one line");
        } else if self.lines.len() > MAX_LINES {
            errors.add("lines", format!("must have at most {MAX_LINES} lines"));
        }
        let mut lines = Vec::with_capacity(self.lines.len().min(MAX_LINES));
        for (i, l) in self.lines.iter().take(MAX_LINES).enumerate() {
            let field = |f: &str| format!("lines[{i}].{f}");
            let description =
                required_text(&mut errors, &field("description"), &l.description, 500);
            if l.quantity <= Decimal::ZERO {
                errors.add(field("quantity"), "must be greater than zero");
            } else if l.quantity > Decimal::from(1_000_000_000)
                || l.quantity.normalize().scale() > 6
            {
                errors.add(
                    field("quantity"),
                    "must be at most 1000000000 with at most 6 decimals",
                );
            }
            if l.unit_amount < Decimal::ZERO {
                errors.add(field("unit_amount"), "must not be negative");
            }
            let Some(currency) = currency else { continue };
            let unit_amount = match Money::new(l.unit_amount, currency) {
                Ok(m) => m,
                Err(e) => {
                    errors.add(field("unit_amount"), e.to_string());
                    continue;
                }
            };
            match unit_amount.checked_mul(l.quantity) {
                Ok(amount) => lines.push(Line {
                    description,
                    quantity: l.quantity.normalize(),
                    unit_amount,
                    amount,
                }),
                Err(_) => errors.add(field("quantity"), "quantity × unit amount is too large"),
            }
        }

        if let Some(rate) = self.tax_rate
            && (rate < Decimal::ZERO || rate > Decimal::ONE_HUNDRED)
        {
            errors.add("tax_rate", "must be a percentage between 0 and 100");
        }
        let issue_date = self.issue_date.unwrap_or(today);
        if days_between(today, issue_date).abs() > MAX_TERM_DAYS {
            errors.add("issue_date", "must be within three years of today");
        }
        let due_date = match (self.due_date, self.days_until_due) {
            (Some(_), Some(_)) => {
                errors.add(
                    "days_until_due",
                    "give due_date or days_until_due, not both",
                );
                issue_date
            }
            (None, None) => {
                errors.add("due_date", "is required (or days_until_due)");
                issue_date
            }
            (Some(due), None) => {
                if due < issue_date {
                    errors.add("due_date", "must not be before the issue date");
                } else if days_between(issue_date, due) > MAX_TERM_DAYS {
                    errors.add(
                        "due_date",
                        "must be at most three years after the issue date",
                    );
                }
                due
            }
            (None, Some(days)) if (0..=MAX_TERM_DAYS).contains(&days) => add_days(issue_date, days),
            (None, Some(_)) => {
                errors.add(
                    "days_until_due",
                    format!("must be between 0 and {MAX_TERM_DAYS}"),
                );
                issue_date
            }
        };
        let terms = match &self.terms {
            Some(input) => input.apply(base, &mut errors, "terms", currency),
            None => {
                base.validate(&mut errors, "terms", currency);
                base.clone()
            }
        };
        if let Some(d) = &terms.early_payment_discount
            && add_days(issue_date, i64::from(d.within_days)) > due_date
        {
            errors.add(
                "terms.early_payment_discount.within_days",
                "the discount window must end by the due date",
            );
        }

        let (Some(client_id), Some(currency)) = (client_id, currency) else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let totals = Money::sum(currency, lines.iter().map(|l| &l.amount)).and_then(|subtotal| {
            let tax = match self.tax_rate {
                Some(rate) => subtotal.percent(rate)?,
                None => Money::zero(currency),
            };
            Ok((subtotal, tax, subtotal.checked_add(&tax)?))
        });
        let (subtotal, tax, total) = match totals {
            Ok(t) => t,
            Err(_) => return Err(FieldErrors::single("lines", "the total is too large")),
        };
        if !total.is_positive() {
            errors.add("lines", "the invoice total must be greater than zero");
        }
        errors.finish(|| ValidInvoice {
            client_id,
            currency,
            lines,
            subtotal,
            tax_rate: self.tax_rate.map(|r| r.normalize()),
            tax,
            total,
            issue_date,
            due_date,
            terms,
            send: self.send,
            purpose: Purpose::Order,
        })
    }
}

impl ValidInvoice {
    /// Gives the invoice its identity: id, sequence number and payment reference.
    pub fn issue(
        self,
        id: InvoiceId,
        seq: u64,
        prefix: &str,
        timezone: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> Invoice {
        Invoice {
            id,
            number: format_number(prefix, seq),
            seq,
            client_id: self.client_id,
            currency: self.currency,
            lines: self.lines,
            subtotal: self.subtotal,
            tax_rate: self.tax_rate,
            tax: self.tax,
            total: self.total,
            issue_date: self.issue_date,
            due_date: self.due_date,
            terms: self.terms,
            timezone,
            payment_reference: PaymentReference::generate(seq),
            created_at: now,
            held_until_sent: !self.send && self.purpose.is_order(),
            purpose: self.purpose,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn base() -> NewInvoice {
        NewInvoice {
            client_id: ClientId::generate().to_string(),
            currency: "CLP".into(),
            lines: vec![NewLine {
                description: "Diseño de logo".into(),
                quantity: dec!(3),
                unit_amount: dec!(49990),
            }],
            tax_rate: Some(dec!(19)),
            issue_date: None,
            due_date: NaiveDate::from_ymd_opt(2026, 12, 7),
            days_until_due: None,
            terms: None,
            send: false,
        }
    }

    fn fields(inv: NewInvoice) -> Vec<String> {
        inv.validate(today(), &Terms::default())
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn days_until_due_counts_from_the_issue_date() {
        let mut inv = base();
        inv.due_date = None;
        inv.days_until_due = Some(30);
        let v = inv.clone().validate(today(), &Terms::default()).unwrap();
        assert_eq!(v.due_date, NaiveDate::from_ymd_opt(2026, 12, 23).unwrap());
        inv.issue_date = NaiveDate::from_ymd_opt(2026, 12, 31);
        inv.days_until_due = Some(0);
        let v = inv.validate(today(), &Terms::default()).unwrap();
        assert_eq!(v.due_date, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
    }

    #[test]
    fn clp_with_vat_rounds_half_even() {
        let v = base().validate(today(), &Terms::default()).unwrap();
        assert_eq!(v.subtotal.amount(), dec!(149970));
        assert_eq!(v.tax.amount(), dec!(28494)); // 28494.3
        assert_eq!(v.total.amount(), dec!(178464));
        assert_eq!(v.issue_date, today());
        assert_eq!(v.terms.grace_days, 2);
    }

    #[test]
    fn usd_lines_with_fractional_quantities() {
        let mut inv = base();
        inv.currency = "USD".into();
        inv.tax_rate = Some(dec!(16));
        inv.lines = vec![
            NewLine {
                description: "Consulting".into(),
                quantity: dec!(1.5),
                unit_amount: dec!(33.33),
            },
            NewLine {
                description: "Hosting".into(),
                quantity: dec!(1),
                unit_amount: dec!(10),
            },
        ];
        let v = inv.validate(today(), &Terms::default()).unwrap();
        assert_eq!(v.lines[0].amount.amount(), dec!(50.00)); // 49.995 -> 50.00 (half-even)
        assert_eq!(v.subtotal.amount(), dec!(60.00));
        assert_eq!(v.tax.amount(), dec!(9.60));
        assert_eq!(v.total.amount(), dec!(69.60));
    }

    #[test]
    fn issue_numbers_and_references() {
        let inv = base().validate(today(), &Terms::default()).unwrap().issue(
            InvoiceId::generate(),
            123,
            "F-",
            crate::calendar::DEFAULT_TIMEZONE,
            Utc::now(),
        );
        assert_eq!(inv.number, "F-000123");
        assert!(inv.payment_reference.as_str()[4..].starts_with("000123"));
        assert_eq!(format_number("F-", 1_234_567), "F-1234567");
    }

    #[test]
    fn bad_input_is_reported_per_field() {
        let mut inv = base();
        inv.currency = "XYZ".into();
        assert_eq!(fields(inv), ["currency"]);

        let mut inv = base();
        inv.lines[0].unit_amount = dec!(1000.5);
        assert_eq!(fields(inv), ["lines[0].unit_amount"]);

        for q in [dec!(0), dec!(-1)] {
            let mut inv = base();
            inv.lines[0].quantity = q;
            assert_eq!(fields(inv), ["lines[0].quantity"]);
        }

        let mut inv = base();
        inv.lines.clear();
        assert_eq!(fields(inv), ["lines"]);

        let mut inv = base();
        let line = inv.lines[0].clone();
        inv.lines = vec![line; MAX_LINES + 1];
        assert_eq!(fields(inv), ["lines"]);

        let mut inv = base();
        inv.issue_date = Some(NaiveDate::from_ymd_opt(2026, 12, 8).unwrap());
        assert_eq!(fields(inv), ["due_date"]);

        // A due date or a number of days, exactly one of them.
        let mut inv = base();
        inv.due_date = None;
        assert_eq!(fields(inv), ["due_date"]);
        let mut inv = base();
        inv.days_until_due = Some(30);
        assert_eq!(fields(inv), ["days_until_due"]);
        for days in [-1, MAX_TERM_DAYS + 1] {
            let mut inv = base();
            inv.due_date = None;
            inv.days_until_due = Some(days);
            assert_eq!(fields(inv), ["days_until_due"], "{days}");
        }

        let mut inv = base();
        inv.client_id = "inv_nope".into();
        inv.tax_rate = Some(dec!(101));
        assert_eq!(fields(inv), ["client_id", "tax_rate"]);

        let mut inv = base();
        inv.terms = Some(TermsInput {
            late_fee: Some(Some(LateFeeInput {
                kind: LateFeeKind::Fixed,
                value: dec!(100.5),
                recurrence: Recurrence::Once,
                cap: None,
                notice_days: None,
            })),
            early_payment_discount: Some(Some(DiscountInput {
                percent: dec!(0),
                within_days: 10,
            })),
            ..Default::default()
        });
        assert_eq!(
            fields(inv),
            [
                "terms.late_fee.value",
                "terms.early_payment_discount.percent"
            ]
        );
    }

    fn with_terms(json: &str) -> NewInvoice {
        let mut inv = base();
        inv.terms = Some(serde_json::from_str(json).unwrap());
        inv
    }

    #[test]
    fn bad_policies_are_refused_per_field() {
        let cases = [
            (r#"{"grace_days": -1}"#, "terms.grace_days"),
            (r#"{"reminder_offsets": [3, -1]}"#, "terms.reminder_offsets"),
            (r#"{"reminder_offsets": [0, 0]}"#, "terms.reminder_offsets"),
            (
                r#"{"reminder_offsets": [0, 400], "escalate_after_days": 500}"#,
                "terms.reminder_offsets",
            ),
            (
                r#"{"late_fee": {"kind": "percent", "value": "101"}}"#,
                "terms.late_fee.value",
            ),
            (
                r#"{"late_fee": {"kind": "fixed", "value": "5000", "notice_days": -2}}"#,
                "terms.late_fee.notice_days",
            ),
            (
                r#"{"early_payment_discount": {"percent": "2", "within_days": 20}}"#,
                "terms.early_payment_discount.within_days",
            ),
            (
                r#"{"escalate_after_days": 15}"#,
                "terms.escalate_after_days",
            ),
            (
                r#"{"business_hours": {"start": "19:00", "end": "09:00", "days": ["mon"]}}"#,
                "terms.business_hours.end",
            ),
            (
                r#"{"business_hours": {"start": "09:00", "end": "18:00", "days": []}}"#,
                "terms.business_hours.days",
            ),
        ];
        for (json, field) in cases {
            assert_eq!(fields(with_terms(json)), [field], "{json}");
        }
    }

    #[test]
    fn overrides_layer_on_the_base_policy() {
        let base_terms = Terms {
            late_fee: Some(LateFee {
                kind: LateFeeKind::Fixed,
                value: dec!(5000),
                recurrence: Recurrence::Once,
                cap: None,
                notice_days: 3,
            }),
            ..Terms::default()
        };
        let inv = with_terms(r#"{"grace_days": 5, "reminder_offsets": [-3, 0, 7]}"#);
        let v = inv.validate(today(), &base_terms).unwrap();
        assert_eq!(v.terms.grace_days, 5);
        assert_eq!(v.terms.reminder_offsets, [-3, 0, 7]);
        assert_eq!(v.terms.late_fee, base_terms.late_fee, "kept from the base");
        let v = with_terms(r#"{"late_fee": null}"#)
            .validate(today(), &base_terms)
            .unwrap();
        assert_eq!(v.terms.late_fee, None, "null removes it");
        // Within the term, the discount is fine.
        let v = with_terms(r#"{"early_payment_discount": {"percent": "2", "within_days": 10}}"#)
            .validate(today(), &base_terms)
            .unwrap();
        assert_eq!(v.terms.early_payment_discount.unwrap().within_days, 10);
    }

    #[test]
    fn exactly_max_lines_is_fine() {
        let mut inv = base();
        let line = inv.lines[0].clone();
        inv.lines = vec![line; MAX_LINES];
        assert_eq!(
            inv.validate(today(), &Terms::default())
                .unwrap()
                .lines
                .len(),
            MAX_LINES
        );
    }

    #[test]
    fn zero_total_is_refused() {
        let mut inv = base();
        inv.lines[0].unit_amount = dec!(0);
        assert_eq!(fields(inv), ["lines"]);
    }
}
