//! Certificates: the broker's TLS certificate (self-signed when none is configured) and the
//! kiosk CA that signs each kiosk's certificate at enrolment and renewal.
//!
//! Every certificate made here has a bounded life (L5 of the security review: they ran from
//! 1975 to 4096). A kiosk's lasts `tls.kiosk_certificate_days`, and the kiosk renews it over
//! its mutual-TLS link. The self-signed server certificate lasts a year and is renewed at
//! start when less than [`RENEW_SERVER_WITHIN_DAYS`] remain, with the same key and names:
//! kiosks keep the old one as their trust anchor, and an anchor is its name and key, so they
//! trust the renewed one without being told.

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The self-signed server certificate's life.
const SERVER_DAYS: u64 = 365;
/// A self-signed server certificate with less left than this is renewed at start.
pub const RENEW_SERVER_WITHIN_DAYS: u64 = 60;
/// The kiosk CA's life: it outlives every kiosk certificate it signs many times over.
const CA_DAYS: u64 = 10 * 365;
/// Clocks differ: a certificate is valid from a little before it was made.
const BACKDATE: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// Makes `params` valid from now (less [`BACKDATE`]) for `days`.
fn valid_for(params: &mut CertificateParams, days: u64) -> Result<()> {
    let now = SystemTime::now();
    let at = |t: SystemTime| -> Result<time::OffsetDateTime> {
        let seconds = t.duration_since(SystemTime::UNIX_EPOCH)?.as_secs() as i64;
        Ok(time::OffsetDateTime::from_unix_timestamp(seconds)?)
    };
    params.not_before = at(now - BACKDATE)?;
    params.not_after = at(now + DAY * days as u32)?;
    // A renewal keeps the key, from which rcgen would derive the same serial again; an issuer
    // must never sign two certificates with one serial (RFC 5280 §4.1.2.2).
    let mut serial = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut serial);
    serial[0] &= 0x7f;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    Ok(())
}

/// When the certificate `der` stops being valid.
pub fn not_after(der: &[u8]) -> Result<SystemTime> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| anyhow::anyhow!("not an X.509 certificate: {e}"))?;
    let seconds = cert.validity().not_after.timestamp();
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds.max(0) as u64))
}

/// The broker's server certificate and key.
#[derive(Debug)]
pub struct ServerIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// SHA-256 of the leaf certificate, as `AB:CD:…`, for people to compare.
    pub fingerprint: String,
    pub cert_path: PathBuf,
}

/// The CA that signs kiosk certificates. Its key never leaves the data directory.
pub struct KioskCa {
    issuer: Issuer<'static, KeyPair>,
    pub cert_der: CertificateDer<'static>,
    pub cert_pem: String,
}

impl std::fmt::Debug for KioskCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KioskCa").finish_non_exhaustive()
    }
}

pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Hex SHA-256 of a certificate, the key kiosks are looked up by.
pub fn cert_hash(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates `dir` if need be and makes it its owner's alone.
pub fn private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot make {} private (chmod 700)", dir.display()))
}

/// Writes a file only its owner may read (secrets, keys).
pub fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    options.mode(0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

fn read_pem_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let data = std::fs::read(path)
        .with_context(|| format!("cannot read certificate {}", path.display()))?;
    let chain: Vec<_> = rustls_pemfile::certs(&mut data.as_slice())
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate", path.display()))?;
    anyhow::ensure!(!chain.is_empty(), "{} holds no certificate", path.display());
    Ok(chain)
}

fn read_pem_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    let data =
        std::fs::read(path).with_context(|| format!("cannot read key {}", path.display()))?;
    rustls_pemfile::private_key(&mut data.as_slice())?
        .with_context(|| format!("{} holds no private key", path.display()))
}

