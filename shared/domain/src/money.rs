//! Exact money: a `rust_decimal::Decimal` amount in an ISO 4217 currency.
//!
//! The number of decimals a currency allows (its *exponent*: CLP and JPY 0, USD, MXN, COP,
//! ARS and EUR 2, KWD 3) comes from the `iso_currency` crate, never from a table of ours.
//!
//! Rounding rule: amounts that are *typed in* (unit prices, payments) must already fit the
//! currency's exponent; more decimals is an error, never silently rounded. Amounts that are
//! *computed* (a quantity times a price, tax, a percentage) are rounded once, half-even
//! ("banker's rounding") to the currency's exponent, by [`Currency::round`].

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::locale::Locale;
use crate::validation::FieldErrors;

/// An ISO 4217 currency that has a defined number of minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency code `{0}` (expected an ISO 4217 code such as CLP, USD, MXN)")]
    UnknownCurrency(String),
    #[error("{0} has no minor units and cannot be used for invoicing")]
    NoMinorUnits(String),
    #[error("{amount} has more decimals than {currency} allows ({exponent})")]
    TooManyDecimals {
        amount: Decimal,
        currency: Currency,
        exponent: u32,
    },
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
}

impl Currency {
    /// Parses an ISO 4217 alphabetic code, case-insensitively ("clp" is CLP, as Stripe writes it).
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        let currency = iso_currency::Currency::from_code(&upper)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))?;
        // Precious metals, SDR, test codes (XAU, XDR, XTS, XXX) have no exponent.
        if currency.exponent().is_none() {
            return Err(MoneyError::NoMinorUnits(upper));
        }
        Ok(Currency(currency))
    }

    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Number of decimals in the currency's minor unit (ISO 4217 "exponent").
    pub fn exponent(&self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(0))
    }

    /// Rounds a computed amount half-even to this currency's exponent.
    pub fn round(&self, amount: Decimal) -> Decimal {
        let mut rounded =
            amount.round_dp_with_strategy(self.exponent(), RoundingStrategy::MidpointNearestEven);
        rounded.rescale(self.exponent());
        rounded
    }

    /// True when `amount` has no more significant decimals than the currency allows.
    pub fn fits(&self, amount: Decimal) -> bool {
        amount.normalize().scale() <= self.exponent()
    }

    /// The symbol used when writing amounts for people in `locale`.
    fn symbol(&self, locale: Locale) -> Symbol {
        match (self.code(), locale) {
            // The local peso of the reader: "$150.000".
            ("CLP" | "MXN" | "COP" | "ARS" | "UYU", Locale::Es) => Symbol::Prefix("$"),
            ("USD", Locale::Es) => Symbol::Prefix("US$"),
            ("USD", Locale::En) => Symbol::Prefix("US$"),
            ("EUR", Locale::Es) => Symbol::Suffix("€"),
            ("EUR", Locale::En) => Symbol::Prefix("€"),
            (code, _) => Symbol::Code(code),
        }
    }
}

enum Symbol {
    Prefix(&'static str),
    Suffix(&'static str),
    Code(&'static str),
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// Serializes money as its decimal amount alone (`"100000"`), where the currency is
/// said once beside it, as the API's views do.
pub fn as_decimal<S: Serializer>(m: &Money, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&m.amount())
}

/// In the API's description: an ISO 4217 code.
impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("ISO 4217 currency code"))
            .pattern(Some("^[A-Z]{3}$"))
            .into()
    }
}

impl utoipa::ToSchema for Currency {}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// An exact amount of money. Its amount always fits its currency's exponent and is kept
/// at exactly that scale (CLP "150000", USD "19.90").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "MoneyRepr", into = "MoneyRepr")]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

#[derive(Serialize, Deserialize)]
struct MoneyRepr {
    amount: Decimal,
    currency: Currency,
}

impl TryFrom<MoneyRepr> for Money {
    type Error = MoneyError;
    fn try_from(r: MoneyRepr) -> Result<Self, Self::Error> {
        Money::new(r.amount, r.currency)
    }
}

impl From<Money> for MoneyRepr {
    fn from(m: Money) -> Self {
        MoneyRepr {
            amount: m.amount,
            currency: m.currency,
        }
    }
}

