//! The kiosk's identity: enrolment with a one-time code, and the key, certificate and trusted
//! broker certificate kept in the data directory afterwards.
//!
//! The private key is made here and never leaves the machine: only a certificate request goes
//! to the broker. The key file is readable by the kiosk's user alone.
//!
//! The broker's certificates for kiosks expire (90 days by default). With a third of its life
//! left, the kiosk asks for a new one over mutual TLS with the one it has, for the same key,
//! and swaps the certificate file in one rename. The broker keeps accepting the old one until
//! the new one is first used, so a kiosk that dies before writing it still gets in.

use anyhow::{anyhow, bail, Context, Result};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const KEY_FILE: &str = "kiosk-key.pem";
const CERT_FILE: &str = "kiosk-cert.pem";
const TRUST_FILE: &str = "broker-ca.pem";
const ENROLMENT_FILE: &str = "enrolment.json";

/// What enrolment left in the data directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrolment {
    pub kiosk: String,
    /// The broker's base address, e.g. `https://broker.example:8443`.
    pub broker: String,
}

#[derive(Clone)]
pub struct Identity {
    pub enrolment: Enrolment,
    /// Where the files are, for writing a renewed certificate.
    data_dir: PathBuf,
    chain: Vec<CertificateDer<'static>>,
    key_pem: String,
    /// The broker certificate to trust; none means the system's certificate authorities.
    trust_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("enrolment", &self.enrolment)
            .finish_non_exhaustive()
    }
}

/// Enrols this kiosk at `broker` with the administrator's one-time `code`.
///
/// `broker_ca` names a PEM file with the broker's certificate (the embedded default signs its
/// own); without it the system's certificate authorities are trusted.
pub async fn enrol(
    data_dir: &Path,
    broker: &str,
    code: &str,
    broker_ca: Option<&Path>,
) -> Result<Identity> {
    let broker = broker.trim_end_matches('/').to_string();
    if !broker.starts_with("https://") {
        bail!("the broker address must start with https:// (got {broker:?})");
    }
    if data_dir.join(CERT_FILE).exists() {
        bail!(
            "{} already holds an enrolled kiosk; remove the directory to enrol again",
            data_dir.display()
        );
    }
    let trust_pem =
        match broker_ca {
            Some(path) => Some(std::fs::read(path).with_context(|| {
                format!("cannot read the broker certificate {}", path.display())
            })?),
            None => None,
        };
    let key = rcgen::KeyPair::generate()?;
    let csr = certificate_request(&key)?;

    let mut client = reqwest::Client::builder().use_rustls_tls();
    client = match &trust_pem {
        Some(pem) => client
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(pem)?),
        None => client.tls_built_in_native_certs(true),
    };
    let request = serde_json::json!({ "code": code, "csrPem": csr });
    let (kiosk, cert_pem) = certificate_from(
        client.build()?,
        &broker,
        "/api/kiosk/enrol",
        request,
        "the enrolment",
    )
    .await?;
    let cert_pem = cert_pem.as_str();

    create_private_dir(data_dir)?;
    write_file(
        &data_dir.join(KEY_FILE),
        key.serialize_pem().as_bytes(),
        0o600,
    )?;
    write_file(&data_dir.join(CERT_FILE), cert_pem.as_bytes(), 0o644)?;
    if let Some(pem) = &trust_pem {
        write_file(&data_dir.join(TRUST_FILE), pem, 0o644)?;
    }
    let enrolment = Enrolment { kiosk, broker };
    write_file(
        &data_dir.join(ENROLMENT_FILE),
        serde_json::to_string_pretty(&enrolment)?.as_bytes(),
        0o644,
    )?;
    load(data_dir)
}

/// Reads the identity enrolment left in `data_dir`.
pub fn load(data_dir: &Path) -> Result<Identity> {
    let read = |name: &str| -> Result<Vec<u8>> {
        std::fs::read(data_dir.join(name)).with_context(|| {
            format!(
                "{} has no {name}: enrol this kiosk first (`kiosk enrol --broker URL --code CODE`)",
                data_dir.display()
            )
        })
    };
    let key_path = data_dir.join(KEY_FILE);
    let mode = std::fs::metadata(&key_path)
        .with_context(|| format!("no key at {}: enrol this kiosk first", key_path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by others (mode {:o}); run `chmod 600` on it",
            key_path.display(),
            mode & 0o777
        );
    }
    let enrolment: Enrolment = serde_json::from_slice(&read(ENROLMENT_FILE)?)
        .context("the enrolment record is damaged; enrol again")?;
    let chain = rustls_pemfile::certs(&mut read(CERT_FILE)?.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .context("the kiosk certificate is damaged; enrol again")?;
    let key_pem = String::from_utf8(read(KEY_FILE)?).context("the key file is damaged")?;
    let trust_pem = std::fs::read(data_dir.join(TRUST_FILE)).ok();
    Ok(Identity {
        enrolment,
        data_dir: data_dir.to_path_buf(),
        chain,
        key_pem,
        trust_pem,
    })
}

/// A certificate signing request for `key`; the broker sets the subject.
fn certificate_request(key: &rcgen::KeyPair) -> Result<String> {
    Ok(rcgen::CertificateParams::new(Vec::<String>::new())?
        .serialize_request(key)?
        .pem()?)
}

/// Posts `request` to the broker's `path` (enrolment or renewal) and returns the kiosk's id
/// and certificate from its answer, or what the broker said in refusing `what`.
async fn certificate_from(
    client: reqwest::Client,
    broker: &str,
    path: &str,
    request: serde_json::Value,
    what: &str,
) -> Result<(String, String)> {
    let response = client
        .post(format!("{broker}{path}"))
        .json(&request)
        .send()
        .await
        .with_context(|| format!("cannot reach the broker at {broker}"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        let why = body["message"].as_str().unwrap_or("no reason given");
        bail!("the broker refused {what} ({status}): {why}");
    }
    let kiosk = body["kiosk"]
        .as_str()
        .ok_or_else(|| anyhow!("the broker's answer names no kiosk"))?;
    let cert_pem = body["certificatePem"]
        .as_str()
        .ok_or_else(|| anyhow!("the broker's answer has no certificate"))?;
    Ok((kiosk.to_string(), cert_pem.to_string()))
}

/// The certificate's life: from when, until when.
fn validity(der: &[u8]) -> Result<(SystemTime, SystemTime)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| anyhow!("the kiosk certificate cannot be read: {e}"))?;
    let at = |t: x509_parser::time::ASN1Time| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(t.timestamp().max(0) as u64)
    };
    Ok((
        at(cert.validity().not_before),
        at(cert.validity().not_after),
    ))
}

