//! Field-level validation errors, collected rather than stopping at the first one, so a
//! caller learns everything wrong with a request at once.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Where the problem is, as a JSON path: `lines[2].quantity`.
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", .errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct FieldErrors {
    pub errors: Vec<FieldError>,
}

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(field, message);
        e
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Whether a problem was already found in `field` (to check its form only once its
    /// text passed).
    pub fn has(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(value)` when nothing was added, else the collected errors.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, FieldErrors> {
        if self.errors.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

/// What a free-text field may hold: one line (names, references, descriptions) or
/// several (notes and reasons kept in an invoice's history), where `\n` is the one
/// control character kept (`\r\n` is read as `\n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Line,
    Lines,
}

/// Whether `c` may not appear in text a person typed: control characters (NUL, tab, CR,
/// LF, DEL, the C1 block), the Unicode line and paragraph separators, and the invisible
/// bidirectional embeddings, overrides and isolates that make text display in another
/// order than it is stored (CVE-2021-42574). Letters of every script, accents, ñ, emoji
/// (with their zero-width joiners) and right-to-left text are not affected: the implicit
/// marks U+200E and U+200F stay allowed.
pub fn is_forbidden(c: char, shape: Shape) -> bool {
    match c {
        '\n' => shape == Shape::Line,
        '\u{2028}' | '\u{2029}' => true,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => true,
        c => c.is_control(),
    }
}

/// `value` made safe for one line of a header or a label, whatever it holds: every
/// forbidden character becomes a space, runs of spaces become one, the ends are trimmed.
/// For data that did not pass [`text`] (written before the check, or by a path that
/// forgot it); what passed [`text`] with [`Shape::Line`] comes back the same but for
/// runs of whitespace.
pub fn one_line(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut space = false;
    for c in value.chars() {
        if is_forbidden(c, Shape::Line) || c.is_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// A free-text field checked at the edge: trimmed, free of forbidden characters
/// ([`is_forbidden`]) and at most `max` characters long. `None` when empty (after
/// trimming); each problem is added to `errors` under `field`.
pub fn text(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
    max: usize,
    shape: Shape,
) -> Option<String> {
    let v = value.trim();
    let v = if shape == Shape::Lines && v.contains('\r') {
        std::borrow::Cow::Owned(v.replace("\r\n", "\n"))
    } else {
        std::borrow::Cow::Borrowed(v)
    };
    if v.is_empty() {
        return None;
    }
    if v.chars().any(|c| is_forbidden(c, shape)) {
        errors.add(
            field,
            match shape {
                Shape::Line => {
                    "must be one line of text, without line breaks, tabs, other control \
                     characters or invisible direction overrides"
                }
                Shape::Lines => {
                    "must be text without tabs, other control characters (line breaks are \
                     fine) or invisible direction overrides"
                }
            },
        );
    } else if v.chars().count() > max {
        errors.add(field, format!("must be at most {max} characters"));
    }
    Some(v.into_owned())
}

/// A required one-line text field ([`text`]); empty is an error.
pub fn required_text(errors: &mut FieldErrors, field: &str, value: &str, max: usize) -> String {
    required(errors, field, value, max, Shape::Line)
}

/// A required field of either shape ([`text`]); empty is an error.
pub fn required(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
    max: usize,
    shape: Shape,
) -> String {
    text(errors, field, value, max, shape).unwrap_or_else(|| {
        errors.add(field, "must not be empty");
        String::new()
    })
}

/// A required e-mail address: an address alone (no display text, no domain literal), at
/// most 254 bytes (RFC 5321), what every mail server takes.
pub fn email(errors: &mut FieldErrors, field: &str, value: &str) -> String {
    let email = required_text(errors, field, value, 254);
    let strict = email_address::Options::default()
        .without_display_text()
        .without_domain_literal();
    if !errors.has(field)
        && (email.len() > 254
            || email_address::EmailAddress::parse_with_options(&email, strict).is_err())
    {
        errors.add(field, "must be a valid e-mail address");
    }
    email
}

/// An optional one-line text field ([`text`]); empty becomes `None`.
pub fn optional_text(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    value.and_then(|v| text(errors, field, v, max, Shape::Line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(value: &str, shape: Shape) -> Result<Option<String>, FieldErrors> {
        let mut errors = FieldErrors::new();
        let v = text(&mut errors, "name", value, 20, shape);
        errors.finish(|| v)
    }

    #[test]
    fn letters_of_every_script_pass_unchanged() {
        for ok in [
            "Peñalolén Ltda.",
            "José Núñez",
            "Çağrı Ödeme",
            "שלום עולם",
            "مرحبا",
            "Café ☕ 👩‍💻",
            "\u{200F}שלום",
        ] {
            assert_eq!(check(ok, Shape::Line), Ok(Some(ok.to_string())), "{ok:?}");
            assert_eq!(one_line(ok), ok);
        }
    }

    #[test]
    fn control_characters_are_refused_with_the_field() {
        for bad in [
            "Evil\r\nBcc: someone@example.com",
            "a\0b",
            "tab\there",
            "del\u{7f}",
            "nel\u{85}x",
            "line\u{2028}sep",
            "\u{202E}gnp.exe",
            "iso\u{2066}late",
        ] {
            let e = check(bad, Shape::Line).unwrap_err();
            assert_eq!(e.errors.len(), 1, "{bad:?}");
            assert_eq!(e.errors[0].field, "name");
        }
    }

    #[test]
    fn notes_keep_line_breaks_only() {
        assert_eq!(
            check(" one\r\ntwo\n", Shape::Lines),
            Ok(Some("one\ntwo".to_string()))
        );
        assert!(check("one\rtwo", Shape::Lines).is_err());
        assert!(check("one\ttwo", Shape::Lines).is_err());
        assert!(check("one\ntwo", Shape::Line).is_err());
    }

    #[test]
    fn trimmed_empty_and_bounded() {
        assert_eq!(check("  \n ", Shape::Line), Ok(None));
        assert_eq!(check(" x ", Shape::Line), Ok(Some("x".into())));
        // 20 characters of two bytes each pass; 21 do not.
        assert!(check(&"ñ".repeat(20), Shape::Line).is_ok());
        let e = check(&"ñ".repeat(21), Shape::Line).unwrap_err();
        assert_eq!(e.errors[0].message, "must be at most 20 characters");
        let mut errors = FieldErrors::new();
        assert_eq!(required_text(&mut errors, "name", " ", 5), "");
        assert_eq!(errors.errors[0].message, "must not be empty");
    }

    #[test]
    fn one_line_makes_stored_text_header_safe() {
        assert_eq!(
            one_line("Evil\r\nBcc: someone@example.com"),
            "Evil Bcc: someone@example.com"
        );
        assert_eq!(one_line("\0\t a\u{202E}b \u{2029}"), "a b");
        assert_eq!(one_line("\r\n"), "");
    }

    proptest! {
        /// Whatever comes in, what passes has no forbidden character, no outer whitespace
        /// and at most `max` characters; and `one_line` of anything passes as one line.
        #[test]
        fn what_passes_is_clean(s in any::<String>(), lines in any::<bool>()) {
            let shape = if lines { Shape::Lines } else { Shape::Line };
            if let Ok(Some(v)) = check(&s, shape) {
                prop_assert!(!v.chars().any(|c| is_forbidden(c, shape)));
                prop_assert_eq!(v.trim(), v.as_str());
                prop_assert!(v.chars().count() <= 20);
            }
            let safe = one_line(&s);
            prop_assert!(!safe.chars().any(|c| is_forbidden(c, Shape::Line)));
            prop_assert_eq!(safe.trim(), safe.as_str());
            let bounded: String = safe.chars().take(20).collect::<String>();
            let bounded = bounded.trim();
            prop_assert_eq!(check(bounded, Shape::Line), Ok((!bounded.is_empty()).then(|| bounded.to_string())));
        }
    }
}
