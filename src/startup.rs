//! Builds the HTTP server: binds the listener (port 0 works, and the real port is reported),
//! assembles middleware and routes, and returns a server that drains gracefully on SIGINT and
//! SIGTERM: `/readyz` answers 503 for the drain time while requests are still served, then the
//! server stops accepting, finishes in-flight requests (up to the shutdown timeout) and exits.
//!
//! Middleware, outermost first: unread bodies close their connection, request id, security headers, problem documents for the
//! stack's own errors, CORS, the request span and access log, the unknown-method guard, the
//! metrics, the count of requests in flight (what the shutdown waits on). Unknown methods are
//! refused before the metrics so they cannot create series.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::decisions::BatchLimits;
use crate::api::drain::{Drain, count_in_flight};
use crate::api::extract::{BodyLimit, BodyTimeout, path_config};
use crate::api::fallback::{RouteTable, UnknownMethods, head_as_get, not_found, refuse_unknown_methods};
use crate::api::import::{ImportLimit, ImportSlots};
use crate::api::problem::render_foreign_errors;
use crate::api::request_id::{AccessLog, RootSpan, assign};
use crate::api::state::AppState;
use crate::api::unread_body::close_instead_of_draining;
use crate::api::{self, headers, routes};
use crate::catalog::Catalog;

/// The default largest request body, bytes; the CLI reads request files and standard input up
/// to the same size.
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;

/// Everything needed to start serving.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to bind, `host:port`; port 0 picks a free port.
    pub addr: String,
    /// The catalog to serve.
    pub catalog: Arc<Catalog>,
    /// Origins allowed by CORS (`*` for any); empty allows none.
    pub cors_origins: Vec<String>,
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// Largest accepted body for `POST /v1/models/import` (binary headers can be large).
    pub import_limit_bytes: usize,
    /// Worker threads; `None` uses one per physical core.
    pub workers: Option<usize>,
    /// Bearer token that enables `POST /v1/host/benchmarks`; `None` keeps it disabled.
    pub benchmark_token: Option<String>,
    /// Most configurations one `POST /v1/plan` may search (larger spaces are a 422).
    pub plan_max_configurations: u64,
    /// Most items in one `POST /v1/estimate/batch`.
    pub batch_max_items: usize,
    /// Most `POST /v1/estimate/batch` computed or sent at once (one more is a 429).
    pub batch_concurrency: usize,
    /// Largest answer of one `POST /v1/estimate/batch`, bytes (larger is a 422 at `/items`).
    pub batch_max_output_bytes: usize,
    /// Longest a request body may take to arrive after its headers.
    pub body_timeout: Duration,
    /// After a shutdown signal, how long `/readyz` answers 503 while requests are still served,
    /// so load balancers stop routing here before the listener closes.
    pub drain: Duration,
    /// Longest wait for in-flight requests once the listener has closed.
    pub shutdown_timeout: Duration,
    /// Fraction of requests that write an access log line (server errors always do).
    pub access_log_sample_rate: f64,
}

impl Settings {
    /// The defaults of `hwcost serve` for `addr` and `catalog`.
    pub fn new(addr: impl Into<String>, catalog: Arc<Catalog>) -> Self {
        Self {
            addr: addr.into(),
            catalog,
            cors_origins: Vec::new(),
            body_limit_bytes: BODY_LIMIT_BYTES,
            import_limit_bytes: 64 * 1024 * 1024,
            workers: None,
            benchmark_token: None,
            plan_max_configurations: 2_000_000,
            batch_max_items: 1000,
            batch_concurrency: 2,
            batch_max_output_bytes: 32 * 1024 * 1024,
            body_timeout: Duration::from_secs(10),
            drain: Duration::ZERO,
            shutdown_timeout: Duration::from_secs(30),
            access_log_sample_rate: 0.01,
        }
    }
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    shutdown: Shutdown,
}

/// Starts the graceful shutdown of a server: drain, then stop. Cheap to clone.
#[derive(Clone)]
pub struct Shutdown {
    drain: Arc<Drain>,
    delay: Duration,
    timeout: Duration,
    server: ServerHandle,
}

