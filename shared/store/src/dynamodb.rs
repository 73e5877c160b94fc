//! Production store: one DynamoDB table, items mapped with serde_dynamo.
//!
//! | item | PK | SK | index keys |
//! |---|---|---|---|
//! | client | `CLIENT#{id}` | `CLIENT` | GSI1 `CLIENTS` / `CLIENT#{created_at}#{id}` |
//! | invoice | `INVOICE#{id}` | `INVOICE` | GSI1 `CLIENT#{client}` / `INVOICE#{issue_date}#{id}` |
//! | ledger entry | `INVOICE#{id}` | `ENTRY#{seq:010}` | |
//! | invoice counter | `COUNTER#invoice` | `COUNTER` | |
//! | payment reference | `REFERENCE#{RF…}` | `REFERENCE` | |
//! | pay token | `PAYTOKEN#{sha256}` | `PAYTOKEN` | GSI1 `PAYTOKENS#{invoice}` / `{created_at}#{sha256}`, TTL |
//! | idempotency key | `IDEMPOTENCY#{key}` | `IDEMPOTENCY` | TTL |
//! | API key | `APIKEY#{sha256}` | `APIKEY` | GSI1 `APIKEYS` / `{key id}` |
//! | provider event | `EVENT#{provider}#{event id}` | `EVENT` | TTL |
//! | provider payment → invoice | `PAYREF#{source}#{payment id}` | `PAYREF` | |
//! | unmatched payment | `UNMATCHED#{id}` | `UNMATCHED` | GSI3 `UNMATCHED` / `{received_at}#{id}` |
//! | agenda (next action) | on the invoice item | | GSI2 `AGENDA#{shard}` / `{next_action_at}#{id}`, sparse |
//! | listing (lists across clients) | on the invoice item (`listing`, `escalated`) | | GSI3 `DUE#{open\|closed}` / `{due date}#{id}`; GSI4 `AMOUNT#{open\|closed}` / `{currency}#{amount due}#{id}` |
//! | dunning stage | `INVOICE#{id}` | `STAGE#{stage}` | GSI1 `LOG#{escalation\|late-fee\|promise\|deposit}` / `{done_at}#…` when done |
//! | client's message of the day | `CLIENTDAY#{client}#{date}` | `CLIENTDAY` | TTL |
//! | console user | `USER#{id}` | `USER` | GSI1 `USERS` / `{email}` |
//! | user's address (unique) | `USEREMAIL#{email}` | `USEREMAIL` | |
//! | sign-in links sent to an address | `SIGNINLINKS#{sha256}` | `SIGNINLINKS` | TTL |
//! | sign-in token | `SIGNIN#{sha256}` | `SIGNIN` | TTL |
//! | console session | `SESSION#{sha256}` | `SESSION` | TTL (its absolute end) |
//! | audit record | `AUDIT#{id}` | `AUDIT` | GSI1 `AUDIT` / `{id}`; GSI3 `AUDIT#{invoice}` / `{id}`; GSI4 `AUDIT#{client}` / `{id}` |
//!
//! The TTL attribute is `ttl` (epoch seconds). Creating an invoice is one
//! `TransactWriteItems`: the counter moves from `seq - 1` to `seq` under a condition, so
//! numbers are gapless and never shared, and the idempotency key, the invoice, its first
//! ledger entry, its payment reference and its pay token are written with it or not at all.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client as DynamoClient;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ScalarAttributeType,
    TimeToLiveSpecification, TransactWriteItem, Update,
};
use chrono::Duration;
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use cobro_domain::calendar::later;
use cobro_domain::{
    ApiKeyId, Client, ClientId, Invoice, InvoiceId, LedgerEntry, PaymentReference, UnmatchedId,
};
use cobro_domain::{
    AuditRecord, JobRecord, Session, SignInToken, StageRecord, StageStatus, User, UserId,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_attribute_value, to_item};

use crate::{
    Agenda, AgendaItem, ApiKey, AuditFilter, EventRecord, IdempotencyRecord, InvoiceFilter,
    InvoiceOrder, Lane, LedgerWrite, ListedInvoice, NewInvoiceWrite, Page, PageRequest, PayToken,
    Result, StageLog, Store, StoreError, StoredInvoice, Unmatched, agenda_sort_key, agenda_until,
    client_sort_key, invoice_sort_key, listing_group, listing_sort_key, log_sort_key, payment_key,
    unmatched_sort_key,
};
use cobro_domain::listing::Listing;

/// The agenda is spread over this many GSI2 partitions, so no one partition is hot.
pub const AGENDA_SHARDS: u32 = 8;

/// The deposit check's agenda: deposits are few, one partition holds them.
const DEPOSIT_AGENDA: &str = "DEPOSITS";

/// The agenda partition of an invoice in `lane`.
fn agenda_partition(lane: Lane, id: &InvoiceId) -> String {
    match lane {
        Lane::Dunning => format!("AGENDA#{}", agenda_shard(id)),
        Lane::Deposits => DEPOSIT_AGENDA.into(),
    }
}

fn agenda_shard(id: &InvoiceId) -> u32 {
    id.to_string().bytes().map(u32::from).sum::<u32>() % AGENDA_SHARDS
}

type Item = HashMap<String, AttributeValue>;

/// The item envelope: keys and index keys around a domain value.
#[derive(Serialize, Deserialize)]
struct Row<T> {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    #[serde(rename = "GSI2PK", default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(rename = "GSI2SK", default, skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
    #[serde(rename = "GSI3PK", default, skip_serializing_if = "Option::is_none")]
    gsi3pk: Option<String>,
    #[serde(rename = "GSI3SK", default, skip_serializing_if = "Option::is_none")]
    gsi3sk: Option<String>,
    #[serde(rename = "GSI4PK", default, skip_serializing_if = "Option::is_none")]
    gsi4pk: Option<String>,
    #[serde(rename = "GSI4SK", default, skip_serializing_if = "Option::is_none")]
    gsi4sk: Option<String>,
    /// DynamoDB TTL, epoch seconds. Expired items may linger until the service deletes
    /// them, so reads check expiry themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<i64>,
    #[serde(flatten)]
    data: T,
}

impl<T: Serialize> Row<T> {
    fn new(pk: String, sk: &str, data: T) -> Self {
        Row {
            pk,
            sk: sk.to_string(),
            gsi1pk: None,
            gsi1sk: None,
            gsi2pk: None,
            gsi2sk: None,
            gsi3pk: None,
            gsi3sk: None,
            gsi4pk: None,
            gsi4sk: None,
            ttl: None,
            data,
        }
    }

    fn gsi1(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.gsi1pk = Some(pk.into());
        self.gsi1sk = Some(sk.into());
        self
    }

    fn gsi3(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.gsi3pk = Some(pk.into());
        self.gsi3sk = Some(sk.into());
        self
    }

    fn gsi4(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.gsi4pk = Some(pk.into());
        self.gsi4sk = Some(sk.into());
        self
    }

    fn ttl(mut self, at: DateTime<Utc>) -> Self {
        self.ttl = Some(at.timestamp());
        self
    }

    fn item(&self) -> Result<Item> {
        to_item(self).map_err(StoreError::backend)
    }
}

