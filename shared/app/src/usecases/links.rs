//! Pay links: the URL in every message to a client. The token in it is the only key to the
//! pay page: 192 random bits, stored as SHA-256, scoped to one client and one invoice,
//! expiring after `COBRO_PAY_TOKEN_DAYS`, revocable.

use chrono::{DateTime, Utc};
use cobro_domain::arrangement::{self, Arrangements};
use cobro_domain::ledger::{self, Balance};
use cobro_domain::{Action, Actor, Client, ClientId, InvoiceId, Money, secret};
use cobro_store::{PayToken, StoredInvoice};
use tracing::instrument;

use super::{Error, Thing};
use crate::App;

/// A new pay link for an invoice: its URL (shown once) and the token record to store
/// (only the digest).
pub fn new_link(
    app: &App,
    client_id: &ClientId,
    invoice_id: &InvoiceId,
    now: DateTime<Utc>,
) -> (String, PayToken) {
    let token = secret::new_pay_token();
    let url = format!("{}/pay/{}", app.config.public_url, token.expose());
    let record = PayToken {
        digest: token.digest(),
        client_id: client_id.clone(),
        invoice_id: invoice_id.clone(),
        created_at: now,
        expires_at: cobro_domain::calendar::later(
            now,
            chrono::Duration::days(i64::from(app.config.pay_token_days)),
        ),
        revoked_at: None,
    };
    (url, record)
}

/// A new link for an invoice, made at `now` and stored: its URL and the stored token.
pub async fn issue_link(
    app: &App,
    client_id: &ClientId,
    invoice_id: &InvoiceId,
    now: DateTime<Utc>,
) -> Result<(String, PayToken), Error> {
    let (url, token) = new_link(app, client_id, invoice_id, now);
    app.store.put_pay_token(&token).await?;
    Ok((url, token))
}

/// A fresh pay link for the invoice `id` (the one in the invoice e-mail is shown once).
#[instrument(skip_all)]
pub async fn reissue(
    app: &App,
    by: &Actor,
    id: &str,
) -> Result<(InvoiceId, String, PayToken), Error> {
    let stored = super::ledgers::find_invoice(app, id).await?;
    let inv = &stored.invoice;
    let (url, token) = issue_link(app, &inv.client_id, &inv.id, app.now()).await?;
    let record = super::audit::record(by, Action::PayLinkIssued, token.created_at);
    super::audit::keep(app, record.map(|r| r.on_invoice(inv))).await;
    Ok((stored.invoice.id, url, token))
}

/// Revokes every pay link of the invoice `id` (a link sent to the wrong person): they
/// open the pay page's 404 from now on. How many were revoked.
#[instrument(skip_all)]
pub async fn revoke(app: &App, by: &Actor, id: &str) -> Result<(InvoiceId, u32), Error> {
    let stored = super::ledgers::find_invoice(app, id).await?;
    let (inv, now) = (&stored.invoice, app.now());
    let n = app.store.revoke_pay_tokens(&inv.id, now).await?;
    tracing::info!(invoice_id = %inv.id, revoked = n, "pay links revoked");
    // Revoking none (all already were) changes nothing: nothing to record.
    let record = super::audit::record(by, Action::PayLinksRevoked, now)
        .filter(|_| n > 0)
        .map(|r| r.on_invoice(inv).detail(n.to_string()));
    super::audit::keep(app, record).await;
    Ok((stored.invoice.id, n))
}

/// What a valid token opens: the client, their invoice, its balance and arrangements now.
pub struct Opened {
    pub client: Client,
    pub stored: StoredInvoice,
    pub balance: Balance,
    pub arrangements: Arrangements,
}

