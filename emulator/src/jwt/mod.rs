//! Parsing compact JWS tokens and checking their signatures against a JWK.
//!
//! Key selection is the caller's job and uses only `kid` (see [`crate::issuer::JwkSet::find`]).
//! The header members `jku`, `x5u`, `jwk` and `x5c` are deliberately ignored: they are kept
//! in [`Header::raw`] for inspection but are never fetched, never trusted, and never used to
//! pick or build a key, since a token naming its own key proves nothing. A header with
//! `crit` is refused at parse time ([`ParseError::CriticalHeader`]): we implement no JWS
//! extension, and RFC 7515 §4.1.11 requires refusing a token that needs one.

mod alg;
mod claims;
mod parse;
mod verify;

pub use alg::{HashAlgorithm, JwsAlgorithm, UnsupportedAlgorithm};
pub use claims::ClaimError;
pub use parse::{Header, ParseError, Part, UnverifiedToken, parse};
pub(crate) use verify::verify_raw;
pub use verify::{MIN_RSA_VERIFY_BITS, SignatureError, verify_signature, verify_with_key};
