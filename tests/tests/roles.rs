//! Role × route matrix: every non-public route, called by every role, gets the expected
//! answer; without a token every one of them is 401.

use std::collections::BTreeSet;

use patrol_api::http::routes::ROUTES;
use patrol_tests::fixture::square;
use patrol_tests::{TestApp, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

const ALL: &[&str] = &[
    "resident",
    "officer",
    "party_member",
    "community_staff",
    "supervisor",
    "department",
    "admin",
];
const ADMIN: &[&str] = &["admin"];
const LEADS: &[&str] = &["admin", "supervisor"];
/// Supervisors, admins and the joint-meeting office (the fixture's department account).
const OFFICE_AND_LEADS: &[&str] = &["admin", "supervisor", "department"];
/// Who may open the audit lists: supervisors and admins, and officers and party members
/// for their own records.
const AUDITORS: &[&str] = &["officer", "party_member", "supervisor", "admin"];
const REPORTERS: &[&str] = &[
    "resident",
    "officer",
    "party_member",
    "community_staff",
    "supervisor",
    "admin",
];
const ORG_READERS: &[&str] = &[
    "officer",
    "party_member",
    "community_staff",
    "supervisor",
    "admin",
];

/// Routes anyone may call without signing in.
const PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/openapi.yaml",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/register",
    "/api/v1/auth/register/verify",
    "/api/v1/public/stations",
    "/api/v1/public/communities/{code}/studio",
];

/// Routes for a machine with its own token, not for any role (`hardening.rs` tests them).
const SCRAPER_ONLY: &[&str] = &["/metrics"];

struct Case {
    method: Method,
    template: &'static str,
    path: String,
    body: Option<Value>,
    allowed: &'static [&'static str],
    /// What a refused role gets: 403, or 404 where existence itself is hidden.
    refused: u16,
}

fn case(
    method: Method,
    template: &'static str,
    path: &str,
    body: Option<Value>,
    allowed: &'static [&'static str],
) -> Case {
    Case {
        method,
        template,
        path: path.to_owned(),
        body,
        allowed,
        refused: 403,
    }
}

