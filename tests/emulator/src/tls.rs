//! The throw-away PKI behind the HTTPS listener: a fresh CA per emulator and a server
//! certificate for `127.0.0.1` and `localhost` signed by it. HTTPS is needed at all because
//! `azure_identity` refuses a non-HTTPS authority host; a per-instance CA (rather than a
//! checked-in one) means nothing secret is ever committed and tests trust exactly the
//! emulator they started, through `Emulator::ca_pem`.

use std::io;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub(crate) const CA_COMMON_NAME: &str = "lzaudit emulator test CA";

/// A TLS acceptor for the HTTPS listener and the PEM of the CA clients must trust.
pub(crate) struct Pki {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) ca_pem: String,
}

fn other(context: &str, error: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{context}: {error}"))
}

pub(crate) fn generate() -> io::Result<Pki> {
    let ca_key = KeyPair::generate().map_err(|e| other("CA key", e))?;
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).map_err(|e| other("CA params", e))?;
    let mut ca_name = DistinguishedName::new();
    ca_name.push(DnType::CommonName, CA_COMMON_NAME);
    ca_params.distinguished_name = ca_name;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|e| other("CA certificate", e))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().map_err(|e| other("server key", e))?;
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .map_err(|e| other("server params", e))?;
    let mut leaf_name = DistinguishedName::new();
    leaf_name.push(DnType::CommonName, "lzaudit emulator");
    leaf_params.distinguished_name = leaf_name;
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf_cert = leaf_params
        .signed_by(&leaf_key, &issuer)
        .map_err(|e| other("server certificate", e))?;

    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    // An explicit provider: the workspace may link more than one rustls backend, and then
    // the implicit process default is ambiguous.
    let mut config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| other("TLS versions", e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| other("TLS certificate", e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Pki {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_pem: ca_cert.pem(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_ca_pem() {
        let pki = generate().expect("pki");
        assert!(pki.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_ne!(generate().expect("pki").ca_pem, pki.ca_pem);
    }
}