/// An audit record's item: in the whole log (GSI1), its invoice's (GSI3) and its
/// client's (GSI4), each in time order.
fn audit_item(r: &AuditRecord) -> Result<Item> {
    let mut row = Row::new(format!("AUDIT#{}", r.id), "AUDIT", r).gsi1(AUDIT_LOG, &r.id);
    if let Some(i) = &r.invoice_id {
        row = row.gsi3(format!("AUDIT#{i}"), &r.id);
    }
    if let Some(c) = &r.client_id {
        row = row.gsi4(format!("AUDIT#{c}"), &r.id);
    }
    row.item()
}

const AUDIT_LOG: &str = "AUDIT";

/// The list index keys of an invoice with this listing, as update values: GSI3 (by due
/// date) and GSI4 (by amount due), in its group's partitions, and GSI5 (the receivables
/// of the reports, by when it settled).
fn list_keys(id: &InvoiceId, l: &Listing) -> [(&'static str, String); 6] {
    let group = listing_group(l);
    let key = |order| (list_index(order, group).1, listing_sort_key(id, l, order));
    let ((due_pk, due_sk), (amount_pk, amount_sk)) =
        (key(InvoiceOrder::DueDate), key(InvoiceOrder::AmountDue));
    [
        (":l3pk", due_pk),
        (":l3sk", due_sk),
        (":l4pk", amount_pk),
        (":l4sk", amount_sk),
        (":l5pk", RECEIVABLES.to_string()),
        (":l5sk", l.settled_key(id)),
    ]
}

/// The GSI5 partition of every invoice (the reports' receivables).
const RECEIVABLES: &str = "RECEIVABLES";

/// The sort key range of an invoice list (both ends included): its due dates, or its
/// currency.
fn list_range(f: &InvoiceFilter) -> (String, String) {
    let (lo, hi) = match f.order {
        InvoiceOrder::DueDate => (
            f.due_from.map(|d| d.to_string()),
            f.due_to.map(|d| format!("{d}#~")),
        ),
        InvoiceOrder::AmountDue => (
            f.currency.map(|c| format!("{}#", c.code())),
            f.currency.map(|c| format!("{}#~", c.code())),
        ),
    };
    (
        lo.unwrap_or_else(|| " ".into()),
        hi.unwrap_or_else(|| "~".into()),
    )
}

/// An invoice item as the lists read it (`None`: stored before listings were kept).
#[derive(Deserialize)]
struct ListedItem {
    #[serde(flatten)]
    invoice: Invoice,
    #[serde(default)]
    listing: Option<Listing>,
    #[serde(default)]
    escalated: bool,
}

fn listed_item(item: Item) -> Result<Option<ListedInvoice>> {
    let row: ListedItem = parse(item)?;
    Ok(row.listing.map(|listing| ListedInvoice {
        invoice: row.invoice,
        listing,
        escalated: row.escalated,
    }))
}

/// The GSI an invoice list sorted by `order` is read from, and its partition for `group`.
fn list_index(order: InvoiceOrder, group: &str) -> (&'static str, String) {
    match order {
        InvoiceOrder::DueDate => ("GSI3", format!("DUE#{group}")),
        InvoiceOrder::AmountDue => ("GSI4", format!("AMOUNT#{group}")),
    }
}

/// A pay token's item: findable by its digest, and by its invoice (for revocation).
fn token_row(t: &PayToken) -> Row<&PayToken> {
    Row::new(format!("PAYTOKEN#{}", t.digest), "PAYTOKEN", t)
        .gsi1(
            format!("PAYTOKENS#{}", t.invoice_id),
            format!(
                "{}#{}",
                t.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
                t.digest
            ),
        )
        .ttl(t.expires_at)
}

/// A small reference item pointing at an invoice.
#[derive(Serialize, Deserialize)]
struct InvoiceRef {
    invoice_id: InvoiceId,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn parse<T: DeserializeOwned>(item: Item) -> Result<T> {
    from_item::<Row<T>>(item)
        .map(|r| r.data)
        .map_err(StoreError::backend)
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("PK".to_string(), s(pk)), ("SK".to_string(), s(sk))])
}

/// A job's record as an item, in its own partition, with its lease in epoch milliseconds
/// (and its status and attempts at the top) for the claim's conditions.
fn job_item(j: &JobRecord) -> Result<Item> {
    let mut item = Row::new(format!("JOB#{}", j.key), "JOB", j).item()?;
    item.insert(
        "lease_ms".into(),
        AttributeValue::N(j.lease_until.timestamp_millis().to_string()),
    );
    Ok(item)
}

const NOT_EXISTS: &str = "attribute_not_exists(PK)";
const EXISTS: &str = "attribute_exists(PK)";

fn put(table: &str, item: Item, condition: Option<&str>) -> Result<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_string))
        .build()
        .map_err(StoreError::backend)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// What each item of a transaction stands for, to explain a cancellation.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    TaxId,
    Stage,
    ClientDay,
    Resolve,
    Idempotency,
    Counter,
    Event,
    Entry,
    Other,
}

/// Whose address this is.
#[derive(Serialize, Deserialize)]
struct UserRef {
    user_id: UserId,
}

/// The sign-in links an address was sent in the last hour, and the item's version.
#[derive(Serialize, Deserialize)]
struct SentLinks {
    times: Vec<DateTime<Utc>>,
    version: u64,
}

/// Who claimed a tax id.
#[derive(Serialize, Deserialize)]
struct TaxClaim {
    client_id: ClientId,
}

#[derive(Clone)]
pub struct DynamoStore {
    client: DynamoClient,
    table: String,
}

impl DynamoStore {
    pub fn new(client: DynamoClient, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// A store on `table` with the AWS configuration of the environment (region,
    /// credentials, and `AWS_ENDPOINT_URL` for a local DynamoDB-compatible server).
    pub async fn from_env(table: impl Into<String>) -> Self {
        DynamoStore::from_sdk(&crate::aws::from_env().await, table)
    }

    /// From an AWS configuration the process already loaded (one per cold start).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        DynamoStore::new(DynamoClient::new(sdk), table)
    }

