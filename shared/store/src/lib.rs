//! The Store port: everything cobro keeps, behind one trait with two adapters that pass
//! one contract test suite (`tests/contract.rs`):
//!
//! - [`sqlite::SqliteStore`], the embedded default: one durable file in the data directory.
//! - [`dynamodb::DynamoStore`], production: one DynamoDB table (its item layout is in the [`dynamodb`] module's documentation and in ARCHITECTURE.md at the repository's root).
//!
//! Writes that must be atomic are single operations of the port: an invoice, its first
//! ledger entries, its number, payment reference, pay token and the caller's idempotency
//! key are written all together or not at all.

use async_trait::async_trait;
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use cobro_domain::listing::Listing;
use cobro_domain::{
    ApiKeyId, AuditRecord, Client, ClientId, Currency, Invoice, InvoiceId, InvoiceStatus,
    JobRecord, LedgerEntry, PaymentFact, PaymentReference, Session, SignInToken, StageRecord,
    UnmatchedId, UnmatchedReason, User, UserId,
};
use serde::{Deserialize, Serialize};

pub mod aws;
pub mod dynamodb;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod testing;

pub use dynamodb::DynamoStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The idempotency key was written by someone else first (a concurrent retry).
    #[error("the idempotency key is already recorded")]
    IdempotencyKeyTaken,
    /// Another invoice took this sequence number first; read the counter again and retry.
    #[error("the invoice sequence number was taken concurrently")]
    SequenceTaken,
    #[error("the item already exists")]
    AlreadyExists,
    /// The unmatched payment was already applied by someone else.
    #[error("the unmatched payment was already resolved")]
    AlreadyResolved,
    /// This provider event was already recorded: its effect happened once, already.
    #[error("the provider event was already recorded")]
    EventSeen,
    /// Another sweep holds (or finished) this dunning stage.
    #[error("the dunning stage is taken")]
    StageTaken,
    /// The client already got a message today.
    #[error("the client was already messaged today")]
    ClientBusy,
    /// Another client already has this tax id (see [`Client::tax_claim`]): that one.
    #[error("another client ({0}) already has this tax id")]
    TaxIdTaken(ClientId),
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl StoreError {
    pub fn backend(e: impl std::fmt::Display) -> Self {
        StoreError::Backend(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A response remembered under an idempotency key, so a retry gets the first answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Scoped by the caller: `{api key id}:{Idempotency-Key header}`.
    pub key: String,
    /// SHA-256 of method, path and body: the same key with another request is refused.
    pub fingerprint: String,
    pub status: u16,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    /// SHA-256 of the key, hex: the key itself is never stored.
    pub digest: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A pay-link token, stored by its digest and scoped to one client and invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayToken {
    pub digest: String,
    pub client_id: ClientId,
    pub invoice_id: InvoiceId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl PayToken {
    pub fn is_valid(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// Everything written when an invoice is created, in one atomic write.
#[derive(Debug, Clone)]
pub struct NewInvoiceWrite {
    /// `invoice.seq` must be exactly one more than the counter, else [`StoreError::SequenceTaken`].
    pub invoice: Invoice,
    pub entries: Vec<LedgerEntry>,
    pub pay_token: PayToken,
    pub idempotency: Option<IdempotencyRecord>,
    /// Entries on other invoices written with this one (credit moved onto it). Their
    /// positions must be free, else [`StoreError::SequenceTaken`].
    pub other_entries: Vec<(InvoiceId, LedgerEntry)>,
    /// When the dunning engine acts next on it (the agenda); `None`: nothing pending.
    pub next_action_at: Option<DateTime<Utc>>,
    /// A client created with it (a client asked for a deposit at once), else
    /// [`StoreError::AlreadyExists`].
    pub new_client: Option<Client>,
    /// The listings of the invoices in `other_entries` with those entries (the new
    /// invoice's own is the store's to derive: it has all its entries).
    pub other_listings: Vec<(InvoiceId, Listing)>,
    /// Who created it (and the client created with it), recorded with it.
    pub audit: Vec<AuditRecord>,
}

/// An invoice with its ledger, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredInvoice {
    pub invoice: Invoice,
    pub entries: Vec<LedgerEntry>,
    /// Dunning stages claimed or done, in stage order.
    pub stages: Vec<StageRecord>,
    /// Its place on the agenda.
    pub next_action_at: Option<DateTime<Utc>>,
}

impl StoredInvoice {
    /// How many ledger entries it has: the version the agenda is computed from.
    pub fn ledger_len(&self) -> u32 {
        self.entries.iter().map(|e| e.seq).max().unwrap_or(0)
    }

    /// The position of the next ledger entry.
    pub fn next_seq(&self) -> u32 {
        self.ledger_len().saturating_add(1)
    }

    /// What the invoice lists show of it.
    pub fn listing(&self) -> Result<Listing> {
        Listing::of(&self.invoice, &self.entries).map_err(StoreError::backend)
    }

    /// As the invoice lists show it.
    pub fn listed(&self) -> Result<ListedInvoice> {
        Ok(ListedInvoice {
            invoice: self.invoice.clone(),
            listing: self.listing()?,
            escalated: escalates(&self.stages),
        })
    }
}

pub use cobro_domain::stage::escalates;

/// An invoice as the lists across clients show it: read from its item alone, without its
/// ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedInvoice {
    pub invoice: Invoice,
    pub listing: Listing,
    /// Handed over for collection (its escalation stage is done).
    pub escalated: bool,
}

impl ListedInvoice {
    /// The status shown (`escalated` once handed over and still chased).
    pub fn status(&self) -> InvoiceStatus {
        self.listing.shown_status(self.escalated)
    }

    /// Its place in a list sorted by `order` (also the cursor of a page ending on it).
    pub fn sort_key(&self, order: InvoiceOrder) -> String {
        listing_sort_key(&self.invoice.id, &self.listing, order)
    }
}

/// How a list of invoices is sorted: by this, then by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvoiceOrder {
    /// The due date in force.
    #[default]
    DueDate,
    /// What is owed, within each currency (currencies by code: amounts in different
    /// currencies are never compared).
    AmountDue,
}

/// A list's sort key: `{due date}#{id}`, or `{currency}#{amount due in minor units, 20
/// digits}#{id}`.
pub(crate) fn listing_sort_key(id: &InvoiceId, l: &Listing, order: InvoiceOrder) -> String {
    match order {
        InvoiceOrder::DueDate => format!("{}#{id}", l.due_date),
        InvoiceOrder::AmountDue => format!(
            "{}#{:020}#{id}",
            l.amount_due.currency().code(),
            l.amount_due.to_minor_units().unwrap_or(i64::MAX).max(0)
        ),
    }
}

/// The page of `items` (all matching `filter`) past the cursor, in the filter's order.
pub(crate) fn page_in_order(
    filter: &InvoiceFilter,
    items: Vec<ListedInvoice>,
    page: &PageRequest,
) -> Page<ListedInvoice> {
    let mut keyed: Vec<(String, ListedInvoice)> = items
        .into_iter()
        .map(|l| (l.sort_key(filter.order), l))
        .filter(|(k, _)| page.after.as_ref().is_none_or(|a| filter.after(k, a)))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    if filter.descending {
        keyed.reverse();
    }
    let limit = page.limit() as usize;
    let more = keyed.len() > limit;
    keyed.truncate(limit);
    let next = if more {
        keyed.last().map(|(k, _)| k.clone())
    } else {
        None
    };
    Page {
        items: keyed.into_iter().map(|(_, l)| l).collect(),
        next,
    }
}

/// The partition of the lists an invoice is in: `open` while money is owed or held on it
/// (see [`Listing::is_open`]), else `closed`.
pub(crate) fn listing_group(l: &Listing) -> &'static str {
    if l.is_open() { "open" } else { "closed" }
}

/// Which invoices a list shows: every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceFilter {
    /// Shown statuses (see [`ListedInvoice::status`]); empty: any.
    pub statuses: Vec<InvoiceStatus>,
    pub client: Option<ClientId>,
    pub currency: Option<Currency>,
    /// Due date in force on or after this day.
    pub due_from: Option<NaiveDate>,
    /// Due date in force on or before this day.
    pub due_to: Option<NaiveDate>,
    /// Only invoices on which money is owed (an overdue bucket's).
    pub owing: bool,
    /// Contained in the invoice's search text (number, payment reference, lines), folded
    /// by [`cobro_domain::listing::fold`].
    pub text: Option<String>,
    /// Paused, and the pause ends after the first day and on or before the second (today
    /// and a day ahead: the pauses that end this week).
    pub pause_ends: Option<(NaiveDate, NaiveDate)>,
    pub order: InvoiceOrder,
    /// Latest due date or largest amount first.
    pub descending: bool,
}

impl InvoiceFilter {
    /// Whether `l` is on the list (the order aside).
    pub fn matches(&self, l: &ListedInvoice) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&l.status()))
            && self
                .client
                .as_ref()
                .is_none_or(|c| *c == l.invoice.client_id)
            && self.currency.is_none_or(|c| c == l.invoice.currency)
            && self.due_from.is_none_or(|d| l.listing.due_date >= d)
            && self.due_to.is_none_or(|d| l.listing.due_date <= d)
            && (!self.owing || l.listing.is_owed())
            && self
                .text
                .as_ref()
                .is_none_or(|t| cobro_domain::listing::search_text(&l.invoice).contains(t.as_str()))
            && self.pause_ends.is_none_or(|(after, by)| {
                // A pause matters while money is owed: a closed invoice is not chased.
                l.listing.is_open() && l.listing.paused_until.is_some_and(|u| u > after && u <= by)
            })
    }

    /// The list partitions (see [`listing_group`]) its invoices can be in.
    pub(crate) fn groups(&self) -> Vec<&'static str> {
        let any = |open: bool| {
            self.statuses.is_empty()
                || self
                    .statuses
                    .iter()
                    .any(|s| cobro_domain::listing::is_open(*s) == open)
        };
        let mut groups = Vec::new();
        if any(true) {
            groups.push("open");
        }
        if any(false) && !self.owing && self.pause_ends.is_none() {
            groups.push("closed");
        }
        groups
    }

    /// Whether `key` comes after the cursor `after` in this list's order.
    pub(crate) fn after(&self, key: &str, after: &str) -> bool {
        if self.descending {
            key < after
        } else {
            key > after
        }
    }
}

