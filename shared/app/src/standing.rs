//! A client's standing over the API, and what it changes when invoicing them.
//!
//! - `GET /v1/clients/{id}/standing`: score, tier, the factors and points that made it,
//!   what is outstanding per currency, and the credit still available under the limit.
//! - Creating an invoice: the tier's policy overrides apply (shorter terms, earlier
//!   reminders), a restricted tier is refused (409 `restricted-tier`), and an invoice that
//!   would take the client over their credit limit is refused (409 `over-credit-limit`);
//!   an invoice in another currency than the limit's is a 422.
//!
//! Derived from the client's ledgers whenever it is read, so it reflects every payment and
//! every sweep at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cobro_domain::standing::{self, InvoiceHistory, Standing, Tier};
use cobro_domain::{Client, ClientId, FieldErrors, Money, TermsInput};
use cobro_store::{PageRequest, StoredInvoice};

use crate::{App, Problem};

/// A client's history, standing and what they owe now.
pub struct Picture {
    pub standing: Standing,
    pub outstanding: Vec<Money>,
}

/// Every invoice of the client with its ledger, newest first (read concurrently per page).
pub async fn client_ledgers(app: &App, client: &ClientId) -> Result<Vec<StoredInvoice>, Problem> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(cobro_store::MAX_PAGE);
    loop {
        let p = app.store.client_invoices(client, &page).await?;
        let stored =
            futures::future::try_join_all(p.items.iter().map(|i| app.store.invoice(&i.id))).await?;
        all.extend(stored.into_iter().flatten());
        match p.next {
            Some(next) => page.after = Some(next),
            None => return Ok(all),
        }
    }
}

/// The client's standing now, from their invoices' ledgers ([`client_ledgers`]).
pub fn picture(app: &App, client: &Client, ledgers: &[StoredInvoice]) -> Result<Picture, Problem> {
    let now = app.now();
    let mut histories: Vec<InvoiceHistory> = Vec::new();
    // Deposits are not credit: how they were paid is not part of the history.
    for s in ledgers.iter().filter(|s| s.invoice.purpose.is_order()) {
        if let Some(h) = standing::invoice_history(&s.invoice, &s.entries, now)
            .map_err(|e| Problem::internal(&e))?
        {
            histories.push(h);
        }
    }
    Ok(Picture {
        standing: standing::standing(&histories, client.credit_limit.as_ref()),
        outstanding: standing::outstanding(&histories).map_err(|e| Problem::internal(&e))?,
    })
}

/// Why the points were lost, in a sentence each.
fn reasons(s: &Standing) -> Vec<String> {
    let f = &s.factors;
    let p = &f.points;
    let mut r = Vec::new();
    if !s.history {
        r.push("no payment history yet".to_string());
    }
    if p.not_on_time > 0 {
        r.push(format!(
            "{} of {} settled invoices paid after their due date (−{})",
            f.settled - f.paid_on_time,
            f.settled,
            p.not_on_time
        ));
    }
    if p.lateness > 0 {
        let days = f.avg_days_late.unwrap_or_default();
        r.push(format!(
            "{days} days late on average, weighted by amount (−{})",
            p.lateness
        ));
    }
    if p.broken > 0 {
        r.push(format!(
            "{} broken promise(s) and {} broken plan(s) (−{})",
            f.broken_promises, f.broken_plans, p.broken
        ));
    }
    if p.disputes > 0 {
        r.push(format!(
            "{} payment dispute(s) (−{})",
            f.disputes, p.disputes
        ));
    }
    if p.overdue > 0 {
        r.push(format!(
            "{} invoice(s) overdue now (−{})",
            f.overdue_invoices, p.overdue
        ));
    }
    r
}

/// What is left of the credit limit: the limit less what is outstanding in its currency.
fn available(client: &Client, outstanding: &[Money]) -> Option<Money> {
    let limit = client.credit_limit?;
    let owed = outstanding
        .iter()
        .find(|m| m.currency() == limit.currency())
        .copied()
        .unwrap_or(Money::zero(limit.currency()));
    let left = limit.checked_sub(&owed).ok()?;
    Some(if left.is_negative() {
        Money::zero(limit.currency())
    } else {
        left
    })
}

/// `GET /v1/clients/{id}/standing`.
pub async fn get(State(app): State<App>, Path(id): Path<String>) -> Result<Response, Problem> {
    let client = match ClientId::parse(&id) {
        Some(id) => app.store.client(&id).await?,
        None => None,
    }
    .ok_or_else(|| Problem::not_found("client"))?;
    let ledgers = client_ledgers(&app, &client.id).await?;
    let p = picture(&app, &client, &ledgers)?;
    Ok(Json(serde_json::json!({
        "object": "standing",
        "client_id": client.id,
        "score": p.standing.score,
        "tier": p.standing.tier,
        "history": p.standing.history,
        "factors": p.standing.factors,
        "reasons": reasons(&p.standing),
        "outstanding": p.outstanding,
        "credit_limit": client.credit_limit,
        "available_credit": available(&client, &p.outstanding),
        "computed_at": app.now(),
    }))
    .into_response())
}

/// The tier's policy overrides for a client (applied after the client's own).
pub fn tier_terms(app: &App, tier: Tier) -> Option<&TermsInput> {
    app.config.credit_policy.tier_terms.get(&tier)
}

/// Whether the client may be invoiced `total` now: not in a restricted tier, not over the
/// credit limit, and in the limit's currency.
pub fn check(app: &App, client: &Client, p: &Picture, total: &Money) -> Result<(), Problem> {
    let tier = p.standing.tier;
    let policy = &app.config.credit_policy;
    // Under `prepay` the tier is asked for the whole invoice first (see `deposits`).
    if policy.restrict_tiers.contains(&tier)
        && policy.restricted == cobro_domain::standing::Restricted::Refuse
    {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "restricted-tier",
            "Client restricted",
            format!(
                "The client is in tier {tier:?} (score {}), which the credit policy does not invoice on credit: {}.",
                p.standing.score,
                reasons(&p.standing).join("; ")
            ),
        ));
    }
    let Some(limit) = client.credit_limit else {
        return Ok(());
    };
    if limit.currency() != total.currency() {
        return Err(Problem::validation(FieldErrors::single(
            "currency",
            format!(
                "the client's credit limit is in {}; invoice them in {} or change the limit",
                limit.currency().code(),
                limit.currency().code()
            ),
        )));
    }
    let left = available(client, &p.outstanding).unwrap_or(limit);
    if total.amount() > left.amount() {
        let owed = limit.checked_sub(&left).unwrap_or(limit);
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "over-credit-limit",
            "Over the credit limit",
            format!(
                "The client owes {} {} and this invoice is {}: together over their credit limit of {} ({} available).",
                owed.amount(),
                limit.currency().code(),
                total.amount(),
                limit.amount(),
                left.amount()
            ),
        ));
    }
    Ok(())
}
