use super::{JwkSet, PublicKey};

/// The JWKS an issuer publishes for `keys`, in order, each as kube-apiserver renders it.
///
/// `with_empty_kid` appends a copy of the first key whose `kid` is `""`: the documented
/// bridge for pre-1.16 tokens (no `kid` header), which AWS STS only matches against a JWK
/// with `"kid": ""`. It is exactly what the self-hosted guide's
/// `jq '.keys += [.keys[0]] | .keys[1].kid = ""'` produces (for a one-key set).
pub fn jwks(keys: &[PublicKey], with_empty_kid: bool) -> JwkSet {
    let mut set = JwkSet {
        keys: keys.iter().map(PublicKey::to_jwk).collect(),
    };
    if with_empty_kid && let Some(first) = set.keys.first() {
        let mut copy = first.clone();
        copy.kid = Some(String::new());
        set.keys.push(copy);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issuer::{KeyAlgorithm, PrivateKey};

    const RSA_PUB_PKIX: &str = include_str!("testdata/rsa-pub-pkix.pem");

    #[test]
    fn empty_kid_copy_matches_the_guides_jq_output() {
        let key = PublicKey::from_pem(RSA_PUB_PKIX).unwrap();
        let plain = serde_json::to_string(&jwks(std::slice::from_ref(&key), false)).unwrap();
        let bridged = serde_json::to_string(&jwks(std::slice::from_ref(&key), true)).unwrap();
        // `jq -c '.keys += [.keys[0]] | .keys[1].kid = ""'` keeps member order and only
        // blanks the copy's kid, so its output is derivable from the plain set's text:
        let entry = plain
            .strip_prefix(r#"{"keys":["#)
            .and_then(|s| s.strip_suffix("]}"))
            .unwrap();
        let blanked = entry.replace(&format!(r#""kid":"{}""#, key.kid()), r#""kid":"""#);
        assert_ne!(blanked, entry);
        assert_eq!(bridged, format!(r#"{{"keys":[{entry},{blanked}]}}"#));
    }

    #[test]
    fn a_missing_kid_token_finds_only_the_blank_copy() {
        let keys = [
            PublicKey::from_pem(RSA_PUB_PKIX).unwrap(),
            PrivateKey::generate(KeyAlgorithm::EcP256).public_key(),
        ];
        let set = jwks(&keys, true);
        assert_eq!(set.keys.len(), 3);
        let blank: Vec<_> = set.find("").collect();
        assert_eq!(blank.len(), 1);
        assert_eq!(blank[0].n, set.keys[0].n);
        assert_eq!(set.find(&keys[1].kid()).count(), 1);
        assert!(jwks(&keys, false).find("").next().is_none());
        assert!(jwks(&[], true).keys.is_empty());
    }
}