    pub fn client(&self) -> &DynamoClient {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::backend(e.into_service_error()))?;
        Ok(out.item)
    }

    /// A put that succeeds unless a live (unexpired) item holds the key: records that
    /// remember something for a while (idempotency keys, provider events).
    fn put_unless_live<T: Serialize>(
        &self,
        row: Row<T>,
        now: DateTime<Utc>,
    ) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(row.item()?))
            .condition_expression("attribute_not_exists(PK) OR #ttl <= :now")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A client's item, written under `condition`.
    fn client_put(&self, client: &Client, condition: &str) -> Result<TransactWriteItem> {
        let row = Row::new(format!("CLIENT#{}", client.id), "CLIENT", client)
            .gsi1("CLIENTS", client_sort_key(client));
        put(&self.table, row.item()?, Some(condition))
    }

    /// A new client's items: the client, and the claim of its tax id (`TAXID#{key}`, only
    /// if nobody has it).
    fn new_client_items(&self, client: &Client) -> Result<Vec<(Part, TransactWriteItem)>> {
        let mut items = vec![(Part::Other, self.client_put(client, NOT_EXISTS)?)];
        if let Some(key) = client.tax_claim() {
            let claim = TaxClaim {
                client_id: client.id.clone(),
            };
            let row = Row::new(format!("TAXID#{key}"), "TAXID", &claim);
            items.push((
                Part::TaxId,
                put(&self.table, row.item()?, Some(NOT_EXISTS))?,
            ));
        }
        Ok(items)
    }

    /// A write of a new client that failed on its tax id: who has it.
    async fn tax_owner(&self, client: &Client, e: StoreError) -> StoreError {
        let StoreError::TaxIdTaken(_) = e else {
            return e;
        };
        let Some(key) = client.tax_key() else {
            return e;
        };
        match self.client_by_tax_key(&key).await {
            Ok(Some(owner)) => StoreError::TaxIdTaken(owner),
            Ok(None) => StoreError::Backend("a tax id claim vanished".into()),
            Err(e) => e,
        }
    }

    fn idempotency_put(&self, rec: &IdempotencyRecord) -> Result<TransactWriteItem> {
        let row =
            Row::new(format!("IDEMPOTENCY#{}", rec.key), "IDEMPOTENCY", rec).ttl(rec.expires_at);
        self.put_unless_live(row, rec.created_at)
    }

    fn event_put(&self, e: &EventRecord) -> Result<TransactWriteItem> {
        let row =
            Row::new(format!("EVENT#{}#{}", e.provider, e.event_id), "EVENT", e).ttl(e.expires_at);
        self.put_unless_live(row, e.received_at)
    }

    /// Runs a transaction and explains which condition stopped it.
    async fn transact(&self, items: Vec<(Part, TransactWriteItem)>) -> Result<()> {
        let (parts, items): (Vec<Part>, Vec<TransactWriteItem>) = items.into_iter().unzip();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) => match e.into_err() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    let failed: Vec<Part> = c
                        .cancellation_reasons()
                        .iter()
                        .zip(&parts)
                        .filter(|(r, _)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(_, p)| *p)
                        .collect();
                    if failed.contains(&Part::Stage) {
                        Err(StoreError::StageTaken)
                    } else if failed.contains(&Part::ClientDay) {
                        Err(StoreError::ClientBusy)
                    } else if failed.contains(&Part::Resolve) {
                        Err(StoreError::AlreadyResolved)
                    } else if failed.contains(&Part::Idempotency) {
                        Err(StoreError::IdempotencyKeyTaken)
                    } else if failed.contains(&Part::TaxId) {
                        // After the idempotency record: a retry of the request that took
                        // the tax id gets that request's answer, not a conflict.
                        Err(StoreError::TaxIdTaken(ClientId::generate()))
                    } else if failed.contains(&Part::Event) {
                        Err(StoreError::EventSeen)
                    } else if failed.contains(&Part::Counter) || failed.contains(&Part::Entry) {
                        Err(StoreError::SequenceTaken)
                    } else if !failed.is_empty() {
                        Err(StoreError::AlreadyExists)
                    } else {
                        Err(StoreError::backend(c))
                    }
                }
                other => Err(StoreError::backend(other)),
            },
            Err(e) => Err(StoreError::backend(e)),
        }
    }

    /// Queries GSI1 newest first, below the `after` cursor.
    async fn gsi1_page<T: DeserializeOwned>(
        &self,
        pk: String,
        page: &PageRequest,
    ) -> Result<Page<T>> {
        self.index_page("GSI1", pk, page).await
    }

    /// Queries a GSI newest first, below the `after` cursor (the index's sort key).
    async fn index_page<T: DeserializeOwned>(
        &self,
        index: &str,
        pk: String,
        page: &PageRequest,
    ) -> Result<Page<T>> {
        let limit = page.limit();
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_names("#pk", format!("{index}PK"))
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX).saturating_add(1));
        q = match &page.after {
            Some(after) => q
                .key_condition_expression("#pk = :pk AND #sk < :after")
                .expression_attribute_names("#sk", format!("{index}SK"))
                .expression_attribute_values(":after", s(after.clone())),
            None => q.key_condition_expression("#pk = :pk"),
        };
        let out = q
            .send()
            .await
            .map_err(|e| StoreError::backend(e.into_service_error()))?;
        let mut rows = out.items.unwrap_or_default();
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more {
            rows.last()
                .and_then(|r| r.get(&format!("{index}SK")))
                .and_then(|v| v.as_s().ok())
                .cloned()
        } else {
            None
        };
        let items = rows.into_iter().map(parse).collect::<Result<Vec<T>>>()?;
        Ok(Page { items, next })
    }

    /// Up to `want` invoices `filter` matches from one index partition, in the list's order,
    /// between the `range` keys and past the cursor `after` (a key of that index).
    async fn listed(
        &self,
        index: &str,
        pk: String,
        range: (String, String),
        filter: &InvoiceFilter,
        after: Option<&str>,
        want: usize,
    ) -> Result<Vec<ListedInvoice>> {
        let (mut lo, mut hi) = range;
        match after {
            Some(a) if filter.descending => hi = hi.min(a.to_string()),
            Some(a) => lo = lo.max(a.to_string()),
            None => {}
        }
        let mut out = Vec::new();
        if lo > hi {
            return Ok(out);
        }
        let batch = i32::try_from(want.saturating_mul(2).clamp(50, 1000)).unwrap_or(1000);
        let mut start = None;
        loop {
            let res = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                .expression_attribute_names("#pk", format!("{index}PK"))
                .expression_attribute_names("#sk", format!("{index}SK"))
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":lo", s(lo.clone()))
                .expression_attribute_values(":hi", s(hi.clone()))
                .scan_index_forward(!filter.descending)
                .limit(batch)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::backend(e.into_service_error()))?;
            for item in res.items.unwrap_or_default() {
                let Some(l) = listed_item(item)? else {
                    continue;
                };
                let past = after.is_none_or(|a| filter.after(&l.sort_key(filter.order), a));
                if past && filter.matches(&l) {
                    out.push(l);
                    if out.len() >= want {
                        return Ok(out);
                    }
                }
            }
            start = res.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// Marks an existing item revoked at `at` (the first revocation time stays).
    async fn revoke(&self, pk: String, sk: &str, at: DateTime<Utc>) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression("SET revoked_at = if_not_exists(revoked_at, :at)")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(
                ":at",
                to_attribute_value(at).map_err(StoreError::backend)?,
            )
            .send()
            .await
            .map_err(|e| StoreError::backend(e.into_service_error()))?;
        Ok(())
    }

    /// The update of an invoice's item a write makes, if any: its place on the agenda (at
    /// a time, or off it), its listing with the list index keys, and its escalation.
    fn invoice_update(
        &self,
        id: &InvoiceId,
        agenda: Agenda,
        listing: Option<&Listing>,
        escalated: bool,
    ) -> Result<Option<TransactWriteItem>> {
        let mut u = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(format!("INVOICE#{id}"), "INVOICE")))
            .condition_expression("attribute_exists(PK)");
        let (mut set, mut remove) = (Vec::new(), Vec::new());
        // An invoice's agenda partition is chosen when it is created (`agenda_pk`: its
        // lane); invoices from before lanes are in the dunning one.
        match agenda {
            Agenda::Keep => {}
            Agenda::At(at) => {
                set.push(
                    "next_action_at = :at, GSI2PK = if_not_exists(agenda_pk, :apk), GSI2SK = :ask",
                );
                u = u
                    .expression_attribute_values(":at", s(at.to_rfc3339()))
                    .expression_attribute_values(":apk", s(format!("AGENDA#{}", agenda_shard(id))))
                    .expression_attribute_values(":ask", s(agenda_sort_key(at, id)));
            }
            Agenda::Off => remove.push("next_action_at, GSI2PK, GSI2SK"),
        }
        if let Some(l) = listing {
            set.push("listing = :listing, GSI3PK = :l3pk, GSI3SK = :l3sk, GSI4PK = :l4pk, GSI4SK = :l4sk, GSI5PK = :l5pk, GSI5SK = :l5sk");
            u = u.expression_attribute_values(
                ":listing",
                to_attribute_value(l).map_err(StoreError::backend)?,
            );
            for (name, value) in list_keys(id, l) {
                u = u.expression_attribute_values(name, s(value));
            }
        }
        if escalated {
            set.push("escalated = :escalated");
            u = u.expression_attribute_values(":escalated", AttributeValue::Bool(true));
        }
        if set.is_empty() && remove.is_empty() {
            return Ok(None);
        }
        let mut expression = String::new();
        if !set.is_empty() {
            expression.push_str(&format!("SET {}", set.join(", ")));
        }
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        Ok(Some(
            TransactWriteItem::builder()
                .update(
                    u.update_expression(expression.trim())
                        .build()
                        .map_err(StoreError::backend)?,
                )
                .build(),
        ))
    }

    /// Writes a claimed record (a stage's, a job's): if there is none yet, or if the one
    /// there is claimed, its lease ended by `claimed_at` and it had one attempt fewer.
    fn claim_put(
        &self,
        item: Item,
        claimed_at: DateTime<Utc>,
        attempts: u32,
    ) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(PK) OR (#status = :claimed AND lease_ms <= :now AND attempts = :previous)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(
                ":now",
                AttributeValue::N(claimed_at.timestamp_millis().to_string()),
            )
            .expression_attribute_values(
                ":previous",
                AttributeValue::N(attempts.saturating_sub(1).to_string()),
            )
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Writes a finished record over its claim, if the claim is still the one of `attempts`.
    fn finish_put(&self, item: Item, attempts: u32) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#status = :claimed AND attempts = :attempts")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":attempts", AttributeValue::N(attempts.to_string()))
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A stage record as an item: in its invoice's partition, in its log when done, with
    /// its lease in epoch milliseconds for conditions.
    fn stage_item(&self, r: &StageRecord) -> Result<Item> {
        let mut row = Row::new(
            format!("INVOICE#{}", r.invoice_id),
            &format!("STAGE#{}", r.stage),
            r,
        );
        if let Some(log) = StageLog::of(&r.stage).filter(|_| r.is_done()) {
            row = row.gsi1(format!("LOG#{}", log.name()), log_sort_key(r));
        }
        let mut item = row.item()?;
        item.insert(
            "lease_ms".into(),
            AttributeValue::N(r.lease_until.timestamp_millis().to_string()),
        );
        Ok(item)
    }

    /// An invoice with its ledger and stages, from its partition; `consistent`: a strongly
    /// consistent read (twice the read units of an eventually consistent one).
    async fn stored_invoice(
        &self,
        id: &InvoiceId,
        consistent: bool,
    ) -> Result<Option<StoredInvoice>> {
        let mut invoice = None;
        let mut next_action_at = None;
        let mut entries = Vec::new();
        let mut stages = Vec::new();
        for item in self
            .partition_read(format!("INVOICE#{id}"), consistent)
            .await?
        {
            let sk = item
                .get("SK")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            if sk == "INVOICE" {
                next_action_at = item
                    .get("next_action_at")
                    .and_then(|v| v.as_s().ok())
                    .map(|t| t.parse::<DateTime<Utc>>().map_err(StoreError::backend))
                    .transpose()?;
                invoice = Some(parse::<Invoice>(item)?);
            } else if sk.starts_with("ENTRY#") {
                entries.push(parse::<LedgerEntry>(item)?);
            } else if sk.starts_with("STAGE#") {
                stages.push(parse::<StageRecord>(item)?);
            }
        }
        entries.sort_by_key(|e| e.seq);
        stages.sort_by_key(|s| s.stage);
        Ok(invoice.map(|invoice| StoredInvoice {
            invoice,
            entries,
            stages,
            next_action_at,
        }))
    }

    /// All items of one partition, following DynamoDB's pages, read strongly consistent or
    /// not.
    async fn partition_read(&self, pk: String, consistent: bool) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(pk.clone()))
                .consistent_read(consistent)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::backend(e.into_service_error()))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn put_api_key(&self, k: &ApiKey) -> Result<()> {
        let row =
            Row::new(format!("APIKEY#{}", k.digest), "APIKEY", k).gsi1("APIKEYS", k.id.to_string());
        self.transact(vec![(
            Part::Other,
            put(&self.table, row.item()?, Some(NOT_EXISTS))?,
        )])
        .await
    }

    async fn api_key_by_digest(&self, digest: &str) -> Result<Option<ApiKey>> {
        self.get(format!("APIKEY#{digest}"), "APIKEY")
            .await?
            .map(parse)
            .transpose()
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        let mut keys = Vec::new();
        let mut page = PageRequest::first(crate::MAX_PAGE);
        loop {
            let p: Page<ApiKey> = self.gsi1_page("APIKEYS".into(), &page).await?;
            keys.extend(p.items);
            match p.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        keys.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(keys)
    }

    async fn revoke_api_key(&self, id: &ApiKeyId, at: DateTime<Utc>) -> Result<bool> {
        let Some(k) = self
            .list_api_keys()
            .await?
            .into_iter()
            .find(|k| &k.id == id)
        else {
            return Ok(false);
        };
        self.revoke(format!("APIKEY#{}", k.digest), "APIKEY", at)
            .await?;
        Ok(true)
    }

    async fn idempotency_record(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>> {
        let rec: Option<IdempotencyRecord> = self
            .get(format!("IDEMPOTENCY#{key}"), "IDEMPOTENCY")
            .await?
            .map(parse)
            .transpose()?;
        Ok(rec.filter(|r| r.expires_at > now))
    }

    async fn create_client(
        &self,
        client: &Client,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let mut items = self.new_client_items(client)?;
        if let Some(rec) = idempotency {
            items.push((Part::Idempotency, self.idempotency_put(rec)?));
        }
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.tax_owner(client, e).await),
        }
    }

    async fn update_client(&self, client: &Client) -> Result<bool> {
        match self
            .transact(vec![(Part::Other, self.client_put(client, EXISTS)?)])
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::AlreadyExists) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn client(&self, id: &ClientId) -> Result<Option<Client>> {
        self.get(format!("CLIENT#{id}"), "CLIENT")
            .await?
            .map(parse)
            .transpose()
    }

    async fn client_by_tax_key(&self, key: &str) -> Result<Option<ClientId>> {
        let claim: Option<TaxClaim> = self
            .get(format!("TAXID#{key}"), "TAXID")
            .await?
            .map(parse)
            .transpose()?;
        Ok(claim.map(|c| c.client_id))
    }

    async fn list_clients(&self, page: &PageRequest) -> Result<Page<Client>> {
        self.gsi1_page("CLIENTS".into(), page).await
    }

    async fn last_invoice_seq(&self) -> Result<u64> {
        let Some(item) = self.get("COUNTER#invoice".into(), "COUNTER").await? else {
            return Ok(0);
        };
        item.get("value")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StoreError::Backend("invoice counter is malformed".into()))
    }

    async fn create_invoice(&self, w: &NewInvoiceWrite) -> Result<()> {
        let inv = &w.invoice;
        let expected = inv.seq.checked_sub(1).ok_or(StoreError::SequenceTaken)?;
        let counter = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key("COUNTER#invoice".into(), "COUNTER")))
            .update_expression("SET #v = :new")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":new", AttributeValue::N(inv.seq.to_string()));
        let counter = if expected == 0 {
            counter.condition_expression(NOT_EXISTS)
        } else {
            counter
                .condition_expression("#v = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
        }
        .build()
        .map_err(StoreError::backend)?;

        let pk = format!("INVOICE#{}", inv.id);
        let mut invoice_row = Row::new(pk.clone(), "INVOICE", inv)
            .gsi1(format!("CLIENT#{}", inv.client_id), invoice_sort_key(inv));
        let agenda_pk = agenda_partition(Lane::of(inv), &inv.id);
        if let Some(at) = w.next_action_at {
            invoice_row.gsi2pk = Some(agenda_pk.clone());
            invoice_row.gsi2sk = Some(agenda_sort_key(at, &inv.id));
        }
        let listing = Listing::of(inv, &w.entries).map_err(StoreError::backend)?;
        let [
            (_, l3pk),
            (_, l3sk),
            (_, l4pk),
            (_, l4sk),
            (_, l5pk),
            (_, l5sk),
        ] = list_keys(&inv.id, &listing);
        invoice_row = invoice_row.gsi3(l3pk, l3sk);
        invoice_row.gsi4pk = Some(l4pk);
        invoice_row.gsi4sk = Some(l4sk);
        let mut invoice_item = invoice_row.item()?;
        invoice_item.insert(
            "listing".into(),
            to_attribute_value(&listing).map_err(StoreError::backend)?,
        );
        invoice_item.insert("agenda_pk".into(), s(agenda_pk));
        invoice_item.insert("GSI5PK".into(), s(l5pk));
        invoice_item.insert("GSI5SK".into(), s(l5sk));
        if let Some(at) = w.next_action_at {
            invoice_item.insert("next_action_at".into(), s(at.to_rfc3339()));
        }
        let reference = Row::new(
            format!("REFERENCE#{}", inv.payment_reference.as_str()),
            "REFERENCE",
            InvoiceRef {
                invoice_id: inv.id.clone(),
            },
        );
        let token = token_row(&w.pay_token);

        let mut items = vec![
            (
                Part::Counter,
                TransactWriteItem::builder().update(counter).build(),
            ),
            (
                Part::Other,
                put(&self.table, invoice_item, Some(NOT_EXISTS))?,
            ),
            (
                Part::Other,
                put(&self.table, reference.item()?, Some(NOT_EXISTS))?,
            ),
            (
                Part::Other,
                put(&self.table, token.item()?, Some(NOT_EXISTS))?,
            ),
        ];
        for e in &w.entries {
            let row = Row::new(pk.clone(), &format!("ENTRY#{:010}", e.seq), e);
            items.push((
                Part::Other,
                put(&self.table, row.item()?, Some(NOT_EXISTS))?,
            ));
        }
        for (other, e) in &w.other_entries {
            let row = Row::new(
                format!("INVOICE#{other}"),
                &format!("ENTRY#{:010}", e.seq),
                e,
            );
            items.push((
                Part::Entry,
                put(&self.table, row.item()?, Some(NOT_EXISTS))?,
            ));
        }
        for (other, l) in &w.other_listings {
            if let Some(u) = self.invoice_update(other, Agenda::Keep, Some(l), false)? {
                items.push((Part::Other, u));
            }
        }
        if let Some(client) = &w.new_client {
            items.extend(self.new_client_items(client)?);
        }
        if let Some(rec) = &w.idempotency {
            items.push((Part::Idempotency, self.idempotency_put(rec)?));
        }
        for r in &w.audit {
            items.push((Part::Other, put(&self.table, audit_item(r)?, None)?));
        }
        match (self.transact(items).await, &w.new_client) {
            (Ok(()), _) => Ok(()),
            (Err(e), Some(client)) => Err(self.tax_owner(client, e).await),
            (Err(e), None) => Err(e),
        }
    }

    async fn invoice(&self, id: &InvoiceId) -> Result<Option<StoredInvoice>> {
        self.stored_invoice(id, true).await
    }

    async fn client_invoices(
        &self,
        client: &ClientId,
        page: &PageRequest,
    ) -> Result<Page<Invoice>> {
        self.gsi1_page(format!("CLIENT#{client}"), page).await
    }

    async fn list_invoices(
        &self,
        filter: &InvoiceFilter,
        page: &PageRequest,
    ) -> Result<Page<ListedInvoice>> {
        let want = (page.limit() as usize).saturating_add(1);
        let mut found = Vec::new();
        match &filter.client {
            // One client's invoices are few: all of them, from its listing (GSI1).
            Some(client) => {
                let (pk, range) = (
                    format!("CLIENT#{client}"),
                    (" ".to_string(), "~".to_string()),
                );
                found.extend(
                    self.listed("GSI1", pk, range, filter, None, usize::MAX)
                        .await?,
                );
            }
            None => {
                // Each group's partition in key order, within the due dates or currency
                // asked for, until a page of matches past the cursor; merged below.
                let (range, after) = (list_range(filter), page.after.as_deref());
                for group in filter.groups() {
                    let (index, pk) = list_index(filter.order, group);
                    let range = range.clone();
                    found.extend(self.listed(index, pk, range, filter, after, want).await?);
                }
            }
        }
        Ok(crate::page_in_order(filter, found, page))
    }

    async fn receivables(
        &self,
        since: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<Page<StoredInvoice>> {
        use futures::{StreamExt, TryStreamExt};
        let limit = page.limit();
        let from = cobro_domain::listing::settled_key_from(since);
        // Past the cursor, or from the first key that can be owed since `since`.
        let (condition, bound) = match &page.after {
            Some(after) if *after >= from => ("#pk = :pk AND #sk > :bound", after.clone()),
            _ => ("#pk = :pk AND #sk >= :bound", from),
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI5")
            .key_condition_expression(condition)
            .expression_attribute_names("#pk", "GSI5PK")
            .expression_attribute_names("#sk", "GSI5SK")
            .expression_attribute_values(":pk", s(RECEIVABLES.to_string()))
            .expression_attribute_values(":bound", s(bound))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX).saturating_add(1))
            .send()
            .await
            .map_err(|e| StoreError::backend(e.into_service_error()))?;
        let mut rows = out.items.unwrap_or_default();
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let key_of = |r: &Item, name: &str| r.get(name).and_then(|v| v.as_s().ok()).cloned();
        let next = more
            .then(|| rows.last().and_then(|r| key_of(r, "GSI5SK")))
            .flatten();
        let ids: Vec<InvoiceId> = rows
            .iter()
            .filter_map(|r| key_of(r, "PK"))
            .filter_map(|pk| pk.strip_prefix("INVOICE#").and_then(InvoiceId::parse))
            .collect();
        // Each one's ledger from its own partition, a few at a time, in the index's order,
        // eventually consistent like the index itself (half the read units).
        let items: Vec<Option<StoredInvoice>> = futures::stream::iter(ids)
            .map(|id| async move { self.stored_invoice(&id, false).await })
            .buffered(8)
            .try_collect()
            .await?;
        Ok(Page {
            items: items.into_iter().flatten().collect(),
            next,
        })
    }

    async fn invoice_by_payment_reference(
        &self,
        reference: &PaymentReference,
    ) -> Result<Option<InvoiceId>> {
        let item = self
            .get(format!("REFERENCE#{}", reference.as_str()), "REFERENCE")
            .await?;
        Ok(item
            .map(parse::<InvoiceRef>)
            .transpose()?
            .map(|r| r.invoice_id))
    }

    async fn pay_token(&self, digest: &str) -> Result<Option<PayToken>> {
        self.get(format!("PAYTOKEN#{digest}"), "PAYTOKEN")
            .await?
            .map(parse)
            .transpose()
    }

    async fn put_pay_token(&self, token: &PayToken) -> Result<()> {
        let row = token_row(token);
        self.transact(vec![(
            Part::Other,
            put(&self.table, row.item()?, Some(NOT_EXISTS))?,
        )])
        .await
    }

    async fn revoke_pay_tokens(&self, invoice: &InvoiceId, at: DateTime<Utc>) -> Result<u32> {
        let mut revoked: u32 = 0;
        let mut page = PageRequest::first(crate::MAX_PAGE);
        loop {
            let p: Page<PayToken> = self
                .gsi1_page(format!("PAYTOKENS#{invoice}"), &page)
                .await?;
            for t in p.items.iter().filter(|t| t.revoked_at.is_none()) {
                self.revoke(format!("PAYTOKEN#{}", t.digest), "PAYTOKEN", at)
                    .await?;
                revoked = revoked.saturating_add(1);
            }
            match p.next {
                Some(n) => page.after = Some(n),
                None => return Ok(revoked),
            }
        }
    }

    async fn append_entries(&self, w: &LedgerWrite) -> Result<()> {
        let pk = format!("INVOICE#{}", w.invoice_id);
        let mut items = Vec::new();
        for e in &w.entries {
            let row = Row::new(pk.clone(), &format!("ENTRY#{:010}", e.seq), e);
            items.push((
                Part::Entry,
                put(&self.table, row.item()?, Some(NOT_EXISTS))?,
            ));
        }
        if let Some(e) = &w.event {
            items.push((Part::Event, self.event_put(e)?));
        }
        if let Some(rec) = &w.idempotency {
            items.push((Part::Idempotency, self.idempotency_put(rec)?));
        }
        if let Some(u) = &w.resolves {
            // Resolved items keep their history but leave the sparse GSI3 queue.
            let row = Row::new(format!("UNMATCHED#{}", u.id), "UNMATCHED", u);
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(row.item()?))
                .condition_expression("attribute_exists(GSI3PK)")
                .build()
                .map_err(StoreError::backend)?;
            items.push((Part::Resolve, TransactWriteItem::builder().put(put).build()));
        }
        if let Some((source, payment_id)) = &w.payment_link {
            let row = Row::new(
                format!("PAYREF#{source}#{payment_id}"),
                "PAYREF",
                InvoiceRef {
                    invoice_id: w.invoice_id.clone(),
                },
            );
            // The same payment always names the same invoice: overwriting is harmless.
            items.push((Part::Other, put(&self.table, row.item()?, None)?));
        }
        if let Some(r) = &w.stage {
            items.push((Part::Other, put(&self.table, self.stage_item(r)?, None)?));
        }
        if let Some(r) = &w.audit {
            items.push((Part::Other, put(&self.table, audit_item(r)?, None)?));
        }
        let escalated = crate::escalates(&w.stage);
        if let Some(u) =
            self.invoice_update(&w.invoice_id, w.agenda, w.listing.as_ref(), escalated)?
        {
            items.push((Part::Other, u));
        }
        self.transact(items).await
    }

    async fn record_event(&self, event: &EventRecord, unmatched: Option<&Unmatched>) -> Result<()> {
        let mut items = vec![(Part::Event, self.event_put(event)?)];
        if let Some(u) = unmatched {
            // Listed in the queue (GSI3) and findable by its payment (GSI1), until resolved.
            let row = Row::new(format!("UNMATCHED#{}", u.id), "UNMATCHED", u)
                .gsi3("UNMATCHED", unmatched_sort_key(u))
                .gsi1(format!("PARKED#{}", payment_key(u)), unmatched_sort_key(u));
            items.push((
                Part::Other,
                put(&self.table, row.item()?, Some(NOT_EXISTS))?,
            ));
        }
        self.transact(items).await
    }

    async fn event(&self, provider: &str, event_id: &str) -> Result<Option<EventRecord>> {
        self.get(format!("EVENT#{provider}#{event_id}"), "EVENT")
            .await?
            .map(parse)
            .transpose()
    }

    async fn invoice_for_payment(
        &self,
        source: &str,
        payment_id: &str,
    ) -> Result<Option<InvoiceId>> {
        let item = self
            .get(format!("PAYREF#{source}#{payment_id}"), "PAYREF")
            .await?;
        Ok(item
            .map(parse::<InvoiceRef>)
            .transpose()?
            .map(|r| r.invoice_id))
    }

    async fn unmatched(&self, id: &UnmatchedId) -> Result<Option<Unmatched>> {
        self.get(format!("UNMATCHED#{id}"), "UNMATCHED")
            .await?
            .map(parse)
            .transpose()
    }

    async fn unmatched_for_payment(
        &self,
        source: &str,
        payment_id: &str,
    ) -> Result<Vec<Unmatched>> {
        let mut items = Vec::new();
        let mut page = PageRequest::first(crate::MAX_PAGE);
        loop {
            let p: Page<Unmatched> = self
                .gsi1_page(format!("PARKED#{source}#{payment_id}"), &page)
                .await?;
            items.extend(p.items.into_iter().filter(|u| u.resolved.is_none()));
            match p.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        items.reverse();
        Ok(items)
    }

    async fn list_unmatched(&self, page: &PageRequest) -> Result<Page<Unmatched>> {
        self.index_page("GSI3", "UNMATCHED".into(), page).await
    }

    async fn claim_stage(&self, r: &StageRecord, client_day: Option<NaiveDate>) -> Result<()> {
        let stage = self.claim_put(self.stage_item(r)?, r.claimed_at, r.attempts)?;
        let mut items = vec![(Part::Stage, stage)];
        if let Some(day) = client_day {
            let owner = format!("{}:{}", r.invoice_id, r.stage);
            let mut item = key(format!("CLIENTDAY#{}#{day}", r.client_id), "CLIENTDAY");
            item.insert("owner".into(), s(owner.clone()));
            let expires = cobro_domain::calendar::later(r.claimed_at, chrono::Duration::days(3));
            item.insert(
                "ttl".into(),
                AttributeValue::N(expires.timestamp().to_string()),
            );
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK) OR #owner = :owner")
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":owner", s(owner))
                .build()
                .map_err(StoreError::backend)?;
            items.push((
                Part::ClientDay,
                TransactWriteItem::builder().put(put).build(),
            ));
        }
        self.transact(items).await
    }

    async fn claim_job(&self, j: &JobRecord) -> Result<()> {
        let put = self.claim_put(job_item(j)?, j.claimed_at, j.attempts)?;
        self.transact(vec![(Part::Stage, put)]).await
    }

    async fn finish_job(&self, j: &JobRecord) -> Result<()> {
        let put = self.finish_put(job_item(j)?, j.attempts)?;
        self.transact(vec![(Part::Stage, put)]).await
    }

    async fn job(&self, key: &str) -> Result<Option<JobRecord>> {
        self.get(format!("JOB#{key}"), "JOB")
            .await?
            .map(parse)
            .transpose()
    }

    async fn finish_stage(&self, r: &StageRecord, agenda: Option<DateTime<Utc>>) -> Result<()> {
        let stage = self.finish_put(self.stage_item(r)?, r.attempts)?;
        debug_assert!(r.status == StageStatus::Done || r.error.is_some());
        let mut items = vec![(Part::Stage, stage)];
        let escalated = crate::escalates([r]);
        if let Some(u) = self.invoice_update(&r.invoice_id, Agenda::to(agenda), None, escalated)? {
            items.push((Part::Other, u));
        }
        self.transact(items).await
    }

    async fn set_agenda(
        &self,
        invoice: &InvoiceId,
        at: Option<DateTime<Utc>>,
        ledger_len: u32,
    ) -> Result<()> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                format!("INVOICE#{invoice}"),
                &format!("ENTRY#{:010}", ledger_len.saturating_add(1)),
            )))
            .condition_expression(NOT_EXISTS)
            .build()
            .map_err(StoreError::backend)?;
        let mut items = vec![(
            Part::Entry,
            TransactWriteItem::builder().condition_check(check).build(),
        )];
        items.extend(
            self.invoice_update(invoice, Agenda::to(at), None, false)?
                .map(|u| (Part::Other, u)),
        );
        self.transact(items).await
    }

    async fn due_agenda(
        &self,
        lane: Lane,
        now: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<Page<AgendaItem>> {
        let limit = page.limit() as usize;
        // Every shard's first `limit + 1` due entries past the cursor; merged, the first
        // `limit` of them are the first `limit` overall.
        let lower = page.after.as_ref().map(|a| format!("{a}#"));
        let partitions: Vec<String> = match lane {
            Lane::Dunning => (0..AGENDA_SHARDS).map(|s| format!("AGENDA#{s}")).collect(),
            Lane::Deposits => vec![DEPOSIT_AGENDA.into()],
        };
        let queries = partitions.into_iter().map(|pk| {
            let q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("GSI2")
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":until", s(agenda_until(now)))
                .projection_expression("GSI2SK, client_id")
                .limit(i32::try_from(limit).unwrap_or(i32::MAX).saturating_add(1));
            let q = match &lower {
                Some(lo) => q
                    .key_condition_expression("GSI2PK = :pk AND GSI2SK BETWEEN :lo AND :until")
                    .expression_attribute_values(":lo", s(lo.clone())),
                None => q.key_condition_expression("GSI2PK = :pk AND GSI2SK <= :until"),
            };
            q.send()
        });
        let mut keys = Vec::new();
        for out in futures::future::join_all(queries).await {
            let out = out.map_err(|e| StoreError::backend(e.into_service_error()))?;
            keys.extend(out.items.unwrap_or_default().into_iter().filter_map(|i| {
                let text = |name: &str| i.get(name).and_then(|v| v.as_s().ok()).cloned();
                Some((text("GSI2SK")?, text("client_id").unwrap_or_default()))
            }));
        }
        keys.sort();
        let more = keys.len() > limit;
        keys.truncate(limit);
        let items = keys
            .iter()
            .map(|(k, client)| {
                let (at, id) = k
                    .split_once('#')
                    .ok_or_else(|| StoreError::Backend(format!("bad agenda key {k}")))?;
                Ok(AgendaItem {
                    invoice_id: InvoiceId::parse(id)
                        .ok_or_else(|| StoreError::Backend(format!("bad agenda key {k}")))?,
                    client_id: ClientId::parse(client).ok_or_else(|| {
                        StoreError::Backend(format!("agenda entry {k} names no client"))
                    })?,
                    at: at.parse().map_err(StoreError::backend)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let next = if more {
            keys.last().map(|(k, _)| k.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn stage_log(&self, log: StageLog, page: &PageRequest) -> Result<Page<StageRecord>> {
        self.gsi1_page(format!("LOG#{}", log.name()), page).await
    }

    async fn create_user(&self, user: &User) -> Result<()> {
        let row = Row::new(format!("USER#{}", user.id), "USER", user).gsi1("USERS", &user.email);
        let claim = Row::new(
            format!("USEREMAIL#{}", user.email),
            "USEREMAIL",
            UserRef {
                user_id: user.id.clone(),
            },
        );
        self.transact(vec![
            (
                Part::Other,
                put(&self.table, row.item()?, Some(NOT_EXISTS))?,
            ),
            (
                Part::Other,
                put(&self.table, claim.item()?, Some(NOT_EXISTS))?,
            ),
        ])
        .await
    }

    async fn user(&self, id: &UserId) -> Result<Option<User>> {
        self.get(format!("USER#{id}"), "USER")
            .await?
            .map(parse)
            .transpose()
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let claim: Option<UserRef> = self
            .get(format!("USEREMAIL#{email}"), "USEREMAIL")
            .await?
            .map(parse)
            .transpose()?;
        match claim {
            Some(c) => self.user(&c.user_id).await,
            None => Ok(None),
        }
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let mut users = Vec::new();
        let mut page = PageRequest::first(crate::MAX_PAGE);
        loop {
            let p: Page<User> = self.gsi1_page("USERS".into(), &page).await?;
            users.extend(p.items);
            match p.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        users.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(users)
    }

    async fn update_user(&self, user: &User) -> Result<bool> {
        let row = Row::new(format!("USER#{}", user.id), "USER", user).gsi1("USERS", &user.email);
        match self
            .transact(vec![(
                Part::Other,
                put(&self.table, row.item()?, Some(EXISTS))?,
            )])
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::AlreadyExists) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn count_sign_in_link(&self, address: &str, now: DateTime<Utc>) -> Result<bool> {
        let pk = format!("SIGNINLINKS#{address}");
        // Optimistic: read the address's recent links, write them back with one more under
        // the version read; a concurrent request makes the write fail and the loop re-read.
        for _ in 0..8 {
            let sent: Option<SentLinks> = self
                .get(pk.clone(), "SIGNINLINKS")
                .await?
                .map(parse)
                .transpose()?;
            let (mut times, version) = sent.map_or((Vec::new(), 0), |s| (s.times, s.version));
            let hour_ago = later(now, Duration::hours(-1));
            times.retain(|t| *t > hour_ago);
            if !cobro_domain::user::may_send_link(&times, now) {
                return Ok(false);
            }
            times.push(now);
            let row = Row::new(
                pk.clone(),
                "SIGNINLINKS",
                SentLinks {
                    times,
                    version: version.saturating_add(1),
                },
            )
            .ttl(later(now, Duration::hours(1)));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(row.item()?))
                .condition_expression("attribute_not_exists(PK) OR version = :v")
                .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
                .build()
                .map_err(StoreError::backend)?;
            match self
                .transact(vec![(
                    Part::Other,
                    TransactWriteItem::builder().put(put).build(),
                )])
                .await
            {
                Ok(()) => return Ok(true),
                Err(StoreError::AlreadyExists) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend(
            "sign-in links: too many concurrent requests for one address".into(),
        ))
    }

    async fn put_sign_in_token(&self, token: &SignInToken) -> Result<()> {
        let row =
            Row::new(format!("SIGNIN#{}", token.digest), "SIGNIN", token).ttl(token.expires_at);
        self.transact(vec![(
            Part::Other,
            put(&self.table, row.item()?, Some(NOT_EXISTS))?,
        )])
        .await
    }

    async fn use_sign_in_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SignInToken>> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("SIGNIN#{digest}"), "SIGNIN")))
            .update_expression("SET used_at = :now")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(used_at)")
            .expression_attribute_values(
                ":now",
                to_attribute_value(now).map_err(StoreError::backend)?,
            )
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        match out {
            Ok(out) => {
                let token: SignInToken = parse(out.attributes.unwrap_or_default())?;
                // Expired: used up all the same (it could never serve again).
                Ok((now < token.expires_at).then_some(token))
            }
            Err(e) => match e.into_service_error() {
                e if e.is_conditional_check_failed_exception() => Ok(None),
                e => Err(StoreError::backend(e)),
            },
        }
    }

    async fn put_session(&self, session: &Session) -> Result<()> {
        let row = Row::new(format!("SESSION#{}", session.digest), "SESSION", session)
            .ttl(session.expires_at());
        self.transact(vec![(
            Part::Other,
            put(&self.table, row.item()?, Some(NOT_EXISTS))?,
        )])
        .await
    }

    async fn session(&self, digest: &str) -> Result<Option<Session>> {
        self.get(format!("SESSION#{digest}"), "SESSION")
            .await?
            .map(parse)
            .transpose()
    }

    async fn touch_session(&self, digest: &str, at: DateTime<Utc>) -> Result<()> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("SESSION#{digest}"), "SESSION")))
            .update_expression("SET last_seen_at = :at")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(
                ":at",
                to_attribute_value(at).map_err(StoreError::backend)?,
            )
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                e if e.is_conditional_check_failed_exception() => Ok(()), // signed out meanwhile
                e => Err(StoreError::backend(e)),
            },
        }
    }

    async fn delete_session(&self, digest: &str) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("SESSION#{digest}"), "SESSION")))
            .send()
            .await
            .map_err(|e| StoreError::backend(e.into_service_error()))?;
        Ok(())
    }

    async fn record_audit(&self, record: &AuditRecord) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(audit_item(record)?))
            .send()
            .await
            .map_err(|e| StoreError::backend(e.into_service_error()))?;
        Ok(())
    }

    async fn audit_log(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>> {
        match filter {
            AuditFilter::All => self.index_page("GSI1", AUDIT_LOG.into(), page).await,
            AuditFilter::Invoice(i) => self.index_page("GSI3", format!("AUDIT#{i}"), page).await,
            AuditFilter::Client(c) => self.index_page("GSI4", format!("AUDIT#{c}"), page).await,
        }
    }
}

