//! The dunning messages: reminders (before, on and after the due date), the late-fee
//! notice, and the escalation report to the business. Every client message says WHAT
//! (invoice and concept), HOW MUCH is due now, WHEN (the due date, days left or late),
//! WHERE to pay (button, link, bank reference) and WHAT HAPPENS NEXT; the tone firms up
//! stage by stage and stays courteous.

use askama::Template;
use chrono::NaiveDate;
use cobro_domain::{Client, Invoice, Locale, Money};

use crate::{Email, MailError};

/// How a reminder sounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Before the due date: a friendly heads-up.
    Upcoming,
    /// On the due date.
    DueToday,
    /// First reminders after the due date.
    Overdue,
    /// The last reminder before escalation.
    Final,
    /// A late fee is announced.
    FeeNotice,
}

/// A reminder or late-fee notice, already formatted for the client's language.
#[derive(Debug, Clone)]
pub struct Reminder {
    pub locale: Locale,
    pub tone: Tone,
    pub business: String,
    pub client_name: String,
    pub number: String,
    pub concept: String,
    pub amount_due: String,
    pub currency: String,
    pub due_date: String,
    /// Days until the due date (positive) or since it (negative).
    pub days_left: i64,
    /// `days_left` as a positive count, for wording.
    pub days: i64,
    pub pay_url: String,
    pub reference: String,
    /// Late fees already on the invoice, included in `amount_due`.
    pub late_fees: Option<String>,
    /// The notice's fee and the day it is charged.
    pub fee: Option<String>,
    pub fee_date: Option<String>,
    /// The last day to pay without the fee (the day before it is charged).
    pub fee_deadline: Option<String>,
    /// When the invoice goes to collection, if it is still unpaid.
    pub escalation_date: Option<String>,
}

/// What a reminder is built from.
pub struct ReminderFacts<'a> {
    pub business: &'a str,
    pub client: &'a Client,
    pub invoice: &'a Invoice,
    pub amount_due: &'a Money,
    pub late_fees: &'a Money,
    pub today: NaiveDate,
    pub pay_url: &'a str,
    pub tone: Tone,
    /// For a notice: the fee and the day it is charged.
    pub fee: Option<(&'a Money, NaiveDate)>,
    pub escalation_date: Option<NaiveDate>,
}

impl Reminder {
    pub fn new(f: ReminderFacts<'_>) -> Self {
        let l = f.client.locale;
        let days_left = (f.invoice.due_date - f.today).num_days();
        Reminder {
            locale: l,
            tone: f.tone,
            business: f.business.to_string(),
            client_name: f.client.name.clone(),
            number: f.invoice.number.clone(),
            concept: f.invoice.concept().to_string(),
            amount_due: f.amount_due.format(l),
            currency: f.invoice.currency.code().to_string(),
            due_date: l.long_date(f.invoice.due_date),
            days_left,
            days: days_left.abs(),
            pay_url: f.pay_url.to_string(),
            reference: f.invoice.payment_reference.grouped(),
            late_fees: f.late_fees.is_positive().then(|| f.late_fees.format(l)),
            fee: f.fee.map(|(m, _)| m.format(l)),
            fee_date: f.fee.map(|(_, d)| l.long_date(d)),
            fee_deadline: f
                .fee
                .and_then(|(_, d)| d.pred_opt())
                .map(|d| l.long_date(d)),
            escalation_date: f.escalation_date.map(|d| l.long_date(d)),
        }
    }

    pub fn subject(&self) -> String {
        let (n, due, amount, days) = (&self.number, &self.due_date, &self.amount_due, self.days);
        let plural = if days == 1 { "" } else { "s" };
        match (self.locale, self.tone) {
            (Locale::Es, Tone::Upcoming) => format!("Recordatorio: la factura {n} vence el {due}"),
            (Locale::Es, Tone::DueToday) => format!("Hoy vence la factura {n}: {amount}"),
            (Locale::Es, Tone::Overdue) => {
                format!("Factura {n} vencida hace {days} día{plural}: {amount}")
            }
            (Locale::Es, Tone::Final) => {
                format!("Último aviso: factura {n} vencida hace {days} día{plural}")
            }
            (Locale::Es, Tone::FeeNotice) => format!("Aviso de recargo por atraso: factura {n}"),
            (Locale::En, Tone::Upcoming) => format!("Reminder: invoice {n} is due {due}"),
            (Locale::En, Tone::DueToday) => format!("Invoice {n} is due today: {amount}"),
            (Locale::En, Tone::Overdue) => {
                format!("Invoice {n} is {days} day{plural} overdue: {amount}")
            }
            (Locale::En, Tone::Final) => {
                format!("Final notice: invoice {n} is {days} day{plural} overdue")
            }
            (Locale::En, Tone::FeeNotice) => format!("Late fee notice: invoice {n}"),
        }
    }

