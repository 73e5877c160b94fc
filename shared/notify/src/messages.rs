//! cobro's messages, in the client's language. Each says WHAT is owed (invoice number and
//! concept), HOW MUCH (formatted for the reader: "$178.464"), WHEN (the exact due date)
//! and WHERE to pay (the pay link and the bank-transfer reference).

use askama::Template;
use cobro_domain::{Client, Invoice, Locale};

use crate::{Email, MailError};

/// A line of the invoice as the client reads it.
#[derive(Debug, Clone)]
pub struct LineView {
    pub description: String,
    pub quantity: String,
    pub unit_amount: String,
    pub amount: String,
}

/// Everything the "invoice issued" message shows, already formatted for its locale.
#[derive(Debug, Clone)]
pub struct InvoiceIssued {
    pub locale: Locale,
    pub business: String,
    pub client_name: String,
    pub number: String,
    pub concept: String,
    pub lines: Vec<LineView>,
    pub subtotal: String,
    pub tax: Option<String>,
    pub tax_rate: String,
    pub total: String,
    /// What is due now: the total less any credit already applied.
    pub amount_due: String,
    pub credit_applied: Option<String>,
    /// The early-payment discount on offer, in a sentence.
    pub discount: Option<String>,
    pub currency: String,
    pub issue_date: String,
    pub due_date: String,
    pub pay_url: String,
    pub reference: String,
    /// How to pay by transfer (the account, when the business gave one), in a sentence.
    pub transfer: String,
    /// Who the business is, in one line.
    pub footer: String,
    /// What the business's country calls the tax ("IVA").
    pub tax_label: String,
}

fn quantity(q: rust_decimal::Decimal, locale: Locale) -> String {
    let s = q.normalize().to_string();
    match locale {
        Locale::Es => s.replace('.', ","),
        Locale::En => s,
    }
}

impl InvoiceIssued {
    pub fn new(business: &str, client: &Client, invoice: &Invoice, pay_url: &str) -> Self {
        let l = client.locale;
        InvoiceIssued {
            locale: l,
            business: business.to_string(),
            client_name: client.name.clone(),
            number: invoice.number.clone(),
            concept: invoice.concept().to_string(),
            lines: invoice
                .lines
                .iter()
                .map(|line| LineView {
                    description: line.description.clone(),
                    quantity: quantity(line.quantity, l),
                    unit_amount: line.unit_amount.format(l),
                    amount: line.amount.format(l),
                })
                .collect(),
            subtotal: invoice.subtotal.format(l),
            tax: invoice.tax_rate.map(|_| invoice.tax.format(l)),
            tax_rate: invoice.tax_rate.map(|r| quantity(r, l)).unwrap_or_default(),
            total: invoice.total.format(l),
            amount_due: invoice.total.format(l),
            credit_applied: None,
            discount: None,
            currency: invoice.currency.code().to_string(),
            issue_date: l.long_date(invoice.issue_date),
            due_date: l.long_date(invoice.due_date),
            pay_url: pay_url.to_string(),
            reference: invoice.payment_reference.grouped(),
            transfer: crate::Sender::default().transfer(l, &invoice.payment_reference.grouped()),
            footer: business.to_string(),
            tax_label: crate::Sender::default().tax_label(l),
        }
    }

    /// As `sender` presents itself: its identity in the foot, its account for transfers,
    /// its country's name for the tax.
    pub fn with_sender(mut self, sender: &crate::Sender) -> Self {
        self.transfer = sender.transfer(self.locale, &self.reference);
        self.footer = sender.footer();
        self.tax_label = sender.tax_label(self.locale);
        self
    }

    /// The early-payment discount on offer: pay `amount` by `last_day`.
    pub fn with_discount(
        mut self,
        amount: &cobro_domain::Money,
        last_day: chrono::NaiveDate,
    ) -> Self {
        let l = self.locale;
        self.discount = Some(crate::words::discount_offer(
            l,
            &amount.format(l),
            &l.long_date(last_day),
        ));
        self
    }

    /// The client's credit already covers `applied`; `due` is what is left to pay.
    pub fn with_credit(mut self, applied: &cobro_domain::Money, due: &cobro_domain::Money) -> Self {
        self.credit_applied = Some(applied.format(self.locale));
        self.amount_due = due.format(self.locale);
        self
    }

    pub fn subject(&self) -> String {
        match self.locale {
            Locale::Es => format!(
                "Factura {} de {}: {} con vencimiento el {}",
                self.number, self.business, self.amount_due, self.due_date
            ),
            Locale::En => format!(
                "Invoice {} from {}: {} due {}",
                self.number, self.business, self.amount_due, self.due_date
            ),
        }
    }