/// The SAM template, compiled in: the one definition of the table.
pub const TEMPLATE: &str = include_str!("../../../infra/template.yaml");

/// The logical id of the table in the template.
pub const TABLE_LOGICAL_ID: &str = "Table";

/// The table's keys, indexes and TTL, as the SAM template declares them.
#[derive(Debug, Clone)]
pub struct TableDefinition {
    pub attributes: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    pub indexes: Vec<GlobalSecondaryIndex>,
    pub ttl_attribute: Option<String>,
}

fn yaml_str<'a>(v: &'a serde_yaml::Value, key: &str) -> std::result::Result<&'a str, String> {
    v.get(key)
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("`{key}` missing or not a string"))
}

fn key_schema_of(v: &serde_yaml::Value) -> std::result::Result<Vec<KeySchemaElement>, String> {
    v.as_sequence()
        .ok_or("KeySchema is not a list")?
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(yaml_str(k, "AttributeName")?)
                .key_type(KeyType::from(yaml_str(k, "KeyType")?))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

impl TableDefinition {
    /// Reads the table resource `logical_id` out of a CloudFormation/SAM template.
    pub fn from_template(template: &str, logical_id: &str) -> std::result::Result<Self, String> {
        let doc: serde_yaml::Value = serde_yaml::from_str(template).map_err(|e| e.to_string())?;
        let props = doc
            .get("Resources")
            .and_then(|r| r.get(logical_id))
            .and_then(|t| t.get("Properties"))
            .ok_or_else(|| format!("no Resources.{logical_id}.Properties in the template"))?;
        let attributes = props
            .get("AttributeDefinitions")
            .and_then(|a| a.as_sequence())
            .ok_or("AttributeDefinitions missing")?
            .iter()
            .map(|a| {
                AttributeDefinition::builder()
                    .attribute_name(yaml_str(a, "AttributeName")?)
                    .attribute_type(ScalarAttributeType::from(yaml_str(a, "AttributeType")?))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        let key_schema = key_schema_of(props.get("KeySchema").ok_or("KeySchema missing")?)?;
        let indexes = props
            .get("GlobalSecondaryIndexes")
            .and_then(|g| g.as_sequence())
            .map(|g| g.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|g| {
                let projection = g.get("Projection").ok_or("Projection missing")?;
                GlobalSecondaryIndex::builder()
                    .index_name(yaml_str(g, "IndexName")?)
                    .set_key_schema(Some(key_schema_of(
                        g.get("KeySchema").ok_or("KeySchema missing")?,
                    )?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(yaml_str(
                                projection,
                                "ProjectionType",
                            )?))
                            .build(),
                    )
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        let ttl_attribute = props
            .get("TimeToLiveSpecification")
            .and_then(|t| t.get("AttributeName"))
            .and_then(|a| a.as_str())
            .map(str::to_string);
        Ok(TableDefinition {
            attributes,
            key_schema,
            indexes,
            ttl_attribute,
        })
    }

    /// The definition in the compiled-in SAM template.
    pub fn from_sam_template() -> std::result::Result<Self, String> {
        Self::from_template(TEMPLATE, TABLE_LOGICAL_ID)
    }

    /// Creates the table (on-demand) and turns on its TTL. For local servers and tests;
    /// in AWS the SAM stack creates it.
    pub async fn create(
        &self,
        client: &DynamoClient,
        name: &str,
    ) -> std::result::Result<(), String> {
        client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(self.attributes.clone()))
            .set_key_schema(Some(self.key_schema.clone()))
            .set_global_secondary_indexes(Some(self.indexes.clone()).filter(|i| !i.is_empty()))
            .send()
            .await
            .map_err(|e| format!("create table {name}: {}", e.into_service_error()))?;
        if let Some(attr) = &self.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attr)
                        .enabled(true)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .send()
                .await
                .map_err(|e| format!("enable TTL on {name}: {}", e.into_service_error()))?;
        }
        Ok(())
    }
}
