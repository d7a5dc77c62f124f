//! The broker's configuration: one typed struct from defaults, a TOML file and `NARA_…`
//! environment variables, in that order. Unknown keys are refused; secrets may come from
//! files (`…_file`). `deploy/broker.sample.toml` documents every key.

use crate::routing::RoutingConfig;
use ipnet::IpNet;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address for HTTPS and WSS.
    pub listen: SocketAddr,
    /// Certificates, keys and the SQLite database live here.
    pub data_dir: PathBuf,
    /// Origins allowed to open the desk WebSocket, e.g. `https://nara.example.se`.
    /// Empty: the broker's own address (`https://localhost:PORT`, `https://127.0.0.1:PORT`).
    pub allowed_origins: Vec<String>,
    pub tls: TlsConfig,
    pub database: DatabaseConfig,
    pub turn: TurnConfig,
    pub routing: RoutingConfig,
    pub limits: Limits,
    pub fleet: FleetConfig,
    pub statistics: StatisticsConfig,
    /// Seed demo agencies, sites, officers and kiosks on first start.
    pub demo: bool,
    /// The time zone opening hours are read in (IANA name).
    pub timezone: String,
    /// The built agent-desk pages (`agent-desk/dist` after `npm run build`), served at `/`.
    /// Unset: only the API is served, and `/` says where the pages are missing from.
    pub desk_assets: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8443".parse().expect("valid address"),
            data_dir: PathBuf::from("nara-data"),
            allowed_origins: Vec::new(),
            tls: TlsConfig::default(),
            database: DatabaseConfig::default(),
            turn: TurnConfig::default(),
            routing: RoutingConfig::default(),
            limits: Limits::default(),
            fleet: FleetConfig::default(),
            statistics: StatisticsConfig::default(),
            demo: false,
            timezone: "Europe/Stockholm".into(),
            desk_assets: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain. Unset: a self-signed certificate is made in the data directory.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Host names and addresses the self-signed certificate names besides `localhost`,
    /// `127.0.0.1` and `::1`: how kiosks and desks on other machines reach this broker.
    pub self_signed_names: Vec<String>,
    /// How long a kiosk's certificate is valid; kiosks renew theirs with a third of it left.
    pub kiosk_certificate_days: u32,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cert_file: None,
            key_file: None,
            self_signed_names: Vec::new(),
            kiosk_certificate_days: 90,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`. Unset: `sqlite://DATA_DIR/nara.db`.
    pub url: Option<String>,
    /// A file holding the URL (it may contain a password).
    pub url_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TurnConfig {
    /// TURN URLs handed to kiosks and desks, e.g. coturn's
    /// `turn:turn.example.se:3478?transport=udp` and `turns:turn.example.se:443?transport=tcp`.
    /// Empty: the embedded server's URLs when it runs, else none (peers connect directly).
    pub urls: Vec<String>,
    /// Shared secret for TURN REST credentials (coturn's `static-auth-secret`).
    /// Unset: one is generated into the data directory.
    pub shared_secret: Option<String>,
    pub shared_secret_file: Option<PathBuf>,
    /// How long handed-out TURN credentials stay valid. A relay cannot be refreshed past
    /// this, so it bounds the longest call that needs TURN.
    pub credential_ttl_seconds: u64,
    pub embedded: EmbeddedTurnConfig,
}

