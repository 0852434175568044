//! A fake S3: buckets and objects with canned ACLs, served over the REST API subset the
//! setup guides use (`aws s3api create-bucket`, `aws s3 cp --acl public-read`, `aws s3 ls`).
//!
//! Anonymous requests (no signature) may only read public objects, exactly the rule that
//! makes STS fail with "Couldn't retrieve verification key" when a JWKS was uploaded
//! without `--acl public-read`. Signed requests are allowed whatever the credentials.

mod addressing;
pub mod chunked;
mod errors;
mod handlers;
mod store;
mod xml;

pub use addressing::{Addressed, address};
pub use errors::{S3Error, error_response};
pub use handlers::router;
pub use store::{Acl, Bucket, Object, S3Store};
