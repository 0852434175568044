//! Compact JWS tokens: parsing without trusting anything, then checking the signature
//! against one JWK chosen by the caller.
//!
//! Key selection is the verifier's business (by issuer and `kid`). Header fields that
//! point at keys (`jku`, `x5u`, `jwk`, `x5c`) are never fetched, read or trusted: AWS STS
//! uses only the issuer's published JWKS, and honouring them is the classic forgery.

mod claims;
mod parse;
mod verify;

pub use claims::ClaimError;
pub use parse::{Header, ParseError, UnverifiedToken, parse};
pub use verify::{SignatureError, verify_signature};
