//! Sentences for people, in Spanish and English, that are not a whole message: what each
//! dunning stage was, the pay page's words, an invoice's status as a client reads it, an
//! arrangement in course, why the page could not make one. The use cases and pages pick
//! them here by locale; no sentence for people lives in a use case.

use chrono::NaiveDate;
use cobro_domain::arrangement::{Arrangements, Conflict, Outcome};
use cobro_domain::{InvoiceStatus, Locale, Money, Stage, StageRecord, Terms};

/// Any pay link that opens nothing: no hint why.
pub const LINK_GONE: &str = "Enlace no válido o vencido. · This link is not valid or has expired.";
/// A pay-page form whose CSRF value does not match.
pub const FORM_EXPIRED: &str =
    "Formulario vencido: vuelve a abrir el enlace. · This form has expired: open the link again.";
/// A failure of ours on the pay page.
pub const TRY_LATER: &str =
    "Error. Intenta de nuevo en unos minutos · Please try again in a few minutes.";

/// What each done stage was, for people: "recordatorio, 3 días de atraso".
pub fn stage(stage: &StageRecord, locale: Locale) -> String {
    let es = locale == Locale::Es;
    match stage.stage {
        Stage::Reminder(o, _) if o < 0 && es => {
            format!(
                "recordatorio, {} días antes del vencimiento",
                o.unsigned_abs()
            )
        }
        Stage::Reminder(o, _) if o < 0 => {
            format!("reminder, {} days before the due date", o.unsigned_abs())
        }
        Stage::Reminder(0, _) if es => "recordatorio, día del vencimiento".into(),
        Stage::Reminder(0, _) => "reminder, on the due date".into(),
        Stage::Reminder(o, _) if es => format!("recordatorio, {o} días de atraso"),
        Stage::Reminder(o, _) => format!("reminder, {o} days overdue"),
        Stage::FeeNotice(_) => {
            let fee = stage.amount.map(|m| m.format(locale)).unwrap_or_default();
            let day = stage.charge_on.map(|d| d.to_string()).unwrap_or_default();
            if es {
                format!("aviso de recargo de {fee} a cobrar el {day}")
            } else {
                format!("notice of a {fee} late fee charged on {day}")
            }
        }
        Stage::LateFee(_) => {
            let fee = stage.amount.map(|m| m.format(locale)).unwrap_or_default();
            if es {
                format!("recargo por atraso de {fee}")
            } else {
                format!("late fee of {fee}")
            }
        }
        Stage::Escalation if es => "escalada a cobranza".into(),
        Stage::Escalation => "escalated for collection".into(),
        Stage::PromiseReminder(n) if es => format!("recordatorio del compromiso de pago {n}"),
        Stage::PromiseReminder(n) => format!("reminder of promise to pay {n}"),
        Stage::PromiseKept(n) if es => format!("compromiso de pago {n} cumplido"),
        Stage::PromiseKept(n) => format!("promise to pay {n} kept"),
        Stage::PromiseBroken(n) if es => format!("compromiso de pago {n} incumplido"),
        Stage::PromiseBroken(n) => format!("promise to pay {n} broken"),
        Stage::Instalment(_, k, _) if es => format!("recordatorio de la cuota {k}"),
        Stage::Instalment(_, k, _) => format!("reminder of instalment {k}"),
        Stage::PlanBroken(_) if es => "plan de pago anulado por una cuota impaga".into(),
        Stage::PlanBroken(_) => "payment plan ended by a missed instalment".into(),
        Stage::DepositOpened if es => "depósito solicitado".into(),
        Stage::DepositOpened => "deposit asked for".into(),
        Stage::DepositReminder if es => "recordatorio del depósito vencido".into(),
        Stage::DepositReminder => "reminder of the overdue deposit".into(),
        Stage::DepositOverdue if es => "depósito vencido, avisado al negocio".into(),
        Stage::DepositOverdue => "deposit overdue, business told".into(),
        Stage::DepositCleared if es => "depósito pagado".into(),
        Stage::DepositCleared => "deposit paid".into(),
        Stage::Sent if es => "factura enviada al cliente".into(),
        Stage::Sent => "invoice sent to the client".into(),
        Stage::PlanRequested if es => "plan de pago pedido por el cliente".into(),
        Stage::PlanRequested => "payment plan asked for by the client".into(),
    }
}

/// The one line of a deposit invoice.
pub fn deposit_line(l: Locale) -> &'static str {
    match l {
        Locale::Es => "Depósito previo a facturar a crédito",
        Locale::En => "Deposit before invoicing on credit",
    }
}

