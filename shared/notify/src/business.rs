//! Messages to the business about one client's invoice, all of one shape: who, which
//! invoice, what is owed, where to look next, and what happened ([`About`]). Plain text in
//! the business's language, with the same text as HTML.

use askama::Template;
use cobro_domain::Locale;

use crate::{Email, MailError};

/// A message to the business about one client's invoice.
#[derive(Debug, Clone)]
pub struct BusinessNotice {
    pub locale: Locale,
    pub business: String,
    pub client_name: String,
    pub client_email: String,
    pub number: String,
    pub amount_due: String,
    /// A page a person can open: the invoice as the client sees it (a fresh pay link).
    pub link: String,
    pub about: About,
}

/// What happened.
#[derive(Debug, Clone)]
pub enum About {
    /// The invoice was escalated for collection.
    Escalated(Escalation),
    /// A promise or a payment plan was broken (the chase resumes by itself).
    Broken(BrokenArrangement),
    /// A new client's deposit is overdue.
    DepositOverdue(OverdueDeposit),
    /// A message to the client could not be sent for a reason retrying will not fix: the
    /// invoice's chase is held until a person looks.
    Undeliverable(Undeliverable),
    /// A payment arrived that the invoice did not need (it was void, or paid already): what
    /// it left is the client's credit.
    CreditReceived(CreditReceived),
    /// The client made a promise or chose a plan on the pay page (or asked for one that
    /// needs the business's approval).
    ClientArranged(ClientArranged),
}

