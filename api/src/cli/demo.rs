//! `patrol demo`: seeds the demo district into an empty database, once. Running it again
//! changes nothing.

use patrol_domain::seed::{self, DemoDistrict};

use crate::auth::password::hash_blocking;
use crate::auth::random_token;
use crate::commands::people::assign_from;
use crate::db::ids::{new_id, now_ms};
use crate::db::store::{
    self, CategoryRow, CommunityRow, CompoundRow, DistrictRow, DutyRow, GridCellRow, SquadRow,
    StationRow, StreetRow, UserRow,
};
use crate::db::{DbConn, write_tx};
use crate::infra::error::{ApiError, ApiResult};

/// A demo account and its one-time-printed password.
pub struct DemoLogin {
    pub role: &'static str,
    pub login: String,
    pub password: String,
    pub covers: String,
}

const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "马", "祁", "韩", "朱", "鲁",
];
const GIVEN: [&str; 12] = [
    "建国", "海燕", "志强", "丽娟", "永平", "晓东", "红梅", "德福", "玉兰", "国栋", "秀英", "成林",
];

fn person_name(i: usize) -> String {
    format!(
        "{}{}",
        SURNAMES[i % SURNAMES.len()],
        GIVEN[(i * 7 + i / 12) % GIVEN.len()]
    )
}

/// How long before seeding the demo's pairings began: long enough that visits from the
/// past weeks (yesterday's too) fall inside an officer's assignment.
const PAIRED_DAYS_AGO: i64 = 90;

/// Departments the demo's joint-meeting office tasks: (login, department name).
pub const DEMO_DEPARTMENTS: [(&str, &str); 5] = [
    ("dept.water", "自来水公司"),
    ("dept.power", "供电公司"),
    ("dept.gas", "燃气公司"),
    ("dept.housing", "区住房和城乡建设局"),
    ("dept.greening", "区园林绿化局"),
];

struct PlannedUser {
    row: UserRow,
    password: String,
    covers: Vec<String>,
    /// The street whose squad (执法中队) the account belongs to.
    squad_street: Option<String>,
}

/// A demo staff phone number: `1390972NNNN`, distinct per account.
fn staff_phone(n: usize) -> Option<String> {
    Some(format!("1390972{:04}", n % 10_000))
}

fn planned(
    role: &'static str,
    login: String,
    name: String,
    phone: Option<String>,
    dept: Option<&str>,
    covers: Vec<String>,
) -> Result<PlannedUser, String> {
    let password = random_token(9);
    let now = now_ms();
    Ok(PlannedUser {
        row: UserRow {
            id: new_id(),
            login,
            role: role.into(),
            display_name: name,
            phone,
            password_hash: hash_blocking(&password)?,
            squad_id: None,
            department_name: dept.map(str::to_owned),
            joint_office: false,
            hotline_intake: false,
            active: true,
            created_by: None,
            created_at: now,
            updated_at: now,
        },
        password,
        covers,
        squad_street: None,
    })
}

