//! The HTTP API: routes, handlers and the error mapping.
//!
//! This is the only module that knows about HTTP. Routes are declared once, in [`routes`];
//! `utoipa-actix-web` collects their OpenAPI paths and schemas as they are registered, so
//! [`openapi`] and the running app can never disagree. Handlers are thin: they extract a wire
//! request, parse it with [`crate::scenario`], answer it with [`crate::answer`], and errors leave
//! through [`problem::ApiError`].
//!
//! Table of contents:
//! - [`problem`]: RFC 9457 errors, the only place errors become HTTP.
//! - [`extract`]: body (JSON or TOML) and query extractors with JSON-pointer errors.
//! - [`listing`]: search and paging, the same on every list.
//! - [`fallback`]: 404 and 405 for paths and methods no route serves, unknown methods refused
//!   before they reach the metrics.
//! - [`headers`]: security and cache headers on every answer.
//! - [`unread_body`]: an unread request body closes its connection rather than holding it.
//! - [`blocking`]: CPU-bound work off the HTTP workers; [`admission`]: heavy requests (plans,
//!   checks, replays, batches) at most one per core, a bounded queue, 503 beyond it.
//! - [`drain`]: the draining flag `/readyz` reads during a graceful shutdown.
//! - [`request_id`]: request ids and per-request spans.
//! - [`ops`]: liveness, readiness, metrics.
//! - [`hardware`], [`models`], [`prices`], [`import`], [`discovery`] (engines, formats,
//!   families): the catalog endpoints.
//! - [`inference`], [`training`], [`serving`]: the estimates.
//! - [`decisions`]: checks, plans, batches and calibration.
//! - [`validation`]: the validation report.
//! - [`host`], [`benchmark_gate`]: this machine, its benchmarks and who may run them.
//! - [`examples`]: response examples of the document, made by running the real code.
//! - [`dashboard`]: the page at `/` (embedded HTML, CSS and JavaScript), a client of the API.
//! - [`state`]: what handlers share.

pub mod admission;
pub mod benchmark_gate;
pub mod blocking;
pub mod dashboard;
pub mod decisions;
pub mod discovery;
pub mod drain;
pub mod examples;
pub mod extract;
pub mod fallback;
pub mod hardware;
pub mod headers;
pub mod host;
pub mod import;
pub mod inference;
pub mod listing;
pub mod models;
pub mod ops;
pub mod prices;
pub mod problem;
pub mod request_id;
pub mod scaling;
pub mod serving;
pub mod state;
pub mod training;
pub mod unread_body;
pub mod validation;

use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

/// Document-level OpenAPI metadata; paths and schemas are added by [`routes`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hwcost",
        description = "Estimates what a model needs from hardware: memory, FLOPs, training time, inference latency, cost. Every error is an RFC 9457 application/problem+json document.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    components(schemas(problem::Problem, problem::FieldError, crate::answer::batch::BatchItem)),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Liveness, readiness and metrics"),
        (name = "catalog", description = "Hardware devices, models and their parameter anatomy"),
        (name = "estimates", description = "Inference and training estimates: memory, FLOPs, time, throughput, cost, energy"),
        (name = "validation", description = "How well the estimates match published measurements"),
        (name = "host", description = "The machine the service runs on"),
        (name = "decisions", description = "Capacity checks, deployment planning and batch estimates"),
    )
)]
struct ApiDoc;

/// The bearer scheme `POST /v1/host/benchmarks` declares.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, spec: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = spec.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// Registers every route. The single declaration of the API surface.
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(hardware::list)
        .service(hardware::get)
        .service(models::list)
        .service(discovery::engines)
        .service(discovery::formats)
        .service(discovery::networks)
        .service(discovery::families)
        .service(prices::devices)
        .service(prices::api)
        .service(import::import)
        .service(inference::estimate)
        .service(serving::estimate)
        .service(training::estimate)
        .service(scaling::estimate)
        .service(scaling::plan)
        .service(scaling::fits)
        .service(validation::report)
        .service(decisions::calibrate_handler)
        .service(decisions::check_handler)
        .service(decisions::plan_handler)
        .service(decisions::plan_training_handler)
        .service(decisions::batch_handler)
        .service(host::host)
        .service(host::benchmarks)
        .service(models::parameters)
        .service(models::get);
}

/// The OpenAPI document of [`routes`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut spec) =
        actix_web::App::new().into_utoipa_app().openapi(ApiDoc::openapi()).configure(routes).split_for_parts();
    spec.info.version = env!("CARGO_PKG_VERSION").to_owned();
    declare_ranges(&mut spec);
    open_all_of(&mut spec);
    examples::attach(&mut spec);
    spec
}

