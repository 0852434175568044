//! The `aws-chunked` body decoder, on any bytes.
#![no_main]

use irsa_emulator::s3::chunked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = chunked::decode(data) {
        // Decoding only removes framing.
        assert!(decoded.len() <= data.len());
    }
});