fn cases(admin_id: &str) -> Vec<Case> {
    use Method as M;
    let category = json!({"code": "noise_x", "kind": "assist", "group_code": "order", "group_zh": "秩序", "group_en": "Order",
        "name_zh": "噪音", "name_en": "Noise", "sla_hours": 24, "default_class_721": "service"});
    let category_fields = json!({"kind": "assist", "group_code": "order", "group_zh": "秩序", "group_en": "Order",
        "name_zh": "噪音", "name_en": "Noise", "sla_hours": 24, "default_class_721": "service"});
    vec![
        case(
            M::POST,
            "/api/v1/auth/logout",
            "/api/v1/auth/logout",
            Some(json!({"refresh_token": "unknown"})),
            ALL,
        ),
        case(M::GET, "/api/v1/me", "/api/v1/me", None, ALL),
        case(M::GET, "/api/v1/district", "/api/v1/district", None, ALL),
        case(
            M::POST,
            "/api/v1/district",
            "/api/v1/district",
            Some(json!({"code": "X", "name": "X区", "timezone": "Asia/Shanghai", "hotline": "1"})),
            ADMIN,
        ),
        case(M::GET, "/api/v1/streets", "/api/v1/streets", None, ALL),
        case(
            M::POST,
            "/api/v1/streets",
            "/api/v1/streets",
            Some(json!({"code": "S9", "name": "S9街道", "kind": "town"})),
            ADMIN,
        ),
        case(
            M::GET,
            "/api/v1/communities",
            "/api/v1/communities",
            None,
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/communities",
            "/api/v1/communities",
            Some(
                json!({"code": "C8", "name": "C8", "street_code": "S1", "boundary": square(101.85)}),
            ),
            ADMIN,
        ),
        case(
            M::GET,
            "/api/v1/communities/{code}",
            "/api/v1/communities/C1",
            None,
            ALL,
        ),
        case(
            M::PUT,
            "/api/v1/communities/{code}/boundary",
            "/api/v1/communities/C1/boundary",
            Some(json!({"boundary": square(101.80)})),
            ADMIN,
        ),
        case(
            M::GET,
            "/api/v1/communities/{code}/grid-cells",
            "/api/v1/communities/C1/grid-cells",
            None,
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/communities/{code}/grid-cells",
            "/api/v1/communities/C1/grid-cells",
            Some(json!({"code": "C1-G9", "name": "G9", "boundary": square(101.80)})),
            ADMIN,
        ),
        case(
            M::GET,
            "/api/v1/locate",
            "/api/v1/locate?lat=36.605&lon=101.802",
            None,
            ALL,
        ),
        case(
            M::GET,
            "/api/v1/squads",
            "/api/v1/squads",
            None,
            ORG_READERS,
        ),
        case(
            M::POST,
            "/api/v1/squads",
            "/api/v1/squads",
            Some(json!({"code": "SQ9", "name": "九中队"})),
            ADMIN,
        ),
        case(M::GET, "/api/v1/users", "/api/v1/users", None, LEADS),
        case(
            M::POST,
            "/api/v1/users",
            "/api/v1/users",
            Some(
                json!({"login": "new.officer", "role": "officer", "display_name": "新队员", "password": "a-long-password"}),
            ),
            ADMIN,
        ),
        Case {
            refused: 404,
            ..case(
                M::GET,
                "/api/v1/users/{id}",
                &format!("/api/v1/users/{admin_id}"),
                None,
                LEADS,
            )
        },
        case(
            M::GET,
            "/api/v1/assignments",
            "/api/v1/assignments",
            None,
            LEADS,
        ),
        case(
            M::POST,
            "/api/v1/assignments",
            "/api/v1/assignments",
            Some(json!({"user_id": admin_id, "target_code": "C1"})),
            ADMIN,
        ),
        case(
            M::POST,
            "/api/v1/assignments/{id}/end",
            "/api/v1/assignments/unknown/end",
            Some(json!({"reason": "test"})),
            ADMIN,
        ),
        case(
            M::GET,
            "/api/v1/personnel",
            "/api/v1/personnel",
            None,
            ORG_READERS,
        ),
        case(M::GET, "/api/v1/duties", "/api/v1/duties", None, ALL),
        case(
            M::POST,
            "/api/v1/duties",
            "/api/v1/duties",
            Some(
                json!({"code": "d9", "title_zh": "职责", "title_en": "Duty", "applies_to": "both"}),
            ),
            ADMIN,
        ),
        case(
            M::PUT,
            "/api/v1/duties/{code}",
            "/api/v1/duties/twice_weekly_visits",
            Some(
                json!({"title_zh": "每周两次", "title_en": "Twice a week", "applies_to": "officer"}),
            ),
            ADMIN,
        ),
        case(
            M::GET,
            "/api/v1/categories",
            "/api/v1/categories",
            None,
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/categories",
            "/api/v1/categories",
            Some(category),
            ADMIN,
        ),
        case(
            M::PUT,
            "/api/v1/categories/{code}",
            "/api/v1/categories/garbage_pile",
            Some(category_fields),
            ADMIN,
        ),
        case(
            M::POST,
            "/api/v1/cases",
            "/api/v1/cases",
            Some(
                json!({"case_id": "0190f5a0-0000-7000-8000-000000000001", "category_code": "garbage_pile", "description": "垃圾", "lat": 36.605, "lon": 101.802}),
            ),
            REPORTERS,
        ),
        case(
            M::GET,
            "/api/v1/cases/{id}",
            "/api/v1/cases/unknown",
            None,
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/cases/{id}/transitions",
            "/api/v1/cases/unknown/transitions",
            Some(json!({"command": "accept"})),
            ALL,
        ),
        case(M::GET, "/api/v1/cases", "/api/v1/cases", None, ALL),
        case(
            M::GET,
            "/api/v1/cases/{id}/duplicates",
            "/api/v1/cases/unknown/duplicates",
            None,
            ORG_READERS,
        ),
        case(
            M::POST,
            "/api/v1/cases/{id}/escalate",
            "/api/v1/cases/unknown/escalate",
            Some(json!({"reason": "needs the water company"})),
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/cases/{id}/handover",
            "/api/v1/cases/unknown/handover",
            Some(json!({"to_user_id": "x", "reason": "调岗"})),
            ALL,
        ),
        case(
            M::GET,
            "/api/v1/escalations",
            "/api/v1/escalations",
            None,
            OFFICE_AND_LEADS,
        ),
        case(
            M::POST,
            "/api/v1/escalations/{id}/decide",
            "/api/v1/escalations/unknown/decide",
            Some(json!({"decline_reason": "not ours"})),
            ALL,
        ),
        case(
            M::GET,
            "/api/v1/department-tasks",
            "/api/v1/department-tasks",
            None,
            &["department", "admin"],
        ),
        case(
            M::POST,
            "/api/v1/department-tasks/{id}/complete",
            "/api/v1/department-tasks/unknown/complete",
            Some(json!({"response": "done"})),
            ALL,
        ),
        case(
            M::GET,
            "/api/v1/reports/cases",
            "/api/v1/reports/cases",
            None,
            LEADS,
        ),
        case(
            M::GET,
            "/api/v1/reports/departments",
            "/api/v1/reports/departments",
            None,
            OFFICE_AND_LEADS,
        ),
        case(
            M::POST,
            "/api/v1/sync/push",
            "/api/v1/sync/push",
            Some(
                json!({"client_id": "0190a5e2-0000-7000-8000-00000000aaaa", "protocol_version": 1, "mutations": []}),
            ),
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/sync/pull",
            "/api/v1/sync/pull",
            Some(
                json!({"client_id": "0190a5e2-0000-7000-8000-00000000aaaa", "protocol_version": 1}),
            ),
            ALL,
        ),
        case(
            M::HEAD,
            "/api/v1/blobs/{sha256}",
            &format!("/api/v1/blobs/{}", "0".repeat(64)),
            None,
            ALL,
        ),
        case(
            M::PUT,
            "/api/v1/blobs/{sha256}",
            &format!("/api/v1/blobs/{}", "0".repeat(64)),
            None,
            ALL,
        ),
        case(
            M::GET,
            "/api/v1/blobs/{sha256}",
            &format!("/api/v1/blobs/{}", "0".repeat(64)),
            None,
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/visits",
            "/api/v1/visits",
            Some(
                json!({"visit_id": "not-a-uuid", "community_code": "C1", "started_at": "2026-01-01T00:00:00Z", "ended_at": "2026-01-01T00:20:00Z", "fixes": [], "purpose": "走访", "class_721": "service"}),
            ),
            &["officer", "party_member"],
        ),
        case(
            M::POST,
            "/api/v1/visits/{id}/accept",
            "/api/v1/visits/unknown/accept",
            Some(json!({"reason": "ok"})),
            LEADS,
        ),
        case(
            M::GET,
            "/api/v1/compliance",
            "/api/v1/compliance",
            None,
            // The twice-weekly duty binds party members too (tests/tests/awards.rs).
            &["officer", "party_member", "supervisor", "admin"],
        ),
        case(
            M::GET,
            "/api/v1/compliance/at-risk",
            "/api/v1/compliance/at-risk",
            None,
            // The twice-weekly duty binds party members too (tests/tests/awards.rs).
            &["officer", "party_member", "supervisor", "admin"],
        ),
        case(
            M::POST,
            "/api/v1/diary",
            "/api/v1/diary",
            Some(
                json!({"entry_id": "not-a-uuid", "entry_date": "2026-01-01", "shift": "day", "body": "x"}),
            ),
            &["officer", "party_member"],
        ),
        case(
            M::GET,
            "/api/v1/diary/{entry_id}",
            "/api/v1/diary/unknown",
            None,
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/diary/{entry_id}/sign-off",
            "/api/v1/diary/unknown/sign-off",
            None,
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/diary/{entry_id}/comments",
            "/api/v1/diary/unknown/comments",
            Some(json!({"text": "ok"})),
            ALL,
        ),
        case(
            M::GET,
            "/api/v1/reports/mix-721",
            "/api/v1/reports/mix-721",
            None,
            &["officer", "party_member", "supervisor", "admin"],
        ),
        case(
            M::GET,
            "/api/v1/points/ledger/verify",
            "/api/v1/points/ledger/verify",
            None,
            LEADS,
        ),
        case(
            M::GET,
            "/api/v1/points/rankings",
            "/api/v1/points/rankings",
            None,
            LEADS,
        ),
        case(
            M::GET,
            "/api/v1/points/rules",
            "/api/v1/points/rules",
            None,
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/points/rules",
            "/api/v1/points/rules",
            Some(
                json!({"code": "visit_verified", "points": 3, "description": "x", "effective_from": "2000-01-01T00:00:00Z"}),
            ),
            ADMIN,
        ),
        case(
            M::GET,
            "/api/v1/points/ledger/head",
            "/api/v1/points/ledger/head",
            None,
            LEADS,
        ),
        case(
            M::GET,
            "/api/v1/points/balances",
            "/api/v1/points/balances",
            None,
            &["officer", "party_member", "supervisor", "admin"],
        ),
        case(
            M::POST,
            "/api/v1/points/claims",
            "/api/v1/points/claims",
            Some(
                json!({"claim_id": "0190a000-0000-7000-8000-000000000001", "points": 0, "note": "x"}),
            ),
            &["officer", "party_member", "supervisor", "admin"],
        ),
        case(
            M::GET,
            "/api/v1/points/claims",
            "/api/v1/points/claims",
            None,
            AUDITORS,
        ),
        case(
            M::GET,
            "/api/v1/points/entries",
            "/api/v1/points/entries",
            None,
            AUDITORS,
        ),
        case(M::GET, "/api/v1/diary", "/api/v1/diary", None, AUDITORS),
        // Engagement: community staff, officers and supervisors record and read; the
        // malformed id is 422 for them and 403 for residents and departments.
        case(
            M::GET,
            "/api/v1/indicators",
            "/api/v1/indicators",
            None,
            LEADS,
        ),
        case(
            M::GET,
            "/api/v1/indicators/{family}",
            "/api/v1/indicators/cases?period=2026-12",
            None,
            LEADS,
        ),
        case(
            M::GET,
            "/api/v1/reports/monthly",
            "/api/v1/reports/monthly?month=2026-11",
            None,
            LEADS,
        ),
        case(
            M::GET,
            "/api/v1/exports/{kind}",
            "/api/v1/exports/cases?from=2026-11-01&to=2026-11-30",
            None,
            LEADS,
        ),
        case(
            M::GET,
            "/api/v1/reports/monthly/print",
            "/api/v1/reports/monthly/print?month=2026-11",
            None,
            LEADS,
        ),
        // Hotline tickets: the integration account (not in the fixture) and admins take
        // them in; an unknown ticket is 404 for everyone.
        case(
            M::POST,
            "/api/v1/hotline/tickets",
            "/api/v1/hotline/tickets",
            Some(
                json!({"ticket_no": "", "category_code": "garbage_pile", "hotline_category": "x",
                "description": "x", "lat": 36.605, "lon": 101.805,
                "due_at": "2026-12-08T00:00:00Z", "received_at": "2026-12-07T00:00:00Z"}),
            ),
            ADMIN,
        ),
        case(
            M::GET,
            "/api/v1/hotline/tickets/{ticket_no}",
            "/api/v1/hotline/tickets/unknown",
            None,
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/hotline/tickets/{ticket_no}/answer",
            "/api/v1/hotline/tickets/unknown/answer",
            Some(json!({"answer": "x"})),
            ALL,
        ),
        case(
            M::GET,
            "/api/v1/meetings",
            "/api/v1/meetings",
            None,
            ORG_READERS,
        ),
        case(
            M::POST,
            "/api/v1/meetings",
            "/api/v1/meetings",
            Some(
                json!({"meeting_id": "not-a-uuid", "community_code": "C1", "kind": "deliberation",
                "held_on": "2026-01-01", "attendee_count": 3, "topics": ["x"]}),
            ),
            ORG_READERS,
        ),
        case(
            M::GET,
            "/api/v1/events",
            "/api/v1/events",
            None,
            ORG_READERS,
        ),
        case(
            M::POST,
            "/api/v1/events",
            "/api/v1/events",
            Some(
                json!({"event_id": "not-a-uuid", "community_code": "C1", "kind": "open_day",
                "held_on": "2026-01-01", "place": "x", "attendance": 3}),
            ),
            ORG_READERS,
        ),
        case(
            M::GET,
            "/api/v1/suggestions",
            "/api/v1/suggestions",
            None,
            ORG_READERS,
        ),
        case(
            M::POST,
            "/api/v1/suggestions",
            "/api/v1/suggestions",
            Some(
                json!({"suggestion_id": "not-a-uuid", "community_code": "C1", "from": "shop",
                "body": "x", "received_on": "2026-01-01"}),
            ),
            ORG_READERS,
        ),
        case(
            M::POST,
            "/api/v1/suggestions/{id}/answer",
            "/api/v1/suggestions/unknown/answer",
            Some(json!({"answer": "x"})),
            ALL,
        ),
        case(M::GET, "/api/v1/visits", "/api/v1/visits", None, AUDITORS),
        case(
            M::GET,
            "/api/v1/conflicts",
            "/api/v1/conflicts",
            None,
            AUDITORS,
        ),
        case(
            M::POST,
            "/api/v1/points/claims/{id}/decide",
            "/api/v1/points/claims/unknown/decide",
            Some(json!({"approve": true, "reason": "x"})),
            ALL,
        ),
        case(
            M::PUT,
            "/api/v1/communities/{code}/whistle-settings",
            "/api/v1/communities/C1/whistle-settings",
            Some(json!({"lead_user_id": null, "sign_off_required": true, "take_minutes": 30})),
            ADMIN,
        ),
        case(
            M::POST,
            "/api/v1/whistles",
            "/api/v1/whistles",
            Some(json!({"whistle_id": "not-a-uuid", "community_code": "C1", "title": "x"})),
            &["community_staff"],
        ),
        case(
            M::GET,
            "/api/v1/whistles",
            "/api/v1/whistles",
            None,
            ORG_READERS,
        ),
        case(
            M::GET,
            "/api/v1/whistles/{id}",
            "/api/v1/whistles/unknown",
            None,
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/whistles/{id}/sign-off",
            "/api/v1/whistles/unknown/sign-off",
            Some(json!({"approve": true})),
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/whistles/{id}/take",
            "/api/v1/whistles/unknown/take",
            Some(json!({})),
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/whistles/{id}/rate",
            "/api/v1/whistles/unknown/rate",
            Some(json!({"rating": 5})),
            ALL,
        ),
        case(
            M::POST,
            "/api/v1/whistles/{id}/withdraw",
            "/api/v1/whistles/unknown/withdraw",
            None,
            ALL,
        ),
        case(
            M::GET,
            "/api/v1/reports/whistles",
            "/api/v1/reports/whistles",
            None,
            LEADS,
        ),
        case(
            M::POST,
            "/api/v1/stations",
            "/api/v1/stations",
            Some(
                json!({"code": "ST9", "name": "驿站", "address": "路1号", "lat": 36.605, "lon": 101.802, "opening_hours": "Mo-Su 08:00-18:00"}),
            ),
            ADMIN,
        ),
    ]
}

