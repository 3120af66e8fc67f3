//! Bodies a handler did not read close the connection instead of being drained.
//!
//! When a handler answers without reading the whole request body (a 408 for a stalled body,
//! a 413, a 404 for a POST nobody serves), actix-http keeps a *chunked* body's connection open
//! to read and discard the rest, so that it can be reused; a client that then sends nothing
//! holds the connection, and delays shutdown, for ever (a `Content-Length` body is closed after
//! a short linger instead). This middleware keeps the request's payload alive until the answer
//! is written: actix then sees an unread body still wanted by the application, answers with
//! `Connection: close` and closes after `client_disconnect_timeout`, for both framings. Bodies
//! read to the end are unaffected, so keep-alive works as before.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::HttpMessage;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures_core::Stream;

/// The request's payload, shared between the handler (which reads it) and the response body
/// (which only keeps it alive).
struct Shared(Rc<RefCell<Payload>>);

impl Stream for Shared {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut payload = self.0.borrow_mut();
        Pin::new(&mut *payload).poll_next(cx)
    }
}

/// A response body that holds the request payload until it has been written.
pub struct Holding {
    body: BoxBody,
    _payload: Rc<RefCell<Payload>>,
}

impl MessageBody for Holding {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

/// Middleware (outermost): see the module documentation.
pub async fn close_instead_of_draining<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<Holding>, actix_web::Error> {
    let payload = Rc::new(RefCell::new(req.take_payload()));
    let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(Shared(payload.clone()));
    req.set_payload(Payload::from(stream));
    let response = next.call(req).await?;
    Ok(response.map_body(|_, body| Holding { body: body.boxed(), _payload: payload }))
}
