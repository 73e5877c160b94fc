//! The embedded store: one SQLite file (`{data dir}/cobro.db`) in WAL mode.
//!
//! Domain values are kept as JSON documents beside the columns that are looked up or
//! ordered by; every multi-item write runs in one `BEGIN IMMEDIATE` transaction. Calls run
//! on tokio's blocking pool so the async runtime is never stalled by disk I/O.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cobro_domain::{
    ApiKeyId, Client, ClientId, Invoice, InvoiceId, LedgerEntry, PaymentReference, UnmatchedId,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{
    Agenda, AgendaItem, ApiKey, AuditFilter, EventRecord, IdempotencyRecord, InvoiceFilter,
    InvoiceOrder, Lane, LedgerWrite, ListedInvoice, NewInvoiceWrite, Page, PageRequest, PayToken,
    Result, StageLog, Store, StoreError, StoredInvoice, Unmatched, agenda_sort_key, agenda_until,
    client_sort_key, invoice_sort_key, listing_group, listing_sort_key, log_sort_key, payment_key,
    unmatched_sort_key,
};
use chrono::{Duration, NaiveDate};
use cobro_domain::calendar::later;
use cobro_domain::listing::Listing;
use cobro_domain::{
    AuditRecord, JobRecord, Session, SignInToken, StageRecord, StageStatus, User, UserId,
};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    sort_key TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL UNIQUE,
    sort_key TEXT NOT NULL,
    payment_reference TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE INDEX invoices_by_client ON invoices (client_id, sort_key);
CREATE TABLE ledger (
    invoice_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (invoice_id, seq)
);
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE idempotency (
    key TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE api_keys (
    digest TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE TABLE pay_tokens (
    digest TEXT PRIMARY KEY,
    invoice_id TEXT NOT NULL,
    body TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
CREATE TABLE payment_links (
    source TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    PRIMARY KEY (source, payment_id)
);
CREATE TABLE unmatched (
    id TEXT PRIMARY KEY,
    sort_key TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
"#,
    r#"
ALTER TABLE unmatched ADD COLUMN resolved INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
ALTER TABLE unmatched ADD COLUMN payment_key TEXT;
CREATE INDEX unmatched_by_payment ON unmatched (payment_key) WHERE resolved = 0;
"#,
    r#"
ALTER TABLE invoices ADD COLUMN next_action_at TEXT;
CREATE INDEX invoices_agenda ON invoices (next_action_at, id) WHERE next_action_at IS NOT NULL;
CREATE TABLE stages (
    invoice_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    log TEXT,
    log_key TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (invoice_id, stage)
);
CREATE INDEX stages_log ON stages (log, log_key) WHERE log IS NOT NULL;
CREATE TABLE client_days (
    client_id TEXT NOT NULL,
    day TEXT NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (client_id, day)
);
"#,
    r#"
ALTER TABLE invoices ADD COLUMN lane TEXT NOT NULL DEFAULT 'dunning';
DROP INDEX invoices_agenda;
CREATE INDEX invoices_agenda ON invoices (lane, next_action_at, id) WHERE next_action_at IS NOT NULL;
"#,
    r#"
CREATE TABLE tax_ids (
    key TEXT PRIMARY KEY,
    client_id TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE TABLE sign_in_links (
    address TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX sign_in_links_by_address ON sign_in_links (address, at);
CREATE TABLE sign_in_tokens (
    digest TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE sessions (
    digest TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
"#,
    // The lists across clients: an invoice's listing (status, amount due, due date in
    // force, pause) beside it, its sort keys, and the status shown (escalated once its
    // escalation stage is done and it is still chased). Rows from before are filled in by
    // `backfill_listings` when the store opens.
    r#"
ALTER TABLE invoices ADD COLUMN listing TEXT;
ALTER TABLE invoices ADD COLUMN list_group TEXT;
ALTER TABLE invoices ADD COLUMN list_status TEXT;
ALTER TABLE invoices ADD COLUMN escalated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN shown_status TEXT GENERATED ALWAYS AS
    (CASE WHEN escalated = 1 AND list_status IN ('open', 'partially_paid') THEN 'escalated' ELSE list_status END) VIRTUAL;
ALTER TABLE invoices ADD COLUMN currency TEXT;
ALTER TABLE invoices ADD COLUMN owing INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN due_key TEXT;
ALTER TABLE invoices ADD COLUMN amount_key TEXT;
ALTER TABLE invoices ADD COLUMN search TEXT;
UPDATE invoices SET escalated = 1 WHERE id IN (SELECT invoice_id FROM stages WHERE stage = 'escalation' AND json_extract(body, '$.status') = 'done');
CREATE INDEX invoices_due ON invoices (list_group, due_key);
CREATE INDEX invoices_amount ON invoices (list_group, amount_key);
CREATE INDEX invoices_due_all ON invoices (due_key);
CREATE INDEX invoices_amount_all ON invoices (amount_key);
"#,
    // The day a pause ends, for "pauses that end this week".
    r#"
ALTER TABLE invoices ADD COLUMN paused_until TEXT;
UPDATE invoices SET paused_until = json_extract(listing, '$.paused_until');
CREATE INDEX invoices_pauses ON invoices (paused_until) WHERE paused_until IS NOT NULL;
"#,
    // The audit log: what people and keys of the business did, newest first overall, per
    // invoice and per client. `id` sorts in time order.
    r#"
CREATE TABLE audit (
    id TEXT PRIMARY KEY,
    invoice_id TEXT,
    client_id TEXT,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX audit_invoice ON audit (invoice_id, id) WHERE invoice_id IS NOT NULL;
CREATE INDEX audit_client ON audit (client_id, id) WHERE client_id IS NOT NULL;
"#,
    // Deposits that fell overdue join the stage logs (the console's queue): records from
    // before are put in it by `backfill_deposit_log`.
    "SELECT 1;",
    // The receivables index of the reports: when each invoice last settled (open ones
    // last). Every listing is worked out again from its ledger when the store opens.
    r#"
ALTER TABLE invoices ADD COLUMN settled_key TEXT;
CREATE INDEX invoices_settled ON invoices (settled_key);
UPDATE invoices SET listing = NULL;
"#,
    // Lists of one status (the home page's escalated and disputed queues) read that
    // status's rows, not the whole open partition.
    "CREATE INDEX invoices_status ON invoices (shown_status, due_key);",
    // Jobs of the business that run once (the weekly summary of each week).
    "CREATE TABLE jobs (key TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;",
];

const INVOICE_COUNTER: &str = "invoice";

/// The position in [`MIGRATIONS`] of the one that adds the invoices' listings.
const LISTINGS_MIGRATION: usize = 8;

/// The position in [`MIGRATIONS`] of the one that puts overdue deposits in the stage log.
const DEPOSIT_LOG_MIGRATION: usize = 11;

/// The position in [`MIGRATIONS`] of the one that adds the receivables index.
const SETTLED_MIGRATION: usize = 12;

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(StoreError::backend)
}

fn from_json<T: DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(StoreError::backend)
}

fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

/// `on_conflict` when a write failed on a UNIQUE / PRIMARY KEY constraint, else a backend
/// error.
fn constraint_as(e: rusqlite::Error, on_conflict: StoreError) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            on_conflict
        }
        e => sql_err(e),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) `cobro.db` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(StoreError::backend)?;
        let conn = Connection::open(data_dir.join("cobro.db")).map_err(sql_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql_err)?;
        // Room for every statement this file runs.
        conn.set_prepared_statement_cache_capacity(128);
        let mut store = SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let mut conn = self.conn.lock().map_err(StoreError::backend)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .map_err(sql_err)?;
        let version: usize = tx
            .query_row_cached("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql_err)?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version) {
            tx.execute_batch(m).map_err(sql_err)?;
            tx.pragma_update(None, "user_version", i.saturating_add(1))
                .map_err(sql_err)?;
        }
        // Only a file from before the listings (or from before the receivables index,
        // which cleared them) has rows without one: filled in once.
        const _: () = assert!(LISTINGS_MIGRATION < SETTLED_MIGRATION);
        if version <= SETTLED_MIGRATION {
            backfill_listings(&tx)?;
        }
        if version <= DEPOSIT_LOG_MIGRATION {
            backfill_deposit_log(&tx)?;
        }
        tx.commit().map_err(sql_err)
    }

    /// Imports clients and invoices in bulk, in one transaction (a migration from another system, a
    /// benchmark's data set): each must carry the next sequence number, as with
    /// [`Store::create_invoice`], and all are written or none.
    pub async fn import(&self, clients: Vec<Client>, writes: Vec<NewInvoiceWrite>) -> Result<()> {
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            for client in &clients {
                insert_client(&tx, client)?;
            }
            for w in &writes {
                insert_invoice(&tx, w)?;
            }
            tx.commit().map_err(sql_err)
        })
        .await
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(StoreError::backend)?;
            f(&mut guard)
        })
        .await
        .map_err(StoreError::backend)?
    }
}

