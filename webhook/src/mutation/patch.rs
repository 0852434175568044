//! Applying the `add` operations this webhook emits (for offline mode and tests): what the
//! apiserver does with the patch.

use serde_json::Value;

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("operation {0} is not an add with a path and a value")]
    Unsupported(usize),
    #[error("operation {index}: path {path:?} does not exist in the pod")]
    Missing { index: usize, path: String },
}

/// RFC 6901 escaping of one reference token (`~` then `/`).
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Applies RFC 6902 `add` operations to `doc`.
pub fn apply_patch(doc: &mut Value, patch: &[Value]) -> Result<(), PatchError> {
    for (index, op) in patch.iter().enumerate() {
        let (Some("add"), Some(path), Some(value)) =
            (op["op"].as_str(), op["path"].as_str(), op.get("value"))
        else {
            return Err(PatchError::Unsupported(index));
        };
        let missing = || PatchError::Missing {
            index,
            path: path.to_owned(),
        };
        let (parent_path, last) = path.rsplit_once('/').ok_or_else(missing)?;
        let parent = if parent_path.is_empty() {
            Some(&mut *doc)
        } else {
            doc.pointer_mut(parent_path)
        };
        match parent.ok_or_else(missing)? {
            Value::Object(map) => {
                map.insert(unescape(last), value.clone());
            }
            Value::Array(items) if last == "-" => items.push(value.clone()),
            Value::Array(items) => {
                let at: usize = last.parse().map_err(|_| missing())?;
                if at > items.len() {
                    return Err(missing());
                }
                items.insert(at, value.clone());
            }
            _ => return Err(missing()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn adds_to_objects_and_arrays() {
        let mut doc = json!({"a": {"b": [1, 2]}, "m": {}});
        let patch = vec![
            json!({"op": "add", "path": "/a/b/-", "value": 3}),
            json!({"op": "add", "path": "/a/b/0", "value": 0}),
            json!({"op": "add", "path": "/m/x~1y", "value": "z"}),
            json!({"op": "add", "path": "/n", "value": [1]}),
        ];
        apply_patch(&mut doc, &patch).unwrap();
        assert_eq!(
            doc,
            json!({"a": {"b": [0, 1, 2, 3]}, "m": {"x/y": "z"}, "n": [1]})
        );
        assert!(
            apply_patch(
                &mut doc,
                &[json!({"op": "add", "path": "/nope/x", "value": 1})]
            )
            .is_err()
        );
        assert!(
            apply_patch(
                &mut doc,
                &[json!({"op": "replace", "path": "/n", "value": 1})]
            )
            .is_err()
        );
    }
}
