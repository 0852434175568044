//! A fake S3: buckets and objects with canned ACLs, bucket policies, Object Ownership and
//! Block Public Access, served over the REST API subset the setup guides use
//! (`aws s3api create-bucket`, `aws s3 cp --acl public-read`, `aws s3 sync`, `aws s3 ls`,
//! `put-bucket-policy`, `put-public-access-block`, `put-bucket-ownership-controls`).
//!
//! Anonymous requests (no signature) may only read what a bucket policy or a public ACL
//! grants them, as Block Public Access and Object Ownership let those count ([`access`]):
//! exactly the rule that makes STS fail with "Couldn't retrieve verification key" when a
//! JWKS was uploaded without `--acl public-read`. New buckets start as S3's do today
//! (ACLs disabled, Block Public Access on) unless [`BucketDefaults::Legacy`] is chosen. Only a well-formed SigV4 header or presigned query counts
//! as credentials; any other `Authorization` gets S3's error. Signed requests are allowed
//! whatever the credentials, except that credentials STS issued are verified first (by the
//! dispatcher, through `sts::sigv4`).

mod access;
mod addressing;
mod bucket_settings;
pub mod chunked;
mod errors;
mod handlers;
mod policy;
mod store;
mod xml;

pub use access::Denial;
pub use addressing::{Addressed, address};
pub use bucket_settings::{BucketDefaults, ObjectOwnership, PublicAccessBlock};
pub use chunked::ChunkedError;
pub use errors::{S3Error, error_response, issued_refusal};
pub use handlers::router;
pub use policy::{BucketPolicy, MalformedPolicy, PolicyVerdict, Requester};
pub use store::{Acl, Bucket, Object, ObjectMeta, ReadRefusal, S3Store};
pub use xml::http_date;
