//! The dunning messages: reminders (before, on and after the due date), the late-fee
//! notice, and the escalation report to the business. Every client message says WHAT
//! (invoice and concept), HOW MUCH is due now, WHEN (the due date, days left or late),
//! WHERE to pay (button, link, bank reference) and WHAT HAPPENS NEXT; the tone firms up
//! stage by stage and stays courteous.

use askama::Template;
use chrono::NaiveDate;
use cobro_domain::{Client, Instalment, Invoice, Locale, Money};

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
    /// A promise to pay, confirmed in writing when it is made.
    PromiseConfirmed,
    /// The day before a promise's date.
    PromiseDue,
    /// A payment plan, confirmed in writing when it is made.
    PlanConfirmed,
    /// An instalment of a plan is coming up (or due today).
    InstalmentDue,
    /// The due date was moved.
    Extended,
    /// A deposit asked for before credit is past its due date.
    DepositDue,
}

/// What a promise, plan or extension message is about.
#[derive(Debug, Clone, Copy)]
pub enum Arrangement<'a> {
    Promise {
        amount: &'a Money,
        date: NaiveDate,
    },
    /// A plan's instalments; `current`: the one a reminder is about (from 1).
    Plan {
        instalments: &'a [Instalment],
        current: Option<u32>,
    },
    /// `message`: what the business wrote for the client (its own reason is never sent).
    Extension {
        from: NaiveDate,
        to: NaiveDate,
        message: Option<&'a str>,
    },
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
    /// How to pay by transfer, in a sentence.
    pub transfer: String,
    /// Who the business is, in one line.
    pub footer: String,
    /// Late fees already on the invoice, included in `amount_due`.
    pub late_fees: Option<String>,
    /// The early-payment discount still on offer, in a sentence.
    pub discount: Option<String>,
    /// The notice's fee and the day it is charged.
    pub fee: Option<String>,
    pub fee_date: Option<String>,
    /// The last day to pay without the fee (the day before it is charged).
    pub fee_deadline: Option<String>,
    /// When the invoice goes to collection, if it is still unpaid.
    pub escalation_date: Option<String>,
    /// What the headline figure is (the amount due now, a promise, an instalment)…
    pub amount_label: String,
    /// …the figure…
    pub headline: String,
    /// …and by when.
    pub date_label: String,
    pub headline_date: String,
    /// A plan's instalments, one line each.
    pub schedule: Vec<String>,
    /// Why the due date moved.
    pub reason: Option<String>,
    /// Days an instalment may be late before the plan ends.
    pub grace_days: u32,
    /// A promise's date / the instalment's number and count / the old due date.
    detail: Option<(String, String)>,
}

/// What a reminder is built from.
pub struct ReminderFacts<'a> {
    /// Who sends it (its name in the text, its identity in the foot, its account).
    pub sender: &'a crate::Sender,
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
    /// The promise, plan or extension the message is about.
    pub arrangement: Option<Arrangement<'a>>,
    /// The due date in force (moved by extensions).
    pub due_date: NaiveDate,
    /// The early-payment discount still on offer: what to pay, by which day.
    pub discount: Option<(&'a Money, NaiveDate)>,
}

