//! Where things are: coordinates as clients send them, community and grid-cell
//! boundaries, and the point → region lookup that places a report or a visit.
//!
//! The server stores WGS-84 only. Phones in China mostly report GCJ-02 (Amap, Tencent,
//! WeChat) or BD-09 (Baidu), several hundred metres away from WGS-84, so every
//! coordinate is converted on the way in, exactly once, by [`LatLon::parse`] or
//! [`Boundary::from_geojson`]. The transform itself comes from the `coordtransform`
//! crate; the planar and geodesic algorithms from `geo`; the R-tree from `rstar`.

use std::fmt;
use std::str::FromStr;

use geo::algorithm::validation::{InvalidMultiPolygon, InvalidPolygon, RingRole};
use geo::{
    Area, BoundingRect, Centroid, Closest, Coord, Destination, Distance, Geodesic, GeodesicArea,
    HaversineClosestPoint, Intersects, LineString, MultiPolygon, Point, Polygon, Validation,
    orient::{Direction, Orient},
};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{DomainError, DomainResult};

/// Coordinate reference system a client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    /// GPS / international maps; what the server stores.
    #[default]
    Wgs84,
    /// China's "Mars" coordinates: Amap (高德), Tencent maps, WeChat location.
    Gcj02,
    /// Baidu maps, a further offset of GCJ-02.
    Bd09,
}

impl Crs {
    /// The wire name: `wgs84`, `gcj02` or `bd09`.
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }

    /// Converts a `(lon, lat)` pair in this system to WGS-84.
    fn to_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lon, lat),
            Crs::Gcj02 => coordtransform::gcj02_to_wgs84(lon, lat),
            Crs::Bd09 => coordtransform::bd09_to_wgs84(lon, lat),
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Crs {
    type Err = DomainError;

    /// Accepts the wire names in any ASCII case (`WGS84` is common in query strings).
    fn from_str(s: &str) -> DomainResult<Crs> {
        [Crs::Wgs84, Crs::Gcj02, Crs::Bd09]
            .into_iter()
            .find(|crs| crs.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                DomainError::invalid(
                    "crs",
                    format!("unknown crs \"{s}\"; expected wgs84, gcj02 or bd09"),
                )
            })
    }
}

/// A WGS-84 point (what the server stores).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatLon {
    /// Latitude in degrees, north positive.
    pub lat: f64,
    /// Longitude in degrees, east positive.
    pub lon: f64,
}

impl LatLon {
    /// Validates (finite; lat in [-90,90]; lon in [-180,180]) and converts to WGS-84.
    ///
    /// Errors name the field: `{field_prefix}lat` / `{field_prefix}lon`, e.g.
    /// field_prefix `"location."` gives `"location.lat"`.
    pub fn parse(lat: f64, lon: f64, crs: Crs, field_prefix: &str) -> DomainResult<LatLon> {
        check_lat(lat).map_err(|r| DomainError::invalid(format!("{field_prefix}lat"), r))?;
        check_lon(lon).map_err(|r| DomainError::invalid(format!("{field_prefix}lon"), r))?;
        let (wlon, wlat) = crs.to_wgs84(lon, lat);
        // Near the poles or the antimeridian the offset could push a valid input out of
        // range; refuse rather than store a point no map can show.
        check_lat(wlat).map_err(|r| {
            DomainError::invalid(
                format!("{field_prefix}lat"),
                format!("{r} after conversion from {crs} to wgs84"),
            )
        })?;
        check_lon(wlon).map_err(|r| {
            DomainError::invalid(
                format!("{field_prefix}lon"),
                format!("{r} after conversion from {crs} to wgs84"),
            )
        })?;
        Ok(LatLon {
            lat: wlat,
            lon: wlon,
        })
    }

    /// Geodesic distance in metres on the WGS-84 ellipsoid (Karney, via `geo`).
    pub fn distance_m(&self, other: &LatLon) -> f64 {
        Geodesic.distance(self.point(), other.point())
    }

    /// A box that holds every point within `radius_m` of this one (a cheap index
    /// prefilter; [`LatLon::distance_m`] decides). Returns (south-west, north-east).
    pub fn bbox_around(&self, radius_m: f64) -> (LatLon, LatLon) {
        let at = |bearing: f64| {
            LatLon::from_coord(Geodesic.destination(self.point(), bearing, radius_m).0)
        };
        let (n, e, s, w) = (at(0.0), at(90.0), at(180.0), at(270.0));
        (
            LatLon {
                lat: s.lat,
                lon: w.lon.min(self.lon),
            },
            LatLon {
                lat: n.lat,
                lon: e.lon.max(self.lon),
            },
        )
    }

    /// The points within `radius_m` of this one, nearest first, with their distance.
    pub fn nearest_within<K>(
        &self,
        radius_m: f64,
        candidates: impl IntoIterator<Item = (K, LatLon)>,
    ) -> Vec<(K, f64)> {
        let mut near: Vec<(K, f64)> = candidates
            .into_iter()
            .map(|(k, p)| (k, self.distance_m(&p)))
            .filter(|(_, d)| *d <= radius_m)
            .collect();
        near.sort_by(|a, b| a.1.total_cmp(&b.1));
        near
    }

