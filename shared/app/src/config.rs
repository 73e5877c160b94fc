//! Configuration from the environment, read once at start, failing fast with a clear message.

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailerKind {
    /// `.eml` files under `{data dir}/outbox` (the local default).
    Outbox,
    /// Amazon SES v2 (the default when `COBRO_TABLE` is set).
    Ses,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// DynamoDB table; `None` means the embedded SQLite store in `data_dir`.
    pub table: Option<String>,
    pub data_dir: PathBuf,
    /// Base of pay links, without a trailing slash: links are `{public_url}/pay/{token}`.
    pub public_url: String,
    pub from_email: String,
    pub business_name: String,
    /// Who the business is beyond its name, and its bank account for transfers
    /// (`COBRO_BUSINESS_COUNTRY`, `_TAX_ID`, `_ADDRESS`, `_CONTACT`, `COBRO_BANK_ACCOUNT`);
    /// its `name` is `business_name` (see [`Config::sender`]).
    pub business: cobro_notify::Sender,
    pub invoice_prefix: String,
    pub pay_token_days: u32,
    pub mailer: MailerKind,
    pub ses_configuration_set: Option<String>,
    /// Active webhook secrets per provider (comma-separated in the environment: rotation).
    pub stripe_webhook_secrets: cobro_providers::Secrets,
    pub standard_webhook_secrets: cobro_providers::Secrets,
    pub mercadopago_webhook_secrets: cobro_providers::Secrets,
    /// Bearer token for the Mercado Pago API (payments are fetched after a notification).
    /// (Held redacted, like the webhook secrets.)
    pub mercadopago_access_token: cobro_providers::Secrets,
    pub mercadopago_api_base: String,
    /// Accepted distance between a signature's timestamp and now, both ways.
    pub webhook_tolerance_secs: i64,
    /// The business's default dunning policy (`COBRO_DEFAULT_TERMS`, JSON overrides of the
    /// built-in one); clients and invoices override it field by field.
    pub default_terms: cobro_domain::Terms,
    /// Tiers refused new invoices and per-tier policy overrides (`COBRO_CREDIT_POLICY`).
    pub credit_policy: cobro_domain::standing::CreditPolicy,
    /// Deposits asked of new clients and low tiers (`COBRO_DEPOSIT_POLICY`).
    pub deposit_policy: cobro_domain::deposit::DepositPolicy,
    /// Where escalations are reported (`COBRO_BUSINESS_EMAIL`; default: the sender).
    pub business_email: String,
    /// Language of the messages to the business (`COBRO_BUSINESS_LOCALE`, es or en).
    pub business_locale: cobro_domain::Locale,
    /// Where the business is (`COBRO_BUSINESS_TIMEZONE`, IANA; default America/Santiago):
    /// its days, as `cobro sweep --at +10d` counts them.
    pub business_timezone: chrono_tz::Tz,
    /// Invoices the reminder sweep works on at once (`COBRO_SWEEP_CONCURRENCY`).
    pub sweep_concurrency: usize,
    /// Whether the reminder sweep sends the weekly summary (`COBRO_WEEKLY_SUMMARY`,
    /// `on` or `off`; default on).
    pub weekly_summary: bool,
    /// Offer the local sandbox checkout on pay pages (`cobro serve` only).
    pub sandbox_checkout: bool,
    /// Stripe secret key for Checkout Sessions (`COBRO_STRIPE_API_KEY`); unset: no Stripe
    /// button on the pay page.
    pub stripe_api_key: cobro_providers::Secrets,
    pub stripe_api_base: String,
    /// Other ways to pay shown on the pay page (`COBRO_PAYMENT_INSTRUCTIONS`: "Cash or
    /// cheque at Av. Italia 1234, Providencia, Mon–Fri 9–18").
    pub payment_instructions: Option<String>,
}

