//! The log filter: `RUST_LOG` if set, `info` otherwise, with rustls's complaints about
//! clients' SNI silenced.
//!
//! rustls warns "Illegal SNI extension: ignoring IP address presented as hostname" for
//! every TLS client that sends an IP address as the server name, which curl, Python and wrk
//! do whenever they connect to `https://<ip>`; it is normal and not actionable, so it must
//! not read as a warning in the webhook's log (issue 10). The only messages under that
//! target are about what a peer sent in its hello, so the whole target is lowered to
//! `error`. A `RUST_LOG` that names rustls itself is left as written.

use tracing_subscriber::EnvFilter;

/// The rustls target that logs malformed or IP-address SNI from clients.
pub const RUSTLS_HELLO_TARGET: &str = "rustls::msgs::handshake";

/// The filter for `rust_log` (the value of `RUST_LOG`, if any).
pub fn filter(rust_log: Option<&str>) -> EnvFilter {
    let base = rust_log.map(str::trim).filter(|s| !s.is_empty());
    let directives = match base {
        Some(user) if user.contains("rustls") => user.to_owned(),
        Some(user) => format!("{user},{RUSTLS_HELLO_TARGET}=error"),
        None => format!("info,{RUSTLS_HELLO_TARGET}=error"),
    };
    EnvFilter::try_new(&directives).unwrap_or_else(|e| {
        eprintln!("warning: ignoring RUST_LOG={directives:?}: {e}");
        EnvFilter::new(format!("info,{RUSTLS_HELLO_TARGET}=error"))
    })
}

/// Logs to standard error with [`filter`] over `RUST_LOG`; a no-op if a subscriber is set.
pub fn init() {
    let rust_log = std::env::var("RUST_LOG").ok();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(rust_log.as_deref()))
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_filter_keeps_its_directives_and_gains_the_sni_one() {
        assert_eq!(
            filter(Some("debug")).to_string(),
            "rustls::msgs::handshake=error,debug"
        );
    }

    #[test]
    fn user_filter_naming_rustls_is_left_alone() {
        assert_eq!(filter(Some("rustls=trace")).to_string(), "rustls=trace");
    }
}
