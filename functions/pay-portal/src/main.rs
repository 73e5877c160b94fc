//! Lambda: the pay portal (`GET /pay/{token}` and its forms), server-rendered, no JavaScript.

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
    let router = cobro_app::http::finish(cobro_app::http::pay_portal(app));
    lambda_http::run(router)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
