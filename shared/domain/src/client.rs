//! Clients of the business: who is billed, in which language and time zone.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::ids::ClientId;
use crate::locale::Locale;
use crate::money::{AmountInput, Currency, Money};
use crate::taxid::{self, Country};
use crate::validation::{FieldErrors, optional_text, required_text};

use crate::calendar::DEFAULT_TIMEZONE;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub locale: Locale,
    #[schema(value_type = String, example = "America/Santiago")]
    pub timezone: Tz,
    /// As its country writes it (`76.543.210-3`), checked by its check digits when the
    /// `country` is one cobro knows (CL, MX, CO, AR, BR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    /// ISO 3166-1 alpha-2 (`CL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "CL")]
    pub country: Option<Country>,
    /// Created knowing that this client has the same tax id as that one (a branch, a
    /// second contact): the tax id stays the first client's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares_tax_id_with: Option<ClientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_limit: Option<Money>,
    /// This client's overrides of the business's dunning policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<crate::invoice::TermsInput>,
    /// This client's deposit policy (over the business's default); a zero one waives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit: Option<crate::deposit::DepositTerms>,
    /// The agreed budget: invoices that would take the total invoiced over it are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Money>,
    pub created_at: DateTime<Utc>,
}

impl Client {
    /// What identifies the client's tax id across clients: `{country}:{compact}` (`-` for
    /// no country), e.g. `CL:765432103`.
    pub fn tax_key(&self) -> Option<String> {
        let raw = self.tax_id.as_deref()?;
        let compact = taxid::parse(self.country, raw)
            .or_else(|_| taxid::parse(None, raw))
            .ok()?
            .compact;
        let country = self.country.as_ref().map_or("-", |c| c.code());
        (!compact.is_empty()).then(|| format!("{country}:{compact}"))
    }

    /// The tax id this client claims as theirs alone (none when it shares another's).
    pub fn tax_claim(&self) -> Option<String> {
        self.shares_tax_id_with
            .is_none()
            .then(|| self.tax_key())
            .flatten()
    }

    /// The one currency of what is asked of this client (credit limit, budget, fixed
    /// deposit), if any of them is set.
    pub fn currency(&self) -> Option<Currency> {
        self.credit_limit
            .or(self.budget)
            .map(|m| m.currency())
            .or(self.deposit.and_then(|d| d.currency()))
    }
}

/// How a client is reached: checked the same way when they are created and changed.
struct Contact {
    name: String,
    email: String,
    phone: Option<String>,
    locale: Locale,
    timezone: Tz,
}

impl Contact {
    fn validate(
        errors: &mut FieldErrors,
        name: &str,
        email: &str,
        phone: Option<&str>,
        locale: Option<&str>,
        timezone: Option<&str>,
    ) -> Contact {
        let name = required_text(errors, "name", name, 200);
        let email = crate::validation::email(errors, "email", email);
        let phone = optional_text(errors, "phone", phone, 40);
        if let Some(p) = &phone
            && !errors.has("phone")
            && !p
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        {
            errors.add("phone", "may contain only digits, spaces and + - ( ) .");
        }
        let locale = match locale {
            None => Locale::default(),
            Some(l) => Locale::parse(l).unwrap_or_else(|| {
                errors.add("locale", "must be `es` or `en`");
                Locale::default()
            }),
        };
        let timezone = match timezone {
            None => DEFAULT_TIMEZONE,
            Some(tz) => tz.trim().parse::<Tz>().unwrap_or_else(|_| {
                errors.add(
                    "timezone",
                    "must be an IANA time zone such as America/Santiago",
                );
                DEFAULT_TIMEZONE
            }),
        };
        Contact {
            name,
            email,
            phone,
            locale,
            timezone,
        }
    }
}

/// Changes to a client's contact and dunning terms: a field left out stays as it is;
/// `phone: null` removes the phone and `terms: null` puts the client back on the
/// business's policy. The tax id and country are not changed here: they are the client's
/// identity (checked against every other client's) and stay as they were created.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientChanges {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "crate::invoice::present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// `es` or `en`: the language of what the client is sent.
    #[serde(default)]
    pub locale: Option<String>,
    /// An IANA time zone: the client's days and business hours.
    #[serde(default)]
    pub timezone: Option<String>,
    /// The client's overrides of the business's policy, whole (what is left out of it
    /// follows the business's).
    #[serde(default, deserialize_with = "crate::invoice::present")]
    #[schema(value_type = Option<crate::invoice::TermsInput>)]
    pub terms: Option<Option<crate::invoice::TermsInput>>,
}

