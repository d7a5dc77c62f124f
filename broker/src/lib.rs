//! The Nära broker.
pub mod config;
pub mod pki;
pub mod routing;
pub mod storage;
