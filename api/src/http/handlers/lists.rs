//! The four lists (四张清单) as data: post duties, key management items and assist items
//! (both are problem categories), and the personnel list (in `people`).

use actix_web::{HttpResponse, web};
use patrol_domain::DomainError;
use patrol_domain::case::deadline::Hours;
use patrol_domain::org::{parse_code, parse_name};
use patrol_domain::role::Role;
use patrol_domain::seed::Class721;
use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;
use crate::db::ids::{new_id, now_ms, rfc3339};
use crate::db::store::{self, CategoryRow, DutyRow};
use crate::db::write_tx;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

// ---- duties ---------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct DutyView {
    pub code: String,
    pub title_zh: String,
    pub title_en: String,
    pub applies_to: String,
    pub sort_order: i32,
    pub active: bool,
    pub updated_at: String,
}

impl From<DutyRow> for DutyView {
    fn from(r: DutyRow) -> Self {
        Self {
            code: r.code,
            title_zh: r.title_zh,
            title_en: r.title_en,
            applies_to: r.applies_to,
            sort_order: r.sort_order,
            active: r.active,
            updated_at: rfc3339(r.updated_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DutyRequest {
    pub title_zh: String,
    pub title_en: String,
    /// `officer`, `party_member` or `both`.
    pub applies_to: String,
    pub sort_order: Option<i32>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateDutyRequest {
    pub code: String,
    #[serde(flatten)]
    pub fields: DutyRequest,
}

struct DutyFields {
    title_zh: String,
    title_en: String,
    applies_to: String,
    sort_order: i32,
    active: bool,
}

fn parse_duty(r: DutyRequest) -> Result<DutyFields, DomainError> {
    if !matches!(r.applies_to.as_str(), "officer" | "party_member" | "both") {
        return Err(DomainError::invalid(
            "applies_to",
            "must be officer, party_member or both",
        ));
    }
    Ok(DutyFields {
        title_zh: parse_name("title_zh", &r.title_zh)?,
        title_en: parse_name("title_en", &r.title_en)?,
        applies_to: r.applies_to,
        sort_order: r.sort_order.unwrap_or(100),
        active: r.active.unwrap_or(true),
    })
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_duties(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let _ = user;
    let rows = state.run_db(store::duties).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(DutyView::from).collect::<Vec<_>>()))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_duty(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::http::extract::Json<CreateDutyRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let b = body.into_inner();
    let code = parse_code("code", &b.code)?;
    let f = parse_duty(b.fields)?;
    let row = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<DutyRow> {
                let now = now_ms();
                let row = DutyRow {
                    id: new_id(),
                    code,
                    title_zh: f.title_zh,
                    title_en: f.title_en,
                    applies_to: f.applies_to,
                    sort_order: f.sort_order,
                    active: f.active,
                    created_at: now,
                    updated_at: now,
                };
                store::insert_duty(conn, &row)?;
                store::audit(
                    conn,
                    Some(&user.id),
                    "duty.create",
                    "duty",
                    &row.id,
                    serde_json::json!({ "code": row.code }),
                )?;
                Ok(row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(DutyView::from(row)))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn update_duty(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: crate::http::extract::Json<DutyRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let code = path.into_inner();
    let f = parse_duty(body.into_inner())?;
    let row = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<DutyRow> {
                let mut row = store::duty_by_code(conn, &code)?
                    .ok_or_else(|| ApiError::NotFound(format!("duty {code}")))?;
                row.title_zh = f.title_zh;
                row.title_en = f.title_en;
                row.applies_to = f.applies_to;
                row.sort_order = f.sort_order;
                row.active = f.active;
                row.updated_at = now_ms();
                store::update_duty(conn, &row)?;
                store::audit(
                    conn,
                    Some(&user.id),
                    "duty.update",
                    "duty",
                    &row.id,
                    serde_json::json!({ "code": row.code }),
                )?;
                Ok(row)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(DutyView::from(row)))
}

// ---- categories (key management items and assist items) -------------------------------

#[derive(Debug, Serialize)]
pub struct CategoryView {
    pub code: String,
    pub kind: String,
    pub group_code: String,
    pub group_zh: String,
    pub group_en: String,
    pub name_zh: String,
    pub name_en: String,
    pub sla_hours: i32,
    pub accept_hours: i32,
    pub close_hours: i32,
    pub default_class_721: String,
    pub duplicate_radius_m: i32,
    pub active: bool,
    pub updated_at: String,
}

impl From<CategoryRow> for CategoryView {
    fn from(r: CategoryRow) -> Self {
        Self {
            code: r.code,
            kind: r.kind,
            group_code: r.group_code,
            group_zh: r.group_zh,
            group_en: r.group_en,
            name_zh: r.name_zh,
            name_en: r.name_en,
            sla_hours: r.sla_hours,
            accept_hours: r.accept_hours,
            close_hours: r.close_hours,
            default_class_721: r.default_class_721,
            duplicate_radius_m: r.duplicate_radius_m,
            active: r.active,
            updated_at: rfc3339(r.updated_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRequest {
    /// `key_item` (重点管理事项) or `assist` (协助事项).
    pub kind: String,
    pub group_code: String,
    pub group_zh: String,
    pub group_en: String,
    pub name_zh: String,
    pub name_en: String,
    /// Hours to handle (处置), from the first dispatch.
    pub sla_hours: i32,
    /// Hours to accept (立案), from the report; default 24.
    pub accept_hours: Option<i32>,
    /// Hours to close (结案), from the first dispatch; default `sla_hours` + 48.
    pub close_hours: Option<i32>,
    pub default_class_721: String,
    pub duplicate_radius_m: Option<i32>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCategoryRequest {
    pub code: String,
    #[serde(flatten)]
    pub fields: CategoryRequest,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListCategoriesQuery {
    pub kind: Option<String>,
}

/// Default radius in which open cases of one category are offered as duplicates.
pub const DEFAULT_DUPLICATE_RADIUS_M: i32 = 250;

fn parse_kind(raw: &str) -> Result<String, DomainError> {
    match raw {
        "key_item" | "assist" => Ok(raw.to_owned()),
        _ => Err(DomainError::invalid("kind", "must be key_item or assist")),
    }
}

/// A category row with only its identity set; [`apply_category`] fills in the rest.
fn blank_category(id: String, code: String, at: i64) -> CategoryRow {
    CategoryRow {
        id,
        code,
        kind: String::new(),
        group_code: String::new(),
        group_zh: String::new(),
        group_en: String::new(),
        name_zh: String::new(),
        name_en: String::new(),
        sla_hours: 0,
        default_class_721: String::new(),
        duplicate_radius_m: 0,
        active: true,
        created_at: at,
        updated_at: at,
        accept_hours: 0,
        close_hours: 0,
    }
}

fn apply_category(row: &mut CategoryRow, r: CategoryRequest) -> Result<(), DomainError> {
    row.kind = parse_kind(&r.kind)?;
    row.group_code = parse_code("group_code", &r.group_code)?;
    row.group_zh = parse_name("group_zh", &r.group_zh)?;
    row.group_en = parse_name("group_en", &r.group_en)?;
    row.name_zh = parse_name("name_zh", &r.name_zh)?;
    row.name_en = parse_name("name_en", &r.name_en)?;
    let hours = |field: &str, v: i32| {
        u32::try_from(v)
            .map_err(|_| DomainError::invalid(field, "must be a positive number of hours"))
    };
    let handle = hours("sla_hours", r.sla_hours)?;
    let defaults = Hours::with_defaults(handle);
    let checked = Hours {
        accept: r
            .accept_hours
            .map(|v| hours("accept_hours", v))
            .transpose()?
            .unwrap_or(defaults.accept),
        handle,
        close: r
            .close_hours
            .map(|v| hours("close_hours", v))
            .transpose()?
            .unwrap_or(defaults.close),
    };
    checked.validate()?;
    let back = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    row.sla_hours = back(checked.handle);
    row.accept_hours = back(checked.accept);
    row.close_hours = back(checked.close);
    row.default_class_721 = r
        .default_class_721
        .parse::<Class721>()
        .map_err(|_| {
            DomainError::invalid(
                "default_class_721",
                "must be service, management or enforcement",
            )
        })?
        .as_str()
        .to_owned();
    let radius = r.duplicate_radius_m.unwrap_or(DEFAULT_DUPLICATE_RADIUS_M);
    if !(1..=10_000).contains(&radius) {
        return Err(DomainError::invalid(
            "duplicate_radius_m",
            "must be between 1 and 10000 metres",
        ));
    }
    row.duplicate_radius_m = radius;
    row.active = r.active.unwrap_or(true);
    Ok(())
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_categories(
    state: web::Data<AppState>,
    user: AuthUser,
    query: crate::http::extract::Query<ListCategoriesQuery>,
) -> ApiResult<HttpResponse> {
    let _ = user;
    let kind = query
        .into_inner()
        .kind
        .map(|k| parse_kind(&k))
        .transpose()?;
    let rows = state
        .run_db(move |conn| store::categories(conn, kind.as_deref()))
        .await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(CategoryView::from).collect::<Vec<_>>()))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_category(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::http::extract::Json<CreateCategoryRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let b = body.into_inner();
    let now = now_ms();
    let mut row = blank_category(new_id(), parse_code("code", &b.code)?, now);
    apply_category(&mut row, b.fields)?;
    let row = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<CategoryRow> {
                store::insert_category(conn, &row)?;
                store::audit(
                    conn,
                    Some(&user.id),
                    "category.create",
                    "category",
                    &row.id,
                    serde_json::json!({ "code": row.code }),
                )?;
                Ok(row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(CategoryView::from(row)))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn update_category(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: crate::http::extract::Json<CategoryRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let code = path.into_inner();
    let req = body.into_inner();
    // Validate before touching the database, so bad input changes nothing.
    let mut probe = blank_category(String::new(), code.clone(), 0);
    apply_category(&mut probe, req)?;
    let row = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<CategoryRow> {
                let existing = store::category_by_code(conn, &code)?
                    .ok_or_else(|| ApiError::NotFound(format!("category {code}")))?;
                let row = CategoryRow {
                    id: existing.id,
                    created_at: existing.created_at,
                    updated_at: now_ms(),
                    ..probe
                };
                store::update_category(conn, &row)?;
                store::audit(
                    conn,
                    Some(&user.id),
                    "category.update",
                    "category",
                    &row.id,
                    serde_json::json!({ "code": row.code }),
                )?;
                Ok(row)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(CategoryView::from(row)))
}