impl Reminder {
    pub fn new(f: ReminderFacts<'_>) -> Self {
        let l = f.client.locale;
        let es = l == Locale::Es;
        let days_left = cobro_domain::calendar::days_between(f.today, f.due_date);
        let mut amount_label = if es {
            "Monto a pagar hoy"
        } else {
            "Amount due now"
        }
        .to_string();
        let mut headline = f.amount_due.format(l);
        let mut date_label = if es { "Vencimiento" } else { "Due date" }.to_string();
        let mut headline_date = l.long_date(f.due_date);
        let (mut schedule, mut reason, mut detail) = (Vec::new(), None, None);
        match f.arrangement {
            Some(Arrangement::Promise { amount, date }) => {
                amount_label = if es {
                    "Monto comprometido"
                } else {
                    "Amount promised"
                }
                .into();
                headline = amount.format(l);
                date_label = if es { "A más tardar" } else { "By" }.into();
                headline_date = l.long_date(date);
                detail = Some((l.long_date(date), String::new()));
            }
            Some(Arrangement::Plan {
                instalments,
                current,
            }) => {
                schedule = instalments
                    .iter()
                    .zip(1..)
                    .map(|(i, k)| {
                        format!("{k}. {} — {}", l.long_date(i.due_date), i.amount.format(l))
                    })
                    .collect();
                let shown = current
                    .and_then(|k| {
                        let i = (k as usize).checked_sub(1)?;
                        instalments.get(i).map(|i| (k, i))
                    })
                    .or_else(|| instalments.first().map(|i| (1, i)));
                if let Some((k, i)) = shown {
                    amount_label = if es {
                        format!("Cuota {k} de {}", instalments.len())
                    } else {
                        format!("Instalment {k} of {}", instalments.len())
                    };
                    headline = i.amount.format(l);
                    headline_date = l.long_date(i.due_date);
                    detail = Some((k.to_string(), instalments.len().to_string()));
                }
            }
            Some(Arrangement::Extension { from, to, message }) => {
                date_label = if es {
                    "Nueva fecha de vencimiento"
                } else {
                    "New due date"
                }
                .into();
                headline_date = l.long_date(to);
                reason = message.map(str::to_string);
                detail = Some((l.long_date(from), String::new()));
            }
            None => {}
        }
        Reminder {
            amount_label,
            headline,
            date_label,
            headline_date,
            schedule,
            reason,
            detail,
            grace_days: f.invoice.terms.grace_days,
            locale: l,
            tone: f.tone,
            business: f.sender.name.clone(),
            client_name: f.client.name.clone(),
            number: f.invoice.number.clone(),
            concept: f.invoice.concept().to_string(),
            amount_due: f.amount_due.format(l),
            currency: f.invoice.currency.code().to_string(),
            due_date: l.long_date(f.due_date),
            days_left,
            days: days_left.abs(),
            pay_url: f.pay_url.to_string(),
            reference: f.invoice.payment_reference.grouped(),
            transfer: f.sender.transfer(l, &f.invoice.payment_reference.grouped()),
            footer: f.sender.footer(),
            late_fees: f.late_fees.is_positive().then(|| f.late_fees.format(l)),
            discount: f
                .discount
                .map(|(m, d)| crate::words::discount_offer(l, &m.format(l), &l.long_date(d))),
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
            (Locale::Es, Tone::DepositDue) => format!("Depósito pendiente: {amount} (factura {n})"),
            (Locale::En, Tone::DepositDue) => {
                format!("Deposit outstanding: {amount} (invoice {n})")
            }
            (Locale::Es, Tone::PromiseConfirmed) => {
                format!(
                    "Confirmamos tu compromiso de pago: factura {n}, {} el {}",
                    self.headline, self.headline_date
                )
            }
            (Locale::Es, Tone::PromiseDue) => {
                format!(
                    "Mañana vence tu compromiso de pago: factura {n}, {}",
                    self.headline
                )
            }
            (Locale::Es, Tone::PlanConfirmed) => {
                format!(
                    "Confirmamos tu plan de pago: factura {n} en {} cuotas",
                    self.schedule.len()
                )
            }
            (Locale::Es, Tone::InstalmentDue) => {
                format!(
                    "{} de la factura {n}: {} el {}",
                    self.amount_label, self.headline, self.headline_date
                )
            }
            (Locale::Es, Tone::Extended) => {
                format!(
                    "Nueva fecha de vencimiento de la factura {n}: {}",
                    self.headline_date
                )
            }
            (Locale::En, Tone::Upcoming) => format!("Reminder: invoice {n} is due {due}"),
            (Locale::En, Tone::DueToday) => format!("Invoice {n} is due today: {amount}"),
            (Locale::En, Tone::Overdue) => {
                format!("Invoice {n} is {days} day{plural} overdue: {amount}")
            }
            (Locale::En, Tone::Final) => {
                format!("Final notice: invoice {n} is {days} day{plural} overdue")
            }
            (Locale::En, Tone::FeeNotice) => format!("Late fee notice: invoice {n}"),
            (Locale::En, Tone::PromiseConfirmed) => {
                format!(
                    "Your promise to pay, confirmed: invoice {n}, {} by {}",
                    self.headline, self.headline_date
                )
            }
            (Locale::En, Tone::PromiseDue) => {
                format!(
                    "Your promise to pay is due tomorrow: invoice {n}, {}",
                    self.headline
                )
            }
            (Locale::En, Tone::PlanConfirmed) => {
                format!(
                    "Your payment plan, confirmed: invoice {n} in {} instalments",
                    self.schedule.len()
                )
            }
            (Locale::En, Tone::InstalmentDue) => {
                format!(
                    "{} of invoice {n}: {} due {}",
                    self.amount_label, self.headline, self.headline_date
                )
            }
            (Locale::En, Tone::Extended) => {
                format!("New due date for invoice {n}: {}", self.headline_date)
            }
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
                    Tone::PromiseConfirmed => format!("Gracias por tu compromiso. Confirmamos por escrito que pagarás {} de la factura {n} de {b} ({c}) a más tardar el {}. Hasta esa fecha no te enviaremos recordatorios de cobro.", self.headline, self.headline_date),
                    Tone::PromiseDue => format!("Te recordamos que mañana, {}, vence tu compromiso de pagar {} de la factura {n} de {b} ({c}).", self.headline_date, self.headline),
                    Tone::PlanConfirmed => format!("Confirmamos por escrito el plan de pago de la factura {n} de {b} ({c}) en {} cuotas mensuales:", self.schedule.len()),
                    Tone::InstalmentDue => format!("Te recordamos que la cuota {} de {} de tu plan de pago de la factura {n} de {b} ({c}), de {}, vence el {}.", self.detail_a(), self.detail_b(), self.headline, self.headline_date),
                    Tone::Extended => format!("Acordamos mover el vencimiento de la factura {n} de {b} ({c}) del {} al {}.", self.detail_a(), self.headline_date),
                    Tone::DepositDue => format!("El depósito que {b} te pidió antes de empezar a trabajar a crédito (factura {n}) venció el {due} y aún no lo recibimos. Apenas llegue, tu cuenta queda activa y el monto se descuenta de tus próximas facturas."),
                });
                if let Some(r) = &self.reason {
                    p.push(r.clone());
                }
                if let Some(fees) = &self.late_fees {
                    p.push(format!("El monto incluye recargos por atraso de {fees}."));
                }
                p.extend(self.discount.clone());
            }
            Locale::En => {
                p.push(format!("Hello {},", self.client_name));
                p.push(match self.tone {
                    Tone::Upcoming => format!("This is a reminder that invoice {n} from {b} ({c}) is due on {due}, in {days} day{es_s}."),
                    Tone::DueToday => format!("Invoice {n} from {b} ({c}) is due today, {due}."),
                    Tone::Final => format!("Invoice {n} from {b} ({c}) was due on {due} and is still unpaid after {days} days. This is our final notice before we pass it on for collection."),
                    Tone::Overdue | Tone::FeeNotice => format!("Invoice {n} from {b} ({c}) was due on {due}, {days} day{es_s} ago, and we have not received payment yet."),
                    Tone::PromiseConfirmed => format!("Thank you for your commitment. We confirm in writing that you will pay {} of invoice {n} from {b} ({c}) by {}. Until then we will not send you payment reminders.", self.headline, self.headline_date),
                    Tone::PromiseDue => format!("A reminder that tomorrow, {}, is the date you promised to pay {} of invoice {n} from {b} ({c}).", self.headline_date, self.headline),
                    Tone::PlanConfirmed => format!("We confirm in writing the payment plan for invoice {n} from {b} ({c}) in {} monthly instalments:", self.schedule.len()),
                    Tone::InstalmentDue => format!("A reminder that instalment {} of {} of your payment plan for invoice {n} from {b} ({c}), {}, is due on {}.", self.detail_a(), self.detail_b(), self.headline, self.headline_date),
                    Tone::Extended => format!("As agreed, the due date of invoice {n} from {b} ({c}) moves from {} to {}.", self.detail_a(), self.headline_date),
                    Tone::DepositDue => format!("The deposit {b} asked for before working with you on credit (invoice {n}) was due on {due} and we have not received it yet. As soon as it arrives your account is active, and the amount is taken off your next invoices."),
                });
                if let Some(r) = &self.reason {
                    p.push(r.clone());
                }
                if let Some(fees) = &self.late_fees {
                    p.push(format!("The amount includes late fees of {fees}."));
                }
                p.extend(self.discount.clone());
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
        match self.tone {
            Tone::PromiseConfirmed | Tone::PromiseDue => p.push(if es {
                "Si el pago no llega a tiempo, el compromiso quedará como incumplido y retomaremos los recordatorios habituales.".into()
            } else {
                "If the payment does not arrive in time, the promise will be recorded as broken and the usual reminders will resume.".into()
            }),
            Tone::PlanConfirmed | Tone::InstalmentDue => p.push(if es {
                format!("Los pagos se aplican a la cuota más antigua pendiente. Si una cuota queda impaga más de {} días después de su fecha, el plan se anula y todo el saldo pendiente vuelve a ser exigible.", self.grace_days)
            } else {
                format!("Payments go to the oldest unpaid instalment. If an instalment is still unpaid {} days after its date, the plan ends and the whole remaining balance is due again.", self.grace_days)
            }),
            _ => {}
        }
        let confirmation = matches!(
            self.tone,
            Tone::PromiseConfirmed | Tone::PlanConfirmed | Tone::Extended
        );
        p.push(if confirmation && es {
            "Si algo no coincide con lo que acordamos, responde este correo.".into()
        } else if confirmation {
            "If anything here differs from what we agreed, please reply to this e-mail.".into()
        } else if es {
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

    fn detail_a(&self) -> &str {
        self.detail.as_ref().map_or("", |d| d.0.as_str())
    }

    fn detail_b(&self) -> &str {
        self.detail.as_ref().map_or("", |d| d.1.as_str())
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