#[derive(Debug, Clone)]
pub struct ClientArranged {
    /// What the client committed to (a promise, or a plan: `Agreed::NewPlan`).
    pub agreed: Agreed,
    /// Only asked for: the plan waits for the business, who makes it with this request
    /// body to `POST /v1/invoices/{id}/plans` (the whole line, ready to use).
    pub approve_with: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Escalation {
    pub tax_id: String,
    pub concept: String,
    pub due_date: String,
    pub days_overdue: i64,
    pub notices: Vec<NoticeLine>,
}

/// One notice sent to the client, as the escalation report lists it.
#[derive(Debug, Clone)]
pub struct NoticeLine {
    pub date: String,
    pub what: String,
}

#[derive(Debug, Clone)]
pub struct BrokenArrangement {
    pub concept: String,
    /// What was agreed.
    pub agreed: Agreed,
    /// Received toward it in time.
    pub paid: String,
}

/// What a broken arrangement had agreed (amounts and dates already formatted).
#[derive(Debug, Clone)]
pub enum Agreed {
    Promise {
        amount: String,
        date: String,
    },
    /// A new plan: `count` monthly instalments of about `amount`, from `first` to `last`.
    NewPlan {
        count: usize,
        amount: String,
        first: String,
        last: String,
    },
    /// Plan of `count` instalments whose instalment `number` was missed.
    Plan {
        count: usize,
        number: u32,
        amount: String,
        date: String,
    },
}

impl Agreed {
    /// In a sentence ("pagar $ 60.000 a más tardar el …").
    pub fn sentence(&self, l: Locale) -> String {
        match (self, l) {
            (Agreed::Promise { amount, date }, Locale::Es) => {
                format!("pagar {amount} a más tardar el {date}")
            }
            (Agreed::Promise { amount, date }, Locale::En) => format!("to pay {amount} by {date}"),
            (
                Agreed::NewPlan {
                    count,
                    amount,
                    first,
                    last,
                },
                Locale::Es,
            ) => format!(
                "pagar en un plan de {count} cuotas mensuales de {amount}, la primera el {first} y la última el {last}"
            ),
            (
                Agreed::NewPlan {
                    count,
                    amount,
                    first,
                    last,
                },
                Locale::En,
            ) => format!(
                "to pay in a plan of {count} monthly instalments of {amount}, the first on {first} and the last on {last}"
            ),
            (
                Agreed::Plan {
                    count,
                    number,
                    amount,
                    date,
                },
                Locale::Es,
            ) => format!(
                "un plan de pago en {count} cuotas; la cuota {number}, de {amount} con vencimiento el {date}, quedó impaga y el plan se anuló"
            ),
            (
                Agreed::Plan {
                    count,
                    number,
                    amount,
                    date,
                },
                Locale::En,
            ) => format!(
                "a payment plan in {count} instalments; instalment {number}, {amount} due {date}, was missed and the plan has ended"
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct OverdueDeposit {
    pub due_date: String,
}

#[derive(Debug, Clone)]
pub struct Undeliverable {
    /// The message that did not go (the stage, in words).
    pub what: String,
    /// Why, as the mailer said it.
    pub why: String,
}

#[derive(Debug, Clone)]
pub struct CreditReceived {
    /// This payment.
    pub received: String,
    /// The invoice's credit after it.
    pub credit: String,
    /// The invoice was void.
    pub void: bool,
}

impl BusinessNotice {
    pub fn subject(&self) -> String {
        let (n, due, name) = (&self.number, &self.amount_due, &self.client_name);
        match (&self.about, self.locale) {
            (About::Escalated(k), Locale::Es) => format!(
                "Factura {n} escalada a cobranza: {due} ({} días de atraso)",
                k.days_overdue
            ),
            (About::Escalated(k), Locale::En) => format!(
                "Invoice {n} escalated for collection: {due} ({} days overdue)",
                k.days_overdue
            ),
            (About::Broken(_), Locale::Es) => {
                format!("Compromiso incumplido: {name} — factura {n} ({due} pendiente)")
            }
            (About::Broken(_), Locale::En) => {
                format!("Broken promise: {name} — invoice {n} ({due} outstanding)")
            }
            (About::DepositOverdue(_), Locale::Es) => {
                format!("Depósito vencido: {name} — {due} (factura {n})")
            }
            (About::DepositOverdue(_), Locale::En) => {
                format!("Deposit overdue: {name} — {due} (invoice {n})")
            }
            (About::Undeliverable(_), Locale::Es) => {
                format!("No pudimos enviar el aviso a {name}: factura {n} en espera")
            }
            (About::Undeliverable(_), Locale::En) => {
                format!("We could not send the notice to {name}: invoice {n} on hold")
            }
            (About::ClientArranged(k), Locale::Es) if k.approve_with.is_some() => {
                format!("{name} pide un plan de pago — factura {n}: espera tu aprobación")
            }
            (About::ClientArranged(k), Locale::En) if k.approve_with.is_some() => {
                format!("{name} asks for a payment plan — invoice {n}: awaiting your approval")
            }
            (About::ClientArranged(_), Locale::Es) => {
                format!("{name} se comprometió a pagar la factura {n} ({due} pendiente)")
            }
            (About::ClientArranged(_), Locale::En) => {
                format!("{name} committed to pay invoice {n} ({due} outstanding)")
            }
            (About::CreditReceived(k), Locale::Es) => format!(
                "Pago de {} en la factura {n}{}: queda a favor de {name}",
                k.received,
                if k.void { ", anulada" } else { ", ya pagada" }
            ),
            (About::CreditReceived(k), Locale::En) => format!(
                "Payment of {} on invoice {n}{}: credit for {name}",
                k.received,
                if k.void {
                    ", which is void"
                } else {
                    ", already paid"
                }
            ),
        }
    }

    /// The message, from `from` to the business at `to`, under its stable `key`.
    pub fn email(&self, from: &str, to: &str, key: &str) -> Result<Email, MailError> {
        let m = self;
        let es = self.locale == Locale::Es;
        let text = match &self.about {
            About::Escalated(k) if es => EscalatedEs { m, k }.render()?,
            About::Escalated(k) => EscalatedEn { m, k }.render()?,
            About::Broken(k) => {
                let agreed = k.agreed.sentence(self.locale);
                if es {
                    BrokenEs { m, k, agreed }.render()?
                } else {
                    BrokenEn { m, k, agreed }.render()?
                }
            }
            About::DepositOverdue(k) if es => DepositOverdueEs { m, k }.render()?,
            About::DepositOverdue(k) => DepositOverdueEn { m, k }.render()?,
            About::Undeliverable(k) if es => UndeliverableEs { m, k }.render()?,
            About::Undeliverable(k) => UndeliverableEn { m, k }.render()?,
            About::ClientArranged(k) => {
                let agreed = k.agreed.sentence(self.locale);
                if es {
                    ArrangedEs { m, k, agreed }.render()?
                } else {
                    ArrangedEn { m, k, agreed }.render()?
                }
            }
            About::CreditReceived(k) if es => CreditEs { m, k }.render()?,
            About::CreditReceived(k) => CreditEn { m, k }.render()?,
        };
        let html = format!(
            "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"></head><body><pre style=\"font-family:Arial,Helvetica,sans-serif;white-space:pre-wrap;\">{}</pre></body></html>",
            self.locale.code(),
            askama::filters::escape(&text, askama::filters::Html)
                .map(|e| e.to_string())
                .unwrap_or_default()
        );
        Ok(Email {
            from: from.to_string(),
            to_name: self.business.clone(),
            to_email: to.to_string(),
            subject: self.subject(),
            text,
            html,
            key: key.to_string(),
        })
    }
}

#[derive(Template)]
#[template(path = "escalated.es.txt")]
struct EscalatedEs<'a> {
    m: &'a BusinessNotice,
    k: &'a Escalation,
}

#[derive(Template)]
#[template(path = "escalated.en.txt")]
struct EscalatedEn<'a> {
    m: &'a BusinessNotice,
    k: &'a Escalation,
}

#[derive(Template)]
#[template(path = "broken.es.txt")]
struct BrokenEs<'a> {
    m: &'a BusinessNotice,
    k: &'a BrokenArrangement,
    agreed: String,
}

#[derive(Template)]
#[template(path = "broken.en.txt")]
struct BrokenEn<'a> {
    m: &'a BusinessNotice,
    k: &'a BrokenArrangement,
    agreed: String,
}

#[derive(Template)]
#[template(path = "deposit_overdue.es.txt")]
struct DepositOverdueEs<'a> {
    m: &'a BusinessNotice,
    k: &'a OverdueDeposit,
}