/// Webhook secrets `cobro serve` and `cobro webhook send` use when none are configured:
/// for the local stack only (a Lambda without secrets refuses every webhook).
pub const LOCAL_STRIPE_SECRET: &str = "whsec_cobro_local_stripe";
/// `whsec_` + base64 of "cobro-local-standard-webhooks".
pub const LOCAL_STANDARD_SECRET: &str = "whsec_Y29icm8tbG9jYWwtc3RhbmRhcmQtd2ViaG9va3M=";
pub const LOCAL_MERCADOPAGO_SECRET: &str = "cobro-local-mercadopago";

impl Config {
    /// Fills in the local webhook secrets where none are configured.
    pub fn with_local_webhook_secrets(mut self) -> Self {
        if self.stripe_webhook_secrets.is_empty() {
            self.stripe_webhook_secrets = cobro_providers::Secrets::parse(LOCAL_STRIPE_SECRET);
        }
        if self.standard_webhook_secrets.is_empty() {
            self.standard_webhook_secrets = cobro_providers::Secrets::parse(LOCAL_STANDARD_SECRET);
        }
        if self.mercadopago_webhook_secrets.is_empty() {
            self.mercadopago_webhook_secrets =
                cobro_providers::Secrets::parse(LOCAL_MERCADOPAGO_SECRET);
        }
        self
    }
}

/// A setting from the process environment (blank counts as unset).
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// A deposit policy from JSON: a deposit (`{"percent": …}` or `{"amount": …, "currency":
/// …}`, with `due_days`, `overdue_after_days`, `hold`) plus an optional `tiers` list
/// (default `["D"]`).
fn deposit_policy(json: &str) -> Result<cobro_domain::deposit::DepositPolicy, String> {
    let mut value: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|e| e.to_string())?;
    let tiers = match value.remove("tiers") {
        None => cobro_domain::deposit::DepositPolicy::default().tiers,
        Some(t) => serde_json::from_value(t).map_err(|e| format!("tiers: {e}"))?,
    };
    let input: cobro_domain::deposit::DepositInput =
        serde_json::from_value(value.into()).map_err(|e| e.to_string())?;
    let mut errors = cobro_domain::FieldErrors::new();
    let terms = input.validate(&mut errors, "deposit");
    if let Some(e) = errors.errors.first() {
        return Err(format!("{} {}", e.field, e.message));
    }
    Ok(cobro_domain::deposit::DepositPolicy { terms, tiers })
}

