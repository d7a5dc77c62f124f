//! File descriptors: every connection and every TURN relay holds one. A broker that runs out
//! of them fails every `accept` until something closes, so it raises its soft limit to the
//! hard one at start (allowed without privileges) and, if that is still less than its
//! configuration asks for, holds fewer connections and says so, rather than finding out
//! with a full house.

use crate::config::Config;

/// Descriptors kept aside for the listeners, the database, certificates, logs and the
/// runtime itself.
pub const RESERVED: u64 = 64;

/// How many connections to accept at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionBudget {
    pub connections: usize,
    /// Why fewer than configured, in words for the operator's log.
    pub shortfall: Option<String>,
}

/// The budget under a descriptor limit of `limit`: the configured maximum if it fits beside
/// the TURN relays and the reserve, otherwise what does.
pub fn budget(config: &Config, limit: u64) -> ConnectionBudget {
    let wanted = config.limits.max_connections;
    let relays = if config.turn.embedded.enabled {
        config.turn.embedded.max_allocations as u64
    } else {
        0
    };
    let needed = wanted as u64 + relays + RESERVED;
    if needed <= limit {
        return ConnectionBudget {
            connections: wanted,
            shortfall: None,
        };
    }
    let fits = limit.saturating_sub(relays + RESERVED).max(1);
    ConnectionBudget {
        connections: fits.min(wanted as u64) as usize,
        shortfall: Some(format!(
            "the open-files limit is {limit}, but limits.max_connections ({wanted}), \
             turn.embedded.max_allocations ({relays}) and {RESERVED} for the broker itself need \
             {needed}: holding at most {fits} connections. Raise the limit (LimitNOFILE= in \
             the systemd unit, ulimit -n) or lower those settings."
        )),
    }
}

/// Raises this process's soft descriptor limit as far as the hard limit allows, and returns
/// the budget under it.
pub fn raise_and_budget(config: &Config) -> ConnectionBudget {
    let wanted = config.limits.max_connections as u64
        + config.turn.embedded.max_allocations as u64
        + RESERVED;
    match rlimit::increase_nofile_limit(wanted) {
        Ok(limit) => budget(config, limit),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-files limit");
            ConnectionBudget {
                connections: config.limits.max_connections,
                shortfall: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_connections: usize, turn: Option<usize>) -> Config {
        let mut c = Config::load(None, Vec::new()).unwrap();
        c.limits.max_connections = max_connections;
        c.turn.embedded.enabled = turn.is_some();
        c.turn.embedded.max_allocations = turn.unwrap_or(0);
        c
    }

    #[test]
    fn the_configured_maximum_stands_when_it_fits() {
        let b = budget(&config(20_000, Some(8_000)), 65_536);
        assert_eq!(b.connections, 20_000);
        assert_eq!(b.shortfall, None);
    }

    #[test]
    fn a_low_limit_lowers_the_maximum_and_says_why() {
        // systemd's default soft limit without LimitNOFILE=.
        let b = budget(&config(20_000, Some(500)), 1_024);
        assert_eq!(b.connections, 1_024 - 500 - RESERVED as usize);
        let why = b.shortfall.expect("a reason");
        assert!(why.contains("1024"), "{why}");
        assert!(why.contains("LimitNOFILE"), "{why}");
    }

    #[test]
    fn relays_count_only_when_the_embedded_server_runs() {
        assert_eq!(budget(&config(900, None), 1_024).connections, 900);
        assert!(budget(&config(900, Some(200)), 1_024).shortfall.is_some());
    }

    #[test]
    fn a_limit_below_the_reserve_still_serves_someone() {
        assert_eq!(budget(&config(100, None), 10).connections, 1);
    }
}
