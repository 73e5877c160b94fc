//! Secrets read from SSM Parameter Store at start, against moto's server (the test command
//! starts it): SecureString parameters written with the SSM API, read back by `App::load`.

use std::collections::HashMap;

use aws_sdk_ssm::types::ParameterType;
use cobro_app::App;
use cobro_providers::Secrets;

fn lookup(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<&str, String> = pairs.into_iter().collect();
    move |k| map.get(k).cloned()
}

#[tokio::test]
async fn secrets_come_from_securestring_parameters_in_one_start() {
    let sdk = cobro_store::testing::sdk_config(&cobro_store::testing::endpoint()).await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let prefix = format!(
        "/cobro-test/{}",
        cobro_domain::InvoiceId::generate().as_str()
    );
    for (name, value) in [
        ("stripe-webhook-secrets", "whsec_new,whsec_old"),
        ("mercadopago-access-token", "APP_USR-123"),
    ] {
        ssm.put_parameter()
            .name(format!("{prefix}/{name}"))
            .value(value)
            .r#type(ParameterType::SecureString)
            .send()
            .await
            .expect("put parameter on moto");
    }
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().display().to_string();
    let app = App::load(
        lookup(vec![
            ("COBRO_DATA_DIR", data_dir.clone()),
            (
                "COBRO_STRIPE_WEBHOOK_SECRETS_PARAMETER",
                format!("{prefix}/stripe-webhook-secrets"),
            ),
            (
                "COBRO_MERCADOPAGO_ACCESS_TOKEN_PARAMETER",
                format!("{prefix}/mercadopago-access-token"),
            ),
            ("COBRO_STANDARD_WEBHOOK_SECRETS", "whsec_ZGlyZWN0".into()),
        ]),
        Some(sdk.clone()),
    )
    .await
    .expect("start with secrets from SSM");
    let c = &app.config;
    assert_eq!(
        c.stripe_webhook_secrets,
        Secrets::parse("whsec_new,whsec_old")
    );
    assert_eq!(c.stripe_webhook_secrets.current(), Some("whsec_new"));
    assert_eq!(c.mercadopago_access_token.current(), Some("APP_USR-123"));
    // Given directly, still read from the environment; not named, not fetched.
    assert_eq!(c.standard_webhook_secrets.current(), Some("whsec_ZGlyZWN0"));
    assert!(c.stripe_api_key.is_empty());

    // A parameter that does not exist stops the start, naming it.
    let missing = format!("{prefix}/no-such-secret");
    let err = App::load(
        lookup(vec![
            ("COBRO_DATA_DIR", data_dir.clone()),
            ("COBRO_STRIPE_API_KEY_PARAMETER", missing.clone()),
        ]),
        Some(sdk.clone()),
    )
    .await
    .err()
    .expect("a missing parameter is refused");
    assert!(err.to_string().contains(&missing), "{err}");

    // A secret given both ways is refused before any call.
    let err = App::load(
        lookup(vec![
            ("COBRO_DATA_DIR", data_dir),
            ("COBRO_STRIPE_API_KEY", "sk_test_x".into()),
            ("COBRO_STRIPE_API_KEY_PARAMETER", format!("{prefix}/x")),
        ]),
        Some(sdk),
    )
    .await
    .err()
    .expect("both ways is refused");
    assert!(err.to_string().contains("both set"), "{err}");
}