impl ClientChanges {
    /// The client with these changes, checked like a new client's, and the names of the
    /// fields that changed (none: nothing to write).
    pub fn apply(&self, client: &Client) -> Result<(Client, Vec<&'static str>), FieldErrors> {
        let mut errors = FieldErrors::new();
        let phone = match &self.phone {
            Some(p) => p.as_deref(),
            None => client.phone.as_deref(),
        };
        let contact = Contact::validate(
            &mut errors,
            self.name.as_deref().unwrap_or(&client.name),
            self.email.as_deref().unwrap_or(&client.email),
            phone,
            Some(self.locale.as_deref().unwrap_or(client.locale.code())),
            Some(self.timezone.as_deref().unwrap_or(client.timezone.name())),
        );
        let terms = match &self.terms {
            Some(t) => t.clone(),
            None => client.terms.clone(),
        };
        if let Some(t) = &terms {
            t.apply(
                &crate::invoice::Terms::default(),
                &mut errors,
                "terms",
                client.currency(),
            );
        }
        errors.finish(|| {
            let changed = Client {
                name: contact.name,
                email: contact.email,
                phone: contact.phone,
                locale: contact.locale,
                timezone: contact.timezone,
                terms: terms.filter(|t| *t != crate::invoice::TermsInput::default()),
                ..client.clone()
            };
            let fields = [
                ("name", changed.name != client.name),
                ("email", changed.email != client.email),
                ("phone", changed.phone != client.phone),
                ("locale", changed.locale != client.locale),
                ("timezone", changed.timezone != client.timezone),
                ("terms", changed.terms != client.terms),
            ];
            let names = fields.iter().filter(|f| f.1).map(|f| f.0).collect();
            (changed, names)
        })
    }
}

/// What a caller asks for, before validation. Strings stay strings here so every problem
/// can be reported against its field.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub tax_id: Option<String>,
    /// ISO 3166-1 alpha-2: with CL, MX, CO, AR or BR the tax id's check digits are checked.
    #[serde(default)]
    pub country: Option<String>,
    /// This client is meant to have the same tax id as an existing one (else that is a 409
    /// naming the first).
    #[serde(default)]
    pub duplicate_tax_id: bool,
    #[serde(default)]
    pub credit_limit: Option<AmountInput>,
    #[serde(default)]
    pub terms: Option<crate::invoice::TermsInput>,
    #[serde(default)]
    pub deposit: Option<crate::deposit::DepositInput>,
    #[serde(default)]
    pub budget: Option<AmountInput>,
}

