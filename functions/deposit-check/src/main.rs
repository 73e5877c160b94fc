//! Lambda: the deposit check, on an EventBridge schedule. Works the deposits' agenda:
//! matches early payments, records cleared deposits (their clients are active), reminds
//! clients of overdue deposits and tells the business; stops before the deadline.

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_http::tracing::init_default_subscriber();
    let app = cobro_app::App::from_env().await?;
    let handler = service_fn(|event: LambdaEvent<serde_json::Value>| {
        cobro_app::usecases::sweep::scheduled(
            &app,
            cobro_app::usecases::sweep::Lane::Deposits,
            event.context.deadline,
        )
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
