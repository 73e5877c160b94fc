//! Tax identifiers checked by their check digits, for the countries cobro serves first.
//! A client's `tax_id` is checked when their `country` is known; others are kept as typed.
//!
//! Sources (read 2026-12-02; see the note of issue 19 for what could not be confirmed):
//! - Chile, RUT/RUN: modulo 11, weights 2..7 from the right, 10 → `K`, 11 → `0`. No SII
//!   text states it; SII's own RUT 60.803.000-K and its certification RUT 88.888.888-8
//!   verify under it.
//! - Mexico, RFC: SAT's answer to INFOMEX request 0610100135506 (2006-10-18), "Algoritmo para
//!   generar el RFC con homoclave…", Anexo 3: values 0-9, A-N 10-23, & 24, O-Z 25-36,
//!   space 37, Ñ 38; weights 13..2 over the 12 characters before the digit (a company's
//!   11 padded with a leading space); 11 − r, 10 → `A`, 11 → `0`. Its example GODE561231GR8
//!   and SAT's own RFC SAT970701NN3 verify. The generic RFCs of the CFDI rules
//!   (XAXX010101000, XEXX010101000) are taken as they are.
//! - Colombia, NIT: DIAN Orden Administrativa 4 de 1989 (as cited by DIAN Oficio 063 of
//!   2021-09-10): weights 3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71 from the
//!   right; r < 2 → r, else 11 − r. DIAN's own NIT 800.197.268-4 verifies.
//! - Argentina, CUIT/CUIL: weights 5,4,3,2,7,6,5,4,3,2; 11 − r, 11 → 0, 10 never issued.
//!   AFIP's own CUIT 33-69345023-9 (WSAA specification) verifies.
//! - Brazil, CPF: two digits modulo 11 (weights 10..2, then 11..2), r < 2 → 0 else 11 − r.
//!   CNPJ: Instrução Normativa RFB nº 2.229 (2024-10-15, rectified 2024-10-25), Anexo
//!   Único: the 12 first characters may be letters from July 2026, each worth its ASCII code
//!   − 48; weights 2..9 from the right; Receita's example 12.ABC.345/01DE-35 verifies.

use serde::{Deserialize, Serialize};

/// Where a client is, as ISO 3166-1 alpha-2 (`"CL"` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Serialize for Country {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Country::parse(&s).ok_or_else(|| serde::de::Error::custom("not a two-letter country code"))
    }
}

impl Country {
    /// Two ASCII letters, any case (`cl`, `MX`).
    pub fn parse(s: &str) -> Option<Country> {
        let b = s.trim().as_bytes();
        match b {
            [a, c] if a.is_ascii_alphabetic() && c.is_ascii_alphabetic() => {
                Some(Country([a.to_ascii_uppercase(), c.to_ascii_uppercase()]))
            }
            _ => None,
        }
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// What the country calls its tax id, for messages ("RUT", "RFC"…).
    pub fn tax_id_name(&self) -> &'static str {
        match self.code() {
            "CL" => "RUT",
            "MX" => "RFC",
            "CO" => "NIT",
            "AR" => "CUIT",
            "BR" => "CPF/CNPJ",
            _ => "tax id",
        }
    }
}

/// A tax id read by its country's rules: how it is written (`76.543.210-K`) and its compact
/// form (`76543210K`), which identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxId {
    pub display: String,
    pub compact: String,
}

/// Reads `raw` as `country`'s tax id, checking its check digits; countries without rules
/// here keep it as typed (compacted to letters and digits). `Err`: why, for the person
/// who typed it.
pub fn parse(country: Option<Country>, raw: &str) -> Result<TaxId, String> {
    let compact: String = raw
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '&')
        .flat_map(char::to_uppercase)
        .collect();
    let kept = || TaxId {
        display: raw.trim().to_string(),
        compact: compact.clone(),
    };
    let Some(country) = country else {
        return Ok(kept());
    };
    match country.code() {
        "CL" => rut(&compact),
        "MX" => rfc(&compact),
        "CO" => nit(&compact),
        "AR" => cuit(&compact),
        "BR" => cpf_or_cnpj(&compact),
        _ => Ok(kept()),
    }
}

