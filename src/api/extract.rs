//! Request extractors that fail through [`ApiError`].
//!
//! actix's own `web::Json` reports a type error without saying where it happened; clients need
//! the JSON pointer of the bad field. [`Json`] reads the body itself (checking the content type
//! and the size limit first) and deserialises with `serde_path_to_error`, so every failure carries
//! its pointer; [`Query`] does the same for query strings and [`path_config`] maps path errors.
//! This module owns no domain rules: range checks happen when a request is converted into
//! engine types.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpRequest};
use futures_core::Stream;
use serde::de::DeserializeOwned;

use super::problem::ApiError;
use crate::scenario::document::{self, Syntax};

/// The largest request body accepted, in bytes; configured per app.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl Default for BodyLimit {
    fn default() -> Self {
        Self(256 * 1024)
    }
}

/// The longest a request body may take to arrive, once its headers have (actix's
/// `client_request_timeout` covers the headers); configured per app.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

impl Default for BodyTimeout {
    fn default() -> Self {
        Self(Duration::from_secs(10))
    }
}

/// A request body of type `T`, with pointer-precise errors: JSON, or TOML when the content type
/// is `application/toml` (the plan files `hwcost check` reads, pasted into the dashboard), read
/// by the same [`document`] rules either way.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().copied().unwrap_or_default().0;
        Box::pin(body_of(req, payload, limit))
    }
}

/// [`Json`] for bodies that carry whole files (`POST /v1/calibrate`'s benchmark results): the
/// import route's limit ([`super::import::ImportLimit`]) instead of the body limit.
#[derive(Debug)]
pub struct FileJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for FileJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<super::import::ImportLimit>().copied().unwrap_or_default().0;
        let body = body_of(req, payload, limit);
        Box::pin(async move { body.await.map(|Json(t)| FileJson(t)) })
    }
}

/// Reads and parses a body of at most `limit` bytes (JSON, or TOML by media type).
fn body_of<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> impl Future<Output = Result<Json<T>, ApiError>> + 'static {
    let media_type = media_type(req);
    let is_toml = media_type.as_deref() == Some("application/toml");
    let is_json = media_type.is_some_and(|m| is_json(&m));
    let media = describe_media_type(req);
    let body = read_body(req, payload, limit);
    async move {
        if is_toml {
            let body = body.await?;
            let text =
                std::str::from_utf8(&body).map_err(|_| ApiError::field("", "a TOML document must be UTF-8 text"))?;
            return Ok(Json(document::parse(text, Syntax::Toml)?));
        }
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(media));
        }
        let body = body.await?;
        // serde would read a struct from an array of its fields; every body here is an object.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(match parse_json::<serde_json::Value>(&body) {
                Err(malformed) => malformed,
                Ok(_) => ApiError::field("", "the request body must be a JSON object"),
            });
        }
        parse_json(&body).map(Json)
    }
}

/// Reads the whole body, refusing more than `limit` bytes (by `Content-Length` up front, and
/// while streaming for chunked bodies) and bodies slower than the app's [`BodyTimeout`].
pub fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> impl Future<Output = Result<Bytes, ApiError>> + 'static {
    let too_large = declared_too_large(req, limit);
    let timeout = body_timeout(req);
    let expected = declared_length(req);
    let payload = web::Payload::from_request(req, payload);
    async move {
        if too_large {
            return Err(ApiError::PayloadTooLarge { limit_bytes: limit });
        }
        let payload = payload.await.map_err(|e| ApiError::internal(format!("payload: {e}")))?;
        read_limited(payload, limit, timeout, expected).await
    }
}

/// The app's body timeout.
pub fn body_timeout(req: &HttpRequest) -> Duration {
    req.app_data::<BodyTimeout>().copied().unwrap_or_default().0
}

/// Whether the declared `Content-Length` already exceeds `limit`.
pub fn declared_too_large(req: &HttpRequest, limit: usize) -> bool {
    declared_length(req).is_some_and(|length| length > limit)
}

/// Collects a payload, failing with 413 once it passes `limit` bytes and with 408 when it has
/// not all arrived within `timeout` (a client that sends headers and then stalls would
/// otherwise hold its connection, and delay shutdown, for ever). `expected_bytes` (the declared
/// length, if any) sizes the buffer once instead of growing it by doubling.
pub async fn read_limited(
    payload: web::Payload,
    limit: usize,
    timeout: Duration,
    expected_bytes: Option<usize>,
) -> Result<Bytes, ApiError> {
    let body = read_limited_with(payload, limit, timeout, expected_bytes, |_| true).await?;
    body.ok_or_else(|| ApiError::internal("an unbudgeted read was refused"))
}

/// [`read_limited`], asking `admit` with the bytes the body would hold after each chunk;
/// `Ok(None)` when it refuses (the caller says why).
pub async fn read_limited_with(
    mut payload: web::Payload,
    limit: usize,
    timeout: Duration,
    expected_bytes: Option<usize>,
    mut admit: impl FnMut(usize) -> bool,
) -> Result<Option<Bytes>, ApiError> {
    let read = async move {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
            let chunk = chunk.map_err(|error| {
                ApiError::from(crate::scenario::Error::MalformedJson {
                    detail: format!("could not read the body: {error}"),
                    pointer: String::new(),
                })
            })?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge { limit_bytes: limit });
            }
            if !admit(body.len() + chunk.len()) {
                return Ok(None);
            }
            if body.is_empty() {
                // Reserved once the first bytes have arrived (and are admitted), not before:
                // a declared length costs nothing until the body comes.
                body.reserve(expected_bytes.unwrap_or(0).clamp(chunk.len(), limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body.freeze()))
    };
    let seconds = timeout.as_secs().max(1);
    actix_web::rt::time::timeout(timeout, read).await.map_err(|_| ApiError::BodyTimeout { seconds })?
}

