//! Lambda: the reminder sweep, on an EventBridge schedule. Runs the dunning actions due
//! now and stops before the invocation's deadline, leaving the rest for the next run.

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
