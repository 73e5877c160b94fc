//! What the API answers: domain values shaped for JSON, amounts as decimal strings.

use chrono::{DateTime, NaiveDate, Utc};
use cobro_domain::ledger::{self, Balance};
use cobro_domain::{
    Client, ClientId, Currency, Invoice, InvoiceId, InvoiceStatus, LedgerEntry, Terms,
};
use rust_decimal::Decimal;
use serde::Serialize;

use cobro_domain::standing::Standing;
use cobro_store::StoredInvoice;

use crate::usecases::Error;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClientView<'a> {
    /// `client`.
    pub object: &'static str,
    #[serde(flatten)]
    pub client: &'a Client,
    /// What the client has paid beyond their invoices, per currency (shown on the client
    /// itself, not in listings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit: Option<Vec<cobro_domain::Money>>,
    /// `active`, `pending_deposit` or `deposit_overdue`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<cobro_domain::deposit::ClientStatus>,
    /// What the client owes now, per currency (never summed across currencies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<Vec<cobro_domain::Money>>,
    /// Of it, what is past its due date, per currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<Vec<cobro_domain::Money>>,
    /// The deposit invoice waiting to be paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<DepositView>)]
    pub open_deposit: Option<serde_json::Value>,
}

/// A deposit invoice beside its client or in a refusal; `pay_url` and `reason` only when
/// its link was just made (links are shown once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DepositView {
    pub invoice_id: InvoiceId,
    pub number: String,
    pub amount: Decimal,
    pub currency: Currency,
    pub due_date: NaiveDate,
    pub payment_reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `GET /v1/clients/{id}/standing`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StandingView {
    /// `standing`.
    pub object: &'static str,
    pub client_id: ClientId,
    #[serde(flatten)]
    pub standing: Standing,
    /// Why points were lost, a sentence each.
    pub reasons: Vec<String>,
    /// What is owed now, per currency.
    pub outstanding: Vec<cobro_domain::Money>,
    pub credit_limit: Option<cobro_domain::Money>,
    /// The credit limit less what is outstanding in its currency.
    pub available_credit: Option<cobro_domain::Money>,
    pub computed_at: DateTime<Utc>,
}

