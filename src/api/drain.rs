//! Graceful drain: what `/readyz` reads while the server winds down.
//!
//! On SIGTERM (or [`crate::startup::Shutdown::begin`]) the server first marks itself draining,
//! so `/readyz` answers 503 and load balancers stop sending new requests, while it keeps
//! serving for the configured drain time (requests already routed to it still arrive). Then it
//! waits until requests already sent have started and been answered ([`Drain::settle`], fed by
//! the [`count_in_flight`] middleware); only then does it stop accepting connections and wait
//! for in-flight requests to finish. Kept in
//! a module of its own so [`super::state`] can hold it without depending on the server.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

/// Whether the server is winding down, and how many requests it is serving.
#[derive(Debug, Default)]
pub struct Drain {
    draining: AtomicBool,
    started: AtomicU64,
    finished: AtomicU64,
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

    /// Requests started so far.
    fn started(&self) -> u64 {
        self.started.load(Ordering::Acquire)
    }

    /// Requests started and not yet answered.
    pub fn in_flight(&self) -> u64 {
        self.started().saturating_sub(self.finished.load(Ordering::Acquire))
    }

    /// Waits until no request has been in flight, and none has started, for `quiet`, or until
    /// `limit` has passed. Requests a client had already sent when the shutdown began may still
    /// sit in the listener's backlog or in a busy worker's queue: they start as soon as the
    /// worker is free, and closing the listener before they have would reset them. Traffic that
    /// keeps coming (health probes every few milliseconds) would never leave a quiet gap: once
    /// nothing is in flight, the wait for one lasts at most ten `quiet`s.
    pub async fn settle(&self, quiet: Duration, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut idle_waited = Duration::ZERO;
        while Instant::now() < deadline && idle_waited < quiet * 10 {
            let started = self.started();
            if self.in_flight() == 0 {
                actix_web::rt::time::sleep(quiet).await;
                if self.in_flight() == 0 && self.started() == started {
                    return;
                }
                idle_waited += quiet;
            } else {
                actix_web::rt::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

/// Counts requests in flight for [`Drain::settle`] (innermost of the counting: the request has
/// been read from its connection).
pub async fn count_in_flight(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let drain = req.app_data::<web::Data<Drain>>().cloned();
    // Counted as finished when the handler has answered, or when its future is dropped (the
    // client went away).
    struct Finished(Option<web::Data<Drain>>);
    impl Drop for Finished {
        fn drop(&mut self) {
            if let Some(drain) = &self.0 {
                drain.finished.fetch_add(1, Ordering::AcqRel);
            }
        }
    }
    if let Some(drain) = &drain {
        drain.started.fetch_add(1, Ordering::AcqRel);
    }
    let _finished = Finished(drain);
    next.call(req).await
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