/// Which scheduled function works on an invoice's agenda entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// The reminder sweep: invoices for orders.
    Dunning,
    /// The deposit check: deposit invoices.
    Deposits,
}

impl Lane {
    pub fn of(invoice: &Invoice) -> Lane {
        match invoice.purpose {
            cobro_domain::invoice::Purpose::Order => Lane::Dunning,
            cobro_domain::invoice::Purpose::Deposit => Lane::Deposits,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Lane::Dunning => "dunning",
            Lane::Deposits => "deposits",
        }
    }
}

/// An invoice due for dunning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaItem {
    pub invoice_id: InvoiceId,
    /// Whose invoice: the sweep works on one client's invoices in agenda order.
    pub client_id: ClientId,
    pub at: DateTime<Utc>,
}

/// Which stage records are listed in a log across invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageLog {
    /// Escalated invoices (for the collection agency).
    Escalations,
    /// Late fees charged (the penalty log).
    LateFees,
    /// Promises judged (kept or broken) and plans broken: the promise figures.
    Promises,
    /// Deposits that fell overdue (their notice sent).
    Deposits,
}

impl StageLog {
    pub fn of(stage: &cobro_domain::Stage) -> Option<StageLog> {
        match stage {
            cobro_domain::Stage::Escalation => Some(StageLog::Escalations),
            cobro_domain::Stage::LateFee(_) => Some(StageLog::LateFees),
            cobro_domain::Stage::PromiseKept(_)
            | cobro_domain::Stage::PromiseBroken(_)
            | cobro_domain::Stage::PlanBroken(_) => Some(StageLog::Promises),
            cobro_domain::Stage::DepositOverdue => Some(StageLog::Deposits),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            StageLog::Escalations => "escalation",
            StageLog::LateFees => "late-fee",
            StageLog::Promises => "promise",
            StageLog::Deposits => "deposit",
        }
    }
}