    fn point(&self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }

    fn from_coord(c: Coord<f64>) -> LatLon {
        LatLon { lat: c.y, lon: c.x }
    }
}

fn check_lat(lat: f64) -> Result<(), String> {
    if !lat.is_finite() {
        Err(format!("latitude must be a finite number, got {lat}"))
    } else if !(-90.0..=90.0).contains(&lat) {
        Err(format!("latitude {lat} is outside [-90, 90]"))
    } else {
        Ok(())
    }
}

fn check_lon(lon: f64) -> Result<(), String> {
    if !lon.is_finite() {
        Err(format!("longitude must be a finite number, got {lon}"))
    } else if !(-180.0..=180.0).contains(&lon) {
        Err(format!("longitude {lon} is outside [-180, 180]"))
    } else {
        Ok(())
    }
}

/// Anything smaller is a drawing mistake (a sliver, a ring collapsed onto a few
/// metres), not a place an officer could patrol.
const MIN_AREA_M2: f64 = 1.0;

/// A community or grid-cell boundary in WGS-84.
///
/// Always valid (simple rings, holes inside their shell, parts not overlapping, non-zero
/// area) and oriented as RFC 7946 asks (shells counter-clockwise, holes clockwise).
#[derive(Debug, Clone, PartialEq)]
pub struct Boundary {
    shape: MultiPolygon<f64>,
}

/// Raw rings as received, before conversion: `parts[polygon][ring][position]`.
type RawParts = Vec<Vec<Vec<Vec<f64>>>>;

impl Boundary {
    /// Parses a GeoJSON geometry (`Polygon` or `MultiPolygon`; also a `Feature` wrapping
    /// one) given in `crs`, converting every vertex to WGS-84.
    ///
    /// Every failure is `DomainError::Invalid` with `field` as given, and a reason that
    /// points at the offending ring or position by its path in `coordinates`.
    pub fn from_geojson(value: &Value, crs: Crs, field: &str) -> DomainResult<Boundary> {
        let invalid = |reason: String| DomainError::invalid(field, reason);
        let geometry = unwrap_feature(value).map_err(invalid)?;
        let Some(kind) = geometry.get("type").and_then(Value::as_str) else {
            return Err(invalid(
                "the object has no \"type\"; send a GeoJSON Polygon or MultiPolygon".to_owned(),
            ));
        };
        if kind != "Polygon" && kind != "MultiPolygon" {
            return Err(invalid(format!(
                "geometry type \"{kind}\" is not accepted; send a Polygon or MultiPolygon \
                 (or a Feature whose geometry is one)"
            )));
        }
        let parsed: geojson::Geometry = serde_json::from_value(geometry.clone())
            .map_err(|e| invalid(format!("malformed {kind}: {e}")))?;
        let (parts, multi) = match parsed.value {
            geojson::GeometryValue::Polygon { coordinates } => (vec![coordinates], false),
            geojson::GeometryValue::MultiPolygon { coordinates } => (coordinates, true),
            other => {
                return Err(invalid(format!(
                    "geometry type \"{}\" is not accepted; send a Polygon or MultiPolygon",
                    other.type_name()
                )));
            }
        };
        let raw: RawParts = parts
            .into_iter()
            .map(|rings| {
                rings
                    .into_iter()
                    .map(|ring| ring.iter().map(|p| p.as_slice().to_vec()).collect())
                    .collect()
            })
            .collect();
        build(raw, multi, crs).map_err(invalid)
    }

    /// Same validation as [`Boundary::from_geojson`], for shapes made in code (already
    /// WGS-84). Errors use the field name `boundary`.
    pub fn from_polygon(p: Polygon<f64>) -> DomainResult<Boundary> {
        let (exterior, interiors) = p.into_inner();
        let rings = std::iter::once(exterior)
            .chain(interiors)
            .map(|ring| ring.coords().map(|c| vec![c.x, c.y]).collect())
            .collect();
        build(vec![rings], false, Crs::Wgs84).map_err(|r| DomainError::invalid("boundary", r))
    }

    /// Wraps a shape this crate generated itself (the demo district), skipping
    /// validation so that generation stays infallible; the generator's tests validate
    /// every such shape through [`Boundary::from_polygon`].
    pub(crate) fn from_generated(p: Polygon<f64>) -> Boundary {
        Boundary {
            shape: MultiPolygon::new(vec![p]).orient(Direction::Default),
        }
    }

    /// The boundary as a GeoJSON `MultiPolygon` geometry object, in WGS-84.
    pub fn to_geojson(&self) -> Value {
        Value::from(&geojson::GeometryValue::from(&self.shape))
    }

    /// The underlying shape, for further `geo` algorithms (overlay, simplification).
    pub fn multi_polygon(&self) -> &MultiPolygon<f64> {
        &self.shape
    }

    /// Whether the point lies inside; points on an edge or vertex count as inside, so a
    /// point on the line between two communities is in both (the index breaks the tie).
    pub fn contains(&self, p: &LatLon) -> bool {
        self.shape.intersects(&p.point())
    }

