//! Who did what: the actor on every ledger entry, and the audit record of every action a
//! person or an API key takes (on an invoice, a client, a user, a key).
//!
//! A ledger entry carries its actor ([`Actor`]) in the entry itself, and an action is
//! recorded ([`AuditRecord`]) in the same atomic write as what it changed wherever the
//! change is a ledger write or a new invoice, so the record and the fact cannot part.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

pub use crate::actor::Actor;
use crate::client::Client;
use crate::ids::{ClientId, InvoiceId, base32_lower, random_bytes};
use crate::invoice::Invoice;
use crate::money::Money;

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    ClientCreated,
    ClientUpdated,
    BudgetSet,
    CreditLimitSet,
    InvoiceCreated,
    InvoiceSent,
    PaymentRecorded,
    RefundRecorded,
    UnmatchedApplied,
    InvoiceVoided,
    DueDateExtended,
    PromiseMade,
    PlanMade,
    ChasePaused,
    ChaseResumed,
    PayLinkIssued,
    PayLinksRevoked,
    UserAdded,
    UserRoleChanged,
    UserDisabled,
    UserEnabled,
    SessionsEnded,
    ApiKeyCreated,
    ApiKeyRevoked,
}

impl Action {
    pub const ALL: [Action; 24] = [
        Action::ClientCreated,
        Action::ClientUpdated,
        Action::BudgetSet,
        Action::CreditLimitSet,
        Action::InvoiceCreated,
        Action::InvoiceSent,
        Action::PaymentRecorded,
        Action::RefundRecorded,
        Action::UnmatchedApplied,
        Action::InvoiceVoided,
        Action::DueDateExtended,
        Action::PromiseMade,
        Action::PlanMade,
        Action::ChasePaused,
        Action::ChaseResumed,
        Action::PayLinkIssued,
        Action::PayLinksRevoked,
        Action::UserAdded,
        Action::UserRoleChanged,
        Action::UserDisabled,
        Action::UserEnabled,
        Action::SessionsEnded,
        Action::ApiKeyCreated,
        Action::ApiKeyRevoked,
    ];

    /// Its name in records, CSV and JSON (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ClientCreated => "client_created",
            Action::ClientUpdated => "client_updated",
            Action::BudgetSet => "budget_set",
            Action::CreditLimitSet => "credit_limit_set",
            Action::InvoiceCreated => "invoice_created",
            Action::InvoiceSent => "invoice_sent",
            Action::PaymentRecorded => "payment_recorded",
            Action::RefundRecorded => "refund_recorded",
            Action::UnmatchedApplied => "unmatched_applied",
            Action::InvoiceVoided => "invoice_voided",
            Action::DueDateExtended => "due_date_extended",
            Action::PromiseMade => "promise_made",
            Action::PlanMade => "plan_made",
            Action::ChasePaused => "chase_paused",
            Action::ChaseResumed => "chase_resumed",
            Action::PayLinkIssued => "pay_link_issued",
            Action::PayLinksRevoked => "pay_links_revoked",
            Action::UserAdded => "user_added",
            Action::UserRoleChanged => "user_role_changed",
            Action::UserDisabled => "user_disabled",
            Action::UserEnabled => "user_enabled",
            Action::SessionsEnded => "sessions_ended",
            Action::ApiKeyCreated => "api_key_created",
            Action::ApiKeyRevoked => "api_key_revoked",
        }
    }
}

/// One action by a person or a key of the business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// `{at}#{random}`: unique, and in time order as text (the log's sort key).
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<InvoiceId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    /// What it was done on, as it was named then: the invoice's number, else the client's
    /// name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The ledger entry it wrote, when it wrote one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_seq: Option<u32>,
    /// The money it moved or set: a payment, an invoice's total, a budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// The day it named: a promise's, a new due date, the end of a pause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<NaiveDate>,
    /// What else names it: a person's or key's name and id, how many links. Never a
    /// client's personal data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Records made by this process, counted: of two made at the same microsecond (a client
/// and its deposit invoice, written together), the later sorts after.
static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl AuditRecord {
    pub fn new(actor: Actor, action: Action, at: DateTime<Utc>) -> Self {
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        AuditRecord {
            id: format!(
                "{}#{n:016x}{}",
                at.to_rfc3339_opts(SecondsFormat::Micros, true),
                base32_lower(&random_bytes::<10>())
            ),
            at,
            actor,
            action,
            invoice_id: None,
            client_id: None,
            subject: None,
            entry_seq: None,
            amount: None,
            day: None,
            detail: None,
        }
    }

    pub fn on_invoice(mut self, invoice: &Invoice) -> Self {
        self.invoice_id = Some(invoice.id.clone());
        self.client_id = Some(invoice.client_id.clone());
        self.subject = Some(invoice.number.clone());
        self
    }

    pub fn on_client(mut self, client: &Client) -> Self {
        self.client_id = Some(client.id.clone());
        self.subject = Some(client.name.clone());
        self
    }

    pub fn entry(mut self, seq: u32) -> Self {
        self.entry_seq = Some(seq);
        self
    }

    pub fn amount(mut self, amount: Money) -> Self {
        self.amount = Some(amount);
        self
    }

    pub fn day(mut self, day: Option<NaiveDate>) -> Self {
        self.day = day;
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_their_serde_names() {
        for a in Action::ALL {
            assert_eq!(
                serde_json::to_value(a).unwrap(),
                serde_json::Value::String(a.as_str().into())
            );
        }
    }

    #[test]
    fn record_ids_sort_in_time_order_and_never_repeat() {
        let t0: DateTime<Utc> = "2026-12-01T09:00:00.000001Z".parse().unwrap();
        let t1: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        let a = AuditRecord::new(Actor::Cobro, Action::InvoiceSent, t0);
        let b = AuditRecord::new(Actor::Cobro, Action::InvoiceSent, t1);
        let c = AuditRecord::new(Actor::Cobro, Action::InvoiceSent, t1);
        assert!(a.id < b.id);
        assert!(b.id < c.id, "made later at the same moment: after");
        assert!(b.id.starts_with("2026-12-01T10:00:00.000000Z#"));
    }
}
