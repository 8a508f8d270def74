//! CSV downloads, streamed a page at a time: the first page is read before the answer
//! starts (so a refusal is a proper problem response), the rest as the client reads.

use std::sync::Arc;

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use patrol_domain::indicators::Period;
use patrol_domain::role::{Role, Scope};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::commands::exports::{self, ExportAsk, ExportKind};
use crate::http::extract::Query;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// First day, inclusive, in the district's time zone.
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// Start with a UTF-8 byte-order mark, for spreadsheets that need one to read UTF-8.
    #[serde(default)]
    pub bom: bool,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn export_csv(
    state: web::Data<AppState>,
    user: AuthUser,
    kind: web::Path<String>,
    query: Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let kind =
        ExportKind::parse(&kind).ok_or_else(|| ApiError::NotFound(format!("export `{kind}`")))?;
    let q = query.into_inner();
    let period = Period::between(q.from, q.to).map_err(|e| match e {
        patrol_domain::DomainError::Invalid { field, reason } => ApiError::bad_field(field, reason),
        other => ApiError::Domain(other),
    })?;
    let full_phones = user.role.sees_full_phone_numbers();
    let ask = state
        .run_db(move |conn| -> ApiResult<ExportAsk> {
            let only = match crate::commands::scope::scope_of(conn, &user)? {
                Scope::All => None,
                Scope::Communities(ids) => Some(ids),
                Scope::Own => Some(Vec::new()),
            };
            let tz = crate::db::store::district_tz(conn)?;
            let span = period.span(tz);
            Ok(ExportAsk {
                kind,
                only,
                from: span.from,
                until: span.until,
                days: (period.from.to_string(), period.until.to_string()),
                full_phones,
                tz,
            })
        })
        .await?;
    let ask = Arc::new(ask);
    let first_ask = ask.clone();
    let (rows, next) = state
        .run_db(move |conn| exports::page(conn, &first_ask, None))
        .await?;
    let mut head: Vec<u8> = if q.bom {
        exports::BOM.to_vec()
    } else {
        Vec::new()
    };
    let header: Vec<String> = kind.header().iter().map(|h| (*h).to_owned()).collect();
    head.extend(exports::csv_bytes(&[header]).map_err(ApiError::from)?);
    head.extend(exports::csv_bytes(&rows).map_err(ApiError::from)?);
    let first =
        futures_util::stream::once(async move { Ok::<_, ApiError>(web::Bytes::from(head)) });
    let rest =
        futures_util::stream::unfold((state, ask, next), |(state, ask, cursor)| async move {
            let after = cursor?;
            let page_ask = ask.clone();
            let result = state
                .run_db(move |conn| exports::page(conn, &page_ask, Some(&after)))
                .await
                .and_then(|(rows, next)| {
                    let bytes = exports::csv_bytes(&rows).map_err(ApiError::from)?;
                    Ok((bytes, next))
                });
            match result {
                Ok((bytes, next)) => Some((Ok(web::Bytes::from(bytes)), (state, ask, next))),
                Err(e) => {
                    // Headers are gone: the download stops short, and the log says why.
                    tracing::warn!(error = %e, "export stopped");
                    Some((Err(e), (state, ask, None)))
                }
            }
        });
    let filename = format!("{}-{}_{}.csv", kind.as_str(), q.from, q.to);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(filename)],
        })
        .streaming(futures_util::StreamExt::chain(first, rest)))
}
