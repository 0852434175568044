//! Decoding a JWT's header and claims for expectations and the transcript (no checks:
//! verification is STS's job).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// `(header, claims)`, `None` for anything that is not a three-part JWS with JSON parts.
pub fn decode(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.trim().split('.');
    let part = |p: Option<&str>| -> Option<Value> {
        let bytes = URL_SAFE_NO_PAD.decode(p?.trim_end_matches('=')).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let header = part(parts.next())?;
    let claims = part(parts.next())?;
    Some((header, claims))
}

/// The value at a dotted claim path (`kubernetes.io.pod.name`): the longest key that
/// matches wins, since claim names themselves contain dots.
pub fn claim<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(claims);
    }
    let object = claims.as_object()?;
    if let Some(value) = object.get(path) {
        return Some(value);
    }
    let mut cuts: Vec<usize> = path.match_indices('.').map(|(i, _)| i).collect();
    cuts.reverse();
    for cut in cuts {
        if let Some(value) = object.get(&path[..cut])
            && let Some(found) = claim(value, &path[cut + 1..])
        {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_reach_into_dotted_claim_names() {
        let claims = serde_json::json!({"kubernetes.io": {"pod": {"name": "app"}}, "aud": ["x"]});
        assert_eq!(
            claim(&claims, "kubernetes.io.pod.name"),
            Some(&serde_json::json!("app"))
        );
        assert_eq!(claim(&claims, "aud"), Some(&serde_json::json!(["x"])));
        assert_eq!(claim(&claims, "kubernetes.io.node"), None);
    }
}
