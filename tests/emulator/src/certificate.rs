//! Client certificates: generating a throw-away one for a test (RSA, since azure_identity's
//! `ClientCertificateCredential` signs only with RSA keys; as PEM and as password-protected
//! PKCS#12, the one format that credential reads), and the token endpoint's side of a
//! certificate assertion: thumbprints of a registered certificate and RS256 verification
//! with its public key. OpenSSL does the cryptography (rcgen's ring backend cannot generate
//! RSA keys or write PKCS#12).

use std::fmt;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use openssl::x509::{X509, X509NameBuilder};

/// A freshly generated self-signed client certificate and its RSA key, for one test. Its
/// `Debug` never shows the key.
pub struct ClientCertificate {
    certificate_pem: String,
    private_key_pem: String,
    thumbprint: String,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

fn err(context: &str, e: impl fmt::Display) -> String {
    format!("{context}: {e}")
}

impl ClientCertificate {
    /// A 2048-bit RSA key and a self-signed certificate for `CN={common_name}`, valid from
    /// now for a year.
    pub fn generate(common_name: &str) -> Result<ClientCertificate, String> {
        let rsa = Rsa::generate(2048).map_err(|e| err("RSA key", e))?;
        let key = PKey::from_rsa(rsa).map_err(|e| err("RSA key", e))?;
        let mut name = X509NameBuilder::new().map_err(|e| err("name", e))?;
        name.append_entry_by_text("CN", common_name)
            .map_err(|e| err("name", e))?;
        let name = name.build();
        let mut builder = X509::builder().map_err(|e| err("certificate", e))?;
        let mut serial = BigNum::new().map_err(|e| err("serial", e))?;
        serial
            .rand(127, MsbOption::MAYBE_ZERO, false)
            .map_err(|e| err("serial", e))?;
        let serial = serial.to_asn1_integer().map_err(|e| err("serial", e))?;
        let not_before = Asn1Time::days_from_now(0).map_err(|e| err("validity", e))?;
        let not_after = Asn1Time::days_from_now(365).map_err(|e| err("validity", e))?;
        builder.set_version(2).map_err(|e| err("certificate", e))?;
        builder
            .set_serial_number(&serial)
            .map_err(|e| err("certificate", e))?;
        builder
            .set_subject_name(&name)
            .map_err(|e| err("certificate", e))?;
        builder
            .set_issuer_name(&name)
            .map_err(|e| err("certificate", e))?;
        builder
            .set_not_before(&not_before)
            .map_err(|e| err("certificate", e))?;
        builder
            .set_not_after(&not_after)
            .map_err(|e| err("certificate", e))?;
        builder
            .set_pubkey(&key)
            .map_err(|e| err("certificate", e))?;
        builder
            .sign(&key, MessageDigest::sha256())
            .map_err(|e| err("certificate", e))?;
        let cert = builder.build();
        let certificate_pem = String::from_utf8(cert.to_pem().map_err(|e| err("PEM", e))?)
            .map_err(|e| err("PEM", e))?;
        let private_key_pem =
            String::from_utf8(key.private_key_to_pem_pkcs8().map_err(|e| err("PEM", e))?)
                .map_err(|e| err("PEM", e))?;
        let thumbprint = thumbprints(&certificate_pem)?.sha1_hex();
        Ok(ClientCertificate {
            certificate_pem,
            private_key_pem,
            thumbprint,
        })
    }

    /// The certificate alone: what is uploaded to the app registration.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The private key (PKCS#8 PEM).
    pub fn private_key_pem(&self) -> &str {
        &self.private_key_pem
    }

    /// Key and certificate in one PEM file, as `az ad sp create-for-rbac --create-cert`
    /// writes it.
    pub fn pem_bundle(&self) -> String {
        format!("{}{}", self.private_key_pem, self.certificate_pem)
    }

