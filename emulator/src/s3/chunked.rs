//! `Content-Encoding: aws-chunked` request bodies, which SDKs send for streaming uploads
//! (signed `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`, or unsigned with trailing
//! checksums): `<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;..]\r\n[trailers]\r\n`.
//!
//! [`parse`] only reads the framing; chunk signatures are verified by
//! `sts::sigv4::streaming` for requests signed with issued credentials. Every size comes
//! from the request, so all arithmetic on it is checked: a broken body is a 400 naming the
//! problem, never a panic.

/// Why a chunked body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkedError {
    /// The body ends before the framing says it does.
    #[error("the aws-chunked body is incomplete: {0}")]
    Incomplete(String),
    /// The framing itself is wrong.
    #[error("malformed aws-chunked body: {0}")]
    Malformed(String),
}

/// One chunk: its data and, for signed streaming, its `chunk-signature`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk<'a> {
    pub data: &'a [u8],
    pub signature: Option<&'a str>,
}

/// A whole aws-chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkedBody<'a> {
    /// Every chunk, the final empty one included.
    pub chunks: Vec<Chunk<'a>>,
    /// Trailing headers (checksums), in order, without `x-amz-trailer-signature`.
    pub trailers: Vec<(&'a str, &'a str)>,
    pub trailer_signature: Option<&'a str>,
}

impl ChunkedBody<'_> {
    /// Bytes of data in all chunks.
    pub fn data_len(&self) -> usize {
        self.chunks.iter().map(|c| c.data.len()).sum()
    }

    /// The chunks' data, concatenated: the object.
    pub fn data(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data_len());
        for chunk in &self.chunks {
            out.extend_from_slice(chunk.data);
        }
        out
    }
}

/// Whether the request body is aws-chunked.
pub fn is_aws_chunked(headers: &http::HeaderMap) -> bool {
    let encoded = headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim() == "aws-chunked"));
    let streaming = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("STREAMING-"));
    encoded || streaming
}

/// The longest size line we read: 16 hex digits, an extension with a 64-digit signature,
/// and some slack. Longer is malformed (and bounds the search for CRLF).
const MAX_HEADER_LINE: usize = 256;

fn find_crlf(bytes: &[u8], limit: usize) -> Option<usize> {
    let window = &bytes[..bytes.len().min(limit.saturating_add(2))];
    window.windows(2).position(|w| w == b"\r\n")
}

fn chunk_header(line: &[u8], index: usize) -> Result<(usize, Option<&str>), ChunkedError> {
    let line = std::str::from_utf8(line)
        .map_err(|_| ChunkedError::Malformed(format!("chunk {index}'s size line is not text")))?;
    let (size_hex, extension) = line.split_once(';').unwrap_or((line, ""));
    let size_hex = size_hex.trim();
    if size_hex.is_empty()
        || size_hex.len() > 16
        || !size_hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(ChunkedError::Malformed(format!(
            "chunk {index}'s size {size_hex:?} is not 1 to 16 hexadecimal digits"
        )));
    }
    let size = u64::from_str_radix(size_hex, 16)
        .ok()
        .and_then(|s| usize::try_from(s).ok())
        .ok_or_else(|| {
            ChunkedError::Malformed(format!("chunk {index}'s size {size_hex} is too large"))
        })?;
    let signature = match extension.trim() {
        "" => None,
        ext => Some(ext.strip_prefix("chunk-signature=").ok_or_else(|| {
            ChunkedError::Malformed(format!(
                "chunk {index} has the extension {ext:?}; only chunk-signature is known"
            ))
        })?),
    };
    Ok((size, signature))
}

/// Reads the framing of an aws-chunked body.
///
/// # Errors
/// The first framing problem, naming the chunk.
pub fn parse(mut body: &[u8]) -> Result<ChunkedBody<'_>, ChunkedError> {
    let mut chunks = Vec::new();
    loop {
        let index = chunks.len();
        let line_end = find_crlf(body, MAX_HEADER_LINE).ok_or_else(|| {
            if body.len() > MAX_HEADER_LINE {
                ChunkedError::Malformed(format!("chunk {index}'s size line has no CRLF"))
            } else {
                ChunkedError::Incomplete(format!("chunk {index}'s size line has no CRLF"))
            }
        })?;
        let (size, signature) = chunk_header(&body[..line_end], index)?;
        body = &body[line_end + 2..];
        if size == 0 {
            chunks.push(Chunk {
                data: &[],
                signature,
            });
            break;
        }
        let available = body.len();
        let end = size
            .checked_add(2)
            .filter(|end| *end <= available)
            .ok_or_else(|| {
                ChunkedError::Incomplete(format!(
                    "chunk {index} declares {size} bytes but {available} remain"
                ))
            })?;
        if &body[size..end] != b"\r\n" {
            return Err(ChunkedError::Malformed(format!(
                "chunk {index}'s {size} bytes are not followed by CRLF"
            )));
        }
        chunks.push(Chunk {
            data: &body[..size],
            signature,
        });
        body = &body[end..];
    }
    let (trailers, trailer_signature) = parse_trailers(body)?;
    Ok(ChunkedBody {
        chunks,
        trailers,
        trailer_signature,
    })
}

