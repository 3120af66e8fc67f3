//! The one place that turns errors into HTTP.
//!
//! Every failure a client can see is an [`ApiError`]; its [`actix_web::ResponseError`] impl renders
//! an RFC 9457 `application/problem+json` body with a stable machine `code`. Extractor failures
//! (JSON body, query, path) and the fallbacks for unknown routes and methods are routed through
//! the same type, so no response body anywhere is built by hand.
//!
//! This module must not know about any particular endpoint: handlers return `ApiError`, and the
//! mapping from variant to status and code lives only in [`ApiError::code`] and
//! [`ResponseError::status_code`].

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

pub use crate::scenario::FieldError;

/// An RFC 9457 problem document, as sent on the wire.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:hwcost:problem:invalid-request",
    "title": "Invalid request",
    "status": 400,
    "detail": "1 field is invalid",
    "code": "invalid-request",
    "errors": [{"pointer": "/min_memory_gib", "detail": "must be a number from 0 to 1000000"}]
}))]
pub struct Problem {
    /// A URI naming the problem type; stable per `code`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// A stable machine-readable code; clients switch on this, not on `title`.
    pub code: String,
    /// Field-level errors, each with the JSON pointer of the bad value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// An unknown id in the path (`GET /v1/models/{id}`), as sent; in a body the field error
    /// carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_id: Option<String>,
    /// Catalog ids close to that unknown id, best first; absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
}

/// Every error the API can return: a request that cannot become a scenario (the domain's
/// [`crate::scenario::Error`], with its pointers), or one of HTTP's own failures.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request cannot become a scenario: malformed, invalid, unknown id, impossible, or a
    /// bug behind it.
    #[error(transparent)]
    Request(#[from] crate::scenario::Error),
    /// The body is neither `application/json` nor `application/toml`.
    #[error("content type must be application/json (or application/toml), got {0}")]
    UnsupportedMediaType(String),
    /// The body is larger than the configured limit.
    #[error("request body exceeds the limit of {limit_bytes} bytes")]
    PayloadTooLarge {
        /// The configured limit.
        limit_bytes: usize,
    },
    /// No route matches the path.
    #[error("no route matches {0}")]
    RouteNotFound(String),
    /// A route matches the path but not the method.
    #[error("method {method} is not allowed here; allowed: {}", .allowed.join(", "))]
    MethodNotAllowed {
        /// The method the client used.
        method: String,
        /// The methods the path accepts.
        allowed: Vec<String>,
    },
    /// The catalog is not loaded yet.
    #[error("the service is not ready: {0}")]
    NotReady(String),
    /// The operation exists but this server was started without enabling it.
    #[error("{0}")]
    Disabled(String),
    /// The operation needs a bearer token and the request had none, or the wrong one.
    #[error("this operation needs the bearer token the server was started with")]
    Unauthorized,
    /// The body did not arrive within the server's body timeout (a stalled or very slow
    /// client); the connection is closed after this answer.
    #[error("the request body did not arrive within {seconds} s")]
    BodyTimeout {
        /// The configured timeout.
        seconds: u64,
    },
    /// A cross-origin request the CORS policy refuses (origin, method or header not allowed).
    #[error("cross-origin request refused: {0}")]
    Cors(String),
    /// An error raised by the HTTP stack rather than by hwcost (rendered here so that every
    /// error body is still a problem document).
    #[error("{detail}")]
    Http {
        /// The status the stack chose.
        status: StatusCode,
        /// Its reason phrase; the stack's own text is not sent (it may quote the request).
        detail: String,
    },
    /// Every slot for heavy work stayed busy (see [`super::admission`]); try again after
    /// `retry_after_s`.
    #[error("{detail}")]
    Overloaded {
        /// What did not start.
        detail: String,
        /// Seconds after which a retry is likely to succeed.
        retry_after_s: u32,
    },
    /// A one-at-a-time operation is already running; try again after `retry_after_s`.
    #[error("{detail}")]
    Busy {
        /// What is running.
        detail: String,
        /// Seconds after which a retry is likely to succeed.
        retry_after_s: u32,
    },
}

use crate::scenario::Error;

impl ApiError {
    /// A single-field validation error.
    pub fn field(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::field(pointer, detail).into()
    }