    /// Key and certificate as PKCS#12 (a `.pfx`) protected by `password`.
    pub fn pkcs12(&self, password: &str) -> Result<Vec<u8>, String> {
        let key = PKey::private_key_from_pem(self.private_key_pem.as_bytes())
            .map_err(|e| err("key", e))?;
        let cert = X509::from_pem(self.certificate_pem.as_bytes()).map_err(|e| err("cert", e))?;
        let mut builder = Pkcs12::builder();
        builder.name("lzaudit test client").pkey(&key).cert(&cert);
        builder
            .build2(password)
            .and_then(|p| p.to_der())
            .map_err(|e| err("PKCS#12", e))
    }

    /// The SHA-1 thumbprint in upper-case hex, as the Azure portal shows it.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }
}

/// The two thumbprints a JWT header may name a certificate by (`x5t`, `x5t#S256`).
pub(crate) struct Thumbprints {
    pub(crate) sha1: Vec<u8>,
    pub(crate) sha256: Vec<u8>,
}

impl Thumbprints {
    pub(crate) fn sha1_hex(&self) -> String {
        self.sha1.iter().map(|b| format!("{b:02X}")).collect()
    }
}

/// The thumbprints of a PEM certificate; an error if it is not one.
pub(crate) fn thumbprints(pem: &str) -> Result<Thumbprints, String> {
    let cert = X509::from_pem(pem.as_bytes()).map_err(|_| "not a PEM certificate".to_string())?;
    let digest = |md| {
        cert.digest(md)
            .map(|d| d.to_vec())
            .map_err(|e| err("thumbprint", e))
    };
    Ok(Thumbprints {
        sha1: digest(MessageDigest::sha1())?,
        sha256: digest(MessageDigest::sha256())?,
    })
}

/// Whether `signature` is a valid RS256 signature of `message` by the key of the PEM
/// certificate.
pub(crate) fn verify_rs256(certificate_pem: &str, message: &[u8], signature: &[u8]) -> bool {
    let verify = || -> Result<bool, openssl::error::ErrorStack> {
        let cert = X509::from_pem(certificate_pem.as_bytes())?;
        let key = cert.public_key()?;
        let mut verifier = Verifier::new(MessageDigest::sha256(), &key)?;
        verifier.verify_oneshot(signature, message)
    };
    verify().unwrap_or(false)
}

/// Signs `message` with RS256 (for tests that build assertions by hand).
#[cfg(test)]
pub(crate) fn sign_rs256(private_key_pem: &str, message: &[u8]) -> Vec<u8> {
    let key: PKey<openssl::pkey::Private> =
        PKey::private_key_from_pem(private_key_pem.as_bytes()).expect("test key");
    let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), &key).expect("signer");
    signer.sign_oneshot_to_vec(message).expect("signature")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificates_sign_verify_and_export() {
        let cert = ClientCertificate::generate("test").expect("generated");
        assert!(
            cert.certificate_pem()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(
            cert.private_key_pem()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert_eq!(cert.thumbprint().len(), 40);
        assert!(!format!("{cert:?}").contains("PRIVATE"));
        let signature = sign_rs256(cert.private_key_pem(), b"message");
        assert!(verify_rs256(cert.certificate_pem(), b"message", &signature));
        assert!(!verify_rs256(cert.certificate_pem(), b"other", &signature));
        let other = ClientCertificate::generate("other").expect("generated");
        assert!(!verify_rs256(
            other.certificate_pem(),
            b"message",
            &signature
        ));
        let pfx = cert.pkcs12("pw").expect("pkcs12");
        let parsed = Pkcs12::from_der(&pfx)
            .and_then(|p| p.parse2("pw"))
            .expect("parses with the password");
        assert!(parsed.pkey.is_some() && parsed.cert.is_some());
        assert!(Pkcs12::from_der(&pfx).and_then(|p| p.parse2("no")).is_err());
        assert!(thumbprints("nope").is_err());
    }
}
