//! cobro's use cases: the domain and the ports (store, mailer) wired together, and one
//! axum Router per HTTP function. Lambda mains and `cobro serve` both build an [`App`] and
//! mount the same routers, so the local stack runs the code that runs in AWS.

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use cobro_notify::{Mailer, OutboxMailer, SesMailer};
use cobro_store::{DynamoStore, SqliteStore, Store};

pub mod arrangements;
pub mod auth;
pub mod config;
pub mod deposits;
pub mod dunning;
pub mod idempotency;
pub mod invoices_api;
pub mod json;
pub mod keys;
pub mod payments;
pub mod portal;
pub mod problem;
pub mod reports;
pub mod standing;
pub mod views;
pub mod webhooks;

pub use config::{Config, MailerKind};

/// Finishes a router for serving: problem+json for unknown paths and methods, request
/// tracing. Applied once, by a Lambda main or by `cobro serve` after merging routers.
pub fn finish(router: axum::Router) -> axum::Router {
    use axum::response::IntoResponse;
    router
        .fallback(|| async { invoices_api::not_found_fallback().into_response() })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "This path does not accept this method.",
            )
            .into_response()
        })
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
pub use problem::Problem;

/// The clock, injected so tests (and `cobro sweep --at`) can fix "now".
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Everything a use case needs: built once per process (a Lambda cold start).
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub config: Arc<Config>,
    pub clock: Clock,
}

impl App {
    pub fn new(store: Arc<dyn Store>, mailer: Arc<dyn Mailer>, config: Config) -> Self {
        App {
            store,
            mailer,
            config: Arc::new(config),
            clock: Arc::new(Utc::now),
        }
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Builds the store and mailer the configuration names: SQLite + outbox locally,
    /// DynamoDB + SES in AWS (clients built once, here).
    pub async fn from_config(config: Config) -> anyhow::Result<App> {
        let store: Arc<dyn Store> =
            match &config.table {
                Some(table) => Arc::new(DynamoStore::from_env(table.clone()).await),
                None => Arc::new(SqliteStore::open(&config.data_dir).with_context(|| {
                    format!("opening the store in {}", config.data_dir.display())
                })?),
            };
        let mailer: Arc<dyn Mailer> = match config.mailer {
            MailerKind::Ses => {
                Arc::new(SesMailer::from_env(config.ses_configuration_set.clone()).await)
            }
            MailerKind::Outbox => Arc::new(OutboxMailer::new(&config.data_dir)),
        };
        Ok(App::new(store, mailer, config))
    }
}
