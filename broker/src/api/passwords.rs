//! Password hashing off the async workers. Argon2id takes tens of milliseconds of CPU on
//! purpose; run on the runtime's workers, a burst of logins stalled every connection (a
//! `/healthz` took 0.9 s during 32 parallel logins). Here each hash runs on the blocking
//! pool, and no more at once than half the machine's cores, so guesses queue instead of
//! starving everyone. The [`LoginThrottle`] lives beside it.

use super::throttle::LoginThrottle;
use super::ApiError;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// A hash of a password nobody has, verified against when the account does not exist so
/// that usernames cannot be probed by timing.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2QmS8W7nVnA6ZpZ8JbcK0jO8c9Xv0m2a7FhN0E4z1uA";

#[derive(Debug)]
pub struct Passwords {
    hashing: Arc<Semaphore>,
    pub throttle: Mutex<LoginThrottle>,
}

impl Default for Passwords {
    fn default() -> Self {
        // Half the cores at most, so that signalling keeps the rest during a burst of logins.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Passwords {
            hashing: Arc::new(Semaphore::new((cores / 2).max(1))),
            throttle: Mutex::default(),
        }
    }
}

impl Passwords {
    async fn on_blocking_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = Arc::clone(&self.hashing)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal("password hashing stopped".into()))?;
        // The permit goes with the work: a client that hangs up does not end the hashing, so
        // its place must not be given to the next one before the hashing ends.
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
    }

    /// An argon2id hash of `password` for storage.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.on_blocking_pool(move || hash_now(&password)).await
    }

    /// Whether `password` matches `stored`; with no stored hash it spends the same time and
    /// says no.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        self.on_blocking_pool(move || {
            let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_string());
            let Ok(hash) = PasswordHash::new(&stored) else {
                return false;
            };
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .await
    }

    pub fn throttle(&self) -> std::sync::MutexGuard<'_, LoginThrottle> {
        self.throttle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Hashes on the calling thread: for seeding demo data and tests, never on a request.
pub fn hash_now(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password")
        .to_string()
}