/// Statements through the connection's prepared-statement cache: the same few SQL texts run
/// for every request, and parsing them again each time was a tenth of the CPU a webhook
/// delivery took (`perf record` on `cobro serve` under the load benchmark).
trait Cached {
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn query_row_cached<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn query_row_cached<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

/// Inserts the idempotency record unless a live one holds the key.
fn put_idempotency(tx: &rusqlite::Transaction<'_>, rec: &IdempotencyRecord) -> Result<()> {
    let changed = tx
        .execute_cached(
            "INSERT INTO idempotency (key, expires_at, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, body = excluded.body
             WHERE idempotency.expires_at <= ?4",
            params![
                rec.key,
                rec.expires_at.timestamp(),
                to_json(rec)?,
                rec.created_at.timestamp()
            ],
        )
        .map_err(sql_err)?;
    if changed == 0 {
        return Err(StoreError::IdempotencyKeyTaken);
    }
    Ok(())
}

/// Records a provider event unless a live record of it exists.
fn put_event(tx: &rusqlite::Transaction<'_>, e: &EventRecord) -> Result<()> {
    let changed = tx
        .execute_cached(
            "INSERT INTO events (provider, event_id, expires_at, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (provider, event_id) DO UPDATE SET expires_at = excluded.expires_at, body = excluded.body
             WHERE events.expires_at <= ?5",
            params![e.provider, e.event_id, e.expires_at.timestamp(), to_json(e)?, e.received_at.timestamp()],
        )
        .map_err(sql_err)?;
    if changed == 0 {
        return Err(StoreError::EventSeen);
    }
    Ok(())
}

/// The JSON document of the one row `sql` selects, if any.
fn one<T: DeserializeOwned>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<T>> {
    c.query_row_cached(sql, params, |r| r.get::<_, String>(0))
        .optional()
        .map_err(sql_err)?
        .map(|b| from_json(&b))
        .transpose()
}

/// Writes an audit record (the same one twice is kept once).
fn put_audit(c: &Connection, r: &AuditRecord) -> Result<()> {
    c.execute_cached(
        "INSERT INTO audit (id, invoice_id, client_id, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO NOTHING",
        params![
            r.id,
            r.invoice_id.as_ref().map(|i| i.to_string()),
            r.client_id.as_ref().map(|i| i.to_string()),
            to_json(r)?
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

/// Documents of a keyset-paged listing: rows of (sort key, body), newest first.
fn page<T: DeserializeOwned>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    limit: u32,
) -> Result<Page<T>> {
    let mut stmt = c.prepare_cached(sql).map_err(sql_err)?;
    let rows = stmt
        .query_map(params, |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql_err)?;
    page_of(rows, limit)
}

fn page_of<T: DeserializeOwned>(rows: Vec<(String, String)>, limit: u32) -> Result<Page<T>> {
    let more = rows.len() > limit as usize;
    let rows = rows.get(..limit as usize).unwrap_or(&rows);
    let next = if more {
        rows.last().map(|(k, _)| k.clone())
    } else {
        None
    };
    let items = rows
        .iter()
        .map(|(_, b)| from_json(b))
        .collect::<Result<Vec<T>>>()?;
    Ok(Page { items, next })
}

fn agenda_value(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

fn set_agenda_tx(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    at: Option<DateTime<Utc>>,
) -> Result<()> {
    tx.execute_cached(
        "UPDATE invoices SET next_action_at = ?2 WHERE id = ?1",
        params![id, agenda_value(at)],
    )
    .map_err(sql_err)?;
    Ok(())
}

/// Writes a stage record (insert or replace), listed in its log when done.
fn put_stage(tx: &rusqlite::Transaction<'_>, r: &StageRecord) -> Result<()> {
    if crate::escalates([r]) {
        tx.execute_cached(
            "UPDATE invoices SET escalated = 1 WHERE id = ?1",
            [r.invoice_id.to_string()],
        )
        .map_err(sql_err)?;
    }
    let log = StageLog::of(&r.stage).filter(|_| r.is_done());
    tx.execute_cached(
        "INSERT INTO stages (invoice_id, stage, log, log_key, body) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (invoice_id, stage) DO UPDATE SET log = excluded.log, log_key = excluded.log_key, body = excluded.body",
        params![
            r.invoice_id.to_string(),
            r.stage.to_string(),
            log.map(|l| l.name()),
            log.map(|_| log_sort_key(r)),
            to_json(r)?
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

fn job_of(tx: &rusqlite::Transaction<'_>, key: &str) -> Result<Option<JobRecord>> {
    one(tx, "SELECT body FROM jobs WHERE key = ?1", params![key])
}

fn put_job(tx: &rusqlite::Transaction<'_>, j: &JobRecord) -> Result<()> {
    tx.execute_cached(
        "INSERT INTO jobs (key, body) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET body = excluded.body",
        params![j.key, to_json(j)?],
    )
    .map_err(sql_err)?;
    Ok(())
}

fn stage_of(tx: &rusqlite::Transaction<'_>, r: &StageRecord) -> Result<Option<StageRecord>> {
    one(
        tx,
        "SELECT body FROM stages WHERE invoice_id = ?1 AND stage = ?2",
        params![r.invoice_id.to_string(), r.stage.to_string()],
    )
}

fn insert_client(tx: &rusqlite::Transaction<'_>, client: &Client) -> Result<()> {
    tx.execute_cached(
        "INSERT INTO clients (id, sort_key, body) VALUES (?1, ?2, ?3)",
        params![
            client.id.to_string(),
            client_sort_key(client),
            to_json(client)?
        ],
    )
    .map_err(|e| constraint_as(e, StoreError::AlreadyExists))?;
    if let Some(key) = client.tax_claim() {
        let owner: Option<String> = tx
            .query_row_cached(
                "SELECT client_id FROM tax_ids WHERE key = ?1",
                [&key],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)?;
        if let Some(owner) = owner.as_deref().and_then(ClientId::parse) {
            return Err(StoreError::TaxIdTaken(owner));
        }
        tx.execute_cached(
            "INSERT INTO tax_ids (key, client_id) VALUES (?1, ?2)",
            params![key, client.id.to_string()],
        )
        .map_err(sql_err)?;
    }
    Ok(())
}

/// Writes a new invoice and everything created with it (see [`Store::create_invoice`]).
fn insert_invoice(tx: &rusqlite::Transaction<'_>, w: &NewInvoiceWrite) -> Result<()> {
    let inv = &w.invoice;
    let current: i64 = tx
        .query_row_cached(
            "SELECT value FROM counters WHERE name = ?1",
            [INVOICE_COUNTER],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?
        .unwrap_or(0);
    if (current as u64).checked_add(1) != Some(inv.seq) {
        return Err(StoreError::SequenceTaken);
    }
    if let Some(rec) = &w.idempotency {
        put_idempotency(tx, rec)?;
    }
    tx.execute_cached(
        "INSERT INTO counters (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        params![INVOICE_COUNTER, inv.seq as i64],
    )
    .map_err(sql_err)?;
    let constraint = |e| constraint_as(e, StoreError::AlreadyExists);
    if let Some(client) = &w.new_client {
        insert_client(tx, client)?;
    }
    for r in &w.audit {
        put_audit(tx, r)?;
    }
    tx.execute_cached(
        "INSERT INTO invoices (id, client_id, seq, sort_key, payment_reference, body, next_action_at, lane)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            inv.id.to_string(),
            inv.client_id.to_string(),
            inv.seq as i64,
            invoice_sort_key(inv),
            inv.payment_reference.as_str(),
            to_json(inv)?,
            agenda_value(w.next_action_at),
            Lane::of(inv).name()
        ],
    )
    .map_err(constraint)?;
    for e in &w.entries {
        tx.execute_cached(
            "INSERT INTO ledger (invoice_id, seq, body) VALUES (?1, ?2, ?3)",
            params![inv.id.to_string(), e.seq, to_json(e)?],
        )
        .map_err(constraint)?;
    }
    for (other, e) in &w.other_entries {
        tx.execute_cached(
            "INSERT INTO ledger (invoice_id, seq, body) VALUES (?1, ?2, ?3)",
            params![other.to_string(), e.seq, to_json(e)?],
        )
        .map_err(|e| constraint_as(e, StoreError::SequenceTaken))?;
    }
    set_listing(
        tx,
        inv,
        &Listing::of(inv, &w.entries).map_err(StoreError::backend)?,
    )?;
    for (other, l) in &w.other_listings {
        set_listing_of(tx, other, l)?;
    }
    insert_pay_token(tx, &w.pay_token)
}

/// Keeps the invoice's listing and its sort keys on its row.
fn set_listing(tx: &Connection, inv: &Invoice, l: &Listing) -> Result<()> {
    tx.execute_cached(
        "UPDATE invoices SET listing = ?2, list_group = ?3, list_status = ?4, currency = ?5,
         owing = ?6, due_key = ?7, amount_key = ?8, search = ?9, paused_until = ?10,
         settled_key = ?11 WHERE id = ?1",
        params![
            inv.id.to_string(),
            to_json(l)?,
            listing_group(l),
            l.status.as_str(),
            inv.currency.code(),
            l.is_owed(),
            listing_sort_key(&inv.id, l, InvoiceOrder::DueDate),
            listing_sort_key(&inv.id, l, InvoiceOrder::AmountDue),
            cobro_domain::listing::search_text(inv),
            l.paused_until.map(|d| d.to_string()),
            l.settled_key(&inv.id),
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

/// [`set_listing`] for an invoice known by id.
fn set_listing_of(tx: &Connection, id: &InvoiceId, l: &Listing) -> Result<()> {
    let inv: Invoice = one(
        tx,
        "SELECT body FROM invoices WHERE id = ?1",
        [id.to_string()],
    )?
    .ok_or_else(|| StoreError::Backend(format!("no invoice {id} to list")))?;
    set_listing(tx, &inv, l)
}

/// Lists the invoices stored before listings were kept, from their ledgers.
/// Stage records that belong in a log and are not in it (written before their log
/// existed) are put in it.
fn backfill_deposit_log(tx: &Connection) -> Result<()> {
    let bodies: Vec<String> = tx
        .prepare("SELECT body FROM stages WHERE log IS NULL AND stage = 'deposit-overdue'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sql_err)?;
    for body in bodies {
        let r: StageRecord = from_json(&body)?;
        if let Some(log) = StageLog::of(&r.stage).filter(|_| r.is_done()) {
            tx.execute(
                "UPDATE stages SET log = ?3, log_key = ?4 WHERE invoice_id = ?1 AND stage = ?2",
                params![
                    r.invoice_id.to_string(),
                    r.stage.to_string(),
                    log.name(),
                    log_sort_key(&r)
                ],
            )
            .map_err(sql_err)?;
        }
    }
    Ok(())
}

fn backfill_listings(tx: &Connection) -> Result<()> {
    let ids: Vec<String> = tx
        .prepare("SELECT id FROM invoices WHERE listing IS NULL")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sql_err)?;
    for id in ids {
        let inv: Invoice = one(tx, "SELECT body FROM invoices WHERE id = ?1", [&id])?
            .ok_or_else(|| StoreError::Backend(format!("invoice {id} vanished")))?;
        let entries = ledger_of(tx, &id)?;
        let listing = Listing::of(&inv, &entries).map_err(StoreError::backend)?;
        set_listing(tx, &inv, &listing)?;
    }
    Ok(())
}

/// An invoice with its ledger, stages and place on the agenda.
fn stored_invoice(tx: &Connection, id: &str) -> Result<Option<StoredInvoice>> {
    let row: Option<(String, Option<String>)> = tx
        .query_row_cached(
            "SELECT body, next_action_at FROM invoices WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(sql_err)?;
    let Some((body, next_action_at)) = row else {
        return Ok(None);
    };
    let next_action_at = next_action_at
        .map(|t| t.parse::<DateTime<Utc>>().map_err(StoreError::backend))
        .transpose()?;
    let invoice: Invoice = from_json(&body)?;
    let entries = ledger_of(tx, id)?;
    let mut stmt = tx
        .prepare_cached("SELECT body FROM stages WHERE invoice_id = ?1")
        .map_err(sql_err)?;
    let mut stages = stmt
        .query_map([id], |r| r.get::<_, String>(0))
        .map_err(sql_err)?
        .map(|r| from_json::<StageRecord>(&r.map_err(sql_err)?))
        .collect::<Result<Vec<_>>>()?;
    stages.sort_by_key(|s| s.stage);
    Ok(Some(StoredInvoice {
        invoice,
        entries,
        stages,
        next_action_at,
    }))
}

/// An invoice's ledger entries, in order.
fn ledger_of(c: &Connection, id: &str) -> Result<Vec<LedgerEntry>> {
    let bodies: Vec<String> = c
        .prepare_cached("SELECT body FROM ledger WHERE invoice_id = ?1 ORDER BY seq")
        .and_then(|mut s| s.query_map([id], |r| r.get(0))?.collect())
        .map_err(sql_err)?;
    bodies.iter().map(|b| from_json(b)).collect()
}

/// The list query: every filter in SQL, on the group's index in key order.
fn list_invoices(
    c: &Connection,
    f: &InvoiceFilter,
    page: &PageRequest,
) -> Result<Page<ListedInvoice>> {
    use rusqlite::types::Value;
    let key = match f.order {
        InvoiceOrder::DueDate => "due_key",
        InvoiceOrder::AmountDue => "amount_key",
    };
    // Pauses are few: a list of pauses ending by a day reads their index, not the group.
    let table = if f.pause_ends.is_some() {
        "invoices INDEXED BY invoices_pauses"
    } else {
        "invoices"
    };
    let mut sql =
        format!("SELECT {key}, body, listing, escalated FROM {table} WHERE listing IS NOT NULL");
    let mut args: Vec<Value> = Vec::new();
    let mut arg = |sql: &mut String, clause: &str, v: Value| {
        args.push(v);
        sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let [group] = f.groups()[..] {
        arg(
            &mut sql,
            " AND list_group = ?",
            Value::Text(group.to_string()),
        );
    }
    if !f.statuses.is_empty() {
        let list: Vec<String> = f
            .statuses
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        sql.push_str(&format!(" AND shown_status IN ({})", list.join(", ")));
    }
    if let Some(client) = &f.client {
        arg(
            &mut sql,
            " AND client_id = ?",
            Value::Text(client.to_string()),
        );
    }
    if let Some(cur) = f.currency {
        arg(
            &mut sql,
            " AND currency = ?",
            Value::Text(cur.code().to_string()),
        );
    }
    if let Some(d) = f.due_from {
        arg(&mut sql, " AND due_key >= ?", Value::Text(d.to_string()));
    }
    if let Some(d) = f.due_to {
        arg(&mut sql, " AND due_key < ?", Value::Text(format!("{d}#~")));
    }
    if f.owing {
        sql.push_str(" AND owing = 1");
    }
    if let Some((after, by)) = f.pause_ends {
        arg(
            &mut sql,
            " AND paused_until > ?",
            Value::Text(after.to_string()),
        );
        arg(
            &mut sql,
            " AND paused_until <= ?",
            Value::Text(by.to_string()),
        );
    }
    if let Some(t) = &f.text {
        let escaped = t
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        arg(
            &mut sql,
            " AND search LIKE ? ESCAPE '\\'",
            Value::Text(format!("%{escaped}%")),
        );
    }
    let (cmp, dir) = if f.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(after) = &page.after {
        arg(
            &mut sql,
            &format!(" AND {key} {cmp} ?"),
            Value::Text(after.clone()),
        );
    }
    let limit = page.limit();
    arg(
        &mut sql,
        &format!(" ORDER BY {key} {dir} LIMIT ?"),
        Value::Integer(i64::from(limit).saturating_add(1)),
    );
    let mut stmt = c.prepare_cached(&sql).map_err(sql_err)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })
        .map_err(sql_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql_err)?;
    let more = rows.len() > limit as usize;
    let mut items = Vec::new();
    let mut next = None;
    for (key, body, listing, escalated) in rows.into_iter().take(limit as usize) {
        items.push(ListedInvoice {
            invoice: from_json(&body)?,
            listing: from_json(&listing)?,
            escalated,
        });
        next = Some(key);
    }
    Ok(Page {
        items,
        next: next.filter(|_| more),
    })
}

fn insert_pay_token(c: &Connection, t: &PayToken) -> Result<()> {
    c.execute_cached(
        "INSERT INTO pay_tokens (digest, invoice_id, body) VALUES (?1, ?2, ?3)",
        params![t.digest, t.invoice_id.to_string(), to_json(t)?],
    )
    .map_err(|e| constraint_as(e, StoreError::AlreadyExists))?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn put_api_key(&self, key: &ApiKey) -> Result<()> {
        let (digest, id, body) = (key.digest.clone(), key.id.to_string(), to_json(key)?);
        self.with(move |c| {
            c.execute_cached(
                "INSERT INTO api_keys (digest, id, body) VALUES (?1, ?2, ?3)",
                params![digest, id, body],
            )
            .map(|_| ())
            .map_err(|e| constraint_as(e, StoreError::AlreadyExists))
        })
        .await
    }

    async fn api_key_by_digest(&self, digest: &str) -> Result<Option<ApiKey>> {
        let digest = digest.to_string();
        self.with(move |c| one(c, "SELECT body FROM api_keys WHERE digest = ?1", [digest]))
            .await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        self.with(|c| {
            let mut stmt = c
                .prepare_cached("SELECT body FROM api_keys ORDER BY id")
                .map_err(sql_err)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(sql_err)?;
            rows.map(|r| from_json(&r.map_err(sql_err)?)).collect()
        })
        .await
    }

    async fn revoke_api_key(&self, id: &ApiKeyId, at: DateTime<Utc>) -> Result<bool> {
        let id = id.to_string();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            let body: Option<String> = tx
                .query_row_cached("SELECT body FROM api_keys WHERE id = ?1", [&id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(sql_err)?;
            let Some(body) = body else { return Ok(false) };
            let mut key: ApiKey = from_json(&body)?;
            key.revoked_at.get_or_insert(at);
            tx.execute_cached(
                "UPDATE api_keys SET body = ?1 WHERE id = ?2",
                params![to_json(&key)?, id],
            )
            .map_err(sql_err)?;
            tx.commit().map_err(sql_err)?;
            Ok(true)
        })
        .await
    }

    async fn idempotency_record(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>> {
        let key = key.to_string();
        self.with(move |c| {
            one(
                c,
                "SELECT body FROM idempotency WHERE key = ?1 AND expires_at > ?2",
                params![key, now.timestamp()],
            )
        })
        .await
    }

    async fn create_client(
        &self,
        client: &Client,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let client = client.clone();
        let idem = idempotency.cloned();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            if let Some(rec) = &idem {
                put_idempotency(&tx, rec)?;
            }
            insert_client(&tx, &client)?;
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn update_client(&self, client: &Client) -> Result<bool> {
        let (id, body) = (client.id.to_string(), to_json(client)?);
        self.with(move |c| {
            let n = c
                .execute_cached(
                    "UPDATE clients SET body = ?2 WHERE id = ?1",
                    params![id, body],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn client(&self, id: &ClientId) -> Result<Option<Client>> {
        let id = id.to_string();
        self.with(move |c| one(c, "SELECT body FROM clients WHERE id = ?1", [id]))
            .await
    }

    async fn client_by_tax_key(&self, key: &str) -> Result<Option<ClientId>> {
        let key = key.to_string();
        self.with(move |c| {
            let owner: Option<String> = c
                .query_row("SELECT client_id FROM tax_ids WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(sql_err)?;
            Ok(owner.as_deref().and_then(ClientId::parse))
        })
        .await
    }

    async fn list_clients(&self, page: &PageRequest) -> Result<Page<Client>> {
        let limit = page.limit();
        let after = page.after.clone();
        self.with(move |c| {
            self::page(
                c,
                "SELECT sort_key, body FROM clients WHERE (?1 IS NULL OR sort_key < ?1)
                 ORDER BY sort_key DESC LIMIT ?2",
                params![after, limit.saturating_add(1)],
                limit,
            )
        })
        .await
    }

    async fn last_invoice_seq(&self) -> Result<u64> {
        self.with(|c| {
            let v: Option<i64> = c
                .query_row_cached(
                    "SELECT value FROM counters WHERE name = ?1",
                    [INVOICE_COUNTER],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?;
            Ok(v.unwrap_or(0) as u64)
        })
        .await
    }

    async fn create_invoice(&self, write: &NewInvoiceWrite) -> Result<()> {
        let w = write.clone();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            insert_invoice(&tx, &w)?;
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn invoice(&self, id: &InvoiceId) -> Result<Option<StoredInvoice>> {
        let id = id.to_string();
        self.with(move |c| {
            let tx = c.transaction().map_err(sql_err)?;
            stored_invoice(&tx, &id)
        })
        .await
    }

    async fn client_invoices(
        &self,
        client: &ClientId,
        page: &PageRequest,
    ) -> Result<Page<Invoice>> {
        let limit = page.limit();
        let (client, after) = (client.to_string(), page.after.clone());
        self.with(move |c| {
            self::page(
                c,
                "SELECT sort_key, body FROM invoices WHERE client_id = ?1 AND (?2 IS NULL OR sort_key < ?2)
                 ORDER BY sort_key DESC LIMIT ?3",
                params![client, after, limit.saturating_add(1)],
                limit,
            )
        })
        .await
    }

    async fn list_invoices(
        &self,
        filter: &InvoiceFilter,
        page: &PageRequest,
    ) -> Result<Page<ListedInvoice>> {
        let (f, page) = (filter.clone(), page.clone());
        self.with(move |c| list_invoices(c, &f, &page)).await
    }

    async fn receivables(
        &self,
        since: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<Page<StoredInvoice>> {
        let from = cobro_domain::listing::settled_key_from(since);
        // One bound for the index to seek to: past the cursor, else from `since` on.
        let (bound, strict) = match &page.after {
            Some(after) if *after >= from => (after.clone(), true),
            _ => (from, false),
        };
        let limit = page.limit();
        // One read of the page: its keys from the index, then each invoice with its
        // ledger, in one transaction.
        self.with(move |c| {
            let tx = c.transaction().map_err(sql_err)?;
            let keyed: Vec<(String, String)> = tx
                .prepare_cached(if strict {
                    "SELECT settled_key, id FROM invoices WHERE settled_key > ?1
                     ORDER BY settled_key LIMIT ?2"
                } else {
                    "SELECT settled_key, id FROM invoices WHERE settled_key >= ?1
                     ORDER BY settled_key LIMIT ?2"
                })
                .and_then(|mut s| {
                    s.query_map(params![bound, i64::from(limit).saturating_add(1)], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?
                    .collect()
                })
                .map_err(sql_err)?;
            let more = keyed.len() > limit as usize;
            let mut items = Vec::new();
            for (_, id) in keyed.iter().take(limit as usize) {
                if let Some(stored) = stored_invoice(&tx, id)? {
                    items.push(stored);
                }
            }
            let next = more
                .then(|| {
                    keyed
                        .get((limit as usize).saturating_sub(1))
                        .map(|(k, _)| k.clone())
                })
                .flatten();
            Ok(Page { items, next })
        })
        .await
    }

    async fn invoice_by_payment_reference(
        &self,
        reference: &PaymentReference,
    ) -> Result<Option<InvoiceId>> {
        let r = reference.as_str().to_string();
        self.with(move |c| {
            let id: Option<String> = c
                .query_row_cached(
                    "SELECT id FROM invoices WHERE payment_reference = ?1",
                    [r],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?;
            Ok(id.and_then(|id| InvoiceId::parse(&id)))
        })
        .await
    }

    async fn pay_token(&self, digest: &str) -> Result<Option<PayToken>> {
        let digest = digest.to_string();
        self.with(move |c| one(c, "SELECT body FROM pay_tokens WHERE digest = ?1", [digest]))
            .await
    }

    async fn put_pay_token(&self, token: &PayToken) -> Result<()> {
        let token = token.clone();
        self.with(move |c| insert_pay_token(c, &token)).await
    }

    async fn revoke_pay_tokens(&self, invoice: &InvoiceId, at: DateTime<Utc>) -> Result<u32> {
        let invoice = invoice.to_string();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            let tokens: Vec<PayToken> = {
                let mut stmt = tx
                    .prepare_cached("SELECT body FROM pay_tokens WHERE invoice_id = ?1")
                    .map_err(sql_err)?;
                let rows = stmt
                    .query_map([&invoice], |r| r.get::<_, String>(0))
                    .map_err(sql_err)?;
                rows.map(|r| from_json(&r.map_err(sql_err)?))
                    .collect::<Result<Vec<_>>>()?
            };
            let mut revoked: u32 = 0;
            for mut t in tokens.into_iter().filter(|t| t.revoked_at.is_none()) {
                t.revoked_at = Some(at);
                tx.execute_cached(
                    "UPDATE pay_tokens SET body = ?2 WHERE digest = ?1",
                    params![t.digest, to_json(&t)?],
                )
                .map_err(sql_err)?;
                revoked = revoked.saturating_add(1);
            }
            tx.commit().map_err(sql_err)?;
            Ok(revoked)
        })
        .await
    }

    async fn append_entries(&self, write: &LedgerWrite) -> Result<()> {
        let w = write.clone();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            if let Some(rec) = &w.idempotency {
                put_idempotency(&tx, rec)?;
            }
            if let Some(e) = &w.event {
                put_event(&tx, e)?;
            }
            for e in &w.entries {
                tx.execute_cached(
                    "INSERT INTO ledger (invoice_id, seq, body) VALUES (?1, ?2, ?3)",
                    params![w.invoice_id.to_string(), e.seq, to_json(e)?],
                )
                .map_err(|e| constraint_as(e, StoreError::SequenceTaken))?;
            }
            if let Some(u) = &w.resolves {
                let changed = tx
                    .execute_cached(
                        "UPDATE unmatched SET resolved = 1, body = ?2 WHERE id = ?1 AND resolved = 0",
                        params![u.id.to_string(), to_json(u)?],
                    )
                    .map_err(sql_err)?;
                if changed == 0 {
                    return Err(StoreError::AlreadyResolved);
                }
            }
            if let Some((source, payment_id)) = &w.payment_link {
                tx.execute_cached(
                    "INSERT INTO payment_links (source, payment_id, invoice_id) VALUES (?1, ?2, ?3)
                     ON CONFLICT (source, payment_id) DO NOTHING",
                    params![source, payment_id, w.invoice_id.to_string()],
                )
                .map_err(sql_err)?;
            }
            if let Some(r) = &w.stage {
                put_stage(&tx, r)?;
            }
            if let Some(l) = &w.listing {
                set_listing_of(&tx, &w.invoice_id, l)?;
            }
            if let Some(r) = &w.audit {
                put_audit(&tx, r)?;
            }
            match w.agenda {
                Agenda::Keep => {}
                Agenda::At(at) => set_agenda_tx(&tx, &w.invoice_id.to_string(), Some(at))?,
                Agenda::Off => set_agenda_tx(&tx, &w.invoice_id.to_string(), None)?,
            }
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn record_event(&self, event: &EventRecord, unmatched: Option<&Unmatched>) -> Result<()> {
        let (event, unmatched) = (event.clone(), unmatched.cloned());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            put_event(&tx, &event)?;
            if let Some(u) = &unmatched {
                tx.execute_cached(
                    "INSERT INTO unmatched (id, sort_key, body, payment_key) VALUES (?1, ?2, ?3, ?4)",
                    params![u.id.to_string(), unmatched_sort_key(u), to_json(u)?, payment_key(u)],
                )
                .map_err(sql_err)?;
            }
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn event(&self, provider: &str, event_id: &str) -> Result<Option<EventRecord>> {
        let (provider, event_id) = (provider.to_string(), event_id.to_string());
        self.with(move |c| {
            one(
                c,
                "SELECT body FROM events WHERE provider = ?1 AND event_id = ?2",
                params![provider, event_id],
            )
        })
        .await
    }

    async fn invoice_for_payment(
        &self,
        source: &str,
        payment_id: &str,
    ) -> Result<Option<InvoiceId>> {
        let (source, payment_id) = (source.to_string(), payment_id.to_string());
        self.with(move |c| {
            let id: Option<String> = c
                .query_row_cached(
                    "SELECT invoice_id FROM payment_links WHERE source = ?1 AND payment_id = ?2",
                    params![source, payment_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?;
            Ok(id.and_then(|id| InvoiceId::parse(&id)))
        })
        .await
    }

    async fn unmatched(&self, id: &UnmatchedId) -> Result<Option<Unmatched>> {
        let id = id.to_string();
        self.with(move |c| one(c, "SELECT body FROM unmatched WHERE id = ?1", [id]))
            .await
    }

    async fn unmatched_for_payment(
        &self,
        source: &str,
        payment_id: &str,
    ) -> Result<Vec<Unmatched>> {
        let key = format!("{source}#{payment_id}");
        self.with(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT body FROM unmatched WHERE payment_key = ?1 AND resolved = 0 ORDER BY sort_key")
                .map_err(sql_err)?;
            let rows = stmt.query_map([key], |r| r.get::<_, String>(0)).map_err(sql_err)?;
            rows.map(|r| from_json(&r.map_err(sql_err)?)).collect()
        })
        .await
    }

    async fn list_unmatched(&self, page: &PageRequest) -> Result<Page<Unmatched>> {
        let limit = page.limit();
        let after = page.after.clone();
        self.with(move |c| {
            self::page(
                c,
                "SELECT sort_key, body FROM unmatched WHERE resolved = 0 AND (?1 IS NULL OR sort_key < ?1)
                 ORDER BY sort_key DESC LIMIT ?2",
                params![after, limit.saturating_add(1)],
                limit,
            )
        })
        .await
    }

    async fn claim_stage(&self, record: &StageRecord, client_day: Option<NaiveDate>) -> Result<()> {
        let r = record.clone();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            if let Some(old) = stage_of(&tx, &r)? {
                let expired = old.status == StageStatus::Claimed && old.lease_until <= r.claimed_at;
                if !expired || old.attempts.checked_add(1) != Some(r.attempts) {
                    return Err(StoreError::StageTaken);
                }
            }
            if let Some(day) = client_day {
                let owner = format!("{}:{}", r.invoice_id, r.stage);
                let changed = tx
                    .execute_cached(
                        "INSERT INTO client_days (client_id, day, owner) VALUES (?1, ?2, ?3)
                         ON CONFLICT (client_id, day) DO UPDATE SET owner = excluded.owner
                         WHERE client_days.owner = excluded.owner",
                        params![r.client_id.to_string(), day.to_string(), owner],
                    )
                    .map_err(sql_err)?;
                if changed == 0 {
                    return Err(StoreError::ClientBusy);
                }
            }
            put_stage(&tx, &r)?;
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn claim_job(&self, job: &JobRecord) -> Result<()> {
        let j = job.clone();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            if let Some(old) = job_of(&tx, &j.key)? {
                let expired = old.status == StageStatus::Claimed && old.lease_until <= j.claimed_at;
                if !expired || old.attempts.checked_add(1) != Some(j.attempts) {
                    return Err(StoreError::StageTaken);
                }
            }
            put_job(&tx, &j)?;
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn finish_job(&self, job: &JobRecord) -> Result<()> {
        let j = job.clone();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            match job_of(&tx, &j.key)? {
                Some(old) if old.status == StageStatus::Claimed && old.attempts == j.attempts => {}
                _ => return Err(StoreError::StageTaken),
            }
            put_job(&tx, &j)?;
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn job(&self, key: &str) -> Result<Option<JobRecord>> {
        let key = key.to_string();
        self.with(move |c| {
            let tx = c.transaction().map_err(sql_err)?;
            job_of(&tx, &key)
        })
        .await
    }

    async fn finish_stage(
        &self,
        record: &StageRecord,
        agenda: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let r = record.clone();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            match stage_of(&tx, &r)? {
                Some(old) if old.status == StageStatus::Claimed && old.attempts == r.attempts => {}
                _ => return Err(StoreError::StageTaken),
            }
            put_stage(&tx, &r)?;
            set_agenda_tx(&tx, &r.invoice_id.to_string(), agenda)?;
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn set_agenda(
        &self,
        invoice: &InvoiceId,
        at: Option<DateTime<Utc>>,
        ledger_len: u32,
    ) -> Result<()> {
        let id = invoice.to_string();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            let newer: bool = tx
                .query_row_cached(
                    "SELECT EXISTS (SELECT 1 FROM ledger WHERE invoice_id = ?1 AND seq > ?2)",
                    params![id, ledger_len],
                    |r| r.get(0),
                )
                .map_err(sql_err)?;
            if newer {
                return Err(StoreError::SequenceTaken);
            }
            set_agenda_tx(&tx, &id, at)?;
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn due_agenda(
        &self,
        lane: Lane,
        now: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<Page<AgendaItem>> {
        let limit = page.limit();
        let after = page.after.clone();
        let until = agenda_until(now);
        self.with(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT next_action_at, id, client_id FROM invoices
                     WHERE lane = ?4 AND next_action_at IS NOT NULL
                       AND next_action_at || '#' || id <= ?1
                       AND (?2 IS NULL OR next_action_at || '#' || id > ?2)
                     ORDER BY next_action_at, id LIMIT ?3",
                )
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(
                    params![until, after, limit.saturating_add(1), lane.name()],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                        ))
                    },
                )
                .map_err(sql_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql_err)?;
            let more = rows.len() > limit as usize;
            let mut items = Vec::new();
            for (at, id, client) in rows.into_iter().take(limit as usize) {
                items.push(AgendaItem {
                    invoice_id: InvoiceId::parse(&id)
                        .ok_or_else(|| StoreError::Backend(format!("bad invoice id {id}")))?,
                    client_id: ClientId::parse(&client)
                        .ok_or_else(|| StoreError::Backend(format!("bad client id {client}")))?,
                    at: at.parse().map_err(StoreError::backend)?,
                });
            }
            let next = more
                .then(|| items.last().map(|i| agenda_sort_key(i.at, &i.invoice_id)))
                .flatten();
            Ok(Page { items, next })
        })
        .await
    }

    async fn stage_log(&self, log: StageLog, page: &PageRequest) -> Result<Page<StageRecord>> {
        let limit = page.limit();
        let after = page.after.clone();
        self.with(move |c| {
            self::page(
                c,
                "SELECT log_key, body FROM stages WHERE log = ?1 AND (?2 IS NULL OR log_key < ?2)
                 ORDER BY log_key DESC LIMIT ?3",
                params![log.name(), after, limit.saturating_add(1)],
                limit,
            )
        })
        .await
    }
    async fn create_user(&self, user: &User) -> Result<()> {
        let (id, email, body) = (user.id.to_string(), user.email.clone(), to_json(user)?);
        self.with(move |c| {
            c.execute_cached(
                "INSERT INTO users (id, email, body) VALUES (?1, ?2, ?3)",
                params![id, email, body],
            )
            .map(|_| ())
            .map_err(|e| constraint_as(e, StoreError::AlreadyExists))
        })
        .await
    }

    async fn user(&self, id: &UserId) -> Result<Option<User>> {
        let id = id.to_string();
        self.with(move |c| one(c, "SELECT body FROM users WHERE id = ?1", [id]))
            .await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let email = email.to_string();
        self.with(move |c| one(c, "SELECT body FROM users WHERE email = ?1", [email]))
            .await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        self.with(|c| {
            let mut stmt = c
                .prepare_cached("SELECT body FROM users ORDER BY email")
                .map_err(sql_err)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(sql_err)?;
            rows.map(|r| from_json(&r.map_err(sql_err)?)).collect()
        })
        .await
    }

    async fn update_user(&self, user: &User) -> Result<bool> {
        let (id, body) = (user.id.to_string(), to_json(user)?);
        self.with(move |c| {
            let n = c
                .execute_cached(
                    "UPDATE users SET body = ?2 WHERE id = ?1",
                    params![id, body],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn count_sign_in_link(&self, address: &str, now: DateTime<Utc>) -> Result<bool> {
        let address = address.to_string();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            let hour_ago = agenda_value(Some(later(now, Duration::hours(-1))));
            tx.execute_cached(
                "DELETE FROM sign_in_links WHERE address = ?1 AND at <= ?2",
                params![address, hour_ago],
            )
            .map_err(sql_err)?;
            let recent: Vec<DateTime<Utc>> = {
                let mut stmt = tx
                    .prepare_cached("SELECT at FROM sign_in_links WHERE address = ?1")
                    .map_err(sql_err)?;
                let rows = stmt
                    .query_map([&address], |r| r.get::<_, String>(0))
                    .map_err(sql_err)?;
                rows.map(|r| r.map_err(sql_err)?.parse().map_err(StoreError::backend))
                    .collect::<Result<Vec<_>>>()?
            };
            if !cobro_domain::user::may_send_link(&recent, now) {
                return Ok(false);
            }
            tx.execute_cached(
                "INSERT INTO sign_in_links (address, at) VALUES (?1, ?2)",
                params![address, agenda_value(Some(now))],
            )
            .map_err(sql_err)?;
            tx.commit().map_err(sql_err)?;
            Ok(true)
        })
        .await
    }

    async fn put_sign_in_token(&self, token: &SignInToken) -> Result<()> {
        let (digest, body) = (token.digest.clone(), to_json(token)?);
        self.with(move |c| {
            c.execute_cached(
                "INSERT INTO sign_in_tokens (digest, body) VALUES (?1, ?2)",
                params![digest, body],
            )
            .map(|_| ())
            .map_err(|e| constraint_as(e, StoreError::AlreadyExists))
        })
        .await
    }

    async fn use_sign_in_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SignInToken>> {
        let digest = digest.to_string();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            let token: Option<SignInToken> = one(
                &tx,
                "SELECT body FROM sign_in_tokens WHERE digest = ?1",
                [&digest],
            )?;
            let Some(mut token) = token.filter(|t| t.used_at.is_none() && now < t.expires_at)
            else {
                return Ok(None);
            };
            let unused = token.clone();
            token.used_at = Some(now);
            tx.execute_cached(
                "UPDATE sign_in_tokens SET body = ?2 WHERE digest = ?1",
                params![digest, to_json(&token)?],
            )
            .map_err(sql_err)?;
            tx.commit().map_err(sql_err)?;
            Ok(Some(unused))
        })
        .await
    }

    async fn put_session(&self, session: &Session) -> Result<()> {
        let (digest, body) = (session.digest.clone(), to_json(session)?);
        self.with(move |c| {
            c.execute_cached(
                "INSERT INTO sessions (digest, body) VALUES (?1, ?2)",
                params![digest, body],
            )
            .map(|_| ())
            .map_err(|e| constraint_as(e, StoreError::AlreadyExists))
        })
        .await
    }

    async fn session(&self, digest: &str) -> Result<Option<Session>> {
        let digest = digest.to_string();
        self.with(move |c| one(c, "SELECT body FROM sessions WHERE digest = ?1", [digest]))
            .await
    }

    async fn touch_session(&self, digest: &str, at: DateTime<Utc>) -> Result<()> {
        let digest = digest.to_string();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            let session: Option<Session> = one(
                &tx,
                "SELECT body FROM sessions WHERE digest = ?1",
                [&digest],
            )?;
            if let Some(mut s) = session {
                s.last_seen_at = s.last_seen_at.max(at);
                tx.execute_cached(
                    "UPDATE sessions SET body = ?2 WHERE digest = ?1",
                    params![digest, to_json(&s)?],
                )
                .map_err(sql_err)?;
            }
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn delete_session(&self, digest: &str) -> Result<()> {
        let digest = digest.to_string();
        self.with(move |c| {
            c.execute_cached("DELETE FROM sessions WHERE digest = ?1", [digest])
                .map(|_| ())
                .map_err(sql_err)
        })
        .await
    }

    async fn record_audit(&self, record: &AuditRecord) -> Result<()> {
        let r = record.clone();
        self.with(move |c| put_audit(c, &r)).await
    }

    async fn audit_log(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>> {
        let limit = page.limit();
        // Ids begin with a year's digits: "~" sorts after every one (a range the index reads).
        let after = page.after.clone().unwrap_or_else(|| "~".into());
        let (which, value) = match filter {
            AuditFilter::All => ("?1 IS NULL", None),
            AuditFilter::Invoice(id) => ("invoice_id = ?1", Some(id.to_string())),
            AuditFilter::Client(id) => ("client_id = ?1", Some(id.to_string())),
        };
        let sql = format!(
            "SELECT id, body FROM audit WHERE {which} AND id < ?2 ORDER BY id DESC LIMIT ?3"
        );
        self.with(move |c| {
            self::page(
                c,
                &sql,
                params![value, after, limit.saturating_add(1)],
                limit,
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listings_migration_is_where_the_backfill_looks() {
        let m = MIGRATIONS
            .get(LISTINGS_MIGRATION)
            .copied()
            .unwrap_or_default();
        assert!(m.contains("ADD COLUMN listing TEXT"), "{m}");
        let m = MIGRATIONS
            .get(SETTLED_MIGRATION)
            .copied()
            .unwrap_or_default();
        assert!(m.contains("ADD COLUMN settled_key"), "{m}");
        assert_eq!(MIGRATIONS.len(), SETTLED_MIGRATION + 3);
    }

    /// A deposit that fell overdue before the deposit log existed is in it once the store
    /// opens again.
    #[test]
    fn overdue_deposits_from_before_join_their_log() {
        let dir = tempfile::tempdir().unwrap();
        let at: DateTime<Utc> = "2026-11-30T13:30:00Z".parse().unwrap();
        let r = StageRecord {
            invoice_id: InvoiceId::generate(),
            client_id: ClientId::generate(),
            stage: cobro_domain::Stage::DepositOverdue,
            status: StageStatus::Done,
            attempts: 1,
            claimed_at: at,
            lease_until: at,
            done_at: Some(at),
            message_id: None,
            amount: None,
            charge_on: None,
            error: None,
        };
        {
            let store = SqliteStore::open(dir.path()).unwrap();
            let mut c = store.conn.lock().unwrap();
            let tx = c.transaction().unwrap();
            tx.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
            // As an older version wrote it: no log.
            tx.execute(
                "INSERT INTO stages (invoice_id, stage, log, log_key, body) VALUES (?1, ?2, NULL, NULL, ?3)",
                params![r.invoice_id.to_string(), r.stage.to_string(), to_json(&r).unwrap()],
            )
            .unwrap();
            tx.pragma_update(None, "user_version", DEPOSIT_LOG_MIGRATION)
                .unwrap();
            // Nor the receivables index and the jobs that came after.
            tx.execute_batch(
                "DROP INDEX invoices_settled; DROP INDEX invoices_status;
                 ALTER TABLE invoices DROP COLUMN settled_key; DROP TABLE jobs;",
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let logged = rt
            .block_on(store.stage_log(StageLog::Deposits, &PageRequest::first(10)))
            .unwrap();
        assert_eq!(logged.items, vec![r]);
    }
}
