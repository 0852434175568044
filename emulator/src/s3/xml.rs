//! S3's XML documents.

use time::OffsetDateTime;
use time::format_description::well_known::Iso8601;

use super::store::Object;
use crate::query::xml_escape;

pub const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
const OWNER: &str = "<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>irsa-lab</DisplayName></Owner>";

/// S3 timestamps: ISO-8601 with milliseconds, `2026-01-01T00:00:00.000Z`.
pub fn s3_time(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    let text = t.format(&Iso8601::DEFAULT).unwrap_or_default();
    // Iso8601::DEFAULT writes `2026-01-01T00:00:00.000000000Z`; S3 uses milliseconds.
    match text.split_once('.') {
        Some((head, _)) => format!("{head}.000Z"),
        None => text,
    }
}

/// The HTTP-date of `Last-Modified`.
pub fn http_date(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.format(format).unwrap_or_default()
}

pub fn list_buckets(buckets: &[(String, OffsetDateTime)]) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult xmlns=\"{NS}\">{OWNER}<Buckets>"
    );
    for (name, created) in buckets {
        xml.push_str(&format!(
            "<Bucket><Name>{}</Name><CreationDate>{}</CreationDate></Bucket>",
            xml_escape(name),
            s3_time(*created)
        ));
    }
    xml.push_str("</Buckets></ListAllMyBucketsResult>");
    xml
}

/// One page of ListObjects (V1 when `v2` is false).
#[derive(Debug)]
pub struct ListPage<'a> {
    pub bucket: &'a str,
    pub prefix: &'a str,
    pub delimiter: Option<&'a str>,
    pub max_keys: usize,
    pub v2: bool,
    pub contents: Vec<(String, Object)>,
    pub common_prefixes: Vec<String>,
    pub truncated: bool,
    pub next: Option<String>,
    pub continuation_token: Option<&'a str>,
    pub start_after: Option<&'a str>,
    /// `encoding-type=url` (what `aws s3 sync` and `ls` ask for): keys and prefixes are
    /// percent-encoded, and the client decodes them.
    pub url_encoded: bool,
}

/// What `encoding-type=url` leaves as is: unreserved characters and `/`.
const KEY_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

fn key_text(text: &str, url_encoded: bool) -> String {
    if url_encoded {
        percent_encoding::utf8_percent_encode(text, KEY_ENCODE).to_string()
    } else {
        xml_escape(text)
    }
}

pub fn list_objects(page: &ListPage<'_>) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"{NS}\"><Name>{}</Name><Prefix>{}</Prefix>",
        xml_escape(page.bucket),
        key_text(page.prefix, page.url_encoded)
    );
    if page.url_encoded {
        xml.push_str("<EncodingType>url</EncodingType>");
    }
    if page.v2 {
        xml.push_str(&format!(
            "<KeyCount>{}</KeyCount>",
            page.contents.len() + page.common_prefixes.len()
        ));
        if let Some(token) = page.continuation_token {
            xml.push_str(&format!(
                "<ContinuationToken>{}</ContinuationToken>",
                xml_escape(token)
            ));
        }
        if let Some(start_after) = page.start_after {
            xml.push_str(&format!(
                "<StartAfter>{}</StartAfter>",
                xml_escape(start_after)
            ));
        }
    } else {
        xml.push_str("<Marker></Marker>");
    }
    xml.push_str(&format!("<MaxKeys>{}</MaxKeys>", page.max_keys));
    if let Some(d) = page.delimiter {
        xml.push_str(&format!("<Delimiter>{}</Delimiter>", xml_escape(d)));
    }
    xml.push_str(&format!("<IsTruncated>{}</IsTruncated>", page.truncated));
    if let Some(next) = &page.next {
        let tag = if page.v2 {
            "NextContinuationToken"
        } else {
            "NextMarker"
        };
        xml.push_str(&format!("<{tag}>{}</{tag}>", xml_escape(next)));
    }
    for (key, object) in &page.contents {
        xml.push_str(&format!(
            "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
            key_text(key, page.url_encoded),
            s3_time(object.last_modified),
            xml_escape(&object.etag),
            object.body.len()
        ));
    }
    for prefix in &page.common_prefixes {
        xml.push_str(&format!(
            "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
            key_text(prefix, page.url_encoded)
        ));
    }
    xml.push_str("</ListBucketResult>");
    xml
}

pub fn location(region: &str) -> String {
    // us-east-1 is reported as an empty constraint, as S3 does.
    let region = if region == "us-east-1" { "" } else { region };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"{NS}\">{}</LocationConstraint>",
        xml_escape(region)
    )
}

pub fn acl(public: bool) -> String {
    let public_grant = if public {
        "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>"
    } else {
        ""
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AccessControlPolicy xmlns=\"{NS}\">{OWNER}<AccessControlList><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>irsa-lab</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>{public_grant}</AccessControlList></AccessControlPolicy>"
    )
}

/// `DeleteObjects`' answer: every key reported deleted (S3 reports missing keys so too).
pub fn delete_result(deleted: &[String]) -> String {
    let mut xml =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult xmlns=\"{NS}\">");
    for key in deleted {
        xml.push_str(&format!(
            "<Deleted><Key>{}</Key></Deleted>",
            xml_escape(key)
        ));
    }
    xml.push_str("</DeleteResult>");
    xml
}

/// `CopyObject`'s answer.
pub fn copy_result(etag: &str, last_modified: OffsetDateTime) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyObjectResult xmlns=\"{NS}\"><LastModified>{}</LastModified><ETag>{}</ETag></CopyObjectResult>",
        s3_time(last_modified),
        xml_escape(etag)
    )
}

/// The `LocationConstraint` of a CreateBucket body, if any.
pub fn parse_location_constraint(body: &[u8]) -> Result<Option<String>, ()> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let text = std::str::from_utf8(body).map_err(|_| ())?;
    if !text.contains("CreateBucketConfiguration") {
        return Err(());
    }
    let Some(start) = text.find("<LocationConstraint>") else {
        return Ok(None);
    };
    let rest = &text[start + "<LocationConstraint>".len()..];
    let end = rest.find("</LocationConstraint>").ok_or(())?;
    Ok(Some(rest[..end].trim().to_owned()).filter(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formats() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(s3_time(t), "2023-11-14T22:13:20.000Z");
        assert_eq!(http_date(t), "Tue, 14 Nov 2023 22:13:20 GMT");
    }

    #[test]
    fn location_constraint_body() {
        let body = b"<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>";
        assert_eq!(
            parse_location_constraint(body),
            Ok(Some("eu-west-1".into()))
        );
        assert_eq!(parse_location_constraint(b""), Ok(None));
        assert_eq!(parse_location_constraint(b"garbage"), Err(()));
    }
}