impl Money {
    /// An amount typed in by someone: it must fit the currency's exponent exactly.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        if !currency.fits(amount) {
            return Err(MoneyError::TooManyDecimals {
                amount,
                currency,
                exponent: currency.exponent(),
            });
        }
        let mut amount = amount;
        amount.rescale(currency.exponent());
        Ok(Money { amount, currency })
    }

    /// A computed amount: rounded half-even to the currency's exponent.
    pub fn rounded(amount: Decimal, currency: Currency) -> Self {
        Money {
            amount: currency.round(amount),
            currency,
        }
    }

    pub fn zero(currency: Currency) -> Self {
        Money::rounded(Decimal::ZERO, currency)
    }

    /// From integer minor units (Stripe's `amount: 1999, currency: "usd"` is USD 19.99).
    pub fn from_minor_units(units: i64, currency: Currency) -> Self {
        Money {
            amount: Decimal::new(units, currency.exponent()),
            currency,
        }
    }

    /// To integer minor units; `None` if it does not fit an i64.
    pub fn to_minor_units(&self) -> Option<i64> {
        let mut m = self.amount.mantissa();
        // The amount is kept at the currency's scale, so the mantissa is in minor units.
        let scale = self.amount.scale();
        let exp = self.currency.exponent();
        if scale < exp {
            m = m.checked_mul(10i128.checked_pow(exp.checked_sub(scale)?)?)?;
        }
        i64::try_from(m).ok()
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    pub fn is_positive(&self) -> bool {
        self.amount > Decimal::ZERO
    }

    pub fn is_negative(&self) -> bool {
        self.amount < Decimal::ZERO
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }

    /// Adds two amounts of the same currency; different currencies are an error.
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::rounded(amount, self.currency))
    }

    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::rounded(amount, self.currency))
    }

    /// Multiplies by an exact factor (a quantity) and rounds half-even.
    pub fn checked_mul(&self, factor: Decimal) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::rounded(amount, self.currency))
    }

    /// `percent` % of this amount ("19" is 19 %), rounded half-even.
    pub fn percent(&self, percent: Decimal) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(percent)
            .and_then(|a| a.checked_div(Decimal::ONE_HUNDRED))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::rounded(amount, self.currency))
    }

    /// Sums amounts that must all be in `currency`.
    pub fn sum<'a>(
        currency: Currency,
        items: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }

    /// The amount as people in `locale` write it: es "$150.000", "US$1.234,50";
    /// en "CLP 150,000", "US$1,234.50".
    pub fn format(&self, locale: Locale) -> String {
        let (thousands, decimal) = match locale {
            Locale::Es => ('.', ','),
            Locale::En => (',', '.'),
        };
        let abs = self.amount.abs();
        let text = format!("{abs:.prec$}", prec = self.currency.exponent() as usize);
        let (int_part, frac_part) = match text.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (text.as_str(), None),
        };
        let mut grouped = String::with_capacity(text.len().saturating_mul(2));
        for (i, ch) in int_part.chars().enumerate() {
            if i > 0 && int_part.len().saturating_sub(i) % 3 == 0 {
                grouped.push(thousands);
            }
            grouped.push(ch);
        }
        if let Some(frac) = frac_part {
            grouped.push(decimal);
            grouped.push_str(frac);
        }
        let sign = if self.is_negative() { "-" } else { "" };
        match self.currency.symbol(locale) {
            Symbol::Prefix(sym) => format!("{sign}{sym}{grouped}"),
            Symbol::Suffix(sym) => format!("{sign}{grouped} {sym}"),
            Symbol::Code(code) => format!("{sign}{code} {grouped}"),
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, self.amount)
    }
}

/// An amount as typed: a decimal and a currency code.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmountInput {
    pub amount: rust_decimal::Decimal,
    pub currency: String,
}