    /// The message in the client's language, HTML and text.
    pub fn render(&self) -> Result<Rendered, MailError> {
        let (text, html) = match self.locale {
            Locale::Es => (
                IssuedEsText { m: self }.render()?,
                IssuedEsHtml { m: self }.render()?,
            ),
            Locale::En => (
                IssuedEnText { m: self }.render()?,
                IssuedEnHtml { m: self }.render()?,
            ),
        };
        Ok(Rendered {
            subject: self.subject(),
            text,
            html,
        })
    }

    /// The message addressed to the client under its stable `key` (one per sending).
    pub fn email(&self, from: &str, client: &Client, key: &str) -> Result<Email, MailError> {
        let r = self.render()?;
        Ok(Email::to_client(
            from,
            client,
            r.subject,
            (r.text, r.html),
            key.to_string(),
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Template)]
#[template(path = "invoice_issued.es.txt")]
struct IssuedEsText<'a> {
    m: &'a InvoiceIssued,
}

#[derive(Template)]
#[template(path = "invoice_issued.es.html")]
struct IssuedEsHtml<'a> {
    m: &'a InvoiceIssued,
}

#[derive(Template)]
#[template(path = "invoice_issued.en.txt")]
struct IssuedEnText<'a> {
    m: &'a InvoiceIssued,
}

#[derive(Template)]
#[template(path = "invoice_issued.en.html")]
struct IssuedEnHtml<'a> {
    m: &'a InvoiceIssued,
}

/// The receipt: a payment was received on an invoice.
#[derive(Debug, Clone)]
pub struct PaymentReceived {
    pub locale: Locale,
    pub business: String,
    pub client_name: String,
    pub number: String,
    pub concept: String,
    pub received: String,
    pub amount_due: String,
    pub paid_in_full: bool,
    /// The invoice was cancelled: nothing was owed on it, the payment is the client's credit.
    pub void: bool,
    pub credit: Option<String>,
    pub date: String,
    pub reference: String,
    /// Who the business is, in one line.
    pub footer: String,
}

impl PaymentReceived {
    /// `received` is this payment; `balance` the invoice's balance after it.
    pub fn new(
        business: &str,
        client: &Client,
        invoice: &Invoice,
        received: &cobro_domain::Money,
        balance: &cobro_domain::Balance,
        date: chrono::NaiveDate,
    ) -> Self {
        let l = client.locale;
        PaymentReceived {
            locale: l,
            business: business.to_string(),
            client_name: client.name.clone(),
            number: invoice.number.clone(),
            concept: invoice.concept().to_string(),
            received: received.format(l),
            amount_due: balance.amount_due.format(l),
            paid_in_full: balance.amount_due.is_zero()
                && balance.status != cobro_domain::InvoiceStatus::Void,
            void: balance.status == cobro_domain::InvoiceStatus::Void,
            credit: balance
                .credit
                .is_positive()
                .then(|| balance.credit.format(l)),
            date: l.long_date(date),
            reference: invoice.payment_reference.grouped(),
            footer: business.to_string(),
        }
    }

    /// With `sender`'s identity in the foot.
    pub fn with_sender(mut self, sender: &crate::Sender) -> Self {
        self.footer = sender.footer();
        self
    }

    pub fn subject(&self) -> String {
        match self.locale {
            Locale::Es if self.void => format!(
                "Recibimos tu pago de {} — la factura {} está anulada: queda a tu favor",
                self.received, self.number
            ),
            Locale::Es => format!(
                "Recibimos tu pago de {} — factura {}",
                self.received, self.number
            ),
            Locale::En if self.void => format!(
                "We received your payment of {} — invoice {} is void: it is your credit",
                self.received, self.number
            ),
            Locale::En => format!(
                "We received your payment of {} — invoice {}",
                self.received, self.number
            ),
        }
    }

    /// The receipt addressed to the client; `key` names the payment, so it is sent once.
    pub fn email(&self, from: &str, client: &Client, key: &str) -> Result<Email, MailError> {
        let body = match self.locale {
            Locale::Es => (
                ReceiptEsText { m: self }.render()?,
                ReceiptEsHtml { m: self }.render()?,
            ),
            Locale::En => (
                ReceiptEnText { m: self }.render()?,
                ReceiptEnHtml { m: self }.render()?,
            ),
        };
        Ok(Email::to_client(
            from,
            client,
            self.subject(),
            body,
            key.to_string(),
        ))
    }
}

#[derive(Template)]
#[template(path = "payment_received.es.txt")]
struct ReceiptEsText<'a> {
    m: &'a PaymentReceived,
}

