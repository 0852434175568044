//! rustls server configuration: the `--tls-*` policy plus the hot-reloading certificate.

use std::sync::Arc;

use super::cert_reload::ReloadingCert;
use super::tls_options::TlsOptions;

/// Builds the server config (ALPN `http/1.1`, certificate resolved per handshake).
pub fn server_config(
    options: &TlsOptions,
    cert: Arc<ReloadingCert>,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::clone(&options.provider))
        .with_protocol_versions(&options.versions)?
        .with_no_client_auth()
        .with_cert_resolver(cert);
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
