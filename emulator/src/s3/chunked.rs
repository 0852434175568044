//! `Content-Encoding: aws-chunked` request bodies, which SDKs send for streaming uploads
//! (signed `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` or unsigned with trailing checksums):
//! `<hex size>[;chunk-signature=..]\r\n<data>\r\n ... 0[;..]\r\n[trailers\r\n]\r\n`.
//! Chunk signatures are not checked: the seed signature is, by the auth layer.

/// Why a chunked body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed aws-chunked body: {0}")]
pub struct ChunkedError(&'static str);

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

/// Concatenates the chunks' data.
pub fn decode(mut body: &[u8]) -> Result<Vec<u8>, ChunkedError> {
    let mut out = Vec::with_capacity(body.len());
    loop {
        let line_end = find_crlf(body).ok_or(ChunkedError("chunk header without CRLF"))?;
        let header = std::str::from_utf8(&body[..line_end])
            .map_err(|_| ChunkedError("chunk header is not text"))?;
        let size_hex = header.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| ChunkedError("chunk size is not hexadecimal"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            // Trailers (checksums) follow; the stored object is the data alone.
            return Ok(out);
        }
        if body.len() < size + 2 || &body[size..size + 2] != b"\r\n" {
            return Err(ChunkedError("chunk shorter than its declared size"));
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_signed_and_trailer_forms() {
        let signed = b"5;chunk-signature=abc\r\nhello\r\n6;chunk-signature=def\r\n world\r\n0;chunk-signature=0\r\n\r\n";
        assert_eq!(decode(signed).unwrap(), b"hello world");
        let trailer = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        assert_eq!(decode(trailer).unwrap(), b"hello world");
    }

    #[test]
    fn rejects_truncated_and_garbage() {
        assert!(decode(b"10\r\nshort\r\n").is_err());
        assert!(decode(b"zz\r\nhello\r\n").is_err());
        assert!(decode(b"5").is_err());
    }
}
