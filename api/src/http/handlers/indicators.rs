//! The bureau's indicators over HTTP: any period, any grouping, each figure with its
//! numerator, denominator and the definition it comes from.

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use patrol_domain::DomainError;
use patrol_domain::indicators::{ENGAGEMENT, Grouping, Indicator, Period};
use patrol_domain::role::{Role, Scope};
use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;
use crate::commands::figures::{self, FigureRow};
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

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_engagement_indicators(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<IndicatorQuery>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let q = query.into_inner();
    let period = period_of(&q)?;
    let group: Grouping = q
        .group
        .as_deref()
        .unwrap_or("district")
        .parse()
        .map_err(bad)?;
    let table = state
        .run_db(move |conn| -> ApiResult<IndicatorTable> {
            let only = match crate::commands::scope::scope_of(conn, &user)? {
                Scope::All => None,
                Scope::Communities(ids) => Some(ids),
                Scope::Own => Some(Vec::new()),
            };
            let rows = figures::engagement(conn, &period, group, only.as_deref())?;
            Ok(IndicatorTable {
                period: PeriodView {
                    label: period.label.clone(),
                    from: period.from,
                    to: period.last_day(),
                },
                group,
                definitions: &ENGAGEMENT,
                rows,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(table))
}