fn digits(s: &str) -> Option<Vec<u32>> {
    s.chars().map(|c| c.to_digit(10)).collect()
}

/// Σ value × weight.
fn weighted(values: &[u32], weights: impl Iterator<Item = u32>) -> u32 {
    values
        .iter()
        .zip(weights)
        .fold(0u32, |sum, (v, w)| sum.saturating_add(v.saturating_mul(w)))
}

/// The remainder modulo 11.
fn rem11(x: u32) -> u32 {
    x.checked_rem(11).unwrap_or(0)
}

/// `s[range]`, or nothing (lengths are checked before any part is taken).
fn part(s: &str, range: std::ops::Range<usize>) -> &str {
    s.get(range).unwrap_or_default()
}

/// Groups of three from the right with dots: 76543210 → 76.543.210.
fn dotted(s: &str) -> String {
    let mut groups: Vec<String> = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    for chunk in chars.rchunks(3) {
        groups.push(chunk.iter().collect());
    }
    groups.reverse();
    groups.join(".")
}

fn rut(c: &str) -> Result<TaxId, String> {
    let bad = || {
        "is not a valid Chilean RUT: check its digits and check digit (as 12.345.678-5)".to_string()
    };
    if !c.is_ascii() {
        return Err(bad());
    }
    let (body, dv) = c.split_at(c.len().saturating_sub(1));
    let values = digits(body)
        .filter(|v| (1..=9).contains(&v.len()))
        .ok_or_else(bad)?;
    let sum = weighted(
        &values.iter().rev().copied().collect::<Vec<_>>(),
        [2, 3, 4, 5, 6, 7].into_iter().cycle(),
    );
    let expected = match 11u32.saturating_sub(rem11(sum)) {
        11 => "0".to_string(),
        10 => "K".to_string(),
        d => d.to_string(),
    };
    if dv != expected {
        return Err(bad());
    }
    let body = body.trim_start_matches('0');
    if body.is_empty() {
        return Err(bad());
    }
    Ok(TaxId {
        display: format!("{}-{dv}", dotted(body)),
        compact: format!("{body}{dv}"),
    })
}

/// The RFC's character values (SAT, Anexo 3).
fn rfc_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        'A'..='N' => Some(
            u32::from(c)
                .saturating_sub(u32::from('A'))
                .saturating_add(10),
        ),
        '&' => Some(24),
        'O'..='Z' => Some(
            u32::from(c)
                .saturating_sub(u32::from('O'))
                .saturating_add(25),
        ),
        ' ' => Some(37),
        'Ñ' => Some(38),
        _ => None,
    }
}

fn rfc(c: &str) -> Result<TaxId, String> {
    let bad = || {
        "is not a valid Mexican RFC: 12 characters for a company or 13 for a person, homoclave and check digit included".to_string()
    };
    if c == "XAXX010101000" || c == "XEXX010101000" {
        return Ok(TaxId {
            display: c.to_string(),
            compact: c.to_string(),
        });
    }
    let chars: Vec<char> = c.chars().collect();
    let letters = match chars.len() {
        12 => 3,
        13 => 4,
        _ => return Err(bad()),
    };
    let (head, rest) = chars.split_at(letters);
    let (date, homoclave) = rest.split_at(rest.len().min(6));
    let shape = head
        .iter()
        .all(|c| c.is_ascii_uppercase() || *c == '&' || *c == 'Ñ')
        && date.iter().all(char::is_ascii_digit)
        && homoclave.iter().all(|c| c.is_ascii_alphanumeric());
    if !shape {
        return Err(bad());
    }
    let mut padded: Vec<char> = if letters == 3 { vec![' '] } else { vec![] };
    padded.extend(chars.iter().take(chars.len().saturating_sub(1)));
    let values: Option<Vec<u32>> = padded.iter().map(|c| rfc_value(*c)).collect();
    let values = values.ok_or_else(bad)?;
    let r = rem11(weighted(&values, (2..=13).rev()));
    let expected = match r {
        0 => '0',
        1 => 'A',
        r => char::from_digit(11u32.saturating_sub(r), 10).unwrap_or('?'),
    };
    if chars.last() != Some(&expected) {
        return Err(bad());
    }
    Ok(TaxId {
        display: c.to_string(),
        compact: c.to_string(),
    })
}