type Trailers<'a> = (Vec<(&'a str, &'a str)>, Option<&'a str>);

/// `name:value\r\n` lines up to an empty line. A body that ends right after the last
/// trailer line (without the empty line) is accepted: some clients stop there.
fn parse_trailers(mut body: &[u8]) -> Result<Trailers<'_>, ChunkedError> {
    let mut trailers = Vec::new();
    let mut signature = None;
    while !body.is_empty() {
        let (line, rest) = match body.windows(2).position(|w| w == b"\r\n") {
            Some(end) => (&body[..end], &body[end + 2..]),
            None => (body, &[][..]),
        };
        if line.is_empty() {
            if !rest.is_empty() {
                return Err(ChunkedError::Malformed(format!(
                    "{} bytes follow the body's final CRLF",
                    rest.len()
                )));
            }
            break;
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| ChunkedError::Malformed("a trailer is not text".into()))?;
        let (name, value) = line.split_once(':').ok_or_else(|| {
            ChunkedError::Malformed(format!("trailer {line:?} is not name:value"))
        })?;
        if name.trim().eq_ignore_ascii_case("x-amz-trailer-signature") {
            signature = Some(value.trim());
        } else {
            trailers.push((name.trim(), value.trim()));
        }
        body = rest;
    }
    Ok((trailers, signature))
}

/// Concatenates the chunks' data.
///
/// # Errors
/// See [`parse`].
pub fn decode(body: &[u8]) -> Result<Vec<u8>, ChunkedError> {
    parse(body).map(|b| b.data())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_signed_and_trailer_forms() {
        let signed = b"5;chunk-signature=abc\r\nhello\r\n6;chunk-signature=def\r\n world\r\n0;chunk-signature=0\r\n\r\n";
        let parsed = parse(signed).unwrap();
        assert_eq!(parsed.data(), b"hello world");
        assert_eq!(
            parsed
                .chunks
                .iter()
                .map(|c| c.signature)
                .collect::<Vec<_>>(),
            [Some("abc"), Some("def"), Some("0")]
        );
        let trailer = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        let parsed = parse(trailer).unwrap();
        assert_eq!(parsed.data(), b"hello world");
        assert_eq!(parsed.trailers, [("x-amz-checksum-crc32", "DUoRhQ==")]);
    }

    #[test]
    fn rejects_truncated_and_garbage() {
        assert!(matches!(
            decode(b"10\r\nshort\r\n"),
            Err(ChunkedError::Incomplete(_))
        ));
        assert!(matches!(
            decode(b"zz\r\nhello\r\n"),
            Err(ChunkedError::Malformed(_))
        ));
        assert!(matches!(decode(b"5"), Err(ChunkedError::Incomplete(_))));
        assert!(matches!(
            decode(b"5\r\nhelloXX0\r\n\r\n"),
            Err(ChunkedError::Malformed(_))
        ));
        assert!(matches!(
            decode(b"0\r\n\r\ngarbage"),
            Err(ChunkedError::Malformed(_))
        ));
    }

    /// The largest sizes a request can declare overflow `size + 2`: an error, not a panic.
    #[test]
    fn sizes_that_overflow_are_errors() {
        for size in ["ffffffffffffffff", "fffffffffffffffe", "7fffffffffffffff"] {
            let body = format!("{size}\r\nhello\r\n0\r\n\r\n");
            let err = decode(body.as_bytes()).unwrap_err();
            assert!(matches!(err, ChunkedError::Incomplete(_)), "{size}: {err}");
        }
        let err = decode(b"10000000000000000\r\nx\r\n").unwrap_err();
        assert!(matches!(err, ChunkedError::Malformed(_)), "{err}");
    }
}
