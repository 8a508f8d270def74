//! Point → community and grid-cell lookup over an R-tree, rebuilt when boundaries change.
//! The fingerprint check is one cheap query, so every server of a deployment sees
//! another server's boundary edits on its next lookup.

use std::sync::{Arc, RwLock};

use diesel::dsl::{count_star, max};
use diesel::prelude::*;
use patrol_domain::geometry::{Boundary, Crs, LatLon, SpatialIndex};

use crate::db::schema::{communities, grid_cells};
use crate::db::{DbConn, StoreError, StoreResult, store};

/// A place a point falls in.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub id: String,
    pub code: String,
    pub name: String,
}

/// The built indexes.
pub struct Locator {
    communities: SpatialIndex<Place>,
    cells: SpatialIndex<Place>,
}

type Fingerprint = (i64, Option<i64>, i64, Option<i64>);

/// The shared, lazily rebuilt locator.
#[derive(Default)]
pub struct LocatorCache {
    inner: RwLock<Option<(Fingerprint, Arc<Locator>)>>,
}

/// One statement (it runs on every lookup, so one round trip on PostgreSQL).
fn fingerprint(conn: &mut DbConn) -> StoreResult<Fingerprint> {
    let (nc, mc, ng, mg) = diesel::select((
        communities::table.select(count_star()).single_value(),
        communities::table
            .select(max(communities::updated_at))
            .single_value(),
        grid_cells::table.select(count_star()).single_value(),
        grid_cells::table
            .select(max(grid_cells::updated_at))
            .single_value(),
    ))
    .get_result::<(Option<i64>, Option<i64>, Option<i64>, Option<i64>)>(conn)?;
    Ok((nc.unwrap_or(0), mc, ng.unwrap_or(0), mg))
}

fn parse_stored(json: &str, code: &str) -> StoreResult<Boundary> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("{code}: {e}")))?;
    Boundary::from_geojson(&value, Crs::Wgs84, "boundary")
        .map_err(|e| StoreError::Corrupt(format!("{code}: {e}")))
}

fn build(conn: &mut DbConn) -> StoreResult<Locator> {
    let mut cs = Vec::new();
    for row in store::all_communities(conn)? {
        let b = parse_stored(&row.boundary, &row.code)?;
        cs.push((
            Place {
                id: row.id,
                code: row.code,
                name: row.name,
            },
            b,
        ));
    }
    let mut gs = Vec::new();
    for row in store::all_grid_cells(conn)? {
        let b = parse_stored(&row.boundary, &row.code)?;
        gs.push((
            Place {
                id: row.id,
                code: row.code,
                name: row.name,
            },
            b,
        ));
    }
    Ok(Locator {
        communities: SpatialIndex::build(cs),
        cells: SpatialIndex::build(gs),
    })
}

impl LocatorCache {
    /// The current locator, rebuilt first if boundaries changed since it was built.
    pub fn get(&self, conn: &mut DbConn) -> StoreResult<Arc<Locator>> {
        let fp = fingerprint(conn)?;
        if let Ok(guard) = self.inner.read()
            && let Some((seen, loc)) = guard.as_ref()
            && *seen == fp
        {
            return Ok(loc.clone());
        }
        let loc = Arc::new(build(conn)?);
        if let Ok(mut guard) = self.inner.write() {
            *guard = Some((fp, loc.clone()));
        }
        Ok(loc)
    }
}

impl Locator {
    /// The community and grid cell containing a WGS-84 point.
    pub fn locate(&self, p: &LatLon) -> (Option<Place>, Option<Place>) {
        (self.communities.locate(p), self.cells.locate(p))
    }
}
