//! Payment references for bank transfers: ISO 11649 "RF" creditor references.
//!
//! `RF` + two check digits (ISO 7064 MOD 97-10, as in IBAN) + a body of digits only: the
//! invoice's sequence number and three random digits. Digits only, because MOD 97-10 over
//! digits catches every single mistyped digit and every swap of two neighbours (letters
//! expand to two digits and lose that guarantee), and because digits are what people can
//! dictate and type into any bank app. Written in groups of four: `RF71 0001 2347`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::random_bytes;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PaymentReference(String);

impl PaymentReference {
    /// A new reference for the invoice with sequence number `seq`.
    pub fn generate(seq: u64) -> Self {
        let suffix = u16::from_le_bytes(random_bytes::<2>()) % 1000;
        Self::from_body(&format!("{seq:06}{suffix:03}"))
    }

    fn from_body(body: &str) -> Self {
        // mod97 is below 97, so the check digits are 2 to 98.
        let check = 98u32.saturating_sub(mod97(&format!("{body}RF00")));
        PaymentReference(format!("RF{check:02}{body}"))
    }

    /// Parses a reference as a person may type it (spaces, lower case); checks the digits.
    pub fn parse(input: &str) -> Option<Self> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        if !(5..=25).contains(&compact.len())
            || !compact.starts_with("RF")
            || !compact.bytes().all(|b| b.is_ascii_alphanumeric())
            || !compact[2..4].bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let rearranged = format!("{}{}", &compact[4..], &compact[..4]);
        (mod97(&rearranged) == 1).then_some(PaymentReference(compact))
    }

    /// The compact form, used for storage and matching.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Groups of four, for people.
    pub fn grouped(&self) -> String {
        self.0
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// ISO 7064 MOD 97-10 over an alphanumeric string (letters count as 10..35; callers pass
/// only ASCII letters and digits, anything else counts as 0).
// The running value stays below 97 and a digit below 36, so `acc * 100 + v` < 9_736: no
// operation here can overflow.
#[allow(clippy::arithmetic_side_effects)]
fn mod97(s: &str) -> u32 {
    s.bytes().fold(0u32, |acc, b| {
        let v = char::from(b).to_digit(36).unwrap_or(0);
        if v >= 10 {
            (acc * 100 + v) % 97
        } else {
            (acc * 10 + v) % 97
        }
    })
}

impl fmt::Display for PaymentReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

impl Serialize for PaymentReference {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PaymentReference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PaymentReference::parse(&s)
            .ok_or_else(|| serde::de::Error::custom("invalid payment reference"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn iso_11649_known_answers() {
        // The examples of ISO 11649 and of the European Payments Council.
        assert!(PaymentReference::parse("RF18 5390 0754 7034").is_some());
        assert!(PaymentReference::parse("RF18000000000539007547034").is_some());
        assert!(PaymentReference::parse("rf18539007547034").is_some());
        assert_eq!(
            PaymentReference::from_body("539007547034").as_str(),
            "RF18539007547034"
        );
        assert!(PaymentReference::parse("RF19 5390 0754 7034").is_none());
    }

    #[test]
    fn generated_references_are_grouped_and_valid() {
        let r = PaymentReference::generate(123);
        assert!(r.as_str().starts_with("RF"));
        assert!(r.as_str()[4..].starts_with("000123"));
        assert_eq!(PaymentReference::parse(&r.grouped()), Some(r.clone()));
        assert_eq!(r.as_str().len(), 13);
    }

    #[test]
    fn malformed_input_is_rejected() {
        for bad in [
            "",
            "RF",
            "RFxx1234",
            "XX18539007547034",
            "RF18 5390 0754 7034 ñ",
        ] {
            assert!(PaymentReference::parse(bad).is_none(), "{bad}");
        }
    }

    proptest! {
        /// Any single-character typo or adjacent swap is caught by the check digits.
        #[test]
        fn single_typos_are_detected(seq in 0u64..100_000_000, pos in 0usize..16, replacement in 0u8..10, swap in any::<bool>()) {
            let r = PaymentReference::generate(seq);
            let mut chars: Vec<char> = r.as_str().chars().collect();
            let pos = pos % chars.len();
            prop_assume!(pos >= 2);
            if swap {
                prop_assume!(pos + 1 < chars.len() && chars[pos] != chars[pos + 1]);
                chars.swap(pos, pos + 1);
            } else {
                let c = (b'0' + replacement) as char;
                prop_assume!(c != chars[pos]);
                chars[pos] = c;
            }
            let typo: String = chars.into_iter().collect();
            prop_assert!(PaymentReference::parse(&typo).is_none(), "{} accepted", typo);
        }
    }
}
