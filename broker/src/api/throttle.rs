//! Failed logins, throttled per account and per address without I/O or clocks of its own.
//!
//! Three counters slow guessing down, each with a free allowance and then a wait that
//! doubles with every further failure, up to a cap:
//! - one account from one address: the common case of someone guessing one password;
//! - one address, whatever the account: spraying one password over many accounts;
//! - one account from addresses it has never logged in from: guessing from many machines.
//!
//! Counted against an officer, these would let an attacker lock them out. So an address an
//! account has logged in from is trusted for it: the per-account and per-address counters
//! never slow it, and its own pair waits [`TRUSTED_CAP_MS`] at most, so from their own desk
//! (or their agency's proxy, shared with others) an officer always gets in soon. Every
//! attempt counts as a failure until it succeeds, so parallel guesses are slowed as well.
//! IPv6 addresses count by their /64, which one machine can fill; and every map is bounded.

use std::collections::HashMap;
use std::net::IpAddr;

/// Milliseconds on whatever clock the caller uses.
pub type Millis = u64;

/// After this long without a failure a counter starts again from zero.
const FORGET_AFTER_MS: Millis = 15 * 60 * 1000;
/// An address an account logged in from is trusted for this long.
const TRUST_MS: Millis = 30 * 24 * 3600 * 1000;
/// Entries kept per map before the forgotten ones are swept out.
const SWEEP_ABOVE: usize = 50_000;
/// Past this many live entries a map is emptied: a flood of made-up accounts or addresses
/// then costs some throttling, never the broker's memory.
const HARD_CAP: usize = 200_000;
/// The longest an account waits from an address it is trusted from.
const TRUSTED_CAP_MS: Millis = 30 * 1000;

#[derive(Debug, Clone, Copy)]
struct Rule {
    /// Failures allowed before any wait.
    free: u32,
    cap_ms: Millis,
}

const PAIR: Rule = Rule {
    free: 5,
    cap_ms: 5 * 60 * 1000,
};
const ADDRESS: Rule = Rule {
    free: 30,
    cap_ms: 15 * 60 * 1000,
};
const ACCOUNT: Rule = Rule {
    free: 30,
    cap_ms: 60 * 1000,
};

#[derive(Debug, Clone, Copy, Default)]
struct Failures {
    count: u32,
    last: Millis,
}

impl Failures {
    fn current(&self, now: Millis) -> u32 {
        if now.saturating_sub(self.last) > FORGET_AFTER_MS {
            0
        } else {
            self.count
        }
    }

    /// When the next attempt may be made under `rule`.
    fn next_allowed(&self, rule: Rule, now: Millis) -> Millis {
        let count = self.current(now);
        if count < rule.free {
            return 0;
        }
        let doublings = (count - rule.free).min(20);
        self.last + (1000u64 << doublings).min(rule.cap_ms)
    }

    fn add(&mut self, now: Millis) {
        self.count = self.current(now) + 1;
        self.last = now;
    }
}

/// Why a login is not tried now, and when it may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_seconds: u64,
    pub reason: &'static str,
}

impl Throttled {
    pub fn message(&self) -> String {
        format!(
            "{}; try again in {} s",
            self.reason, self.retry_after_seconds
        )
    }
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    pairs: HashMap<(String, IpAddr), Failures>,
    addresses: HashMap<IpAddr, Failures>,
    accounts: HashMap<String, Failures>,
    trusted: HashMap<(String, IpAddr), Millis>,
    last_sweep: Millis,
}

impl LoginThrottle {
    /// May `account` try a password from `address` now? If so, the attempt is counted as a
    /// failure until [`LoginThrottle::succeeded`] says otherwise.
    pub fn attempt(
        &mut self,
        account: &str,
        address: IpAddr,
        now: Millis,
    ) -> Result<(), Throttled> {
        let address = counted_as(address);
        let pair_key = (account.to_string(), address);
        let trusted = self
            .trusted
            .get(&pair_key)
            .is_some_and(|since| now.saturating_sub(*since) < TRUST_MS);
        let pair_rule = if trusted {
            Rule {
                cap_ms: TRUSTED_CAP_MS,
                ..PAIR
            }
        } else {
            PAIR
        };
        let mut checks = vec![(
            self.pairs.get(&pair_key).copied().unwrap_or_default(),
            pair_rule,
            "too many failed logins for this account from this address",
        )];
        if !trusted {
            checks.push((
                self.addresses.get(&address).copied().unwrap_or_default(),
                ADDRESS,
                "too many failed logins from this address",
            ));
            checks.push((
                self.accounts.get(account).copied().unwrap_or_default(),
                ACCOUNT,
                "too many failed logins for this account",
            ));
        }
        if let Some((at, reason)) = checks
            .iter()
            .map(|(failures, rule, reason)| (failures.next_allowed(*rule, now), *reason))
            .filter(|(at, _)| *at > now)
            .max_by_key(|(at, _)| *at)
        {
            return Err(Throttled {
                retry_after_seconds: (at - now).div_ceil(1000),
                reason,
            });
        }
        self.sweep(now);
        self.pairs.entry(pair_key).or_default().add(now);
        self.addresses.entry(address).or_default().add(now);
        if !trusted {
            self.accounts
                .entry(account.to_string())
                .or_default()
                .add(now);
        }
        Ok(())
    }

