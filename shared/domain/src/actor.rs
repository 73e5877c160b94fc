//! Who did something: on every ledger entry and audit record ([`crate::audit`]).

use serde::{Deserialize, Serialize};

use crate::ids::{ApiKeyId, UserId};

/// Who made a change. Names are kept as they were at the time, so the record still reads
/// after a person is renamed or a key revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// A person of the business, in the console.
    User { id: UserId, name: String },
    /// A program of the business, through the API with this key.
    ApiKey { id: ApiKeyId, name: String },
    /// The client, on the pay page.
    Client,
    /// A payment provider or bank, by a verified webhook event.
    Provider {
        source: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event_id: Option<String>,
    },
    /// cobro itself: the reminder sweep, the deposit check, the command line.
    Cobro,
}
