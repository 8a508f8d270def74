//! The bureau's indicators over HTTP: any period, any grouping, each figure with its
//! numerator, denominator and the definition it comes from.

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use patrol_domain::DomainError;
use patrol_domain::indicators::{Family, Grouping, Indicator, Period};
use patrol_domain::role::{Role, Scope};
use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;
use crate::commands::exports;
use crate::commands::indicators::{self, Ask, FigureRow};
use crate::http::extract::Query;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorQuery {
    /// `2026-W49`, `2026-12`, `2026-Q4` or `2026`.
    pub period: Option<String>,
    /// Or two days, inclusive.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub group: Option<String>,
    /// `json` (default) or `csv`: one line per group and indicator.
    pub format: Option<String>,
    /// With `csv`: start with a UTF-8 byte-order mark.
    #[serde(default)]
    pub bom: bool,
}

#[derive(Debug, Serialize)]
pub struct PeriodView {
    pub label: String,
    pub from: NaiveDate,
    /// The last day, inclusive.
    pub to: NaiveDate,
}

#[derive(Debug, Serialize)]
pub struct IndicatorTable {
    pub family: Family,
    pub period: PeriodView,
    pub group: Grouping,
    pub definitions: &'static [Indicator],
    pub rows: Vec<FigureRow>,
}

fn bad(e: DomainError) -> ApiError {
    match e {
        DomainError::Invalid { field, reason } => ApiError::bad_field(field, reason),
        other => ApiError::Domain(other),
    }
}

/// The period a query asks for: a named one, or two days.
fn period_of(q: &IndicatorQuery) -> ApiResult<Period> {
    match (&q.period, q.from, q.to) {
        (Some(p), None, None) => Period::parse(p).map_err(bad),
        (None, Some(from), Some(to)) => Period::between(from, to).map_err(bad),
        _ => Err(ApiError::bad_field(
            "period",
            "give either `period` (2026-W49, 2026-12, 2026-Q4, 2026) or both `from` and `to`",
        )),
    }
}

/// One family's description: its indicators and the groupings it has.
#[derive(Debug, Serialize)]
pub struct FamilyView {
    pub family: Family,
    pub name_zh: &'static str,
    pub groupings: &'static [Grouping],
    pub definitions: &'static [Indicator],
}

/// Every family of indicators with its definitions, for a console or a reader.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_indicator_families(user: AuthUser) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let families: Vec<FamilyView> = Family::ALL
        .into_iter()
        .map(|family| FamilyView {
            family,
            name_zh: family.name_zh(),
            groupings: family.groupings(),
            definitions: family.indicators(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(families))
}

/// One family's figures for a period, grouped, within the caller's scope.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_indicators(
    state: web::Data<AppState>,
    user: AuthUser,
    family: web::Path<String>,
    query: Query<IndicatorQuery>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let family: Family = family
        .parse()
        .map_err(|_| ApiError::NotFound(format!("indicator family `{family}`")))?;
    let q = query.into_inner();
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::bad_field("format", "must be json or csv")),
    };
    let period = period_of(&q)?;
    let group: Grouping = q
        .group
        .as_deref()
        .unwrap_or("district")
        .parse()
        .and_then(|g| family.grouping(g))
        .map_err(bad)?;
    let policy = state.cfg.compliance.clone();
    let table = state
        .run_db(move |conn| -> ApiResult<IndicatorTable> {
            let only = match crate::commands::scope::scope_of(conn, &user)? {
                Scope::All => None,
                Scope::Communities(ids) => Some(ids),
                Scope::Own => Some(Vec::new()),
            };
            let ask = Ask {
                period: &period,
                group,
                only: only.as_deref(),
                policy: &policy,
                now_ms: crate::db::ids::now_ms(),
            };
            let rows = indicators::table(conn, family, &ask)?;
            Ok(IndicatorTable {
                family,
                period: PeriodView {
                    label: period.label.clone(),
                    from: period.from,
                    to: period.last_day(),
                },
                group,
                definitions: family.indicators(),
                rows,
            })
        })
        .await?;
    if csv {
        return indicator_csv(&table, q.bom);
    }
    Ok(HttpResponse::Ok().json(table))
}

