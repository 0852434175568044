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
