//! Lambda: the pay portal (`GET /pay/{token}` and its forms), server-rendered, no JavaScript.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_http::tracing::init_default_subscriber();
    let config = cobro_app::Config::from_env()?;
    let app = cobro_app::App::from_config(config).await?;
    let router = cobro_app::finish(cobro_app::portal::router(app));
    lambda_http::run(router)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