impl Default for TurnConfig {
    fn default() -> Self {
        TurnConfig {
            urls: Vec::new(),
            shared_secret: None,
            shared_secret_file: None,
            credential_ttl_seconds: 4 * 3600,
            embedded: EmbeddedTurnConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddedTurnConfig {
    /// Run the built-in TURN server (UDP and TCP). Turn off when coturn serves TURN.
    pub enabled: bool,
    /// Where it listens, UDP and TCP on the same port.
    pub listen: SocketAddr,
    /// Where it serves TURN over TLS (`turns:`) with the broker's certificate, if anywhere:
    /// from inside an agency's network often the only way out is TCP 443, perhaps through
    /// an HTTP proxy. `deploy/` puts it on 443 (on its own address, or behind haproxy
    /// splitting 443 by ALPN).
    pub tls_listen: Option<SocketAddr>,
    /// The address peers reach relays on; required when `listen` is 0.0.0.0 or ::.
    pub relay_ip: Option<IpAddr>,
    /// Peer ranges it may relay to although they are loopback, private, link-local, …
    /// (e.g. `["10.20.0.0/16"]` for kiosks on a closed municipal network).
    pub allowed_peers: Vec<IpNet>,
    /// TCP clients held at once.
    pub max_tcp_clients: usize,
    /// TCP clients held at once from one IP address. A kiosk in a four-party meeting holds
    /// about 10; officers behind one agency proxy share an address, hence the margin.
    pub max_tcp_clients_per_address: usize,
    /// A TCP client without an allocation that sends nothing for this long is cut off.
    pub tcp_first_frame_seconds: u64,
    /// A TCP client silent for this long is cut off; an allocation is refreshed within 10 min.
    pub tcp_idle_seconds: u64,
    /// Relays one credential may hold: a kiosk in a four-party meeting with UDP, TCP and TLS
    /// candidates and an ICE restart under way needs about 20.
    pub max_allocations_per_user: usize,
    /// Relays the server holds at once, each a UDP port.
    pub max_allocations: usize,
}

impl Default for EmbeddedTurnConfig {
    fn default() -> Self {
        EmbeddedTurnConfig {
            enabled: true,
            listen: "127.0.0.1:3478".parse().expect("valid address"),
            tls_listen: None,
            relay_ip: None,
            allowed_peers: Vec::new(),
            max_tcp_clients: 1024,
            max_tcp_clients_per_address: 512,
            tcp_first_frame_seconds: 10,
            tcp_idle_seconds: 660,
            max_allocations_per_user: 32,
            max_allocations: 8000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Most connections held at once; more are refused at accept.
    pub max_connections: usize,
    /// Messages a WebSocket may send per second on average, and in a burst. A desk joining a
    /// meeting of four trickles its ICE candidates to each of the others, one message each
    /// (Chromium offers host, TCP and relay candidates per interface: 15 or more a peer), so
    /// the burst holds a few meetings' worth; a flood is still cut off within a second.
    pub messages_per_second: u32,
    pub message_burst: u32,
    /// A TLS handshake or request head that takes longer is cut off.
    pub handshake_timeout_seconds: u64,
    /// Messages queued for a client that does not read; past this it is cut off.
    pub outbound_queue: usize,
    /// A login lasts this long; then the desk's connection closes and the person logs in again.
    pub session_seconds: u64,
    /// Connections one IP address may hold at once. An agency's officers may all come from
    /// one proxy address, so this is generous; it stops one client taking every slot.
    pub max_connections_per_address: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 20_000,
            messages_per_second: 50,
            message_burst: 200,
            handshake_timeout_seconds: 10,
            outbound_queue: 256,
            session_seconds: 10 * 3600,
            max_connections_per_address: 2_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    pub heartbeat_seconds: u32,
    /// A kiosk is marked offline after this many heartbeats missed.
    pub offline_after_missed: u32,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            heartbeat_seconds: 15,
            offline_after_missed: 3,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatisticsConfig {
    /// Visit metadata older than this is deleted.
    pub retention_days: u32,
}

impl Default for StatisticsConfig {
    fn default() -> Self {
        StatisticsConfig {
            retention_days: 730,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}\nSee deploy/broker.sample.toml for every key and its meaning.")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}\nNARA_X sets key x; NARA_SECTION__KEY sets [section] key (e.g. NARA_TURN__SHARED_SECRET).")]
    Env { var: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, then `file` if given, then `NARA_…` variables from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.into(),
                    source,
                })?;
                Config::parse(Some(&text), path, env)
            }
            None => Config::parse(None, Path::new("(environment)"), env),
        }
    }

    /// Defaults, then the TOML `text` (read from `origin`, named in errors), then `env`.
    pub fn parse(
        text: Option<&str>,
        origin: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = toml::Table::new();
        if let Some(text) = text {
            table = text
                .parse::<toml::Table>()
                .map_err(|e| ConfigError::Parse {
                    path: origin.into(),
                    message: e.to_string(),
                })?;
        }
        for (var, value) in env {
            let Some(key) = var.strip_prefix("NARA_") else {
                continue;
            };
            if key.is_empty() || key == "LOG" {
                continue;
            }
            let path: Vec<String> = key.split("__").map(|p| p.to_ascii_lowercase()).collect();
            set_path(&mut table, &path, parse_env_value(&value)).map_err(|message| {
                ConfigError::Env {
                    var: var.clone(),
                    message,
                }
            })?;
        }
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: origin.into(),
                    message: e.to_string(),
                })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return Err(ConfigError::Invalid("tls.cert_file and tls.key_file must be set together (or neither, for a self-signed certificate)".into()));
        }
        if self.turn.shared_secret.is_some() && self.turn.shared_secret_file.is_some() {
            return Err(ConfigError::Invalid(
                "set turn.shared_secret or turn.shared_secret_file, not both".into(),
            ));
        }
        if self.database.url.is_some() && self.database.url_file.is_some() {
            return Err(ConfigError::Invalid(
                "set database.url or database.url_file, not both".into(),
            ));
        }
        if let Some(url) = &self.database.url {
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return Err(ConfigError::Invalid(format!(
                    "database.url must start with sqlite: or postgres://, got {url:?}"
                )));
            }
        }
        if self.limits.messages_per_second == 0 || self.limits.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "limits.messages_per_second and limits.max_connections must be above 0".into(),
            ));
        }
        let limits = &self.limits;
        let embedded = &self.turn.embedded;
        for (key, value) in [
            ("limits.session_seconds", limits.session_seconds),
            (
                "limits.handshake_timeout_seconds",
                limits.handshake_timeout_seconds,
            ),
            (
                "limits.max_connections_per_address",
                limits.max_connections_per_address as u64,
            ),
            (
                "turn.embedded.tcp_first_frame_seconds",
                embedded.tcp_first_frame_seconds,
            ),
            (
                "turn.embedded.max_tcp_clients_per_address",
                embedded.max_tcp_clients_per_address as u64,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(format!("{key} must be above 0")));
            }
        }
        if embedded.tcp_idle_seconds < 600 {
            return Err(ConfigError::Invalid(format!(
                "turn.embedded.tcp_idle_seconds is {}: at least 600, or clients refreshing their \
                 allocations every 10 minutes are cut off",
                embedded.tcp_idle_seconds
            )));
        }
        if self.tls.kiosk_certificate_days < 3 {
            return Err(ConfigError::Invalid(format!(
                "tls.kiosk_certificate_days is {}: at least 3, so a kiosk has a day to renew it",
                self.tls.kiosk_certificate_days
            )));
        }
        if let Err(e) = jiff::tz::TimeZone::get(&self.timezone) {
            return Err(ConfigError::Invalid(format!(
                "timezone {:?} is not an IANA time zone such as \"Europe/Stockholm\": {e}",
                self.timezone
            )));
        }
        if embedded.enabled && embedded.relay_ip.is_none() && embedded.listen.ip().is_unspecified()
        {
            return Err(ConfigError::Invalid(format!(
                "turn.embedded.listen is {}: set turn.embedded.relay_ip to the address peers reach the relay on",
                embedded.listen
            )));
        }
        if let Some(dir) = &self.desk_assets {
            if !dir.join("index.html").is_file() {
                return Err(ConfigError::Invalid(format!(
                    "desk_assets is {}, which has no index.html: build the pages with `npm run build` in agent-desk/ and point desk_assets at its dist/ folder",
                    dir.display()
                )));
            }
        }
        if self.fleet.heartbeat_seconds == 0 {
            return Err(ConfigError::Invalid(
                "fleet.heartbeat_seconds must be above 0".into(),
            ));
        }
        Ok(())
    }

    /// The time zone for opening hours (checked when the configuration was loaded).
    pub fn zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.timezone).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// The database URL, read from `url_file` if that is how it was given.
    pub fn database_url(&self) -> Result<String, ConfigError> {
        if let Some(file) = &self.database.url_file {
            return read_secret(file);
        }
        Ok(self.database.url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("nara.db").display()
            )
        }))
    }

    /// The configured TURN secret, if any (else the caller generates one).
    pub fn turn_secret(&self) -> Result<Option<String>, ConfigError> {
        match (&self.turn.shared_secret, &self.turn.shared_secret_file) {
            (Some(s), _) => Ok(Some(s.clone())),
            (None, Some(file)) => read_secret(file).map(Some),
            (None, None) => Ok(None),
        }
    }

    pub fn origins(&self) -> Vec<String> {
        if !self.allowed_origins.is_empty() {
            return self.allowed_origins.clone();
        }
        let port = self.listen.port();
        vec![
            format!("https://localhost:{port}"),
            format!("https://127.0.0.1:{port}"),
            format!("https://{}", self.listen),
        ]
    }
}

