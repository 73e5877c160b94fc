//! Deposits over the API and in the deposit check.
//!
//! - Creating a client whose deposit is a fixed amount issues its deposit invoice at once,
//!   in the same write as the client (`pending_deposit` until it is paid).
//! - Creating an invoice for a client who must pay a deposit first (a new client, a tier
//!   the deposit policy names, or a restricted tier under `restricted: prepay`) and does not
//!   hold enough is refused with 409 `deposit-required`, naming the deposit invoice: the
//!   one already open, or one issued then for the deposit the order needs (a percentage of
//!   it, or the fixed amount). Paid, its money is held: credit brought onto the next
//!   invoice, or a retainer brought onto the invoice that reaches the client's budget.
//! - A client with a budget gets no invoice that would take what they were invoiced over
//!   it (409 `over-budget`) until the business raises it ([`set_budget`]).
//! - The deposit check (`cobro deposit-check`, the deposit-check function) works the
//!   deposits' own agenda with the reminder sweep's engine; before each step on an unpaid
//!   deposit it looks for a payment that reached the unmatched queue before the deposit
//!   existed, and applies it.

use chrono::{DateTime, Utc};
use cobro_domain::calendar::later;
use cobro_domain::deposit::{self, ClientStatus, DepositRule, DepositTerms, Hold};
use cobro_domain::invoice::{NewLine, Purpose};
use cobro_domain::standing::Restricted;
use cobro_domain::{
    AmountInput, Client, Currency, FieldErrors, InvoiceStatus, Money, MoneyError, NewInvoice,
    PaymentReference, Terms, UnmatchedReason, ValidInvoice, ledger, today_in,
};
use cobro_store::{IdempotencyRecord, PageRequest, StoreError, StoredInvoice};
use rust_decimal::Decimal;

pub use super::error::{DepositAsked, DepositReason};
use super::issue::{Issue, Recorded};
use super::standing::Picture;
use super::{Conflict, Error, nothing};
use crate::App;

/// How long the guard against a second, concurrent deposit is kept.
const GUARD_HOURS: i64 = 24;

/// A deposit this order needs before it can be issued on credit.
#[derive(Debug, Clone)]
pub struct Need {
    pub terms: DepositTerms,
    /// What is still to be paid (the deposit less what the client already holds).
    pub amount: Money,
    pub reason: DepositReason,
}

/// The deposit policy for this client: theirs, else the business's; `None` when there is
/// none or it is waived.
pub fn terms_for(app: &App, client: &Client) -> Option<DepositTerms> {
    client
        .deposit
        .or(app.config.deposit_policy.terms)
        .filter(|t| !t.is_waived())
}

fn deposits(ledgers: &[StoredInvoice]) -> impl Iterator<Item = &StoredInvoice> {
    ledgers
        .iter()
        .filter(|s| s.invoice.purpose == Purpose::Deposit)
}

/// The client's status from their deposit invoices.
pub fn status(ledgers: &[StoredInvoice]) -> Result<ClientStatus, MoneyError> {
    deposit::client_status(
        deposits(ledgers).map(|s| (&s.invoice, s.entries.as_slice(), s.stages.as_slice())),
    )
}