/// The declared `Content-Length`, if any.
pub fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

/// The request's media type without parameters, lowercase (`application/json`).
pub fn media_type(req: &HttpRequest) -> Option<String> {
    let text = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(text.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// `application/json` or any `application/*+json`.
pub fn is_json(media_type: &str) -> bool {
    media_type == "application/json" || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

/// The content type as sent, quoted and escaped, for error messages.
pub fn describe_media_type(req: &HttpRequest) -> String {
    match req.headers().get(header::CONTENT_TYPE) {
        None => "none".into(),
        Some(value) => format!(
            "\"{}\"",
            String::from_utf8_lossy(value.as_bytes()).chars().take(100).collect::<String>().escape_default()
        ),
    }
}

/// Deserialises `bytes` as JSON into `T`, mapping every failure to a pointer-carrying error
/// and refusing data after the document (see [`crate::scenario::document::from_json_slice`]).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    Ok(crate::scenario::document::from_json_slice(bytes)?)
}

/// A query string of type `T`, with pointer-precise errors (`/<parameter>`).
///
/// actix's `web::Query` uses serde_urlencoded, whose errors do not name the parameter; going
/// through `serde_path_to_error` recovers it.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

/// Query parameters no endpoint reads and every endpoint accepts: `_` is the cache-buster that
/// browser libraries (jQuery, axios with `cache: false`) append.
pub const IGNORED_QUERY_PARAMETERS: &[&str] = &["_"];

/// Deserialises a URL query string into `T`. A parameter given twice is refused at its own
/// pointer (which value would it mean?), as is an unknown one, except those in
/// [`IGNORED_QUERY_PARAMETERS`]. Enumerated values are case-insensitive (`kind=GPU`).
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let mut seen = std::collections::HashSet::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if IGNORED_QUERY_PARAMETERS.contains(&name.as_ref()) {
            continue;
        }
        if !seen.insert(name.clone()) {
            return Err(ApiError::field(query_pointer(&name), "query parameter given more than once; give it once"));
        }
        pairs.push((name.into_owned(), value.into_owned()));
    }
    // One rewrite per enumerated parameter at most.
    for _ in 0..=pairs.len() {
        let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        let error = match serde_path_to_error::deserialize(deserializer) {
            Ok(parsed) => return Ok(parsed),
            Err(error) => error,
        };
        let name = error.path().to_string();
        let message = error.inner().to_string();
        if let Some(canonical) = crate::scenario::document::canonical_variant(&message)
            && let Some(pair) = pairs.iter_mut().find(|(n, _)| *n == name)
        {
            pair.1 = canonical;
            continue;
        }
        let mut pointer = super::problem::to_pointer(&name);
        let detail = crate::scenario::document::clean_serde_message(&message);
        // serde reports an unknown parameter at the root; it belongs at its own name.
        if pointer.is_empty()
            && let Some(name) = detail.strip_prefix("unknown field `").and_then(|rest| rest.split('`').next())
        {
            pointer = query_pointer(name);
        }
        return Err(ApiError::field(pointer, format!("query parameter: {detail}")));
    }
    Err(ApiError::field("", "query parameter: too many values to read"))
}

/// The pointer of query parameter `name` (clipped, escaped as RFC 6901 asks).
fn query_pointer(name: &str) -> String {
    let name: String = name.chars().take(100).collect();
    format!("/{}", name.replace('~', "~0").replace('/', "~1"))
}

/// Path-segment errors become 400 problems.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _req| ApiError::field("", error.to_string()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Filters {
        vendor: Option<String>,
        min_memory_gib: Option<f64>,
    }

    #[test]
    fn repeated_and_unknown_query_parameters_are_refused_at_their_pointer() {
        let problem = parse_query::<Filters>("vendor=a&vendor=b").unwrap_err().problem();
        assert_eq!(problem.errors[0].pointer, "/vendor");
        assert!(problem.detail.contains("more than once"), "{}", problem.detail);
        assert!(!problem.detail.contains("request body"), "{}", problem.detail);
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Gpu,
        Cpu,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Kinds {
        kind: Option<Kind>,
    }

    #[test]
    fn enumerated_values_are_case_insensitive_and_the_cache_buster_is_ignored() {
        let parsed = parse_query::<Kinds>("kind=GPU&_=1733140000000").unwrap();
        assert_eq!(parsed.kind, Some(Kind::Gpu));
        let problem = parse_query::<Kinds>("kind=tpu").unwrap_err().problem();
        assert_eq!(problem.errors[0].pointer, "/kind");
        let problem = parse_query::<Kinds>("colour=red").unwrap_err().problem();
        assert_eq!(problem.errors[0].pointer, "/colour");
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let error = parse_query::<Filters>("vendor=nvidia&min_memory_gib=lots").unwrap_err();
        let problem = error.problem();
        assert_eq!(problem.status, 400);
        assert_eq!(problem.errors[0].pointer, "/min_memory_gib");
    }
}