    /// Centre of mass, computed in the lon/lat plane (exact enough at community scale).
    pub fn centroid(&self) -> Option<LatLon> {
        self.shape.centroid().map(|c| LatLon::from_coord(c.0))
    }

    /// Bounding box as `(min, max)` corners (south-west, north-east).
    pub fn bbox(&self) -> Option<(LatLon, LatLon)> {
        self.shape
            .bounding_rect()
            .map(|r| (LatLon::from_coord(r.min()), LatLon::from_coord(r.max())))
    }

    /// Geodesic area on the WGS-84 ellipsoid, in square metres, holes excluded.
    pub fn area_m2(&self) -> f64 {
        self.shape.geodesic_area_unsigned()
    }

    /// Distance in metres from the point to the boundary (0 when inside).
    ///
    /// The nearest boundary point is found on great-circle edges, the distance to it is
    /// measured geodesically.
    pub fn distance_m(&self, p: &LatLon) -> f64 {
        if self.contains(p) {
            return 0.0;
        }
        let from = p.point();
        match self.shape.haversine_closest_point(&from) {
            Closest::Intersection(_) => 0.0,
            Closest::SinglePoint(q) => Geodesic.distance(from, q),
            // Only for degenerate inputs (antipodal edges), which validation excludes;
            // the nearest vertex is then the best honest answer.
            Closest::Indeterminate => self
                .shape
                .iter()
                .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
                .flat_map(LineString::points)
                .map(|v| Geodesic.distance(from, v))
                .fold(f64::INFINITY, f64::min),
        }
    }
}

/// Returns the geometry object, looking inside a `Feature` if that is what was sent.
fn unwrap_feature(value: &Value) -> Result<&Value, String> {
    let Some(obj) = value.as_object() else {
        return Err("expected a GeoJSON geometry object".to_owned());
    };
    if obj.get("type").and_then(Value::as_str) != Some("Feature") {
        return Ok(value);
    }
    match obj.get("geometry") {
        Some(g) if g.is_object() => Ok(g),
        _ => Err("the Feature has no geometry; it needs a Polygon or MultiPolygon".to_owned()),
    }
}

/// Names a ring by its JSON path, e.g. `coordinates[1][0]`, with its role.
fn ring_label(multi: bool, polygon: usize, ring: usize) -> String {
    let path = if multi {
        format!("coordinates[{polygon}][{ring}]")
    } else {
        format!("coordinates[{ring}]")
    };
    let role = if ring == 0 {
        "exterior ring".to_owned()
    } else {
        format!("hole {}", ring - 1)
    };
    format!("ring {path} ({role})")
}

fn polygon_label(multi: bool, polygon: usize) -> String {
    if multi {
        format!("polygon coordinates[{polygon}]")
    } else {
        "the polygon".to_owned()
    }
}

/// Checks positions and rings as received, converts them, then lets `geo` judge the
/// topology of the converted shape.
fn build(parts: RawParts, multi: bool, crs: Crs) -> Result<Boundary, String> {
    if parts.is_empty() {
        return Err("the MultiPolygon has no polygons".to_owned());
    }
    let mut polygons = Vec::with_capacity(parts.len());
    for (pi, rings) in parts.iter().enumerate() {
        if rings.is_empty() {
            return Err(format!("{} has no rings", polygon_label(multi, pi)));
        }
        let mut converted = Vec::with_capacity(rings.len());
        for (ri, ring) in rings.iter().enumerate() {
            let label = ring_label(multi, pi, ri);
            let mut coords = Vec::with_capacity(ring.len());
            for (qi, pos) in ring.iter().enumerate() {
                let [lon, lat, ..] = pos[..] else {
                    return Err(format!(
                        "position {qi} of {label} has {} number(s); it needs [longitude, latitude]",
                        pos.len()
                    ));
                };
                check_lon(lon)
                    .and_then(|()| check_lat(lat))
                    .map_err(|r| format!("position {qi} of {label}: {r}"))?;
                let (x, y) = crs.to_wgs84(lon, lat);
                coords.push(Coord { x, y });
            }
            if ring.len() < 4 {
                return Err(format!(
                    "{label} has {} position(s); a ring needs at least 4 \
                     (3 corners and the first repeated at the end)",
                    ring.len()
                ));
            }
            let (first, last) = (&ring[0], &ring[ring.len() - 1]);
            if first[..2] != last[..2] {
                return Err(format!(
                    "{label} is not closed: its first position {first:?} differs from its last \
                     {last:?}; repeat the first position at the end"
                ));
            }
            converted.push(LineString::new(coords));
        }
        let mut rings = converted.into_iter();
        let exterior = rings.next().unwrap_or_else(|| LineString::new(Vec::new()));
        let polygon = Polygon::new(exterior, rings.collect());
        if let Err(e) = polygon.check_validation() {
            return Err(describe_polygon_error(multi, pi, &e));
        }
        if is_flat(&polygon) {
            return Err(format!(
                "{} encloses no area: the corners of {} lie on one line",
                polygon_label(multi, pi),
                ring_label(multi, pi, 0)
            ));
        }
        polygons.push(polygon);
    }
    let shape = MultiPolygon::new(polygons);
    if let Err(e) = shape.check_validation() {
        return Err(match e {
            InvalidMultiPolygon::InvalidPolygon(idx, inner) => {
                describe_polygon_error(multi, idx.0, &inner)
            }
            InvalidMultiPolygon::ElementsOverlaps(a, b) => format!(
                "polygons coordinates[{}] and coordinates[{}] overlap; merge them or remove \
                 the overlap",
                a.0, b.0
            ),
            InvalidMultiPolygon::ElementsTouchOnALine(a, b) => format!(
                "polygons coordinates[{}] and coordinates[{}] share an edge; merge them into one \
                 polygon",
                a.0, b.0
            ),
        });
    }
    // geographiclib reads a clockwise shell as "the rest of the Earth"; fixing the
    // orientation once here keeps area_m2 honest and to_geojson RFC 7946 compliant.
    let shape = shape.orient(Direction::Default);
    let area = shape.geodesic_area_unsigned();
    if area.is_nan() || area < MIN_AREA_M2 {
        return Err(format!(
            "the shape encloses only {area:.3} m²; a boundary must enclose at least \
             {MIN_AREA_M2} m²"
        ));
    }
    Ok(Boundary { shape })
}

