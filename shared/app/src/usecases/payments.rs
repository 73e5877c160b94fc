//! Putting money on invoices: the one path shared by provider webhooks, manual payments
//! and (later) the unmatched queue. Decisions come from the pure domain (`reconcile`); the
//! store writes each decision with its cause atomically, and a lost race re-reads and
//! decides again, so concurrent events never lose an update and redeliveries add nothing.

use chrono::Duration;
use cobro_domain::calendar::later;
use cobro_domain::dunning::early_payment_discount;
use cobro_domain::ledger::{next_entry, reconcile};
use cobro_domain::validation::{one_line, optional_text};
use cobro_domain::{
    Action, Actor, Currency, Decision, FactKind, FieldErrors, InvoiceId, LedgerEntry, Money,
    PaymentFact, PaymentId, PaymentMethod, PaymentReference, UnmatchedId, UnmatchedReason,
};
use cobro_providers::{PaymentEvent, Target, mercadopago};
use cobro_store::{EventRecord, LedgerWrite, StoreError, StoredInvoice, Unmatched};
use rust_decimal::Decimal;
use tracing::instrument;

use super::{Conflict, Error, Remember, Thing, nothing};
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
    /// Cannot go on this invoice (another currency).
    Refused(UnmatchedReason, StoredInvoice),
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
        expires_at: later(now, Duration::days(EVENT_MEMORY_DAYS)),
    }
}

