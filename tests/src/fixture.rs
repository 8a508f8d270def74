//! A small organisation written straight into a test database: one district, two streets,
//! three square communities near Xining, and one account per role.

use std::sync::LazyLock;

use patrol_api::auth::password::hash_blocking;
use patrol_api::commands::people::{NewUser, assign, insert_staff};
use patrol_api::db::ids::{new_id, now_ms};
use patrol_api::db::store::{
    self, CategoryRow, CommunityRow, DistrictRow, DutyRow, GridCellRow, StreetRow, UserRow,
};
use patrol_api::db::{self, DatabaseUrl};
use serde_json::{Value, json};

/// Every fixture account's password.
pub const PASSWORD: &str = "fixture-password-1";

static HASH: LazyLock<String> = LazyLock::new(|| hash_blocking(PASSWORD).expect("hash"));

/// A resident's phone (their login).
pub const RESIDENT_PHONE: &str = "13900000001";

/// Logins of the fixture accounts, by role.
pub const ADMIN: &str = "admin";
pub const OFFICER: &str = "officer.c1";
pub const OFFICER_C3: &str = "officer.c3";
pub const PARTY: &str = "party.c1";
pub const STAFF: &str = "staff.c1";
pub const SUPERVISOR: &str = "leader.s1";
pub const DEPARTMENT: &str = "lianxiban";
/// Departments the joint-meeting office coordinates: (login, department name).
pub const DEPARTMENTS: [(&str, &str); 3] = [
    ("dept.water", "自来水公司"),
    ("dept.power", "供电公司"),
    ("dept.housing", "住建局"),
];
/// A second resident, for privacy checks.
pub const RESIDENT_PHONE_2: &str = "13900000002";

/// A square community boundary: `[lon0, lon0+0.01] × [36.60, 36.61]`.
pub fn square(lon0: f64) -> Value {
    let (a, b) = (lon0, lon0 + 0.01);
    json!({"type": "Polygon", "coordinates": [[[a, 36.60], [b, 36.60], [b, 36.61], [a, 36.61], [a, 36.60]]]})
}

fn community(street_id: &str, code: &str, lon0: f64) -> CommunityRow {
    let now = now_ms();
    let b = patrol_domain::geometry::Boundary::from_geojson(
        &square(lon0),
        Default::default(),
        "boundary",
    )
    .expect("square");
    CommunityRow {
        id: new_id(),
        street_id: street_id.into(),
        code: code.into(),
        name: format!("{code}社区"),
        boundary: b.to_geojson().to_string(),
        min_lat: 36.60,
        min_lon: lon0,
        max_lat: 36.61,
        max_lon: lon0 + 0.01,
        created_at: now,
        updated_at: now,
        lead_user_id: None,
        whistle_sign_off: true,
        whistle_take_minutes: patrol_domain::whistle::DEFAULT_TAKE_MINUTES,
    }
}