/// Collinear corners pass `geo`'s validation, and geodesic edges between them bulge
/// enough to enclose tens of square metres, so flatness is judged in the lon/lat plane,
/// relative to the bounding box so it does not depend on size.
fn is_flat(shape: &Polygon<f64>) -> bool {
    let planar = shape.unsigned_area();
    let extent = shape
        .bounding_rect()
        .map_or(0.0, |r| r.width().max(r.height()).powi(2));
    planar.is_nan() || planar <= 1e-9 * extent
}

fn role_label(multi: bool, polygon: usize, role: &RingRole) -> String {
    match role {
        RingRole::Exterior => ring_label(multi, polygon, 0),
        RingRole::Interior(i) => ring_label(multi, polygon, i + 1),
    }
}

fn describe_polygon_error(multi: bool, polygon: usize, e: &InvalidPolygon) -> String {
    match e {
        InvalidPolygon::TooFewPointsInRing(r) => format!(
            "{} has fewer than 3 distinct corners",
            role_label(multi, polygon, r)
        ),
        InvalidPolygon::SelfIntersection(r) => format!(
            "{} crosses or touches itself (self-intersection); draw the outline without \
             crossing edges",
            role_label(multi, polygon, r)
        ),
        InvalidPolygon::NonFiniteCoord(r, idx) => format!(
            "position {} of {} is not a finite number",
            idx.0,
            role_label(multi, polygon, r)
        ),
        InvalidPolygon::InteriorRingNotContainedInExteriorRing(r) => format!(
            "{} is not inside the exterior ring",
            role_label(multi, polygon, r)
        ),
        InvalidPolygon::IntersectingRingsOnALine(a, b)
        | InvalidPolygon::IntersectingRingsOnAnArea(a, b) => format!(
            "{} and {} of {} intersect",
            role_label(multi, polygon, a),
            role_label(multi, polygon, b),
            polygon_label(multi, polygon)
        ),
    }
}

/// Point → region lookup for thousands of polygons: an R-tree (rstar) over bounding
/// boxes, then exact containment.
#[derive(Debug, Clone)]
pub struct SpatialIndex<K> {
    entries: Vec<IndexEntry<K>>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

#[derive(Debug, Clone)]
struct IndexEntry<K> {
    key: K,
    boundary: Boundary,
    area_m2: f64,
}

impl<K: Clone> SpatialIndex<K> {
    /// Builds the index in one pass (bulk-loaded R-tree).
    pub fn build(items: Vec<(K, Boundary)>) -> Self {
        let mut boxes = Vec::with_capacity(items.len());
        let mut entries = Vec::with_capacity(items.len());
        for (i, (key, boundary)) in items.into_iter().enumerate() {
            if let Some((min, max)) = boundary.bbox() {
                boxes.push(GeomWithData::new(
                    Rectangle::from_corners([min.lon, min.lat], [max.lon, max.lat]),
                    i,
                ));
            }
            let area_m2 = boundary.area_m2();
            entries.push(IndexEntry {
                key,
                boundary,
                area_m2,
            });
        }
        SpatialIndex {
            entries,
            tree: RTree::bulk_load(boxes),
        }
    }

    /// All keys whose boundary contains the point, smallest area first (a grid cell
    /// inside a community, overlapping shapes); equal areas keep insertion order.
    pub fn locate_all(&self, p: &LatLon) -> Vec<K> {
        let probe = AABB::from_point([p.lon, p.lat]);
        let mut hits: Vec<(usize, &IndexEntry<K>)> = self
            .tree
            .locate_in_envelope_intersecting(&probe)
            .filter_map(|g| self.entries.get(g.data).map(|e| (g.data, e)))
            .filter(|(_, e)| e.boundary.contains(p))
            .collect();
        hits.sort_by(|(ia, a), (ib, b)| a.area_m2.total_cmp(&b.area_m2).then(ia.cmp(ib)));
        hits.into_iter().map(|(_, e)| e.key.clone()).collect()
    }