/// The business's identity and bank account from the environment; a tax id whose check
/// digits fail for the business's country, or an account that is not the JSON it should
/// be, stops the start.
fn business_identity(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<cobro_notify::Sender, ConfigError> {
    let text = |name: &str| {
        get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let country = match text("COBRO_BUSINESS_COUNTRY") {
        None => None,
        Some(c) => Some(cobro_domain::taxid::Country::parse(&c).ok_or_else(|| {
            ConfigError(format!(
                "COBRO_BUSINESS_COUNTRY must be a two-letter country code such as CL, got `{c}`"
            ))
        })?),
    };
    let tax_id = match text("COBRO_BUSINESS_TAX_ID") {
        None => None,
        Some(t) => Some(
            cobro_domain::taxid::parse(country, &t)
                .map_err(|why| ConfigError(format!("COBRO_BUSINESS_TAX_ID {why}")))?
                .display,
        ),
    };
    let bank = match text("COBRO_BANK_ACCOUNT") {
        None => None,
        Some(json) => Some(
            serde_json::from_str::<cobro_notify::BankAccount>(&json).map_err(|e| {
                ConfigError(format!(
                    "COBRO_BANK_ACCOUNT must be JSON {{\"bank\", \"type\", \"number\", \"holder\", \"holder_tax_id\"?, \"proofs_email\"?}}: {e}"
                ))
            })?,
        ),
    };
    Ok(cobro_notify::Sender {
        name: String::new(),
        country,
        tax_id,
        address: text("COBRO_BUSINESS_ADDRESS"),
        contact: text("COBRO_BUSINESS_CONTACT"),
        bank,
    })
}

impl Config {
    /// Who sends the messages: the business's name and identity.
    pub fn sender(&self) -> cobro_notify::Sender {
        cobro_notify::Sender {
            name: self.business_name.clone(),
            ..self.business.clone()
        }
    }

    /// Reads settings through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let table = get("COBRO_TABLE");
        let production = table.is_some();
        let required = |name: &str, local_default: &str| -> Result<String, ConfigError> {
            match get(name) {
                Some(v) => Ok(v.trim().to_string()),
                None if !production => Ok(local_default.to_string()),
                None => Err(ConfigError(format!(
                    "{name} must be set when COBRO_TABLE is set"
                ))),
            }
        };
        let public_url = required("COBRO_PUBLIC_URL", "http://127.0.0.1:8080")?
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
            return Err(ConfigError(format!(
                "COBRO_PUBLIC_URL must be an http(s) URL, got `{public_url}`"
            )));
        }
        let from_email = required("COBRO_FROM_EMAIL", "cobro <cobro@localhost.localdomain>")?;
        let address = match cobro_notify::sender(&from_email) {
            Ok(mailbox) => mailbox.email.to_string(),
            Err(_) => {
                return Err(ConfigError(format!(
                    "COBRO_FROM_EMAIL is not an e-mail address: `{from_email}`"
                )));
            }
        };
        let mailer = match get("COBRO_MAILER").as_deref() {
            None if production => MailerKind::Ses,
            None | Some("outbox") => MailerKind::Outbox,
            Some("ses") => MailerKind::Ses,
            Some(other) => {
                return Err(ConfigError(format!(
                    "COBRO_MAILER must be `outbox` or `ses`, got `{other}`"
                )));
            }
        };
        let pay_token_days = match get("COBRO_PAY_TOKEN_DAYS") {
            None => 90,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| {
                    ConfigError(format!("COBRO_PAY_TOKEN_DAYS must be 1..3650, got `{v}`"))
                })?,
        };
        let webhook_tolerance_secs = match get("COBRO_WEBHOOK_TOLERANCE_SECS") {
            None => cobro_providers::DEFAULT_TOLERANCE_SECS,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|s| (1..=86_400).contains(s))
                .ok_or_else(|| {
                    ConfigError(format!(
                        "COBRO_WEBHOOK_TOLERANCE_SECS must be 1..86400, got `{v}`"
                    ))
                })?,
        };
        let invoice_prefix = get("COBRO_INVOICE_PREFIX").unwrap_or_else(|| "F-".into());
        if invoice_prefix.len() > 10
            || !invoice_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ConfigError(
                "COBRO_INVOICE_PREFIX must be up to 10 letters, digits or -".into(),
            ));
        }
        let default_terms = match get("COBRO_DEFAULT_TERMS") {
            None => cobro_domain::Terms::default(),
            Some(json) => {
                let input: cobro_domain::TermsInput = serde_json::from_str(&json).map_err(|e| {
                    ConfigError(format!("COBRO_DEFAULT_TERMS is not a valid policy: {e}"))
                })?;
                let mut errors = cobro_domain::FieldErrors::new();
                let terms = input.apply(
                    &cobro_domain::Terms::default(),
                    &mut errors,
                    "COBRO_DEFAULT_TERMS",
                    None,
                );
                if let Some(e) = errors.errors.first() {
                    return Err(ConfigError(format!("{} {}", e.field, e.message)));
                }
                terms
            }
        };
        let credit_policy = match get("COBRO_CREDIT_POLICY") {
            None => cobro_domain::standing::CreditPolicy::default(),
            Some(json) => {
                let p: cobro_domain::standing::CreditPolicy =
                    serde_json::from_str(&json).map_err(|e| {
                        ConfigError(format!("COBRO_CREDIT_POLICY is not a valid policy: {e}"))
                    })?;
                let mut errors = cobro_domain::FieldErrors::new();
                for (tier, terms) in &p.tier_terms {
                    let field = format!("COBRO_CREDIT_POLICY.tier_terms.{tier:?}");
                    terms.apply(&default_terms, &mut errors, &field, None);
                }
                if let Some(e) = errors.errors.first() {
                    return Err(ConfigError(format!("{} {}", e.field, e.message)));
                }
                p
            }
        };
        let business_locale = match get("COBRO_BUSINESS_LOCALE") {
            None => cobro_domain::Locale::default(),
            Some(l) => cobro_domain::Locale::parse(&l).ok_or_else(|| {
                ConfigError(format!("COBRO_BUSINESS_LOCALE must be es or en, got `{l}`"))
            })?,
        };
        let business_timezone = match get("COBRO_BUSINESS_TIMEZONE") {
            None => cobro_domain::calendar::DEFAULT_TIMEZONE,
            Some(tz) => tz.parse::<chrono_tz::Tz>().map_err(|_| {
                ConfigError(format!(
                    "COBRO_BUSINESS_TIMEZONE must be an IANA time zone (America/Santiago), got `{tz}`"
                ))
            })?,
        };
        let deposit_policy = match get("COBRO_DEPOSIT_POLICY") {
            None => Default::default(),
            Some(json) => deposit_policy(&json).map_err(|e| {
                ConfigError(format!("COBRO_DEPOSIT_POLICY is not a valid policy: {e}"))
            })?,
        };
        let business_email = get("COBRO_BUSINESS_EMAIL").unwrap_or(address);
        if !email_address::EmailAddress::is_valid(&business_email) {
            return Err(ConfigError(format!(
                "COBRO_BUSINESS_EMAIL is not an e-mail address: `{business_email}`"
            )));
        }
        let weekly_summary = match get("COBRO_WEEKLY_SUMMARY").as_deref().map(str::trim) {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(ConfigError(format!(
                    "COBRO_WEEKLY_SUMMARY must be `on` or `off`, got `{other}`"
                )));
            }
        };
        let sweep_concurrency = match get("COBRO_SWEEP_CONCURRENCY") {
            None => 8,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|c| (1..=64).contains(c))
                .ok_or_else(|| {
                    ConfigError(format!("COBRO_SWEEP_CONCURRENCY must be 1..64, got `{v}`"))
                })?,
        };
        Ok(Config {
            table,
            data_dir: get("COBRO_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".cobro")),
            public_url,
            from_email,
            business_name: get("COBRO_BUSINESS_NAME").unwrap_or_else(|| "cobro".into()),
            business: business_identity(&get)?,
            invoice_prefix,
            pay_token_days,
            mailer,
            ses_configuration_set: get("COBRO_SES_CONFIGURATION_SET"),
            stripe_webhook_secrets: cobro_providers::Secrets::parse(
                &get("COBRO_STRIPE_WEBHOOK_SECRETS").unwrap_or_default(),
            ),
            standard_webhook_secrets: cobro_providers::Secrets::parse(
                &get("COBRO_STANDARD_WEBHOOK_SECRETS").unwrap_or_default(),
            ),
            mercadopago_webhook_secrets: cobro_providers::Secrets::parse(
                &get("COBRO_MERCADOPAGO_WEBHOOK_SECRETS").unwrap_or_default(),
            ),
            mercadopago_access_token: cobro_providers::Secrets::parse(
                &get("COBRO_MERCADOPAGO_ACCESS_TOKEN").unwrap_or_default(),
            ),
            mercadopago_api_base: get("COBRO_MERCADOPAGO_API_BASE")
                .unwrap_or_else(|| "https://api.mercadopago.com".into()),
            webhook_tolerance_secs,
            default_terms,
            credit_policy,
            deposit_policy,
            business_email,
            business_locale,
            business_timezone,
            sweep_concurrency,
            weekly_summary,
            sandbox_checkout: false,
            stripe_api_key: cobro_providers::Secrets::parse(
                &get("COBRO_STRIPE_API_KEY").unwrap_or_default(),
            ),
            stripe_api_base: get("COBRO_STRIPE_API_BASE")
                .unwrap_or_else(|| "https://api.stripe.com".into()),
            payment_instructions: get("COBRO_PAYMENT_INSTRUCTIONS"),
        })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_business_identity_is_checked_at_start() {
        let with = |pairs: &'static [(&'static str, &'static str)]| {
            Config::from_lookup(move |k| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            })
        };
        let ok = with(&[
            ("COBRO_BUSINESS_COUNTRY", "cl"),
            ("COBRO_BUSINESS_TAX_ID", "765432103"),
            ("COBRO_BANK_ACCOUNT", r#"{"bank": "BancoEstado", "type": "cuenta vista", "number": "123", "holder": "Sur"}"#),
        ])
        .unwrap();
        assert_eq!(ok.business.tax_id.as_deref(), Some("76.543.210-3"));
        assert_eq!(ok.business.bank.unwrap().kind, "cuenta vista");
        let bad_rut = with(&[
            ("COBRO_BUSINESS_COUNTRY", "CL"),
            ("COBRO_BUSINESS_TAX_ID", "76.543.210-K"),
        ]);
        assert!(bad_rut.unwrap_err().0.contains("COBRO_BUSINESS_TAX_ID"));
        let bad_bank = with(&[("COBRO_BANK_ACCOUNT", r#"{"bank": "X"}"#)]);
        assert!(bad_bank.unwrap_err().0.contains("COBRO_BANK_ACCOUNT"));
    }

    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn local_defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.table, None);
        assert_eq!(c.mailer, MailerKind::Outbox);
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.pay_token_days, 90);
        assert_eq!(c.invoice_prefix, "F-");
    }

    #[test]
    fn production_needs_its_urls_and_sender() {
        let err = cfg(&[("COBRO_TABLE", "cobro")]).unwrap_err();
        assert!(err.0.contains("COBRO_PUBLIC_URL"));
        let c = cfg(&[
            ("COBRO_TABLE", "cobro"),
            ("COBRO_PUBLIC_URL", "https://pagar.example.cl/"),
            ("COBRO_FROM_EMAIL", "Estudio Sur <cobros@estudiosur.cl>"),
        ])
        .unwrap();
        assert_eq!(c.mailer, MailerKind::Ses);
        assert_eq!(c.public_url, "https://pagar.example.cl");
    }

    #[test]
    fn bad_values_fail_fast() {
        assert!(cfg(&[("COBRO_PUBLIC_URL", "pagar.example.cl")]).is_err());
        assert!(cfg(&[("COBRO_FROM_EMAIL", "nobody")]).is_err());
        assert!(cfg(&[("COBRO_MAILER", "smtp")]).is_err());
        assert!(cfg(&[("COBRO_PAY_TOKEN_DAYS", "0")]).is_err());
        assert!(cfg(&[("COBRO_INVOICE_PREFIX", "F/")]).is_err());
        assert!(cfg(&[("COBRO_DEFAULT_TERMS", r#"{"grace_days": -1}"#)]).is_err());
        assert!(cfg(&[("COBRO_DEFAULT_TERMS", "{")]).is_err());
        assert!(cfg(&[("COBRO_BUSINESS_LOCALE", "fr")]).is_err());
        assert!(cfg(&[("COBRO_BUSINESS_TIMEZONE", "Santiago")]).is_err());
        assert_eq!(
            cfg(&[("COBRO_BUSINESS_TIMEZONE", "America/Bogota")])
                .unwrap()
                .business_timezone,
            chrono_tz::America::Bogota
        );
        assert!(cfg(&[("COBRO_SWEEP_CONCURRENCY", "0")]).is_err());
        assert!(cfg(&[("COBRO_WEEKLY_SUMMARY", "yes")]).is_err());
        assert!(
            !cfg(&[("COBRO_WEEKLY_SUMMARY", "off")])
                .unwrap()
                .weekly_summary
        );
        assert!(cfg(&[]).unwrap().weekly_summary);
        assert!(cfg(&[("COBRO_CREDIT_POLICY", r#"{"restrict_tiers": ["E"]}"#)]).is_err());
        assert!(
            cfg(&[(
                "COBRO_CREDIT_POLICY",
                r#"{"tier_terms": {"C": {"grace_days": -2}}}"#
            )])
            .is_err()
        );
        assert!(cfg(&[("COBRO_CREDIT_POLICY", r#"{"deposit": true}"#)]).is_err());
        for bad in [
            r#"{"percent": "-5"}"#,
            r#"{"percent": "101"}"#,
            r#"{"amount": "10.5", "currency": "CLP"}"#,
            r#"{"percent": "30", "tiers": ["E"]}"#,
            r#"{"percent": "30", "hold": "escrow"}"#,
            r#"{"percent": "30", "refundable": true}"#,
            r#"{}"#,
        ] {
            assert!(cfg(&[("COBRO_DEPOSIT_POLICY", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_deposit_policy_from_the_environment() {
        use cobro_domain::deposit::{DepositRule, Hold};
        use cobro_domain::standing::Tier;
        let c = cfg(&[(
            "COBRO_DEPOSIT_POLICY",
            r#"{"percent": "30", "due_days": 5, "hold": "retainer", "tiers": ["C", "D"]}"#,
        )])
        .unwrap();
        let terms = c.deposit_policy.terms.unwrap();
        assert_eq!(
            terms.rule,
            DepositRule::Percent(rust_decimal::Decimal::from(30))
        );
        assert_eq!((terms.due_days, terms.overdue_after_days), (5, 3));
        assert_eq!(terms.hold, Hold::Retainer);
        assert_eq!(c.deposit_policy.tiers, [Tier::C, Tier::D]);
        let none = cfg(&[]).unwrap().deposit_policy;
        assert_eq!((none.terms, none.tiers), (None, vec![Tier::D]));
        let c = cfg(&[(
            "COBRO_CREDIT_POLICY",
            r#"{"restrict_tiers": ["D"], "restricted": "prepay"}"#,
        )])
        .unwrap();
        assert_eq!(
            c.credit_policy.restricted,
            cobro_domain::standing::Restricted::Prepay
        );
    }

    #[test]
    fn a_credit_policy_from_the_environment() {
        use cobro_domain::standing::Tier;
        let c = cfg(&[(
            "COBRO_CREDIT_POLICY",
            r#"{"restrict_tiers": ["D"], "tier_terms": {"C": {"reminder_offsets": [-10, -3, 0, 2, 7]}}}"#,
        )])
        .unwrap();
        assert_eq!(c.credit_policy.restrict_tiers, [Tier::D]);
        assert_eq!(
            c.credit_policy.tier_terms[&Tier::C].reminder_offsets,
            Some(vec![-10, -3, 0, 2, 7])
        );
        assert_eq!(cfg(&[]).unwrap().credit_policy, Default::default());
    }

    #[test]
    fn a_default_policy_from_the_environment() {
        let c = cfg(&[(
            "COBRO_DEFAULT_TERMS",
            r#"{"grace_days": 5, "late_fee": {"kind": "percent", "value": "1.5", "recurrence": "monthly"}}"#,
        )])
        .unwrap();
        assert_eq!(c.default_terms.grace_days, 5);
        assert_eq!(c.default_terms.late_fee.unwrap().notice_days, 3);
        assert_eq!(c.default_terms.reminder_offsets, [-7, -1, 0, 3, 10, 20]);
    }
}
