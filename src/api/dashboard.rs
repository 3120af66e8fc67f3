//! The planning dashboard: `GET /` and its assets, embedded in the binary.
//!
//! The page is plain HTML, CSS and one JavaScript module (`web/`), with no build step and no
//! third-party code, so `cargo build` alone embeds it and it works offline. It is a client of
//! the v1 API like any other: every number it shows comes from an API answer. These routes are
//! pages, not API operations, so they stay out of the OpenAPI document (as `/docs` does).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use super::problem::ApiError;

/// One embedded file, with the hash of its content taken when the binary is built.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
    hash: u64,
}

impl Asset {
    const fn new(name: &'static str, content_type: &'static str, body: &'static str) -> Self {
        Self { name, content_type, body, hash: fnv1a(body) }
    }

    /// A strong validator: the content's hash, quoted.
    fn etag(&self) -> String {
        format!("\"{:016x}\"", self.hash)
    }
}

const INDEX: Asset = Asset::new("index.html", "text/html; charset=utf-8", include_str!("../../web/index.html"));

/// The files under `/assets/`.
const ASSETS: &[Asset] = &[
    Asset::new("app.js", "text/javascript; charset=utf-8", include_str!("../../web/app.js")),
    Asset::new("style.css", "text/css; charset=utf-8", include_str!("../../web/style.css")),
];

/// The page's policy: its own script, styles and API calls, nothing from elsewhere, no inline
/// code (styles are set through the CSSOM, which the policy allows), downloads as blob URLs.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Routes the dashboard serves (registered beside the documentation in `startup`), for the
/// 405 table.
pub const ROUTES: &[(&str, &str)] = &[("/", "GET"), ("/assets/{file}", "GET")];

/// `GET /`: the page.
pub async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, &INDEX)
}

/// `GET /assets/{file}`: its script and styles.
pub async fn asset(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let found = ASSETS.iter().find(|a| a.name == file.as_str());
    found.map(|a| serve(&req, a)).ok_or_else(|| ApiError::RouteNotFound(req.path().chars().take(200).collect()))
}

/// The body with an ETag, or 304 when the client holds the same version. `no-cache`: the
/// browser revalidates, so a new binary's page is never mixed with an old cached script.
fn serve(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    let tag = asset.etag();
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut response = if matches { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY)));
    if matches { response.finish() } else { response.content_type(asset.content_type).body(asset.body) }
}

/// FNV-1a of the content (a change of one byte changes it; no crypto needed), evaluated at
/// compile time for the embedded files, so no request hashes a body.
const fn fnv1a(body: &str) -> u64 {
    let bytes = body.as_bytes();
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::{ASSETS, Asset, INDEX, fnv1a};

    #[test]
    fn the_page_loads_only_embedded_assets() {
        for reference in ["/assets/app.js", "/assets/style.css"] {
            assert!(INDEX.body.contains(reference), "index.html does not load {reference}");
            let name = reference.trim_start_matches("/assets/");
            assert!(ASSETS.iter().any(|a| a.name == name), "{name} is loaded but not embedded");
        }
        for asset in std::iter::once(&INDEX).chain(ASSETS) {
            for outside in ["src=\"http", "href=\"http", "url(http", "fetch(\"http", "//cdn"] {
                assert!(!asset.body.contains(outside), "{} loads from elsewhere ({outside})", asset.name);
            }
        }
    }

    #[test]
    fn etags_follow_the_content() {
        let tag = |body| Asset::new("x", "text/plain", body).etag();
        assert_eq!(tag("a"), tag("a"));
        assert_ne!(tag("a"), tag("b"));
        // FNV-1a's published test vectors (64-bit): the empty string and "a".
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(tag("a"), "\"af63dc4c8601ec8c\"");
    }
}
