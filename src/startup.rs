//! Builds the HTTP server: binds the listener (port 0 works, and the real port is reported),
//! assembles middleware and routes, and returns a server that shuts down gracefully on SIGINT
//! and SIGTERM (actix finishes in-flight requests before stopping).

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::extract::{BodyLimit, path_config};
use crate::api::fallback::{RouteTable, not_found};
use crate::api::import::ImportLimit;
use crate::api::request_id::{RootSpan, assign};
use crate::api::state::AppState;
use crate::api::{self, routes};
use crate::catalog::Catalog;

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
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
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
        let server = run(listener, settings)?;
        Ok(Self { port, server })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until a shutdown signal (or the server handle) stops it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// The server future, for callers that spawn it.
    pub fn into_server(self) -> Server {
        self.server
    }
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

fn run(listener: TcpListener, settings: Settings) -> std::io::Result<Server> {
    let mut state = AppState::new(settings.catalog.clone(), settings.benchmark_token.clone());
    state.context.plan_max_configurations = settings.plan_max_configurations;
    state.context.batch_max_items = settings.batch_max_items;
    let prometheus = metrics(&state.registry)?;
    let state = web::Data::new(state);
    let route_table = web::Data::new(RouteTable::from_spec(&api::openapi(), DOC_ROUTES));
    let body_limit = BodyLimit(settings.body_limit_bytes);
    let import_limit = ImportLimit(settings.import_limit_bytes);
    let origins = settings.cors_origins.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(prometheus.clone())
            .wrap(TracingLogger::<RootSpan>::new())
            .wrap(cors(&origins))
            .wrap(from_fn(assign))
            .into_utoipa_app()
            .openapi(api::openapi())
            .app_data(state.clone())
            .app_data(route_table.clone())
            .app_data(body_limit)
            .app_data(import_limit)
            .app_data(path_config())
            .configure(routes)
            .openapi_service(|spec| SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", spec))
            .route("/docs", web::get().to(docs_redirect))
            .default_service(web::to(not_found))
            .into_app()
    })
    .shutdown_timeout(30)
    .listen(listener)?;
    if let Some(workers) = settings.workers {
        server = server.workers(workers.max(1));
    }
    Ok(server.run())
}
