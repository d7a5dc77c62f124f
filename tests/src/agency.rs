//! An agency's network for the tests and the benchmark: the officer's Chromium runs in a
//! network namespace whose only way out is TCP to the agency's HTTP proxy (Debian's
//! tinyproxy, started here), configured as Chromium's proxy with no UDP around it. The broker
//! listens on the namespace's near address, TURN over TLS included (the embedded server's, or
//! coturn's with the broker's certificate); the citizen's kiosk is on this side, as in any
//! municipal office.
//!
//! Needs root, as CI and the development machines have.

use crate::bench::process::free_port;
use crate::coturn::{Coturn, CoturnTls};
use crate::e2e::{enrol_kiosk_process_via, KioskProcess, OfficerBrowser, BROWSER_PATIENCE};
use crate::harness::{admin, BrokerEndpoint, BrokerProcess, PATIENCE};
use crate::netns::KioskNetwork;
use anyhow::{bail, Context, Result};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// tinyproxy in the foreground, listening on `address`, letting the namespace's addresses
/// CONNECT to `address` on any port and to nowhere else: an agency's proxy lets its desktops
/// reach the broker, and Chromium's own calls home (this machine has no internet) end there.
pub struct AgencyProxy {
    _dir: tempfile::TempDir,
    child: tokio::process::Child,
    address: Ipv4Addr,
    port: u16,
}

impl AgencyProxy {
    pub async fn start(address: Ipv4Addr) -> Result<AgencyProxy> {
        let port = free_port()?;
        let dir = tempfile::tempdir()?;
        let filter = dir.path().join("allowed-hosts");
        let only_address = format!("^{}$\n", address.to_string().replace('.', "\\."));
        std::fs::write(&filter, only_address)?;
        // With no ConnectPort line, CONNECT goes to any port.
        let config = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListen {address}\nTimeout 600\nMaxClients 64\n\
                 Allow 10.0.0.0/8\nLogLevel Info\nFilter \"{}\"\nFilterType ere\n\
                 FilterDefaultDeny Yes\n",
                filter.display()
            ),
        )?;
        let child = tokio::process::Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("tinyproxy (Debian package tinyproxy; scripts/test-deps installs it)")?;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while tokio::net::TcpStream::connect((address, port))
            .await
            .is_err()
        {
            if tokio::time::Instant::now() > deadline {
                bail!("tinyproxy never listened on {address}:{port}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(AgencyProxy {
            _dir: dir,
            child,
            address,
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("http://{}:{}", self.address, self.port)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Which TURN server the officer's browser reaches over TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnOverTls {
    /// The broker's own (`turn.embedded.tls_listen`).
    Embedded,
    /// coturn with the broker's certificate, as production may run it.
    Coturn,
}

/// The agency's network with its proxy, and a broker that its officers and a municipal
/// office's kiosks both reach.
pub struct AgencyOffice {
    pub network: KioskNetwork,
    pub proxy: AgencyProxy,
    pub broker: BrokerProcess,
    /// Where the officers open the desk: the broker on the namespace's near address.
    pub origin: String,
    _coturn: Option<Coturn>,
    data: tempfile::TempDir,
}

impl AgencyOffice {
    /// `env` is added to the broker's environment.
    pub async fn start(
        broker_binary: &Path,
        impaired_link: &Path,
        turn: TurnOverTls,
        env: &[(&str, &str)],
    ) -> Result<AgencyOffice> {
        const SECRET: &str = "agency-network-secret";
        let mut network = KioskNetwork::create(impaired_link)?;
        let near = network.near;
        let proxy = AgencyProxy::start(near).await?;
        network.only_tcp_to(Some(proxy.port()))?;

        let data = tempfile::tempdir()?;
        let (port, turn_port, tls_port) = (free_port()?, free_port()?, free_port()?);
        let origin = format!("https://{near}:{port}");
        let mut settings = vec![
            ("NARA_TLS__SELF_SIGNED_NAMES", format!("[\"{near}\"]")),
            ("NARA_ALLOWED_ORIGINS", format!("[\"{origin}\"]")),
            (
                "NARA_TURN__URLS",
                format!("[\"turns:{near}:{tls_port}?transport=tcp\"]"),
            ),
            ("NARA_TURN__SHARED_SECRET", SECRET.to_string()),
        ];
        match turn {
            TurnOverTls::Embedded => settings.extend([
                ("NARA_TURN__EMBEDDED__LISTEN", format!("{near}:{turn_port}")),
                (
                    "NARA_TURN__EMBEDDED__TLS_LISTEN",
                    format!("{near}:{tls_port}"),
                ),
                (
                    "NARA_TURN__EMBEDDED__ALLOWED_PEERS",
                    "[\"10.0.0.0/8\", \"127.0.0.0/8\"]".to_string(),
                ),
            ]),
            TurnOverTls::Coturn => {
                settings.push(("NARA_TURN__EMBEDDED__ENABLED", "false".to_string()))
            }
        }
        let mut all: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(env);
        let broker = BrokerProcess::start_at(
            broker_binary,
            &data.path().join("broker"),
            &all,
            None,
            format!("0.0.0.0:{port}").parse()?,
        )
        .await?;
        let coturn = match turn {
            TurnOverTls::Embedded => None,
            TurnOverTls::Coturn => {
                let tls = CoturnTls {
                    port: tls_port,
                    cert: broker.cert_path(),
                    key: broker.cert_path().with_file_name("server.key"),
                };
                Some(Coturn::start_on(
                    near.into(),
                    turn_port,
                    SECRET,
                    Some(&tls),
                )?)
            }
        };
        Ok(AgencyOffice {
            network,
            proxy,
            broker,
            origin,
            _coturn: coturn,
            data,
        })
    }

    /// A kiosk of the Rinkeby office, enrolled and connected.
    pub async fn kiosk(&self, kiosk_binary: &Path, flags: &[&str]) -> Result<KioskProcess> {
        let admin = admin(&self.broker).await?;
        let kiosk_dir = self.data.path().join("kiosk");
        enrol_kiosk_process_via(
            kiosk_binary,
            &self.broker,
            &self.origin,
            &admin,
            "rinkeby",
            &kiosk_dir,
        )
        .await?;
        let kiosk = KioskProcess::start_in(kiosk_binary, &kiosk_dir, flags, None).await?;
        kiosk.connected().await?;
        Ok(kiosk)
    }

    /// An officer at their agency desktop, logged in through the proxy and gone available.
    pub async fn officer(&self, username: &str, extra: &[&str]) -> Result<OfficerBrowser> {
        let proxy = self.proxy.url();
        let mut flags = vec!["--proxy", proxy.as_str()];
        flags.extend_from_slice(extra);
        let mut officer =
            OfficerBrowser::start_from(&self.origin, Some(&self.network), username, &flags).await?;
        officer
            .expect("going available", BROWSER_PATIENCE, |e| {
                e["event"] == "available"
            })
            .await?;
        Ok(officer)
    }

    pub async fn stop(self) {
        self.proxy.stop().await;
    }
}