/// The accounts of the demo: 35 officers (each in their street's squad) and 35 party
/// members one-to-one with the communities, bureau leaders each covering two streets,
/// community staff, residents, the joint-meeting office, the departments it tasks and an
/// admin. Staff have phone numbers, so contact lists have something to show.
fn plan_users(d: &DemoDistrict) -> Result<Vec<PlannedUser>, String> {
    let communities: Vec<(&str, &seed::DemoCommunity)> = d
        .streets
        .iter()
        .flat_map(|s| s.communities.iter().map(move |c| (s.code.as_str(), c)))
        .collect();
    let mut phones = 0..;
    let mut phone = || phones.next().and_then(staff_phone);
    let mut users = Vec::new();
    users.push(planned(
        "admin",
        "admin".into(),
        "系统管理员".into(),
        None,
        None,
        vec![],
    )?);
    for (i, (street, c)) in communities.iter().enumerate() {
        let n = i + 1;
        let mut officer = planned(
            "officer",
            format!("officer{n:02}"),
            person_name(i),
            phone(),
            None,
            vec![c.code.clone()],
        )?;
        officer.squad_street = Some((*street).to_owned());
        users.push(officer);
        users.push(planned(
            "party_member",
            format!("party{n:02}"),
            person_name(i + 40),
            phone(),
            None,
            vec![c.code.clone()],
        )?);
    }
    let streets: Vec<&str> = d.streets.iter().map(|s| s.code.as_str()).collect();
    for (i, pair) in streets.chunks(2).enumerate() {
        let mut covers: Vec<String> = pair.iter().map(|s| (*s).to_owned()).collect();
        if covers.len() == 1 {
            // An odd street out: its leader also covers the first street (包保 two each).
            covers.push(streets[0].to_owned());
        }
        let mut leader = planned(
            "supervisor",
            format!("leader{}", i + 1),
            person_name(i + 80),
            phone(),
            None,
            covers,
        )?;
        leader.squad_street = pair.first().map(|s| (*s).to_owned());
        users.push(leader);
    }
    for (i, (_, c)) in communities.iter().take(3).enumerate() {
        users.push(planned(
            "community_staff",
            format!("staff{:02}", i + 1),
            person_name(i + 90),
            phone(),
            None,
            vec![c.code.clone()],
        )?);
    }
    for i in 0..3 {
        let phone = format!("1390971{:04}", i + 1);
        users.push(planned(
            "resident",
            phone.clone(),
            person_name(i + 100),
            Some(phone),
            None,
            vec![],
        )?);
    }
    let mut office = planned(
        "department",
        "lianxiban".into(),
        "区联席办".into(),
        phone(),
        Some("区城市管理联席会议办公室"),
        vec![],
    )?;
    office.row.joint_office = true;
    users.push(office);
    // The city hotline's integration account (12345): transfers tickets in, nothing else.
    let mut hotline = planned(
        "department",
        "hotline12345".into(),
        "12345市民服务热线".into(),
        None,
        Some("12345市民服务热线"),
        vec![],
    )?;
    hotline.row.hotline_intake = true;
    users.push(hotline);
    for (login, name) in DEMO_DEPARTMENTS {
        users.push(planned(
            "department",
            login.into(),
            name.into(),
            phone(),
            Some(name),
            vec![],
        )?);
    }
    Ok(users)
}

/// Inserts the organisation; returns each street's squad id by street code.
fn insert_org(
    conn: &mut DbConn,
    d: &DemoDistrict,
) -> ApiResult<std::collections::HashMap<String, String>> {
    let now = now_ms();
    let mut squads = std::collections::HashMap::new();
    let district_id = new_id();
    store::insert_district(
        conn,
        &DistrictRow {
            id: district_id.clone(),
            code: d.code.clone(),
            name: d.name.clone(),
            timezone: d.timezone.clone(),
            hotline: d.hotline.clone(),
            created_at: now,
            updated_at: now,
        },
    )?;
    for s in &d.streets {
        let street_id = new_id();
        store::insert_street(
            conn,
            &StreetRow {
                id: street_id.clone(),
                district_id: district_id.clone(),
                code: s.code.clone(),
                name: s.name.clone(),
                kind: s.kind.as_str().into(),
                created_at: now,
                updated_at: now,
            },
        )?;
        let squad_id = new_id();
        squads.insert(s.code.clone(), squad_id.clone());
        store::insert_squad(
            conn,
            &SquadRow {
                id: squad_id,
                street_id: Some(street_id.clone()),
                code: format!("{}-SQ", s.code),
                name: format!(
                    "{}执法中队",
                    s.name.trim_end_matches("街道").trim_end_matches('镇')
                ),
                created_at: now,
                updated_at: now,
            },
        )?;
        for c in &s.communities {
            let (min, max) = c.boundary.bbox().ok_or_else(|| {
                ApiError::Internal(format!("{} has an empty boundary", c.code).into())
            })?;
            let community_id = new_id();
            store::insert_community(
                conn,
                &CommunityRow {
                    id: community_id.clone(),
                    street_id: street_id.clone(),
                    code: c.code.clone(),
                    name: c.name.clone(),
                    boundary: c.boundary.to_geojson().to_string(),
                    min_lat: min.lat,
                    min_lon: min.lon,
                    max_lat: max.lat,
                    max_lon: max.lon,
                    created_at: now,
                    updated_at: now,
                    lead_user_id: None,
                    whistle_sign_off: true,
                    whistle_take_minutes: patrol_domain::whistle::DEFAULT_TAKE_MINUTES,
                },
            )?;
            for g in &c.grid_cells {
                store::insert_grid_cell(
                    conn,
                    &GridCellRow {
                        id: new_id(),
                        community_id: community_id.clone(),
                        code: g.code.clone(),
                        name: g.name.clone(),
                        boundary: g.boundary.to_geojson().to_string(),
                        created_at: now,
                        updated_at: now,
                    },
                )?;
            }
            for name in &c.compounds {
                store::insert_compound(
                    conn,
                    &CompoundRow {
                        id: new_id(),
                        community_id: community_id.clone(),
                        name: name.clone(),
                        created_at: now,
                    },
                )?;
            }
        }
    }
    for st in &d.stations {
        let community_id = store::community_by_code(conn, &st.community_code)?.map(|c| c.id);
        store::insert_station(
            conn,
            &StationRow {
                id: new_id(),
                district_id: district_id.clone(),
                community_id,
                code: st.code.clone(),
                name: st.name.clone(),
                address: st.address.clone(),
                lat: st.location.lat,
                lon: st.location.lon,
                opening_hours: st.opening_hours.clone(),
                created_at: now,
                updated_at: now,
            },
        )?;
    }
    for (i, duty) in seed::post_duties().into_iter().enumerate() {
        store::insert_duty(
            conn,
            &DutyRow {
                id: new_id(),
                code: duty.code,
                title_zh: duty.title_zh,
                title_en: duty.title_en,
                applies_to: duty.applies_to.as_str().into(),
                sort_order: i32::try_from(i + 1).unwrap_or(i32::MAX),
                active: true,
                created_at: now,
                updated_at: now,
            },
        )?;
    }
    for c in seed::categories() {
        let hours = patrol_domain::case::deadline::Hours::with_defaults(c.sla_hours);
        store::insert_category(
            conn,
            &CategoryRow {
                id: new_id(),
                code: c.code,
                kind: c.kind.as_str().into(),
                group_code: c.group_code,
                group_zh: c.group_zh,
                group_en: c.group_en,
                name_zh: c.name_zh,
                name_en: c.name_en,
                sla_hours: i32::try_from(c.sla_hours).unwrap_or(i32::MAX),
                default_class_721: c.default_class_721.as_str().into(),
                duplicate_radius_m: i32::try_from(c.duplicate_radius_m).unwrap_or(i32::MAX),
                active: true,
                created_at: now,
                updated_at: now,
                accept_hours: i32::try_from(hours.accept).unwrap_or(i32::MAX),
                close_hours: i32::try_from(hours.close).unwrap_or(i32::MAX),
            },
        )?;
    }
    Ok(squads)
}

