//! The Nära broker.
pub mod routing;
