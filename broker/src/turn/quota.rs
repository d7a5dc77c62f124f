//! How many relays each credential, and the server as a whole, may hold — so that one leaked
//! credential or one hostile client cannot bind every port on the machine.
//!
//! Sans-IO, fed by the gate: an authenticated Allocate request is *pending* until the server's
//! success response goes out to that client (then *granted*) or an error does (then
//! forgotten); the `turn` crate's close notification ends a grant. A client address holds at
//! most one allocation (RFC 8656 §2.2), so retransmissions are not counted twice.

use std::collections::HashMap;
use std::net::SocketAddr;

/// Above this many requests in flight without an answer the oldest are forgotten; the server
/// answers or drops each within a second, so only a flood gets near it.
const MAX_PENDING: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaRefusal {
    /// 486: this credential holds enough relays already.
    PerUser { held: usize },
    /// 508: the server holds as many relays as it is configured for.
    Capacity { total: usize },
}

impl QuotaRefusal {
    pub fn reason(&self) -> String {
        match self {
            QuotaRefusal::PerUser { held } => format!(
                "Allocation Quota Reached: this credential already holds {held} relays; close some first"
            ),
            QuotaRefusal::Capacity { total } => format!(
                "Insufficient Capacity: this TURN server holds {total} relays, its limit; try again shortly"
            ),
        }
    }
}

#[derive(Debug)]
pub struct AllocationQuota {
    per_user: usize,
    total: usize,
    /// Client address → the username its allocation was made with.
    granted: HashMap<SocketAddr, String>,
    /// Transaction id → (client address, username) of Allocate requests not yet answered.
    pending: HashMap<[u8; 12], (SocketAddr, String)>,
}

impl AllocationQuota {
    pub fn new(per_user: usize, total: usize) -> Self {
        AllocationQuota {
            per_user,
            total,
            granted: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// An authenticated Allocate request: may it reach the server?
    pub fn request(
        &mut self,
        from: SocketAddr,
        username: &str,
        transaction: [u8; 12],
    ) -> Result<(), QuotaRefusal> {
        let already_known = self.granted.contains_key(&from)
            || self.pending.values().any(|(client, _)| *client == from);
        if !already_known {
            let held = self.granted.values().filter(|u| *u == username).count()
                + self.pending.values().filter(|(_, u)| u == username).count();
            if held >= self.per_user {
                return Err(QuotaRefusal::PerUser { held });
            }
            let total = self.granted.len() + self.pending.len();
            if total >= self.total {
                return Err(QuotaRefusal::Capacity { total });
            }
        }
        if self.pending.len() >= MAX_PENDING {
            self.pending.clear();
        }
        self.pending
            .insert(transaction, (from, username.to_string()));
        Ok(())
    }

    /// The server answered an Allocate request: `success` or an error.
    pub fn answered(&mut self, transaction: [u8; 12], success: bool) {
        if let Some((client, username)) = self.pending.remove(&transaction) {
            if success {
                self.granted.insert(client, username);
            }
        }
    }

    /// The server closed the allocation of `client` (expired or deleted).
    pub fn closed(&mut self, client: SocketAddr) {
        self.granted.remove(&client);
    }

    pub fn held(&self) -> usize {
        self.granted.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([198, 51, 100, 7], port))
    }

    fn tid(n: u8) -> [u8; 12] {
        [n; 12]
    }

    #[test]
    fn a_credential_gets_its_share_and_more_once_one_closes() {
        let mut quota = AllocationQuota::new(2, 100);
        for n in 0..2 {
            quota.request(addr(n), "k-1", tid(n as u8)).unwrap();
            quota.answered(tid(n as u8), true);
        }
        assert_eq!(
            quota.request(addr(9), "k-1", tid(9)),
            Err(QuotaRefusal::PerUser { held: 2 })
        );
        // Someone else is not affected, and a retransmission is not a new relay.
        quota.request(addr(10), "k-2", tid(10)).unwrap();
        quota.request(addr(0), "k-1", tid(0)).unwrap();
        quota.closed(addr(0));
        quota.answered(tid(0), false);
        quota.request(addr(9), "k-1", tid(9)).unwrap();
    }

    #[test]
    fn requests_in_flight_count_so_a_burst_cannot_slip_past() {
        let mut quota = AllocationQuota::new(3, 100);
        let results: Vec<bool> = (0..10)
            .map(|n| quota.request(addr(n), "k-1", tid(n as u8)).is_ok())
            .collect();
        assert_eq!(results.iter().filter(|ok| **ok).count(), 3);
        // A refused or failed request frees its place.
        quota.answered(tid(0), false);
        assert!(quota.request(addr(50), "k-1", tid(50)).is_ok());
    }

    #[test]
    fn the_server_wide_limit_holds_across_credentials() {
        let mut quota = AllocationQuota::new(10, 3);
        for n in 0..3 {
            quota
                .request(addr(n), &format!("k-{n}"), tid(n as u8))
                .unwrap();
            quota.answered(tid(n as u8), true);
        }
        let refusal = quota.request(addr(7), "k-7", tid(7)).unwrap_err();
        assert_eq!(refusal, QuotaRefusal::Capacity { total: 3 });
        assert!(refusal.reason().contains("3 relays"));
        assert_eq!(quota.held(), 3);
    }
}
