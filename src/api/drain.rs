//! Graceful drain: what `/readyz` reads while the server winds down.
//!
//! On SIGTERM (or [`crate::startup::Shutdown::begin`]) the server first marks itself draining,
//! so `/readyz` answers 503 and load balancers stop sending new requests, while it keeps
//! serving for the configured drain time (requests already routed to it still arrive). Only
//! then does it stop accepting connections and wait for in-flight requests to finish. Kept in
//! a module of its own so [`super::state`] can hold it without depending on the server.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the server is winding down.
#[derive(Debug, Default)]
pub struct Drain {
    draining: AtomicBool,
}

impl Drain {
    /// Marks the server draining; returns `false` when it already was (a second signal).
    pub fn begin(&self) -> bool {
        !self.draining.swap(true, Ordering::AcqRel)
    }

    /// Whether draining has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::Drain;

    #[test]
    fn begins_once() {
        let drain = Drain::default();
        assert!(!drain.is_draining());
        assert!(drain.begin());
        assert!(!drain.begin());
        assert!(drain.is_draining());
    }
}