fn nit(c: &str) -> Result<TaxId, String> {
    const WEIGHTS: [u32; 15] = [3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71];
    let bad = || {
        "is not a valid Colombian NIT: write it with its check digit (as 800197268-4)".to_string()
    };
    let values = digits(c)
        .filter(|v| (2..=16).contains(&v.len()))
        .ok_or_else(bad)?;
    let (body, dv) = values.split_at(values.len().saturating_sub(1));
    let r = rem11(weighted(
        &body.iter().rev().copied().collect::<Vec<_>>(),
        WEIGHTS.into_iter(),
    ));
    let expected = if r < 2 { r } else { 11u32.saturating_sub(r) };
    if dv != [expected] {
        return Err(bad());
    }
    let (b, d) = c.split_at(c.len().saturating_sub(1));
    Ok(TaxId {
        display: format!("{}-{d}", dotted(b)),
        compact: c.to_string(),
    })
}

fn cuit(c: &str) -> Result<TaxId, String> {
    let bad = || {
        "is not a valid Argentine CUIT/CUIL: 11 digits with the check digit (as 30-50001091-2)"
            .to_string()
    };
    let values = digits(c).filter(|v| v.len() == 11).ok_or_else(bad)?;
    if !["20", "23", "24", "25", "26", "27", "30", "33", "34"].contains(&part(c, 0..2)) {
        return Err(bad());
    }
    let (body, dv) = values.split_at(10);
    let r = rem11(weighted(body, [5, 4, 3, 2, 7, 6, 5, 4, 3, 2].into_iter()));
    let expected = match 11u32.saturating_sub(r) {
        11 => 0,
        10 => return Err(bad()),
        d => d,
    };
    if dv != [expected] {
        return Err(bad());
    }
    Ok(TaxId {
        display: format!("{}-{}-{}", part(c, 0..2), part(c, 2..10), part(c, 10..11)),
        compact: c.to_string(),
    })
}

/// A Brazilian check digit over `values` with weights cycling 2..=`top` from the right.
fn mod11_br(values: &[u32], top: u32) -> u32 {
    let rev: Vec<u32> = values.iter().rev().copied().collect();
    let r = rem11(weighted(&rev, (2..=top).cycle()));
    if r < 2 { 0 } else { 11u32.saturating_sub(r) }
}

/// Whether the last two of `values` are the two check digits of the rest.
fn br_checks(values: &[u32], top: u32) -> bool {
    let n = values.len();
    let (body, checks) = values.split_at(n.saturating_sub(2));
    let first = mod11_br(body, top);
    let with_first: Vec<u32> = body.iter().copied().chain([first]).collect();
    checks == [first, mod11_br(&with_first, top)]
}

