//! The organisation: communities with validated boundaries, point lookup in three
//! coordinate systems, scope on reads by code, and bad input that changes nothing.

use patrol_tests::fixture::{self, square};
use patrol_tests::{TestApp, on_both_backends};
use serde_json::{Value, json};

async fn community_count(app: &TestApp, token: &str) -> usize {
    let res = app
        .get("/api/v1/communities?limit=200")
        .token(token)
        .send()
        .await;
    assert_eq!(res.status, 200);
    res.body["items"].as_array().unwrap().len()
}

async fn bad_input_gets_a_problem_naming_the_field_and_changes_nothing(app: TestApp) {
    app.seed_fixture().await;
    let admin = app.login_as("admin").await;
    let before = community_count(&app, &admin).await;
    let good =
        json!({"code": "C9", "name": "新社区", "street_code": "S1", "boundary": square(101.83)});
    let unclosed = json!({"type": "Polygon", "coordinates": [[[101.83, 36.60], [101.84, 36.60], [101.84, 36.61], [101.83, 36.61]]]});
    let out_of_range = json!({"type": "Polygon", "coordinates": [[[191.0, 36.60], [101.84, 36.60], [101.84, 36.61], [191.0, 36.60]]]});
    let with = |key: &str, value: Value| {
        let mut b = good.clone();
        b[key] = value;
        b
    };
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "unclosed polygon",
            with("boundary", unclosed),
            422,
            "boundary",
        ),
        (
            "longitude out of range",
            with("boundary", out_of_range),
            422,
            "boundary",
        ),
        ("unknown crs", with("crs", json!("mars")), 422, "crs"),
        ("unknown field", with("colour", json!("red")), 400, "colour"),
        ("wrong type", with("name", json!(12)), 400, "name"),
        ("empty name", with("name", json!("  ")), 422, "name"),
        ("bad code", with("code", json!("C 9")), 422, "code"),
        (
            "unknown street",
            with("street_code", json!("S404")),
            422,
            "street_code",
        ),
        (
            "point not polygon",
            with(
                "boundary",
                json!({"type": "Point", "coordinates": [101.8, 36.6]}),
            ),
            422,
            "boundary",
        ),
    ];
    for (what, body, status, field) in cases {
        let res = app
            .post("/api/v1/communities")
            .token(&admin)
            .json(body)
            .send()
            .await;
        assert_eq!(res.status, status, "{what}: {}", res.text);
        assert_eq!(res.body["field"], field, "{what}: {}", res.text);
    }
    let res = app
        .post("/api/v1/communities")
        .token(&admin)
        .raw("application/json", "{\"code\": \"C9\",")
        .send()
        .await;
    assert_eq!(res.status, 400, "malformed JSON");
    let res = app
        .post("/api/v1/communities")
        .token(&admin)
        .raw("text/plain", "hello")
        .send()
        .await;
    assert_eq!(res.status, 400, "not JSON");
    let huge = format!(
        "{{\"code\":\"C9\",\"name\":\"{}\"}}",
        "x".repeat(300 * 1024)
    );
    let res = app
        .post("/api/v1/communities")
        .token(&admin)
        .raw("application/json", huge)
        .send()
        .await;
    assert_eq!(res.status, 413, "oversize body");
    for (query, field) in [
        ("lat=NaN&lon=101.8", "lat"),
        ("lat=36.6&lon=inf", "lon"),
        ("lat=96&lon=101.8", "lat"),
        ("lat=36.6&lon=-181", "lon"),
        ("lat=abc&lon=101.8", "lat"),
        ("lat=36.6&lon=101.8&crs=mars", "crs"),
        ("lat=36.6&lon=101.8&zoom=3", "zoom"),
    ] {
        let res = app
            .get(&format!("/api/v1/locate?{query}"))
            .token(&admin)
            .send()
            .await;
        assert!(matches!(res.status, 400 | 422), "{query}: {}", res.text);
        assert_eq!(res.body["field"], field, "{query}: {}", res.text);
    }
    assert_eq!(
        community_count(&app, &admin).await,
        before,
        "nothing was written"
    );
    let res = app
        .post("/api/v1/communities")
        .token(&admin)
        .json(good.clone())
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let res = app
        .post("/api/v1/communities")
        .token(&admin)
        .json(good)
        .send()
        .await;
    assert_eq!(res.status, 409, "duplicate code");
    assert_eq!(community_count(&app, &admin).await, before + 1);
}