    /// A bug. The detail is logged, never sent.
    pub fn internal(detail: impl Into<String>) -> Self {
        Error::Internal(detail.into()).into()
    }

    /// The stable machine code of this error, also the last segment of its `type` URI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Request(Error::MalformedJson { .. }) => "malformed-json",
            Self::Request(Error::InvalidRequest(_)) => "invalid-request",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::RouteNotFound(_) => "route-not-found",
            Self::MethodNotAllowed { .. } => "method-not-allowed",
            Self::Request(Error::UnknownId { .. }) => "unknown-id",
            Self::Request(Error::Unprocessable { .. } | Error::Layout(_)) => "unprocessable",
            Self::NotReady(_) => "not-ready",
            Self::Disabled(_) => "disabled",
            Self::Unauthorized => "unauthorized",
            Self::Busy { .. } => "busy",
            Self::Overloaded { .. } => "overloaded",
            Self::BodyTimeout { .. } => "request-timeout",
            Self::Cors(_) => "cors-refused",
            Self::Http { .. } => "http-error",
            Self::Request(Error::Internal(_)) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::Request(Error::MalformedJson { .. }) => "Malformed JSON",
            Self::Request(Error::InvalidRequest(_)) => "Invalid request",
            Self::UnsupportedMediaType(_) => "Unsupported media type",
            Self::PayloadTooLarge { .. } => "Payload too large",
            Self::RouteNotFound(_) => "Not found",
            Self::MethodNotAllowed { .. } => "Method not allowed",
            Self::Request(Error::UnknownId { .. }) => "Unknown id",
            Self::Request(Error::Unprocessable { .. } | Error::Layout(_)) => "Unprocessable content",
            Self::NotReady(_) => "Not ready",
            Self::Disabled(_) => "Disabled on this server",
            Self::Unauthorized => "Unauthorized",
            Self::Busy { .. } => "Busy",
            Self::Overloaded { .. } => "Overloaded",
            Self::BodyTimeout { .. } => "Request timeout",
            Self::Cors(_) => "Cross-origin request refused",
            Self::Http { .. } => "HTTP error",
            Self::Request(Error::Internal(_)) => "Internal error",
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Request(e) => e.field_errors(),
            _ => Vec::new(),
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        Problem {
            type_uri: format!("urn:hwcost:problem:{}", self.code()),
            title: self.title().to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            code: self.code().to_owned(),
            errors: self.field_errors(),
            unknown_id: match self {
                Self::Request(Error::UnknownId { pointer: None, id, .. }) => Some(id.clone()),
                _ => None,
            },
            suggestions: match self {
                Self::Request(Error::UnknownId { pointer: None, suggestions, .. }) => suggestions.clone(),
                _ => Vec::new(),
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Request(Error::MalformedJson { .. } | Error::InvalidRequest(_)) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RouteNotFound(_) | Self::Request(Error::UnknownId { .. }) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Request(Error::Unprocessable { .. } | Error::Layout(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotReady(_) | Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Disabled(_) => StatusCode::FORBIDDEN,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::Cors(_) => StatusCode::BAD_REQUEST,
            Self::Http { status, .. } => *status,
            Self::Request(Error::Internal(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Request(Error::Internal(detail)) = self {
            tracing::error!(%detail, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Self::MethodNotAllowed { allowed, .. } = self
            && let Ok(value) = HeaderValue::from_str(&allowed.join(", "))
        {
            response.insert_header((header::ALLOW, value));
        }
        match self {
            Self::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            Self::Busy { retry_after_s, .. } | Self::Overloaded { retry_after_s, .. } => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after_s)));
            }
            // The rest of the body may still be on its way; the connection cannot be reused.
            Self::BodyTimeout { .. } => {
                response.force_close();
            }
            _ => {}
        }
        // Serialising a struct of strings cannot fail; fall back to a fixed body rather than panic.
        let body = serde_json::to_string(&self.problem())
            .unwrap_or_else(|_| r#"{"title":"Internal error","status":500,"code":"internal"}"#.to_owned());
        response.body(body)
    }
}

/// Middleware (outermost but one): every error response leaves as a problem document, also
/// those raised by the HTTP stack around hwcost (actix-cors refusing a preflight answers
/// text/plain otherwise). Responses from [`ApiError`] pass untouched.
pub async fn render_foreign_errors<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let response = next.call(req).await?;
    let foreign = match response.response().error() {
        Some(error) if error.as_error::<ApiError>().is_none() => {
            Some(match error.as_error::<actix_cors::CorsError>() {
                Some(cors) => ApiError::Cors(cors.to_string()),
                None => {
                    let status = response.status();
                    ApiError::Http { status, detail: status.canonical_reason().unwrap_or("error").to_owned() }
                }
            })
        }
        _ => None,
    };
    Ok(match foreign {
        Some(error) => {
            let (request, _) = response.into_parts();
            ServiceResponse::new(request, error.error_response()).map_into_right_body()
        }
        None => response.map_into_left_body(),
    })
}

/// A JSON deserialisation failure as the problem it means (see [`crate::scenario::document`]).
pub fn from_json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    crate::scenario::document::from_json_error(error).into()
}

pub use crate::scenario::document::to_pointer;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_follow_rfc_6901() {
        for (path, pointer) in [
            (".", ""),
            ("devices", "/devices"),
            ("parallelism.tensor", "/parallelism/tensor"),
            ("requests[3].model", "/requests/3/model"),
            ("a[0][1]", "/a/0/1"),
            ("odd~key", "/odd~0key"),
        ] {
            assert_eq!(to_pointer(path), pointer, "path {path}");
        }
    }

    #[test]
    fn every_variant_has_a_distinct_code_and_a_client_or_server_status() {
        let all = [
            Error::MalformedJson { detail: String::new(), pointer: String::new() }.into(),
            Error::InvalidRequest(vec![]).into(),
            ApiError::UnsupportedMediaType(String::new()),
            ApiError::PayloadTooLarge { limit_bytes: 1 },
            ApiError::RouteNotFound(String::new()),
            ApiError::MethodNotAllowed { method: String::new(), allowed: vec![] },
            Error::UnknownId { kind: "model", id: String::new(), suggestions: vec![], pointer: None }.into(),
            Error::Unprocessable { detail: String::new(), pointer: None }.into(),
            ApiError::NotReady(String::new()),
            ApiError::BodyTimeout { seconds: 1 },
            ApiError::Cors(String::new()),
            ApiError::Http { status: StatusCode::BAD_REQUEST, detail: String::new() },
            ApiError::internal(""),
        ];
        let mut codes: Vec<_> = all.iter().map(ApiError::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for error in &all {
            let problem = error.problem();
            assert!(problem.type_uri.ends_with(error.code()));
            assert!(problem.status >= 400);
        }
    }

    #[test]
    fn unknown_id_suggests_close_matches() {
        let error = ApiError::from(Error::UnknownId {
            kind: "hardware",
            id: "h100".into(),
            suggestions: vec!["nvidia-h100-sxm-80gb".into(), "nvidia-h100-pcie-80gb".into()],
            pointer: None,
        });
        assert_eq!(
            error.to_string(),
            "unknown hardware \"h100\"; did you mean nvidia-h100-sxm-80gb or nvidia-h100-pcie-80gb?"
        );
        // The same suggestions as data, for a client to offer as choices: at the top level for
        // an id in the path, in the field error for an id in a body.
        let problem = error.problem();
        assert_eq!(problem.unknown_id.as_deref(), Some("h100"));
        assert_eq!(problem.suggestions, ["nvidia-h100-sxm-80gb", "nvidia-h100-pcie-80gb"]);
        let at_field = ApiError::from(Error::UnknownId {
            kind: "hardware",
            id: "h100".into(),
            suggestions: vec!["nvidia-h100-sxm-80gb".into()],
            pointer: Some("/hardware".into()),
        })
        .problem();
        assert!(at_field.suggestions.is_empty());
        assert_eq!(at_field.errors[0].pointer, "/hardware");
        assert_eq!(at_field.errors[0].unknown_id.as_deref(), Some("h100"));
        assert_eq!(at_field.errors[0].suggestions, ["nvidia-h100-sxm-80gb"]);
    }

    #[test]
    fn internal_details_are_not_sent() {
        let problem = ApiError::internal("secret path /etc").problem();
        assert!(!problem.detail.contains("secret"));
    }
}
