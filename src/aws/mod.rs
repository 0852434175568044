//! The AWS side every backend shares: the fake AWS on a loopback port ([`FakeAws`]), set
//! up the way the guides' `aws` commands set it up (a CDN in front of a bucket is the
//! emulator's CloudFront), and the HTTP client that speaks to it like the SDKs
//! ([`client`]).

pub mod client;
pub mod fake;

pub use client::{AwsClient, AwsFailure, AwsResult, Credentials, xml_field};
pub use fake::FakeAws;
