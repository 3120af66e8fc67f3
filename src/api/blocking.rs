//! CPU-bound work off the HTTP workers.
//!
//! An actix worker is one thread serving many connections; a request that computes for
//! milliseconds on it delays every other request on that worker (`/healthz` included). Plans,
//! batches and imports (a GGUF header may list a million tensors) run on actix's blocking pool
//! instead.

use actix_web::web;

use super::problem::ApiError;

/// Runs `work` on the blocking pool; `what` names it in the (internal) error if the pool fails.
pub async fn off_worker<T, E>(
    what: &'static str,
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    web::block(work).await.map_err(|e| ApiError::internal(format!("{what} task: {e}")))?.map_err(Into::into)
}
