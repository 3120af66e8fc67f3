//! Admission of CPU-heavy requests: plans, checks, serving replays, batches, calibrations.
//!
//! Each of these computes for tens of milliseconds to seconds. Run all at once on a small
//! machine, they share the cores so thinly that none finishes in time and the HTTP workers
//! (`/healthz` included) wait behind them. Instead, at most one runs per core, on the blocking
//! pool; the others wait in a bounded queue for a slot. A request that cannot get a slot within
//! the wait, or finds the queue full, is answered 503 with `Retry-After`: the server never
//! answers a shorter search or a made-up figure because it is busy, so the same request gets
//! the same answer whatever the load.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::problem::ApiError;

/// Slots for heavy work, and the queue in front of them. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Admission {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    wait: Duration,
}

impl Admission {
    /// `slots` at once, `max_waiting` queued for at most `wait` each.
    pub fn new(slots: usize, max_waiting: usize, wait: Duration) -> Self {
        Self { slots: Arc::new(Semaphore::new(slots.max(1))), waiting: Arc::default(), max_waiting, wait }
    }

    /// One slot per core: each heavy request keeps a core busy (their inner loops spread over
    /// rayon's pool, which has as many threads), so more at once would only slow all of them.
    /// Up to 64 wait, each at most 30 s (the longest a plan may ask to search).
    pub fn for_this_host() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::new(cores, 64, Duration::from_secs(30))
    }

    /// Runs `work` on the blocking pool once a slot is free; `what` names it in errors.
    pub async fn run<T, E>(
        &self,
        what: &'static str,
        work: impl FnOnce() -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let busy = || ApiError::Overloaded {
            detail: format!("the server is busy with other heavy requests; the {what} did not start"),
            retry_after_s: u32::try_from(self.wait.as_secs().clamp(1, 60)).unwrap_or(60),
        };
        // The queue's length is counted so that a flood is refused at once, not held open.
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(busy());
        }
        let permit = actix_web::rt::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let Ok(Ok(permit)) = permit else { return Err(busy()) };
        // The permit travels with the work: a client that hangs up does not free the slot while
        // its computation still runs.
        super::blocking::off_worker(what, move || {
            let _permit = permit;
            work()
        })
        .await
    }

    /// Requests waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

impl Default for Admission {
    fn default() -> Self {
        Self::for_this_host()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With one slot and no queue, a second request meets a 503 with `Retry-After` while the
    /// first runs, and gets in once it is done.
    #[actix_web::test]
    async fn a_full_server_says_so_instead_of_answering_less() {
        use actix_web::ResponseError;
        let admission = Admission::new(1, 1, Duration::from_millis(50));
        let (started, release) = (Arc::new(std::sync::Barrier::new(2)), Arc::new(std::sync::Barrier::new(2)));
        let first = {
            let (admission, started, release) = (admission.clone(), Arc::clone(&started), Arc::clone(&release));
            actix_web::rt::spawn(async move {
                admission
                    .run("first", move || {
                        started.wait();
                        release.wait();
                        Ok::<_, ApiError>(1)
                    })
                    .await
            })
        };
        actix_web::rt::task::spawn_blocking({
            let started = Arc::clone(&started);
            move || started.wait()
        })
        .await
        .unwrap();
        let refused = admission.run("second", || Ok::<_, ApiError>(2)).await.unwrap_err();
        let response = refused.error_response();
        assert_eq!(response.status(), actix_web::http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(actix_web::http::header::RETRY_AFTER));
        actix_web::rt::task::spawn_blocking(move || release.wait()).await.unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 1);
        assert_eq!(admission.run("third", || Ok::<_, ApiError>(3)).await.unwrap(), 3);
        assert_eq!(admission.waiting(), 0);
    }

    /// A queue that is full refuses at once rather than waiting.
    #[actix_web::test]
    async fn a_full_queue_refuses_at_once() {
        let admission = Admission::new(1, 0, Duration::from_secs(30));
        let started = std::time::Instant::now();
        assert!(admission.run("any", || Ok::<_, ApiError>(())).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