/// How long no request may have been in flight (and none started) before the listener closes.
const SETTLED: Duration = Duration::from_millis(100);

impl Shutdown {
    /// Marks the server draining (`/readyz` answers 503), keeps serving for the drain time,
    /// waits until requests already sent (queued behind a busy worker, or in the listener's
    /// backlog) have been answered, then stops accepting and waits for in-flight requests.
    /// A second call while the first is under way changes nothing: an impatient second SIGTERM
    /// must not reset requests the first one promised to finish (SIGKILL is the way to stop at
    /// once).
    pub async fn begin(&self) {
        if !self.drain.begin() {
            tracing::info!("shutdown already under way; this signal changes nothing");
            return;
        }
        tracing::info!(drain_s = self.delay.as_secs_f64(), "shutdown requested: draining");
        actix_web::rt::time::sleep(self.delay).await;
        self.drain.settle(SETTLED, self.timeout).await;
        tracing::info!("no longer accepting connections; finishing in-flight requests");
        self.server.stop(true).await;
    }
}

/// Histogram buckets for request latency, seconds: 100 us to 10 s. Estimates take microseconds,
/// so the default buckets (5 ms and up) would put every request in the first one.
const LATENCY_BUCKETS_S: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Documentation routes served by utoipa-swagger-ui, outside the spec, for the 405 table.
const DOC_ROUTES: &[(&str, &str)] = &[("/openapi.json", "GET"), ("/docs", "GET"), ("/docs/{file}", "GET")];

impl Application {
    /// Binds `settings.addr` and prepares the server.
    pub fn build(settings: Settings) -> std::io::Result<Self> {
        let listener = TcpListener::bind(&settings.addr)?;
        let port = listener.local_addr()?.port();
        let timeout = settings.shutdown_timeout;
        let (server, drain, delay) = run(listener, settings)?;
        let shutdown = Shutdown { drain, delay, timeout, server: server.handle() };
        Ok(Self { port, server, shutdown })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The handle that starts a graceful shutdown (what SIGTERM does).
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves until SIGINT or SIGTERM (or the [`Shutdown`] handle) stops it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let shutdown = self.shutdown.clone();
        actix_web::rt::spawn(async move {
            let _ = actix_web::rt::signal::ctrl_c().await;
            shutdown.begin().await;
        });
        #[cfg(unix)]
        {
            use actix_web::rt::signal::unix::{SignalKind, signal};
            if let Ok(mut terminate) = signal(SignalKind::terminate()) {
                let shutdown = self.shutdown.clone();
                actix_web::rt::spawn(async move {
                    // The first SIGTERM drains; later ones are logged and change nothing.
                    while terminate.recv().await.is_some() {
                        let shutdown = shutdown.clone();
                        actix_web::rt::spawn(async move { shutdown.begin().await });
                    }
                });
            }
        }
        self.server.await
    }

    /// The server future, for callers that spawn it.
    pub fn into_server(self) -> Server {
        self.server
    }
}

fn unknown_methods(registry: &prometheus::Registry) -> std::io::Result<UnknownMethods> {
    let counter = prometheus::IntCounter::new(
        "hwcost_http_requests_unknown_method_total",
        "Requests refused because their method is not an HTTP method (not labelled by method)",
    )
    .map_err(std::io::Error::other)?;
    registry.register(Box::new(counter.clone())).map_err(std::io::Error::other)?;
    Ok(UnknownMethods(counter))
}

fn metrics(registry: &prometheus::Registry) -> std::io::Result<PrometheusMetrics> {
    let build_info = prometheus::IntGaugeVec::new(
        prometheus::Opts::new("hwcost_build_info", "Build information; always 1"),
        &["version"],
    )
    .map_err(std::io::Error::other)?;
    build_info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
    registry.register(Box::new(build_info)).map_err(std::io::Error::other)?;
    PrometheusMetricsBuilder::new("hwcost")
        .registry(registry.clone())
        .buckets(LATENCY_BUCKETS_S)
        .mask_unmatched_patterns("UNMATCHED")
        .build()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST"])
        .allowed_headers(["content-type", "x-request-id", "authorization"])
        .expose_headers(["x-request-id"])
        .max_age(3600);
    for origin in origins {
        cors = if origin == "*" { cors.allow_any_origin() } else { cors.allowed_origin(origin) };
    }
    cors
}

