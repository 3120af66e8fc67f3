//! Answers for requests no route serves: 405 when the path exists under another method, else 404.
//!
//! The route table is derived from the OpenAPI document (plus the documentation routes that
//! utoipa-swagger-ui serves), so it cannot drift from the registered routes. Paths match
//! exactly, as in the router: `/v1/hardware/` is not `/v1/hardware`.
//!
//! Methods outside HTTP's registered set are answered before the metrics middleware sees them
//! ([`refuse_unknown_methods`]): the method is a metrics label, and made-up method tokens
//! would otherwise create series without bound.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use super::problem::ApiError;

/// Path templates and the methods each accepts.
#[derive(Debug, Clone, Default)]
pub struct RouteTable(Vec<(Vec<String>, Vec<String>)>);

impl RouteTable {
    /// Builds the table from the OpenAPI document's paths plus `extra` `(path, method)` pairs.
    pub fn from_document(document: &serde_json::Value, extra: &[(&str, &str)]) -> Self {
        let mut table = RouteTable::default();
        let paths = document.get("paths").and_then(serde_json::Value::as_object);
        for (path, item) in paths.into_iter().flatten() {
            for method in ["get", "post", "put", "delete", "patch"] {
                if item.get(method).is_some() {
                    table.add(path, &method.to_ascii_uppercase());
                }
            }
            // Every GET answers HEAD too (see [`head_as_get`]).
            if item.get("get").is_some() {
                table.add(path, "HEAD");
            }
        }
        for (path, method) in extra {
            table.add(path, method);
            if *method == "GET" {
                table.add(path, "HEAD");
            }
        }
        table
    }

    fn add(&mut self, path: &str, method: &str) {
        let segments = split(path);
        match self.0.iter_mut().find(|(s, _)| *s == segments) {
            Some((_, methods)) => methods.push(method.to_owned()),
            None => self.0.push((segments, vec![method.to_owned()])),
        }
    }

    /// Methods allowed on `path`, if any template matches it. Only the most specific templates
    /// count (fewest `{parameters}`), as in the router: `/v1/models/import` is the import route,
    /// not a model called "import".
    pub fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let segments = split(path);
        let matching: Vec<_> = self.0.iter().filter(|(template, _)| matches(template, &segments)).collect();
        let fewest = matching.iter().map(|(template, _)| parameters(template)).min()?;
        let mut allowed: Vec<String> = matching
            .iter()
            .filter(|(template, _)| parameters(template) == fewest)
            .flat_map(|(_, methods)| methods.iter().cloned())
            .collect();
        allowed.sort();
        allowed.dedup();
        (!allowed.is_empty()).then_some(allowed)
    }
}

fn split(path: &str) -> Vec<String> {
    path.split('/').map(str::to_owned).collect()
}

fn parameters(template: &[String]) -> usize {
    template.iter().filter(|s| s.starts_with('{')).count()
}

fn matches(template: &[String], segments: &[String]) -> bool {
    template.len() == segments.len()
        && template
            .iter()
            .zip(segments)
            .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}') && !s.is_empty()))
}

/// The default service: 405 with `Allow` when the path is known, otherwise 404.
pub async fn not_found(req: HttpRequest, table: web::Data<RouteTable>) -> Result<HttpResponse, ApiError> {
    Err(refusal(&req, &table))
}

fn refusal(req: &HttpRequest, table: &RouteTable) -> ApiError {
    match table.allowed(req.path()) {
        Some(allowed) => {
            ApiError::MethodNotAllowed { method: req.method().as_str().chars().take(20).collect(), allowed }
        }
        None => ApiError::RouteNotFound(req.path().chars().take(200).collect()),
    }
}

/// Counts requests refused by [`refuse_unknown_methods`]: one series, whatever the token.
#[derive(Debug, Clone)]
pub struct UnknownMethods(pub prometheus::IntCounter);

/// The methods RFC 9110 and RFC 5789 define; anything else is a client's invention.
const KNOWN_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::CONNECT,
    Method::OPTIONS,
    Method::TRACE,
    Method::PATCH,
];

/// Middleware (just outside the metrics): a request whose method is not a registered HTTP
/// method gets the 404 or 405 any unserved method gets, counted in one counter instead of
/// becoming a labelled series of its own.
/// Answers `HEAD` wherever `GET` is served: the request runs as a `GET` and actix-http, which
/// remembers that the client asked `HEAD`, sends the headers (`Content-Length` included)
/// without the body. Routes are declared once, as `GET`; this is the one place HEAD lives.
pub async fn head_as_get<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    if req.method() == Method::HEAD {
        let serves_get = req
            .app_data::<web::Data<RouteTable>>()
            .and_then(|table| table.allowed(req.path()))
            .is_some_and(|allowed| allowed.iter().any(|m| m == "GET"));
        if serves_get {
            req.head_mut().method = Method::GET;
        }
    }
    next.call(req).await
}

pub async fn refuse_unknown_methods<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if KNOWN_METHODS.contains(req.method()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    if let Some(counter) = req.app_data::<web::Data<UnknownMethods>>() {
        counter.0.inc();
    }
    let error = match req.app_data::<web::Data<RouteTable>>() {
        Some(table) => refusal(req.request(), table),
        None => ApiError::RouteNotFound(req.path().chars().take(200).collect()),
    };
    let response = error.error_response();
    Ok(req.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_segments() {
        let mut table = RouteTable::default();
        table.add("/v1/models/{id}", "GET");
        table.add("/v1/models/{id}/parameters", "GET");
        table.add("/v1/models/import", "POST");
        assert_eq!(table.allowed("/v1/models/gpt2"), Some(vec!["GET".to_owned()]));
        assert_eq!(table.allowed("/v1/models/import"), Some(vec!["POST".to_owned()]));
        assert_eq!(table.allowed("/v1/nothing"), None);
        assert_eq!(table.allowed("/v1/models//parameters"), None);
        // Exact paths, as the router matches them.
        assert_eq!(table.allowed("/v1/models/"), None);
        assert_eq!(table.allowed("/v1/models//"), None);
        assert_eq!(table.allowed("/v1/models/gpt2/"), None);
    }
}