/// Sort key of an agenda entry: when, then which invoice.
pub(crate) fn agenda_sort_key(at: DateTime<Utc>, id: &InvoiceId) -> String {
    format!("{}#{id}", at.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
}

/// The highest agenda sort key due by `now`.
pub(crate) fn agenda_until(now: DateTime<Utc>) -> String {
    format!("{}#~", now.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
}

/// Sort key of a logged stage (newest first in listings).
pub(crate) fn log_sort_key(r: &StageRecord) -> String {
    format!(
        "{}#{}#{}",
        r.done_at
            .unwrap_or(r.claimed_at)
            .format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        r.invoice_id,
        r.stage
    )
}

/// A provider event, recorded once with its effect so a redelivery changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub provider: String,
    pub event_id: String,
    /// What was done: `applied`, `duplicate`, `ignored`, `unmatched`.
    pub outcome: String,
    pub received_at: DateTime<Utc>,
    /// Kept long enough to outlast every provider's retries.
    pub expires_at: DateTime<Utc>,
}

/// A payment that could not be put on an invoice, waiting for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unmatched {
    pub id: UnmatchedId,
    pub provider: String,
    pub event_id: String,
    pub fact: PaymentFact,
    /// Where the event said it belongs (an invoice id or a reference), if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub reason: UnmatchedReason,
    pub received_at: DateTime<Utc>,
    /// Set when a person applied it to an invoice; it then leaves the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Resolution>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Resolution {
    pub invoice_id: InvoiceId,
    pub at: DateTime<Utc>,
}

