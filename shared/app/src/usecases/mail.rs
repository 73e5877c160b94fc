//! Messages, through the Mailer port: the invoice, receipts, reminders and confirmations
//! to the client (each with a fresh pay link), and notices to the business. Their words
//! live with the templates in `cobro_notify`; here they are given the facts.
//!
//! Each message has a stable key (`inv_….issued`, `inv_….reminder.3`) so a retry is the
//! same message. A message about something already written is best effort: a failure is
//! logged and returned, the write stands.

use chrono::{DateTime, NaiveDate, Utc};
use cobro_domain::{Client, Invoice, LedgerEntry, Money, Stage, dunning, ledger, today_in};
use cobro_notify::{Arrangement, BusinessNotice, InvoiceIssued, PaymentReceived, Reminder, Tone};
use cobro_store::StoredInvoice;
use tracing::instrument;

use crate::App;

/// Why a message did not go out, and whether trying again could change that: a message
/// that cannot be built (an address that does not parse, a template that does not render,
/// a ledger that does not add up) fails the same way every time; a mail server or a store
/// that did not answer may answer next time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undelivered {
    pub why: String,
    pub permanent: bool,
}

impl Undelivered {
    pub fn permanent(why: impl std::fmt::Display) -> Self {
        Undelivered {
            why: why.to_string(),
            permanent: true,
        }
    }

    pub fn transient(why: impl std::fmt::Display) -> Self {
        Undelivered {
            why: why.to_string(),
            permanent: false,
        }
    }
}

impl std::fmt::Display for Undelivered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

impl From<cobro_notify::MailError> for Undelivered {
    fn from(e: cobro_notify::MailError) -> Self {
        match e {
            // The mail server, or the business's own sender setting: nothing about this
            // invoice; retried once that is fixed.
            cobro_notify::MailError::Delivery(_) | cobro_notify::MailError::Sender(_) => {
                Undelivered::transient(e)
            }
            _ => Undelivered::permanent(e),
        }
    }
}

impl From<cobro_store::StoreError> for Undelivered {
    fn from(e: cobro_store::StoreError) -> Self {
        Undelivered::transient(e)
    }
}

impl From<cobro_domain::MoneyError> for Undelivered {
    fn from(e: cobro_domain::MoneyError) -> Self {
        Undelivered::permanent(e)
    }
}

/// What the stored data says that cannot be (a promise missing from its ledger): permanent.
impl From<&str> for Undelivered {
    fn from(why: &str) -> Self {
        Undelivered::permanent(why)
    }
}