impl AmountInput {
    /// Validates into exact money, reporting under `field`.
    pub fn validate(&self, errors: &mut FieldErrors, field: &str) -> Option<Money> {
        let currency = match Currency::parse(&self.currency) {
            Ok(c) => c,
            Err(e) => {
                errors.add(format!("{field}.currency"), e.to_string());
                return None;
            }
        };
        match Money::new(self.amount, currency) {
            Ok(m) => Some(m),
            Err(e) => {
                errors.add(format!("{field}.amount"), e.to_string());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn exponents_come_from_iso_4217() {
        assert_eq!(c("CLP").exponent(), 0);
        assert_eq!(c("JPY").exponent(), 0);
        for code in ["USD", "MXN", "COP", "ARS", "EUR"] {
            assert_eq!(c(code).exponent(), 2, "{code}");
        }
        assert_eq!(c("KWD").exponent(), 3);
        assert_eq!(c("clp"), c("CLP"));
    }

    #[test]
    fn unknown_and_unitless_currencies_are_rejected() {
        assert!(matches!(
            Currency::parse("ABC"),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!(matches!(
            Currency::parse("XAU"),
            Err(MoneyError::NoMinorUnits(_))
        ));
        assert!(Currency::parse("").is_err());
    }

    #[test]
    fn typed_amounts_must_fit_the_exponent() {
        assert!(matches!(
            Money::new(dec!(1000.5), c("CLP")),
            Err(MoneyError::TooManyDecimals { exponent: 0, .. })
        ));
        assert!(Money::new(dec!(1000.00), c("CLP")).is_ok());
        assert!(Money::new(dec!(19.999), c("USD")).is_err());
        assert_eq!(
            Money::new(dec!(19.9), c("USD"))
                .unwrap()
                .amount()
                .to_string(),
            "19.90"
        );
    }

    #[test]
    fn computed_amounts_round_half_even() {
        assert_eq!(Money::rounded(dec!(0.5), c("CLP")).amount(), dec!(0));
        assert_eq!(Money::rounded(dec!(1.5), c("CLP")).amount(), dec!(2));
        assert_eq!(Money::rounded(dec!(2.5), c("CLP")).amount(), dec!(2));
        assert_eq!(Money::rounded(dec!(0.125), c("USD")).amount(), dec!(0.12));
        assert_eq!(Money::rounded(dec!(0.135), c("USD")).amount(), dec!(0.14));
        // 19 % of CLP 149.970 is 28.494,3 -> 28.494
        let base = Money::new(dec!(149970), c("CLP")).unwrap();
        assert_eq!(base.percent(dec!(19)).unwrap().amount(), dec!(28494));
    }

    #[test]
    fn different_currencies_do_not_add() {
        let a = Money::new(dec!(1), c("USD")).unwrap();
        let b = Money::new(dec!(1), c("CLP")).unwrap();
        assert_eq!(
            a.checked_add(&b),
            Err(MoneyError::CurrencyMismatch(c("USD"), c("CLP")))
        );
        assert!(a.checked_sub(&b).is_err());
        assert!(Money::sum(c("USD"), [&a, &b]).is_err());
    }

    #[test]
    fn minor_units_use_the_same_exponent_table() {
        assert_eq!(
            Money::from_minor_units(150000, c("CLP")).amount(),
            dec!(150000)
        );
        assert_eq!(
            Money::from_minor_units(1999, c("USD")).amount(),
            dec!(19.99)
        );
        assert_eq!(
            Money::new(dec!(19.99), c("USD")).unwrap().to_minor_units(),
            Some(1999)
        );
        assert_eq!(
            Money::new(dec!(150000), c("CLP")).unwrap().to_minor_units(),
            Some(150000)
        );
    }

    #[test]
    fn formats_for_the_reader() {
        let clp = Money::new(dec!(150000), c("CLP")).unwrap();
        assert_eq!(clp.format(Locale::Es), "$150.000");
        assert_eq!(clp.format(Locale::En), "CLP 150,000");
        let usd = Money::new(dec!(1234.5), c("USD")).unwrap();
        assert_eq!(usd.format(Locale::Es), "US$1.234,50");
        assert_eq!(usd.format(Locale::En), "US$1,234.50");
        let eur = Money::new(dec!(1234567.89), c("EUR")).unwrap();
        assert_eq!(eur.format(Locale::Es), "1.234.567,89 €");
        assert_eq!(Money::zero(c("CLP")).format(Locale::Es), "$0");
        assert_eq!(
            Money::new(dec!(-999), c("MXN")).unwrap().format(Locale::Es),
            "-$999,00"
        );
        assert_eq!(
            Money::new(dec!(100), c("BRL")).unwrap().format(Locale::Es),
            "BRL 100,00"
        );
    }

    #[test]
    fn serializes_amounts_as_decimal_strings() {
        let m = Money::new(dec!(178464), c("CLP")).unwrap();
        let json = serde_json::to_value(m).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"amount": "178464", "currency": "CLP"})
        );
        let back: Money = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
        assert!(
            serde_json::from_value::<Money>(
                serde_json::json!({"amount": "1.5", "currency": "CLP"})
            )
            .is_err()
        );
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(vec!["CLP", "USD", "MXN", "COP", "ARS", "JPY", "KWD"])
            .prop_map(|code| Currency::parse(code).unwrap())
    }

    proptest! {
        #[test]
        fn minor_units_round_trip(units in -1_000_000_000_000i64..1_000_000_000_000, cur in currency()) {
            let m = Money::from_minor_units(units, cur);
            prop_assert!(cur.fits(m.amount()));
            prop_assert_eq!(m.to_minor_units(), Some(units));
        }

        #[test]
        fn rounding_is_idempotent_and_within_half_a_unit(mantissa in -10_000_000_000i64..10_000_000_000, scale in 0u32..8, cur in currency()) {
            let raw = Decimal::new(mantissa, scale);
            let once = cur.round(raw);
            prop_assert_eq!(cur.round(once), once);
            prop_assert!(cur.fits(once));
            let half_unit = Decimal::new(5, cur.exponent() + 1);
            prop_assert!((once - raw).abs() <= half_unit);
        }

        #[test]
        fn sums_are_exact_and_order_free(units in prop::collection::vec(-1_000_000_000i64..1_000_000_000, 0..20), cur in currency()) {
            let items: Vec<Money> = units.iter().map(|u| Money::from_minor_units(*u, cur)).collect();
            let total = Money::sum(cur, &items).unwrap();
            prop_assert_eq!(total.to_minor_units(), Some(units.iter().sum::<i64>()));
            let reversed = Money::sum(cur, items.iter().rev()).unwrap();
            prop_assert_eq!(total, reversed);
        }
    }
}
