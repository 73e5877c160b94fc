//! Secrets from SSM Parameter Store, read once at a cold start.
//!
//! Each secret setting may be given directly (`COBRO_STRIPE_WEBHOOK_SECRETS=whsec_…`, for
//! the local stack and tests) or by naming a SecureString parameter in
//! `{SETTING}_PARAMETER` (`COBRO_STRIPE_WEBHOOK_SECRETS_PARAMETER=/cobro/prod/stripe-webhook-secrets`),
//! which is what the SAM template does. All named parameters are fetched in one
//! `GetParameters` call with decryption; a parameter that does not exist, or a call that
//! fails, stops the start with a message naming it: a webhook function that started
//! without its secrets would refuse every event.
//!
//! Only the functions that use a secret are given its parameter name and the IAM right to
//! read it (the template): the sweep, the deposit check and the business API read none.

use std::collections::HashMap;

use crate::config::ConfigError;

/// The settings that are secrets, and so may come from a parameter.
pub const SECRET_SETTINGS: [&str; 5] = [
    "COBRO_STRIPE_WEBHOOK_SECRETS",
    "COBRO_STANDARD_WEBHOOK_SECRETS",
    "COBRO_MERCADOPAGO_WEBHOOK_SECRETS",
    "COBRO_MERCADOPAGO_ACCESS_TOKEN",
    "COBRO_STRIPE_API_KEY",
];

/// Which settings to fetch, as (setting, parameter name). Naming a parameter for a setting
/// that is also given directly is refused: one of the two would be silently ignored.
pub fn wanted(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let mut wanted = Vec::new();
    for setting in SECRET_SETTINGS {
        let Some(parameter) = get(&format!("{setting}_PARAMETER")) else {
            continue;
        };
        if get(setting).is_some() {
            return Err(ConfigError(format!(
                "{setting} and {setting}_PARAMETER are both set: give the secret one way"
            )));
        }
        wanted.push((setting, parameter.trim().to_string()));
    }
    Ok(wanted)
}

/// The configuration read through `get`, with the secrets it names fetched from SSM, and
/// the AWS configuration loaded for it: `aws` if given, else from the environment when a
/// table or a parameter needs one (once per process).
pub async fn configure(
    get: impl Fn(&str) -> Option<String>,
    aws: Option<aws_config::SdkConfig>,
) -> Result<(crate::Config, Option<aws_config::SdkConfig>), ConfigError> {
    let wanted = wanted(&get)?;
    let mut aws = aws;
    if aws.is_none() && (!wanted.is_empty() || get("COBRO_TABLE").is_some()) {
        aws = Some(cobro_store::aws::from_env().await);
    }
    let fetched = match &aws {
        Some(sdk) if !wanted.is_empty() => fetch(sdk, &wanted).await?,
        _ => HashMap::new(),
    };
    let config = crate::Config::from_lookup(|k| fetched.get(k).cloned().or_else(|| get(k)))?;
    Ok((config, aws))
}

/// Fetches the wanted parameters (decrypted) in one call: setting → value.
pub async fn fetch(
    sdk: &aws_config::SdkConfig,
    wanted: &[(&'static str, String)],
) -> Result<HashMap<String, String>, ConfigError> {
    let mut names: Vec<String> = wanted.iter().map(|(_, p)| p.clone()).collect();
    names.sort();
    names.dedup();
    let out = aws_sdk_ssm::Client::new(sdk)
        .get_parameters()
        .set_names(Some(names))
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            ConfigError(format!(
                "reading secrets from SSM Parameter Store: {}",
                aws_sdk_ssm::error::DisplayErrorContext(&e)
            ))
        })?;
    let missing = out.invalid_parameters();
    if !missing.is_empty() {
        return Err(ConfigError(format!(
            "SSM parameters not found (create them as SecureString): {}",
            missing.join(", ")
        )));
    }
    let values: HashMap<&str, &str> = out
        .parameters()
        .iter()
        .filter_map(|p| Some((p.name()?, p.value()?)))
        .collect();
    let mut fetched = HashMap::new();
    for (setting, parameter) in wanted {
        let value = values.get(parameter.as_str()).ok_or_else(|| {
            ConfigError(format!(
                "SSM parameter {parameter} ({setting}) came back without a value"
            ))
        })?;
        fetched.insert(setting.to_string(), value.to_string());
    }
    Ok(fetched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn wanted_names_only_the_parameters_given() {
        let get = lookup(&[
            ("COBRO_STRIPE_WEBHOOK_SECRETS_PARAMETER", " /cobro/stripe "),
            ("COBRO_STRIPE_API_KEY_PARAMETER", "/cobro/stripe-key"),
            ("COBRO_MERCADOPAGO_WEBHOOK_SECRETS", "direct"),
        ]);
        assert_eq!(
            wanted(&get).unwrap(),
            vec![
                ("COBRO_STRIPE_WEBHOOK_SECRETS", "/cobro/stripe".to_string()),
                ("COBRO_STRIPE_API_KEY", "/cobro/stripe-key".to_string()),
            ]
        );
        assert!(wanted(&lookup(&[])).unwrap().is_empty());
    }

    #[test]
    fn a_secret_given_both_ways_is_refused() {
        let get = lookup(&[
            (
                "COBRO_STANDARD_WEBHOOK_SECRETS_PARAMETER",
                "/cobro/standard",
            ),
            ("COBRO_STANDARD_WEBHOOK_SECRETS", "whsec_x"),
        ]);
        let err = wanted(&get).unwrap_err();
        assert!(
            err.0.contains("COBRO_STANDARD_WEBHOOK_SECRETS_PARAMETER"),
            "{err}"
        );
    }
}