    /// The smallest-area boundary containing the point.
    pub fn locate(&self, p: &LatLon) -> Option<K> {
        self.locate_all(p).into_iter().next()
    }

    /// Number of boundaries indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use serde_json::json;

    fn square(lon0: f64, lat0: f64, size: f64) -> Polygon<f64> {
        Polygon::new(
            LineString::from(vec![
                (lon0, lat0),
                (lon0 + size, lat0),
                (lon0 + size, lat0 + size),
                (lon0, lat0 + size),
                (lon0, lat0),
            ]),
            vec![],
        )
    }

    fn square_boundary(lon0: f64, lat0: f64, size: f64) -> Boundary {
        Boundary::from_polygon(square(lon0, lat0, size)).unwrap()
    }

    fn pt(lat: f64, lon: f64) -> LatLon {
        LatLon { lat, lon }
    }

    fn invalid_parts(err: DomainError) -> (String, String) {
        match err {
            DomainError::Invalid { field, reason } => (field, reason),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn crs_parses_wire_names_in_any_case_and_rejects_others() {
        let cases = [
            ("wgs84", Some(Crs::Wgs84)),
            ("gcj02", Some(Crs::Gcj02)),
            ("bd09", Some(Crs::Bd09)),
            ("WGS84", Some(Crs::Wgs84)),
            ("Gcj02", Some(Crs::Gcj02)),
            ("", None),
            ("epsg4326", None),
            ("gcj-02", None),
        ];
        for (input, expected) in cases {
            match (input.parse::<Crs>(), expected) {
                (Ok(crs), Some(want)) => assert_eq!(crs, want, "{input}"),
                (Err(e), None) => assert_eq!(
                    e,
                    DomainError::invalid(
                        "crs",
                        format!("unknown crs \"{input}\"; expected wgs84, gcj02 or bd09")
                    )
                ),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn crs_round_trips_through_serde_and_as_str_and_defaults_to_wgs84() {
        for crs in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
            let wire = serde_json::to_value(crs).unwrap();
            assert_eq!(wire, json!(crs.as_str()));
            assert_eq!(serde_json::from_value::<Crs>(wire).unwrap(), crs);
            assert_eq!(crs.as_str().parse::<Crs>().unwrap(), crs);
        }
        assert_eq!(Crs::default(), Crs::Wgs84);
    }

    /// Published pairs from the eviltransform test suite (googollee/eviltransform):
    /// (wgs lat, wgs lon, gcj lat, gcj lon). `coordtransform` inverts GCJ-02 in one step,
    /// which is good to about 2 m.
    const GCJ_FIXTURES: [(&str, f64, f64, f64, f64); 3] = [
        (
            "shanghai",
            31.1774276,
            121.5272106,
            31.17530398364597,
            121.531541859215,
        ),
        (
            "shenzhen",
            22.543847,
            113.912316,
            22.540796131694766,
            113.9171764808363,
        ),
        (
            "beijing",
            39.911954,
            116.377817,
            39.91334545536069,
            116.38404722455657,
        ),
    ];

    #[test]
    fn gcj02_fixture_points_convert_to_wgs84_within_three_metres() {
        for (name, wlat, wlon, glat, glon) in GCJ_FIXTURES {
            let got = LatLon::parse(glat, glon, Crs::Gcj02, "").unwrap();
            let d = got.distance_m(&pt(wlat, wlon));
            assert!(d < 3.0, "{name}: {d} m off");
            // The offset is hundreds of metres, so the test would catch a missing transform.
            assert!(pt(glat, glon).distance_m(&pt(wlat, wlon)) > 100.0, "{name}");
        }
    }

    #[test]
    fn bd09_fixture_point_converts_like_its_published_gcj02_twin() {
        // Beijing railway station, published as GCJ-02 (39.90245, 116.42703) and
        // BD-09 (39.90851, 116.43351); five decimals are about a metre.
        let from_bd = LatLon::parse(39.90851, 116.43351, Crs::Bd09, "").unwrap();
        let from_gcj = LatLon::parse(39.90245, 116.42703, Crs::Gcj02, "").unwrap();
        let d = from_bd.distance_m(&from_gcj);
        assert!(d < 5.0, "{d} m apart");
        let raw = pt(39.90851, 116.43351);
        assert!(raw.distance_m(&from_bd) > 500.0, "BD-09 offset not applied");
    }

    #[test]
    fn xining_point_survives_wgs84_to_gcj02_and_back_within_a_metre() {
        let (lat, lon) = (36.61, 101.80);
        let (glon, glat) = coordtransform::wgs84_to_gcj02(lon, lat);
        let back = LatLon::parse(glat, glon, Crs::Gcj02, "").unwrap();
        let d = back.distance_m(&pt(lat, lon));
        assert!(d < 1.0, "{d} m");
        assert!(pt(glat, glon).distance_m(&pt(lat, lon)) > 50.0);
    }

    #[test]
    fn wgs84_points_pass_through_unchanged() {
        let p = LatLon::parse(36.61, 101.8, Crs::Wgs84, "").unwrap();
        assert_eq!(p, pt(36.61, 101.8));
    }

    #[test]
    fn bad_coordinates_are_rejected_naming_the_field() {
        let cases = [
            (f64::NAN, 101.8, "location.lat", "finite"),
            (36.6, f64::NAN, "location.lon", "finite"),
            (f64::INFINITY, 101.8, "location.lat", "finite"),
            (36.6, f64::NEG_INFINITY, "location.lon", "finite"),
            (90.5, 101.8, "location.lat", "outside [-90, 90]"),
            (-91.0, 101.8, "location.lat", "outside [-90, 90]"),
            (36.6, 180.1, "location.lon", "outside [-180, 180]"),
            (36.6, -200.0, "location.lon", "outside [-180, 180]"),
        ];
        for crs in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
            for (lat, lon, field, needle) in cases {
                let (f, reason) =
                    invalid_parts(LatLon::parse(lat, lon, crs, "location.").unwrap_err());
                assert_eq!(f, field, "{lat},{lon} {crs}");
                assert!(reason.contains(needle), "{reason}");
            }
        }
    }

    #[test]
    fn range_limits_themselves_are_accepted() {
        for (lat, lon) in [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)] {
            assert!(LatLon::parse(lat, lon, Crs::Wgs84, "").is_ok());
        }
    }

    #[test]
    fn distance_between_points_a_kilometre_apart_is_about_a_kilometre() {
        // One minute of latitude is close to a nautical mile (1852 m).
        let d = pt(36.6, 101.8).distance_m(&pt(36.6 + 1.0 / 60.0, 101.8));
        assert!((d - 1849.0).abs() < 10.0, "{d}");
    }

    fn polygon_json(ring: serde_json::Value) -> serde_json::Value {
        json!({"type": "Polygon", "coordinates": [ring]})
    }

    const RING: [[f64; 2]; 5] = [
        [101.80, 36.60],
        [101.81, 36.60],
        [101.81, 36.61],
        [101.80, 36.61],
        [101.80, 36.60],
    ];

    #[test]
    fn polygon_multipolygon_and_feature_are_accepted() {
        let polygon = polygon_json(json!(RING));
        let multi = json!({"type": "MultiPolygon", "coordinates": [[RING]]});
        let feature = json!({"type": "Feature", "properties": {"name": "x"}, "geometry": polygon});
        let expected = Boundary::from_geojson(&polygon, Crs::Wgs84, "boundary").unwrap();
        for value in [&multi, &feature] {
            assert_eq!(
                Boundary::from_geojson(value, Crs::Wgs84, "boundary").unwrap(),
                expected
            );
        }
        let area = expected.area_m2();
        // 0.01° × 0.01° at 36.6°N: about 1113 m × 894 m.
        assert!((area - 995_000.0).abs() < 10_000.0, "{area}");
    }

    #[test]
    fn clockwise_input_is_reoriented_and_keeps_its_small_area() {
        let mut ring = RING.to_vec();
        ring.reverse();
        let b = Boundary::from_geojson(&polygon_json(json!(ring)), Crs::Wgs84, "b").unwrap();
        assert!(b.area_m2() < 2_000_000.0, "{}", b.area_m2());
        let ccw = Boundary::from_geojson(&polygon_json(json!(RING)), Crs::Wgs84, "b").unwrap();
        assert!((b.area_m2() - ccw.area_m2()).abs() < 1.0);
    }

    #[test]
    fn gcj02_boundary_vertices_are_converted() {
        let wgs = Boundary::from_geojson(&polygon_json(json!(RING)), Crs::Wgs84, "b").unwrap();
        let gcj = Boundary::from_geojson(&polygon_json(json!(RING)), Crs::Gcj02, "b").unwrap();
        let (a, b) = (wgs.centroid().unwrap(), gcj.centroid().unwrap());
        let d = a.distance_m(&b);
        assert!(d > 100.0 && d < 400.0, "{d}");
    }

    #[test]
    fn to_geojson_reads_back_as_the_same_boundary() {
        let b = Boundary::from_geojson(&polygon_json(json!(RING)), Crs::Wgs84, "b").unwrap();
        let out = b.to_geojson();
        assert_eq!(out["type"], "MultiPolygon");
        assert_eq!(Boundary::from_geojson(&out, Crs::Wgs84, "b").unwrap(), b);
    }

    #[test]
    fn malformed_boundaries_are_rejected_with_an_actionable_reason() {
        let bow_tie = json!([
            [101.80, 36.60],
            [101.81, 36.61],
            [101.81, 36.60],
            [101.80, 36.61],
            [101.80, 36.60]
        ]);
        let unclosed = json!([
            [101.80, 36.60],
            [101.81, 36.60],
            [101.81, 36.61],
            [101.80, 36.61]
        ]);
        let three = json!([[101.80, 36.60], [101.81, 36.60], [101.80, 36.60]]);
        let collinear = json!([
            [101.80, 36.60],
            [101.81, 36.60],
            [101.82, 36.60],
            [101.80, 36.60]
        ]);
        let hole_unclosed = json!({"type": "Polygon", "coordinates": [
            RING,
            [[101.802, 36.602], [101.804, 36.602], [101.804, 36.604], [101.802, 36.604]]
        ]});
        let multi_second_bad = json!({"type": "MultiPolygon", "coordinates": [
            [RING],
            [[[101.9, 36.6], [101.91, 36.6], [101.91, 36.61], [101.9, 36.61]]]
        ]});
        let point = json!({"type": "Point", "coordinates": [101.8, 36.6]});
        let overlapping = json!({"type": "MultiPolygon", "coordinates": [[RING], [RING]]});
        let cases: Vec<(&str, serde_json::Value, Vec<&str>)> = vec![
            (
                "point",
                point.clone(),
                vec!["\"Point\"", "Polygon or MultiPolygon"],
            ),
            (
                "line",
                json!({"type": "LineString", "coordinates": RING}),
                vec!["\"LineString\""],
            ),
            (
                "feature of a point",
                json!({"type": "Feature", "properties": null, "geometry": point.clone()}),
                vec!["\"Point\""],
            ),
            (
                "feature without geometry",
                json!({"type": "Feature", "properties": null, "geometry": null}),
                vec!["no geometry"],
            ),
            (
                "not an object",
                json!([1, 2]),
                vec!["GeoJSON geometry object"],
            ),
            (
                "missing coordinates",
                json!({"type": "Polygon"}),
                vec!["malformed Polygon"],
            ),
            (
                "missing type",
                json!({"coordinates": [RING]}),
                vec!["no \"type\""],
            ),
            (
                "bow tie",
                polygon_json(bow_tie),
                vec!["self-intersection", "coordinates[0]"],
            ),
            (
                "unclosed ring",
                polygon_json(unclosed),
                vec!["coordinates[0] (exterior ring) is not closed"],
            ),
            (
                "unclosed hole",
                hole_unclosed,
                vec!["coordinates[1] (hole 0) is not closed"],
            ),
            (
                "unclosed ring of a second polygon",
                multi_second_bad,
                vec!["coordinates[1][0] (exterior ring) is not closed"],
            ),
            (
                "three positions",
                polygon_json(three),
                vec!["has 3 position(s)", "at least 4"],
            ),
            ("collinear", polygon_json(collinear), vec!["coordinates[0]"]),
            (
                "longitude out of range",
                polygon_json(json!([
                    [101.8, 36.6],
                    [190.0, 36.6],
                    [101.81, 36.61],
                    [101.8, 36.6]
                ])),
                vec!["position 1 of ring coordinates[0]", "longitude 190"],
            ),
            (
                "latitude out of range",
                polygon_json(json!([
                    [101.8, 36.6],
                    [101.81, 36.6],
                    [101.81, -95.0],
                    [101.8, 36.6]
                ])),
                vec!["position 2 of ring coordinates[0]", "latitude -95"],
            ),
            (
                "short position",
                polygon_json(json!([
                    [101.8, 36.6],
                    [101.81],
                    [101.81, 36.61],
                    [101.8, 36.6]
                ])),
                vec!["position 1", "[longitude, latitude]"],
            ),
            ("overlapping parts", overlapping, vec!["overlap"]),
            (
                "empty multipolygon",
                json!({"type": "MultiPolygon", "coordinates": []}),
                vec!["no polygons"],
            ),
        ];
        for (name, value, needles) in cases {
            let err = Boundary::from_geojson(&value, Crs::Wgs84, "boundary").unwrap_err();
            let (field, reason) = invalid_parts(err);
            assert_eq!(field, "boundary", "{name}");
            for needle in needles {
                assert!(
                    reason.contains(needle),
                    "{name}: {reason:?} lacks {needle:?}"
                );
            }
        }
    }

    #[test]
    fn from_polygon_rejects_non_finite_and_degenerate_shapes() {
        let nan = Polygon::new(
            LineString::from(vec![
                (101.8, 36.6),
                (f64::NAN, 36.6),
                (101.81, 36.61),
                (101.8, 36.6),
            ]),
            vec![],
        );
        let bow_tie = Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (1.0, 1.0),
                (1.0, 0.0),
                (0.0, 1.0),
                (0.0, 0.0),
            ]),
            vec![],
        );
        let empty = Polygon::new(LineString::new(vec![]), vec![]);
        for (name, p, needle) in [
            ("nan", nan, "finite"),
            ("bow tie", bow_tie, "self-intersection"),
            ("empty", empty, "at least 4"),
        ] {
            let (field, reason) = invalid_parts(Boundary::from_polygon(p).unwrap_err());
            assert_eq!(field, "boundary");
            assert!(reason.contains(needle), "{name}: {reason}");
        }
    }