    /// The message to the client; `key` names the stage, so a retry is the same message.
    pub fn email(&self, from: &str, client: &Client, key: &str) -> Result<Email, MailError> {
        let body = match self.locale {
            Locale::Es => (
                ReminderEsText { m: self }.render()?,
                ReminderEsHtml { m: self }.render()?,
            ),
            Locale::En => (
                ReminderEnText { m: self }.render()?,
                ReminderEnHtml { m: self }.render()?,
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

    /// The opening: greeting, what this is about, late fees already included.
    pub fn paragraphs(&self) -> Vec<String> {
        let (n, b, c, due, days) = (
            &self.number,
            &self.business,
            &self.concept,
            &self.due_date,
            self.days,
        );
        let es_s = if days == 1 { "" } else { "s" };
        let mut p = Vec::new();
        match self.locale {
            Locale::Es => {
                p.push(format!("Hola {}:", self.client_name));
                p.push(match self.tone {
                    Tone::Upcoming => format!("Te recordamos que la factura {n} de {b} ({c}) vence el {due}, en {days} día{es_s}."),
                    Tone::DueToday => format!("Hoy, {due}, vence la factura {n} de {b} ({c})."),
                    Tone::Final => format!("La factura {n} de {b} ({c}) venció el {due} y sigue impaga después de {days} días. Este es nuestro último aviso antes de derivarla a cobranza."),
                    Tone::Overdue | Tone::FeeNotice => format!("La factura {n} de {b} ({c}) venció el {due}, hace {days} día{es_s}, y aún no registramos su pago."),
                });
                if let Some(fees) = &self.late_fees {
                    p.push(format!("El monto incluye recargos por atraso de {fees}."));
                }
            }
            Locale::En => {
                p.push(format!("Hello {},", self.client_name));
                p.push(match self.tone {
                    Tone::Upcoming => format!("This is a reminder that invoice {n} from {b} ({c}) is due on {due}, in {days} day{es_s}."),
                    Tone::DueToday => format!("Invoice {n} from {b} ({c}) is due today, {due}."),
                    Tone::Final => format!("Invoice {n} from {b} ({c}) was due on {due} and is still unpaid after {days} days. This is our final notice before we pass it on for collection."),
                    Tone::Overdue | Tone::FeeNotice => format!("Invoice {n} from {b} ({c}) was due on {due}, {days} day{es_s} ago, and we have not received payment yet."),
                });
                if let Some(fees) = &self.late_fees {
                    p.push(format!("The amount includes late fees of {fees}."));
                }
            }
        }
        p
    }

    /// What happens next, and the sign-off.
    pub fn closing(&self) -> Vec<String> {
        let mut p = Vec::new();
        let es = self.locale == Locale::Es;
        if let (Some(fee), Some(date), Some(deadline)) =
            (&self.fee, &self.fee_date, &self.fee_deadline)
        {
            p.push(if es {
                format!("Importante: si no recibimos el pago a más tardar el {deadline}, el {date} se agregará a la factura un recargo por atraso de {fee}, según sus condiciones.")
            } else {
                format!("Please note: if we have not received payment by {deadline}, a late fee of {fee} will be added to the invoice on {date}, as its terms provide.")
            });
        }
        if let Some(date) = &self.escalation_date {
            p.push(if es {
                format!("Si la factura sigue impaga el {date}, la derivaremos a cobranza externa.")
            } else {
                format!(
                    "If the invoice is still unpaid on {date}, we will pass it on for collection."
                )
            });
        }
        p.push(if es {
            "Si ya pagaste, gracias y disculpa la molestia: no necesitas hacer nada más. Si necesitas otra fecha, responde este correo y lo conversamos.".into()
        } else {
            "If you have already paid, thank you, and please disregard this message. If you need another date, reply to this e-mail and we will work it out.".into()
        });
        p.push(if es {
            format!("Saludos,\n{}", self.business)
        } else {
            format!("Kind regards,\n{}", self.business)
        });
        p
    }

    fn is(&self, tone: &str) -> bool {
        matches!(
            (tone, self.tone),
            ("upcoming", Tone::Upcoming)
                | ("today", Tone::DueToday)
                | ("overdue", Tone::Overdue)
                | ("final", Tone::Final)
                | ("notice", Tone::FeeNotice)
        )
    }
}

#[derive(Template)]
#[template(path = "reminder.es.txt")]
struct ReminderEsText<'a> {
    m: &'a Reminder,
}

#[derive(Template)]
#[template(path = "reminder.es.html")]
struct ReminderEsHtml<'a> {
    m: &'a Reminder,
}

#[derive(Template)]
#[template(path = "reminder.en.txt")]
struct ReminderEnText<'a> {
    m: &'a Reminder,
}

#[derive(Template)]
#[template(path = "reminder.en.html")]
struct ReminderEnHtml<'a> {
    m: &'a Reminder,
}

/// One notice sent to the client, as the escalation report lists it.
#[derive(Debug, Clone)]
pub struct NoticeLine {
    pub date: String,
    pub what: String,
}

/// The business is told an invoice was escalated.
#[derive(Debug, Clone)]
pub struct Escalated {
    pub locale: Locale,
    pub business: String,
    pub client_name: String,
    pub client_email: String,
    pub tax_id: String,
    pub number: String,
    pub concept: String,
    pub amount_due: String,
    pub due_date: String,
    pub days_overdue: i64,
    pub notices: Vec<NoticeLine>,
    pub report_path: String,
}

impl Escalated {
    pub fn subject(&self) -> String {
        match self.locale {
            Locale::Es => format!(
                "Factura {} escalada a cobranza: {} ({} días de atraso)",
                self.number, self.amount_due, self.days_overdue
            ),
            Locale::En => format!(
                "Invoice {} escalated for collection: {} ({} days overdue)",
                self.number, self.amount_due, self.days_overdue
            ),
        }
    }

    pub fn email(&self, from: &str, to: &str, key: &str) -> Result<Email, MailError> {
        let text = match self.locale {
            Locale::Es => EscalatedEs { m: self }.render()?,
            Locale::En => EscalatedEn { m: self }.render()?,
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
    m: &'a Escalated,
}

#[derive(Template)]
#[template(path = "escalated.en.txt")]
struct EscalatedEn<'a> {
    m: &'a Escalated,
}