/// Entries appended to one invoice's ledger, with what caused them, in one atomic write.
#[derive(Debug, Clone)]
pub struct LedgerWrite {
    pub invoice_id: InvoiceId,
    /// Their `seq` must be free, else [`StoreError::SequenceTaken`]: someone appended first;
    /// read the ledger again and decide again.
    pub entries: Vec<LedgerEntry>,
    /// The provider event, else [`StoreError::EventSeen`].
    pub event: Option<EventRecord>,
    /// Remember which invoice this provider payment belongs to (refunds and disputes that
    /// do not name the invoice find it by payment id).
    pub payment_link: Option<(String, String)>,
    pub idempotency: Option<IdempotencyRecord>,
    /// An unmatched payment this write settles: marked resolved in the same write, and
    /// refused with [`StoreError::AlreadyResolved`] if someone resolved it first.
    pub resolves: Option<Unmatched>,
    /// The invoice's new place on the agenda, computed with these entries.
    pub agenda: Agenda,
    /// A stage done by these entries (a late fee), recorded with them.
    pub stage: Option<StageRecord>,
    /// What the lists show of the invoice with these entries (see [`LedgerWrite::leaving`]).
    pub listing: Option<Listing>,
    /// The action of a person or key that made these entries, recorded with them.
    pub audit: Option<AuditRecord>,
}

impl LedgerWrite {
    /// Entries for an invoice, with nothing beside them: add what goes in the same write
    /// with the `with_*` methods.
    pub fn new(invoice_id: InvoiceId, entries: Vec<LedgerEntry>) -> Self {
        LedgerWrite {
            invoice_id,
            entries,
            event: None,
            payment_link: None,
            idempotency: None,
            resolves: None,
            agenda: Agenda::Keep,
            stage: None,
            listing: None,
            audit: None,
        }
    }

    /// The invoice as this write leaves it (`after`: read, plus these entries and stage,
    /// with its next action computed): its place on the agenda and, when entries are
    /// written, its listing.
    pub fn leaving(mut self, after: &StoredInvoice) -> std::result::Result<Self, StoreError> {
        self.agenda = Agenda::to(after.next_action_at);
        if !self.entries.is_empty() {
            self.listing = Some(after.listing()?);
        }
        Ok(self)
    }

