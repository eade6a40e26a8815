//! TLS towards seeds and service nodes, as Session clients do it (rustls, ring provider).
//!
//! - **Service nodes** serve HTTPS with self-signed certificates that no authority vouches
//!   for. Clients accept any certificate from them: what a node is, is its X25519 key from
//!   the node list, and every onion layer is encrypted to that key, so a machine in the
//!   middle that answers the TLS handshake learns nothing and cannot forge a reply that
//!   opens (a damaged reply counts against the path). TLS here only hides the framing.
//! - **Seeds** hand out that node list, so they are what must be authentic. They too have
//!   self-signed certificates; clients pin them. We pin the SHA-256 of the seed's
//!   end-entity certificate (DER), `[snode] seed_cert_sha256` (by default the public seeds'
//!   fingerprints, as the desktop client pins them). With no fingerprint configured any
//!   certificate is accepted and the list is unauthenticated (the server warns once at
//!   startup).
//!
//! In both cases the handshake signature is still checked against the presented
//! certificate's key (ring's `verify_tls12_signature`/`verify_tls13_signature`), so the
//! peer proves it holds the key of the certificate we hashed.

use std::fmt;
use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

/// The SHA-256 of a certificate's DER encoding.
pub type Fingerprint = [u8; 32];

/// SHA-256 of a certificate's DER bytes, the value `seed_cert_sha256` lists.
pub fn fingerprint(der: &[u8]) -> Fingerprint {
    Sha256::digest(der).into()
}

/// Parses one configured fingerprint: 64 hex digits, upper or lower case, optionally in
/// `AB:CD:…` pairs as `openssl x509 -fingerprint -sha256` prints them.
pub fn parse_fingerprint(text: &str) -> Result<Fingerprint, String> {
    let digits: String = text.trim().chars().filter(|c| *c != ':').collect();
    let mut out = [0u8; 32];
    if digits.len() != 64 {
        return Err(format!(
            "`{text}` is not a SHA-256 fingerprint: expected 64 hex digits, got {}",
            digits.len()
        ));
    }
    hex::decode_to_slice(&digits, &mut out)
        .map_err(|_| format!("`{text}` is not a SHA-256 fingerprint: not hexadecimal"))?;
    Ok(out)
}

/// A seed's certificate matched none of the pinned fingerprints.
pub struct PinMismatch {
    pub presented: Fingerprint,
}

/// rustls shows the cause of a certificate error with `Debug`; this makes that the
/// operator's sentence rather than 32 numbers.
impl fmt::Debug for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed certificate SHA-256 {} matches none of snode.seed_cert_sha256",
            hex::encode(self.presented)
        )
    }
}

impl std::error::Error for PinMismatch {}

/// Accepts a certificate whose fingerprint is pinned, or any certificate when `pins` is
/// empty; checks handshake signatures either way.
#[derive(Debug)]
struct CertPolicy {
    pins: Vec<Fingerprint>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for CertPolicy {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pins.is_empty() {
            return Ok(ServerCertVerified::assertion());
        }
        let presented = fingerprint(end_entity.as_ref());
        if self.pins.contains(&presented) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(PinMismatch {
                    presented,
                }))),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration accepting `pins` (any certificate when empty).
fn client_config(pins: Vec<Fingerprint>) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = provider();
    let policy = CertPolicy {
        pins,
        algorithms: provider.signature_verification_algorithms,
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(policy))
        .with_no_client_auth())
}

/// An HTTP client builder for service nodes: any certificate is accepted (see the module
/// documentation for why that is safe for onion traffic).
pub fn node_client_builder() -> Result<reqwest::ClientBuilder, rustls::Error> {
    Ok(reqwest::Client::builder().use_preconfigured_tls(client_config(Vec::new())?))
}

/// An HTTP client builder for seeds: a certificate must match one of `pins`, or anything
/// goes when `pins` is empty.
pub fn seed_client_builder(pins: &[Fingerprint]) -> Result<reqwest::ClientBuilder, rustls::Error> {
    Ok(reqwest::Client::builder().use_preconfigured_tls(client_config(pins.to_vec())?))
}

/// A self-signed certificate and its key, for a test server (the simulated network).
pub struct SelfSigned {
    pub config: rustls::ServerConfig,
    pub fingerprint: Fingerprint,
}

/// Generates a fresh self-signed certificate for `name` (an IP address or host name) and a
/// server configuration presenting it, as a service node has.
pub fn self_signed_server(name: &str) -> Result<SelfSigned, String> {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec![name.to_string()]).map_err(|e| e.to_string())?;
    let der = cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .map_err(|e| e.to_string())?;
    Ok(SelfSigned {
        config,
        fingerprint: fingerprint(der.as_ref()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn fingerprints_parse_as_plain_or_colon_separated_hex() {
        let plain = parse_fingerprint(HASH).unwrap();
        assert_eq!(hex::encode(plain), HASH);
        let colons = HASH
            .to_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(parse_fingerprint(&colons).unwrap(), plain);
    }

    #[test]
    fn malformed_fingerprints_are_refused_with_the_reason() {
        for (bad, reason) in [
            ("", "got 0"),
            (&HASH[..63], "got 63"),
            (&format!("{HASH}00"), "got 66"),
            (&format!("{}zz", &HASH[..62]), "not hexadecimal"),
            ("sha256 Fingerprint=AB", "expected 64 hex digits"),
        ] {
            let err = parse_fingerprint(bad).unwrap_err();
            assert!(err.contains(reason), "{bad}: {err}");
        }
    }

    #[test]
    fn the_fingerprint_is_the_sha256_of_the_der_certificate() {
        let server = self_signed_server("127.0.0.1").unwrap();
        assert_ne!(server.fingerprint, [0; 32]);
        // Two certificates never share a fingerprint.
        let other = self_signed_server("127.0.0.1").unwrap();
        assert_ne!(server.fingerprint, other.fingerprint);
        assert_eq!(
            hex::encode(fingerprint(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    fn verify(pins: Vec<Fingerprint>, der: &[u8]) -> Result<ServerCertVerified, rustls::Error> {
        let policy = CertPolicy {
            pins,
            algorithms: provider().signature_verification_algorithms,
        };
        policy.verify_server_cert(
            &CertificateDer::from(der.to_vec()),
            &[],
            &ServerName::try_from("127.0.0.1").unwrap(),
            &[],
            UnixTime::now(),
        )
    }

    #[test]
    fn a_pinned_certificate_passes_and_any_other_is_refused_naming_its_fingerprint() {
        let cert = b"pretend DER";
        assert!(verify(vec![fingerprint(cert)], cert).is_ok());
        assert!(verify(vec![[1; 32], fingerprint(cert)], cert).is_ok());
        let err = verify(vec![[1; 32]], cert).unwrap_err().to_string();
        assert!(err.contains(&hex::encode(fingerprint(cert))), "{err}");
        assert!(
            err.contains("matches none of snode.seed_cert_sha256"),
            "{err}"
        );
    }

    #[test]
    fn with_no_pins_any_certificate_is_accepted() {
        assert!(verify(Vec::new(), b"anything").is_ok());
    }
}
