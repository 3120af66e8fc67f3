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

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
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
}

/// Every error the API can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not syntactically valid JSON.
    #[error("request body is not valid JSON: {detail}")]
    MalformedJson {
        /// The parser's message, with line and column.
        detail: String,
        /// Where parsing stopped, as a pointer into what was parsed so far.
        pointer: String,
    },
    /// The request is well-formed but some fields are missing, mistyped or out of range.
    #[error("{}", invalid_summary(.0))]
    InvalidRequest(Vec<FieldError>),
    /// The body is not `application/json`.
    #[error("content type must be application/json, got {0}")]
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
    /// An id names no catalog entry.
    #[error("unknown {kind} \"{id}\"{}", suggestion(.suggestions))]
    UnknownId {
        /// What kind of entry: `hardware` or `model`.
        kind: &'static str,
        /// The id the client sent.
        id: String,
        /// Close matches, best first.
        suggestions: Vec<String>,
    },
    /// The request is valid JSON of the right shape but cannot be processed (for example an
    /// unsupported model type or a file that is not what it claims to be).
    #[error("{detail}")]
    Unprocessable {
        /// What could not be processed.
        detail: String,
        /// The field it came from, when there is one.
        pointer: Option<String>,
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
    /// A one-at-a-time operation is already running; try again after `retry_after_s`.
    #[error("{detail}")]
    Busy {
        /// What is running.
        detail: String,
        /// Seconds after which a retry is likely to succeed.
        retry_after_s: u32,
    },
    /// A bug. The detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

use crate::scenario::{invalid_summary, suggestion};

impl From<crate::scenario::Error> for ApiError {
    fn from(error: crate::scenario::Error) -> Self {
        use crate::scenario::Error as E;
        match error {
            E::MalformedJson { detail, pointer } => Self::MalformedJson { detail, pointer },
            E::InvalidRequest(errors) => Self::InvalidRequest(errors),
            E::UnknownId { kind, id, suggestions } => Self::UnknownId { kind, id, suggestions },
            E::Unprocessable { detail, pointer } => Self::Unprocessable { detail, pointer },
            E::Layout(e) => Self::Unprocessable { detail: e.detail, pointer: Some(e.pointer) },
            E::Internal(detail) => Self::Internal(detail),
        }
    }
}

impl ApiError {
    /// A single-field validation error.
    pub fn field(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::InvalidRequest(vec![FieldError::new(pointer, detail)])
    }

    /// The stable machine code of this error, also the last segment of its `type` URI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson { .. } => "malformed-json",
            Self::InvalidRequest(_) => "invalid-request",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::RouteNotFound(_) => "route-not-found",
            Self::MethodNotAllowed { .. } => "method-not-allowed",
            Self::UnknownId { .. } => "unknown-id",
            Self::Unprocessable { .. } => "unprocessable",
            Self::NotReady(_) => "not-ready",
            Self::Disabled(_) => "disabled",
            Self::Unauthorized => "unauthorized",
            Self::Busy { .. } => "busy",
            Self::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::MalformedJson { .. } => "Malformed JSON",
            Self::InvalidRequest(_) => "Invalid request",
            Self::UnsupportedMediaType(_) => "Unsupported media type",
            Self::PayloadTooLarge { .. } => "Payload too large",
            Self::RouteNotFound(_) => "Not found",
            Self::MethodNotAllowed { .. } => "Method not allowed",
            Self::UnknownId { .. } => "Unknown id",
            Self::Unprocessable { .. } => "Unprocessable content",
            Self::NotReady(_) => "Not ready",
            Self::Disabled(_) => "Disabled on this server",
            Self::Unauthorized => "Unauthorized",
            Self::Busy { .. } => "Busy",
            Self::Internal(_) => "Internal error",
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::MalformedJson { detail, pointer } => vec![FieldError::new(pointer.clone(), detail.clone())],
            Self::InvalidRequest(errors) => errors.clone(),
            Self::Unprocessable { detail, pointer: Some(pointer) } => {
                vec![FieldError::new(pointer.clone(), detail.clone())]
            }
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
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MalformedJson { .. } | Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RouteNotFound(_) | Self::UnknownId { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Disabled(_) => StatusCode::FORBIDDEN,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(detail) = self {
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
            Self::Busy { retry_after_s, .. } => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after_s)));
            }
            _ => {}
        }
        // Serialising a struct of strings cannot fail; fall back to a fixed body rather than panic.
        let body = serde_json::to_string(&self.problem())
            .unwrap_or_else(|_| r#"{"title":"Internal error","status":500,"code":"internal"}"#.to_owned());
        response.body(body)
    }
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
            ApiError::MalformedJson { detail: String::new(), pointer: String::new() },
            ApiError::InvalidRequest(vec![]),
            ApiError::UnsupportedMediaType(String::new()),
            ApiError::PayloadTooLarge { limit_bytes: 1 },
            ApiError::RouteNotFound(String::new()),
            ApiError::MethodNotAllowed { method: String::new(), allowed: vec![] },
            ApiError::UnknownId { kind: "model", id: String::new(), suggestions: vec![] },
            ApiError::Unprocessable { detail: String::new(), pointer: None },
            ApiError::NotReady(String::new()),
            ApiError::Internal(String::new()),
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
        let error = ApiError::UnknownId {
            kind: "hardware",
            id: "h100".into(),
            suggestions: vec!["nvidia-h100-sxm-80gb".into(), "nvidia-h100-pcie-80gb".into()],
        };
        assert_eq!(
            error.to_string(),
            "unknown hardware \"h100\"; did you mean nvidia-h100-sxm-80gb or nvidia-h100-pcie-80gb?"
        );
    }

    #[test]
    fn internal_details_are_not_sent() {
        let problem = ApiError::Internal("secret path /etc".into()).problem();
        assert!(!problem.detail.contains("secret"));
    }
}
