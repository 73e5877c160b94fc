//! Putting money on invoices: the one path shared by provider webhooks, manual payments
//! and (later) the unmatched queue. Decisions come from the pure domain (`reconcile`); the
//! store writes each decision with its cause atomically, and a lost race re-reads and
//! decides again, so concurrent events never lose an update and redeliveries add nothing.

use chrono::Duration;
use cobro_domain::dunning::early_payment_discount;
use cobro_domain::ledger::{self, next_entry, reconcile};
use cobro_domain::{Decision, FactKind, InvoiceId, LedgerEntry, PaymentFact};
use cobro_notify::PaymentReceived;
use cobro_store::{EventRecord, IdempotencyRecord, LedgerWrite, StoreError, StoredInvoice};
use tracing::instrument;

use crate::App;

/// How long a provider event is remembered (providers retry for up to three days).
pub const EVENT_MEMORY_DAYS: i64 = 90;
const MAX_ATTEMPTS: usize = 30;

/// What applying a fact to an invoice did.
#[derive(Debug)]
pub enum Applied {
    /// A new ledger entry; the invoice as it is now.
    Entry(StoredInvoice, LedgerEntry),
    /// Already in the ledger (or the event was already recorded).
    Duplicate(StoredInvoice),
    /// Cannot go on this invoice (`currency_mismatch`).
    Refused(&'static str, StoredInvoice),
    /// Nothing to record.
    Ignored(&'static str),
}

pub fn event_record(app: &App, provider: &str, event_id: &str, outcome: &str) -> EventRecord {
    let now = app.now();
    EventRecord {
        provider: provider.to_string(),
        event_id: event_id.to_string(),
        outcome: outcome.to_string(),
        received_at: now,
        expires_at: now + Duration::days(EVENT_MEMORY_DAYS),
    }
}

/// Applies `fact` to the invoice, recording `event` (provider, event id) and the
/// idempotency record made from the invoice as it will be, in the same write.
/// `None` when there is no such invoice.
#[instrument(skip_all, fields(invoice_id = %invoice_id, source = %fact.source, payment_id = %fact.payment_id))]
pub async fn apply_fact(
    app: &App,
    invoice_id: &InvoiceId,
    fact: &PaymentFact,
    event: Option<(&str, &str)>,
    idempotency: &(dyn Fn(&StoredInvoice) -> Option<IdempotencyRecord> + Send + Sync),
    resolves: Option<&cobro_store::Unmatched>,
) -> Result<Option<Applied>, StoreError> {
    for _ in 0..MAX_ATTEMPTS {
        let Some(stored) = app.store.invoice(invoice_id).await? else {
            return Ok(None);
        };
        let record = |outcome: &str| event.map(|(p, id)| event_record(app, p, id, outcome));
        match reconcile(stored.invoice.currency, &stored.entries, fact) {
            Decision::Apply(new) => {
                let now = app.now();
                let entry = next_entry(&stored.entries, new, now);
                let mut after = stored.clone();
                after.entries.push(entry.clone());
                let mut entries = vec![entry.clone()];
                // Paid the discounted amount inside the window: the rest is forgiven.
                if fact.kind == FactKind::Received
                    && let Some(discount) =
                        early_payment_discount(&after.invoice, &after.entries, now)
                            .map_err(StoreError::backend)?
                {
                    let d = next_entry(&after.entries, discount, now);
                    after.entries.push(d.clone());
                    entries.push(d);
                }
                let agenda = crate::dunning::agenda_of(&after, now).map_err(StoreError::backend)?;
                let write = LedgerWrite {
                    invoice_id: invoice_id.clone(),
                    entries,
                    event: record("applied"),
                    payment_link: Some((fact.source.clone(), fact.payment_id.clone())),
                    idempotency: idempotency(&after),
                    resolves: resolves.cloned(),
                    agenda: Some(agenda),
                    stage: None,
                };
                match app.store.append_entries(&write).await {
                    Ok(()) => {
                        tracing::info!(entry = ?entry.key, "ledger entry appended");
                        if fact.kind == FactKind::Received {
                            send_receipt(app, &after, &entry).await;
                            settle_parked(app, invoice_id, fact).await;
                        }
                        return Ok(Some(Applied::Entry(after, entry)));
                    }
                    Err(StoreError::SequenceTaken) => continue,
                    Err(StoreError::EventSeen) => return Ok(Some(Applied::Duplicate(stored))),
                    Err(e) => return Err(e),
                }
            }
            Decision::Duplicate => {
                remember(app, record("duplicate")).await?;
                return Ok(Some(Applied::Duplicate(stored)));
            }
            Decision::Ignore(why) => {
                remember(app, record("ignored")).await?;
                return Ok(Some(Applied::Ignored(why)));
            }
            Decision::Unmatched(why) => return Ok(Some(Applied::Refused(why, stored))),
        }
    }
    Err(StoreError::Backend(format!(
        "invoice {invoice_id}: too many concurrent ledger writes"
    )))
}

/// Refunds and disputes that named no invoice and arrived before their payment wait in
/// the unmatched queue; once the payment lands they follow it onto its invoice, so the
/// ledger converges whatever the order of arrival. Each is applied and resolved in one
/// write; a failure leaves it in the queue for a person.
pub(crate) fn settle_parked<'a>(
    app: &'a App,
    invoice_id: &'a InvoiceId,
    fact: &'a PaymentFact,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
    Box::pin(async move {
        let parked = match app
            .store
            .unmatched_for_payment(&fact.source, &fact.payment_id)
            .await
        {
            Ok(parked) => parked,
            Err(e) => return tracing::error!(error = %e, "could not read parked events"),
        };
        for mut item in parked.into_iter().filter(|u| u.reason == "unknown_invoice") {
            item.resolved = Some(cobro_store::Resolution {
                invoice_id: invoice_id.clone(),
                at: app.now(),
            });
            let parked_fact = item.fact.clone();
            match apply_fact(app, invoice_id, &parked_fact, None, &|_| None, Some(&item)).await {
                Ok(Some(_)) => {
                    tracing::info!(unmatched_id = %item.id, "parked event settled after its payment")
                }
                Ok(None) => {}
                Err(StoreError::AlreadyResolved) => {}
                Err(e) => {
                    tracing::error!(unmatched_id = %item.id, error = %e, "parked event stays in the queue")
                }
            }
        }
    })
}

/// Records an event that changed nothing, so its redeliveries are recognised at once.
async fn remember(app: &App, record: Option<EventRecord>) -> Result<(), StoreError> {
    match record {
        Some(r) => match app.store.record_event(&r, None).await {
            Ok(()) | Err(StoreError::EventSeen) => Ok(()),
            Err(e) => Err(e),
        },
        None => Ok(()),
    }
}

/// E-mails the client a receipt. Failures are logged; the payment stands either way.
async fn send_receipt(app: &App, stored: &StoredInvoice, entry: &LedgerEntry) {
    let result = async {
        let client = app
            .store
            .client(&stored.invoice.client_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("client not found")?;
        let balance =
            ledger::balance(&stored.invoice.total, &stored.entries).map_err(|e| e.to_string())?;
        let date = cobro_domain::today_in(client.timezone, entry.at);
        let message = PaymentReceived::new(
            &app.config.business_name,
            &client,
            &stored.invoice,
            &entry.amount,
            &balance,
            date,
        );
        let key = format!("{}.receipt.{}", stored.invoice.id, entry.seq);
        let email = message
            .email(&app.config.from_email, &client, &key)
            .map_err(|e| e.to_string())?;
        app.mailer.send(&email).await.map_err(|e| e.to_string())
    }
    .await;
    match result {
        Ok(sent) => tracing::info!(message_id = %sent.id, "receipt e-mailed"),
        Err(e) => tracing::error!(error = %e, "receipt e-mail failed"),
    }
}