async fn every_role_gets_the_expected_answer_on_every_route(app: TestApp) {
    app.seed_fixture().await;
    let mut tokens = Vec::new();
    for role in ALL {
        tokens.push((*role, app.login_as(role).await));
    }
    let admin_token = &tokens.iter().find(|(r, _)| *r == "admin").unwrap().1;
    let admin_id = app.get("/api/v1/me").token(admin_token).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases = cases(&admin_id);

    let covered: BTreeSet<(String, &str)> = cases
        .iter()
        .map(|c| (c.method.to_string(), c.template))
        .collect();
    let expected: BTreeSet<(String, &str)> = ROUTES
        .iter()
        .filter(|(_, p)| !PUBLIC.contains(p) && !SCRAPER_ONLY.contains(p))
        .map(|(m, p)| (m.to_uppercase(), *p))
        .collect();
    assert_eq!(
        covered, expected,
        "the matrix must cover every non-public route"
    );

    for c in &cases {
        let mut req = app.req(c.method.clone(), &c.path);
        if let Some(b) = &c.body {
            req = req.json(b.clone());
        }
        let res = req.send().await;
        assert_eq!(
            res.status, 401,
            "{} {} without a token: {}",
            c.method, c.path, res.text
        );
        for (role, token) in &tokens {
            let mut req = app.req(c.method.clone(), &c.path).token(token);
            if let Some(b) = &c.body {
                req = req.json(b.clone());
            }
            let res = req.send().await;
            if c.allowed.contains(role) {
                assert!(
                    !matches!(res.status, 401 | 403) && res.status < 500,
                    "{role} {} {} should be allowed, got {}: {}",
                    c.method,
                    c.path,
                    res.status,
                    res.text
                );
            } else {
                assert_eq!(
                    res.status, c.refused,
                    "{role} {} {}: {}",
                    c.method, c.path, res.text
                );
            }
        }
    }
}

on_both_backends!(every_role_gets_the_expected_answer_on_every_route);
