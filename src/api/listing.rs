//! Paging and search, the same on every list endpoint.
//!
//! Every `GET` list takes `q` (a case-insensitive search over ids, names and aliases), `limit`
//! and `cursor` beside its own filters, and answers `count` (items on this page), `total` (items
//! matching), `next_cursor` (absent on the last page) and `items`. Catalog lists are small and
//! sorted, so the cursor is an opaque offset into the sorted matches: a catalog reload between
//! two pages may shift it, which a dashboard paging a catalog of a few hundred entries can bear.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use super::extract::parse_query;
use super::problem::ApiError;
use crate::scenario::range::{self, Checks};

/// The parameters every list takes, beside its filters.
pub const PAGE_PARAMETERS: [&str; 3] = ["q", "limit", "cursor"];

/// The largest page, and the page size when `limit` is absent.
pub const MAX_LIMIT: u64 = 1000;

/// Search and paging.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Case-insensitive search: items whose id, name or an alias contains this text (at most
    /// 200 characters).
    #[param(example = "h100", max_length = 200)]
    pub q: Option<String>,
    /// At most this many items (1 to 1000; default 1000).
    #[param(example = 20)]
    pub limit: Option<u64>,
    /// Where to go on from: the `next_cursor` of the previous page (opaque). A cursor past the
    /// end (the list shrank on a catalog reload) gives an empty page.
    #[param(pattern = "^o[0-9a-z]{1,8}$")]
    pub cursor: Option<String>,
}

/// A list request: the endpoint's filters `F` and the paging.
#[derive(Debug)]
pub struct Listing<F> {
    /// The endpoint's own filters.
    pub filters: F,
    /// Search and paging.
    pub page: PageQuery,
}

impl<F: DeserializeOwned> FromRequest for Listing<F> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        std::future::ready(parse_listing(req.query_string()))
    }
}

/// Splits a query string into paging and filters and reads each.
pub fn parse_listing<F: DeserializeOwned>(query: &str) -> Result<Listing<F>, ApiError> {
    let (paging, filters): (Vec<_>, Vec<_>) =
        form_urlencoded::parse(query.as_bytes()).partition(|(name, _)| PAGE_PARAMETERS.contains(&name.as_ref()));
    let encode = |pairs: Vec<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)>| {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
    };
    // Both halves are read, so a bad filter and a bad page are both reported, filters first.
    let filters = parse_query(&encode(filters));
    let page = parse_query(&encode(paging));
    Ok(Listing { filters: filters?, page: page? })
}

/// Declares a list response: `count`, `total`, `next_cursor` and `items` of `$item`.
#[macro_export]
macro_rules! list_body {
    ($(#[$meta:meta])* $name:ident, $item:ty) => {
        $(#[$meta])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            /// Items on this page.
            pub count: usize,
            /// Items matching the filters and search, on every page.
            pub total: usize,
            /// The `cursor` of the next page; absent on the last one.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub next_cursor: Option<String>,
            /// This page's items.
            pub items: Vec<$item>,
        }

        impl From<$crate::api::listing::Page<$item>> for $name {
            fn from(page: $crate::api::listing::Page<$item>) -> Self {
                Self { count: page.items.len(), total: page.total, next_cursor: page.next_cursor, items: page.items }
            }
        }
    };
}

/// One page of a list.
#[derive(Debug)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Items matching before paging.
    pub total: usize,
    /// The cursor of the next page, if any.
    pub next_cursor: Option<String>,
}

impl PageQuery {
    /// The page of `items` (already filtered and sorted) this query asks for; `text` gives the
    /// strings `q` searches in.
    pub fn apply<T>(&self, items: Vec<T>, text: impl Fn(&T) -> Vec<String>) -> Result<Page<T>, ApiError> {
        let mut checks = Checks::default();
        let limit = checks.opt_int("/limit", range::PAGE_LIMIT, self.limit).unwrap_or(MAX_LIMIT);
        if self.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
            checks.push("/q", "a search text is at most 200 characters");
        }
        checks.finish().map_err(ApiError::from)?;
        let needle = self.q.as_ref().map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
        let matching: Vec<T> = match &needle {
            None => items,
            Some(needle) => items
                .into_iter()
                .filter(|item| text(item).iter().any(|s| s.to_lowercase().contains(needle.as_str())))
                .collect(),
        };
        let total = matching.len();
        let start = match &self.cursor {
            None => 0,
            Some(cursor) => decode_cursor(cursor)
                .ok_or_else(|| {
                    ApiError::field("/cursor", "not a cursor of this list; send the next_cursor of the previous page")
                })?
                .min(total),
        };
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let end = start.saturating_add(limit).min(total);
        let next_cursor = (end < total).then(|| encode_cursor(end));
        let items = matching.into_iter().skip(start).take(end - start).collect();
        Ok(Page { items, total, next_cursor })
    }
}

/// `o` and the offset in base 36: opaque enough that nobody builds one by hand, and checkable.
fn encode_cursor(offset: usize) -> String {
    let mut digits = Vec::new();
    let mut n = offset;
    loop {
        digits.push(char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    std::iter::once('o').chain(digits.into_iter().rev()).collect()
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let digits = cursor.strip_prefix('o')?;
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    usize::from_str_radix(digits, 36).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(query: &str, items: Vec<&'static str>) -> Result<Page<&'static str>, ApiError> {
        let listing: Listing<std::collections::BTreeMap<String, String>> = parse_listing(query)?;
        listing.page.apply(items, |s| vec![(*s).to_owned()])
    }

    #[test]
    fn pages_walk_the_whole_list_once() {
        let items: Vec<&'static str> = vec!["a", "b", "c", "d", "e"];
        let mut seen = Vec::new();
        let mut query = "limit=2".to_owned();
        loop {
            let p = page(&query, items.clone()).unwrap();
            assert_eq!(p.total, 5);
            seen.extend(p.items);
            match p.next_cursor {
                Some(cursor) => query = format!("limit=2&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn search_is_case_insensitive_and_bad_paging_is_a_field_error() {
        let p = page("q=B", vec!["abc", "xyz", "BCD"]).unwrap();
        assert_eq!(p.items, vec!["abc", "BCD"]);
        for (query, pointer) in
            [("limit=0", "/limit"), ("limit=5000", "/limit"), ("cursor=zz", "/cursor"), ("cursor=o", "/cursor")]
        {
            let problem = page(query, vec!["a"]).unwrap_err().problem();
            assert_eq!(problem.errors[0].pointer, pointer, "{query}");
        }
    }

    #[test]
    fn a_cursor_past_the_end_gives_an_empty_last_page() {
        let p = page("cursor=o99", vec!["a", "b"]).unwrap();
        assert_eq!((p.items.len(), p.total, p.next_cursor), (0, 2, None));
    }

    #[test]
    fn cursors_round_trip() {
        for offset in [0, 1, 35, 36, 1000, 123_456] {
            assert_eq!(decode_cursor(&encode_cursor(offset)), Some(offset));
        }
    }
}
