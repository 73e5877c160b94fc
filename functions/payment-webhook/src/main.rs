//! Lambda: payment-provider webhooks (`POST /webhooks/{provider}`), verified on the raw
//! body and reconciled exactly once into the ledger.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_http::tracing::init_default_subscriber();
    let app = cobro_app::App::from_env().await?;
    let router = cobro_app::http::finish(cobro_app::http::payment_webhook(app));
    lambda_http::run(router)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