    #[test]
    fn polygon_with_a_hole_excludes_the_hole() {
        let outer = square(101.80, 36.60, 0.01).into_inner().0;
        let hole = square(101.803, 36.603, 0.004).into_inner().0;
        let b = Boundary::from_polygon(Polygon::new(outer, vec![hole])).unwrap();
        assert!(!b.contains(&pt(36.605, 101.805)));
        assert!(b.contains(&pt(36.601, 101.801)));
        let solid = square_boundary(101.80, 36.60, 0.01);
        let hole_area = square_boundary(101.803, 36.603, 0.004).area_m2();
        assert!((solid.area_m2() - hole_area - b.area_m2()).abs() < 1.0);
    }

    #[test]
    fn contains_counts_edges_and_corners_as_inside() {
        let b = square_boundary(101.80, 36.60, 0.01);
        let cases = [
            ("centre", pt(36.605, 101.805), true),
            ("west edge", pt(36.605, 101.80), true),
            ("south-west corner", pt(36.60, 101.80), true),
            ("north edge", pt(36.61, 101.805), true),
            ("just outside", pt(36.605, 101.7999), false),
            ("far away", pt(39.9, 116.4), false),
        ];
        for (name, p, inside) in cases {
            assert_eq!(b.contains(&p), inside, "{name}");
        }
    }

