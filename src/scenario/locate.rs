//! Where each key path of a YAML document is, so that errors found after deserialising
//! (an unknown pod name, a step with no action) can still name `file:line:column`.
//!
//! serde only reports locations for its own errors; this walks the YAML events once and
//! records, for every node, the position of its key and of its value, by the same path
//! syntax serde_path_to_error prints (`steps[3].assumeRole.pod`).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Positions by key path.
#[derive(Debug, Default, Clone)]
pub struct Locator {
    keys: HashMap<String, Position>,
    values: HashMap<String, Position>,
}

impl Locator {
    /// Indexes `text`; a document that does not parse yields an empty index (serde then
    /// reports the syntax error with its own location).
    pub fn new(text: &str) -> Self {
        let mut walker = Walker::default();
        let _ = Parser::new_from_str(text).load(&mut walker, false);
        walker.locator
    }

    /// The value's position at `path`, else its key's, else the nearest ancestor's.
    pub fn find(&self, path: &str) -> Option<Position> {
        let mut path = path;
        loop {
            if let Some(found) = self.values.get(path).or_else(|| self.keys.get(path)) {
                return Some(*found);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }

    /// The key's position at `path` (for "unknown field"-style errors), else as [`find`].
    pub fn find_key(&self, path: &str) -> Option<Position> {
        self.keys.get(path).copied().or_else(|| self.find(path))
    }
}

#[derive(Debug)]
enum Frame {
    /// `located`: block mappings report their start late; their first key is where
    /// they begin.
    Map {
        path: String,
        key: Option<String>,
        located: bool,
    },
    Seq {
        path: String,
        next: usize,
    },
}

#[derive(Debug, Default)]
struct Walker {
    stack: Vec<Frame>,
    locator: Locator,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

impl Walker {
    /// The path of a node starting now; `None` when the node is a mapping key.
    fn node_path(&mut self, scalar: Option<&str>, mark: Marker, mapping: bool) -> Option<String> {
        let position = Position {
            line: mark.line(),
            column: mark.col() + 1,
        };
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let child = format!("{path}[{next}]");
                *next += 1;
                if !mapping {
                    self.locator.values.insert(child.clone(), position);
                }
                Some(child)
            }
            Some(Frame::Map { path, key, located }) => match key.take() {
                None => {
                    if !*located {
                        *located = true;
                        self.locator.values.entry(path.clone()).or_insert(position);
                    }
                    let name = scalar.unwrap_or("?").to_owned();
                    self.locator
                        .keys
                        .entry(join(path, &name))
                        .or_insert(position);
                    *key = Some(name);
                    None
                }
                Some(name) => {
                    let child = join(path, &name);
                    if !mapping {
                        self.locator.values.insert(child.clone(), position);
                    }
                    Some(child)
                }
            },
        }
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, ..) => {
                self.node_path(Some(&value), mark, false);
            }
            Event::Alias(_) => {
                self.node_path(None, mark, false);
            }
            Event::MappingStart(..) => {
                if let Some(path) = self.node_path(None, mark, true) {
                    self.stack.push(Frame::Map {
                        path,
                        key: None,
                        located: false,
                    });
                }
            }
            Event::SequenceStart(..) => {
                if let Some(path) = self.node_path(None, mark, false) {
                    self.stack.push(Frame::Seq { path, next: 0 });
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "name: x\nsteps:\n  - publish: {}\n  - assumeRole:\n      pod: ap\n";

    #[test]
    fn finds_values_in_sequences_and_maps() {
        let locator = Locator::new(DOC);
        assert_eq!(
            locator.find("steps[1].assumeRole.pod"),
            Some(Position {
                line: 5,
                column: 12
            })
        );
        assert_eq!(
            locator.find_key("steps[1].assumeRole.pod"),
            Some(Position { line: 5, column: 7 })
        );
        assert_eq!(
            locator.find("steps[0]"),
            Some(Position { line: 3, column: 5 })
        );
    }

    #[test]
    fn unknown_paths_fall_back_to_the_nearest_ancestor() {
        let locator = Locator::new(DOC);
        assert_eq!(
            locator.find("steps[1].assumeRole.container"),
            locator.find("steps[1].assumeRole")
        );
    }
}