#[derive(Template)]
#[template(path = "deposit_overdue.en.txt")]
struct DepositOverdueEn<'a> {
    m: &'a BusinessNotice,
    k: &'a OverdueDeposit,
}

#[derive(Template)]
#[template(path = "undeliverable.es.txt")]
struct UndeliverableEs<'a> {
    m: &'a BusinessNotice,
    k: &'a Undeliverable,
}

#[derive(Template)]
#[template(path = "undeliverable.en.txt")]
struct UndeliverableEn<'a> {
    m: &'a BusinessNotice,
    k: &'a Undeliverable,
}

#[derive(Template)]
#[template(path = "credit_received.es.txt")]
struct CreditEs<'a> {
    m: &'a BusinessNotice,
    k: &'a CreditReceived,
}

#[derive(Template)]
#[template(path = "credit_received.en.txt")]
struct CreditEn<'a> {
    m: &'a BusinessNotice,
    k: &'a CreditReceived,
}

#[derive(Template)]
#[template(path = "client_arranged.es.txt")]
struct ArrangedEs<'a> {
    m: &'a BusinessNotice,
    k: &'a ClientArranged,
    agreed: String,
}

#[derive(Template)]
#[template(path = "client_arranged.en.txt")]
struct ArrangedEn<'a> {
    m: &'a BusinessNotice,
    k: &'a ClientArranged,
    agreed: String,
}
