//! Rows and queries. Row structs mirror tables; they are not API types. Every function
//! takes a connection so callers choose the transaction.

use diesel::prelude::*;

use super::schema::*;
use super::{DbConn, StoreError, StoreResult};

/// An account.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub login: String,
    pub role: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub password_hash: String,
    pub squad_id: Option<String>,
    pub department_name: Option<String>,
    pub active: bool,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The district joint-meeting office (区联席办): a department account that decides
    /// escalations and tasks the other departments.
    pub joint_office: bool,
    /// The city hotline's (12345) integration account: a department account that takes
    /// in hotline tickets and nothing else staff do.
    pub hotline_intake: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: String,
    pub family_id: String,
    pub user_id: String,
    pub token_hash: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub successor_id: Option<String>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = otp_challenges)]
pub struct OtpRow {
    pub id: String,
    pub phone: String,
    pub purpose: String,
    pub code_hash: String,
    pub payload: String,
    pub attempts: i32,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = districts)]
pub struct DistrictRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub timezone: String,
    pub hotline: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = streets)]
pub struct StreetRow {
    pub id: String,
    pub district_id: String,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = communities)]
pub struct CommunityRow {
    pub id: String,
    pub street_id: String,
    pub code: String,
    pub name: String,
    pub boundary: String,
    pub min_lat: f64,
    pub min_lon: f64,
    pub max_lat: f64,
    pub max_lon: f64,
    pub created_at: i64,
    pub updated_at: i64,
    /// The community's lead (a community staff account), who signs whistles off.
    pub lead_user_id: Option<String>,
    /// Must the lead sign a whistle off before it goes out to city management?
    pub whistle_sign_off: bool,
    /// Minutes city management has to take a raised whistle.
    pub whistle_take_minutes: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grid_cells)]
pub struct GridCellRow {
    pub id: String,
    pub community_id: String,
    pub code: String,
    pub name: String,
    pub boundary: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = compounds)]
pub struct CompoundRow {
    pub id: String,
    pub community_id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = squads)]
pub struct SquadRow {
    pub id: String,
    pub street_id: Option<String>,
    pub code: String,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = service_stations)]
pub struct StationRow {
    pub id: String,
    pub district_id: String,
    pub community_id: Option<String>,
    pub code: String,
    pub name: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    pub opening_hours: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = assignments)]
pub struct AssignmentRow {
    pub id: String,
    pub kind: String,
    pub user_id: String,
    pub target_id: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub assigned_by: Option<String>,
    pub ended_by: Option<String>,
    pub reason: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = duties)]
pub struct DutyRow {
    pub id: String,
    pub code: String,
    pub title_zh: String,
    pub title_en: String,
    pub applies_to: String,
    pub sort_order: i32,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = categories)]
pub struct CategoryRow {
    pub id: String,
    pub code: String,
    pub kind: String,
    pub group_code: String,
    pub group_zh: String,
    pub group_en: String,
    pub name_zh: String,
    pub name_en: String,
    pub sla_hours: i32,
    pub default_class_721: String,
    pub duplicate_radius_m: i32,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub accept_hours: i32,
    pub close_hours: i32,
}

impl CategoryRow {
    /// The category's deadlines; rows hold checked positive hours.
    pub fn hours(&self) -> patrol_domain::case::deadline::Hours {
        let h = |v: i32| u32::try_from(v).unwrap_or(1);
        patrol_domain::case::deadline::Hours {
            accept: h(self.accept_hours),
            handle: h(self.sla_hours),
            close: h(self.close_hours),
        }
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub detail: String,
    pub at: i64,
}

/// Treats "no row" as `None` instead of an error.
trait OptionalRow<T> {
    fn found(self) -> StoreResult<Option<T>>;
}

impl<T> OptionalRow<T> for QueryResult<T> {
    fn found(self) -> StoreResult<Option<T>> {
        self.optional().map_err(StoreError::from)
    }
}

// ---- accounts -------------------------------------------------------------------------

pub fn insert_user(conn: &mut DbConn, row: &UserRow) -> StoreResult<()> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn set_password_hash(conn: &mut DbConn, user_id: &str, hash: &str) -> StoreResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(hash),
            users::updated_at.eq(crate::db::ids::now_ms()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn user_by_login(conn: &mut DbConn, login: &str) -> StoreResult<Option<UserRow>> {
    users::table
        .filter(users::login.eq(login))
        .select(UserRow::as_select())
        .first(conn)
        .found()
}

pub fn user_by_id(conn: &mut DbConn, id: &str) -> StoreResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .found()
}

pub fn user_by_phone(conn: &mut DbConn, phone: &str) -> StoreResult<Option<UserRow>> {
    users::table
        .filter(users::phone.eq(phone))
        .select(UserRow::as_select())
        .first(conn)
        .found()
}

/// Users ordered by id (UUIDv7, so by creation), after `after`, at most `limit`.
pub fn list_users(
    conn: &mut DbConn,
    role: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<UserRow>> {
    let mut q = users::table
        .select(UserRow::as_select())
        .order(users::id)
        .limit(limit)
        .into_boxed();
    if let Some(role) = role {
        q = q.filter(users::role.eq(role.to_owned()));
    }
    if let Some(after) = after {
        q = q.filter(users::id.gt(after.to_owned()));
    }
    Ok(q.load(conn)?)
}

pub fn users_by_ids(conn: &mut DbConn, ids: &[String]) -> StoreResult<Vec<UserRow>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select(UserRow::as_select())
        .load(conn)?)
}