/// Writes the fixture organisation and accounts.
pub fn seed(url: &str) {
    let pool = db::connect(&DatabaseUrl::parse(url).expect("url"), 1).expect("pool");
    let mut conn = pool.get().expect("conn");
    db::migrate(&mut conn).expect("migrate");
    let now = now_ms();
    let district_id = new_id();
    store::insert_district(
        &mut conn,
        &DistrictRow {
            id: district_id.clone(),
            code: "T01".into(),
            name: "测试区".into(),
            timezone: "Asia/Shanghai".into(),
            hotline: "8805110".into(),
            created_at: now,
            updated_at: now,
        },
    )
    .expect("district");
    let mut street_ids = Vec::new();
    for code in ["S1", "S2"] {
        let id = new_id();
        store::insert_street(
            &mut conn,
            &StreetRow {
                id: id.clone(),
                district_id: district_id.clone(),
                code: code.into(),
                name: format!("{code}街道"),
                kind: "sub_district".into(),
                created_at: now,
                updated_at: now,
            },
        )
        .expect("street");
        street_ids.push(id);
    }
    let c1 = community(&street_ids[0], "C1", 101.80);
    store::insert_community(&mut conn, &c1).expect("c1");
    store::insert_community(&mut conn, &community(&street_ids[0], "C2", 101.81)).expect("c2");
    store::insert_community(&mut conn, &community(&street_ids[1], "C3", 101.82)).expect("c3");
    let half = json!({"type": "Polygon", "coordinates": [[[101.80, 36.60], [101.805, 36.60], [101.805, 36.61], [101.80, 36.61], [101.80, 36.60]]]});
    let hb = patrol_domain::geometry::Boundary::from_geojson(&half, Default::default(), "boundary")
        .expect("half");
    store::insert_grid_cell(
        &mut conn,
        &GridCellRow {
            id: new_id(),
            community_id: c1.id.clone(),
            code: "C1-G1".into(),
            name: "C1第一网格".into(),
            boundary: hb.to_geojson().to_string(),
            created_at: now,
            updated_at: now,
        },
    )
    .expect("grid cell");
    store::insert_duty(
        &mut conn,
        &DutyRow {
            id: new_id(),
            code: "twice_weekly_visits".into(),
            title_zh: "每周不少于2次走访".into(),
            title_en: "Visit every assigned community at least twice a week".into(),
            applies_to: "officer".into(),
            sort_order: 1,
            active: true,
            created_at: now,
            updated_at: now,
        },
    )
    .expect("duty");
    store::insert_category(
        &mut conn,
        &CategoryRow {
            id: new_id(),
            code: "garbage_pile".into(),
            kind: "key_item".into(),
            group_code: "environment".into(),
            group_zh: "环境卫生".into(),
            group_en: "Sanitation".into(),
            name_zh: "垃圾堆放".into(),
            name_en: "Garbage piles".into(),
            sla_hours: 48,
            default_class_721: "service".into(),
            duplicate_radius_m: 250,
            active: true,
            created_at: now,
            updated_at: now,
            accept_hours: 24,
            close_hours: 96,
        },
    )
    .expect("category");
    store::insert_category(
        &mut conn,
        &CategoryRow {
            id: new_id(),
            code: "illegal_parking".into(),
            kind: "key_item".into(),
            group_code: "traffic".into(),
            group_zh: "交通秩序".into(),
            group_en: "Traffic order".into(),
            name_zh: "违章停车".into(),
            name_en: "Illegal parking".into(),
            sla_hours: 4,
            default_class_721: "management".into(),
            duplicate_radius_m: 50,
            active: true,
            created_at: now,
            updated_at: now,
            accept_hours: 1,
            close_hours: 8,
        },
    )
    .expect("category");
    let staff = [
        (ADMIN, "admin", vec![]),
        (OFFICER, "officer", vec!["C1"]),
        (OFFICER_C3, "officer", vec!["C3"]),
        (PARTY, "party_member", vec!["C1"]),
        (STAFF, "community_staff", vec!["C1"]),
        (SUPERVISOR, "supervisor", vec!["S1"]),
        (DEPARTMENT, "department", vec![]),
    ];
    for (login, role, covers) in staff {
        let new = NewUser::parse(login, role, &format!("{login} name"), None, None)
            .and_then(|n| n.joint_office(login == DEPARTMENT))
            .expect("new user");
        let row = insert_staff(&mut conn, new, HASH.clone(), None).expect("insert staff");
        for code in covers {
            assign(&mut conn, &row.id, code, None, None).expect("assign");
        }
    }
    for (login, name) in DEPARTMENTS {
        let new = NewUser::parse(login, "department", name, None, Some(name)).expect("department");
        insert_staff(&mut conn, new, HASH.clone(), None).expect("insert department");
    }
    for (phone, name) in [(RESIDENT_PHONE, "居民甲"), (RESIDENT_PHONE_2, "居民乙")] {
        store::insert_user(
            &mut conn,
            &UserRow {
                id: new_id(),
                login: phone.into(),
                role: "resident".into(),
                display_name: name.into(),
                phone: Some(phone.into()),
                password_hash: HASH.clone(),
                squad_id: None,
                department_name: None,
                joint_office: false,
                hotline_intake: false,
                active: true,
                created_by: None,
                created_at: now,
                updated_at: now,
            },
        )
        .expect("resident");
    }
}

/// The login of the fixture account for a role.
pub fn login_for(role: &str) -> &'static str {
    match role {
        "admin" => ADMIN,
        "officer" => OFFICER,
        "party_member" => PARTY,
        "community_staff" => STAFF,
        "supervisor" => SUPERVISOR,
        "department" => DEPARTMENT,
        _ => RESIDENT_PHONE,
    }
}

impl crate::TestApp {
    /// Seeds the fixture organisation into this app's database.
    pub async fn seed_fixture(&self) {
        let url = self.db.url().to_owned();
        tokio::task::spawn_blocking(move || seed(&url))
            .await
            .expect("seed task");
    }

    /// Signs in as a fixture account by its login.
    pub async fn login_as_login(&self, login: &str) -> String {
        self.login(login, PASSWORD).await
    }

    /// Signs in as the fixture account of `role`.
    pub async fn login_as(&self, role: &str) -> String {
        self.login(login_for(role), PASSWORD).await
    }
}
