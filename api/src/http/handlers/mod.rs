//! HTTP handlers: parse, authorise, call the domain and the store, map the result.
//! One module per resource; DTOs live beside their handlers.

pub mod audit;
pub mod auth;
pub mod blobs;
pub mod cases;
pub mod diary;
pub mod engagement;
pub mod escalations;
pub mod exports;
pub mod health;
pub mod hotline;
pub mod indicators;
pub mod lists;
pub mod org;
pub mod people;
pub mod points;
pub mod public;
pub mod sync;
pub mod visits;
pub mod whistles;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::infra::error::ApiError;

/// Cursor pagination parameters shared by list routes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A page of items and the cursor of the next page (absent on the last page).
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

/// Checks `limit` and decodes `cursor` into the key to continue after.
pub fn page_params(
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<(i64, Option<String>), ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_field(
            "limit",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    let after = match cursor {
        None => None,
        Some(c) => Some(
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ApiError::bad_field("cursor", "cursor is not one this server issued")
                })?,
        ),
    };
    Ok((limit, after))
}

/// Builds a page from `limit + 1` fetched rows: the extra row only says more exist.
pub fn make_page<R, T>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> String,
    map: impl FnMut(R) -> T,
) -> Page<T> {
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    if more {
        rows.truncate(usize::try_from(limit).unwrap_or(0));
    }
    let next_cursor = if more {
        rows.last().map(|r| URL_SAFE_NO_PAD.encode(key(r)))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(map).collect(),
        next_cursor,
    }
}
