//! The weekly summary e-mailed to the business (its address and the console's owners):
//! what came in, what is overdue, what is promised and what broke, per currency, with a
//! link to the console. Plain text in the reader's language, the same text as HTML.

use askama::Template;
use cobro_domain::Locale;

use crate::messages::text_email;
use crate::{Email, MailError};

/// One currency's lines, amounts already written in the reader's language.
#[derive(Debug, Clone)]
pub struct SummaryCurrency {
    pub code: String,
    pub collected: String,
    pub overdue_total: String,
    /// Each bucket past due, named, with its amount.
    pub overdue: Vec<(String, String)>,
    pub promised: String,
    pub broken_promises: u32,
    pub broken_plans: u32,
    /// Who owes most past due: name and amount.
    pub top: Vec<(String, String)>,
}

/// The summary of one week.
#[derive(Debug, Clone)]
pub struct WeeklySummary {
    pub locale: Locale,
    pub business: String,
    /// The reader's name, when a person.
    pub name: Option<String>,
    /// The week before: its Monday and its Sunday.
    pub last_week: (chrono::NaiveDate, chrono::NaiveDate),
    pub currencies: Vec<SummaryCurrency>,
    /// Invoices escalated for collection in the week before.
    pub escalations: usize,
    /// The console's home page.
    pub link: String,
}

impl WeeklySummary {
    /// The week before, as written ("lunes, 23 de noviembre de 2026 al domingo, 29 de
    /// noviembre de 2026").
    pub fn last_week_words(&self) -> String {
        let (l, (from, to)) = (self.locale, self.last_week);
        match l {
            Locale::Es => format!("{} al {}", l.long_date(from), l.long_date(to)),
            Locale::En => format!("{} to {}", l.long_date(from), l.long_date(to)),
        }
    }

    pub fn subject(&self) -> String {
        match self.locale {
            Locale::Es => format!("Resumen semanal de cobranza — {}", self.business),
            Locale::En => format!("Weekly collections summary — {}", self.business),
        }
    }

    /// The message to `to` under its stable `key`.
    pub fn email(&self, from: &str, to: &str, key: &str) -> Result<Email, MailError> {
        let text = match self.locale {
            Locale::Es => WeeklyEs { m: self }.render()?,
            Locale::En => WeeklyEn { m: self }.render()?,
        };
        text_email(
            self.locale,
            self.subject(),
            text,
            (
                from,
                self.name.clone().unwrap_or_else(|| self.business.clone()),
                to,
            ),
            key,
        )
    }
}

#[derive(Template)]
#[template(path = "weekly.es.txt")]
struct WeeklyEs<'a> {
    m: &'a WeeklySummary,
}

#[derive(Template)]
#[template(path = "weekly.en.txt")]
struct WeeklyEn<'a> {
    m: &'a WeeklySummary,
}
