//! How long to wait before reconnecting to the broker: exponential with full jitter, so that
//! three hundred kiosks that lost the broker at the same moment do not return in step.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    ceiling: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(first: Duration, ceiling: Duration) -> Self {
        Backoff {
            first,
            ceiling,
            failures: 0,
        }
    }

    /// The delay before the next attempt, drawn from `rng`; each call counts a failure.
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let exponent = self.failures.min(16);
        self.failures = self.failures.saturating_add(1);
        let cap = self
            .first
            .saturating_mul(1 << exponent)
            .min(self.ceiling)
            .as_millis() as u64;
        // Half fixed, half random: never back at once, never all together.
        Duration::from_millis(cap / 2 + rng.gen_range(0..=cap / 2))
    }

    /// A connection got as far as the broker's welcome: start again from the first delay.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn delays_grow_to_the_ceiling_and_start_over_after_a_success() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let delays: Vec<_> = (0..10).map(|_| backoff.next_delay(&mut rng)).collect();
        assert!(delays[0] >= Duration::from_millis(250) && delays[0] <= Duration::from_millis(500));
        assert!(delays[3] >= Duration::from_secs(2), "{delays:?}");
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(30)),
            "{delays:?}"
        );
        assert!(delays[9] >= Duration::from_secs(15), "{delays:?}");
        backoff.reset();
        assert!(backoff.next_delay(&mut rng) <= Duration::from_millis(500));
    }

    #[test]
    fn kiosks_that_fail_together_spread_out() {
        let delays: std::collections::BTreeSet<_> = (0..50)
            .map(|seed| {
                let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
                let mut rng = StdRng::seed_from_u64(seed);
                for _ in 0..4 {
                    backoff.next_delay(&mut rng);
                }
                backoff.next_delay(&mut rng).as_millis()
            })
            .collect();
        assert!(delays.len() > 40, "only {} distinct delays", delays.len());
    }
}