impl NewClient {
    pub fn validate(&self, id: ClientId, now: DateTime<Utc>) -> Result<Client, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Contact {
            name,
            email,
            phone,
            locale,
            timezone,
        } = Contact::validate(
            &mut errors,
            &self.name,
            &self.email,
            self.phone.as_deref(),
            self.locale.as_deref(),
            self.timezone.as_deref(),
        );
        let country = match self.country.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Country::parse(c).or_else(|| {
                errors.add(
                    "country",
                    "must be a two-letter country code (ISO 3166-1) such as CL, MX, CO, AR or BR",
                );
                None
            }),
        };
        let tax_id =
            optional_text(&mut errors, "tax_id", self.tax_id.as_deref(), 40).and_then(|raw| {
                match taxid::parse(country, &raw) {
                    Ok(t) => Some(t.display),
                    Err(why) => {
                        errors.add("tax_id", why);
                        None
                    }
                }
            });
        let credit_limit = self
            .credit_limit
            .as_ref()
            .and_then(|c| c.validate(&mut errors, "credit_limit"));
        if credit_limit.is_some_and(|c| c.is_negative()) {
            errors.add("credit_limit.amount", "must not be negative");
        }
        let budget = self
            .budget
            .as_ref()
            .and_then(|b| b.validate(&mut errors, "budget"));
        if budget.is_some_and(|b| !b.is_positive()) {
            errors.add("budget.amount", "must be more than zero");
        }
        let deposit = self
            .deposit
            .as_ref()
            .and_then(|d| d.validate(&mut errors, "deposit"));
        // One client, one currency for what is asked of them: limit, budget, fixed deposit.
        let currencies = [
            ("credit_limit.currency", credit_limit.map(|m| m.currency())),
            ("budget.currency", budget.map(|m| m.currency())),
            ("deposit.currency", deposit.and_then(|d| d.currency())),
        ];
        if let Some((_, Some(first))) = currencies.iter().find(|c| c.1.is_some()) {
            for (field, c) in &currencies[1..] {
                if c.is_some_and(|c| c != *first) {
                    errors.add(
                        *field,
                        format!("must be {first}, the currency of this client's other amounts"),
                    );
                }
            }
        }
        if let Some(t) = &self.terms {
            t.apply(
                &crate::invoice::Terms::default(),
                &mut errors,
                "terms",
                None,
            );
        }
        errors.finish(|| Client {
            id,
            name,
            email,
            phone,
            locale,
            timezone,
            tax_id,
            country,
            shares_tax_id_with: None,
            credit_limit,
            terms: self.terms.clone(),
            deposit,
            budget,
            created_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn now() -> DateTime<Utc> {
        "2026-11-23T12:00:00Z".parse().unwrap()
    }

    fn fields(e: FieldErrors) -> Vec<String> {
        e.errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn defaults_are_spanish_and_santiago() {
        let c = NewClient {
            name: "  Panadería Sol ".into(),
            email: "pagos@sol.cl".into(),
            ..Default::default()
        }
        .validate(ClientId::generate(), now())
        .unwrap();
        assert_eq!(c.name, "Panadería Sol");
        assert_eq!(c.locale, Locale::Es);
        assert_eq!(c.timezone, chrono_tz::America::Santiago);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let err = NewClient {
            name: " ".into(),
            email: "not-an-email".into(),
            phone: Some("call me".into()),
            locale: Some("pt".into()),
            timezone: Some("Mars/Olympus".into()),
            tax_id: Some("76.543.210-K".into()),
            country: Some("CL".into()),
            duplicate_tax_id: false,
            credit_limit: Some(AmountInput {
                amount: dec!(10.5),
                currency: "CLP".into(),
            }),
            terms: Some(crate::invoice::TermsInput {
                grace_days: Some(-3),
                ..Default::default()
            }),
            deposit: Some(crate::deposit::DepositInput {
                percent: Some(dec!(120)),
                ..Default::default()
            }),
            budget: None,
        }
        .validate(ClientId::generate(), now())
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "name",
                "email",
                "phone",
                "locale",
                "timezone",
                "tax_id",
                "credit_limit.amount",
                "deposit.percent",
                "terms.grace_days"
            ]
        );
    }

    #[test]
    fn credit_limit_is_exact_money() {
        let c = NewClient {
            name: "ACME".into(),
            email: "ap@acme.com".into(),
            locale: Some("en".into()),
            timezone: Some("America/Mexico_City".into()),
            credit_limit: Some(AmountInput {
                amount: dec!(5000),
                currency: "mxn".into(),
            }),
            ..Default::default()
        }
        .validate(ClientId::generate(), now())
        .unwrap();
        assert_eq!(c.credit_limit.unwrap().amount().to_string(), "5000.00");
        assert_eq!(c.timezone, chrono_tz::America::Mexico_City);
    }

    fn sol() -> Client {
        NewClient {
            name: "Panadería Sol".into(),
            email: "pagos@sol.cl".into(),
            phone: Some("+56 9 1234 5678".into()),
            tax_id: Some("76.543.210-3".into()),
            country: Some("CL".into()),
            ..Default::default()
        }
        .validate(ClientId::generate(), now())
        .unwrap()
    }

    fn changes(json: &str) -> ClientChanges {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn changes_keep_what_they_leave_out() {
        let before = sol();
        let (after, changed) = changes(r#"{"email":" cobros@sol.cl ","locale":"en"}"#)
            .apply(&before)
            .unwrap();
        assert_eq!(changed, ["email", "locale"]);
        assert_eq!(after.email, "cobros@sol.cl");
        assert_eq!(after.locale, Locale::En);
        assert_eq!(after.name, before.name);
        assert_eq!(after.phone, before.phone);
        assert_eq!(after.tax_id, before.tax_id);
        assert_eq!(after.created_at, before.created_at);
        // The same values again change nothing.
        let (_, none) = changes(r#"{"email":"pagos@sol.cl","name":"Panadería Sol"}"#)
            .apply(&before)
            .unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn null_removes_the_phone_and_the_terms() {
        let mut before = sol();
        before.terms = Some(crate::invoice::TermsInput {
            grace_days: Some(5),
            ..Default::default()
        });
        let (after, changed) = changes(r#"{"phone":null,"terms":null}"#)
            .apply(&before)
            .unwrap();
        assert_eq!(changed, ["phone", "terms"]);
        assert_eq!(after.phone, None);
        assert_eq!(after.terms, None);
        // Terms with nothing in them are no terms.
        let (after, _) = changes(r#"{"terms":{}}"#).apply(&before).unwrap();
        assert_eq!(after.terms, None);
    }

    #[test]
    fn changes_are_checked_like_a_new_client() {
        let err = changes(
            r#"{"name":"","email":"x","phone":"call me","locale":"pt","timezone":"Mars/Olympus",
                "terms":{"grace_days":91,"reminder_offsets":[7,3],"late_fee":{"kind":"percent","value":150}}}"#,
        )
        .apply(&sol())
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "name",
                "email",
                "phone",
                "locale",
                "timezone",
                "terms.grace_days",
                "terms.reminder_offsets",
                "terms.late_fee.value",
            ]
        );
        // The tax id and country are not changed this way.
        assert!(serde_json::from_str::<ClientChanges>(r#"{"tax_id":"1-9"}"#).is_err());
    }
}
