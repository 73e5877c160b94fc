//! Clients and invoices: created (with the checks that decide whether a client is invoiced
//! on credit: budget, standing, deposit), read, voided.
//!
//! Creating an invoice reads the client's ledgers once: their standing decides their
//! tier's policy and whether they get credit, their budget and deposit are checked, and
//! their credit is brought onto the invoice in the same write ([`super::issue`]).

use cobro_domain::calendar::DEFAULT_TIMEZONE;
use cobro_domain::deposit::{ClientStatus, DepositRule};
use cobro_domain::ledger::EntryKind;
use cobro_domain::validation::{Shape, text};
use cobro_domain::{
    Action, Actor, Client, ClientId, FieldErrors, Invoice, InvoiceStatus, LedgerEntry, Money,
    NewClient, NewInvoice, Stage, StageRecord, StageStatus, ledger, today_in,
};
use cobro_store::{IdempotencyRecord, LedgerWrite, PageRequest, StoreError, StoredInvoice};
use tracing::instrument;

use super::issue::{Issue, Issued, MAX_NUMBER_ATTEMPTS, Recorded};
use super::ledgers::{
    client_balance, client_credit, client_ledgers, find_client, find_invoice, read_all,
};
use super::{Conflict, Error, RememberLink, deposits, standing};
use crate::App;

/// What the answer to a new client is made from: the client, and the deposit invoice
/// asked for with it (and its pay link), if any.
pub type RememberClient<'a> =
    &'a (dyn Fn(&Client, Option<(&Invoice, &str)>) -> Option<IdempotencyRecord> + Send + Sync);

/// A client created, with the deposit asked for at once when their deposit is fixed.
pub struct NewClientCreated {
    pub client: Client,
    pub deposit: Option<Issued>,
}

/// Creates a client. A fixed deposit is asked for at once: the client is written with its
/// deposit invoice, which is e-mailed to them.
#[instrument(skip_all)]
pub async fn create_client(
    app: &App,
    by: &Actor,
    input: &NewClient,
    remember: RememberClient<'_>,
) -> Result<NewClientCreated, Error> {
    let now = app.now();
    let mut client = input
        .validate(ClientId::generate(), now)
        .map_err(Error::Invalid)?;
    fits_the_policy(app, &client)?;
    // Meant to share a tax id: the first client keeps it, this one points to it.
    if input.duplicate_tax_id
        && let Some(key) = client.tax_key()
    {
        client.shares_tax_id_with = app.store.client_by_tax_key(&key).await?;
    }
    match create_new_client(app, by, client, remember, now).await {
        Err(Error::Store(StoreError::TaxIdTaken(owner))) => {
            let first = app.store.client(&owner).await?;
            Err(Error::conflict(Conflict::DuplicateTaxId(Box::new(
                first.ok_or_else(|| Error::internal("a tax id's client is missing"))?,
            ))))
        }
        other => other,
    }
}

