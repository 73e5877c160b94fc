//! Lambda: the pay portal (`GET /pay/{token}` and its forms), server-rendered, no JavaScript.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_http::tracing::init_default_subscriber();
    let app = cobro_app::App::from_env().await?;
    let router = cobro_app::http::finish(cobro_app::http::pay_portal(app));
    lambda_http::run(router)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