    #[test]
    fn centroid_bbox_and_distance_describe_the_square() {
        let b = square_boundary(101.80, 36.60, 0.01);
        let c = b.centroid().unwrap();
        assert!((c.lat - 36.605).abs() < 1e-9 && (c.lon - 101.805).abs() < 1e-9);
        let (min, max) = b.bbox().unwrap();
        assert_eq!((min, max), (pt(36.60, 101.80), pt(36.61, 101.81)));
        assert_eq!(b.distance_m(&c), 0.0);
        assert_eq!(b.distance_m(&pt(36.60, 101.80)), 0.0);
        // 0.001° of latitude south of the south edge: about 111 m.
        let d = b.distance_m(&pt(36.599, 101.805));
        assert!((d - 111.0).abs() < 1.0, "{d}");
        let d = b.distance_m(&pt(36.605, 101.811));
        assert!((d - 89.4).abs() < 1.0, "{d}");
    }

    #[test]
    fn spatial_index_finds_the_right_cell_of_a_60_by_60_grid() {
        let (lon0, lat0, size) = (101.75, 36.58, 0.001);
        let mut items = Vec::new();
        for i in 0..60 {
            for j in 0..60 {
                let b = square_boundary(lon0 + i as f64 * size, lat0 + j as f64 * size, size);
                items.push(((i, j), b));
            }
        }
        let index = SpatialIndex::build(items);
        assert_eq!(index.len(), 3600);
        assert!(!index.is_empty());
        // A fixed LCG spreads probes over the grid, away from the shared edges.
        let mut state: u64 = 42;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..2000 {
            let (i, j) = ((next() * 60.0) as usize, (next() * 60.0) as usize);
            let (fx, fy) = (0.05 + 0.9 * next(), 0.05 + 0.9 * next());
            let p = pt(lat0 + (j as f64 + fy) * size, lon0 + (i as f64 + fx) * size);
            assert_eq!(index.locate(&p), Some((i, j)), "{p:?}");
            assert_eq!(index.locate_all(&p), vec![(i, j)]);
        }
        assert_eq!(index.locate(&pt(36.0, 101.0)), None);
        // A shared corner is on four cells' boundaries.
        let corner = pt(lat0 + 10.0 * size, lon0 + 10.0 * size);
        assert_eq!(index.locate_all(&corner).len(), 4);
    }

