//! Request ids and the per-request span.
//!
//! Every request gets an id: the client's `X-Request-Id` when it is a reasonable token, else a
//! fresh UUID v4. The id is stored in the request extensions, recorded on the root span that
//! `tracing-actix-web` opens, and echoed in the response header, so a client can quote it and an
//! operator can find the log lines. The root span also records route, status and latency when the
//! request ends.
//!
//! The access log (one line per completed request) is sampled at the rate the operator chose
//! ([`AccessLog`]): at full rate it costs about 580 bytes a request and half the `/healthz`
//! ceiling. Server errors are always logged. Lines carry the route and a clipped path, never
//! the query or the body, and never an error's internal text.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

/// The header carrying the request id, both ways.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Which completed requests write an access line: a fraction `rate` of them, evenly spread
/// (every 100th at 0.01), decided by a counter rather than a random draw so the rate is exact.
#[derive(Debug)]
pub struct AccessLog {
    rate: f64,
    completed: AtomicU64,
}

impl AccessLog {
    /// Logs the fraction `rate` of requests (clamped to 0..=1; NaN logs none).
    pub fn new(rate: f64) -> Self {
        let rate = if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) };
        Self { rate, completed: AtomicU64::new(0) }
    }

    /// Whether the next completed request is one to log.
    pub fn sample(&self) -> bool {
        let n = self.completed.fetch_add(1, Ordering::Relaxed) as f64;
        ((n + 1.0) * self.rate).floor() > (n * self.rate).floor()
    }
}

/// Characters of the path kept in the span: a 60 KB URL must not make 60 KB log lines.
const MAX_LOGGED_PATH_CHARS: usize = 128;

/// When the request entered the service.
#[derive(Debug, Clone, Copy)]
struct Started(Instant);

/// Accepts a client-supplied id only if it is short, printable ASCII without spaces, so it cannot
/// forge log lines or bloat them.
fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Middleware (outermost): assigns the id, stamps the start time, echoes the id back.
pub async fn assign(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    req.extensions_mut().insert(Started(Instant::now()));
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(response)
}

/// The root span of a request: method, route, path and our request id, then status and latency
/// and one completion event when the request ends. Built by hand rather than with
/// `tracing_actix_web::root_span!`, whose own generated request id would disagree with ours.
pub struct RootSpan;

impl RootSpanBuilder for RootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "unmatched".into());
        tracing::info_span!(
            "request",
            request_id = %request_id,
            http.method = %request.method(),
            http.route = %route,
            http.target = %clip(request.uri().path()),
            http.status_code = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        let (status, started, sampled) = match outcome {
            Ok(response) => (
                response.status(),
                response.request().extensions().get::<Started>().copied(),
                response.request().app_data::<actix_web::web::Data<AccessLog>>().is_none_or(|log| log.sample()),
            ),
            Err(error) => (error.as_response_error().status_code(), None, true),
        };
        span.record("http.status_code", status.as_u16());
        let latency_ms = started.map(|Started(at)| at.elapsed().as_secs_f64() * 1e3);
        if let Some(latency_ms) = latency_ms {
            span.record("latency_ms", latency_ms);
        }
        // 503 is a state (not ready, draining), not a failure; every other 5xx is a bug.
        if status.is_server_error() && status != actix_web::http::StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(parent: &span, status = status.as_u16(), latency_ms, "request failed");
        } else if sampled {
            tracing::info!(parent: &span, status = status.as_u16(), latency_ms, "request completed");
        }
    }
}

fn clip(path: &str) -> &str {
    match path.char_indices().nth(MAX_LOGGED_PATH_CHARS) {
        Some((end, _)) => &path[..end],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::{AccessLog, acceptable, clip};

    #[test]
    fn access_log_samples_the_rate_it_was_given() {
        for (rate, expected) in [(0.0, 0), (0.01, 10), (0.25, 250), (1.0, 1000), (7.0, 1000), (f64::NAN, 0)] {
            let log = AccessLog::new(rate);
            let logged = (0..1000).filter(|_| log.sample()).count();
            assert_eq!(logged, expected, "rate {rate}");
        }
    }

    #[test]
    fn paths_are_clipped() {
        assert_eq!(clip("/v1/models"), "/v1/models");
        assert_eq!(clip(&"é".repeat(1000)).chars().count(), 128);
    }

    #[test]
    fn client_ids_are_bounded_tokens() {
        assert!(acceptable("abc-123"));
        assert!(!acceptable(""));
        assert!(!acceptable("has space"));
        assert!(!acceptable("line\nbreak"));
        assert!(!acceptable(&"x".repeat(129)));
    }
}
