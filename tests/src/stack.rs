//! The production configuration on moto's server, for the packaged functions: a fresh
//! table (from the template), the SES sender verified, the Stripe webhook secrets in an SSM
//! SecureString parameter, and an API key. Shared by the deployment test and the Lambda
//! benchmark, which start the same functions the same way.

use std::sync::Arc;

use aws_sdk_ssm::types::ParameterType;
use serde_json::Value;

/// What a function is started with, and what was set up for it.
pub struct Stack {
    /// The settings every function gets: the local endpoint and dummy credentials, the
    /// table, the sender, and the CA bundle named as the template names it.
    pub env: Vec<(&'static str, String)>,
    /// The SSM parameter holding the Stripe webhook secrets.
    pub stripe_parameter: String,
    /// A bearer key for the business API, written as `cobro keys create` would.
    pub key: String,
    /// The address of an owner of the console, added as `cobro users add` would.
    pub owner: String,
    /// Scratch space: the functions' logs, the key's outbox.
    pub scratch: tempfile::TempDir,
}

impl Stack {
    /// Sets the stack up on the server at `endpoint`; `stripe_secrets` is the parameter's
    /// value (comma-separated, as during a rotation).
    pub async fn on_moto(endpoint: &str, stripe_secrets: &str) -> Stack {
        let sdk = cobro_store::testing::sdk_config(endpoint).await;
        let store = cobro_store::testing::fresh_dynamo_store_at(endpoint).await;
        let table = store.table().to_string();
        aws_sdk_sesv2::Client::new(&sdk)
            .create_email_identity()
            .email_identity("estudiosur.cl")
            .send()
            .await
            .expect("SES identity on moto");
        let stripe_parameter = format!("/cobro-test/{table}/stripe-webhook-secrets");
        aws_sdk_ssm::Client::new(&sdk)
            .put_parameter()
            .name(&stripe_parameter)
            .value(stripe_secrets)
            .r#type(ParameterType::SecureString)
            .send()
            .await
            .expect("SSM parameter on moto");
        let env = vec![
            ("AWS_ENDPOINT_URL", endpoint.to_string()),
            ("AWS_ACCESS_KEY_ID", "test".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
            ("COBRO_TABLE", table),
            ("COBRO_PUBLIC_URL", "https://pagar.estudiosur.cl".into()),
            (
                "COBRO_FROM_EMAIL",
                "Estudio Sur <cobros@estudiosur.cl>".into(),
            ),
            ("COBRO_BUSINESS_NAME", "Estudio Sur".into()),
            // As the template does for AL2023: without it the TLS roots are also read file
            // by file from the certificates folder at every start.
            ("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt".into()),
        ];
        let lookup = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        let config = cobro_app::Config::from_lookup(lookup).expect("configuration");
        let scratch = tempfile::tempdir().unwrap();
        let app = cobro_app::App::new(
            Arc::new(store),
            Arc::new(cobro_notify::OutboxMailer::new(scratch.path())),
            config,
        );
        let (_, key) =
            cobro_app::usecases::keys::create(&app, &cobro_domain::Actor::Cobro, "lambda")
                .await
                .expect("API key");
        let owner = format!("duena-{}@estudiosur.cl", cobro_domain::ClientId::generate());
        cobro_app::usecases::people::add_user(
            &app,
            &cobro_domain::Actor::Cobro,
            &cobro_domain::user::NewUser {
                email: owner.clone(),
                name: "Dueña".into(),
                role: "owner".into(),
                locale: Some("es".into()),
            },
        )
        .await
        .expect("owner");
        Stack {
            env,
            stripe_parameter,
            key: key.expose().to_string(),
            owner,
            scratch,
        }
    }

    /// [`Stack::env`] plus the Stripe webhook secrets' parameter (the webhook's settings).
    pub fn env_with_stripe_parameter(&self) -> Vec<(&'static str, String)> {
        let mut env = self.env.clone();
        env.push((
            "COBRO_STRIPE_WEBHOOK_SECRETS_PARAMETER",
            self.stripe_parameter.clone(),
        ));
        env
    }
}

/// Every message moto's SES recorded as sent to `to`, as raw RFC 5322 text.
pub async fn ses_messages_to(endpoint: &str, to: &str) -> Vec<String> {
    let data: Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .expect("moto's data")
        .json()
        .await
        .expect("moto's data as JSON");
    data["ses"]["RawMessage"]
        .as_array()
        .expect("moto's record of sent messages")
        .iter()
        .filter(|m| {
            m["destinations"]
                .as_array()
                .expect("destinations")
                .iter()
                .any(|d| d.as_str().expect("an address").contains(to))
        })
        .map(|m| m["raw_data"].as_str().expect("raw_data").to_string())
        .collect()
}
