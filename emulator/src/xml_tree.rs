//! A small element tree read with quick-xml, for the REST-XML request bodies S3 and
//! CloudFront take (`<Delete>`, `<PublicAccessBlockConfiguration>`, `<DistributionConfig>`).
//! Namespaces are dropped (element names are local names); mixed content is not kept,
//! which no AWS request body has. Written back with [`Element::write`] so a stored
//! configuration is echoed as the client sent it.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::query::xml_escape;

/// One element: its local name, its text (for leaves) and its child elements in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

/// Why a body is not the XML document expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed XML: {0}")]
pub struct XmlError(pub String);

/// Most request bodies are a few kilobytes; deeper nesting than this is an attack.
const MAX_DEPTH: usize = 64;

impl Element {
    /// Parses a document and returns its root element.
    ///
    /// # Errors
    /// Not UTF-8, not well-formed, nested deeper than 64 levels, or no root element.
    pub fn parse(body: &[u8]) -> Result<Self, XmlError> {
        let text = std::str::from_utf8(body).map_err(|_| XmlError("not UTF-8".into()))?;
        let mut reader = Reader::from_str(text);
        let mut stack: Vec<Element> = Vec::new();
        loop {
            let event = reader.read_event().map_err(|e| XmlError(e.to_string()))?;
            match event {
                Event::Start(start) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(XmlError("nested too deeply".into()));
                    }
                    stack.push(Element {
                        name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                        ..Element::default()
                    });
                }
                Event::Empty(empty) => {
                    let element = Element {
                        name: String::from_utf8_lossy(empty.local_name().as_ref()).into_owned(),
                        ..Element::default()
                    };
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => return Ok(element),
                    }
                }
                Event::Text(t) => {
                    if let Some(top) = stack.last_mut() {
                        top.text
                            .push_str(&t.decode().map_err(|e| XmlError(e.to_string()))?);
                    }
                }
                Event::GeneralRef(r) => {
                    if let Some(top) = stack.last_mut() {
                        let entity =
                            format!("&{};", r.decode().map_err(|e| XmlError(e.to_string()))?);
                        let value = quick_xml::escape::unescape(&entity)
                            .map_err(|e| XmlError(e.to_string()))?;
                        top.text.push_str(&value);
                    }
                }
                Event::CData(t) => {
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&String::from_utf8_lossy(&t));
                    }
                }
                Event::End(_) => {
                    let Some(done) = stack.pop() else {
                        return Err(XmlError("unbalanced end tag".into()));
                    };
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
                Event::Eof => return Err(XmlError("no root element".into())),
                _ => {}
            }
        }
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of the first child named `name`.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// A child's text read as an XML Schema boolean (`true`/`false`/`1`/`0`).
    pub fn bool_of(&self, name: &str) -> Option<bool> {
        match self.text_of(name)? {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        }
    }

    /// The element as XML (no declaration, no namespace).
    pub fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        out.push('>');
        if self.children.is_empty() {
            out.push_str(&xml_escape(self.text.trim()));
        }
        for child in &self.children {
            child.write(out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }

    /// The element as XML with `xmlns` on it (a response's root).
    pub fn write_with_namespace(&self, namespace: &str) -> String {
        let mut inner = String::new();
        self.write(&mut inner);
        let open = format!("<{}>", self.name);
        let with_ns = format!("<{} xmlns=\"{namespace}\">", self.name);
        inner.replacen(&open, &with_ns, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_elements_without_namespaces() {
        let root = Element::parse(
            b"<?xml version=\"1.0\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Object><Key>a&amp;b</Key></Object><Object><Key>c</Key></Object><Quiet>true</Quiet></Delete>",
        )
        .unwrap();
        assert_eq!(root.name, "Delete");
        let keys: Vec<_> = root
            .children_named("Object")
            .filter_map(|o| o.text_of("Key"))
            .collect();
        assert_eq!(keys, ["a&b", "c"]);
        assert_eq!(root.bool_of("Quiet"), Some(true));
    }

    #[test]
    fn round_trips_through_write() {
        let root = Element::parse(b"<A><B>x &lt; y</B><C/></A>").unwrap();
        let mut out = String::new();
        root.write(&mut out);
        assert_eq!(out, "<A><B>x &lt; y</B><C></C></A>");
        assert_eq!(
            root.write_with_namespace("urn:x"),
            "<A xmlns=\"urn:x\"><B>x &lt; y</B><C></C></A>"
        );
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert!(Element::parse(b"<A><B></A>").is_err());
        assert!(Element::parse(b"").is_err());
        assert!(Element::parse(&[0xff, 0xfe]).is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(
            Element::parse(deep.as_bytes()),
            Err(XmlError("nested too deeply".into()))
        );
    }
}