// ---- refresh tokens -------------------------------------------------------------------

pub fn insert_refresh_token(conn: &mut DbConn, row: &RefreshTokenRow) -> StoreResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn refresh_token_by_hash(
    conn: &mut DbConn,
    hash: &str,
) -> StoreResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .found()
}

pub fn refresh_token_by_id(conn: &mut DbConn, id: &str) -> StoreResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .find(id)
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .found()
}

/// Marks a token spent if nobody else did first; returns whether this call won.
pub fn spend_refresh_token(
    conn: &mut DbConn,
    id: &str,
    at: i64,
    successor_id: &str,
) -> StoreResult<bool> {
    let n = diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set((
        refresh_tokens::used_at.eq(at),
        refresh_tokens::successor_id.eq(successor_id),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Revokes every token of a login (logout, or a spent token presented again).
/// Revokes every refresh token of a user (a reset password signs them out everywhere).
pub fn revoke_refresh_tokens_of_user(
    conn: &mut DbConn,
    user_id: &str,
    at: i64,
) -> StoreResult<usize> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(at))
    .execute(conn)?)
}

/// Whether `family_id` is a session of `user_id` that can still be refreshed, and the
/// account is active: what an access token of that session needs to stay valid.
pub fn session_is_live(
    conn: &mut DbConn,
    family_id: &str,
    user_id: &str,
    now: i64,
) -> StoreResult<bool> {
    use diesel::dsl::exists;
    Ok(diesel::select(exists(
        refresh_tokens::table
            .inner_join(users::table.on(users::id.eq(refresh_tokens::user_id)))
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null())
            .filter(refresh_tokens::expires_at.gt(now))
            .filter(users::active.eq(true)),
    ))
    .get_result(conn)?)
}

pub fn revoke_refresh_family(conn: &mut DbConn, family_id: &str, at: i64) -> StoreResult<usize> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(at))
    .execute(conn)?)
}

/// Removes tokens that expired before `before`: they can never be used again.
pub fn purge_expired_refresh_tokens(conn: &mut DbConn, before: i64) -> StoreResult<usize> {
    Ok(
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(before)))
            .execute(conn)?,
    )
}

// ---- one-time codes -------------------------------------------------------------------

