//! A tolerant PEM block reader. Keys come from ssh-keygen, openssl, Go and hand-edited
//! files, so line width and surrounding text vary; only the armour lines are strict.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::KeyError;

/// One decoded PEM block: its label (`RSA PRIVATE KEY`, `PUBLIC KEY`, ...) and DER bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PemBlock {
    pub label: String,
    pub der: Vec<u8>,
}

/// Every PEM block in `text`, in order. Text outside blocks is ignored (like Go's
/// `pem.Decode`), but a block without its END line or with corrupt base64 is an error.
pub(crate) fn blocks(text: &str) -> Result<Vec<PemBlock>, KeyError> {
    let mut out = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = armour(line, "-----BEGIN ") else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        for line in lines.by_ref() {
            if line == end {
                closed = true;
                break;
            }
            // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) mean a passphrase-protected key.
            if line.contains(':') {
                return Err(KeyError::MalformedPem {
                    label: label.to_string(),
                    reason: "encrypted or header-carrying PEM blocks are not supported".into(),
                });
            }
            body.push_str(line);
        }
        if !closed {
            return Err(KeyError::MalformedPem {
                label: label.to_string(),
                reason: format!("missing {end:?}"),
            });
        }
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|e| KeyError::MalformedPem {
                label: label.to_string(),
                reason: format!("bad base64: {e}"),
            })?;
        out.push(PemBlock {
            label: label.to_string(),
            der,
        });
    }
    if out.is_empty() {
        return Err(KeyError::NoPemBlock);
    }
    Ok(out)
}

fn armour<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.strip_prefix(prefix)?.strip_suffix("-----")
}

/// Standard PEM armour with 64-column base64 lines and a trailing newline.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_several_blocks_and_skips_surrounding_text() {
        let text = format!(
            "comment\n{}garbage\n{}",
            encode("PUBLIC KEY", b"abc"),
            encode("CERTIFICATE", &[1u8; 100])
        );
        let got = blocks(&text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].label, "PUBLIC KEY");
        assert_eq!(got[0].der, b"abc");
        assert_eq!(got[1].der, vec![1u8; 100]);
    }

    #[test]
    fn encode_wraps_at_64_columns() {
        let pem = encode("X", &[7u8; 200]);
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(pem.lines().nth(1).map(str::len), Some(64));
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(blocks("nothing here"), Err(KeyError::NoPemBlock));
        assert!(matches!(
            blocks("-----BEGIN PUBLIC KEY-----\nAAAA\n"),
            Err(KeyError::MalformedPem { reason, .. }) if reason.contains("missing")
        ));
        assert!(matches!(
            blocks("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n"),
            Err(KeyError::MalformedPem { reason, .. }) if reason.contains("base64")
        ));
        assert!(matches!(
            blocks("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END RSA PRIVATE KEY-----\n"),
            Err(KeyError::MalformedPem { reason, .. }) if reason.contains("encrypted")
        ));
    }
}
