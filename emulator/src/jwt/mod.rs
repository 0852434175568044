//! Parsing compact JWS tokens and checking signatures against a JWK. (In progress.)
