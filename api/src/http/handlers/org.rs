//! The organisation: the district, its streets (towns and sub-districts), communities
//! with boundaries, grid cells, squads, and the point lookup.

use actix_web::{HttpResponse, web};
use patrol_domain::DomainError;
use patrol_domain::geometry::{Boundary, Crs, LatLon};
use patrol_domain::org::{parse_code, parse_name};
use patrol_domain::role::{Role, Scope};
use serde::{Deserialize, Serialize};

use super::{make_page, page_params};
use crate::auth::AuthUser;
use crate::commands::scope::{scope_of, visible_community};
use crate::db::ids::{new_id, now_ms, rfc3339};
use crate::db::store::{self, CommunityRow, DistrictRow, GridCellRow, SquadRow, StreetRow};
use crate::db::{DbConn, write_tx};
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

fn parse_crs(raw: Option<&str>) -> Result<Crs, DomainError> {
    raw.map(str::parse)
        .transpose()
        .map(Option::unwrap_or_default)
}

// ---- district -------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct DistrictView {
    pub code: String,
    pub name: String,
    pub timezone: String,
    pub hotline: String,
    pub streets: Vec<StreetView>,
}

#[derive(Debug, Serialize)]
pub struct StreetView {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub created_at: String,
}

impl From<StreetRow> for StreetView {
    fn from(r: StreetRow) -> Self {
        Self {
            code: r.code,
            name: r.name,
            kind: r.kind,
            created_at: rfc3339(r.created_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutDistrictRequest {
    pub code: String,
    pub name: String,
    pub timezone: String,
    pub hotline: String,
}

fn district_view(conn: &mut DbConn) -> ApiResult<DistrictView> {
    let d = store::district(conn)?.ok_or_else(|| ApiError::NotFound("district".into()))?;
    Ok(DistrictView {
        code: d.code,
        name: d.name,
        timezone: d.timezone,
        hotline: d.hotline,
        streets: store::streets(conn)?
            .into_iter()
            .map(StreetView::from)
            .collect(),
    })
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_district(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let _ = user;
    let view = state.run_db(district_view).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Creates the district on a fresh deployment; there is one district per database.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_district(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::http::extract::Json<PutDistrictRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let b = body.into_inner();
    let code = parse_code("code", &b.code)?;
    let name = parse_name("name", &b.name)?;
    b.timezone.parse::<chrono_tz::Tz>().map_err(|_| {
        DomainError::invalid("timezone", "must be an IANA time zone, e.g. Asia/Shanghai")
    })?;
    let hotline = parse_name("hotline", &b.hotline)?;
    let view = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<DistrictView> {
                if store::district(conn)?.is_some() {
                    return Err(ApiError::Conflict(
                        "this deployment already has its district".into(),
                    ));
                }
                let now = now_ms();
                let row = DistrictRow {
                    id: new_id(),
                    code,
                    name,
                    timezone: b.timezone,
                    hotline,
                    created_at: now,
                    updated_at: now,
                };
                store::insert_district(conn, &row)?;
                store::audit(
                    conn,
                    Some(&user.id),
                    "district.create",
                    "district",
                    &row.id,
                    serde_json::json!({"code": row.code}),
                )?;
                district_view(conn)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

// ---- streets --------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateStreetRequest {
    pub code: String,
    pub name: String,
    /// `town` (镇) or `sub_district` (街道).
    pub kind: String,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_streets(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let _ = user;
    let rows = state.run_db(store::streets).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(StreetView::from).collect::<Vec<_>>()))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_street(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::http::extract::Json<CreateStreetRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let b = body.into_inner();
    let code = parse_code("code", &b.code)?;
    let name = parse_name("name", &b.name)?;
    if !matches!(b.kind.as_str(), "town" | "sub_district") {
        return Err(DomainError::invalid("kind", "must be town or sub_district").into());
    }
    let row = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<StreetRow> {
                let district = store::district(conn)?
                    .ok_or_else(|| ApiError::Conflict("create the district first".into()))?;
                let now = now_ms();
                let row = StreetRow {
                    id: new_id(),
                    district_id: district.id,
                    code,
                    name,
                    kind: b.kind,
                    created_at: now,
                    updated_at: now,
                };
                store::insert_street(conn, &row)?;
                store::audit(
                    conn,
                    Some(&user.id),
                    "street.create",
                    "street",
                    &row.id,
                    serde_json::json!({"code": row.code}),
                )?;
                Ok(row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(StreetView::from(row)))
}

// ---- communities ----------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct CommunityView {
    pub id: String,
    pub code: String,
    pub name: String,
    pub street_code: String,
    /// GeoJSON MultiPolygon in WGS-84.
    pub boundary: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
}

fn community_view(row: CommunityRow, street_code: String) -> ApiResult<CommunityView> {
    Ok(CommunityView {
        boundary: serde_json::from_str(&row.boundary).map_err(ApiError::internal)?,
        id: row.id,
        code: row.code,
        name: row.name,
        street_code,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    })
}

fn street_codes(conn: &mut DbConn) -> ApiResult<std::collections::HashMap<String, String>> {
    Ok(store::streets(conn)?
        .into_iter()
        .map(|s| (s.id, s.code))
        .collect())
}

/// A boundary checked and converted to WGS-84, ready to store.
struct StoredBoundary {
    json: String,
    bbox: (f64, f64, f64, f64),
}

fn checked_boundary(value: &serde_json::Value, crs: Crs) -> Result<StoredBoundary, DomainError> {
    let b = Boundary::from_geojson(value, crs, "boundary")?;
    let (min, max) = b
        .bbox()
        .ok_or_else(|| DomainError::invalid("boundary", "the polygon is empty"))?;
    Ok(StoredBoundary {
        json: b.to_geojson().to_string(),
        bbox: (min.lat, min.lon, max.lat, max.lon),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCommunityRequest {
    pub code: String,
    pub name: String,
    pub street_code: String,
    /// GeoJSON Polygon or MultiPolygon.
    pub boundary: serde_json::Value,
    /// Coordinate system of `boundary`: wgs84 (default), gcj02 or bd09.
    pub crs: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundaryRequest {
    pub boundary: serde_json::Value,
    pub crs: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListCommunitiesQuery {
    pub street_code: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_communities(
    state: web::Data<AppState>,
    user: AuthUser,
    query: crate::http::extract::Query<ListCommunitiesQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let (limit, after) = page_params(q.limit, q.cursor.as_deref())?;
    let page = state
        .run_db(move |conn| -> ApiResult<_> {
            let street = match q.street_code.as_deref() {
                Some(code) => Some(
                    store::street_by_code(conn, code)?
                        .ok_or_else(|| ApiError::bad_field("street_code", "no such street"))?
                        .id,
                ),
                None => None,
            };
            let only = match (user.role, scope_of(conn, &user)?) {
                (
                    Role::Officer | Role::PartyMember | Role::CommunityStaff,
                    Scope::Communities(ids),
                ) => Some(ids),
                _ => None,
            };
            let rows = store::list_communities(
                conn,
                only.as_deref(),
                street.as_deref(),
                after.as_deref(),
                limit + 1,
            )?;
            let streets = street_codes(conn)?;
            let mut views = Vec::with_capacity(rows.len());
            let page = make_page(rows, limit, |r| r.code.clone(), |r| r);
            for r in page.items {
                let sc = streets.get(&r.street_id).cloned().unwrap_or_default();
                views.push(community_view(r, sc)?);
            }
            Ok(super::Page {
                items: views,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_community(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let code = path.into_inner();
    let view = state
        .run_db(move |conn| -> ApiResult<CommunityView> {
            let row = visible_community(conn, &user, &code)?;
            let sc = store::street_by_id(conn, &row.street_id)?
                .map(|s| s.code)
                .unwrap_or_default();
            community_view(row, sc)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_community(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::http::extract::Json<CreateCommunityRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let b = body.into_inner();
    let code = parse_code("code", &b.code)?;
    let name = parse_name("name", &b.name)?;
    let crs = parse_crs(b.crs.as_deref())?;
    let boundary = checked_boundary(&b.boundary, crs)?;
    let view = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<CommunityView> {
                let street = store::street_by_code(conn, &b.street_code)?.ok_or_else(|| {
                    DomainError::invalid(
                        "street_code",
                        format!("no street with code {:?}", b.street_code),
                    )
                })?;
                let now = now_ms();
                let (min_lat, min_lon, max_lat, max_lon) = boundary.bbox;
                let row = CommunityRow {
                    id: new_id(),
                    street_id: street.id,
                    code,
                    name,
                    boundary: boundary.json,
                    min_lat,
                    min_lon,
                    max_lat,
                    max_lon,
                    created_at: now,
                    updated_at: now,
                    lead_user_id: None,
                    whistle_sign_off: true,
                    whistle_take_minutes: patrol_domain::whistle::DEFAULT_TAKE_MINUTES,
                };
                store::insert_community(conn, &row)?;
                store::audit(
                    conn,
                    Some(&user.id),
                    "community.create",
                    "community",
                    &row.id,
                    serde_json::json!({"code": row.code}),
                )?;
                community_view(row, street.code)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn update_community_boundary(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: crate::http::extract::Json<BoundaryRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let code = path.into_inner();
    let b = body.into_inner();
    let crs = parse_crs(b.crs.as_deref())?;
    let boundary = checked_boundary(&b.boundary, crs)?;
    let view = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<CommunityView> {
                let row = store::community_by_code(conn, &code)?
                    .ok_or_else(|| ApiError::NotFound(format!("community {code}")))?;
                store::update_community_boundary(
                    conn,
                    &row.id,
                    &boundary.json,
                    boundary.bbox,
                    now_ms(),
                )?;
                store::audit(
                    conn,
                    Some(&user.id),
                    "community.boundary",
                    "community",
                    &row.id,
                    serde_json::json!({"code": code}),
                )?;
                let row = store::community_by_code(conn, &code)?
                    .ok_or_else(|| ApiError::NotFound(format!("community {code}")))?;
                let sc = store::street_by_id(conn, &row.street_id)?
                    .map(|s| s.code)
                    .unwrap_or_default();
                community_view(row, sc)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

// ---- grid cells -----------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct GridCellView {
    pub code: String,
    pub name: String,
    pub community_code: String,
    pub boundary: serde_json::Value,
}

fn grid_cell_view(row: GridCellRow, community_code: &str) -> ApiResult<GridCellView> {
    Ok(GridCellView {
        boundary: serde_json::from_str(&row.boundary).map_err(ApiError::internal)?,
        code: row.code,
        name: row.name,
        community_code: community_code.to_owned(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGridCellRequest {
    pub code: String,
    pub name: String,
    pub boundary: serde_json::Value,
    pub crs: Option<String>,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_grid_cells(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let code = path.into_inner();
    let views = state
        .run_db(move |conn| -> ApiResult<Vec<GridCellView>> {
            let c = visible_community(conn, &user, &code)?;
            store::grid_cells_of(conn, &c.id)?
                .into_iter()
                .map(|g| grid_cell_view(g, &c.code))
                .collect()
        })
        .await?;
    Ok(HttpResponse::Ok().json(views))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_grid_cell(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: crate::http::extract::Json<CreateGridCellRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let community_code = path.into_inner();
    let b = body.into_inner();
    let code = parse_code("code", &b.code)?;
    let name = parse_name("name", &b.name)?;
    let crs = parse_crs(b.crs.as_deref())?;
    let boundary = checked_boundary(&b.boundary, crs)?;
    let view = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<GridCellView> {
                let c = store::community_by_code(conn, &community_code)?
                    .ok_or_else(|| ApiError::NotFound(format!("community {community_code}")))?;
                let now = now_ms();
                let row = GridCellRow {
                    id: new_id(),
                    community_id: c.id,
                    code,
                    name,
                    boundary: boundary.json,
                    created_at: now,
                    updated_at: now,
                };
                store::insert_grid_cell(conn, &row)?;
                store::audit(
                    conn,
                    Some(&user.id),
                    "grid_cell.create",
                    "grid_cell",
                    &row.id,
                    serde_json::json!({"code": row.code}),
                )?;
                grid_cell_view(row, &c.code)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

// ---- point lookup ---------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocateQuery {
    pub lat: f64,
    pub lon: f64,
    pub crs: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PlaceView {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct LocateResponse {
    /// The point in WGS-84, as the server stores it.
    pub lat: f64,
    pub lon: f64,
    pub community: Option<PlaceView>,
    pub grid_cell: Option<PlaceView>,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn locate_point(
    state: web::Data<AppState>,
    user: AuthUser,
    query: crate::http::extract::Query<LocateQuery>,
) -> ApiResult<HttpResponse> {
    let _ = user;
    let q = query.into_inner();
    let crs = parse_crs(q.crs.as_deref())?;
    let point = LatLon::parse(q.lat, q.lon, crs, "")?;
    let st = state.clone();
    let locator = state.run_db(move |conn| st.locator.get(conn)).await?;
    let (community, cell) = locator.locate(&point);
    Ok(HttpResponse::Ok().json(LocateResponse {
        lat: point.lat,
        lon: point.lon,
        community: community.map(|p| PlaceView {
            code: p.code,
            name: p.name,
        }),
        grid_cell: cell.map(|p| PlaceView {
            code: p.code,
            name: p.name,
        }),
    }))
}

// ---- squads (属地执法中队) ------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct SquadView {
    pub code: String,
    pub name: String,
    pub street_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSquadRequest {
    pub code: String,
    pub name: String,
    pub street_code: Option<String>,
}

fn squad_view(row: SquadRow, streets: &std::collections::HashMap<String, String>) -> SquadView {
    SquadView {
        street_code: row.street_id.and_then(|s| streets.get(&s).cloned()),
        code: row.code,
        name: row.name,
    }
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_squads(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    if !user.role.can_read_organisation() {
        return Err(ApiError::Forbidden(format!(
            "the {} role may not read squads",
            user.role
        )));
    }
    let views = state
        .run_db(|conn| -> ApiResult<Vec<SquadView>> {
            let streets = street_codes(conn)?;
            Ok(store::squads(conn)?
                .into_iter()
                .map(|s| squad_view(s, &streets))
                .collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(views))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_squad(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::http::extract::Json<CreateSquadRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let b = body.into_inner();
    let code = parse_code("code", &b.code)?;
    let name = parse_name("name", &b.name)?;
    let view = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<SquadView> {
                let street_id = match b.street_code.as_deref() {
                    Some(sc) => Some(
                        store::street_by_code(conn, sc)?
                            .ok_or_else(|| {
                                DomainError::invalid(
                                    "street_code",
                                    format!("no street with code {sc:?}"),
                                )
                            })?
                            .id,
                    ),
                    None => None,
                };
                let now = now_ms();
                let row = SquadRow {
                    id: new_id(),
                    street_id,
                    code,
                    name,
                    created_at: now,
                    updated_at: now,
                };
                store::insert_squad(conn, &row)?;
                store::audit(
                    conn,
                    Some(&user.id),
                    "squad.create",
                    "squad",
                    &row.id,
                    serde_json::json!({"code": row.code}),
                )?;
                let streets = street_codes(conn)?;
                Ok(squad_view(row, &streets))
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}