/// The label of a hosted checkout's button (`stripe`, `mercadopago`, `sandbox`).
pub fn pay_button(l: Locale, method: &str) -> &'static str {
    let es = l == Locale::Es;
    match method {
        "stripe" if es => "Pagar con tarjeta",
        "stripe" => "Pay by card",
        "mercadopago" if es => "Pagar con Mercado Pago",
        "mercadopago" => "Pay with Mercado Pago",
        _ if es => "Pagar en línea (sandbox)",
        _ => "Pay online (sandbox)",
    }
}

/// The status as a client reads it: "Vencida hace 3 días", "Paid", … (`late`: days past
/// the due date in force, `net_paid`: what was paid so far).
pub fn invoice_status(l: Locale, status: InvoiceStatus, late: i64, net_paid: &Money) -> String {
    let es = l == Locale::Es;
    match status {
        InvoiceStatus::Paid | InvoiceStatus::Overpaid => if es { "Pagada" } else { "Paid" }.into(),
        InvoiceStatus::Void => if es { "Anulada" } else { "Void" }.into(),
        InvoiceStatus::Refunded => if es { "Reembolsada" } else { "Refunded" }.into(),
        InvoiceStatus::Disputed => if es { "En disputa" } else { "Disputed" }.into(),
        InvoiceStatus::Draft => if es { "Borrador" } else { "Draft" }.into(),
        _ if late > 0 => {
            let s = if late == 1 { "" } else { "s" };
            if es {
                format!("Vencida hace {late} día{s}")
            } else {
                format!("Overdue by {late} day{s}")
            }
        }
        InvoiceStatus::PartiallyPaid => {
            let paid = net_paid.format(l);
            if es {
                format!("Pagada en parte ({paid})")
            } else {
                format!("Partially paid ({paid})")
            }
        }
        _ => if es { "Pendiente" } else { "Open" }.into(),
    }
}

/// A status as the business reads it in lists: "Pendiente", "Derivada", …
pub fn status_name(l: Locale, status: InvoiceStatus) -> &'static str {
    let es = l == Locale::Es;
    match status {
        InvoiceStatus::Draft => {
            if es {
                "Borrador"
            } else {
                "Draft"
            }
        }
        InvoiceStatus::Open => {
            if es {
                "Pendiente"
            } else {
                "Open"
            }
        }
        InvoiceStatus::PartiallyPaid => {
            if es {
                "Pagada en parte"
            } else {
                "Partially paid"
            }
        }
        InvoiceStatus::Paid => {
            if es {
                "Pagada"
            } else {
                "Paid"
            }
        }
        InvoiceStatus::Overpaid => {
            if es {
                "Pagada de más"
            } else {
                "Overpaid"
            }
        }
        InvoiceStatus::Disputed => {
            if es {
                "En disputa"
            } else {
                "Disputed"
            }
        }
        InvoiceStatus::Escalated => {
            if es {
                "Derivada a cobranza"
            } else {
                "Escalated"
            }
        }
        InvoiceStatus::Refunded => {
            if es {
                "Reembolsada"
            } else {
                "Refunded"
            }
        }
        InvoiceStatus::Void => {
            if es {
                "Anulada"
            } else {
                "Void"
            }
        }
    }
}

/// A plan the page offers: `n` monthly instalments from `first`, their amounts.
pub fn plan_option(l: Locale, n: u32, first: NaiveDate, amounts: &[String]) -> String {
    if l == Locale::Es {
        format!(
            "{n} cuotas mensuales desde el {}: {}",
            l.long_date(first),
            amounts.join(" + ")
        )
    } else {
        format!(
            "{n} monthly instalments from {}: {}",
            l.long_date(first),
            amounts.join(" + ")
        )
    }
}

/// Why the page could not take a promise or plan because of a bad value in `field`.
pub fn refused_field(
    l: Locale,
    field: &str,
    terms: &Terms,
    amount_due: &Money,
    today: NaiveDate,
) -> String {
    let es = l == Locale::Es;
    let latest = l.long_date(cobro_domain::calendar::add_days(
        today,
        i64::from(terms.promise_max_days),
    ));
    let due = amount_due.format(l);
    match field {
        "date" if es => format!("Elige una fecha entre hoy y el {latest}."),
        "date" => format!("Choose a date between today and {latest}."),
        "amount" | "currency" if es => format!(
            "El monto debe ser mayor que cero y no superar el saldo por comprometer ({due} en total)."
        ),
        "amount" | "currency" => format!(
            "The amount must be more than zero and at most the balance not yet promised ({due} in all)."
        ),
        _ if es => "Ese plan de pago no es posible para esta factura.".into(),
        _ => "That payment plan is not possible for this invoice.".into(),
    }
}