fn read_secret(file: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(file)
        .map(|s| s.trim().to_string())
        .map_err(|e| {
            ConfigError::Invalid(format!("cannot read secret file {}: {e}", file.display()))
        })
}

/// `8443` → integer, `true` → bool, anything else → string.
fn parse_env_value(value: &str) -> toml::Value {
    if let Ok(n) = value.parse::<i64>() {
        return toml::Value::Integer(n);
    }
    // A list, written as in TOML: NARA_TURN__EMBEDDED__ALLOWED_PEERS='["10.20.0.0/16"]'.
    if value.trim_start().starts_with('[') {
        if let Ok(mut table) = format!("value = {value}").parse::<toml::Table>() {
            if let Some(list) = table.remove("value") {
                return list;
            }
        }
    }
    match value {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(value.to_string()),
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut current = table;
    for part in parents {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("{part} is not a section"))?;
    }
    // Lists come as comma-separated values.
    let value = match (&value, last.as_str()) {
        (toml::Value::String(s), "allowed_origins" | "urls") => toml::Value::Array(
            s.split(',')
                .map(|p| toml::Value::String(p.trim().to_string()))
                .collect(),
        ),
        _ => value,
    };
    current.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_listen_on_loopback_8443() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8443");
        assert!(c.turn.urls.is_empty());
    }

    #[test]
    fn environment_overrides_file_and_reaches_sections() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("broker.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\n[turn]\ncredential_ttl_seconds = 60\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            env(&[
                ("NARA_DATA_DIR", "/srv/nara"),
                ("NARA_TURN__SHARED_SECRET", "s3cret"),
                ("NARA_TURN__EMBEDDED__ALLOWED_PEERS", "[\"10.20.0.0/16\"]"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(
            c.turn.embedded.allowed_peers,
            vec!["10.20.0.0/16".parse::<IpNet>().unwrap()]
        );
        assert_eq!(c.data_dir, PathBuf::from("/srv/nara"));
        assert_eq!(c.turn.credential_ttl_seconds, 60);
        assert_eq!(c.turn_secret().unwrap().as_deref(), Some("s3cret"));
    }

    #[test]
    fn one_routing_key_is_set_and_the_others_keep_their_defaults() {
        let c = Config::load(None, env(&[("NARA_ROUTING__RECONNECT_GRACE_MS", "3000")])).unwrap();
        assert_eq!(c.routing.reconnect_grace_ms, 3000);
        assert_eq!(
            c.routing.ring_timeout_ms,
            crate::routing::RoutingConfig::default().ring_timeout_ms
        );
    }

    #[test]
    fn unknown_key_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("broker.toml");
        std::fs::write(&file, "[turn]\nshared_secert = \"x\"\n").unwrap();
        let err = Config::load(Some(&file), env(&[])).unwrap_err().to_string();
        assert!(
            err.contains("shared_secert") && err.contains("broker.sample.toml"),
            "{err}"
        );
        let err = Config::load(None, env(&[("NARA_LISTNE", "x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("listne"), "{err}");
    }

    #[test]
    fn bad_address_says_which_key() {
        let err = Config::load(None, env(&[("NARA_LISTEN", "localhost")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen"), "{err}");
    }

    #[test]
    fn secret_from_file() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("turn.secret");
        std::fs::write(&secret, "from-file\n").unwrap();
        let c = Config::load(
            None,
            env(&[("NARA_TURN__SHARED_SECRET_FILE", secret.to_str().unwrap())]),
        )
        .unwrap();
        assert_eq!(c.turn_secret().unwrap().as_deref(), Some("from-file"));
    }

    #[test]
    fn half_a_certificate_is_refused() {
        let err = Config::load(None, env(&[("NARA_TLS__CERT_FILE", "/etc/c.pem")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("key_file"), "{err}");
    }

    #[test]
    fn the_sample_config_is_valid_and_names_every_section() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/broker.sample.toml");
        let c = Config::load(Some(&sample), env(&[])).unwrap();
        assert!(c.turn.embedded.enabled);
        let text = std::fs::read_to_string(&sample).unwrap();
        for section in [
            "[tls]",
            "[database]",
            "[turn]",
            "[turn.embedded]",
            "[routing]",
            "[limits]",
            "[fleet]",
            "[statistics]",
        ] {
            assert!(text.contains(section), "sample lacks {section}");
        }
    }

    #[test]
    fn embedded_turn_on_every_interface_needs_a_relay_address() {
        let err = Config::load(
            None,
            env(&[("NARA_TURN__EMBEDDED__LISTEN", "0.0.0.0:3478")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("relay_ip"), "{err}");
        let c = Config::load(
            None,
            env(&[
                ("NARA_TURN__EMBEDDED__LISTEN", "0.0.0.0:3478"),
                ("NARA_TURN__EMBEDDED__RELAY_IP", "192.0.2.10"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.turn.embedded.relay_ip,
            Some("192.0.2.10".parse().unwrap())
        );
    }
}
