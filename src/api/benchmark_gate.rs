//! The gate in front of `POST /v1/host/benchmarks`: a bearer token the server was started
//! with, and one run at a time. Kept apart from the handler so that [`super::state`] can hold a
//! gate without depending on the handlers that use it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::HttpRequest;
use actix_web::http::header;

use super::problem::ApiError;

/// Who may run benchmarks, and whether one is running.
#[derive(Debug, Default)]
pub struct BenchmarkGate {
    token: Option<String>,
    running: AtomicBool,
}

impl BenchmarkGate {
    /// A gate that opens for `token`; `None` keeps benchmarks disabled.
    pub fn new(token: Option<String>) -> Self {
        Self { token: token.filter(|t| !t.is_empty()), running: AtomicBool::new(false) }
    }

    /// Checks the request's credentials and claims the single benchmark slot.
    ///
    /// No bearer credentials is a 401 (the operation needs them); credentials on a server that
    /// has benchmarks off is a 403 (no token could succeed); the wrong token is a 401.
    pub fn enter(self: &Arc<Self>, request: &HttpRequest) -> Result<Running, ApiError> {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .ok_or(ApiError::Unauthorized)?;
        let Some(token) = &self.token else {
            return Err(ApiError::Disabled(
                "benchmarks are disabled on this server; start it with --benchmark-token (HWCOST_BENCHMARK_TOKEN) to enable them".into(),
            ));
        };
        if !constant_time_eq(presented.as_bytes(), token.as_bytes()) {
            return Err(ApiError::Unauthorized);
        }
        if self.running.swap(true, Ordering::AcqRel) {
            return Err(ApiError::Busy {
                detail: "a benchmark is already running on this host".into(),
                retry_after_s: 5,
            });
        }
        Ok(Running(self.clone()))
    }
}

/// The claimed benchmark slot; released when the run ends, even if the client has gone.
pub struct Running(Arc<BenchmarkGate>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}

/// The token of `Bearer <token>` credentials. The scheme is case-insensitive (RFC 9110
/// section 11.1), so `bearer` and `BEARER` are the same scheme.
fn bearer_token(credentials: &str) -> Option<&str> {
    let (scheme, token) = credentials.trim().split_once(' ')?;
    let token = token.trim_start();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Compares without an early exit, so the time taken does not reveal a matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::{bearer_token, constant_time_eq};

    #[test]
    fn the_scheme_is_case_insensitive() {
        for credentials in ["Bearer s3cret", "bearer s3cret", "BEARER  s3cret"] {
            assert_eq!(bearer_token(credentials), Some("s3cret"), "{credentials}");
        }
        assert_eq!(bearer_token("Basic s3cret"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