/// Why the page could not take a promise or plan now.
pub fn refused(l: Locale, conflict: Conflict, terms: &Terms) -> String {
    let es = l == Locale::Es;
    match (conflict, es) {
        (Conflict::TooManyPromises, true) => format!(
            "Ya tienes {} compromisos abiertos en esta factura.",
            terms.max_open_promises
        ),
        (Conflict::TooManyPromises, false) => format!(
            "You already have {} open promises on this invoice.",
            terms.max_open_promises
        ),
        (Conflict::InAPlan, true) => "Esta factura ya está en un plan de pago.".into(),
        (Conflict::InAPlan, false) => "This invoice is already in a payment plan.".into(),
        (Conflict::PromiseOpen, true) => {
            "Tienes un compromiso de pago abierto: el plan puede pedirse cuando venza.".into()
        }
        (Conflict::PromiseOpen, false) => {
            "You have an open promise to pay: a plan can follow once its date has passed.".into()
        }
        (Conflict::AlreadyPromised, true) => {
            "Ya comprometiste todo el saldo de esta factura.".into()
        }
        (Conflict::AlreadyPromised, false) => "You have already promised the whole balance.".into(),
        (Conflict::Escalated, true) => {
            "Esta factura fue derivada a cobranza: para acordar el pago, escríbenos.".into()
        }
        (Conflict::Escalated, false) => {
            "This invoice was passed on for collection: to agree on payment, write to us.".into()
        }
        (Conflict::TooOverdueForAPlan, true) => {
            "Esta factura ya no admite elegir un plan de pago aquí: escríbenos para acordarlo.".into()
        }
        (Conflict::TooOverdueForAPlan, false) => {
            "A payment plan can no longer be chosen here for this invoice: write to us to agree on one.".into()
        }
        (Conflict::PlansNotOffered, true) => "Esta factura no admite planes de pago.".into(),
        (Conflict::PlansNotOffered, false) => {
            "Payment plans are not offered for this invoice.".into()
        }
        (Conflict::NotPaused, true) => "La cobranza de esta factura no está en pausa.".into(),
        (Conflict::NotPaused, false) => "This invoice's chase is not paused.".into(),
        (Conflict::Deposit | Conflict::NotOpen | Conflict::InvalidLedger, true) => {
            "Esta factura no tiene saldo pendiente.".into()
        }
        (Conflict::Deposit | Conflict::NotOpen | Conflict::InvalidLedger, false) => {
            "Nothing is due on this invoice.".into()
        }
    }
}

/// A plan's instalment on the page: number, date, amount, state.
pub type PlanRow = (u32, String, String, String);

/// Words of the pay page in one language.
pub struct PageWords {
    pub lang: &'static str,
    pub invoice: &'static str,
    pub amount_due: &'static str,
    pub total: &'static str,
    pub due: &'static str,
    pub how_to_pay: &'static str,
    pub transfer: &'static str,
    pub reference: &'static str,
    pub others: &'static str,
    pub print: &'static str,
    pub subtotal: &'static str,
    pub tax: &'static str,
    pub nothing_due: &'static str,
    pub paid_thanks: &'static str,
    pub arranged: &'static str,
    pub plan_requested: &'static str,
    pub need_time: &'static str,
    pub promise_intro: &'static str,
    pub promise_date: &'static str,
    pub promise_amount: &'static str,
    pub promise_button: &'static str,
    pub plan_intro: &'static str,
    pub plan_button: &'static str,
    pub plan_title: &'static str,
}

const ES: PageWords = PageWords {
    lang: "es",
    invoice: "Factura",
    amount_due: "Monto a pagar",
    total: "Total",
    due: "Vencimiento",
    how_to_pay: "Cómo pagar",
    transfer: "Transferencia bancaria: indica esta referencia en el comentario de la transferencia",
    reference: "Referencia",
    others: "Tus otras facturas",
    print: "Versión para imprimir",
    subtotal: "Subtotal",
    tax: "Impuesto",
    nothing_due: "Esta factura no tiene saldo pendiente: no hay nada que pagar.",
    paid_thanks: "¡Gracias! Recibimos tu pago.",
    arranged: "Listo: quedó registrado y te enviamos la confirmación por correo.",
    plan_requested: "Recibimos tu solicitud de plan de pago: te responderemos por correo. Mientras tanto, la factura sigue como está.",
    need_time: "¿Necesitas más tiempo?",
    promise_intro: "Comprométete a pagar en una fecha: hasta entonces no te enviaremos recordatorios de cobro.",
    promise_date: "Pagaré a más tardar el",
    promise_amount: "Monto (vacío: todo el saldo)",
    promise_button: "Comprometer el pago",
    plan_intro: "O paga en cuotas mensuales:",
    plan_button: "Pedir el plan de pago",
    plan_title: "Plan de pago",
};

