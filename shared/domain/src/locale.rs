//! The languages cobro writes in: Spanish first, English second.

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Es,
    En,
}

impl Locale {
    pub fn parse(s: &str) -> Option<Locale> {
        match s.trim().to_ascii_lowercase().as_str() {
            "es" => Some(Locale::Es),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Locale::Es => "es",
            Locale::En => "en",
        }
    }

    /// The chrono locale used for month and weekday names.
    pub fn chrono(&self) -> chrono::Locale {
        match self {
            Locale::Es => chrono::Locale::es_CL,
            Locale::En => chrono::Locale::en_US,
        }
    }

    /// A date written out in full: "lunes, 7 de diciembre de 2026" / "Monday, December 7, 2026".
    pub fn long_date(&self, date: chrono::NaiveDate) -> String {
        let pattern = match self {
            Locale::Es => "%A, %-d de %B de %Y",
            Locale::En => "%A, %B %-d, %Y",
        };
        date.format_localized(pattern, self.chrono()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn long_dates_in_both_languages() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(Locale::Es.long_date(d), "lunes, 7 de diciembre de 2026");
        assert_eq!(Locale::En.long_date(d), "Monday, December 7, 2026");
    }

    #[test]
    fn parses_only_known_locales() {
        assert_eq!(Locale::parse("ES"), Some(Locale::Es));
        assert_eq!(Locale::parse("en"), Some(Locale::En));
        assert_eq!(Locale::parse("pt"), None);
        assert_eq!(Locale::default(), Locale::Es);
    }
}