    /// The attempt was right: it was no failure, and the address is now the account's own.
    pub fn succeeded(&mut self, account: &str, address: IpAddr, now: Millis) {
        let address = counted_as(address);
        let pair_key = (account.to_string(), address);
        let was_trusted = self.trusted.contains_key(&pair_key);
        self.pairs.remove(&pair_key);
        if let Some(f) = self.addresses.get_mut(&address) {
            f.count = f.count.saturating_sub(1);
        }
        if !was_trusted {
            if let Some(f) = self.accounts.get_mut(account) {
                f.count = f.count.saturating_sub(1);
            }
        }
        self.trusted.insert(pair_key, now);
    }

    /// Drops what has been forgotten once a map grows large; a flood of made-up accounts or
    /// addresses must not grow memory without end.
    fn sweep(&mut self, now: Millis) {
        // Once a second at most: a sweep walks the maps.
        if now.saturating_sub(self.last_sweep) < 1000 {
            return;
        }
        self.last_sweep = now;
        let fresh = |f: &Failures| now.saturating_sub(f.last) <= FORGET_AFTER_MS;
        if self.pairs.len() > SWEEP_ABOVE {
            self.pairs.retain(|_, f| fresh(f));
        }
        if self.addresses.len() > SWEEP_ABOVE {
            self.addresses.retain(|_, f| fresh(f));
        }
        if self.accounts.len() > SWEEP_ABOVE {
            self.accounts.retain(|_, f| fresh(f));
        }
        if self.trusted.len() > SWEEP_ABOVE {
            self.trusted
                .retain(|_, since| now.saturating_sub(*since) < TRUST_MS);
        }
        let full = [
            self.pairs.len(),
            self.addresses.len(),
            self.accounts.len(),
            self.trusted.len(),
        ]
        .into_iter()
        .any(|entries| entries > HARD_CAP);
        if full {
            tracing::warn!("login throttle: too many entries; forgetting them all");
            *self = LoginThrottle::default();
        }
    }
}

/// The address a failure counts against: an IPv6 address by its /64 (one machine's share).
fn counted_as(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn one_account_from_one_address_waits_after_five_failures_and_longer_each_time() {
        let mut t = LoginThrottle::default();
        for n in 0..5 {
            assert!(t.attempt("anna", ip(1), n).is_ok(), "attempt {n}");
        }
        let first = t.attempt("anna", ip(1), 10).unwrap_err();
        assert_eq!(first.retry_after_seconds, 1);
        assert!(first.message().contains("this account from this address"));
        assert!(t.attempt("anna", ip(1), 1_010).is_ok());
        let second = t.attempt("anna", ip(1), 1_020).unwrap_err();
        assert_eq!(second.retry_after_seconds, 2);
        // Another account from the same address is not slowed by these.
        assert!(t.attempt("omar", ip(1), 1_030).is_ok());
    }

    #[test]
    fn the_right_password_clears_the_count() {
        let mut t = LoginThrottle::default();
        for n in 0..4 {
            t.attempt("anna", ip(1), n).unwrap();
        }
        t.attempt("anna", ip(1), 5).unwrap();
        t.succeeded("anna", ip(1), 5);
        for n in 0..5 {
            assert!(t.attempt("anna", ip(1), 10 + n).is_ok());
        }
    }

    #[test]
    fn an_attack_from_elsewhere_never_locks_the_officer_out_of_their_own_desk() {
        let mut t = LoginThrottle::default();
        t.attempt("anna", ip(9), 0).unwrap();
        t.succeeded("anna", ip(9), 0);
        // Guesses from a hundred addresses, as a botnet would.
        let mut refused = 0;
        for n in 0..100u8 {
            for k in 0..5 {
                if t.attempt("anna", ip(n + 10), 1_000 + u64::from(n) * 10 + k)
                    .is_err()
                {
                    refused += 1;
                }
            }
        }
        assert!(refused > 0, "the account's own counter slows guessing down");
        assert!(
            t.attempt("anna", ip(9), 5_000).is_ok(),
            "her desk still gets in"
        );
    }

    #[test]
    fn a_shared_address_that_guesses_does_not_keep_the_officer_out_for_long() {
        let mut t = LoginThrottle::default();
        let proxy = ip(7);
        t.attempt("anna", proxy, 0).unwrap();
        t.succeeded("anna", proxy, 0);
        // Someone else behind the agency's proxy guesses Anna's password, a lot.
        let mut now = 1_000;
        for _ in 0..200 {
            let _ = t.attempt("anna", proxy, now);
            let _ = t.attempt("someone", proxy, now);
            now += 100;
        }
        let waited = match t.attempt("anna", proxy, now) {
            Ok(()) => 0,
            Err(refusal) => refusal.retry_after_seconds,
        };
        assert!(waited <= TRUSTED_CAP_MS / 1000, "{waited} s");
    }

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let mut t = LoginThrottle::default();
        for n in 0..30u16 {
            let address = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, n, n, n, n));
            assert!(t
                .attempt(&format!("user{n}"), address, u64::from(n))
                .is_ok());
        }
        let other = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 99));
        assert!(t.attempt("user99", other, 40).is_err());
    }

    #[test]
    fn one_address_spraying_many_accounts_is_slowed() {
        let mut t = LoginThrottle::default();
        for n in 0..30 {
            assert!(t.attempt(&format!("user{n}"), ip(1), n).is_ok());
        }
        let refusal = t.attempt("user99", ip(1), 40).unwrap_err();
        assert_eq!(refusal.reason, "too many failed logins from this address");
    }

    #[test]
    fn counts_are_forgotten_after_a_quiet_quarter_of_an_hour() {
        let mut t = LoginThrottle::default();
        for n in 0..6 {
            let _ = t.attempt("anna", ip(1), n);
        }
        assert!(t.attempt("anna", ip(1), 100).is_err());
        assert!(t.attempt("anna", ip(1), FORGET_AFTER_MS + 1_000).is_ok());
    }
}
