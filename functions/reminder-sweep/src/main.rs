//! Lambda: the reminder sweep, on an EventBridge schedule. Runs the dunning actions due
//! now and stops before the invocation's deadline, leaving the rest for the next run.

// No panic on data (ARCHITECTURE.md, "No input can crash a function"): outside tests,
// nothing here unwraps, indexes unchecked or does arithmetic that can overflow.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_http::tracing::init_default_subscriber();
    let app = cobro_app::App::from_env().await?;
    let handler = service_fn(|event: LambdaEvent<serde_json::Value>| {
        cobro_app::usecases::sweep::scheduled(
            &app,
            cobro_app::usecases::sweep::Lane::Dunning,
            event.context.deadline,
        )
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