/// The client an invoice is for, for a best-effort message (the error as text).
pub async fn client_of(app: &App, id: &cobro_domain::ClientId) -> Result<Client, String> {
    app.store
        .client(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the invoice's client is missing".to_string())
}

/// A message's stable key for a stage of an invoice: valid in a Message-ID.
pub fn stage_key(invoice: &Invoice, stage: Stage) -> String {
    key(invoice, &stage.to_string())
}

/// A message's stable key for `what` on an invoice (`:` are not valid in a Message-ID).
pub fn key(invoice: &Invoice, what: &str) -> String {
    format!("{}.{}", invoice.id, what.replace(':', "."))
}

/// E-mails the new invoice to the client. A failure is logged, not returned: the invoice
/// exists either way, and the answer to the request must not depend on the mail server.
#[instrument(skip_all, fields(invoice_id = %invoice.id, client_id = %client.id))]
pub async fn send_invoice(
    app: &App,
    client: &Client,
    invoice: &Invoice,
    entries: &[LedgerEntry],
    pay_url: &str,
) {
    let key = key(invoice, "issued");
    match mail_invoice(app, client, invoice, entries, pay_url, &key).await {
        Ok(id) => tracing::info!(message_id = %id, "invoice e-mailed"),
        Err(e) => tracing::error!(error = %e.why, "invoice e-mail failed"),
    }
}

/// E-mails the invoice (as it stands: with any credit already applied) and its pay link
/// to the client under the message key `key`. The mailer's message id.
pub async fn mail_invoice(
    app: &App,
    client: &Client,
    invoice: &Invoice,
    entries: &[LedgerEntry],
    pay_url: &str,
    key: &str,
) -> Result<String, Undelivered> {
    let mut message = InvoiceIssued::new(&app.config.business_name, client, invoice, pay_url)
        .with_sender(&app.config.sender());
    let b = ledger::balance(&invoice.total, entries)?;
    if b.paid.is_positive() {
        message = message.with_credit(&b.paid, &b.amount_due);
    }
    if let Some((amount, day)) = dunning::discount_offer(invoice, entries, app.now())? {
        message = message.with_discount(&amount, day);
    }
    let email = message.email(&app.config.from_email, client, key)?;
    Ok(app.mailer.send(&email).await?.id)
}

/// E-mails the client a receipt for the payment `entry` that turned `before` into
/// `stored`; when the invoice did not need it (void, or paid already) and it became the
/// client's credit, the receipt says so and the business is told too. Failures are logged;
/// the payment stands either way.
pub async fn send_receipt(
    app: &App,
    before: &StoredInvoice,
    stored: &StoredInvoice,
    entry: &LedgerEntry,
) {
    let result = async {
        let client = client_of(app, &stored.invoice.client_id).await?;
        let balance =
            ledger::balance(&stored.invoice.total, &stored.entries).map_err(|e| e.to_string())?;
        let date = today_in(client.timezone, entry.at);
        let message = PaymentReceived::new(
            &app.config.business_name,
            &client,
            &stored.invoice,
            &entry.amount,
            &balance,
            date,
        )
        .with_sender(&app.config.sender());
        let receipt = key(&stored.invoice, &format!("receipt.{}", entry.seq));
        let email = message
            .email(&app.config.from_email, &client, &receipt)
            .map_err(|e| e.to_string())?;
        let sent = app.mailer.send(&email).await.map_err(|e| e.to_string());
        let was =
            ledger::balance(&before.invoice.total, &before.entries).map_err(|e| e.to_string())?;
        if balance.credit.amount() > was.credit.amount() {
            let l = app.config.business_locale;
            let about = cobro_notify::About::CreditReceived(cobro_notify::CreditReceived {
                received: entry.amount.format(l),
                credit: balance.credit.format(l),
                void: balance.status == cobro_domain::InvoiceStatus::Void,
            });
            let told = key(&stored.invoice, &format!("receipt.{}.credit", entry.seq));
            if let Err(e) = mail_business(app, stored, &client, about, &told).await {
                tracing::error!(error = %e.why, "the business could not be told of the credit");
            }
            tracing::warn!(invoice_id = %stored.invoice.id, status = ?balance.status,
                "a payment the invoice did not need is the client's credit");
        }
        sent
    }
    .await;
    match result {
        Ok(sent) => tracing::info!(message_id = %sent.id, "receipt e-mailed"),
        Err(e) => tracing::error!(error = %e, "receipt e-mail failed"),
    }
}

/// What changed on the invoice `stored` (as the change left it) that the client hears of:
/// it was voided (`message`: what the business chose to tell them), or `refunded` went
/// back to them. Sent once per `what` (`void`, `refund.{seq}`). Failures are logged; the
/// change stands either way.
pub async fn send_update(app: &App, stored: &StoredInvoice, what: &str, change: Change<'_>) {
    let result = async {
        let inv = &stored.invoice;
        let client = client_of(app, &inv.client_id).await?;
        let b = ledger::balance(&inv.total, &stored.entries).map_err(|e| e.to_string())?;
        let l = client.locale;
        let some = |m: &cobro_domain::Money| m.is_positive().then(|| m.format(l));
        let news = match change {
            Change::Voided { message } => cobro_notify::News::Voided {
                message: message.map(str::to_string),
                credit: some(&b.credit),
            },
            Change::Refunded(amount) => cobro_notify::News::Refunded {
                amount: amount.format(l),
                amount_due: some(&b.amount_due),
                credit: some(&b.credit),
            },
        };
        let update =
            cobro_notify::InvoiceUpdate::new(&app.config.business_name, &client, inv, news)
                .with_sender(&app.config.sender());
        let email = update
            .email(&app.config.from_email, &client, &key(inv, what))
            .map_err(|e| e.to_string())?;
        app.mailer.send(&email).await.map_err(|e| e.to_string())
    }
    .await;
    match result {
        Ok(sent) => {
            tracing::info!(invoice_id = %stored.invoice.id, message_id = %sent.id, what, "client told of the change")
        }
        Err(e) => {
            tracing::error!(invoice_id = %stored.invoice.id, error = %e, what, "the client could not be told of the change")
        }
    }
}

/// A change to an invoice the client is told of ([`send_update`]).
pub enum Change<'a> {
    Voided { message: Option<&'a str> },
    Refunded(&'a cobro_domain::Money),
}

/// What a message to the client says beyond the invoice as it stands.
pub struct Letter<'a> {
    pub tone: Tone,
    pub arrangement: Option<Arrangement<'a>>,
    /// A notice's fee and the day it is charged.
    pub fee: Option<(&'a Money, NaiveDate)>,
    pub escalation_date: Option<NaiveDate>,
    /// The due date in force (moved by extensions).
    pub due_date: NaiveDate,
}

/// Mails the client about their invoice as it stands now (amount due, late fees), with a
/// fresh pay link (only its digest is stored); `key` makes a retry the same message.
/// The mailer's message id.
pub async fn mail_client(
    app: &App,
    stored: &StoredInvoice,
    client: &Client,
    letter: Letter<'_>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<String, Undelivered> {
    let inv = &stored.invoice;
    let balance = ledger::balance(&inv.total, &stored.entries)?;
    let (pay_url, _) = super::links::issue_link(app, &client.id, &inv.id, now)
        .await
        .map_err(Undelivered::transient)?;
    let offer = dunning::discount_offer(inv, &stored.entries, now)?;
    let sender = app.config.sender();
    let message = Reminder::new(cobro_notify::ReminderFacts {
        sender: &sender,
        client,
        invoice: inv,
        amount_due: &balance.amount_due,
        late_fees: &balance.late_fees,
        today: today_in(inv.timezone, now),
        pay_url: &pay_url,
        tone: letter.tone,
        fee: letter.fee,
        escalation_date: letter.escalation_date,
        arrangement: letter.arrangement,
        due_date: letter.due_date,
        discount: offer.as_ref().map(|(m, d)| (m, *d)),
    });
    let email = message.email(&app.config.from_email, client, key)?;
    let sent = app.mailer.send(&email).await?;
    Ok(sent.id)
}

/// Tells the business (`COBRO_BUSINESS_EMAIL`), in its language, what happened (`about`)
/// on a client's invoice, with the facts every notice carries and a link a person can open
/// in a browser: the invoice's own page, as the client sees it (a fresh pay link; the API's
/// URLs need a key). `key`: the message's stable key. The mailer's message id.
pub async fn mail_business(
    app: &App,
    stored: &StoredInvoice,
    client: &Client,
    about: cobro_notify::About,
    key: &str,
) -> Result<String, Undelivered> {
    let inv = &stored.invoice;
    let l = app.config.business_locale;
    let balance = ledger::balance(&inv.total, &stored.entries)?;
    let (link, _) = super::links::issue_link(app, &client.id, &inv.id, app.now())
        .await
        .map_err(Undelivered::transient)?;
    let notice = BusinessNotice {
        locale: l,
        business: app.config.business_name.clone(),
        client_name: client.name.clone(),
        client_email: client.email.clone(),
        number: inv.number.clone(),
        amount_due: balance.amount_due.format(l),
        link,
        about,
    };
    let email = notice.email(&app.config.from_email, &app.config.business_email, key)?;
    let sent = app.mailer.send(&email).await?;
    Ok(sent.id)
}
