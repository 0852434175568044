//! Fake AWS STS, IAM, S3 and CloudFront that validate Kubernetes service-account tokens the way AWS does.
//!
//! Module map (one topic per module):
//! - [`clock`]: real or virtual time, injected everywhere a timestamp is read.
//! - [`query`]: the AWS Query protocol shared by STS and IAM (parsing, error envelopes).
//! - [`issuer`]: what an OIDC issuer holds and publishes: keys, `kid`, JWKS, discovery
//!   documents, and tokens shaped exactly like kube-apiserver's.
//! - [`jwt`]: parsing compact JWS tokens and checking their signatures against a JWK.
//! - [`log_text`]: request and token text made safe for one log line.
//! - [`oidc`]: how STS finds an issuer's keys: URL resolution (never to real AWS),
//!   fetching with AWS's limits, and the JWKS cache.
//! - [`s3`]: buckets and objects with ACLs, bucket policies, Object Ownership and Block
//!   Public Access, served over the S3 REST API.
//! - [`cloudfront`]: origin access controls, distributions and invalidations over
//!   CloudFront's REST-XML API, and the edge that serves `*.cloudfront.net` to STS.
//! - [`xml_tree`]: the element tree REST-XML request bodies are read into.
//! - [`iam`]: OIDC providers, roles, trust policies and the IAM Query API subset.
//! - [`sts`]: `AssumeRoleWithWebIdentity`, issued credentials, SigV4 and `GetCallerIdentity`.
//! - [`server`]: one endpoint that routes each request to STS, IAM, S3 or CloudFront.

pub mod clock;
pub mod cloudfront;
pub mod iam;
pub mod issuer;
pub mod jwt;
pub mod log_text;
pub mod oidc;
pub mod query;
pub mod s3;
pub mod server;
pub mod sts;
pub mod xml_tree;