/// Loads the configured certificate, or makes (once) and loads a self-signed one in `dir`.
pub fn server_identity(
    cert: Option<&Path>,
    key: Option<&Path>,
    dir: &Path,
    extra_names: &[String],
) -> Result<ServerIdentity> {
    let (cert_path, key_path) = match (cert, key) {
        (Some(c), Some(k)) => (c.to_path_buf(), k.to_path_buf()),
        _ => {
            let tls_dir = dir.join("tls");
            private_dir(&tls_dir)?;
            let cert_path = tls_dir.join("server.crt");
            let key_path = tls_dir.join("server.key");
            let names_path = tls_dir.join("server.names");
            let mut names = vec![
                "localhost".to_string(),
                "127.0.0.1".to_string(),
                "::1".to_string(),
            ];
            names.extend(extra_names.iter().cloned());
            let wanted = names.join("\n");
            if cert_path.exists() && key_path.exists() {
                // Kiosks trust this very certificate, so a new name does not silently replace it.
                let made_for = std::fs::read_to_string(&names_path).unwrap_or_default();
                let made_for: Vec<String> = made_for.lines().map(str::to_string).collect();
                if made_for.join("\n") != wanted {
                    tracing::warn!(
                        certificate = %cert_path.display(),
                        made_for = %made_for.join(", "),
                        wanted = %names.join(", "),
                        "the self-signed certificate was made for other names; delete it to make a new one (enrolled kiosks must then be enrolled again)"
                    );
                }
                let der = read_pem_chain(&cert_path)?.remove(0);
                let left = not_after(&der)?
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                if left < DAY * RENEW_SERVER_WITHIN_DAYS as u32 {
                    let key = KeyPair::from_pem(&std::fs::read_to_string(&key_path)?)?;
                    let renewed = self_signed_server(made_for, &key)?;
                    std::fs::write(&cert_path, renewed.pem())?;
                    tracing::info!(certificate = %cert_path.display(), "the self-signed certificate was renewed for a year, with the same key and names");
                }
            } else {
                let key = KeyPair::generate()?;
                let cert = self_signed_server(names, &key)?;
                write_private(&key_path, &key.serialize_pem())?;
                std::fs::write(&cert_path, cert.pem())?;
                std::fs::write(&names_path, &wanted)?;
            }
            (cert_path, key_path)
        }
    };
    let chain = read_pem_chain(&cert_path)?;
    let key = read_pem_key(&key_path)?;
    let fingerprint = fingerprint(&chain[0]);
    Ok(ServerIdentity {
        chain,
        key,
        fingerprint,
        cert_path,
    })
}

fn self_signed_server(names: Vec<String>, key: &KeyPair) -> Result<rcgen::Certificate> {
    let mut params = CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "Nära broker (self-signed)");
    valid_for(&mut params, SERVER_DAYS)?;
    Ok(params.self_signed(key)?)
}

impl KioskCa {
    /// Loads the kiosk CA from `dir/pki`, making it on first start.
    pub fn load_or_create(dir: &Path) -> Result<KioskCa> {
        let pki = dir.join("pki");
        private_dir(&pki)?;
        let cert_path = pki.join("kiosk-ca.crt");
        let key_path = pki.join("kiosk-ca.key");
        if !cert_path.exists() || !key_path.exists() {
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(Vec::<String>::new())?;
            let mut dn = DistinguishedName::new();
            dn.push(DnType::CommonName, "Nära kiosk CA");
            params.distinguished_name = dn;
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            valid_for(&mut params, CA_DAYS)?;
            let cert = params.self_signed(&key)?;
            write_private(&key_path, &key.serialize_pem())?;
            std::fs::write(&cert_path, cert.pem())?;
        }
        let cert_pem = std::fs::read_to_string(&cert_path)?;
        let key = KeyPair::from_pem(&std::fs::read_to_string(&key_path)?)?;
        let cert_der = read_pem_chain(&cert_path)?.remove(0);
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key)?;
        Ok(KioskCa {
            issuer,
            cert_der,
            cert_pem,
        })
    }

    /// Signs a kiosk's certificate request, valid for `days`. The subject is set by the
    /// broker, whatever the request asked for; only the public key is taken from it.
    pub fn sign_kiosk(
        &self,
        csr_pem: &str,
        kiosk: &str,
        days: u32,
    ) -> Result<(String, CertificateDer<'static>)> {
        let mut csr = rcgen::CertificateSigningRequestParams::from_pem(csr_pem)
            .context("not a PEM certificate request (CSR)")?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, kiosk);
        csr.params.distinguished_name = dn;
        csr.params.subject_alt_names = Vec::new();
        csr.params.is_ca = IsCa::ExplicitNoCa;
        csr.params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        csr.params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        valid_for(&mut csr.params, u64::from(days))?;
        let cert = csr.signed_by(&self.issuer)?;
        Ok((cert.pem(), cert.der().clone()))
    }
}
