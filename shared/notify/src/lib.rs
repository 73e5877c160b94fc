//! The Mailer port, its adapters and cobro's messages.
//!
//! Every message is rendered once into an RFC 5322 document (HTML and plain-text parts,
//! built with lettre) and handed to a [`Mailer`]: [`outbox::OutboxMailer`] writes it as an
//! `.eml` file for the local stack, [`ses::SesMailer`] sends the same bytes through SES v2.

use async_trait::async_trait;
use cobro_domain::validation::one_line;

pub mod business;
pub mod console;
pub mod dunning;
pub mod figures;
pub mod messages;
pub mod outbox;
pub mod sender;
pub mod ses;
pub mod summary;
pub mod words;

pub use business::{
    About, Agreed, BrokenArrangement, BusinessNotice, ClientArranged, CreditReceived, Escalation,
    NoticeLine, OverdueDeposit, Undeliverable,
};
pub use console::SignInLink;
pub use dunning::{Arrangement, Reminder, ReminderFacts, Tone};
pub use messages::{InvoiceIssued, InvoiceUpdate, News, PaymentReceived, Rendered};
pub use outbox::OutboxMailer;
pub use sender::{BankAccount, Sender};
pub use ses::SesMailer;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The recipient's address does not parse. It is kept here but never displayed: errors
    /// are logged and stored, and personal data is logged by id only.
    #[error("invalid address (the recipient's e-mail does not parse)")]
    Address(String),
    /// The business's own sender (`COBRO_FROM_EMAIL`) does not parse: configuration, not
    /// the client's data.
    #[error("invalid sender `{0}`")]
    Sender(String),
    #[error("could not build the message: {0}")]
    Build(String),
    #[error("could not render the template: {0}")]
    Template(#[from] askama::Error),
    #[error("delivery failed: {0}")]
    Delivery(String),
}

/// A message ready to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub from: String,
    pub to_name: String,
    pub to_email: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Stable name of this message (`inv_….issued`): its Message-ID, and how an adapter
    /// recognises a message it already delivered.
    pub key: String,
}

impl Email {
    /// A message to a client, under its stable `key`.
    pub fn to_client(
        from: &str,
        client: &cobro_domain::Client,
        subject: String,
        (text, html): (String, String),
        key: String,
    ) -> Email {
        Email {
            from: from.to_string(),
            to_name: client.name.clone(),
            to_email: client.email.clone(),
            subject,
            text,
            html,
            key,
        }
    }

    /// The RFC 5322 document: headers, then multipart/alternative with text and HTML.
    ///
    /// The recipient's display name and the subject come from stored data, which may
    /// predate the edge's text check or come from a path that forgot it: both are made one
    /// line here ([`one_line`]) before lettre encodes them, so no stored value can add a
    /// header or break the message (a CR or LF in a display name made lettre's formatter
    /// panic). An address that does not parse is an error, never a panic.
    pub fn to_rfc5322(&self) -> Result<Vec<u8>, MailError> {
        use lettre::message::{Mailbox, MultiPart};
        let from = sender(&self.from)?;
        let to_address = self
            .to_email
            .parse()
            .map_err(|_| MailError::Address(self.to_email.clone()))?;
        let name = one_line(&self.to_name);
        let to = Mailbox::new((!name.is_empty()).then_some(name), to_address);
        let domain = from.email.domain().to_string();
        let message = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(one_line(&self.subject))
            .message_id(Some(format!("<{}@{}>", self.key, domain)))
            .multipart(MultiPart::alternative_plain_html(
                self.text.clone(),
                self.html.clone(),
            ))
            .map_err(|e| MailError::Build(e.to_string()))?;
        Ok(message.formatted())
    }
}

/// The sender `from` (`Name <address>` or an address) as the mail builder reads it.
pub fn sender(from: &str) -> Result<lettre::message::Mailbox, MailError> {
    from.parse()
        .map_err(|_| MailError::Sender(from.to_string()))
}

/// Where a message went: the adapter's id for it (a file name, an SES message id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub id: String,
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, email: &Email) -> Result<Sent, MailError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_print_the_recipients_address() {
        let e = MailError::Address("ana.perez@cliente.cl".into());
        assert!(!e.to_string().contains("ana.perez"), "{e}");
        assert!(e.to_string().contains("invalid address"));
    }
}