/// `/docs` without the slash: Swagger UI's relative asset links need the trailing one.
async fn docs_redirect() -> actix_web::HttpResponse {
    actix_web::HttpResponse::PermanentRedirect().insert_header(("location", "/docs/")).finish()
}

fn run(listener: TcpListener, settings: Settings) -> std::io::Result<(Server, Arc<Drain>, Duration)> {
    let mut state = AppState::new(settings.catalog.clone(), settings.benchmark_token.clone());
    state.context.plan_max_configurations = settings.plan_max_configurations;
    state.context.batch_max_items = settings.batch_max_items;
    let prometheus = metrics(&state.registry)?;
    let unknown_methods = web::Data::new(unknown_methods(&state.registry)?);
    let access_log = web::Data::new(AccessLog::new(settings.access_log_sample_rate));
    let drain = state.drain.clone();
    let in_flight = web::Data::from(drain.clone());
    let body_timeout = BodyTimeout(settings.body_timeout);
    let batch_limits = BatchLimits::new(settings.batch_concurrency, settings.batch_max_output_bytes);
    let import_slots = ImportSlots::for_this_host(settings.import_limit_bytes);
    let state = web::Data::new(state);
    let pages: Vec<(&str, &str)> = DOC_ROUTES.iter().chain(api::dashboard::ROUTES).copied().collect();
    // The committed document, parsed once and cloned into each worker: building it would run
    // every example (plans and checks included) before the first request.
    let spec = api::published_openapi();
    let route_table = web::Data::new(RouteTable::from_document(&spec, &pages));
    let body_limit = BodyLimit(settings.body_limit_bytes);
    let import_limit = ImportLimit(settings.import_limit_bytes);
    let origins = settings.cors_origins.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(count_in_flight))
            .wrap(from_fn(head_as_get))
            .wrap(prometheus.clone())
            .wrap(from_fn(refuse_unknown_methods))
            .wrap(TracingLogger::<RootSpan>::new())
            .wrap(cors(&origins))
            .wrap(from_fn(render_foreign_errors))
            .wrap(from_fn(headers::secure))
            .wrap(from_fn(assign))
            .wrap(from_fn(close_instead_of_draining))
            .into_utoipa_app()
            .app_data(state.clone())
            .app_data(in_flight.clone())
            .app_data(route_table.clone())
            .app_data(body_limit)
            .app_data(body_timeout)
            .app_data(import_limit)
            .app_data(import_slots.clone())
            .app_data(batch_limits.clone())
            .app_data(unknown_methods.clone())
            .app_data(access_log.clone())
            .app_data(path_config())
            .configure(routes)
            // The finished document (ranges declared, examples attached, closed records opened
            // under allOf): registering the routes collects raw schemas again, and serving those
            // would let `/openapi.json` drift from `openapi/openapi.json`.
            .openapi_service(|_raw| {
                SwaggerUi::new("/docs/{_:.*}").external_url_unchecked("/openapi.json", spec.clone())
            })
            .route("/docs", web::get().to(docs_redirect))
            .route("/", web::get().to(api::dashboard::index))
            .route("/assets/{file:.*}", web::get().to(api::dashboard::asset))
            .default_service(web::to(not_found))
            .into_app()
    })
    // Signals are handled by `Application::run_until_stopped`, which drains first.
    .disable_signals()
    .shutdown_timeout(settings.shutdown_timeout.as_secs())
    .listen(listener)?;
    if let Some(workers) = settings.workers {
        server = server.workers(workers.max(1));
    }
    Ok((server.run(), drain, settings.drain))
}
