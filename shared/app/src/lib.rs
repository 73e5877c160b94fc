//! cobro's application: the use cases ([`usecases`]: the domain and the ports, store,
//! mailer and providers, wired together) and their HTTP adapters ([`http`]: one axum Router
//! per HTTP function). Lambda mains and `cobro serve` both build an [`App`] and mount the
//! same routers, so the local stack runs the code that runs in AWS. Data flows one way:
//! `http` → `usecases` → domain and ports; ARCHITECTURE.md at the repository's root has
//! the map.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cobro_notify::{Mailer, OutboxMailer, SesMailer};
use cobro_store::{DynamoStore, Store};

pub mod config;
pub mod http;
pub mod secrets;
pub mod usecases;

pub use config::{Config, MailerKind};

/// The clock, injected so tests (and `cobro sweep --at`) can fix "now".
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Everything a use case needs: built once per process (a Lambda cold start).
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub config: Arc<Config>,
    pub clock: Clock,
    /// The client for providers' REST APIs: built once, at start where a provider key is
    /// configured ([`App::from_config`]), else on first use.
    http: Arc<std::sync::OnceLock<reqwest::Client>>,
}

/// The embedded SQLite store in the data directory (builds with the `sqlite` feature).
#[cfg(feature = "sqlite")]
fn embedded_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    use anyhow::Context;
    let store = cobro_store::SqliteStore::open(&config.data_dir)
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;
    Ok(Arc::new(store))
}

/// A Lambda build has no embedded store: its disk does not outlive the instance.
#[cfg(not(feature = "sqlite"))]
fn embedded_store(_: &Config) -> anyhow::Result<Arc<dyn Store>> {
    anyhow::bail!(
        "COBRO_TABLE is not set: a Lambda function keeps its data in DynamoDB (this build has no embedded store)"
    )
}

impl App {
    pub fn new(store: Arc<dyn Store>, mailer: Arc<dyn Mailer>, config: Config) -> Self {
        App {
            store,
            mailer,
            config: Arc::new(config),
            clock: Arc::new(Utc::now),
            http: Default::default(),
        }
    }

    /// The providers' REST client (Stripe, Mercado Pago), shared by every request.
    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(cobro_providers::http_client)
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// A Lambda's start: settings from the environment, secrets from SSM Parameter Store
    /// where `{SETTING}_PARAMETER` names one ([`secrets`]), then the store, mailer and
    /// HTTP clients, all built once, here, from one AWS configuration.
    pub async fn from_env() -> anyhow::Result<App> {
        App::load(config::env, None).await
    }

    /// [`App::from_env`] with settings read through `get`, and an AWS configuration given
    /// (tests point it at a local server) or loaded from the environment when needed.
    pub async fn load(
        get: impl Fn(&str) -> Option<String>,
        aws: Option<aws_config::SdkConfig>,
    ) -> anyhow::Result<App> {
        let (config, aws) = secrets::configure(get, aws).await?;
        App::build(config, aws).await
    }

    /// Builds the store and mailer the configuration names: SQLite + outbox locally,
    /// DynamoDB + SES in AWS (clients built once, here).
    pub async fn from_config(config: Config) -> anyhow::Result<App> {
        App::build(config, None).await
    }

    async fn build(config: Config, aws: Option<aws_config::SdkConfig>) -> anyhow::Result<App> {
        let needs_aws = config.table.is_some() || config.mailer == MailerKind::Ses;
        let aws = match aws {
            Some(sdk) => Some(sdk),
            None if needs_aws => Some(cobro_store::aws::from_env().await),
            None => None,
        };
        let store: Arc<dyn Store> = match (&config.table, &aws) {
            (Some(table), Some(sdk)) => Arc::new(DynamoStore::from_sdk(sdk, table.clone())),
            _ => embedded_store(&config)?,
        };
        let mailer: Arc<dyn Mailer> = match (config.mailer, &aws) {
            (MailerKind::Ses, Some(sdk)) => Arc::new(SesMailer::from_sdk(
                sdk,
                config.ses_configuration_set.clone(),
            )),
            _ => Arc::new(OutboxMailer::new(&config.data_dir)),
        };
        let provider_keys =
            !config.stripe_api_key.is_empty() || !config.mercadopago_access_token.is_empty();
        let app = App::new(store, mailer, config);
        if provider_keys {
            app.http();
        }
        Ok(app)
    }
}