const EN: PageWords = PageWords {
    lang: "en",
    invoice: "Invoice",
    amount_due: "Amount due",
    total: "Total",
    due: "Due date",
    how_to_pay: "How to pay",
    transfer: "Bank transfer: quote this reference with your transfer",
    reference: "Reference",
    others: "Your other invoices",
    print: "Printable version",
    subtotal: "Subtotal",
    tax: "Tax",
    nothing_due: "Nothing is due on this invoice.",
    paid_thanks: "Thank you! We received your payment.",
    arranged: "Done: it is recorded and we have e-mailed you the confirmation.",
    plan_requested: "We received your request for a payment plan: we will answer by e-mail. Until then the invoice stays as it is.",
    need_time: "Need more time?",
    promise_intro: "Promise to pay by a date: until then we will not send you payment reminders.",
    promise_date: "I will pay by",
    promise_amount: "Amount (empty: the whole balance)",
    promise_button: "Promise to pay",
    plan_intro: "Or pay in monthly instalments:",
    plan_button: "Ask for the payment plan",
    plan_title: "Payment plan",
};

/// The pay page's words in the client's language.
pub fn page(l: Locale) -> &'static PageWords {
    match l {
        Locale::Es => &ES,
        Locale::En => &EN,
    }
}

/// The arrangement in course, in the client's words, and a plan's rows.
pub fn arrangement(l: Locale, a: &Arrangements) -> (Option<String>, Vec<PlanRow>) {
    let es = l == Locale::Es;
    if let Some(plan) = a.active_plan().or_else(|| a.plans.last()) {
        let rows = plan
            .instalments
            .iter()
            .map(|i| {
                let state = match (i.outcome, es) {
                    (Outcome::Kept, true) => "Pagada",
                    (Outcome::Kept, false) => "Paid",
                    (Outcome::Broken, true) => "Impaga",
                    (Outcome::Broken, false) => "Missed",
                    (Outcome::Open, true) => "Pendiente",
                    (Outcome::Open, false) => "Due",
                };
                (
                    i.number,
                    l.long_date(i.due_date),
                    i.amount.format(l),
                    state.to_string(),
                )
            })
            .collect();
        let text = match (plan.outcome, plan.current()) {
            (Outcome::Open, Some(i)) if es => Some(format!(
                "En plan de pago: cuota {} de {}, {}, vence el {}",
                i.number,
                plan.instalments.len(),
                i.amount.format(l),
                l.long_date(i.due_date)
            )),
            (Outcome::Open, Some(i)) => Some(format!(
                "In a payment plan: instalment {} of {}, {}, due {}",
                i.number,
                plan.instalments.len(),
                i.amount.format(l),
                l.long_date(i.due_date)
            )),
            (Outcome::Broken, _) if es => Some(
                "El plan de pago se anuló por una cuota impaga: todo el saldo está vencido.".into(),
            ),
            (Outcome::Broken, _) => Some(
                "The payment plan ended with a missed instalment: the whole balance is due.".into(),
            ),
            _ => None,
        };
        if text.is_some() {
            return (text, rows);
        }
    }
    let open = a.open_promises().last();
    let text = match open {
        Some(p) if es => Some(format!(
            "Compromiso de pago: {} a más tardar el {}",
            p.amount.format(l),
            l.long_date(p.date)
        )),
        Some(p) => Some(format!(
            "Promise to pay: {} by {}",
            p.amount.format(l),
            l.long_date(p.date)
        )),
        None => match a.promises.last() {
            Some(p) if p.outcome == Outcome::Broken && es => Some(format!(
                "Compromiso de pago del {} incumplido.",
                l.long_date(p.date)
            )),
            Some(p) if p.outcome == Outcome::Broken => {
                Some(format!("Promise to pay by {} broken.", l.long_date(p.date)))
            }
            _ => None,
        },
    };
    (text, vec![])
}

