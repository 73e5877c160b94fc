//! Amazon SES v2: the same RFC 5322 bytes as the outbox, sent as a raw message.

use async_trait::async_trait;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};

use crate::{Email, MailError, Mailer, Sent};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: aws_sdk_sesv2::Client, configuration_set: Option<String>) -> Self {
        SesMailer {
            client,
            configuration_set,
        }
    }

    /// From an AWS configuration the process already loaded (one per cold start).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, configuration_set: Option<String>) -> Self {
        SesMailer::new(aws_sdk_sesv2::Client::new(sdk), configuration_set)
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<Sent, MailError> {
        let raw = RawMessage::builder()
            .data(Blob::new(email.to_rfc5322()?))
            .build()
            .map_err(|e| MailError::Build(e.to_string()))?;
        let out = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(Destination::builder().to_addresses(&email.to_email).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            // The service's error code only: its message may quote the recipient's address,
            // and this error is logged and stored.
            .map_err(|e| {
                let e = e.into_service_error();
                MailError::Delivery(format!("SES {}", e.code().unwrap_or("error")))
            })?;
        let id = out.message_id.unwrap_or_default();
        tracing::info!(ses_message_id = %id, key = %email.key, "message sent through SES");
        Ok(Sent { id })
    }
}