#[derive(Template)]
#[template(path = "payment_received.es.html")]
struct ReceiptEsHtml<'a> {
    m: &'a PaymentReceived,
}

#[derive(Template)]
#[template(path = "payment_received.en.txt")]
struct ReceiptEnText<'a> {
    m: &'a PaymentReceived,
}

#[derive(Template)]
#[template(path = "payment_received.en.html")]
struct ReceiptEnHtml<'a> {
    m: &'a PaymentReceived,
}

/// What changed on an invoice that the client should hear of.
#[derive(Debug, Clone)]
pub enum News {
    /// The invoice was cancelled: nothing more is owed on it.
    Voided {
        /// What the business chose to tell the client (its internal reason is not sent).
        message: Option<String>,
        /// What the client had paid on it, now their credit.
        credit: Option<String>,
    },
    /// Money went back to the client.
    Refunded {
        amount: String,
        /// Still owed after it (when anything is).
        amount_due: Option<String>,
        /// Still the client's credit after it (when anything is).
        credit: Option<String>,
    },
}

/// A message about an invoice the client already has: it was voided, or money went back.
#[derive(Debug, Clone)]
pub struct InvoiceUpdate {
    pub locale: Locale,
    pub business: String,
    pub client_name: String,
    pub number: String,
    pub concept: String,
    pub news: News,
    /// Who the business is, in one line.
    pub footer: String,
}

impl InvoiceUpdate {
    pub fn new(business: &str, client: &Client, invoice: &Invoice, news: News) -> Self {
        InvoiceUpdate {
            locale: client.locale,
            business: business.to_string(),
            client_name: client.name.clone(),
            number: invoice.number.clone(),
            concept: invoice.concept().to_string(),
            news,
            footer: business.to_string(),
        }
    }

    /// With `sender`'s identity in the foot.
    pub fn with_sender(mut self, sender: &crate::Sender) -> Self {
        self.footer = sender.footer();
        self
    }

    pub fn subject(&self) -> String {
        let n = &self.number;
        match (&self.news, self.locale) {
            (News::Voided { .. }, Locale::Es) => format!("Factura {n} anulada — {}", self.business),
            (News::Voided { .. }, Locale::En) => {
                format!("Invoice {n} cancelled — {}", self.business)
            }
            (News::Refunded { amount, .. }, Locale::Es) => {
                format!("Te devolvimos {amount} — factura {n}")
            }
            (News::Refunded { amount, .. }, Locale::En) => {
                format!("We refunded you {amount} — invoice {n}")
            }
        }
    }

    /// The message addressed to the client under its stable `key`. The HTML is the text's
    /// paragraphs, escaped, so both always say the same.
    pub fn email(&self, from: &str, client: &Client, key: &str) -> Result<Email, MailError> {
        let text = match self.locale {
            Locale::Es => UpdateEs { m: self }.render()?,
            Locale::En => UpdateEn { m: self }.render()?,
        };
        let html = paragraphs_html(self.locale, self.subject(), &text)?;
        Ok(Email::to_client(
            from,
            client,
            self.subject(),
            (text, html),
            key.to_string(),
        ))
    }
}

#[derive(Template)]
#[template(path = "update.es.txt")]
struct UpdateEs<'a> {
    m: &'a InvoiceUpdate,
}

#[derive(Template)]
#[template(path = "update.en.txt")]
struct UpdateEn<'a> {
    m: &'a InvoiceUpdate,
}

/// A message whose text is the whole message (its HTML the text's paragraphs) to one
/// address, under its stable `key`.
pub(crate) fn text_email(
    locale: Locale,
    subject: String,
    text: String,
    (from, to_name, to): (&str, String, &str),
    key: &str,
) -> Result<Email, MailError> {
    let html = paragraphs_html(locale, subject.clone(), &text)?;
    Ok(Email {
        from: from.to_string(),
        to_name,
        to_email: to.to_string(),
        subject,
        text,
        html,
        key: key.to_string(),
    })
}

/// The HTML part of a message whose text is the whole message: the text's paragraphs,
/// escaped, so both always say the same.
pub(crate) fn paragraphs_html(
    locale: Locale,
    title: String,
    text: &str,
) -> Result<String, MailError> {
    let paragraphs: Vec<&str> = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    Ok(UpdateHtml {
        lang: locale.code(),
        title,
        paragraphs,
    }
    .render()?)
}

#[derive(Template)]
#[template(path = "update.html")]
struct UpdateHtml<'a> {
    lang: &'a str,
    title: String,
    paragraphs: Vec<&'a str>,
}