async fn points_are_placed_in_community_and_grid_cell_in_every_crs(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    // 36.605 N, 101.802 E lies in C1 and its west-half grid cell.
    let (lat, lon) = (36.605, 101.802);
    let res = app
        .get(&format!("/api/v1/locate?lat={lat}&lon={lon}"))
        .token(&officer)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["community"]["code"], "C1");
    assert_eq!(res.body["grid_cell"]["code"], "C1-G1");
    // The same place as a WeChat (GCJ-02) and a Baidu (BD-09) map SDK report it.
    let (glon, glat) = coordtransform_gcj(lon, lat);
    let res = app
        .get(&format!("/api/v1/locate?lat={glat}&lon={glon}&crs=gcj02"))
        .token(&officer)
        .send()
        .await;
    assert_eq!(res.body["community"]["code"], "C1", "{}", res.text);
    assert!((res.body["lat"].as_f64().unwrap() - lat).abs() < 1e-4);
    assert!((res.body["lon"].as_f64().unwrap() - lon).abs() < 1e-4);
    // The conversion really happened: GCJ-02 numbers sit hundreds of metres from WGS-84.
    assert!(
        (glon - lon).abs() + (glat - lat).abs() > 1e-3,
        "fixture: GCJ-02 shift expected"
    );
    let res = app
        .get(&format!("/api/v1/locate?lat={glat}&lon={glon}"))
        .token(&officer)
        .send()
        .await;
    assert!(
        (res.body["lon"].as_f64().unwrap() - glon).abs() < 1e-9,
        "WGS-84 input is stored as is"
    );
    let (blon, blat) = coordtransform_bd(lon, lat);
    let res = app
        .get(&format!("/api/v1/locate?lat={blat}&lon={blon}&crs=bd09"))
        .token(&officer)
        .send()
        .await;
    assert_eq!(res.body["community"]["code"], "C1");
    assert_eq!(res.body["grid_cell"]["code"], "C1-G1");
    // C3 and outside the district.
    let res = app
        .get("/api/v1/locate?lat=36.605&lon=101.825")
        .token(&officer)
        .send()
        .await;
    assert_eq!(res.body["community"]["code"], "C3");
    assert_eq!(res.body["grid_cell"], Value::Null);
    let res = app
        .get("/api/v1/locate?lat=30.0&lon=101.825")
        .token(&officer)
        .send()
        .await;
    assert_eq!(res.body["community"], Value::Null);
    // A boundary moved by an admin is seen by the next lookup.
    let admin = app.login_as("admin").await;
    let res = app
        .put("/api/v1/communities/C3/boundary")
        .token(&admin)
        .json(json!({"boundary": square(101.90)}))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = app
        .get("/api/v1/locate?lat=36.605&lon=101.825")
        .token(&officer)
        .send()
        .await;
    assert_eq!(res.body["community"], Value::Null);
}

fn coordtransform_gcj(lon: f64, lat: f64) -> (f64, f64) {
    coordtransform::wgs84_to_gcj02(lon, lat)
}

fn coordtransform_bd(lon: f64, lat: f64) -> (f64, f64) {
    coordtransform::wgs84_to_bd09(lon, lat)
}

async fn reads_by_code_check_scope(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    assert_eq!(
        app.get("/api/v1/communities/C1")
            .token(&officer)
            .send()
            .await
            .status,
        200
    );
    // Not theirs: indistinguishable from a community that does not exist.
    let other = app
        .get("/api/v1/communities/C3")
        .token(&officer)
        .send()
        .await;
    let missing = app
        .get("/api/v1/communities/C404")
        .token(&officer)
        .send()
        .await;
    assert_eq!(other.status, 404);
    assert_eq!(missing.status, 404);
    let page = app.get("/api/v1/communities").token(&officer).send().await;
    let codes: Vec<&str> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["C1"]);
    let me = app.get("/api/v1/me").token(&officer).send().await;
    assert_eq!(me.body["communities"], json!(["C1"]));
    // A supervisor covers the communities of their street.
    let leader = app.login_as("supervisor").await;
    let me = app.get("/api/v1/me").token(&leader).send().await;
    assert_eq!(me.body["communities"], json!(["C1", "C2"]));
    let personnel = app.get("/api/v1/personnel").token(&leader).send().await;
    let codes: Vec<&str> = personnel.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["community_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["C1", "C2"]);
    // A resident reading another account by id gets 404, as for an unknown id.
    let resident = app.login_as("resident").await;
    let officer_id = app.get("/api/v1/me").token(&officer).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get(&format!("/api/v1/users/{officer_id}"))
            .token(&resident)
            .send()
            .await
            .status,
        404
    );
    assert_eq!(
        app.get("/api/v1/users/nope")
            .token(&resident)
            .send()
            .await
            .status,
        404
    );
}