    #[test]
    fn spatial_index_lists_the_smallest_nested_shape_first() {
        let community = square_boundary(101.80, 36.60, 0.01);
        let cell = square_boundary(101.80, 36.60, 0.005);
        let street = square_boundary(101.79, 36.59, 0.03);
        let index = SpatialIndex::build(vec![
            ("street", street),
            ("community", community),
            ("cell", cell),
        ]);
        let cases = [
            (pt(36.601, 101.801), vec!["cell", "community", "street"]),
            (pt(36.608, 101.808), vec!["community", "street"]),
            (pt(36.615, 101.815), vec!["street"]),
            (pt(36.70, 101.90), vec![]),
        ];
        for (p, expected) in cases {
            assert_eq!(index.locate_all(&p), expected, "{p:?}");
            assert_eq!(index.locate(&p), expected.first().copied());
        }
        let empty: SpatialIndex<u8> = SpatialIndex::build(vec![]);
        assert!(empty.is_empty());
        assert_eq!(empty.locate(&pt(36.6, 101.8)), None);
    }

    #[test]
    fn nearest_within_keeps_points_inside_the_radius_nearest_first_and_the_box_holds_them() {
        let here = LatLon {
            lat: 36.605,
            lon: 101.805,
        };
        // About 111 m per 0.001 degree of latitude.
        let north_200 = LatLon {
            lat: 36.6068,
            lon: 101.805,
        };
        let north_300 = LatLon {
            lat: 36.6077,
            lon: 101.805,
        };
        let east_100 = LatLon {
            lat: 36.605,
            lon: 101.8061,
        };
        let near = here.nearest_within(
            250.0,
            [("n200", north_200), ("n300", north_300), ("e100", east_100)],
        );
        let keys: Vec<_> = near.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["e100", "n200"]);
        assert!(near[0].1 < near[1].1 && near[1].1 <= 250.0);
        let (sw, ne) = here.bbox_around(250.0);
        for p in [north_200, east_100] {
            assert!(sw.lat <= p.lat && p.lat <= ne.lat && sw.lon <= p.lon && p.lon <= ne.lon);
        }
        assert!(
            north_300.lat > ne.lat,
            "the box is not much larger than the radius"
        );
    }
}