/// Whether a certificate valid from `from` until `until` should be renewed at `now`: with a
/// third of its life left, which leaves weeks to retry through network or broker trouble.
pub fn renewal_due(from: SystemTime, until: SystemTime, now: SystemTime) -> bool {
    let life = until.duration_since(from).unwrap_or_default();
    let left = until.duration_since(now).unwrap_or_default();
    left <= life / 3
}

impl Identity {
    /// TLS for the kiosk's WebSocket: trusts the broker, presents the kiosk's certificate.
    pub fn tls_config(&self) -> Result<rustls::ClientConfig> {
        let roots = match &self.trust_pem {
            Some(pem) => pem_roots(pem)?,
            None => native_roots(),
        };
        let key: PrivateKeyDer<'static> =
            rustls_pemfile::private_key(&mut self.key_pem.as_bytes())?
                .ok_or_else(|| anyhow!("the key file holds no private key"))?;
        Ok(tls_builder()?
            .with_root_certificates(roots)
            .with_client_auth_cert(self.chain.clone(), key)?)
    }

    /// TLS for `turns:` servers: those the broker is trusted for (coturn often shares its
    /// certificate) and the system's roots (or a TURN service with a public certificate).
    pub fn turn_tls_config(&self) -> Result<rustls::ClientConfig> {
        let mut roots = native_roots();
        if let Some(pem) = &self.trust_pem {
            roots.roots.extend(pem_roots(pem)?.roots);
        }
        Ok(tls_builder()?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }

    /// Whether this kiosk's certificate should be renewed now.
    pub fn renewal_due(&self, now: SystemTime) -> Result<bool> {
        let (from, until) = self.validity()?;
        Ok(renewal_due(from, until, now))
    }

    /// When this kiosk's certificate expires.
    pub fn expires_at(&self) -> Result<SystemTime> {
        Ok(self.validity()?.1)
    }

    fn validity(&self) -> Result<(SystemTime, SystemTime)> {
        let leaf = self
            .chain
            .first()
            .ok_or_else(|| anyhow!("the kiosk certificate file is empty"))?;
        validity(leaf)
    }

    /// Asks the broker for a fresh certificate for the same key, presenting the current one,
    /// and keeps it in the data directory. Returns the renewed identity.
    pub async fn renew(&self) -> Result<Identity> {
        let csr = certificate_request(&rcgen::KeyPair::from_pem(&self.key_pem)?)?;
        // The link waits for this: a broker that does not answer must not hold it long.
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(self.tls_config()?)
            .timeout(std::time::Duration::from_secs(20))
            .build()?;
        let request = serde_json::json!({ "csrPem": csr });
        let (_, cert_pem) = certificate_from(
            client,
            &self.enrolment.broker,
            "/api/kiosk/renew",
            request,
            "to renew the certificate",
        )
        .await?;
        let cert_pem = cert_pem.as_str();
        let chain = rustls_pemfile::certs(&mut cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .context("the renewed certificate cannot be read")?;
        anyhow::ensure!(!chain.is_empty(), "the broker's answer has no certificate");
        write_file(&self.data_dir.join(CERT_FILE), cert_pem.as_bytes(), 0o644)?;
        Ok(Identity {
            chain,
            ..self.clone()
        })
    }

    /// The kiosk WebSocket's address, from the broker's base address.
    pub fn websocket_url(&self) -> String {
        format!(
            "{}/ws/kiosk",
            self.enrolment.broker.replacen("https://", "wss://", 1)
        )
    }
}

fn tls_builder() -> Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>> {
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?)
}

fn pem_roots(pem: &[u8]) -> Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        roots.add(cert?)?;
    }
    Ok(roots)
}

fn native_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // One unreadable system certificate must not cost the kiosk all the others.
        let _ = roots.add(cert);
    }
    roots
}

fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let partial = path.with_extension("partial");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&partial)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l5_a_certificate_is_renewed_with_a_third_of_its_life_left() {
        let day = Duration::from_secs(86_400);
        let from = SystemTime::UNIX_EPOCH + 1000 * day;
        let until = from + 90 * day;
        assert!(!renewal_due(from, until, from + day));
        assert!(!renewal_due(from, until, from + 59 * day));
        assert!(renewal_due(from, until, from + 60 * day));
        assert!(renewal_due(from, until, until + day), "an expired one too");
    }

    #[test]
    fn the_life_is_read_from_the_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.not_before = rcgen::date_time_ymd(2026, 1, 1);
        params.not_after = rcgen::date_time_ymd(2026, 4, 1);
        let cert = params.self_signed(&key).unwrap();
        let (from, until) = validity(cert.der()).unwrap();
        assert_eq!(until.duration_since(from).unwrap().as_secs(), 90 * 86_400);
    }
}
