//! XML documents written with quick-xml, always well-formed whatever the text carries.
//!
//! Every answer echoes text from the request or the token (`iss` in "No OpenIDConnect
//! provider found", `sub` in `SubjectFromWebIdentityToken`, IAM names). XML 1.0 cannot
//! carry some characters at all, not even as character references: the C0 controls other
//! than tab, newline and carriage return, and U+FFFE / U+FFFF. Each of them is written as
//! U+FFFD (the replacement character), a documented choice (see the README): AWS
//! publishes no rule, and the replacement keeps the document parseable by every client
//! while showing that something was there. The JSON variant carries the original text
//! (JSON can escape anything), and the logs carry it Debug-escaped.

use std::borrow::Cow;

use quick_xml::Writer;
use quick_xml::escape::escape;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};

/// What stands in for a character XML 1.0 cannot carry.
pub const REPLACEMENT: char = '\u{FFFD}';

/// True for the characters XML 1.0's `Char` production allows
/// (`#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`; a Rust
/// `char` is never a surrogate).
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `text` with every character XML 1.0 cannot carry replaced by [`REPLACEMENT`].
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(
            text.chars()
                .map(|c| if allowed(c) { c } else { REPLACEMENT })
                .collect(),
        )
    }
}

/// Escapes text for an XML element body or attribute: `< > & ' "` as entities, `\r` as a
/// character reference (a raw one would reach the reader as `\n`), and the characters
/// XML cannot carry replaced (see [`xml_safe`]).
pub fn xml_escape(text: &str) -> String {
    escaped(text).into_owned()
}

/// [`xml_escape`] without a copy when there is nothing to change (the common case).
fn escaped(text: &str) -> Cow<'_, str> {
    let escaped = escape(xml_safe(text));
    if escaped.contains('\r') {
        Cow::Owned(escaped.replace('\r', "&#xD;"))
    } else {
        escaped
    }
}

/// A document under construction. Writing into a `Vec` cannot fail, so the methods do not
/// return `io::Result`.
pub struct XmlWriter {
    writer: Writer<Vec<u8>>,
}

impl std::fmt::Debug for XmlWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XmlWriter")
            .field("written", &String::from_utf8_lossy(self.writer.get_ref()))
            .finish()
    }
}

impl XmlWriter {
    /// Two-space indentation, one element per line: STS's and the error envelope's layout.
    pub fn indented() -> Self {
        Self {
            writer: Writer::new_with_indent(Vec::with_capacity(2048), b' ', 2),
        }
    }

    /// No whitespace between elements: IAM's and S3's layout.
    pub fn compact() -> Self {
        Self {
            writer: Writer::new(Vec::with_capacity(1024)),
        }
    }

    fn emit(&mut self, event: Event<'_>) -> &mut Self {
        // `impl io::Write for Vec<u8>` never fails.
        let _ = self.writer.write_event(event);
        self
    }

    /// Opens `<name>`.
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.emit(Event::Start(BytesStart::new(name)))
    }

    /// Opens `<name xmlns="namespace">`.
    pub fn open_ns(&mut self, name: &str, namespace: &str) -> &mut Self {
        let safe = xml_safe(namespace);
        let start = BytesStart::new(name).with_attributes([("xmlns", safe.as_ref())]);
        self.emit(Event::Start(start))
    }

    /// Closes `</name>`.
    pub fn close(&mut self, name: &str) -> &mut Self {
        self.emit(Event::End(BytesEnd::new(name)))
    }

    /// `<name>text</name>`, the text escaped and made safe.
    pub fn element(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name);
        self.emit(Event::Text(BytesText::from_escaped(escaped(text))));
        self.close(name)
    }

    /// The document, with a final newline.
    pub fn finish(self) -> String {
        let mut bytes = self.writer.into_inner();
        bytes.push(b'\n');
        // Everything written came from `&str`s, so the bytes are UTF-8.
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_xml_cannot_carry_become_the_replacement_character() {
        assert_eq!(
            xml_safe("a\u{0}b\u{7}c\u{1b}d\u{FFFE}\u{FFFF}"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}\u{FFFD}"
        );
        assert!(matches!(
            xml_safe("tab\tnl\ncr\r é 𝄞 \u{FFFD}"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn escape_covers_markup_and_carriage_returns() {
        assert_eq!(
            xml_escape("<a href='x'>&\"\r\u{0}"),
            "&lt;a href=&apos;x&apos;&gt;&amp;&quot;&#xD;\u{FFFD}"
        );
    }

    #[test]
    fn indented_documents_put_one_element_per_line() {
        let mut w = XmlWriter::indented();
        w.open_ns("R", "ns")
            .open("A")
            .element("B", "x<y")
            .close("A")
            .element("C", "");
        w.close("R");
        assert_eq!(
            w.finish(),
            "<R xmlns=\"ns\">\n  <A>\n    <B>x&lt;y</B>\n  </A>\n  <C></C>\n</R>\n"
        );
    }

    #[test]
    fn every_character_gives_a_document_an_independent_parser_reads_back() {
        // All of the BMP's edges and the C0/C1 controls, plus markup and astral characters.
        let mut chars: Vec<char> = (0u32..0x100).filter_map(char::from_u32).collect();
        chars.extend([
            '\u{D7FF}',
            '\u{E000}',
            '\u{FFFD}',
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{10000}',
            '\u{10FFFF}',
        ]);
        for c in chars {
            let text = format!("a{c}b");
            let mut w = XmlWriter::indented();
            w.open_ns("R", "ns\u{0}").element("T", &text).close("R");
            let xml = w.finish();
            let doc = roxmltree::Document::parse(&xml)
                .unwrap_or_else(|e| panic!("U+{:04X}: {e}: {xml:?}", c as u32));
            let read = doc
                .descendants()
                .find(|n| n.has_tag_name("T"))
                .unwrap()
                .text();
            let expected = if allowed(c) {
                text.clone()
            } else {
                format!("a{REPLACEMENT}b")
            };
            assert_eq!(read, Some(expected.as_str()), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn compact_documents_have_no_whitespace() {
        let mut w = XmlWriter::compact();
        w.open("R").element("B", "\u{0}").close("R");
        assert_eq!(w.finish(), "<R><B>\u{FFFD}</B></R>\n");
    }
}