    /// The invoice's next action time as the planner sees it with these entries (`None`:
    /// nothing pending, off the agenda).
    pub fn with_agenda(mut self, next_action_at: Option<DateTime<Utc>>) -> Self {
        self.agenda = Agenda::to(next_action_at);
        self
    }

    pub fn with_event(mut self, event: Option<EventRecord>) -> Self {
        self.event = event;
        self
    }

    /// Remember the provider payment (`source`, `payment id`) as this invoice's.
    pub fn with_payment_link(mut self, source: String, payment_id: String) -> Self {
        self.payment_link = Some((source, payment_id));
        self
    }

    pub fn with_idempotency(mut self, record: Option<IdempotencyRecord>) -> Self {
        self.idempotency = record;
        self
    }

    pub fn resolving(mut self, unmatched: Option<Unmatched>) -> Self {
        self.resolves = unmatched;
        self
    }

    pub fn with_audit(mut self, record: Option<AuditRecord>) -> Self {
        self.audit = record;
        self
    }

    pub fn with_stage(mut self, record: StageRecord) -> Self {
        self.stage = Some(record);
        self
    }
}

/// What a write does to the invoice's place on the agenda.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agenda {
    /// Leave it where it is.
    Keep,
    /// Due for its next action at this time.
    At(DateTime<Utc>),
    /// Nothing pending: off the agenda.
    Off,
}

impl Agenda {
    /// `At` the next action time, or `Off` without one.
    pub fn to(next_action_at: Option<DateTime<Utc>>) -> Agenda {
        next_action_at.map_or(Agenda::Off, Agenda::At)
    }
}

pub const MAX_PAGE: u32 = 100;

/// Newest first; `after` is the `next` cursor of the previous page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<String>,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        PageRequest { limit, after: None }
    }

    fn limit(&self) -> u32 {
        self.limit.clamp(1, MAX_PAGE)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Cursor for the next page; `None` when this was the last.
    pub next: Option<String>,
}

/// The cursor of a page of clients that starts after `c`.
pub fn client_cursor(c: &Client) -> String {
    client_sort_key(c)
}

/// Sort key of a client in listings (newest first): creation time, then id.
pub(crate) fn client_sort_key(c: &Client) -> String {
    format!(
        "CLIENT#{}#{}",
        c.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        c.id
    )
}

/// Sort key of an unmatched payment in the queue (newest first).
pub(crate) fn unmatched_sort_key(u: &Unmatched) -> String {
    format!(
        "{}#{}",
        u.received_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        u.id
    )
}

/// Which provider payment an unmatched item is about: `{source}#{payment id}`.
pub(crate) fn payment_key(u: &Unmatched) -> String {
    format!("{}#{}", u.fact.source, u.fact.payment_id)
}

/// Which actions the audit log shows: all, or those on one invoice or one client (its
/// invoices' too). Newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AuditFilter {
    #[default]
    All,
    Invoice(InvoiceId),
    Client(ClientId),
}

impl AuditFilter {
    pub fn matches(&self, r: &AuditRecord) -> bool {
        match self {
            AuditFilter::All => true,
            AuditFilter::Invoice(id) => r.invoice_id.as_ref() == Some(id),
            AuditFilter::Client(id) => r.client_id.as_ref() == Some(id),
        }
    }
}

