//! A client's standing, and what it changes when invoicing them.
//!
//! - Their standing ([`of`]): score, tier, the factors and points that made it, what is
//!   outstanding per currency, and the credit still available under the limit.
//! - Creating an invoice: the tier's policy overrides apply (shorter terms, earlier
//!   reminders), a restricted tier is refused (409 `restricted-tier`), and an invoice that
//!   would take the client over their credit limit is refused (409 `over-credit-limit`);
//!   an invoice in another currency than the limit's is a 422.
//!
//! Derived from the client's ledgers whenever it is read, so it reflects every payment and
//! every sweep at once.

use cobro_domain::standing::{self, InvoiceHistory, Restricted, Standing, Tier};
use cobro_domain::{Client, FieldErrors, Money, MoneyError, Terms, TermsInput};
use cobro_store::StoredInvoice;

use super::{Conflict, Error};
use crate::App;

/// A client's history, standing and what they owe now.
pub struct Picture {
    pub standing: Standing,
    pub outstanding: Vec<Money>,
}

/// The client's standing now, from their invoices' ledgers ([`super::ledgers::client_ledgers`]).
pub fn picture(
    app: &App,
    client: &Client,
    ledgers: &[StoredInvoice],
) -> Result<Picture, MoneyError> {
    let now = app.now();
    let mut histories: Vec<InvoiceHistory> = Vec::new();
    // Deposits are not credit: how they were paid is not part of the history.
    for s in ledgers.iter().filter(|s| s.invoice.purpose.is_order()) {
        if let Some(h) = standing::invoice_history(&s.invoice, &s.entries, now)? {
            histories.push(h);
        }
    }
    Ok(Picture {
        standing: standing::standing(&histories, client.credit_limit.as_ref()),
        outstanding: standing::outstanding(&histories)?,
    })
}

/// What is left of the credit limit: the limit less what is outstanding in its currency.
pub fn available(client: &Client, outstanding: &[Money]) -> Option<Money> {
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

/// A client's standing as shown: their picture, their credit limit and what is left of it.
pub struct Report {
    pub client: Client,
    pub picture: Picture,
    pub available: Option<Money>,
}

/// The standing of the client `id`, derived now from their ledgers.
pub async fn of(app: &App, id: &str) -> Result<Report, Error> {
    let client = super::ledgers::find_client(app, id).await?;
    let ledgers = super::ledgers::client_ledgers(app, &client.id).await?;
    let picture = picture(app, &client, &ledgers)?;
    let available = available(&client, &picture.outstanding);
    Ok(Report {
        client,
        picture,
        available,
    })
}

/// The policy a client's new invoice starts from: the business default, then the client's
/// overrides, then their tier's (when their standing is known). What does not fit is
/// reported under `client.terms` or `credit_policy.tier_terms`.
pub fn client_terms(
    app: &App,
    client: &Client,
    tier: Option<Tier>,
    errors: &mut FieldErrors,
) -> Terms {
    let mut base = match &client.terms {
        Some(t) => t.apply(&app.config.default_terms, errors, "client.terms", None),
        None => app.config.default_terms.clone(),
    };
    if let Some(t) = tier.and_then(|t| tier_terms(app, t)) {
        base = t.apply(&base, errors, "credit_policy.tier_terms", None);
    }
    base
}

/// The tier's policy overrides for a client (applied after the client's own).
pub fn tier_terms(app: &App, tier: Tier) -> Option<&TermsInput> {
    app.config.credit_policy.tier_terms.get(&tier)
}

/// Whether the client may be invoiced `total` now: not in a restricted tier, not over the
/// credit limit, and in the limit's currency.
pub fn check(app: &App, client: &Client, p: &Picture, total: &Money) -> Result<(), Error> {
    let tier = p.standing.tier;
    let policy = &app.config.credit_policy;
    // Under `prepay` the tier is asked for the whole invoice first (see `deposits`).
    if policy.restrict_tiers.contains(&tier) && policy.restricted == Restricted::Refuse {
        return Err(Error::conflict(Conflict::RestrictedTier(
            p.standing.clone(),
        )));
    }
    let Some(limit) = client.credit_limit else {
        return Ok(());
    };
    if limit.currency() != total.currency() {
        return Err(Error::Invalid(FieldErrors::single(
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
        return Err(Error::conflict(Conflict::OverCreditLimit {
            owed,
            total: *total,
            limit,
            left,
        }));
    }
    Ok(())
}
