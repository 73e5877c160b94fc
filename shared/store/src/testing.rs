//! Helpers for tests that run against a local DynamoDB-compatible server (moto's server,
//! started by the test command, which exports its URL as `COBRO_TEST_AWS_ENDPOINT`).

// Test support only (the tests of every crate use it; no function calls it): a missing
// server or template must stop the test loudly.
#![allow(clippy::panic, clippy::expect_used)]

use aws_sdk_dynamodb::config::{Credentials, Region};

use crate::dynamodb::{DynamoStore, TableDefinition};

pub const ENDPOINT_ENV: &str = "COBRO_TEST_AWS_ENDPOINT";

/// The local server's URL. Panics with instructions when the test command did not start one:
/// a DynamoDB test that silently skipped would prove nothing.
pub fn endpoint() -> String {
    std::env::var(ENDPOINT_ENV).unwrap_or_else(|_| {
        panic!("{ENDPOINT_ENV} is not set: run the test command (./scripts/test), which starts moto's server")
    })
}

/// An AWS configuration for the local server (any service moto serves), with dummy
/// credentials.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    crate::aws::loader()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "cobro-tests"))
        .load()
        .await
}

/// A DynamoDB client for the local server.
pub async fn dynamo_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config(endpoint).await)
}

/// A store on a fresh table, created from the SAM template's definition.
pub async fn fresh_dynamo_store() -> DynamoStore {
    fresh_dynamo_store_at(&endpoint()).await
}

/// [`fresh_dynamo_store`] on the server at `endpoint`.
pub async fn fresh_dynamo_store_at(endpoint: &str) -> DynamoStore {
    let client = dynamo_client(endpoint).await;
    let name = format!(
        "cobro-test-{}",
        cobro_domain::InvoiceId::generate()
            .as_str()
            .trim_start_matches("inv_")
    );
    TableDefinition::from_sam_template()
        .expect("table definition in infra/template.yaml")
        .create(&client, &name)
        .await
        .expect("create table on the local server");
    DynamoStore::new(client, name)
}