/// Sort key of an invoice in its client's listing (newest first): issue date, then id.
pub(crate) fn invoice_sort_key(i: &Invoice) -> String {
    format!("INVOICE#{}#{}", i.issue_date, i.id)
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // API keys
    async fn put_api_key(&self, key: &ApiKey) -> Result<()>;
    async fn api_key_by_digest(&self, digest: &str) -> Result<Option<ApiKey>>;
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>>;
    /// Marks the key revoked; `false` when there is no such key.
    async fn revoke_api_key(&self, id: &ApiKeyId, at: DateTime<Utc>) -> Result<bool>;

    // Idempotency
    /// The record under `key`, unless it has expired by `now`.
    async fn idempotency_record(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>>;

    // Clients
    /// Writes a new client; with its tax id claimed ([`Client::tax_claim`]) in the same
    /// write, else [`StoreError::TaxIdTaken`] naming the client who has it.
    async fn create_client(
        &self,
        client: &Client,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    async fn client(&self, id: &ClientId) -> Result<Option<Client>>;
    /// The client whose tax id this is ([`Client::tax_key`]), if one claimed it.
    async fn client_by_tax_key(&self, key: &str) -> Result<Option<ClientId>>;
    /// Replaces an existing client (its budget raised, …); `false` when there is none.
    async fn update_client(&self, client: &Client) -> Result<bool>;
    async fn list_clients(&self, page: &PageRequest) -> Result<Page<Client>>;

    // Invoices
    /// The highest invoice sequence number used so far (0 before the first invoice).
    async fn last_invoice_seq(&self) -> Result<u64>;
    async fn create_invoice(&self, write: &NewInvoiceWrite) -> Result<()>;
    async fn invoice(&self, id: &InvoiceId) -> Result<Option<StoredInvoice>>;
    async fn client_invoices(&self, client: &ClientId, page: &PageRequest)
    -> Result<Page<Invoice>>;
    /// Invoices across clients as `filter` picks and orders them, a page at a time (the
    /// cursor is the last one's [`ListedInvoice::sort_key`]). Reads the list's partition
    /// in key order between the due dates or in the currency asked for, or the client's
    /// invoices when one is named: never the whole table.
    async fn list_invoices(
        &self,
        filter: &InvoiceFilter,
        page: &PageRequest,
    ) -> Result<Page<ListedInvoice>>;
    /// Every invoice that may have been owed at some time since `since`, with its ledger:
    /// the open ones and those whose ledger last changed at or after `since`
    /// ([`Listing::settled_key`]), a page at a time in that order (the cursor is the last
    /// one's key). What an invoice owed on a day is then worked out from its ledger;
    /// invoices settled before `since` are never read. On DynamoDB the index and the
    /// ledgers are read eventually consistent (a write of the last second may be missed).
    async fn receivables(
        &self,
        since: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<Page<StoredInvoice>>;
    async fn invoice_by_payment_reference(
        &self,
        reference: &PaymentReference,
    ) -> Result<Option<InvoiceId>>;

    // Pay links
    async fn pay_token(&self, digest: &str) -> Result<Option<PayToken>>;
    /// Stores another pay link for an invoice (each reminder carries a fresh one).
    async fn put_pay_token(&self, token: &PayToken) -> Result<()>;
    /// Revokes every live pay link of an invoice; how many were revoked.
    async fn revoke_pay_tokens(&self, invoice: &InvoiceId, at: DateTime<Utc>) -> Result<u32>;

    // Payments
    /// Appends ledger entries and records their cause, atomically.
    async fn append_entries(&self, write: &LedgerWrite) -> Result<()>;
    /// Records an event that changes no ledger (a duplicate fact, an unsupported type), and,
    /// when given, the payment that waits in the unmatched queue: atomically.
    async fn record_event(&self, event: &EventRecord, unmatched: Option<&Unmatched>) -> Result<()>;
    async fn event(&self, provider: &str, event_id: &str) -> Result<Option<EventRecord>>;
    /// The invoice a provider payment was applied to.
    async fn invoice_for_payment(
        &self,
        source: &str,
        payment_id: &str,
    ) -> Result<Option<InvoiceId>>;
    async fn unmatched(&self, id: &UnmatchedId) -> Result<Option<Unmatched>>;
    /// Unresolved unmatched payments whose fact is about this provider payment (events that
    /// arrived before the payment they refer to).
    async fn unmatched_for_payment(&self, source: &str, payment_id: &str)
    -> Result<Vec<Unmatched>>;
    /// The unmatched queue (unresolved only), newest first.
    async fn list_unmatched(&self, page: &PageRequest) -> Result<Page<Unmatched>>;

    // Dunning
    /// Claims a dunning stage: creates its record, or takes over a claim whose lease ended
    /// before `record.claimed_at` (the record's `attempts` is one more than the old one's),
    /// else [`StoreError::StageTaken`]. With `client_day`, also claims the client's one
    /// message of that (local) day, else [`StoreError::ClientBusy`]: all or nothing.
    async fn claim_stage(&self, record: &StageRecord, client_day: Option<NaiveDate>) -> Result<()>;
    /// Records a claimed stage as done (or its failure), if the claim is still ours
    /// (same `attempts`), else [`StoreError::StageTaken`]; and sets the agenda.
    async fn finish_stage(&self, record: &StageRecord, agenda: Option<DateTime<Utc>>)
    -> Result<()>;
    /// Puts the invoice on the agenda at `at` (or off it), unless its ledger grew beyond
    /// `ledger_len` entries meanwhile ([`StoreError::SequenceTaken`]: re-read and re-plan).
    async fn set_agenda(
        &self,
        invoice: &InvoiceId,
        at: Option<DateTime<Utc>>,
        ledger_len: u32,
    ) -> Result<()>;
    /// Invoices whose next action is due by `now`, earliest first; `after` is the cursor.
    async fn due_agenda(
        &self,
        lane: Lane,
        now: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<Page<AgendaItem>>;
    /// Claims a job of the business's ([`JobRecord`]): creates its record, or takes over a
    /// claim whose lease ended by `job.claimed_at` (with `attempts` one more than the old
    /// one's), else [`StoreError::StageTaken`].
    async fn claim_job(&self, job: &JobRecord) -> Result<()>;
    /// Records a claimed job as done (or failed), if the claim is still ours (same
    /// `attempts`), else [`StoreError::StageTaken`].
    async fn finish_job(&self, job: &JobRecord) -> Result<()>;
    /// The job's record, if it was ever claimed.
    async fn job(&self, key: &str) -> Result<Option<JobRecord>>;
    /// Done stages of one kind across invoices (escalations, late fees), newest first.
    async fn stage_log(&self, log: StageLog, page: &PageRequest) -> Result<Page<StageRecord>>;

    // People of the console
    /// Writes a new user, else [`StoreError::AlreadyExists`] when the address is taken.
    async fn create_user(&self, user: &User) -> Result<()>;
    async fn user(&self, id: &UserId) -> Result<Option<User>>;
    /// The user who signs in with this (lower-case) address.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    /// Every user, by address.
    async fn list_users(&self) -> Result<Vec<User>>;
    /// Replaces a user (role, name, language, `sessions_from`); the address stays. `false`
    /// when there is none.
    async fn update_user(&self, user: &User) -> Result<bool>;
    /// Counts one more sign-in link for `address` (a digest) at `now` if fewer than
    /// [`cobro_domain::user::SIGN_IN_PER_HOUR`] went in the hour before
    /// ([`cobro_domain::user::may_send_link`]); `false`, and nothing counted, when not.
    async fn count_sign_in_link(&self, address: &str, now: DateTime<Utc>) -> Result<bool>;
    async fn put_sign_in_token(&self, token: &SignInToken) -> Result<()>;
    /// Marks the token used, once: the token as it was, when it was unused and unexpired at
    /// `now`; `None` for an unknown, expired or used one (never twice, even at once).
    async fn use_sign_in_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SignInToken>>;
    async fn put_session(&self, session: &Session) -> Result<()>;
    async fn session(&self, digest: &str) -> Result<Option<Session>>;
    /// Records the session's last use.
    async fn touch_session(&self, digest: &str, at: DateTime<Utc>) -> Result<()>;
    /// Ends a session (sign-out); nothing when it is gone already.
    async fn delete_session(&self, digest: &str) -> Result<()>;

    // Audit
    /// Records an action that wrote no ledger entry and no invoice (those carry theirs in
    /// [`LedgerWrite::audit`] and [`NewInvoiceWrite::audit`]). The same record twice is
    /// kept once.
    async fn record_audit(&self, record: &AuditRecord) -> Result<()>;
    /// The actions `filter` picks, newest first.
    async fn audit_log(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>>;
}
