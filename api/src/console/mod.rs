//! The supervisor console (监督台): server-rendered pages under `/console/` for
//! supervisors, bureau leaders, department and community staff. Pages read and write
//! through the same commands as the API, with the same scopes; they only render.
//! Every page works without JavaScript; the vendored htmx swaps bodies when present.

pub mod assets;
mod cases;
mod community;
mod diary;
mod error;
pub mod i18n;
mod map;
mod page;
mod points;
mod session;
mod sign_in;
mod today;
mod visits;
mod whistles;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

pub use error::PageError;
pub use page::CSP;

crate::http::routes::route_table! {
    CONSOLE_ROUTES, configure;
    get "/console/" => sign_in::home;
    get "/console/sign-in" => sign_in::sign_in_page;
    post "/console/sign-in" => sign_in::sign_in;
    post "/console/sign-out" => sign_in::sign_out;
    get "/console/today" => today::today;
    get "/console/map" => map::map;
    get "/console/cases" => cases::board;
    get "/console/cases/{id}" => cases::case_page;
    post "/console/cases/{id}/transitions" => cases::transition;
    get "/console/points" => points::queue;
    post "/console/points/claims/{id}/decide" => points::decide;
    get "/console/points/officers/{id}" => points::ledger;
    get "/console/communities/{code}" => community::community;
    get "/console/visits" => visits::compliance;
    get "/console/visits/{id}" => visits::visit_page;
    get "/console/whistles" => whistles::board;
    get "/console/diary" => diary::list;
    get "/console/diary/{entry_id}" => diary::entry;
    post "/console/diary/{entry_id}/sign-off" => diary::sign_off;
    get "/console/report" => today::monthly_report;
    get "/console/assets/{name}" => assets::get_asset;
}

/// Every route the server has: the API's and the console's.
pub fn all_routes() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    crate::http::routes::ROUTES.iter().chain(CONSOLE_ROUTES)
}

/// A stored instant as the district reads it.
fn local(ms: i64, tz: Tz) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        None => String::new(),
    }
}

/// Minutes from `now` to `ms` (negative when past).
fn minutes_until(ms: i64, now: DateTime<Utc>) -> i64 {
    (ms - now.timestamp_millis()).div_euclid(60_000)
}
