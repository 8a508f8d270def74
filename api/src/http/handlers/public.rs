//! Unauthenticated views: the community studio (城管社区工作室) that shows residents who is
//! responsible for their community, their duties, how a problem is handled and where
//! the service stations are; and the station list.

use actix_web::{HttpResponse, web};
use patrol_domain::DomainError;
use patrol_domain::geometry::{Crs, LatLon};
use patrol_domain::org::{parse_code, parse_name};
use patrol_domain::role::Role;
use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;
use crate::db::ids::{new_id, now_ms};
use crate::db::store::{self, StationRow};
use crate::db::write_tx;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

#[derive(Debug, Serialize)]
pub struct StationView {
    pub code: String,
    pub name: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    pub opening_hours: String,
}

impl From<StationRow> for StationView {
    fn from(r: StationRow) -> Self {
        Self {
            code: r.code,
            name: r.name,
            address: r.address,
            lat: r.lat,
            lon: r.lon,
            opening_hours: r.opening_hours,
        }
    }
}

pub async fn list_stations(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let rows = state.run_db(store::stations).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(StationView::from).collect::<Vec<_>>()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateStationRequest {
    pub code: String,
    pub name: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    pub crs: Option<String>,
    pub opening_hours: String,
    pub community_code: Option<String>,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_station(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::http::extract::Json<CreateStationRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let b = body.into_inner();
    let code = parse_code("code", &b.code)?;
    let name = parse_name("name", &b.name)?;
    let address = parse_name("address", &b.address)?;
    let hours = parse_name("opening_hours", &b.opening_hours)?;
    let crs: Crs = b
        .crs
        .as_deref()
        .map(str::parse)
        .transpose()?
        .unwrap_or_default();
    let at = LatLon::parse(b.lat, b.lon, crs, "")?;
    let row = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<StationRow> {
                let district = store::district(conn)?
                    .ok_or_else(|| ApiError::Conflict("create the district first".into()))?;
                let community_id = match b.community_code.as_deref() {
                    Some(c) => Some(
                        store::community_by_code(conn, c)?
                            .ok_or_else(|| {
                                DomainError::invalid(
                                    "community_code",
                                    format!("no community with code {c:?}"),
                                )
                            })?
                            .id,
                    ),
                    None => None,
                };
                let now = now_ms();
                let row = StationRow {
                    id: new_id(),
                    district_id: district.id,
                    community_id,
                    code,
                    name,
                    address,
                    lat: at.lat,
                    lon: at.lon,
                    opening_hours: hours,
                    created_at: now,
                    updated_at: now,
                };
                store::insert_station(conn, &row)?;
                Ok(row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(StationView::from(row)))
}

#[derive(Debug, Serialize)]
pub struct StudioPerson {
    /// `officer` or `party_member`.
    pub role: String,
    pub display_name: String,
}

#[derive(Debug, Serialize)]
pub struct StudioDuty {
    pub title_zh: String,
    pub title_en: String,
    pub applies_to: String,
}

#[derive(Debug, Serialize)]
pub struct StudioView {
    pub community_code: String,
    pub community_name: String,
    pub street_name: String,
    pub hotline: String,
    pub responsible: Vec<StudioPerson>,
    pub duties: Vec<StudioDuty>,
    pub service_process: Vec<&'static str>,
    pub stations: Vec<StationView>,
}

/// How a problem is handled, as the studio shows it (DOMAIN.md, "Rules of the work").
const SERVICE_PROCESS: [&str; 5] = [
    "报告问题 Report: mini-app, hotline, contact card or the officer in person",
    "首接负责 First contact owns the problem until it is solved or handed over",
    "社区内解决 Solved in the community where possible (inner loop)",
    "联席会议 Escalated to the district joint-meeting office when several departments are needed",
    "群众评价 The reporter rates the result and says whether it holds",
];

pub async fn get_community_studio(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let code = path.into_inner();
    let view = state
        .run_db(move |conn| -> ApiResult<StudioView> {
            let c = store::community_by_code(conn, &code)?
                .ok_or_else(|| ApiError::NotFound(format!("community {code}")))?;
            let street = store::street_by_id(conn, &c.street_id)?;
            let district = store::district(conn)?;
            let assignments = store::current_assignments_to(conn, std::slice::from_ref(&c.id))?;
            let ids: Vec<String> = assignments.iter().map(|a| a.user_id.clone()).collect();
            let users = store::users_by_ids(conn, &ids)?;
            let mut responsible: Vec<StudioPerson> = assignments
                .iter()
                .filter_map(|a| {
                    let role = match a.kind.as_str() {
                        "officer_community" => "officer",
                        "party_member_community" => "party_member",
                        _ => return None,
                    };
                    users
                        .iter()
                        .find(|u| u.id == a.user_id && u.active)
                        .map(|u| StudioPerson {
                            role: role.into(),
                            display_name: u.display_name.clone(),
                        })
                })
                .collect();
            responsible.sort_by(|a, b| a.role.cmp(&b.role));
            Ok(StudioView {
                community_code: c.code,
                community_name: c.name,
                street_name: street.map(|s| s.name).unwrap_or_default(),
                hotline: district.map(|d| d.hotline).unwrap_or_default(),
                responsible,
                duties: store::duties(conn)?
                    .into_iter()
                    .filter(|d| d.active)
                    .map(|d| StudioDuty {
                        title_zh: d.title_zh,
                        title_en: d.title_en,
                        applies_to: d.applies_to,
                    })
                    .collect(),
                service_process: SERVICE_PROCESS.to_vec(),
                stations: store::stations(conn)?
                    .into_iter()
                    .map(StationView::from)
                    .collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
