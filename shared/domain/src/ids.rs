//! Prefixed, unguessable identifiers: `cli_…`, `inv_…`, `key_…`.
//!
//! The random part is 128 bits from the operating system's CSPRNG, written in lowercase
//! base32 (26 characters), so ids are safe in URLs, e-mails and DynamoDB keys.

use std::fmt;

use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Lowercase RFC 4648 base32 without padding.
pub(crate) fn base32_lower(bytes: &[u8]) -> String {
    data_encoding::BASE32_NOPAD
        .encode(bytes)
        .to_ascii_lowercase()
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    rand::rng().fill_bytes(&mut buf);
    buf
}

const RANDOM_LEN: usize = 26;

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new random id.
            pub fn generate() -> Self {
                $name(format!("{}{}", $prefix, base32_lower(&random_bytes::<16>())))
            }

            /// Accepts only well-formed ids of this kind.
            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?;
                let ok = rest.len() == RANDOM_LEN
                    && rest.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
                ok.then(|| $name(s.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        /// In the API's description: the prefix and 26 base32 characters.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(concat!("^", $prefix, "[a-z2-7]{26}$")))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(concat!("not a valid ", $prefix, "… id"))
                })
            }
        }
    };
}

prefixed_id!(
    /// A client of the business.
    ClientId,
    "cli_"
);
prefixed_id!(
    /// An invoice.
    InvoiceId,
    "inv_"
);
prefixed_id!(
    /// A payment recorded by hand, when the business gave it no reference of its own.
    PaymentId,
    "pay_"
);
prefixed_id!(
    /// A payment waiting in the unmatched queue for a person.
    UnmatchedId,
    "unm_"
);
prefixed_id!(
    /// An API key's public id (the key itself is a secret, stored hashed).
    ApiKeyId,
    "key_"
);
prefixed_id!(
    /// A person of the business who uses the console.
    UserId,
    "usr_"
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_prefixed_and_round_trip() {
        let id = ClientId::generate();
        assert!(id.as_str().starts_with("cli_"));
        assert_eq!(id.as_str().len(), 4 + RANDOM_LEN);
        assert_eq!(ClientId::parse(id.as_str()), Some(id.clone()));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ClientId>(&json).unwrap(), id);
    }

    #[test]
    fn wrong_prefix_or_shape_is_rejected() {
        let inv = InvoiceId::generate();
        assert_eq!(ClientId::parse(inv.as_str()), None);
        assert_eq!(InvoiceId::parse("inv_short"), None);
        assert_eq!(InvoiceId::parse("inv_AAAAAAAAAAAAAAAAAAAAAAAAAA"), None);
        assert_eq!(InvoiceId::parse("inv_../../etc/passwdaaaaaaaaaa"), None);
        assert!(serde_json::from_str::<InvoiceId>("\"cli_x\"").is_err());
    }

    #[test]
    fn ids_do_not_repeat() {
        let ids: HashSet<_> = (0..10_000).map(|_| InvoiceId::generate()).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
