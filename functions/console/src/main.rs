//! Lambda: the business's console, the finance team's pages under `/console`. Reads
//! configuration, builds the store and mailer once, and hands the console's router to the
//! Lambda runtime.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_http::tracing::init_default_subscriber();
    let app = cobro_app::App::from_env().await?;
    let router = cobro_app::http::finish(cobro_app::http::console(app));
    lambda_http::run(router)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
