//! Response headers every answer carries: no MIME sniffing, no framing, no referrer, a content
//! security policy and a cache policy.
//!
//! API answers are data for one client at one moment (estimates depend on the catalog build),
//! so they are `no-store` and their policy allows nothing to load. The documentation pages
//! (Swagger UI) load their own scripts and styles, and nothing from elsewhere. A handler that
//! sets one of these headers itself keeps its value.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// Policy for JSON answers: they are never rendered as documents, so nothing may load.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Policy for the documentation pages: their own scripts and styles (Swagger UI sets inline
/// style attributes), images inlined as data URLs, and calls back to this origin only.
const DOCS_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Whether `path` is served by the documentation pages.
fn is_docs(path: &str) -> bool {
    path == "/docs" || path.starts_with("/docs/")
}

/// Middleware: adds the headers above where the response has not set them.
pub async fn secure<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let docs = is_docs(req.path());
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    let (policy, cache) = if docs { (DOCS_POLICY, "no-cache") } else { (API_POLICY, "no-store") };
    let defaults: [(HeaderName, &'static str); 5] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, policy),
        (header::CACHE_CONTROL, cache),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::is_docs;

    #[test]
    fn docs_paths() {
        assert!(is_docs("/docs"));
        assert!(is_docs("/docs/index.html"));
        assert!(!is_docs("/docsx"));
        assert!(!is_docs("/v1/docs"));
    }
}