pub fn insert_otp(conn: &mut DbConn, row: &OtpRow) -> StoreResult<()> {
    diesel::insert_into(otp_challenges::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The newest unconsumed challenge for a phone and purpose.
pub fn latest_otp(conn: &mut DbConn, phone: &str, purpose: &str) -> StoreResult<Option<OtpRow>> {
    otp_challenges::table
        .filter(otp_challenges::phone.eq(phone))
        .filter(otp_challenges::purpose.eq(purpose))
        .filter(otp_challenges::consumed_at.is_null())
        .order(otp_challenges::created_at.desc())
        .select(OtpRow::as_select())
        .first(conn)
        .found()
}

pub fn count_otp_attempt(conn: &mut DbConn, id: &str) -> StoreResult<()> {
    diesel::update(otp_challenges::table.find(id))
        .set(otp_challenges::attempts.eq(otp_challenges::attempts + 1))
        .execute(conn)?;
    Ok(())
}

/// Consumes a challenge once; returns whether this call consumed it.
pub fn consume_otp(conn: &mut DbConn, id: &str, at: i64) -> StoreResult<bool> {
    Ok(diesel::update(
        otp_challenges::table
            .find(id)
            .filter(otp_challenges::consumed_at.is_null()),
    )
    .set(otp_challenges::consumed_at.eq(at))
    .execute(conn)?
        == 1)
}

pub fn purge_expired_otps(conn: &mut DbConn, before: i64) -> StoreResult<usize> {
    Ok(
        diesel::delete(otp_challenges::table.filter(otp_challenges::expires_at.lt(before)))
            .execute(conn)?,
    )
}

// ---- organisation ---------------------------------------------------------------------

pub fn insert_district(conn: &mut DbConn, row: &DistrictRow) -> StoreResult<()> {
    diesel::insert_into(districts::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The district this deployment serves (one per database).
pub fn district(conn: &mut DbConn) -> StoreResult<Option<DistrictRow>> {
    districts::table
        .order(districts::created_at)
        .select(DistrictRow::as_select())
        .first(conn)
        .found()
}

pub fn insert_street(conn: &mut DbConn, row: &StreetRow) -> StoreResult<()> {
    diesel::insert_into(streets::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn streets(conn: &mut DbConn) -> StoreResult<Vec<StreetRow>> {
    Ok(streets::table
        .order(streets::code)
        .select(StreetRow::as_select())
        .load(conn)?)
}

pub fn street_by_code(conn: &mut DbConn, code: &str) -> StoreResult<Option<StreetRow>> {
    streets::table
        .filter(streets::code.eq(code))
        .select(StreetRow::as_select())
        .first(conn)
        .found()
}

pub fn street_by_id(conn: &mut DbConn, id: &str) -> StoreResult<Option<StreetRow>> {
    streets::table
        .find(id)
        .select(StreetRow::as_select())
        .first(conn)
        .found()
}

pub fn insert_community(conn: &mut DbConn, row: &CommunityRow) -> StoreResult<()> {
    diesel::insert_into(communities::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn community_by_code(conn: &mut DbConn, code: &str) -> StoreResult<Option<CommunityRow>> {
    communities::table
        .filter(communities::code.eq(code))
        .select(CommunityRow::as_select())
        .first(conn)
        .found()
}

pub fn communities_by_ids(conn: &mut DbConn, ids: &[String]) -> StoreResult<Vec<CommunityRow>> {
    Ok(communities::table
        .filter(communities::id.eq_any(ids))
        .order(communities::code)
        .select(CommunityRow::as_select())
        .load(conn)?)
}

/// Every community, for building the point-lookup index.
pub fn all_communities(conn: &mut DbConn) -> StoreResult<Vec<CommunityRow>> {
    Ok(communities::table
        .order(communities::code)
        .select(CommunityRow::as_select())
        .load(conn)?)
}

/// A page of communities ordered by code, optionally restricted to `ids`.
pub fn list_communities(
    conn: &mut DbConn,
    only: Option<&[String]>,
    street_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<CommunityRow>> {
    let mut q = communities::table
        .select(CommunityRow::as_select())
        .order(communities::code)
        .limit(limit)
        .into_boxed();
    if let Some(ids) = only {
        q = q.filter(communities::id.eq_any(ids.to_vec()));
    }
    if let Some(street_id) = street_id {
        q = q.filter(communities::street_id.eq(street_id.to_owned()));
    }
    if let Some(after) = after {
        q = q.filter(communities::code.gt(after.to_owned()));
    }
    Ok(q.load(conn)?)
}

pub fn community_ids_of_streets(
    conn: &mut DbConn,
    street_ids: &[String],
) -> StoreResult<Vec<String>> {
    Ok(communities::table
        .filter(communities::street_id.eq_any(street_ids))
        .select(communities::id)
        .load(conn)?)
}

pub fn update_community_boundary(
    conn: &mut DbConn,
    id: &str,
    boundary: &str,
    bbox: (f64, f64, f64, f64),
    at: i64,
) -> StoreResult<()> {
    let (min_lat, min_lon, max_lat, max_lon) = bbox;
    let n = diesel::update(communities::table.find(id))
        .set((
            communities::boundary.eq(boundary),
            communities::min_lat.eq(min_lat),
            communities::min_lon.eq(min_lon),
            communities::max_lat.eq(max_lat),
            communities::max_lon.eq(max_lon),
            communities::updated_at.eq(at),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub fn insert_grid_cell(conn: &mut DbConn, row: &GridCellRow) -> StoreResult<()> {
    diesel::insert_into(grid_cells::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn grid_cells_of(conn: &mut DbConn, community_id: &str) -> StoreResult<Vec<GridCellRow>> {
    Ok(grid_cells::table
        .filter(grid_cells::community_id.eq(community_id))
        .order(grid_cells::code)
        .select(GridCellRow::as_select())
        .load(conn)?)
}

pub fn all_grid_cells(conn: &mut DbConn) -> StoreResult<Vec<GridCellRow>> {
    Ok(grid_cells::table
        .order(grid_cells::code)
        .select(GridCellRow::as_select())
        .load(conn)?)
}

pub fn insert_compound(conn: &mut DbConn, row: &CompoundRow) -> StoreResult<()> {
    diesel::insert_into(compounds::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn compounds_of(conn: &mut DbConn, community_id: &str) -> StoreResult<Vec<CompoundRow>> {
    Ok(compounds::table
        .filter(compounds::community_id.eq(community_id))
        .order(compounds::name)
        .select(CompoundRow::as_select())
        .load(conn)?)
}

pub fn insert_squad(conn: &mut DbConn, row: &SquadRow) -> StoreResult<()> {
    diesel::insert_into(squads::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn squads(conn: &mut DbConn) -> StoreResult<Vec<SquadRow>> {
    Ok(squads::table
        .order(squads::code)
        .select(SquadRow::as_select())
        .load(conn)?)
}

pub fn insert_station(conn: &mut DbConn, row: &StationRow) -> StoreResult<()> {
    diesel::insert_into(service_stations::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn stations(conn: &mut DbConn) -> StoreResult<Vec<StationRow>> {
    Ok(service_stations::table
        .order(service_stations::code)
        .select(StationRow::as_select())
        .load(conn)?)
}

// ---- assignments ----------------------------------------------------------------------

pub fn insert_assignment(conn: &mut DbConn, row: &AssignmentRow) -> StoreResult<()> {
    diesel::insert_into(assignments::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn assignment_by_id(conn: &mut DbConn, id: &str) -> StoreResult<Option<AssignmentRow>> {
    assignments::table
        .find(id)
        .select(AssignmentRow::as_select())
        .first(conn)
        .found()
}

/// Ends a current assignment; returns whether it was still current.
pub fn end_assignment(
    conn: &mut DbConn,
    id: &str,
    at: i64,
    by: &str,
    reason: &str,
) -> StoreResult<bool> {
    Ok(diesel::update(
        assignments::table
            .find(id)
            .filter(assignments::ended_at.is_null()),
    )
    .set((
        assignments::ended_at.eq(at),
        assignments::ended_by.eq(by),
        assignments::reason.eq(reason),
    ))
    .execute(conn)?
        == 1)
}

/// Current assignments of a user.
pub fn current_assignments_of_user(
    conn: &mut DbConn,
    user_id: &str,
) -> StoreResult<Vec<AssignmentRow>> {
    Ok(assignments::table
        .filter(assignments::user_id.eq(user_id))
        .filter(assignments::ended_at.is_null())
        .order(assignments::started_at)
        .select(AssignmentRow::as_select())
        .load(conn)?)
}

/// Current assignments to any of these targets (communities or streets).
pub fn current_assignments_to(
    conn: &mut DbConn,
    target_ids: &[String],
) -> StoreResult<Vec<AssignmentRow>> {
    Ok(assignments::table
        .filter(assignments::target_id.eq_any(target_ids))
        .filter(assignments::ended_at.is_null())
        .order(assignments::started_at)
        .select(AssignmentRow::as_select())
        .load(conn)?)
}

/// Every assignment, current and past, filtered by user and/or target, newest first.
pub fn assignment_history(
    conn: &mut DbConn,
    user_id: Option<&str>,
    target_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<AssignmentRow>> {
    let mut q = assignments::table
        .select(AssignmentRow::as_select())
        .order(assignments::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(u) = user_id {
        q = q.filter(assignments::user_id.eq(u.to_owned()));
    }
    if let Some(t) = target_id {
        q = q.filter(assignments::target_id.eq(t.to_owned()));
    }
    if let Some(after) = after {
        q = q.filter(assignments::id.lt(after.to_owned()));
    }
    Ok(q.load(conn)?)
}

// ---- the four lists -------------------------------------------------------------------

pub fn insert_duty(conn: &mut DbConn, row: &DutyRow) -> StoreResult<()> {
    diesel::insert_into(duties::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn duties(conn: &mut DbConn) -> StoreResult<Vec<DutyRow>> {
    Ok(duties::table
        .order((duties::sort_order, duties::code))
        .select(DutyRow::as_select())
        .load(conn)?)
}

pub fn duty_by_code(conn: &mut DbConn, code: &str) -> StoreResult<Option<DutyRow>> {
    duties::table
        .filter(duties::code.eq(code))
        .select(DutyRow::as_select())
        .first(conn)
        .found()
}

pub fn update_duty(conn: &mut DbConn, row: &DutyRow) -> StoreResult<()> {
    diesel::update(duties::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn insert_category(conn: &mut DbConn, row: &CategoryRow) -> StoreResult<()> {
    diesel::insert_into(categories::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn categories(conn: &mut DbConn, kind: Option<&str>) -> StoreResult<Vec<CategoryRow>> {
    let mut q = categories::table
        .select(CategoryRow::as_select())
        .order((categories::group_code, categories::code))
        .into_boxed();
    if let Some(kind) = kind {
        q = q.filter(categories::kind.eq(kind.to_owned()));
    }
    Ok(q.load(conn)?)
}

pub fn category_by_code(conn: &mut DbConn, code: &str) -> StoreResult<Option<CategoryRow>> {
    categories::table
        .filter(categories::code.eq(code))
        .select(CategoryRow::as_select())
        .first(conn)
        .found()
}

pub fn update_category(conn: &mut DbConn, row: &CategoryRow) -> StoreResult<()> {
    diesel::update(categories::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

// ---- audit, jobs, server facts --------------------------------------------------------

/// Records who did what to which record, now.
pub fn audit(
    conn: &mut DbConn,
    actor: Option<&str>,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: serde_json::Value,
) -> StoreResult<()> {
    insert_audit(
        conn,
        &AuditRow {
            id: crate::db::ids::new_id(),
            actor_id: actor.map(str::to_owned),
            action: action.into(),
            entity: entity.into(),
            entity_id: entity_id.into(),
            detail: detail.to_string(),
            at: crate::db::ids::now_ms(),
        },
    )
}

pub fn insert_audit(conn: &mut DbConn, row: &AuditRow) -> StoreResult<()> {
    diesel::insert_into(audit_log::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn meta_get(conn: &mut DbConn, key: &str) -> StoreResult<Option<String>> {
    server_meta::table
        .find(key)
        .select(server_meta::value)
        .first(conn)
        .found()
}

pub fn meta_set(conn: &mut DbConn, key: &str, value: &str) -> StoreResult<()> {
    diesel::update(server_meta::table.find(key))
        .set(server_meta::value.eq(value))
        .execute(conn)?;
    Ok(())
}

/// A small write that needs fresh space (a new row), to learn whether the database
/// takes writes again after its disk was full. The row is replaced, never accumulated.
pub fn probe_write(conn: &mut DbConn) -> StoreResult<()> {
    const KEY: &str = "readiness_probe";
    super::write_tx(conn, |conn| {
        diesel::delete(server_meta::table.find(KEY)).execute(conn)?;
        meta_insert(conn, KEY, &crate::db::ids::now_ms().to_string())
    })
}

pub fn meta_insert(conn: &mut DbConn, key: &str, value: &str) -> StoreResult<()> {
    diesel::insert_into(server_meta::table)
        .values((server_meta::key.eq(key), server_meta::value.eq(value)))
        .execute(conn)?;
    Ok(())
}

/// Gives the database its server epoch on first start. A database restored from a backup
/// of another deployment keeps its own; sync uses the epoch to tell clients to reset.
pub fn ensure_server_epoch(conn: &mut DbConn) -> StoreResult<String> {
    if let Some(epoch) = meta_get(conn, "server_epoch")? {
        return Ok(epoch);
    }
    let epoch = crate::db::ids::new_id();
    match meta_insert(conn, "server_epoch", &epoch) {
        Ok(()) => Ok(epoch),
        // Another server inserted first: use theirs.
        Err(StoreError::Duplicate { .. }) => {
            meta_get(conn, "server_epoch")?.ok_or(StoreError::NotFound)
        }
        Err(e) => Err(e),
    }
}

/// Claims a job run for a period. The first server to insert owns it; a claim whose lease
/// ran out without finishing may be taken over. Returns whether this server now owns it.
pub fn claim_job(
    conn: &mut DbConn,
    job: &str,
    period_key: &str,
    worker: &str,
    now: i64,
    lease_ms: i64,
) -> StoreResult<bool> {
    let inserted = diesel::insert_into(job_runs::table)
        .values((
            job_runs::job.eq(job),
            job_runs::period_key.eq(period_key),
            job_runs::claimed_by.eq(worker),
            job_runs::claimed_at.eq(now),
            job_runs::lease_until.eq(now + lease_ms),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(e) => match StoreError::from(e) {
            StoreError::Duplicate { .. } => {
                let taken = diesel::update(
                    job_runs::table
                        .find((job, period_key))
                        .filter(job_runs::finished_at.is_null())
                        .filter(job_runs::lease_until.lt(now)),
                )
                .set((
                    job_runs::claimed_by.eq(worker),
                    job_runs::claimed_at.eq(now),
                    job_runs::lease_until.eq(now + lease_ms),
                ))
                .execute(conn)?;
                Ok(taken == 1)
            }
            other => Err(other),
        },
    }
}

pub fn finish_job(
    conn: &mut DbConn,
    job: &str,
    period_key: &str,
    worker: &str,
    now: i64,
    outcome: &str,
) -> StoreResult<()> {
    diesel::update(
        job_runs::table
            .find((job, period_key))
            .filter(job_runs::claimed_by.eq(worker)),
    )
    .set((job_runs::finished_at.eq(now), job_runs::outcome.eq(outcome)))
    .execute(conn)?;
    Ok(())
}

/// How many runs of a job have been claimed, per period (for tests and metrics).
pub fn job_run_count(conn: &mut DbConn, job: &str) -> StoreResult<i64> {
    Ok(job_runs::table
        .filter(job_runs::job.eq(job))
        .count()
        .get_result(conn)?)
}

// ---- cases ----------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = cases, treat_none_as_null = true)]
pub struct CaseRow {
    pub id: String,
    pub community_id: String,
    pub grid_cell_id: Option<String>,
    pub category_id: String,
    pub source: String,
    pub status: String,
    pub close_outcome: Option<String>,
    pub description: String,
    pub description_rev: i64,
    pub notes: String,
    pub notes_rev: i64,
    pub lat: f64,
    pub lon: f64,
    pub reporter_id: Option<String>,
    pub reporter_anonymous: bool,
    pub first_contact_id: Option<String>,
    pub handler_id: Option<String>,
    pub priority: String,
    pub handle_due_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub rework_count: i32,
    pub deferred_from: Option<String>,
    pub duplicate_of: Option<String>,
    pub self_handled: bool,
    pub class_721: String,
    pub observed_at: Option<i64>,
    pub observed_at_suspect: bool,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    pub accept_due_at: Option<i64>,
    pub close_due_at: Option<i64>,
    pub accepted_at: Option<i64>,
    pub dispatched_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub rating: Option<i32>,
    pub follow_up_of: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = case_activities)]
pub struct ActivityRow {
    pub id: String,
    pub case_id: String,
    pub actor_id: Option<String>,
    pub actor_role: String,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub note: String,
    pub evidence: String,
    pub class_721: Option<String>,
    pub observed_at: Option<i64>,
    pub recorded_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = photos)]
pub struct PhotoRow {
    pub id: String,
    pub sha256: String,
    pub owner_kind: String,
    pub owner_id: String,
    pub community_id: Option<String>,
    pub added_by: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = conflicts)]
pub struct ConflictRow {
    pub id: String,
    pub kind: String,
    pub entity: String,
    pub entity_id: String,
    pub community_id: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub mutation_id: Option<i64>,
    pub detail: String,
    pub created_at: i64,
}

pub fn insert_case(conn: &mut DbConn, row: &CaseRow) -> StoreResult<()> {
    diesel::insert_into(cases::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn case_by_id(conn: &mut DbConn, id: &str) -> StoreResult<Option<CaseRow>> {
    cases::table
        .find(id)
        .select(CaseRow::as_select())
        .first(conn)
        .found()
}

/// Writes a case's new state. The caller has read it in the same write transaction.
pub fn update_case(conn: &mut DbConn, row: &CaseRow) -> StoreResult<()> {
    diesel::update(cases::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn insert_activity(conn: &mut DbConn, row: &ActivityRow) -> StoreResult<()> {
    diesel::insert_into(case_activities::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn activities_of(conn: &mut DbConn, case_id: &str) -> StoreResult<Vec<ActivityRow>> {
    Ok(case_activities::table
        .filter(case_activities::case_id.eq(case_id))
        .order(case_activities::id)
        .select(ActivityRow::as_select())
        .load(conn)?)
}

/// Adds a photo reference unless the owner already has that hash (set union).
pub fn insert_photo_once(conn: &mut DbConn, row: &PhotoRow) -> StoreResult<bool> {
    let exists: i64 = photos::table
        .filter(photos::owner_kind.eq(&row.owner_kind))
        .filter(photos::owner_id.eq(&row.owner_id))
        .filter(photos::sha256.eq(&row.sha256))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(photos::table)
        .values(row)
        .execute(conn)?;
    Ok(true)
}

pub fn photos_of(
    conn: &mut DbConn,
    owner_kind: &str,
    owner_id: &str,
) -> StoreResult<Vec<PhotoRow>> {
    Ok(photos::table
        .filter(photos::owner_kind.eq(owner_kind))
        .filter(photos::owner_id.eq(owner_id))
        .order(photos::id)
        .select(PhotoRow::as_select())
        .load(conn)?)
}

/// Marks a stored blob as wanted now (a record references it, or it was uploaded
/// again) and says whether it is stored. Being an update, it serialises with the clean-up
/// job's deletion of the same row, which re-checks `touched_at`: a blob is never deleted
/// under a reference that was just made, nor announced available after its deletion.
pub fn touch_blob(conn: &mut DbConn, sha256: &str, now: i64) -> StoreResult<bool> {
    let n = diesel::update(blobs::table.find(sha256))
        .set(blobs::touched_at.eq(now))
        .execute(conn)?;
    Ok(n > 0)
}

pub fn insert_conflict(conn: &mut DbConn, row: &ConflictRow) -> StoreResult<()> {
    diesel::insert_into(conflicts::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn conflicts_of(
    conn: &mut DbConn,
    entity: &str,
    entity_id: &str,
) -> StoreResult<Vec<ConflictRow>> {
    Ok(conflicts::table
        .filter(conflicts::entity.eq(entity))
        .filter(conflicts::entity_id.eq(entity_id))
        .order(conflicts::id)
        .select(ConflictRow::as_select())
        .load(conn)?)
}

pub fn category_by_id(conn: &mut DbConn, id: &str) -> StoreResult<Option<CategoryRow>> {
    categories::table
        .find(id)
        .select(CategoryRow::as_select())
        .first(conn)
        .found()
}

pub fn community_by_id(conn: &mut DbConn, id: &str) -> StoreResult<Option<CommunityRow>> {
    communities::table
        .find(id)
        .select(CommunityRow::as_select())
        .first(conn)
        .found()
}

/// Locks a row of `table` (`cases`, `whistles` or `users`) for the rest of the write transaction,
/// so two commands on the same record cannot both read the old state on PostgreSQL
/// (READ COMMITTED). SQLite needs nothing: `BEGIN IMMEDIATE` already admits one writer.
pub fn lock_row(conn: &mut DbConn, table: LockTable, id: &str) -> StoreResult<()> {
    if let DbConn::Pg(_) = conn {
        let sql = match table {
            LockTable::Cases => "SELECT 1 FROM cases WHERE id = $1 FOR UPDATE",
            LockTable::Whistles => "SELECT 1 FROM whistles WHERE id = $1 FOR UPDATE",
            LockTable::Users => "SELECT 1 FROM users WHERE id = $1 FOR UPDATE",
        };
        diesel::sql_query(sql)
            .bind::<diesel::sql_types::Text, _>(id)
            .execute(conn)?;
    }
    Ok(())
}

/// The tables [`lock_row`] locks rows of.
#[derive(Debug, Clone, Copy)]
pub enum LockTable {
    Cases,
    Whistles,
    Users,
}

/// The district's time zone: weeks and months are counted in it.
pub fn district_tz(conn: &mut DbConn) -> StoreResult<chrono_tz::Tz> {
    Ok(district(conn)?
        .and_then(|d| d.timezone.parse().ok())
        .unwrap_or(patrol_domain::visit::DEFAULT_TIME_ZONE))
}