/// Why a client's standing lost its points, a sentence each in the business's language,
/// each with the points it took.
pub fn standing_reasons(s: &cobro_domain::standing::Standing, l: Locale) -> Vec<String> {
    let es = l == Locale::Es;
    let f = &s.factors;
    let p = &f.points;
    let mut r = Vec::new();
    if !s.history {
        r.push(
            if es {
                "aún sin historial de pagos"
            } else {
                "no payment history yet"
            }
            .to_string(),
        );
    }
    if p.not_on_time > 0 {
        let (late, of) = (f.settled.saturating_sub(f.paid_on_time), f.settled);
        r.push(if es {
            format!(
                "{late} de {of} facturas saldadas se pagaron después del vencimiento (−{})",
                p.not_on_time
            )
        } else {
            format!(
                "{late} of {of} settled invoices paid after their due date (−{})",
                p.not_on_time
            )
        });
    }
    if p.lateness > 0 {
        let days = f.avg_days_late.unwrap_or_default();
        r.push(if es {
            format!(
                "paga en promedio {days} días tarde, ponderado por monto (−{})",
                p.lateness
            )
        } else {
            format!(
                "{days} days late on average, weighted by amount (−{})",
                p.lateness
            )
        });
    }
    if p.broken > 0 {
        r.push(if es {
            format!(
                "{} compromiso(s) de pago y {} plan(es) incumplidos (−{})",
                f.broken_promises, f.broken_plans, p.broken
            )
        } else {
            format!(
                "{} broken promise(s) and {} broken plan(s) (−{})",
                f.broken_promises, f.broken_plans, p.broken
            )
        });
    }
    if p.disputes > 0 {
        r.push(if es {
            format!(
                "{} contracargo(s) o disputa(s) de pago (−{})",
                f.disputes, p.disputes
            )
        } else {
            format!("{} payment dispute(s) (−{})", f.disputes, p.disputes)
        });
    }
    if p.overdue > 0 {
        let days = f.oldest_overdue_days.unwrap_or_default();
        let n = f.overdue_invoices;
        r.push(if es {
            format!(
                "{n} factura(s) vencida(s) hoy, la más antigua hace {days} días (−{})",
                p.overdue
            )
        } else {
            format!(
                "{n} invoice(s) overdue now, the oldest by {days} days (−{})",
                p.overdue
            )
        });
    }
    match f.oldest_overdue_days {
        Some(d) if d > 30 => r.push(if es {
            format!(
                "con dinero vencido hace más de {} días, el puntaje tiene un tope",
                cap_days(d)
            )
        } else {
            format!(
                "with money overdue more than {} days, the score is capped",
                cap_days(d)
            )
        }),
        _ => {}
    }
    r
}

/// The threshold of the overdue cap that applies (30, 60 or 90 days).
fn cap_days(oldest: i64) -> i64 {
    match oldest {
        d if d > 90 => 90,
        d if d > 60 => 60,
        _ => 30,
    }
}

/// A CSV report's column header (its `key`, as programs read it, in English).
pub fn csv_column(key: &str, l: Locale) -> String {
    if l == Locale::En {
        return key.to_string();
    }
    match key {
        "client_id" => "id cliente",
        "client_name" => "cliente",
        "tax_id" => "RUT / id tributario",
        "email" => "correo",
        "phone" => "teléfono",
        "invoice_id" => "id factura",
        "invoice_number" => "factura",
        "concept" => "concepto",
        "currency" => "moneda",
        "total" => "total",
        "late_fees" => "recargos",
        "paid" => "pagado",
        "amount_due" => "saldo",
        "issue_date" => "emisión",
        "due_date" => "vencimiento",
        "days_overdue" => "días de atraso",
        "escalated_on" => "derivada el",
        "notices" => "avisos enviados",
        "charged_at" => "cobrado el",
        "period" => "período",
        "amount" => "monto",
        "announced_for" => "anunciado para",
        "notice" => "aviso",
        "status" => "estado",
        "paused_until" => "pausada hasta",
        other => other,
    }
    .to_string()
}

/// The early-payment discount on offer, in a sentence: pay `amount` by `date` (both
/// formatted) and the invoice is settled.
pub fn discount_offer(l: Locale, amount: &str, date: &str) -> String {
    match l {
        Locale::Es => format!(
            "Descuento por pronto pago: si pagas {amount} a más tardar el {date}, la factura queda pagada."
        ),
        Locale::En => {
            format!("Early-payment discount: pay {amount} by {date} and the invoice is settled.")
        }
    }
}
