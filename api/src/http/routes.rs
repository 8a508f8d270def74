//! The route table: one list that both registers the routes and is exported, so a test
//! can prove that every registered route is in `openapi.yaml` and nothing else is.

use actix_web::{HttpRequest, HttpResponse};

use crate::http::handlers::{
    audit, auth, blobs, cases, diary, engagement, escalations, exports, health, hotline,
    indicators, lists, org, people, points, public, sync, visits, whistles,
};
use crate::infra::error::ApiError;

/// Declares a route table: a `const` listing (method, path template) and the function
/// that registers them, then, for each of their paths, the answer to any other method:
/// 405 with `Allow`. The API's table is below; the console declares its own.
macro_rules! route_table {
    ($table:ident, $configure:ident; $( $method:ident $path:literal => $handler:path; )*) => {
        /// Every route of this table: (HTTP method, path template).
        pub const $table: &[(&str, &str)] = &[ $( (stringify!($method), $path) ),* ];

        /// Registers every route of the table, then 405 for other methods on its paths.
        pub fn $configure(cfg: &mut actix_web::web::ServiceConfig) {
            $( cfg.route($path, actix_web::web::$method().to($handler)); )*
            let mut paths: Vec<&str> = $table.iter().map(|(_, path)| *path).collect();
            paths.sort_unstable();
            paths.dedup();
            for path in paths {
                cfg.service(actix_web::web::resource(path).to(
                    |req: actix_web::HttpRequest| async move {
                        $crate::http::routes::method_not_allowed(&req, $table)
                    },
                ));
            }
        }
    };
}
pub(crate) use route_table;

/// A known path of `table` asked with a method it does not have: 405 naming the ones it has.
pub fn method_not_allowed(
    req: &HttpRequest,
    table: &[(&str, &str)],
) -> Result<HttpResponse, ApiError> {
    let pattern = req.match_pattern().unwrap_or_default();
    let allow: Vec<String> = table
        .iter()
        .filter(|(_, path)| *path == pattern)
        .map(|(method, _)| method.to_uppercase())
        .collect();
    Err(ApiError::MethodNotAllowed {
        allow: allow.join(", "),
    })
}

