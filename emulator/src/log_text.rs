//! Text from requests, tokens and fetched documents, made safe for a log line.
//!
//! `tracing`'s fmt output prints `%` fields and the message as they are, so a newline in
//! a token's `sub` or `iss` would start a forged line. Everything such text reaches the
//! log through [`one_line`] (or as a `?` field, which the formatter Debug-escapes).

use std::borrow::Cow;
use std::fmt::Write;

/// Characters that would break or disguise a line: controls (C0, DEL, C1, which includes
/// NEL) and the Unicode line and paragraph separators.
fn breaks_lines(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `text` with every line-breaking or control character written as a Rust escape (`\n`,
/// `\u{1b}`); everything else, quotes included, unchanged.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(breaks_lines) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if breaks_lines(c) {
            let _ = write!(out, "{}", c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_separators_are_escaped_quotes_are_not() {
        assert_eq!(
            one_line("Value 's1'\n2026 INFO forged\r\u{1b}[2K\u{85}\u{2028}"),
            "Value 's1'\\n2026 INFO forged\\r\\u{1b}[2K\\u{85}\\u{2028}"
        );
        assert!(matches!(one_line("é \"q\" \\ ok"), Cow::Borrowed(_)));
    }
}