fn cpf_or_cnpj(c: &str) -> Result<TaxId, String> {
    let bad = || "is not a valid Brazilian CPF (11 digits) or CNPJ (14 characters)".to_string();
    let chars: Vec<char> = c.chars().collect();
    let same = chars.first().is_some_and(|f| chars.iter().all(|x| x == f));
    match chars.len() {
        11 if !same => {
            let v = digits(c).ok_or_else(bad)?;
            if !br_checks(&v, 11) {
                return Err(bad());
            }
            Ok(TaxId {
                display: format!(
                    "{}.{}.{}-{}",
                    part(c, 0..3),
                    part(c, 3..6),
                    part(c, 6..9),
                    part(c, 9..11)
                ),
                compact: c.to_string(),
            })
        }
        14 if !same => {
            // Letters are worth their ASCII code − 48 (IN RFB 2.229/2024); the two check
            // digits stay digits.
            let v: Option<Vec<u32>> = chars
                .iter()
                .enumerate()
                .map(|(i, ch)| match ch {
                    '0'..='9' => ch.to_digit(10),
                    'A'..='Z' if i < 12 => Some(u32::from(*ch).saturating_sub(48)),
                    _ => None,
                })
                .collect();
            let v = v.ok_or_else(bad)?;
            if !br_checks(&v, 9) {
                return Err(bad());
            }
            Ok(TaxId {
                display: format!(
                    "{}.{}.{}/{}-{}",
                    part(c, 0..2),
                    part(c, 2..5),
                    part(c, 5..8),
                    part(c, 8..12),
                    part(c, 12..14)
                ),
                compact: c.to_string(),
            })
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(country: &str, raw: &str) -> TaxId {
        parse(Country::parse(country), raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn refused(country: &str, raw: &str) {
        assert!(
            parse(Country::parse(country), raw).is_err(),
            "{raw} accepted"
        );
    }

    /// Known answers from the authorities' own numbers (see the module's sources).
    #[test]
    fn known_valid_ids() {
        assert_eq!(ok("cl", "60803000-k").display, "60.803.000-K"); // SII
        assert_eq!(ok("CL", "88.888.888-8").compact, "888888888");
        assert_eq!(ok("CL", "76.543.210-3").display, "76.543.210-3");
        assert_eq!(ok("MX", "GODE561231GR8").display, "GODE561231GR8"); // SAT's example
        ok("MX", "SAT970701NN3"); // SAT
        ok("MX", "sat 970701 nn3");
        ok("MX", "XAXX010101000"); // generic RFC
        assert_eq!(ok("CO", "800197268-4").display, "800.197.268-4"); // DIAN
        ok("CO", "899999068-1"); // r = 1
        assert_eq!(ok("AR", "33693450239").display, "33-69345023-9"); // AFIP
        ok("AR", "30-50001091-2");
        assert_eq!(ok("BR", "00394460005887").display, "00.394.460/0058-87");
        assert_eq!(ok("BR", "12.ABC.345/01DE-35").compact, "12ABC34501DE35"); // IN 2.229
        assert_eq!(ok("BR", "111.444.777-35").display, "111.444.777-35");
        // Unknown countries keep what was typed.
        assert_eq!(ok("PE", " 20100070970 ").display, "20100070970");
        assert_eq!(ok("", "76.543.210-0").display, "76.543.210-0");
    }

    #[test]
    fn one_wrong_digit_is_refused() {
        refused("CL", "60.803.000-0");
        refused("CL", "76.543.210-K");
        refused("CL", "K");
        refused("CL", "1234567Ñ");
        refused("CL", "0-0");
        refused("BR", "ÑÑÑÑÑÑÑÑÑÑÑ");
        refused("MX", "SAT970701NN4");
        refused("MX", "SAT97070");
        refused("CO", "800197268-5");
        refused("AR", "33-69345023-8");
        refused("AR", "12-69345023-9");
        refused("BR", "00.394.460/0058-88");
        refused("BR", "12.ABC.345/01DE-36");
        refused("BR", "111.444.777-36");
        refused("BR", "111.111.111-11");
    }

    proptest::proptest! {
        /// Any RUT made with its check digit is accepted; changing any one digit of it is
        /// refused (modulo 11 with these weights catches every single-digit error).
        #[test]
        fn every_single_digit_error_in_a_rut_is_caught(body in 1_000_000u32..99_999_999, pos in 0usize..8, delta in 1u32..10) {
            let s = body.to_string();
            let values = digits(&s).unwrap();
            let sum = weighted(&values.iter().rev().copied().collect::<Vec<_>>(), [2, 3, 4, 5, 6, 7].into_iter().cycle());
            let dv = match 11 - sum % 11 { 11 => "0".to_string(), 10 => "K".to_string(), d => d.to_string() };
            let good = format!("{s}-{dv}");
            proptest::prop_assert!(parse(Country::parse("CL"), &good).is_ok());
            let pos = pos % s.len();
            let mut chars: Vec<char> = s.chars().collect();
            let d = chars[pos].to_digit(10).unwrap();
            chars[pos] = char::from_digit((d + delta) % 10, 10).unwrap();
            let typo: String = chars.into_iter().collect();
            proptest::prop_assert!(parse(Country::parse("CL"), &format!("{typo}-{dv}")).is_err(), "{typo}-{dv}");
        }
    }
}