/// Turns an `allOf` made only of inline objects into one object: a `#[serde(flatten)]` field
/// (`ModelDetail`'s record) comes out of utoipa as nested `allOf`s of closed objects, which
/// generated clients read badly (openapi-python-client drops the nested members' fields) and
/// which, closed, would forbid the fields their siblings add. One open object says the same.
fn open_all_of(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{Object, Schema, SchemaType, Type};

    fn is_object(item: &RefOr<Schema>) -> bool {
        matches!(item, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Object))
    }
    fn merge(schema: &mut Schema) {
        let Schema::AllOf(all) = schema else { return };
        for item in &mut all.items {
            if let RefOr::T(member) = item {
                merge(member);
            }
        }
        if all.items.is_empty() || !all.items.iter().all(is_object) {
            return;
        }
        let mut merged = Object::with_type(Type::Object);
        for item in all.items.drain(..) {
            if let RefOr::T(Schema::Object(member)) = item {
                merged.properties.extend(member.properties);
                merged.required.extend(member.required);
                if merged.description.is_none() {
                    merged.description = member.description;
                }
            }
        }
        merged.description = all.description.take().or(merged.description);
        merged.example = all.example.take();
        merged.examples = std::mem::take(&mut all.examples);
        *schema = Schema::Object(merged);
    }
    for schema in spec.components.iter_mut().flat_map(|c| c.schemas.values_mut()) {
        if let RefOr::T(schema) = schema {
            merge(schema);
        }
    }
}

/// Writes every range of [`crate::scenario::range::DECLARED`] into the document: the runtime
/// checks and the schema read the same constants, so they cannot disagree.
fn declare_ranges(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::Number;
    use utoipa::openapi::schema::{ArrayItems, Schema};
    use utoipa::openapi::{RefOr, path::ParameterIn};

    use crate::scenario::range::{DECLARED, Place, Range};

    fn number(x: f64) -> Number {
        if x.fract() == 0.0 && x.abs() < 9.0e15 { Number::Int(x as isize) } else { Number::Float(x) }
    }
    fn apply(schema: &mut Schema, r: &Range) {
        if let Schema::Object(object) = schema {
            if r.exclusive_min {
                object.exclusive_minimum = Some(number(r.min));
                object.minimum = None;
            } else {
                object.minimum = Some(number(r.min));
            }
            object.maximum = Some(number(r.max));
        }
    }
    for d in DECLARED {
        match d.place {
            Place::Query => {
                let parameters = spec
                    .paths
                    .paths
                    .get_mut(d.schema)
                    .and_then(|item| item.get.as_mut())
                    .and_then(|op| op.parameters.as_mut());
                for p in parameters.into_iter().flatten() {
                    if let RefOr::T(p) = p
                        && p.name == d.property
                        && p.parameter_in == ParameterIn::Query
                        && let Some(RefOr::T(schema)) = p.schema.as_mut()
                    {
                        apply(schema, &d.range);
                    }
                }
            }
            Place::Property | Place::Items => {
                let property =
                    spec.components.as_mut().and_then(|c| c.schemas.get_mut(d.schema)).and_then(|s| match s {
                        RefOr::T(Schema::Object(object)) => object.properties.get_mut(d.property),
                        _ => None,
                    });
                match (property, d.place) {
                    (Some(RefOr::T(schema)), Place::Property) => apply(schema, &d.range),
                    (Some(RefOr::T(Schema::Array(array))), Place::Items) => {
                        if let ArrayItems::RefOrSchema(items) = &mut array.items
                            && let RefOr::T(schema) = items.as_mut()
                        {
                            apply(schema, &d.range);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The committed document, `openapi/openapi.json`, which a test keeps byte for byte equal to
/// [`openapi_json`]. The server and `hwcost openapi` serve it rather than build it: the build
/// runs every example through the engine (plans and checks included), most of a start-up's
/// time otherwise.
pub const PUBLISHED_OPENAPI_JSON: &str = include_str!("../../openapi/openapi.json");

/// [`PUBLISHED_OPENAPI_JSON`] parsed (a few milliseconds).
pub fn published_openapi() -> serde_json::Value {
    serde_json::from_str(PUBLISHED_OPENAPI_JSON).unwrap_or_else(|error| {
        tracing::error!(%error, "the embedded OpenAPI document does not parse; building it");
        serde_json::from_str(&openapi_json()).unwrap_or_default()
    })
}

/// The OpenAPI document as pretty JSON with a trailing newline, exactly as committed in
/// `openapi/openapi.json`.
pub fn openapi_json() -> String {
    let mut text = openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}
