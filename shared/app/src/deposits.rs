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
//!   it (409 `over-budget`) until the business raises it (`PUT /v1/clients/{id}/budget`).
//! - The deposit check (`cobro deposit-check`, the deposit-check function) works the
//!   deposits' own agenda with the reminder sweep's engine; before each step on an unpaid
//!   deposit it looks for a payment that reached the unmatched queue before the deposit
//!   existed, and applies it.

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Days, Utc};
use cobro_domain::deposit::{self, ClientStatus, DepositRule, DepositTerms, Hold};
use cobro_domain::invoice::NewLine;
use cobro_domain::invoice::Purpose;
use cobro_domain::standing::Restricted;
use cobro_domain::{
    AmountInput, Client, FieldErrors, Invoice, Locale, Money, NewInvoice, PaymentReference, Terms,
    ValidInvoice, today_in,
};
use cobro_store::{IdempotencyRecord, PageRequest, StoreError, StoredInvoice};
use rust_decimal::Decimal;

use crate::standing::Picture;
use crate::{App, Problem, json};

/// A deposit this order needs before it can be issued on credit.
#[derive(Debug, Clone)]
pub struct Need {
    pub terms: DepositTerms,
    /// What is still to be paid (the deposit less what the client already holds).
    pub amount: Money,
    /// `new-client`, `tier` or `prepay`.
    pub reason: &'static str,
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
pub fn status(ledgers: &[StoredInvoice]) -> Result<ClientStatus, Problem> {
    deposit::client_status(
        deposits(ledgers).map(|s| (&s.invoice, s.entries.as_slice(), s.stages.as_slice())),
    )
    .map_err(|e| Problem::internal(&e))
}

/// The deposit invoice still waiting to be paid, if any (newest first).
fn open_deposit(ledgers: &[StoredInvoice]) -> Result<Option<&StoredInvoice>, Problem> {
    for s in deposits(ledgers) {
        let b = cobro_domain::ledger::balance(&s.invoice.total, &s.entries)
            .map_err(|e| Problem::internal(&e))?;
        if deposit::is_open(b.status) {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

/// The open deposit as shown on its client (no pay link: those are shown once).
pub fn open_deposit_json(ledgers: &[StoredInvoice]) -> Result<Option<serde_json::Value>, Problem> {
    Ok(open_deposit(ledgers)?.map(|s| deposit_json(&s.invoice, None)))
}

/// What cleared deposits hold for the client in `currency`.
fn held(ledgers: &[StoredInvoice], currency: cobro_domain::Currency) -> Result<Money, Problem> {
    let mut sum = Money::zero(currency);
    for s in deposits(ledgers).filter(|s| s.invoice.currency == currency) {
        let h = deposit::held(&s.invoice, &s.entries).map_err(|e| Problem::internal(&e))?;
        sum = sum.checked_add(&h).map_err(|e| Problem::internal(&e))?;
    }
    Ok(sum)
}

/// Whether anything the client was invoiced has been paid: a client without is new.
fn is_new(ledgers: &[StoredInvoice]) -> Result<bool, Problem> {
    for s in ledgers {
        let b = cobro_domain::ledger::balance(&s.invoice.total, &s.entries)
            .map_err(|e| Problem::internal(&e))?;
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
) -> Result<Option<Need>, Problem> {
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
            "prepay",
        ),
        None => return Ok(None),
        Some(t) if is_new(ledgers)? => (t, "new-client"),
        Some(t) if app.config.deposit_policy.tiers.contains(&tier) => (t, "tier"),
        Some(_) => return Ok(None),
    };
    let asked = terms.required(total).map_err(|_| {
        Problem::validation(FieldErrors::single(
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
    let amount = asked
        .checked_sub(&holding)
        .map_err(|e| Problem::internal(&e))?;
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
) -> Result<ValidInvoice, Problem> {
    let today = today_in(client.timezone, now);
    let base = Terms {
        late_fee: None,
        early_payment_discount: None,
        escalate_after_days: terms.overdue_after_days,
        // Not used by a deposit's own chase; kept before its "escalation" to be valid.
        reminder_offsets: vec![0],
        ..app.config.default_terms.clone()
    };
    let description = match client.locale {
        Locale::Es => "Depósito previo a facturar a crédito",
        Locale::En => "Deposit before invoicing on credit",
    };
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
        due_date: today + Days::new(u64::from(terms.due_days)),
        terms: None,
        send: true,
    }
    .validate(today, &base)
    .map_err(|e| Problem::internal(&format!("deposit invoice: {:?}", e.errors)))?;
    valid.purpose = Purpose::Deposit;
    Ok(valid)
}

/// How a deposit invoice is shown beside its client or in a refusal; `asked`: the pay
/// link just made for it and why it is asked for (links are shown once).
pub fn deposit_json(invoice: &Invoice, asked: Option<(&str, &str)>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "invoice_id": invoice.id,
        "number": invoice.number,
        "amount": invoice.total.amount().to_string(),
        "currency": invoice.currency,
        "due_date": invoice.due_date,
        "payment_reference": invoice.payment_reference.as_str(),
    });
    if let (Some((pay_url, reason)), Some(o)) = (asked, v.as_object_mut()) {
        o.insert("pay_url".into(), pay_url.into());
        o.insert("reason".into(), reason.into());
    }
    v
}

fn deposit_required(invoice: &Invoice, pay_url: &str, need: &Need) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "deposit-required",
        "Deposit required",
        format!(
            "A deposit of {} {} ({}) must be paid before this client is invoiced on credit. Invoice {} asks for it, due {}; the client was e-mailed its pay link. Create this invoice again once it is paid: the deposit is then brought onto it.",
            need.amount.amount(),
            need.amount.currency().code(),
            need.reason,
            invoice.number,
            invoice.due_date
        ),
    )
    .with("deposit", deposit_json(invoice, Some((pay_url, need.reason))))
}

/// The 409 naming a deposit invoice that already exists, with a fresh pay link.
async fn point_to(app: &App, open: &StoredInvoice, need: &Need) -> Result<Problem, Problem> {
    let inv = &open.invoice;
    let (url, token) = crate::portal::new_link(app, &inv.client_id, &inv.id, app.now());
    app.store.put_pay_token(&token).await?;
    Ok(deposit_required(inv, &url, need))
}

/// Asks for `need`: points to the deposit invoice already open, or issues one and e-mails
/// it. The answer is the 409 to return.
pub async fn ask(
    app: &App,
    client: &Client,
    ledgers: &[StoredInvoice],
    need: &Need,
) -> Result<Problem, Problem> {
    if let Some(open) = open_deposit(ledgers)? {
        return point_to(app, open, need).await;
    }
    let now = app.now();
    // One deposit at a time: the n-th deposit's guard record makes a concurrent second
    // request lose, re-read and point to the first.
    let n = deposits(ledgers).count();
    let guard = IdempotencyRecord {
        key: format!("deposit:{}:{n}", client.id),
        fingerprint: String::new(),
        status: StatusCode::CONFLICT.as_u16(),
        body: String::new(),
        created_at: now,
        expires_at: now + chrono::Duration::hours(crate::idempotency::TTL_HOURS),
    };
    let valid = deposit_invoice(app, client, &need.amount, &need.terms, now)?;
    let issue = crate::invoices_api::Issue {
        client,
        valid,
        ledgers: Some(ledgers.to_vec()),
        new_client: false,
        idempotency: crate::invoices_api::Recorded::Guard(guard),
        answer: &|_, _, view| view.clone(),
        closes_budget: false,
    };
    let Some(issued) = crate::invoices_api::issue(app, issue).await? else {
        let ledgers = crate::standing::client_ledgers(app, &client.id).await?;
        let open = open_deposit(&ledgers)?
            .ok_or_else(|| Problem::internal(&"the concurrent deposit is gone"))?;
        return point_to(app, open, need).await;
    };
    tracing::info!(client_id = %client.id, invoice_id = %issued.invoice.id, reason = need.reason, "deposit asked for");
    let inv = &issued.invoice;
    crate::invoices_api::send_invoice(app, client, inv, &issued.entries, &issued.pay_url).await;
    Ok(deposit_required(inv, &issued.pay_url, need))
}

/// What the client was invoiced for orders, in the budget's currency (void ones aside).
fn invoiced(ledgers: &[StoredInvoice], budget: &Money) -> Result<Money, Problem> {
    let mut sum = Money::zero(budget.currency());
    for s in ledgers
        .iter()
        .filter(|s| s.invoice.purpose == Purpose::Order && s.invoice.currency == budget.currency())
    {
        let b = cobro_domain::ledger::balance(&s.invoice.total, &s.entries)
            .map_err(|e| Problem::internal(&e))?;
        if b.status != cobro_domain::InvoiceStatus::Void {
            sum = sum
                .checked_add(&s.invoice.total)
                .map_err(|e| Problem::internal(&e))?;
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
) -> Result<bool, Problem> {
    let Some(budget) = client.budget else {
        return Ok(false);
    };
    if budget.currency() != total.currency() {
        return Err(Problem::validation(FieldErrors::single(
            "currency",
            format!(
                "the client's budget is in {}; invoice them in it",
                budget.currency().code()
            ),
        )));
    }
    let so_far = invoiced(ledgers, &budget)?;
    let after = so_far
        .checked_add(total)
        .map_err(|e| Problem::internal(&e))?;
    if after.amount() > budget.amount() {
        let left = budget
            .checked_sub(&so_far)
            .map_err(|e| Problem::internal(&e))?;
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "over-budget",
            "Over the budget",
            format!(
                "The client was invoiced {} {} of a budget of {}; this invoice ({}) would exceed it. Raise the budget first (PUT /v1/clients/{}/budget).",
                so_far.amount(),
                budget.currency().code(),
                budget.amount(),
                total.amount(),
                client.id
            ),
        )
        .with(
            "budget",
            serde_json::json!({"amount": budget.amount().to_string(), "currency": budget.currency(), "invoiced": so_far.amount().to_string(), "left": left.amount().to_string()}),
        ));
    }
    Ok(after.amount() == budget.amount())
}

/// Whether a deposit's money goes onto an order now: as credit always, as a retainer only
/// onto the order that reaches the budget.
pub fn deposits_apply(app: &App, client: &Client, closes_budget: bool) -> bool {
    match client.deposit.or(app.config.deposit_policy.terms) {
        Some(t) if t.hold == Hold::Retainer => closes_budget,
        _ => true,
    }
}

/// `PUT /v1/clients/{id}/budget` `{amount, currency}`: sets or raises the budget. Not
/// below what was already invoiced (409), and in the client's currency (422).
pub async fn set_budget(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = json::body(body)?;
    let input: AmountInput = json::parse(&headers, &body)?;
    let mut errors = FieldErrors::new();
    let budget = input.validate(&mut errors, "budget");
    let Some(budget) = budget.filter(|_| errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    if !budget.is_positive() {
        return Err(Problem::validation(FieldErrors::single(
            "budget.amount",
            "must be more than zero",
        )));
    }
    let mut client = crate::invoices_api::find_client(&app, &id).await?;
    if let Some(c) = client.currency().filter(|c| *c != budget.currency()) {
        return Err(Problem::validation(FieldErrors::single(
            "budget.currency",
            format!("must be {c}, the currency of this client's other amounts"),
        )));
    }
    let ledgers = crate::standing::client_ledgers(&app, &client.id).await?;
    let so_far = invoiced(&ledgers, &budget)?;
    if so_far.amount() > budget.amount() {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "budget-below-invoiced",
            "Below what was invoiced",
            format!(
                "The client was already invoiced {} {}; the budget cannot be less.",
                so_far.amount(),
                budget.currency().code()
            ),
        ));
    }
    client.budget = Some(budget);
    if !app.store.update_client(&client).await? {
        return Err(Problem::not_found("client"));
    }
    tracing::info!(client_id = %client.id, budget = %budget, "budget set");
    let view = crate::views::ClientView::new(&client);
    Ok(Json(serde_json::to_value(&view).map_err(|e| Problem::internal(&e))?).into_response())
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
                && u.reason == "unknown_invoice"
                && u.target.as_deref().is_some_and(names_it)
        }));
        match p.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    let mut applied = 0;
    for mut u in found {
        u.resolved = Some(cobro_store::Resolution {
            invoice_id: inv.id.clone(),
            at: app.now(),
        });
        match crate::payments::apply_fact(app, &inv.id, &u.fact, None, &|_| None, Some(&u)).await {
            Ok(Some(crate::payments::Applied::Entry(..))) => {
                tracing::info!(unmatched_id = %u.id, invoice_id = %inv.id, "early payment matched to its deposit");
                applied += 1;
            }
            Ok(_) | Err(StoreError::AlreadyResolved) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(applied)
}
