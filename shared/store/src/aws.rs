//! The AWS configuration every client is built from, once per process: credentials, region
//! and endpoint from the environment (`AWS_ENDPOINT_URL` for a local server), and one HTTPS
//! client on rustls with ring, the TLS stack reqwest already brings, so a binary carries one
//! crypto library (the SDK's default would add aws-lc).

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// The HTTPS client for AWS calls.
pub fn https_client() -> SharedHttpClient {
    Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The configuration from the environment, as a Lambda or the CLI runs.
pub async fn from_env() -> SdkConfig {
    loader().load().await
}

/// The loader [`from_env`] uses, for callers that set more (tests: endpoint, credentials).
pub fn loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client())
}
