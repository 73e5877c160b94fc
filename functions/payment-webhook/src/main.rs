//! Lambda: payment-provider webhooks (`POST /webhooks/{provider}`), verified on the raw
//! body and reconciled exactly once into the ledger.

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_http::tracing::init_default_subscriber();
    let app = cobro_app::App::from_env().await?;
    let router = cobro_app::http::finish(cobro_app::http::payment_webhook(app));
    lambda_http::run(router)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