/// A new pay link (`POST /v1/invoices/{id}/pay-links`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PayLinkView {
    /// `pay_link`.
    pub object: &'static str,
    pub invoice_id: InvoiceId,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Pay links revoked (`POST /v1/invoices/{id}/pay-links/revoke`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RevokedView {
    pub invoice_id: InvoiceId,
    pub revoked: u32,
}

/// `GET /v1/reports/promises`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PromiseReportView {
    /// `promise_report`.
    pub object: &'static str,
    pub overall: crate::usecases::reports::Tally,
    pub clients: Vec<ClientPromisesView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClientPromisesView {
    pub client_id: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub tally: crate::usecases::reports::Tally,
    pub broken_items: Vec<crate::usecases::reports::BrokenItem>,
}

impl<'a> ClientView<'a> {
    pub fn new(client: &'a Client) -> Self {
        ClientView {
            object: "client",
            client,
            credit: None,
            status: None,
            balance: None,
            overdue: None,
            open_deposit: None,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineView {
    pub description: String,
    pub quantity: Decimal,
    pub unit_amount: Decimal,
    pub amount: Decimal,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvoiceView {
    /// `invoice`.
    pub object: &'static str,
    pub id: InvoiceId,
    pub number: String,
    pub client_id: ClientId,
    /// `order`, or `deposit` (asked for before credit is given).
    pub purpose: cobro_domain::invoice::Purpose,
    pub status: InvoiceStatus,
    pub currency: Currency,
    pub lines: Vec<LineView>,
    pub subtotal: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<Decimal>,
    pub tax: Decimal,
    pub total: Decimal,
    pub amount_paid: Decimal,
    pub amount_refunded: Decimal,
    /// Held by an open dispute.
    pub amount_on_hold: Decimal,
    pub amount_due: Decimal,
    /// Late fees charged (included in `amount_due`).
    pub late_fees: Decimal,
    /// Early-payment discount granted.
    pub discount: Decimal,
    /// Received beyond the total: the client's credit.
    pub credit: Decimal,
    pub issue_date: NaiveDate,
    /// The due date in force (moved by extensions).
    pub due_date: NaiveDate,
    /// Money is owed and the due date has passed (in the client's time zone), whatever
    /// the ledger's `status` (`open`, `partially_paid`, `escalated`…) says.
    pub overdue: bool,
    /// Days since the due date while `overdue`; 0 otherwise.
    pub days_overdue: i64,
    /// The chase is paused until this day (`POST …/pause`), when it resumes by itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_until: Option<NaiveDate>,
    pub terms: Terms,
    /// ISO 11649 reference for bank transfers, compact ("RF41000001371")…
    pub payment_reference: String,
    /// …and as people write it ("RF41 0000 0137 1").
    pub payment_reference_display: String,
    /// The pay link, returned once, when the invoice is created (only its hash is stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<Vec<LedgerEntry>>,
    /// When the dunning engine acts next; absent when nothing is pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_action_at: Option<DateTime<Utc>>,
    /// Dunning stages sent, charged or in progress (shown with the ledger).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dunning: Option<Vec<cobro_domain::StageRecord>>,
    /// Promises, plans and extensions, judged now (when the invoice has any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrangements: Option<cobro_domain::arrangement::Arrangements>,
    pub created_at: DateTime<Utc>,
}

impl InvoiceView {
    /// An invoice as every route that answers one invoice shows it: its balance derived
    /// from its ledger, the ledger itself, the dunning stages, the arrangements as they
    /// stand at `now` and the next action.
    pub fn full(stored: &StoredInvoice, now: DateTime<Utc>) -> Result<Self, Error> {
        Ok(InvoiceView::new(&stored.invoice, &stored.entries, true)?.with_dunning(stored, now))
    }

    /// An invoice as lists show it, and as its creation answers it: [`InvoiceView::full`]
    /// without the ledger and the stages.
    pub fn summary(stored: &StoredInvoice, now: DateTime<Utc>) -> Result<Self, Error> {
        Ok(InvoiceView::new(&stored.invoice, &stored.entries, false)?.with_dunning(stored, now))
    }

    /// With its pay link (shown once, when the invoice is created).
    pub fn with_pay_url(mut self, pay_url: &str) -> Self {
        self.pay_url = Some(pay_url.to_string());
        self
    }

    /// The invoice with its balance derived from its ledger.
    fn new(invoice: &Invoice, entries: &[LedgerEntry], with_ledger: bool) -> Result<Self, Error> {
        let Balance {
            late_fees,
            discounted,
            paid,
            refunded,
            on_hold,
            amount_due,
            credit,
            status,
            ..
        } = ledger::balance(&invoice.total, entries)?;
        Ok(InvoiceView {
            object: "invoice",
            id: invoice.id.clone(),
            number: invoice.number.clone(),
            client_id: invoice.client_id.clone(),
            status,
            currency: invoice.currency,
            lines: invoice
                .lines
                .iter()
                .map(|l| LineView {
                    description: l.description.clone(),
                    quantity: l.quantity,
                    unit_amount: l.unit_amount.amount(),
                    amount: l.amount.amount(),
                })
                .collect(),
            subtotal: invoice.subtotal.amount(),
            tax_rate: invoice.tax_rate,
            tax: invoice.tax.amount(),
            total: invoice.total.amount(),
            amount_paid: paid.amount(),
            amount_refunded: refunded.amount(),
            amount_on_hold: on_hold.amount(),
            amount_due: amount_due.amount(),
            late_fees: late_fees.amount(),
            discount: discounted.amount(),
            credit: credit.amount(),
            issue_date: invoice.issue_date,
            due_date: invoice.due_date,
            overdue: false,
            days_overdue: 0,
            paused_until: None,
            purpose: invoice.purpose,
            terms: invoice.terms.clone(),
            payment_reference: invoice.payment_reference.as_str().to_string(),
            payment_reference_display: invoice.payment_reference.grouped(),
            pay_url: None,
            ledger: with_ledger.then(|| entries.to_vec()),
            next_action_at: None,
            dunning: None,
            arrangements: None,
            created_at: invoice.created_at,
        })
    }

    /// Adds what the dunning engine did and plans: `escalated` status, next action, stages,
    /// and the arrangements as they stand at `now` (the due date moved by extensions).
    fn with_dunning(mut self, stored: &StoredInvoice, now: DateTime<Utc>) -> Self {
        let inv = &stored.invoice;
        let b = ledger::balance(&inv.total, &stored.entries);
        if let Ok(b) = &b {
            self.status = cobro_domain::dunning::status(b, &stored.stages);
        }
        let today = cobro_domain::today_in(inv.timezone, now);
        self.paused_until = cobro_domain::pause::paused_until(&stored.entries, today);
        if let Ok(arr) = cobro_domain::arrangement::arrangements(inv, &stored.entries, now) {
            self.due_date = arr.due_date;
            let days = b.ok().and_then(|b| {
                cobro_domain::arrangement::days_overdue(&b.amount_due, arr.due_date, today)
            });
            self.overdue = days.is_some();
            self.days_overdue = days.unwrap_or(0);
            if !(arr.promises.is_empty() && arr.plans.is_empty() && arr.extensions.is_empty()) {
                self.arrangements = Some(arr);
            }
        }
        self.next_action_at = stored.next_action_at;
        if self.ledger.is_some() {
            self.dunning = Some(stored.stages.clone());
        }
        self
    }
}

/// An invoice as the lists across clients show it (`GET /v1/invoices`): read from the list
/// index, without its ledger (`GET /v1/invoices/{id}` has that).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvoiceRowView {
    /// `invoice_summary`.
    pub object: &'static str,
    pub id: cobro_domain::InvoiceId,
    pub number: String,
    pub client_id: cobro_domain::ClientId,
    pub client_name: String,
    /// The first line, and how many more.
    pub concept: String,
    pub status: InvoiceStatus,
    pub currency: Currency,
    pub total: Decimal,
    pub amount_due: Decimal,
    pub issue_date: NaiveDate,
    /// The due date in force (moved by extensions).
    pub due_date: NaiveDate,
    /// Money is owed and the due date has passed (counted in the business's time zone).
    pub overdue: bool,
    pub days_overdue: i64,
    /// `current`, `1-30`, `31-60`, `61-90` or `90+` while money is owed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub overdue_bucket: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_until: Option<NaiveDate>,
    pub payment_reference: String,
}

impl InvoiceRowView {
    pub fn of(r: &crate::usecases::lists::Row) -> Self {
        let inv = &r.listed.invoice;
        InvoiceRowView {
            object: "invoice_summary",
            id: inv.id.clone(),
            number: inv.number.clone(),
            client_id: inv.client_id.clone(),
            client_name: r.client_name.clone(),
            concept: inv.concept().to_string(),
            status: r.status,
            currency: inv.currency,
            total: inv.total.amount(),
            amount_due: r.listed.listing.amount_due.amount(),
            issue_date: inv.issue_date,
            due_date: r.listed.listing.due_date,
            overdue: r.days_overdue.is_some(),
            days_overdue: r.days_overdue.unwrap_or(0),
            overdue_bucket: r.bucket.map(|b| b.name()),
            paused_until: r.paused_until,
            payment_reference: inv.payment_reference.as_str().to_string(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListView<T> {
    pub object: &'static str,
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Any serializable answer as a JSON value.
pub fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(v).map_err(Error::internal)
}

/// How a deposit invoice is shown beside its client or in a refusal; `asked`: the pay
/// link just made for it and why it is asked for (links are shown once).
pub fn deposit_json(invoice: &Invoice, asked: Option<(&str, &str)>) -> serde_json::Value {
    let view = DepositView {
        invoice_id: invoice.id.clone(),
        number: invoice.number.clone(),
        amount: invoice.total.amount(),
        currency: invoice.currency,
        due_date: invoice.due_date,
        payment_reference: invoice.payment_reference.as_str().to_string(),
        pay_url: asked.map(|(url, _)| url.to_string()),
        reason: asked.map(|(_, reason)| reason.to_string()),
    };
    serde_json::to_value(view).unwrap_or_default()
}