/// The deposit invoice still waiting to be paid, if any (newest first).
pub fn open_deposit(ledgers: &[StoredInvoice]) -> Result<Option<&StoredInvoice>, MoneyError> {
    for s in deposits(ledgers) {
        let b = ledger::balance(&s.invoice.total, &s.entries)?;
        if deposit::is_open(b.status) {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

/// What cleared deposits hold for the client in `currency`.
fn held(ledgers: &[StoredInvoice], currency: Currency) -> Result<Money, MoneyError> {
    let mut sum = Money::zero(currency);
    for s in deposits(ledgers).filter(|s| s.invoice.currency == currency) {
        sum = sum.checked_add(&deposit::held(&s.invoice, &s.entries)?)?;
    }
    Ok(sum)
}

/// Whether anything the client was invoiced has been paid: a client without is new.
fn is_new(ledgers: &[StoredInvoice]) -> Result<bool, MoneyError> {
    for s in ledgers {
        let b = ledger::balance(&s.invoice.total, &s.entries)?;
        if deposit::is_cleared(b.status) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The deposit an order of `total` needs before it is issued; `None`: it may be issued.
pub fn required(
    app: &App,
    client: &Client,
    picture: &Picture,
    ledgers: &[StoredInvoice],
    total: &Money,
) -> Result<Option<Need>, Error> {
    let tier = picture.standing.tier;
    let credit = &app.config.credit_policy;
    let prepay = credit.restricted == Restricted::Prepay && credit.restrict_tiers.contains(&tier);
    let (terms, reason) = match terms_for(app, client) {
        _ if prepay => (
            DepositTerms {
                rule: DepositRule::Percent(Decimal::ONE_HUNDRED),
                due_days: deposit::DEFAULT_DUE_DAYS,
                overdue_after_days: deposit::DEFAULT_OVERDUE_AFTER_DAYS,
                hold: Hold::Credit,
            },
            DepositReason::Prepay,
        ),
        None => return Ok(None),
        Some(t) if is_new(ledgers)? => (t, DepositReason::NewClient),
        Some(t) if app.config.deposit_policy.tiers.contains(&tier) => (t, DepositReason::Tier),
        Some(_) => return Ok(None),
    };
    let asked = terms.required(total).map_err(|_| {
        Error::Invalid(FieldErrors::single(
            "currency",
            format!(
                "this client's deposit is in {}; invoice them in it",
                terms.currency().map_or("", |c| c.code())
            ),
        ))
    })?;
    let holding = held(ledgers, total.currency())?;
    if !asked.is_positive() || holding.amount() >= asked.amount() {
        return Ok(None);
    }
    let amount = asked.checked_sub(&holding)?;
    Ok(Some(Need {
        terms,
        amount,
        reason,
    }))
}

/// The deposit invoice for `amount`: one line, due in the policy's days, with no late fee
/// or discount; its "escalation" is the day the client becomes `deposit_overdue`.
pub fn deposit_invoice(
    app: &App,
    client: &Client,
    amount: &Money,
    terms: &DepositTerms,
    now: DateTime<Utc>,
) -> Result<ValidInvoice, Error> {
    let today = today_in(client.timezone, now);
    let base = Terms {
        late_fee: None,
        early_payment_discount: None,
        escalate_after_days: terms.overdue_after_days,
        // Not used by a deposit's own chase; kept before its "escalation" to be valid.
        reminder_offsets: vec![0],
        ..app.config.default_terms.clone()
    };
    let description = cobro_notify::words::deposit_line(client.locale);
    let mut valid = NewInvoice {
        client_id: client.id.to_string(),
        currency: amount.currency().code().to_string(),
        lines: vec![NewLine {
            description: description.into(),
            quantity: Decimal::ONE,
            unit_amount: amount.amount(),
        }],
        tax_rate: None,
        issue_date: None,
        due_date: None,
        days_until_due: Some(i64::from(terms.due_days)),
        terms: None,
        send: true,
    }
    .validate(today, &base)
    .map_err(|e| Error::internal(format!("deposit invoice: {:?}", e.errors)))?;
    valid.purpose = Purpose::Deposit;
    Ok(valid)
}

/// The refusal naming a deposit invoice that already exists, with a fresh pay link.
async fn point_to(app: &App, open: &StoredInvoice, need: &Need) -> Error {
    let inv = &open.invoice;
    match super::links::issue_link(app, &inv.client_id, &inv.id, app.now()).await {
        Ok((pay_url, _)) => required_error(inv.clone(), pay_url, need),
        Err(e) => e,
    }
}

fn required_error(invoice: cobro_domain::Invoice, pay_url: String, need: &Need) -> Error {
    Error::conflict(Conflict::DepositRequired(Box::new(DepositAsked {
        invoice,
        pay_url,
        amount: need.amount,
        reason: need.reason,
    })))
}

/// Asks for `need`: points to the deposit invoice already open, or issues one and e-mails
/// it. The answer is the refusal to return (`DepositRequired`), or why asking failed.
pub async fn ask(app: &App, client: &Client, ledgers: &[StoredInvoice], need: &Need) -> Error {
    match asked(app, client, ledgers, need).await {
        Ok(refusal) | Err(refusal) => refusal,
    }
}

async fn asked(
    app: &App,
    client: &Client,
    ledgers: &[StoredInvoice],
    need: &Need,
) -> Result<Error, Error> {
    if let Some(open) = open_deposit(ledgers)? {
        return Ok(point_to(app, open, need).await);
    }
    let now = app.now();
    // One deposit at a time: the n-th deposit's guard record makes a concurrent second
    // request lose, re-read and point to the first.
    let n = deposits(ledgers).count();
    let guard = IdempotencyRecord {
        key: format!("deposit:{}:{n}", client.id),
        fingerprint: String::new(),
        status: 409,
        body: String::new(),
        created_at: now,
        expires_at: later(now, chrono::Duration::hours(GUARD_HOURS)),
    };
    let valid = deposit_invoice(app, client, &need.amount, &need.terms, now)?;
    let issue = Issue {
        client,
        valid,
        ledgers: Some(ledgers.to_vec()),
        new_client: false,
        recorded: Recorded::Guard(guard),
        closes_budget: false,
        // Asked for by the rules, not by whoever asked for the refused invoice.
        by: &cobro_domain::Actor::Cobro,
    };
    let Some(issued) = super::issue::issue(app, issue).await? else {
        let ledgers = super::ledgers::client_ledgers(app, &client.id).await?;
        let open = open_deposit(&ledgers)?
            .ok_or_else(|| Error::internal("the concurrent deposit is gone"))?;
        return Ok(point_to(app, open, need).await);
    };
    tracing::info!(client_id = %client.id, invoice_id = %issued.invoice.id, reason = need.reason.as_str(), "deposit asked for");
    let inv = &issued.invoice;
    super::mail::send_invoice(app, client, inv, &issued.entries, &issued.pay_url).await;
    Ok(required_error(issued.invoice, issued.pay_url, need))
}

/// What the client was invoiced for orders, in the budget's currency (void ones aside).
fn invoiced(ledgers: &[StoredInvoice], budget: &Money) -> Result<Money, MoneyError> {
    let mut sum = Money::zero(budget.currency());
    for s in ledgers
        .iter()
        .filter(|s| s.invoice.purpose == Purpose::Order && s.invoice.currency == budget.currency())
    {
        let b = ledger::balance(&s.invoice.total, &s.entries)?;
        if b.status != InvoiceStatus::Void {
            sum = sum.checked_add(&s.invoice.total)?;
        }
    }
    Ok(sum)
}

/// Refuses an order that would take the client over their budget. `Ok(true)`: this order
/// reaches the budget exactly (a retainer is brought onto it).
pub fn check_budget(
    client: &Client,
    ledgers: &[StoredInvoice],
    total: &Money,
) -> Result<bool, Error> {
    let Some(budget) = client.budget else {
        return Ok(false);
    };
    if budget.currency() != total.currency() {
        return Err(Error::Invalid(FieldErrors::single(
            "currency",
            format!(
                "the client's budget is in {}; invoice them in it",
                budget.currency().code()
            ),
        )));
    }
    let so_far = invoiced(ledgers, &budget)?;
    let after = so_far.checked_add(total)?;
    if after.amount() > budget.amount() {
        let left = budget.checked_sub(&so_far)?;
        return Err(Error::conflict(Conflict::OverBudget {
            client: client.id.clone(),
            budget,
            invoiced: so_far,
            left,
            total: *total,
        }));
    }
    Ok(after.amount() == budget.amount())
}

/// Sets or raises the budget of the client `id`: not below what was already invoiced
/// (`BudgetBelowInvoiced`), and in the client's currency. Returns the client as written.
pub async fn set_budget(
    app: &App,
    by: &cobro_domain::Actor,
    id: &str,
    input: &AmountInput,
) -> Result<Client, Error> {
    let mut errors = FieldErrors::new();
    let budget = input.validate(&mut errors, "budget");
    let Some(budget) = budget.filter(|_| errors.is_empty()) else {
        return Err(Error::Invalid(errors));
    };
    if !budget.is_positive() {
        return Err(Error::Invalid(FieldErrors::single(
            "budget.amount",
            "must be more than zero",
        )));
    }
    let mut client = super::ledgers::find_client(app, id).await?;
    if let Some(c) = client.currency().filter(|c| *c != budget.currency()) {
        return Err(Error::Invalid(FieldErrors::single(
            "budget.currency",
            format!("must be {c}, the currency of this client's other amounts"),
        )));
    }
    let ledgers = super::ledgers::client_ledgers(app, &client.id).await?;
    let so_far = invoiced(&ledgers, &budget)?;
    if so_far.amount() > budget.amount() {
        return Err(Error::conflict(Conflict::BudgetBelowInvoiced {
            invoiced: so_far,
        }));
    }
    client.budget = Some(budget);
    if !app.store.update_client(&client).await? {
        return Err(Error::NotFound(super::Thing::Client));
    }
    tracing::info!(client_id = %client.id, budget = %budget, "budget set");
    let record = super::audit::record(by, cobro_domain::Action::BudgetSet, app.now())
        .map(|r| r.on_client(&client).amount(budget));
    super::audit::keep(app, record).await;
    Ok(client)
}

/// A tax id compared as banks write it: letters and digits only, upper case
/// ("76.543.210-k" is "76543210K").
fn tax_key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Payments that reached the unmatched queue before this deposit existed and name it (by
/// its id or its payment reference) or its client (by their tax id, as bank transfers in
/// Chile carry the payer's RUT) are applied to it now. How many were.
pub async fn rematch(app: &App, stored: &StoredInvoice) -> Result<usize, StoreError> {
    let inv = &stored.invoice;
    let tax_id = app
        .store
        .client(&inv.client_id)
        .await?
        .and_then(|c| c.tax_id)
        .map(|t| tax_key(&t))
        .filter(|t| t.len() >= 3);
    let names_it = |target: &str| {
        cobro_domain::InvoiceId::parse(target.trim()).is_some_and(|id| id == inv.id)
            || PaymentReference::parse(target).is_some_and(|r| r == inv.payment_reference)
            || tax_id.as_deref().is_some_and(|t| tax_key(target) == t)
    };
    let mut found = Vec::new();
    let mut page = PageRequest::first(cobro_store::MAX_PAGE);
    loop {
        let p = app.store.list_unmatched(&page).await?;
        found.extend(p.items.into_iter().filter(|u| {
            u.resolved.is_none()
                && u.reason == UnmatchedReason::UnknownInvoice
                && u.target.as_deref().is_some_and(names_it)
        }));
        match p.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    let mut applied: usize = 0;
    for mut u in found {
        u.resolved = Some(cobro_store::Resolution {
            invoice_id: inv.id.clone(),
            at: app.now(),
        });
        let by = cobro_domain::Actor::Provider {
            source: u.provider.clone(),
            event_id: Some(u.event_id.clone()),
        };
        match super::payments::apply_fact(app, &inv.id, &u.fact, None, &nothing, Some(&u), &by)
            .await
        {
            Ok(Some(super::payments::Applied::Entry(..))) => {
                tracing::info!(unmatched_id = %u.id, invoice_id = %inv.id, "early payment matched to its deposit");
                applied = applied.saturating_add(1);
            }
            Ok(_) | Err(StoreError::AlreadyResolved) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(applied)
}