route_table! {
    ROUTES, configure;
    get "/healthz" => health::get_healthz;
    get "/readyz" => health::get_readyz;
    get "/metrics" => health::get_metrics;
    get "/openapi.yaml" => health::get_openapi;

    post "/api/v1/auth/login" => auth::login;
    post "/api/v1/auth/refresh" => auth::refresh_token;
    post "/api/v1/auth/logout" => auth::logout;
    post "/api/v1/auth/register" => auth::register_resident;
    post "/api/v1/auth/register/verify" => auth::verify_registration;
    get "/api/v1/me" => auth::get_me;

    get "/api/v1/district" => org::get_district;
    post "/api/v1/district" => org::create_district;
    get "/api/v1/streets" => org::list_streets;
    post "/api/v1/streets" => org::create_street;
    get "/api/v1/communities" => org::list_communities;
    post "/api/v1/communities" => org::create_community;
    get "/api/v1/communities/{code}" => org::get_community;
    put "/api/v1/communities/{code}/boundary" => org::update_community_boundary;
    get "/api/v1/communities/{code}/grid-cells" => org::list_grid_cells;
    post "/api/v1/communities/{code}/grid-cells" => org::create_grid_cell;
    get "/api/v1/locate" => org::locate_point;
    get "/api/v1/squads" => org::list_squads;
    post "/api/v1/squads" => org::create_squad;

    get "/api/v1/users" => people::list_users;
    post "/api/v1/users" => people::create_user;
    get "/api/v1/users/{id}" => people::get_user;
    get "/api/v1/assignments" => people::list_assignments;
    post "/api/v1/assignments" => people::create_assignment;
    post "/api/v1/assignments/{id}/end" => people::end_assignment;
    get "/api/v1/personnel" => people::list_personnel;

    get "/api/v1/duties" => lists::list_duties;
    post "/api/v1/duties" => lists::create_duty;
    put "/api/v1/duties/{code}" => lists::update_duty;
    get "/api/v1/categories" => lists::list_categories;
    post "/api/v1/categories" => lists::create_category;
    put "/api/v1/categories/{code}" => lists::update_category;

    post "/api/v1/stations" => public::create_station;
    get "/api/v1/public/stations" => public::list_stations;
    get "/api/v1/public/communities/{code}/studio" => public::get_community_studio;

    get "/api/v1/cases" => cases::list_cases;
    post "/api/v1/cases" => cases::create_case;
    get "/api/v1/cases/{id}" => cases::get_case;
    post "/api/v1/cases/{id}/transitions" => cases::transition_case;
    get "/api/v1/cases/{id}/duplicates" => cases::list_case_duplicates;
    post "/api/v1/cases/{id}/escalate" => cases::escalate_case;
    post "/api/v1/cases/{id}/handover" => cases::hand_over_case;
    get "/api/v1/escalations" => escalations::list_escalations;
    post "/api/v1/escalations/{id}/decide" => escalations::decide_escalation;
    get "/api/v1/department-tasks" => escalations::list_department_tasks;
    post "/api/v1/department-tasks/{id}/complete" => escalations::complete_department_task;
    get "/api/v1/reports/cases" => escalations::get_case_report;
    get "/api/v1/reports/departments" => escalations::get_department_report;

    get "/api/v1/visits" => audit::list_visits;
    post "/api/v1/visits" => visits::create_visit;
    post "/api/v1/visits/{id}/accept" => visits::accept_visit;
    get "/api/v1/compliance" => visits::get_compliance;
    get "/api/v1/compliance/at-risk" => visits::get_compliance_at_risk;
    get "/api/v1/reports/mix-721" => visits::get_mix_721;

    get "/api/v1/points/ledger/verify" => points::verify_points_ledger;
    get "/api/v1/points/ledger/head" => points::export_points_head;
    get "/api/v1/points/balances" => points::list_points_balances;
    get "/api/v1/points/rules" => points::list_points_rules;
    post "/api/v1/points/rules" => points::create_points_rule;
    get "/api/v1/points/rankings" => points::list_points_rankings;
    get "/api/v1/points/claims" => audit::list_points_claims;
    post "/api/v1/points/claims" => points::create_points_claim;
    get "/api/v1/points/entries" => audit::list_points_entries;
    post "/api/v1/points/claims/{id}/decide" => points::decide_points_claim;

    get "/api/v1/diary" => audit::list_diary_entries;
    post "/api/v1/diary" => diary::write_diary;
    get "/api/v1/diary/{entry_id}" => diary::get_diary_history;
    post "/api/v1/diary/{entry_id}/sign-off" => diary::sign_off_diary;
    post "/api/v1/diary/{entry_id}/comments" => diary::comment_diary;

    put "/api/v1/communities/{code}/whistle-settings" => whistles::update_whistle_settings;
    post "/api/v1/whistles" => whistles::create_whistle;
    get "/api/v1/whistles" => whistles::list_whistles;
    get "/api/v1/whistles/{id}" => whistles::get_whistle;
    post "/api/v1/whistles/{id}/sign-off" => whistles::sign_off_whistle;
    post "/api/v1/whistles/{id}/take" => whistles::take_whistle;
    post "/api/v1/whistles/{id}/rate" => whistles::rate_whistle;
    post "/api/v1/whistles/{id}/withdraw" => whistles::withdraw_whistle;
    get "/api/v1/reports/whistles" => whistles::get_whistle_report;

    get "/api/v1/meetings" => engagement::list_meetings;
    post "/api/v1/meetings" => engagement::record_meeting;
    get "/api/v1/events" => engagement::list_events;
    post "/api/v1/events" => engagement::record_event;
    get "/api/v1/suggestions" => engagement::list_suggestions;
    post "/api/v1/suggestions" => engagement::record_suggestion;
    post "/api/v1/suggestions/{id}/answer" => engagement::answer_suggestion;
    get "/api/v1/indicators" => indicators::list_indicator_families;
    get "/api/v1/indicators/{family}" => indicators::get_indicators;
    get "/api/v1/reports/monthly" => indicators::get_monthly_report;
    get "/api/v1/reports/monthly/print" => indicators::print_monthly_report;
    get "/api/v1/exports/{kind}" => exports::export_csv;

    post "/api/v1/hotline/tickets" => hotline::take_in_ticket;
    get "/api/v1/hotline/tickets/{ticket_no}" => hotline::get_ticket;
    post "/api/v1/hotline/tickets/{ticket_no}/answer" => hotline::answer_ticket;

    get "/api/v1/conflicts" => audit::list_conflicts;
    post "/api/v1/sync/push" => sync::push_mutations;
    post "/api/v1/sync/pull" => sync::pull_changes;

    head "/api/v1/blobs/{sha256}" => blobs::head_blob;
    put "/api/v1/blobs/{sha256}" => blobs::put_blob;
    get "/api/v1/blobs/{sha256}" => blobs::get_blob;
}