impl Opened {
    /// What the pay buttons ask for: the plan's current instalment (what is left of it)
    /// while a plan runs, else the whole amount due.
    pub fn due_now(&self) -> Money {
        let instalment = self
            .arrangements
            .active_plan()
            .and_then(|p| p.current())
            .and_then(|i| i.amount.checked_sub(&i.paid).ok())
            .filter(|left| left.is_positive() && left.amount() < self.balance.amount_due.amount());
        instalment.unwrap_or(self.balance.amount_due)
    }
}

/// The invoice a token opens; `NotFound` for any token that opens nothing (unknown,
/// malformed, expired, revoked, or not this client's), without saying which.
pub async fn open(app: &App, token: &str) -> Result<Opened, Error> {
    let gone = || Error::NotFound(Thing::Invoice);
    if !secret::looks_like_pay_token(token) {
        return Err(gone());
    }
    let t = app
        .store
        .pay_token(&secret::digest(token))
        .await?
        .filter(|t| t.is_valid(app.now()))
        .ok_or_else(gone)?;
    let stored = app.store.invoice(&t.invoice_id).await?.ok_or_else(gone)?;
    let client = app.store.client(&t.client_id).await?.ok_or_else(gone)?;
    if stored.invoice.client_id != client.id {
        return Err(gone());
    }
    let balance = ledger::balance(&stored.invoice.total, &stored.entries)?;
    let arrangements = arrangement::arrangements(&stored.invoice, &stored.entries, app.now())?;
    Ok(Opened {
        client,
        stored,
        balance,
        arrangements,
    })
}

/// The client's other invoices (theirs only, the 20 newest), with their ledgers.
pub async fn other_invoices(app: &App, opened: &Opened) -> Result<Vec<StoredInvoice>, Error> {
    let page = app
        .store
        .client_invoices(&opened.client.id, &cobro_store::PageRequest::first(20))
        .await?;
    let others = page.items.iter().map(|i| &i.id);
    super::ledgers::read_all(app, others.filter(|id| **id != opened.stored.invoice.id)).await
}

/// The hosted checkouts configured: `stripe`, `mercadopago`, and locally `sandbox`.
pub fn checkout_methods(app: &App) -> Vec<&'static str> {
    let mut m = Vec::new();
    if !app.config.stripe_api_key.is_empty() {
        m.push("stripe");
    }
    if !app.config.mercadopago_access_token.is_empty() {
        m.push("mercadopago");
    }
    if app.config.sandbox_checkout {
        m.push("sandbox");
    }
    m
}

/// Starts a hosted checkout by `method` for what is due now on the invoice the pay link
/// `token` opened: the URL to send the client to. `None`: no such method is configured.
pub async fn checkout(
    app: &App,
    opened: &Opened,
    method: &str,
    token: &str,
    description: String,
) -> Result<Option<String>, Error> {
    let inv = &opened.stored.invoice;
    let due_now = opened.due_now();
    let page = format!("{}/pay/{token}", app.config.public_url);
    let request = cobro_providers::checkout::CheckoutRequest {
        invoice_id: inv.id.to_string(),
        description,
        amount: due_now,
        success_url: format!("{page}?paid=1"),
        cancel_url: page.clone(),
        idempotency_key: format!(
            "cobro-checkout-{}-{}-{}",
            inv.id,
            opened.stored.ledger_len(),
            due_now.amount()
        ),
    };
    let config = &app.config;
    let url = match method {
        "stripe" => match config.stripe_api_key.current() {
            Some(key) => {
                cobro_providers::checkout::stripe_session(
                    app.http(),
                    &config.stripe_api_base,
                    key,
                    &request,
                )
                .await
            }
            None => return Ok(None),
        },
        "mercadopago" => match config.mercadopago_access_token.current() {
            Some(token) => {
                cobro_providers::checkout::mercadopago_preference(
                    app.http(),
                    &config.mercadopago_api_base,
                    token,
                    &request,
                )
                .await
            }
            None => return Ok(None),
        },
        _ => Ok(format!("/sandbox/checkout/{token}")),
    };
    url.map(Some).map_err(|e| Error::Unavailable(e.to_string()))
}