async fn assignments_keep_their_history(app: TestApp) {
    app.seed_fixture().await;
    let admin = app.login_as("admin").await;
    let officer = app.login_as("officer").await;
    let officer_id = app.get("/api/v1/me").token(&officer).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post("/api/v1/assignments")
        .token(&admin)
        .json(json!({"user_id": officer_id, "target_code": "C2", "reason": "cover for leave"}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let c2 = res.body["id"].as_str().unwrap().to_owned();
    let dup = app
        .post("/api/v1/assignments")
        .token(&admin)
        .json(json!({"user_id": officer_id, "target_code": "C2"}))
        .send()
        .await;
    assert_eq!(dup.status, 409);
    let me = app.get("/api/v1/me").token(&officer).send().await;
    assert_eq!(me.body["communities"], json!(["C1", "C2"]));
    let res = app
        .post(&format!("/api/v1/assignments/{c2}/end"))
        .token(&admin)
        .json(json!({"reason": "back from leave"}))
        .send()
        .await;
    assert_eq!(res.status, 200);
    assert!(res.body["ended_at"].is_string());
    let again = app
        .post(&format!("/api/v1/assignments/{c2}/end"))
        .token(&admin)
        .json(json!({"reason": "twice"}))
        .send()
        .await;
    assert_eq!(again.status, 409);
    let me = app.get("/api/v1/me").token(&officer).send().await;
    assert_eq!(me.body["communities"], json!(["C1"]));
    let history = app
        .get(&format!("/api/v1/assignments?user_id={officer_id}"))
        .token(&admin)
        .send()
        .await;
    let items = history.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "ended assignments stay in the history");
    assert!(
        items
            .iter()
            .any(|a| a["target_code"] == "C2" && a["reason"] == "back from leave")
    );
    // A resident cannot be assigned.
    let resident = app.login_as("resident").await;
    let rid = app.get("/api/v1/me").token(&resident).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post("/api/v1/assignments")
        .token(&admin)
        .json(json!({"user_id": rid, "target_code": "C1"}))
        .send()
        .await;
    assert_eq!(res.status, 422);
}

async fn the_public_studio_shows_who_is_responsible_without_contact_details(app: TestApp) {
    app.seed_fixture().await;
    let res = app.get("/api/v1/public/communities/C1/studio").send().await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["hotline"], "8805110");
    let names: Vec<&str> = res.body["responsible"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["display_name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&format!("{} name", fixture::OFFICER).as_str()),
        "{names:?}"
    );
    assert!(!res.text.contains("phone"));
    assert_eq!(res.body["duties"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/api/v1/public/communities/C404/studio")
            .send()
            .await
            .status,
        404
    );
}

async fn paging_walks_every_community_once(app: TestApp) {
    app.seed_fixture().await;
    let admin = app.login_as("admin").await;
    let mut seen = Vec::new();
    let mut path = "/api/v1/communities?limit=2".to_owned();
    loop {
        let res = app.get(&path).token(&admin).send().await;
        assert_eq!(res.status, 200);
        for c in res.body["items"].as_array().unwrap() {
            seen.push(c["code"].as_str().unwrap().to_owned());
        }
        match res.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/communities?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, vec!["C1", "C2", "C3"]);
    let res = app
        .get("/api/v1/communities?limit=0")
        .token(&admin)
        .send()
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.body["field"], "limit");
    let res = app
        .get("/api/v1/communities?cursor=%%%")
        .token(&admin)
        .send()
        .await;
    assert_eq!(res.status, 400);
}

/// An admin makes the joint-meeting office by its flag, not by leaving out a department
/// name: the office may carry a name, other departments must, and no other role can be
/// the office.
async fn the_joint_office_is_a_flag_and_departments_are_named(app: TestApp) {
    app.seed_fixture().await;
    let admin = app.login_as("admin").await;
    let create = |body: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.post("/api/v1/users")
                .token(&admin)
                .json(body)
                .send()
                .await
        }
    };
    let res = create(json!({"login": "office2", "role": "department", "display_name": "区联席办",
        "password": "office-password", "department_name": "区城市管理联席会议办公室", "joint_office": true}))
    .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["joint_office"], true);
    let res = create(
        json!({"login": "dept.noname", "role": "department", "display_name": "某部门",
        "password": "dept-password"}),
    )
    .await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert_eq!(res.body["field"], "department_name");
    let res = create(
        json!({"login": "officer.office", "role": "officer", "display_name": "队员",
        "password": "officer-password", "joint_office": true}),
    )
    .await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert_eq!(res.body["field"], "joint_office");
    // The named office acts as the office.
    let office = app.login("office2", "office-password").await;
    let queue = app.get("/api/v1/escalations").token(&office).send().await;
    assert_eq!(queue.status, 200, "{}", queue.text);
}

on_both_backends!(
    the_joint_office_is_a_flag_and_departments_are_named,
    bad_input_gets_a_problem_naming_the_field_and_changes_nothing,
    points_are_placed_in_community_and_grid_cell_in_every_crs,
    reads_by_code_check_scope,
    assignments_keep_their_history,
    the_public_studio_shows_who_is_responsible_without_contact_details,
    paging_walks_every_community_once,
);
