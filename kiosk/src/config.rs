//! The kiosk's configuration: defaults, then a TOML file, then command-line flags. Unknown keys
//! are refused so that a misspelt setting is noticed rather than silently ignored.

use crate::media::MediaConfig;
use crate::scanner::ScannerConfig;
use anyhow::{Context, Result};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Config {
    /// Where the kiosk's identity lives. Nothing of a visit is ever written here.
    pub data_dir: PathBuf,
    /// No window and no speaker: for tests and simulated kiosks.
    pub headless: bool,
    /// The local control API (loopback or a Unix socket only): the UI's and the tests' way in.
    pub api_listen: crate::api::ApiListen,
    pub media: MediaConfig,
    pub network: NetworkConfig,
    pub scanner: ScannerConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Only TURN relays (where a firewall allows nothing else).
    pub relay_only: bool,
    /// Local addresses for media; `0.0.0.0:0` means every interface.
    pub bind: Vec<SocketAddr>,
    /// Offer loopback candidates: only for tests on one machine.
    pub loopback: bool,
    /// Resolve browsers' `.local` candidate names.
    pub mdns: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("/var/lib/nara-kiosk"),
            headless: false,
            api_listen: crate::api::ApiListen::Loopback(
                "127.0.0.1:7700".parse().expect("a valid address"),
            ),
            media: MediaConfig::default(),
            network: NetworkConfig::default(),
            scanner: ScannerConfig::default(),
        }
    }
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            relay_only: false,
            bind: vec!["0.0.0.0:0".parse().expect("a valid address")],
            loopback: false,
            mdns: true,
        }
    }
}

impl Config {
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let config: Config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the configuration {}", path.display()))?;
                toml::from_str(&text).with_context(|| {
                    format!("{} is not a valid kiosk configuration", path.display())
                })?
            }
            None => Config::default(),
        };
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::Source;

    #[test]
    fn a_file_sets_what_it_names_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiosk.toml");
        std::fs::write(
            &path,
            "headless = true\n[media]\nsource = { kind = \"test\" }\n[network]\nrelay-only = true\n\
             [scanner]\ndevice = \"test:0\"\noptions = { test-picture = \"Grid\" }\n",
        )
        .unwrap();
        let config = Config::load(Some(&path)).unwrap();
        assert!(config.headless);
        assert_eq!(config.media.source, Source::Test);
        assert!(
            config.media.echo_cancellation,
            "echo cancellation stays on by default"
        );
        assert!(config.network.relay_only);
        assert!(config.network.mdns);
        assert_eq!(config.scanner.device, "test:0");
        assert_eq!(config.scanner.resolution, 300);
        assert_eq!(config.scanner.options["test-picture"], "Grid");
    }

    #[test]
    fn the_sample_in_deploy_shows_the_defaults() {
        let sample: Config =
            toml::from_str(include_str!("../../deploy/kiosk.sample.toml")).unwrap();
        let default = Config::default();
        assert_eq!(sample.scanner, default.scanner);
        assert_eq!(sample.network.bind, default.network.bind);
        assert_eq!(sample.media.source, default.media.source);
        assert_eq!(sample.data_dir, default.data_dir);
    }

    #[test]
    fn a_misspelt_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiosk.toml");
        std::fs::write(&path, "[media]\necho-cancelation = false\n").unwrap();
        let error = format!("{:#}", Config::load(Some(&path)).unwrap_err());
        assert!(error.contains("echo-cancelation"), "{error}");
    }
}