async fn create_new_client(
    app: &App,
    by: &Actor,
    client: Client,
    remember: RememberClient<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<NewClientCreated, Error> {
    if let Some(terms) = deposits::terms_for(app, &client)
        && let DepositRule::Fixed(amount) = terms.rule
    {
        let valid = deposits::deposit_invoice(app, &client, &amount, &terms, now)?;
        let answer = |stored: &StoredInvoice, pay_url: &str| {
            remember(&client, Some((&stored.invoice, pay_url)))
        };
        let write = Issue {
            client: &client,
            valid,
            ledgers: None,
            new_client: true,
            recorded: Recorded::Answer(&answer),
            closes_budget: false,
            by,
        };
        let issued = super::issue::issue(app, write)
            .await?
            .ok_or(StoreError::IdempotencyKeyTaken)?;
        tracing::info!(client_id = %client.id, invoice_id = %issued.invoice.id, "client created with a deposit asked for");
        super::mail::send_invoice(
            app,
            &client,
            &issued.invoice,
            &issued.entries,
            &issued.pay_url,
        )
        .await;
        return Ok(NewClientCreated {
            client,
            deposit: Some(issued),
        });
    }
    app.store
        .create_client(&client, remember(&client, None).as_ref())
        .await?;
    tracing::info!(client_id = %client.id, "client created");
    let record = super::audit::record(by, Action::ClientCreated, now);
    super::audit::keep(app, record.map(|r| r.on_client(&client))).await;
    Ok(NewClientCreated {
        client,
        deposit: None,
    })
}

/// A client as shown on its own: with their credit per currency, their deposit status and
/// the deposit invoice waiting to be paid.
pub struct ClientDetails {
    pub client: Client,
    pub credit: Vec<Money>,
    /// Owed now, and of it overdue, per currency.
    pub balance: Vec<Money>,
    pub overdue: Vec<Money>,
    pub status: ClientStatus,
    pub open_deposit: Option<Invoice>,
    /// Their standing now (score, tier, factors) and what they owe per currency.
    pub picture: super::standing::Picture,
}

/// The client `id` with what their ledgers say about them.
pub async fn client_details(app: &App, id: &str) -> Result<ClientDetails, Error> {
    let client = find_client(app, id).await?;
    details(app, client).await
}

async fn details(app: &App, client: Client) -> Result<ClientDetails, Error> {
    let ledgers = client_ledgers(app, &client.id).await?;
    let (balance, overdue) = client_balance(&ledgers, app.now())?;
    Ok(ClientDetails {
        picture: super::standing::picture(app, &client, &ledgers)?,
        credit: client_credit(&ledgers)?,
        balance,
        overdue,
        status: deposits::status(&ledgers)?,
        open_deposit: deposits::open_deposit(&ledgers)?.map(|s| s.invoice.clone()),
        client,
    })
}

/// A page of clients, newest first, each with what their ledgers say about them (read
/// concurrently); the cursor of the next page.
pub async fn list_clients(
    app: &App,
    page: &PageRequest,
) -> Result<(Vec<ClientDetails>, Option<String>), Error> {
    let page = app.store.list_clients(page).await?;
    let details =
        futures::future::try_join_all(page.items.into_iter().map(|c| details(app, c))).await?;
    Ok((details, page.next))
}

/// Clients as the console lists them: of one tier, and/or whose name, e-mail or tax id
/// has the text (case and accents aside).
#[derive(Debug, Clone, Default)]
pub struct ClientQuery {
    pub tier: Option<cobro_domain::standing::Tier>,
    pub text: Option<String>,
}

impl ClientQuery {
    fn matches(&self, d: &ClientDetails) -> bool {
        let c = &d.client;
        let tier = self.tier.is_none_or(|t| d.picture.standing.tier == t);
        let text = self.text.as_deref().is_none_or(|t| {
            let t = cobro_domain::listing::fold(t);
            [Some(&c.name), Some(&c.email), c.tax_id.as_ref()]
                .into_iter()
                .flatten()
                .any(|v| cobro_domain::listing::fold(v).contains(&t))
        });
        tier && text
    }
}

/// A page of the clients `q` picks, newest first: the clients are read a page at a time
/// (each with their ledgers) until `limit` match or none are left, so the cost follows the
/// clients read, not the invoices of others.
pub async fn find_clients(
    app: &App,
    q: &ClientQuery,
    page: &PageRequest,
) -> Result<(Vec<ClientDetails>, Option<String>), Error> {
    let limit = page.limit.clamp(1, cobro_store::MAX_PAGE) as usize;
    let mut found = Vec::new();
    let mut at = page.clone();
    loop {
        let (details, next) = list_clients(app, &at).await?;
        for d in details {
            if found.len() == limit {
                // More may match: the next page starts after the last one kept.
                let cursor = found
                    .last()
                    .map(|l: &ClientDetails| cobro_store::client_cursor(&l.client));
                return Ok((found, cursor));
            }
            if q.matches(&d) {
                found.push(d);
            }
        }
        match next {
            Some(n) => at.after = Some(n),
            None => return Ok((found, None)),
        }
    }
}

/// Changes the client `id`'s contact or terms (what `changes` leaves out stays), checked
/// like a new client's. Nothing changed, nothing is written or recorded. Returns the client
/// as it now is.
#[instrument(skip_all)]
pub async fn update_client(
    app: &App,
    by: &Actor,
    id: &str,
    changes: &cobro_domain::ClientChanges,
) -> Result<Client, Error> {
    let client = find_client(app, id).await?;
    let (client, changed) = changes.apply(&client).map_err(Error::Invalid)?;
    if changed.is_empty() {
        return Ok(client);
    }
    fits_the_policy(app, &client)?;
    if !app.store.update_client(&client).await? {
        return Err(Error::NotFound(super::Thing::Client));
    }
    tracing::info!(client_id = %client.id, fields = ?changed, "client changed");
    let record = super::audit::record(by, Action::ClientUpdated, app.now())
        .map(|r| r.on_client(&client).detail(changed.join(", ")));
    super::audit::keep(app, record).await;
    Ok(client)
}

/// A client's own terms must make a policy with the business's (`COBRO_DEFAULT_TERMS`):
/// checked alone they may still clash with it (a last reminder after the business's
/// escalation), and every invoice of theirs would then be refused.
fn fits_the_policy(app: &App, client: &Client) -> Result<(), Error> {
    let mut errors = FieldErrors::new();
    standing::client_terms(app, client, None, &mut errors);
    if errors.is_empty() {
        return Ok(());
    }
    let mut out = FieldErrors::new();
    for e in errors.errors {
        out.add(e.field.replacen("client.terms", "terms", 1), e.message);
    }
    Err(Error::Invalid(out))
}

/// Sets the credit limit of the client `id` (`None` removes it): positive, in the currency
/// of the client's other amounts. Returns the client as written.
pub async fn set_credit_limit(
    app: &App,
    by: &Actor,
    id: &str,
    input: Option<&cobro_domain::AmountInput>,
) -> Result<Client, Error> {
    let mut client = find_client(app, id).await?;
    let limit = match input {
        None => None,
        Some(input) => {
            let mut errors = FieldErrors::new();
            let limit = input.validate(&mut errors, "credit_limit");
            let Some(limit) = limit.filter(|_| errors.is_empty()) else {
                return Err(Error::Invalid(errors));
            };
            if !limit.is_positive() {
                return Err(Error::Invalid(FieldErrors::single(
                    "credit_limit.amount",
                    "must be greater than zero",
                )));
            }
            let others = client.budget.map(|b| b.currency());
            if let Some(c) = others.filter(|c| *c != limit.currency()) {
                return Err(Error::Invalid(FieldErrors::single(
                    "credit_limit.currency",
                    format!("must be {c}, the currency of this client's other amounts"),
                )));
            }
            Some(limit)
        }
    };
    client.credit_limit = limit;
    if !app.store.update_client(&client).await? {
        return Err(Error::NotFound(super::Thing::Client));
    }
    tracing::info!(client_id = %client.id, "credit limit set");
    let record = super::audit::record(by, Action::CreditLimitSet, app.now()).map(|r| {
        let r = r.on_client(&client);
        match limit {
            Some(l) => r.amount(l),
            None => r,
        }
    });
    super::audit::keep(app, record).await;
    Ok(client)
}

/// A page of the client `id`'s invoices with their ledgers, newest first; the cursor of
/// the next page.
pub async fn client_invoices(
    app: &App,
    id: &str,
    page: &PageRequest,
) -> Result<(Vec<StoredInvoice>, Option<String>), Error> {
    let client = find_client(app, id).await?;
    let page = app.store.client_invoices(&client.id, page).await?;
    // Statuses come from each invoice's ledger, read concurrently.
    let stored = read_all(app, page.items.iter().map(|i| &i.id)).await?;
    Ok((stored, page.next))
}

/// Creates an invoice, e-mailing it when it asks to be sent. Refused when the client is
/// over their budget or credit limit, restricted, or owes a deposit first (which is then
/// asked for, and named in the refusal).
#[instrument(skip_all)]
pub async fn create_invoice(
    app: &App,
    by: &Actor,
    input: &NewInvoice,
    remember: &(dyn Fn(&StoredInvoice, &str) -> Option<IdempotencyRecord> + Send + Sync),
) -> Result<Issued, Error> {
    let now = app.now();
    // The client decides what "today" is (its time zone) and must exist.
    let mut errors = FieldErrors::new();
    let client = match ClientId::parse(input.client_id.trim()) {
        Some(id) => {
            let found = app.store.client(&id).await?;
            if found.is_none() {
                errors.add("client_id", "no client with this id");
            }
            found
        }
        None => None,
    };
    let today = today_in(
        client.as_ref().map_or(DEFAULT_TIMEZONE, |c| c.timezone),
        now,
    );
    // The client's ledgers, read once: their standing decides their tier's policy and
    // whether they get credit, and their credit is brought onto the invoice below.
    let mut ledgers = match &client {
        Some(c) => Some(client_ledgers(app, &c.id).await?),
        None => None,
    };
    let picture = match (&client, &ledgers) {
        (Some(c), Some(l)) => Some(standing::picture(app, c, l)?),
        _ => None,
    };
    // The policy: the business default, then the client's overrides, then their tier's,
    // then the invoice's.
    let tier = picture.as_ref().map(|p| p.standing.tier);
    let base = match &client {
        Some(c) => standing::client_terms(app, c, tier, &mut errors),
        None => app.config.default_terms.clone(),
    };
    let valid = match input.validate(today, &base) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.errors.extend(e.errors);
            None
        }
    };
    let (Some(client), Some(valid), true) = (client, valid, errors.is_empty()) else {
        return Err(Error::Invalid(errors));
    };
    let ledgers = ledgers.take().unwrap_or_default();
    let closes_budget = deposits::check_budget(&client, &ledgers, &valid.total)?;
    if let Some(p) = &picture {
        standing::check(app, &client, p, &valid.total)?;
        if let Some(need) = deposits::required(app, &client, p, &ledgers, &valid.total)? {
            return Err(deposits::ask(app, &client, &ledgers, &need).await);
        }
    }
    let send = valid.send;
    let write = Issue {
        client: &client,
        valid,
        ledgers: Some(ledgers),
        new_client: false,
        recorded: Recorded::Answer(remember),
        closes_budget,
        by,
    };
    let issued = super::issue::issue(app, write)
        .await?
        .ok_or(StoreError::IdempotencyKeyTaken)?;
    let invoice = &issued.invoice;
    tracing::info!(invoice_id = %invoice.id, client_id = %client.id, number = %invoice.number, "invoice created");
    if send {
        super::mail::send_invoice(app, &client, invoice, &issued.entries, &issued.pay_url).await;
    }
    Ok(issued)
}

