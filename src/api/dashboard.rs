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
    const fn new(name: &'static str, body: &'static str) -> Self {
        Self { name, content_type: media_type(name), body, hash: fnv1a(body) }
    }

    /// A strong validator: the content's hash, quoted.
    fn etag(&self) -> String {
        format!("\"{:016x}\"", self.hash)
    }
}

/// Every file under `web/` (`build.rs` lists them): `(path relative to web/, contents)`.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_web.rs"));
}

/// The embedded files as assets, hashed at compile time (a `const` loop: no request hashes a
/// body, and no list here can forget a file that `web/` holds).
const ALL: [Asset; embedded::FILES.len()] = {
    let mut all = [const { Asset::new("", "") }; embedded::FILES.len()];
    let mut i = 0;
    while i < all.len() {
        all[i] = Asset::new(embedded::FILES[i].0, embedded::FILES[i].1);
        i += 1;
    }
    all
};

const INDEX: &Asset = find("index.html");

/// The files under `/assets/`: every embedded file but the page itself.
fn assets() -> impl Iterator<Item = &'static Asset> {
    ALL.iter().filter(|a| a.name != INDEX.name)
}

/// The embedded file of that name (a build without it does not compile).
const fn find(name: &str) -> &'static Asset {
    let mut i = 0;
    while i < ALL.len() {
        if same(ALL[i].name.as_bytes(), name.as_bytes()) {
            return &ALL[i];
        }
        i += 1;
    }
    panic!("web/ lacks a file the dashboard serves")
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn ends_with(name: &[u8], suffix: &[u8]) -> bool {
    name.len() >= suffix.len() && same(name.split_at(name.len() - suffix.len()).1, suffix)
}

/// The media type of a page file, by its extension (`build.rs` embeds only these three).
const fn media_type(name: &str) -> &'static str {
    if ends_with(name.as_bytes(), b".js") {
        "text/javascript; charset=utf-8"
    } else if ends_with(name.as_bytes(), b".css") {
        "text/css; charset=utf-8"
    } else {
        "text/html; charset=utf-8"
    }
}

/// The page's policy: its own script, styles and API calls, nothing from elsewhere, no inline
/// code (styles are set through the CSSOM, which the policy allows), downloads as blob URLs.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Routes the dashboard serves (registered beside the documentation in `startup`), for the
/// 405 table.
pub const ROUTES: &[(&str, &str)] = &[("/", "GET"), ("/assets/{file:.*}", "GET")];

/// `GET /`: the page.
pub async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, INDEX)
}

/// `GET /assets/{file}`: its script modules and styles (`views/serving.js` included).
pub async fn asset(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let found = assets().find(|a| a.name == file.as_str());
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
    use super::{ALL, Asset, INDEX, assets, fnv1a, media_type};

    #[test]
    fn the_page_loads_only_embedded_assets() {
        for reference in ["/assets/app.js", "/assets/style.css"] {
            assert!(INDEX.body.contains(reference), "index.html does not load {reference}");
            let name = reference.trim_start_matches("/assets/");
            assert!(assets().any(|a| a.name == name), "{name} is loaded but not embedded");
        }
        // Every module a script imports is embedded (a relative import resolves under /assets/).
        for script in assets().filter(|a| a.name.ends_with(".js")) {
            let dir = script.name.rsplit_once('/').map_or("", |(d, _)| d);
            for line in script.body.lines().filter(|l| l.starts_with("import ")) {
                let target = line
                    .rsplit_once(" from \"")
                    .and_then(|(_, t)| t.strip_suffix("\";"))
                    .expect("import ... from \"...\";");
                let resolved = resolve(dir, target);
                assert!(
                    assets().any(|a| a.name == resolved),
                    "{} imports {target} ({resolved}), which is not embedded",
                    script.name
                );
            }
        }
        for asset in &ALL {
            for outside in ["src=\"http", "href=\"http", "url(http", "fetch(\"http", "//cdn"] {
                assert!(!asset.body.contains(outside), "{} loads from elsewhere ({outside})", asset.name);
            }
        }
    }

    /// `./x.js` and `../x.js` against a module's folder.
    fn resolve(dir: &str, target: &str) -> String {
        let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        for part in target.split('/') {
            match part {
                "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        parts.join("/")
    }

    #[test]
    fn media_types_follow_the_extension() {
        assert_eq!(media_type("views/serving.js"), "text/javascript; charset=utf-8");
        assert_eq!(media_type("style.css"), "text/css; charset=utf-8");
        assert_eq!(media_type("index.html"), "text/html; charset=utf-8");
    }

    #[test]
    fn etags_follow_the_content() {
        let tag = |body| Asset::new("x", body).etag();
        assert_eq!(tag("a"), tag("a"));
        assert_ne!(tag("a"), tag("b"));
        // FNV-1a's published test vectors (64-bit): the empty string and "a".
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(tag("a"), "\"af63dc4c8601ec8c\"");
    }
}
