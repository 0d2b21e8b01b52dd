//! Names and values as a person reads them: every character that could move the cursor, start a
//! new line or reorder the text around it is shown escaped, so text that came from Descope or a
//! file can never pass for a line dmgmt wrote.
//!
//! Pure; used wherever names or values are printed (plans, drift, diagnostics).

use std::borrow::Cow;

/// Whether `c` must never reach a terminal as itself: control characters (C0, DEL, C1), the
/// Unicode line and paragraph separators, and the bidirectional formatting characters.
pub(crate) fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `text` with each unprintable character escaped as Rust writes it (`\n`, `\r`, `\t`,
/// `\u{1b}`); borrowed when there is none.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unprintable) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unprintable(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unprintable_characters_are_escaped_and_the_rest_is_kept() {
        assert!(matches!(printable("Acme Corp é 日本"), Cow::Borrowed(_)));
        assert_eq!(
            printable("a\nb\r\tc\u{1b}[2K\u{7f}\u{85}\u{202e}\u{2028}"),
            r"a\nb\r\tc\u{1b}[2K\u{7f}\u{85}\u{202e}\u{2028}"
        );
    }
}