/// Seeds the demo district unless the database already has a district. Returns the new
/// accounts with their passwords, or `None` when nothing was done.
pub fn seed_demo(conn: &mut DbConn) -> ApiResult<Option<Vec<DemoLogin>>> {
    if store::district(conn)?.is_some() {
        return Ok(None);
    }
    let district = seed::demo_district();
    // Hash outside the transaction: ~90 argon2 hashes should not hold the write lock.
    let users = plan_users(&district).map_err(|e| ApiError::Internal(e.into()))?;
    write_tx(conn, |conn| -> ApiResult<Option<Vec<DemoLogin>>> {
        // Checked again under the write lock: two seeders at once seed once.
        if store::district(conn)?.is_some() {
            return Ok(None);
        }
        let squads = insert_org(conn, &district)?;
        let paired_since = now_ms() - PAIRED_DAYS_AGO * 24 * 3600 * 1000;
        let mut logins = Vec::with_capacity(users.len());
        for mut u in users {
            u.row.squad_id = u
                .squad_street
                .as_ref()
                .and_then(|street| squads.get(street).cloned());
            store::insert_user(conn, &u.row)?;
            for code in &u.covers {
                assign_from(
                    conn,
                    &u.row.id,
                    code,
                    Some("demo".into()),
                    None,
                    paired_since,
                )?;
            }
            let covers = match (&u.row.department_name, u.row.joint_office) {
                (_, true) => "joint-meeting office (区联席办)".to_owned(),
                _ if u.row.hotline_intake => "hotline intake (12345)".to_owned(),
                (Some(name), false) => name.clone(),
                (None, false) => u.covers.join(","),
            };
            logins.push(DemoLogin {
                role: match u.row.role.as_str() {
                    "admin" => "admin",
                    "officer" => "officer",
                    "party_member" => "party_member",
                    "supervisor" => "supervisor",
                    "community_staff" => "community_staff",
                    "resident" => "resident",
                    _ => "department",
                },
                login: u.row.login,
                password: u.password,
                covers,
            });
        }
        Ok(Some(logins))
    })
}
