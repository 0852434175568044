//! The Kubernetes client, built so that it accepts the apiserver certificates Go's client
//! accepts.
//!
//! A lab apiserver certificate made with plain `openssl req -x509` is a CA certificate
//! (`basicConstraints CA:TRUE`, openssl's default) used as the server's own, and the
//! kubeconfig's `certificate-authority` is that very certificate. Go's `crypto/x509` (and so
//! kubectl and the reference webhook) accepts it: the leaf is itself a trusted root.
//! webpki refuses every CA certificate as an end entity (`CaUsedAsEndEntity`), and kube's
//! client then fails every call with nothing but `client error (Connect)` (issue 10).
//!
//! [`build`] gives the client a verifier that tolerates exactly that refusal, and only when
//! the certificate the server presents is byte for byte one of the configured roots; the
//! host name is still checked against the certificate's subject alternative names, and its
//! validity period has already been checked (webpki checks it before basic constraints).
//! Every other certificate goes through webpki unchanged.
//!
//! # Caveats
//! The tolerant client is built when the configuration names its CA certificates inline or
//! by file (a kubeconfig's `certificate-authority(-data)`) and does not skip verification.
//! The in-cluster configuration (whose CA file kube re-reads on rotation), proxies, and
//! configurations without a CA keep kube's own client.

use std::sync::Arc;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::client::ConfigExt;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tower::{BoxError, ServiceBuilder};

/// kube builds its rustls configuration from the process-level crypto provider. rustls can
/// only infer one when exactly one backend is compiled in, and a build that also links the
/// AWS SDK (the workspace's tests do) has both ring and aws-lc-rs: the webhook uses ring
/// everywhere, so it says so. A provider installed earlier by the host process is kept.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for `config` (see the module documentation for what differs from kube's).
///
/// # Errors
/// The TLS configuration is invalid (unreadable client identity, unusable CA certificate)
/// or the authentication settings cannot be used.
pub fn build(config: kube::Config) -> Result<kube::Client, kube::Error> {
    install_crypto_provider();
    let Some(roots) = config.root_cert.clone().filter(|_| {
        !config.accept_invalid_certs
            && config.root_cert_file.is_none()
            && config.proxy_url.is_none()
    }) else {
        return kube::Client::try_from(config);
    };
    let roots: Vec<CertificateDer<'static>> = roots.into_iter().map(CertificateDer::from).collect();
    let mut tls = config.rustls_client_config()?;
    let verifier = CaAsServerVerifier::new(roots, Arc::clone(tls.crypto_provider()))?;
    tls.dangerous().set_certificate_verifier(Arc::new(verifier));

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(config.connect_timeout);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    let https = match &config.tls_server_name {
        Some(name) => {
            let name = ServerName::try_from(name.clone()).map_err(|e| {
                kube::Error::RustlsTls(kube::client::RustlsTlsError::InvalidServerName(e))
            })?;
            https
                .with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name))
                .enable_http1()
                .wrap_connector(http)
        }
        None => https.enable_http1().wrap_connector(http),
    };
    let client: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Builder::new(TokioExecutor::new()).build(https);

    // The same layers, in the same order, as kube's own `ClientBuilder::try_from(Config)`.
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.default_retry.then(|| {
            tower::retry::RetryLayer::new(kube::client::retry::RetryPolicy::server_retry())
        }))
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(client);
    Ok(kube::Client::new(service, config.default_namespace))
}

/// webpki's verifier, except that a configured root presented as the server's own
/// certificate is accepted as Go accepts it.
#[derive(Debug)]
struct CaAsServerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    roots: Vec<CertificateDer<'static>>,
}

impl CaAsServerVerifier {
    fn new(
        roots: Vec<CertificateDer<'static>>,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> Result<Self, kube::Error> {
        let tls_error = |e: Box<dyn std::error::Error + Send + Sync>| {
            kube::Error::RustlsTls(kube::client::RustlsTlsError::AddRootCertificate(e))
        };
        let mut store = rustls::RootCertStore::empty();
        for root in &roots {
            store
                .add(root.clone())
                .map_err(|e| tls_error(Box::new(e)))?;
        }
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
            .build()
            .map_err(|e| tls_error(Box::new(e)))?;
        Ok(Self { inner, roots })
    }
}

fn is_ca_used_as_end_entity(error: &rustls::Error) -> bool {
    matches!(
        error,
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if matches!(other.0.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity))
    )
}

/// What a refusal means and how to fix it, for the log (the TLS error alone says little).
pub fn explain(error: &rustls::Error) -> String {
    let hint = match error {
        e if is_ca_used_as_end_entity(e) => {
            "it is a CA certificate (basicConstraints CA:TRUE, what plain `openssl req -x509` \
             makes) that is not the kubeconfig's certificate-authority: put this very \
             certificate in certificate-authority, or give the apiserver a certificate signed \
             by the CA (one without CA:TRUE)"
        }
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "it is not signed by the kubeconfig's certificate-authority: point \
             certificate-authority at the CA that issued the apiserver's certificate"
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => {
            "it does not list the server's address among its subject alternative names: \
             connect by a name it lists, set tls-server-name in the kubeconfig, or reissue it \
             with that name (openssl: -addext subjectAltName=IP:...,DNS:...)"
        }
        rustls::Error::InvalidCertificate(
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. },
        ) => "it is outside its validity period: renew it, or check this machine's clock",
        _ => "see the TLS error",
    };
    format!("{error}: {hint}")
}

impl ServerCertVerifier for CaAsServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(e)
                if is_ca_used_as_end_entity(&e)
                    && self.roots.iter().any(|r| r.as_ref() == end_entity.as_ref()) =>
            {
                // Trusted as a root, in its validity period (checked before basic
                // constraints); what remains is the name.
                webpki::EndEntityCert::try_from(end_entity)
                    .map_err(|_| rustls::Error::from(CertificateError::BadEncoding))
                    .and_then(|cert| {
                        cert.verify_is_valid_for_subject_name(server_name)
                            .map_err(|_| CertificateError::NotValidForName.into())
                    })
                    .map(|()| ServerCertVerified::assertion())
            }
            other => other,
        };
        if let Err(e) = &verdict {
            // kube reports only `client error (Connect)`: say here what is wrong.
            tracing::warn!(
                target: "pod_identity_webhook::kube",
                server = ?server_name,
                "the apiserver's certificate was refused: {}",
                explain(e)
            );
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