/// The table as CSV, one line per group and indicator, with its definition's name.
fn indicator_csv(table: &IndicatorTable, bom: bool) -> ApiResult<HttpResponse> {
    use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
    let head = [
        "key",
        "name",
        "code",
        "indicator",
        "unit",
        "value",
        "numerator",
        "denominator",
    ];
    let mut lines = vec![
        head.iter()
            .map(|h| (*h).to_owned())
            .collect::<Vec<String>>(),
    ];
    for row in &table.rows {
        for (f, def) in row.figures.iter().zip(table.definitions) {
            lines.push(vec![
                row.key.clone(),
                row.name.clone(),
                f.code.to_owned(),
                def.name_zh.to_owned(),
                def.unit.as_str().to_owned(),
                f.value.map(|v| v.to_string()).unwrap_or_default(),
                f.numerator.to_string(),
                f.denominator.map(|d| d.to_string()).unwrap_or_default(),
            ]);
        }
    }
    let mut body = if bom {
        exports::BOM.to_vec()
    } else {
        Vec::new()
    };
    body.extend(exports::csv_bytes(&lines).map_err(ApiError::from)?);
    let filename = format!(
        "{}-{}-{}.csv",
        table.family.as_str(),
        table.period.label,
        table.group.as_str()
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(filename)],
        })
        .body(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthlyQuery {
    /// `2026-11`.
    pub month: String,
    /// A street code: that street only.
    pub street: Option<String>,
}

/// The report of the asked month and place, within the caller's scope.
pub(crate) async fn monthly_report(
    state: &web::Data<AppState>,
    user: AuthUser,
    q: MonthlyQuery,
) -> ApiResult<(crate::commands::report::MonthlyReport, String)> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let month = Period::month(&q.month).map_err(bad)?;
    let policy = state.cfg.compliance.clone();
    state
        .run_db(move |conn| {
            let scope = match crate::commands::scope::scope_of(conn, &user)? {
                Scope::All => None,
                Scope::Communities(ids) => Some(ids),
                Scope::Own => Some(Vec::new()),
            };
            let district = crate::db::store::district(conn)?
                .map(|d| d.name)
                .unwrap_or_default();
            let (street, only) = match &q.street {
                None => (None, scope),
                Some(code) => {
                    let street =
                        crate::db::store::street_by_code(conn, code)?.ok_or_else(|| {
                            ApiError::bad_field("street", format!("no street has code `{code}`"))
                        })?;
                    let ids = crate::db::store::community_ids_of_streets(
                        conn,
                        std::slice::from_ref(&street.id),
                    )?;
                    if scope
                        .as_ref()
                        .is_some_and(|s| !ids.iter().all(|id| s.contains(id)))
                    {
                        return Err(ApiError::Forbidden(format!(
                            "street `{code}` is outside your streets"
                        )));
                    }
                    let named = crate::commands::report::Ranked {
                        key: street.code,
                        name: street.name,
                        count: i64::try_from(ids.len()).unwrap_or(0),
                    };
                    (Some(named), Some(ids))
                }
            };
            let report =
                crate::commands::report::monthly(conn, &month, street, only.as_deref(), &policy)?;
            Ok((report, district))
        })
        .await
}

/// The month's report as JSON.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_monthly_report(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<MonthlyQuery>,
) -> ApiResult<HttpResponse> {
    let (report, _) = monthly_report(&state, user, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The month's report as a printable Chinese HTML document with SVG charts.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn print_monthly_report(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<MonthlyQuery>,
) -> ApiResult<HttpResponse> {
    let (report, district) = monthly_report(&state, user, query.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_SECURITY_POLICY,
            crate::http::report_page::content_security_policy(),
        ))
        .body(crate::http::report_page::render(&report, &district)))
}