/// Applies `fact` to the invoice, recording `event` (provider, event id), the idempotency
/// record made from the invoice as it will be and, when `by` is not the provider, the
/// audit record, in the same write; the entries carry `by`.
/// `None` when there is no such invoice.
#[instrument(skip_all, fields(invoice_id = %invoice_id, source = %fact.source, payment_id = %fact.payment_id))]
pub async fn apply_fact(
    app: &App,
    invoice_id: &InvoiceId,
    fact: &PaymentFact,
    event: Option<(&str, &str)>,
    idempotency: Remember<'_>,
    resolves: Option<&Unmatched>,
    by: &Actor,
) -> Result<Option<Applied>, StoreError> {
    let action = match (&fact.kind, resolves) {
        (_, Some(_)) => Action::UnmatchedApplied,
        (FactKind::Refunded { .. }, None) => Action::RefundRecorded,
        _ => Action::PaymentRecorded,
    };
    for _ in 0..MAX_ATTEMPTS {
        let Some(stored) = app.store.invoice(invoice_id).await? else {
            return Ok(None);
        };
        let record = |outcome: &str| event.map(|(p, id)| event_record(app, p, id, outcome));
        match reconcile(stored.invoice.currency, &stored.entries, fact) {
            Decision::Apply(new) => {
                let now = app.now();
                let entry = LedgerEntry {
                    by: Some(by.clone()),
                    ..next_entry(&stored.entries, new, now)
                };
                let mut after = stored.clone();
                after.entries.push(entry.clone());
                let mut entries = vec![entry.clone()];
                // Paid the discounted amount inside the window: the rest is forgiven.
                if fact.kind == FactKind::Received
                    && let Some(discount) =
                        early_payment_discount(&after.invoice, &after.entries, now)
                            .map_err(StoreError::backend)?
                {
                    let d = LedgerEntry {
                        by: Some(by.clone()),
                        ..next_entry(&after.entries, discount, now)
                    };
                    after.entries.push(d.clone());
                    entries.push(d);
                }
                let agenda = super::ledgers::agenda_of(&after, now).map_err(StoreError::backend)?;
                after.next_action_at = agenda;
                let inv = &stored.invoice;
                let audit = super::audit::record(by, action, now)
                    .map(|r| r.on_invoice(inv).entry(entry.seq).amount(entry.amount));
                let write = LedgerWrite::new(invoice_id.clone(), entries)
                    .with_audit(audit)
                    .with_event(record("applied"))
                    .with_payment_link(fact.source.clone(), fact.payment_id.clone())
                    .with_idempotency(idempotency(&after))
                    .resolving(resolves.cloned())
                    .leaving(&after)?;
                match app.store.append_entries(&write).await {
                    Ok(()) => {
                        tracing::info!(entry = ?entry.key, "ledger entry appended");
                        if fact.kind == FactKind::Received {
                            super::mail::send_receipt(app, &stored, &after, &entry).await;
                            settle_parked(app, invoice_id, fact).await;
                        } else if entry.kind == cobro_domain::EntryKind::Refund {
                            let what = format!("refund.{}", entry.seq);
                            let change = super::mail::Change::Refunded(&entry.amount);
                            super::mail::send_update(app, &after, &what, change).await;
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
pub fn settle_parked<'a>(
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
        for mut item in parked
            .into_iter()
            .filter(|u| u.reason == UnmatchedReason::UnknownInvoice)
        {
            item.resolved = Some(cobro_store::Resolution {
                invoice_id: invoice_id.clone(),
                at: app.now(),
            });
            let parked_fact = item.fact.clone();
            let by = Actor::Provider {
                source: item.provider.clone(),
                event_id: Some(item.event_id.clone()),
            };
            match apply_fact(
                app,
                invoice_id,
                &parked_fact,
                None,
                &nothing,
                Some(&item),
                &by,
            )
            .await
            {
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

/// What a provider's delivery came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    Duplicate,
    Ignored,
    Unmatched,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
            Outcome::Unmatched => "unmatched",
        }
    }
}

/// Puts a verified event's money where it belongs: on its invoice, or in the unmatched
/// queue. Exactly once per (provider, event id).
#[instrument(skip_all, fields(provider = event.provider.as_str(), event_id = %event.event_id))]
pub async fn receive(app: &App, event: &PaymentEvent) -> Result<Outcome, StoreError> {
    let provider = event.provider.as_str();
    if app.store.event(provider, &event.event_id).await?.is_some() {
        return Ok(Outcome::Duplicate);
    }
    let facts: Vec<PaymentFact> = event.fact().into_iter().collect();
    if facts.is_empty() {
        tracing::info!(kind = ?event.kind, "event acknowledged, nothing to do");
    }
    settle(app, provider, &event.event_id, &event.target, facts).await
}

/// A verified Mercado Pago notification: the payment it names is fetched from Mercado
/// Pago's API and its state settled. A failed fetch is `Unavailable` (Mercado Pago
/// retries, and nothing was written).
#[instrument(skip_all, fields(provider = "mercadopago", event_id = %notification.event_id))]
pub async fn receive_mercadopago(
    app: &App,
    notification: &mercadopago::Notification,
) -> Result<Outcome, Error> {
    const PROVIDER: &str = "mercadopago";
    if app
        .store
        .event(PROVIDER, &notification.event_id)
        .await?
        .is_some()
    {
        return Ok(Outcome::Duplicate);
    }
    if notification.topic != "payment" {
        let record = event_record(app, PROVIDER, &notification.event_id, "ignored");
        return Ok(remembered(
            app.store.record_event(&record, None).await,
            Outcome::Ignored,
        )?);
    }
    let config = &app.config;
    let Some(token) = config.mercadopago_access_token.current() else {
        tracing::error!(
            "a Mercado Pago notification arrived but COBRO_MERCADOPAGO_ACCESS_TOKEN is not set"
        );
        return Err(Error::Unavailable("no Mercado Pago access token".into()));
    };
    let api = mercadopago::Api::new(app.http().clone(), &config.mercadopago_api_base, token);
    let payment = api.payment(&notification.data_id).await.map_err(|e| {
        tracing::error!(error = %e, payment_id = %notification.data_id, "Mercado Pago payment fetch failed");
        Error::Unavailable(e.to_string())
    })?;
    let (target, facts) = payment.facts().map_err(|e| {
        tracing::warn!(error = %e, "Mercado Pago payment could not be read");
        Error::Unreadable("The payment could not be read.".into())
    })?;
    Ok(settle(app, PROVIDER, &notification.event_id, &target, facts).await?)
}

/// Applies the facts of one event to the invoice they belong to; the event is recorded with
/// the last one, atomically. Facts are idempotent, so a redelivery after a partial failure
/// converges. No invoice, or the wrong currency: the first fact waits in the unmatched queue.
async fn settle(
    app: &App,
    provider: &str,
    event_id: &str,
    target: &Target,
    facts: Vec<PaymentFact>,
) -> Result<Outcome, StoreError> {
    let Some(first) = facts.first().cloned() else {
        return remembered(
            app.store
                .record_event(&event_record(app, provider, event_id, "ignored"), None)
                .await,
            Outcome::Ignored,
        );
    };
    let invoice_id = match target {
        Target::Invoice(id) => InvoiceId::parse(id),
        Target::PaymentReference(r) => match PaymentReference::parse(r) {
            Some(r) => app.store.invoice_by_payment_reference(&r).await?,
            None => None,
        },
        Target::Unknown => None,
    };
    let invoice_id = match invoice_id {
        Some(id) => Some(id),
        None => {
            app.store
                .invoice_for_payment(&first.source, &first.payment_id)
                .await?
        }
    };
    let mut refused = UnmatchedReason::UnknownInvoice;
    if let Some(id) = &invoice_id {
        let mut outcome = Outcome::Duplicate;
        let mut recorded = false;
        let last = facts.len().checked_sub(1);
        let by = Actor::Provider {
            source: provider.to_string(),
            event_id: Some(event_id.to_string()),
        };
        for (i, fact) in facts.iter().enumerate() {
            let event = (Some(i) == last).then_some((provider, event_id));
            match apply_fact(app, id, fact, event, &nothing, None, &by).await? {
                Some(Applied::Entry(..)) => {
                    outcome = Outcome::Applied;
                    // The last fact's write carried the event record.
                    recorded = Some(i) == last;
                }
                Some(Applied::Duplicate(_)) => {}
                Some(Applied::Ignored(_)) if outcome == Outcome::Duplicate => {
                    outcome = Outcome::Ignored
                }
                Some(Applied::Ignored(_)) => {}
                Some(Applied::Refused(why, _)) => {
                    refused = why;
                    outcome = Outcome::Unmatched;
                    break;
                }
                None => {
                    outcome = Outcome::Unmatched;
                    break;
                }
            }
        }
        if recorded {
            return Ok(outcome);
        }
        if outcome != Outcome::Unmatched {
            let record = event_record(app, provider, event_id, outcome.as_str());
            return remembered(app.store.record_event(&record, None).await, outcome);
        }
    }
    // What the sender wrote (a reference a client typed into a transfer): kept for the
    // person who reads the queue, as one line of at most 200 characters.
    let target = match target {
        Target::Invoice(v) | Target::PaymentReference(v) => {
            Some(one_line(v).chars().take(200).collect::<String>())
        }
        Target::Unknown => None,
    };
    let unmatched = Unmatched {
        id: UnmatchedId::generate(),
        provider: provider.to_string(),
        event_id: event_id.to_string(),
        fact: first,
        target,
        reason: refused,
        received_at: app.now(),
        resolved: None,
    };
    tracing::warn!(unmatched_id = %unmatched.id, reason = refused.as_str(), "payment queued for a person");
    let outcome = remembered(
        app.store
            .record_event(
                &event_record(app, provider, event_id, "unmatched"),
                Some(&unmatched),
            )
            .await,
        Outcome::Unmatched,
    )?;
    // Its payment may have landed between our lookup and our write, its drain missing us:
    // look again now that we are parked, and follow it if it is there.
    if refused == UnmatchedReason::UnknownInvoice
        && outcome == Outcome::Unmatched
        && let Some(id) = app
            .store
            .invoice_for_payment(&unmatched.fact.source, &unmatched.fact.payment_id)
            .await?
    {
        settle_parked(app, &id, &unmatched.fact).await;
    }
    Ok(outcome)
}

fn remembered(result: Result<(), StoreError>, outcome: Outcome) -> Result<Outcome, StoreError> {
    match result {
        Ok(()) => Ok(outcome),
        Err(StoreError::EventSeen) => Ok(Outcome::Duplicate),
        Err(e) => Err(e),
    }
}

/// A payment the business received by hand, as asked.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualPayment {
    /// `cash`, `cheque`, `transfer` or `card_terminal`.
    #[schema(example = "transfer")]
    pub method: String,
    pub amount: Decimal,
    pub currency: String,
    #[serde(default)]
    pub reference: Option<String>,
}

/// Which way money moved by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The business received it (cash, cheque, transfer, card terminal).
    Received,
    /// The business gave it back: a refund, on the same path as a provider's refund, and
    /// the client is told. At most what the invoice holds (received, less refunded, lost or
    /// moved) can go back; more is a 422 naming that amount.
    Refunded,
}

/// Records money the business moved by hand on the invoice `id`: the same ledger path as
/// provider events. Returns the invoice as the write left it.
#[instrument(skip_all)]
pub async fn record_manual(
    app: &App,
    by: &Actor,
    id: &str,
    input: ManualPayment,
    direction: Direction,
    remember: Remember<'_>,
) -> Result<StoredInvoice, Error> {
    let invoice_id = InvoiceId::parse(id).ok_or(Error::NotFound(Thing::Invoice))?;
    let (method, amount, reference) = manual(input)?;
    let payment_id = reference.unwrap_or_else(|| PaymentId::generate().to_string());
    let kind = match direction {
        Direction::Received => FactKind::Received,
        Direction::Refunded => {
            let stored = app
                .store
                .invoice(&invoice_id)
                .await?
                .ok_or(Error::NotFound(Thing::Invoice))?;
            if amount.currency() != stored.invoice.currency {
                return Err(wrong_currency(&stored));
            }
            // What it holds of the client's money: received, less refunded, lost, moved on
            // or held by an open dispute; a deposit also less what went onto invoices.
            let inv = &stored.invoice;
            let b = cobro_domain::ledger::balance(&inv.total, &stored.entries)?;
            let holds = if inv.purpose == cobro_domain::invoice::Purpose::Deposit {
                cobro_domain::deposit::held(inv, &stored.entries)?
            } else {
                b.net_paid.checked_sub(&b.on_hold)?
            };
            if amount.amount() > holds.amount() {
                let holds = holds.format(app.config.business_locale);
                return Err(Error::Invalid(FieldErrors::single(
                    "amount",
                    format!(
                        "the invoice holds {holds} of the client's money; no more can be given back"
                    ),
                )));
            }
            FactKind::Refunded {
                cumulative: false,
                refund_id: Some(payment_id.clone()),
            }
        }
    };
    let fact = PaymentFact {
        source: "manual".into(),
        payment_id,
        kind,
        amount,
        method,
    };
    match apply_fact(app, &invoice_id, &fact, None, remember, None, by).await? {
        None => Err(Error::NotFound(Thing::Invoice)),
        Some(Applied::Entry(after, _)) => Ok(after),
        Some(Applied::Refused(_, stored)) => Err(wrong_currency(&stored)),
        Some(Applied::Duplicate(_)) => Err(Error::conflict(Conflict::DuplicatePayment)),
        Some(Applied::Ignored(why)) => Err(Error::Unreadable(why.into())),
    }
}

fn wrong_currency(stored: &StoredInvoice) -> Error {
    Error::Invalid(FieldErrors::single(
        "currency",
        format!("the invoice is in {}", stored.invoice.currency),
    ))
}

/// A hand-recorded movement's method, amount (positive) and reference, checked.
fn manual(input: ManualPayment) -> Result<(PaymentMethod, Money, Option<String>), Error> {
    let mut errors = FieldErrors::new();
    let method = match input.method.as_str() {
        "cash" => Some(PaymentMethod::Cash),
        "cheque" => Some(PaymentMethod::Cheque),
        "transfer" => Some(PaymentMethod::Transfer),
        "card_terminal" => Some(PaymentMethod::CardTerminal),
        _ => {
            errors.add("method", "must be cash, cheque, transfer or card_terminal");
            None
        }
    };
    let amount = match Currency::parse(&input.currency) {
        Err(e) => {
            errors.add("currency", e.to_string());
            None
        }
        Ok(c) => match Money::new(input.amount, c) {
            Ok(m) if m.is_positive() => Some(m),
            Ok(_) => {
                errors.add("amount", "must be greater than zero");
                None
            }
            Err(e) => {
                errors.add("amount", e.to_string());
                None
            }
        },
    };
    let reference = optional_text(&mut errors, "reference", input.reference.as_deref(), 200);
    match (method, amount, errors.is_empty()) {
        (Some(method), Some(amount), true) => Ok((method, amount, reference)),
        _ => Err(Error::Invalid(errors)),
    }
}

/// A person puts the queued payment `id` on the invoice `invoice_id`: the ledger entry and
/// the resolution are one write, so two people cannot apply it twice. Returns the invoice
/// as the write left it.
#[instrument(skip_all)]
pub async fn apply_unmatched(
    app: &App,
    by: &Actor,
    id: &str,
    invoice_id: &str,
    remember: Remember<'_>,
) -> Result<StoredInvoice, Error> {
    let not_found = || Error::NotFound(Thing::UnmatchedPayment);
    let id = UnmatchedId::parse(id).ok_or_else(not_found)?;
    let mut item = app.store.unmatched(&id).await?.ok_or_else(not_found)?;
    if item.resolved.is_some() {
        return Err(Error::conflict(Conflict::AlreadyResolved));
    }
    let no_invoice =
        || Error::Invalid(FieldErrors::single("invoice_id", "no invoice with this id"));
    let invoice_id = InvoiceId::parse(invoice_id.trim()).ok_or_else(no_invoice)?;
    item.resolved = Some(cobro_store::Resolution {
        invoice_id: invoice_id.clone(),
        at: app.now(),
    });
    match apply_fact(
        app,
        &invoice_id,
        &item.fact,
        None,
        remember,
        Some(&item),
        by,
    )
    .await
    {
        Ok(None) => Err(no_invoice()),
        Ok(Some(Applied::Entry(after, _))) => {
            tracing::info!(unmatched_id = %item.id, invoice_id = %invoice_id, "unmatched payment applied");
            Ok(after)
        }
        Ok(Some(Applied::Refused(_, stored))) => Err(Error::Invalid(FieldErrors::single(
            "invoice_id",
            format!(
                "the invoice is in {}, the payment in {}",
                stored.invoice.currency,
                item.fact.amount.currency()
            ),
        ))),
        Ok(Some(Applied::Duplicate(_) | Applied::Ignored(_))) => {
            Err(Error::conflict(Conflict::AlreadyApplied))
        }
        Err(StoreError::AlreadyResolved) => Err(Error::conflict(Conflict::AlreadyResolved)),
        Err(e) => Err(e.into()),
    }
}

/// A page of the unmatched queue (unresolved only), newest first.
pub async fn list_unmatched(
    app: &App,
    page: &cobro_store::PageRequest,
) -> Result<cobro_store::Page<Unmatched>, Error> {
    Ok(app.store.list_unmatched(page).await?)
}