/// E-mails the invoice `id` to its client with a fresh pay link: the first time for one
/// created without `send` (its chase starts: reminders, fees and escalation were held until
/// now), or again. Each call sends one message (an `Idempotency-Key` makes a retry the same
/// call); nothing is recorded unless the mailer took the message. Only invoices with money
/// due can be sent (`NothingToSend`). Returns the invoice as it is now and the new link.
#[instrument(skip_all)]
pub async fn send(
    app: &App,
    by: &Actor,
    id: &str,
    remember: RememberLink<'_>,
) -> Result<(StoredInvoice, String), Error> {
    let stored = find_invoice(app, id).await?;
    let inv = &stored.invoice;
    let b = ledger::balance(&inv.total, &stored.entries)?;
    let status = cobro_domain::dunning::status(&b, &stored.stages);
    if !matches!(
        status,
        InvoiceStatus::Open | InvoiceStatus::PartiallyPaid | InvoiceStatus::Escalated
    ) {
        return Err(Error::conflict(Conflict::NothingToSend(status)));
    }
    let client = find_client(app, inv.client_id.as_str()).await?;
    let now = app.now();
    let (pay_url, token) = super::links::issue_link(app, &client.id, &inv.id, now).await?;
    // One message per sending: named by its new link.
    let sending: String = token.digest.chars().take(16).collect();
    let key = super::mail::key(inv, &format!("issued.{sending}"));
    let message_id = super::mail::mail_invoice(app, &client, inv, &stored.entries, &pay_url, &key)
        .await
        .map_err(|e| Error::Unavailable(format!("the e-mail could not be sent: {}", e.why)))?;
    tracing::info!(invoice_id = %inv.id, message_id = %message_id, "invoice sent");
    // The first sending starts the chase: recorded with the invoice's place on the agenda
    // and the answer to remember, in one write.
    let mut after = stored.clone();
    let mut write = LedgerWrite::new(inv.id.clone(), vec![]);
    if !stored.stages.iter().any(|s| s.stage == Stage::Sent) {
        let record = StageRecord {
            invoice_id: inv.id.clone(),
            client_id: inv.client_id.clone(),
            stage: Stage::Sent,
            status: StageStatus::Done,
            attempts: 1,
            claimed_at: now,
            lease_until: now,
            done_at: Some(now),
            message_id: Some(message_id),
            amount: None,
            charge_on: None,
            error: None,
        };
        after.stages.push(record.clone());
        after.next_action_at = super::ledgers::agenda_of(&after, now)?;
        write = write.with_stage(record).with_agenda(after.next_action_at);
    }
    let record = super::audit::record(by, Action::InvoiceSent, now).map(|r| r.on_invoice(inv));
    write = write
        .with_idempotency(remember(&after, &pay_url))
        .with_audit(record);
    if write.stage.is_some() || write.idempotency.is_some() || write.audit.is_some() {
        app.store.append_entries(&write).await?;
    }
    Ok((after, pay_url))
}

