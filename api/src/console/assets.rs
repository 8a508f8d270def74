//! The console's static files, embedded in the binary: nothing is fetched from anywhere
//! else, so the console works on a closed network. URLs carry a digest of the content,
//! so a file is cached for a year and a new build is fetched at once.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::infra::error::ApiError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../web/console/console.css"),
    },
    // htmx 2.0.11 (BSD Zero-Clause, web/vendor/htmx-LICENSE): boosted links and forms
    // swap the page body instead of reloading it; every page works without it.
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../web/vendor/htmx-2.0.11.min.js"),
    },
];

/// The first 16 hex digits of each asset's SHA-256, by position in [`ASSETS`].
static DIGESTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| crate::auth::sha256_hex(a.bytes)[..16].to_owned())
        .collect()
});

/// The URL of an asset, with its digest.
pub fn url(name: &str) -> String {
    match ASSETS.iter().position(|a| a.name == name) {
        Some(i) => format!("/console/assets/{name}?v={}", DIGESTS[i]),
        None => format!("/console/assets/{name}"),
    }
}

/// `GET /console/assets/{name}`.
pub async fn get_asset(
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (i, asset) = ASSETS
        .iter()
        .enumerate()
        .find(|(_, a)| a.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("asset {name}")))?;
    let etag = format!("\"{}\"", DIGESTS[i]);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag)).insert_header((
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    ));
    if fresh {
        return Ok(res.finish());
    }
    Ok(res.content_type(asset.content_type).body(asset.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_content() {
        let css = url("console.css");
        assert!(css.starts_with("/console/assets/console.css?v="), "{css}");
        assert_eq!(css.len(), "/console/assets/console.css?v=".len() + 16);
        assert_ne!(url("htmx.min.js"), css);
    }
}