/// The invoice `id` with its ledger and stages.
pub async fn invoice(app: &App, id: &str) -> Result<StoredInvoice, Error> {
    find_invoice(app, id).await
}

/// Cancels what is still owed on the invoice `id`: a `void` entry; the chase stops, and
/// the client is told (with `message`, when the business wrote one for them; the `reason`
/// is an internal note and is never sent). What they had paid on it becomes their credit.
/// Paid or already void invoices cannot be voided (`NotVoidable`). Returns the invoice as
/// the write left it.
#[instrument(skip_all)]
pub async fn void(
    app: &App,
    by: &Actor,
    id: &str,
    reason: Option<&str>,
    message: Option<&str>,
) -> Result<StoredInvoice, Error> {
    let mut errors = FieldErrors::new();
    let reason = reason.and_then(|r| text(&mut errors, "reason", r, 500, Shape::Lines));
    let message = message.and_then(|m| text(&mut errors, "message", m, 1000, Shape::Lines));
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    for _ in 0..MAX_NUMBER_ATTEMPTS {
        let stored = find_invoice(app, id).await?;
        let b = ledger::balance(&stored.invoice.total, &stored.entries)?;
        if !matches!(b.status, InvoiceStatus::Open | InvoiceStatus::PartiallyPaid) {
            return Err(Error::conflict(Conflict::NotVoidable(b.status)));
        }
        let now = app.now();
        let entry = LedgerEntry {
            seq: stored.next_seq(),
            kind: EntryKind::Void {
                reason: reason.clone(),
            },
            amount: b.amount_due,
            at: now,
            key: Some("void".into()),
            by: Some(by.clone()),
        };
        let inv = &stored.invoice;
        let record = super::audit::record(by, Action::InvoiceVoided, now)
            .map(|r| r.on_invoice(inv).entry(entry.seq));
        let mut after = stored.clone();
        after.entries.push(entry.clone());
        after.next_action_at = None;
        let write = LedgerWrite::new(inv.id.clone(), vec![entry])
            .with_audit(record)
            .leaving(&after)?;
        match app.store.append_entries(&write).await {
            Ok(()) => {
                tracing::info!(invoice_id = %stored.invoice.id, "invoice voided");
                // A client never sent the invoice is not told it was cancelled.
                if cobro_domain::dunning::sent_at(&after.invoice, &after.stages).is_some() {
                    let change = super::mail::Change::Voided {
                        message: message.as_deref(),
                    };
                    super::mail::send_update(app, &after, "void", change).await;
                }
                return Ok(after);
            }
            Err(StoreError::SequenceTaken) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::internal("too many concurrent ledger writes"))
}
