//! The district map (辖区地图): communities drawn from their stored boundaries as inline
//! SVG, no tile server (the console must work on a closed network), coloured by a chosen
//! figure, with open cases as points. A table repeats the figures for screen readers.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};
use patrol_domain::case::deadline;
use patrol_domain::geometry::{Boundary, Crs};
use patrol_domain::role::Scope;
use patrol_domain::visit::week_of;
use serde::Deserialize;

use super::error::PageError;
use super::page::{self, Section, words};
use super::session::Viewer;
use crate::commands::cases::{self, CaseQuery};
use crate::commands::context::Ctx;
use crate::commands::visits::compliance_in_scope;
use crate::db::{DbConn, store};
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

/// Open cases read for the map; points beyond [`MAX_POINTS`] are not drawn (the page
/// stays small), the counts still include them.
const OPEN_CASES_READ: i64 = 5000;
const MAX_POINTS: usize = 2000;
/// The drawing's width in SVG units; the height follows the district's shape.
const WIDTH: f64 = 1000.0;

/// What colours the communities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    #[default]
    Compliance,
    Open,
    Overdue,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapQuery {
    pub by: Option<Colour>,
}

struct Area {
    code: String,
    name: String,
    boundary: Boundary,
    /// Officer-weeks compliant / due this week.
    compliance: (usize, usize),
    open: usize,
    overdue: usize,
}

struct MapData {
    areas: Vec<Area>,
    points: Vec<(f64, f64)>,
}

fn read(conn: &mut DbConn, st: &AppState, viewer: &Viewer) -> ApiResult<MapData> {
    let ctx = Ctx::for_user(conn, st, &viewer.user)?;
    let now = Utc::now();
    let communities = match &ctx.scope {
        Scope::All => store::all_communities(conn)?,
        Scope::Communities(ids) => store::communities_by_ids(conn, ids)?,
        Scope::Own => Vec::new(),
    };
    let compliance = match compliance_in_scope(
        conn,
        &st.cfg.compliance,
        &viewer.user,
        week_of(now, ctx.tz),
        None,
        None,
    ) {
        Ok(rows) => rows,
        Err(ApiError::Forbidden(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    let query = CaseQuery {
        open: true,
        limit: OPEN_CASES_READ,
        ..CaseQuery::default()
    };
    let (open, _) = cases::list(conn, &ctx, &query, now)?;
    let mut by_community: HashMap<&str, (usize, usize)> = HashMap::new();
    for c in &open {
        let e = by_community.entry(c.community_id.as_str()).or_default();
        e.0 += 1;
        if deadline::lateness(&cases::progress_of(c), now).any() {
            e.1 += 1;
        }
    }
    let mut weeks: HashMap<&str, (usize, usize)> = HashMap::new();
    for r in &compliance {
        let e = weeks.entry(r.community_code.as_str()).or_default();
        e.1 += 1;
        if r.compliant {
            e.0 += 1;
        }
    }
    let mut areas = Vec::with_capacity(communities.len());
    for c in communities {
        let json: serde_json::Value =
            serde_json::from_str(&c.boundary).map_err(ApiError::internal)?;
        let boundary = Boundary::from_geojson(&json, Crs::Wgs84, "boundary")?;
        let (open, overdue) = by_community.get(c.id.as_str()).copied().unwrap_or_default();
        areas.push(Area {
            compliance: weeks.get(c.code.as_str()).copied().unwrap_or_default(),
            code: c.code,
            name: c.name,
            boundary,
            open,
            overdue,
        });
    }
    let points = open
        .iter()
        .take(MAX_POINTS)
        .map(|c| (c.lon, c.lat))
        .collect();
    Ok(MapData { areas, points })
}

/// Plate carrée scaled by the cosine of the middle latitude: at a district's size the
/// distortion is far below a pixel, and no tile or projection service is needed.
pub(super) struct Frame {
    min_lon: f64,
    max_lat: f64,
    scale: f64,
    cos: f64,
    height: f64,
}

impl Frame {
    /// The frame that holds every boundary and (lon, lat) point given.
    pub(super) fn around<'a>(
        boundaries: impl Iterator<Item = &'a Boundary>,
        points: impl Iterator<Item = (f64, f64)>,
    ) -> Frame {
        let (mut lo_lon, mut lo_lat, mut hi_lon, mut hi_lat) = (180.0, 90.0, -180.0, -90.0);
        let corners = boundaries
            .filter_map(Boundary::bbox)
            .flat_map(|(sw, ne)| [(sw.lon, sw.lat), (ne.lon, ne.lat)]);
        for (lon, lat) in corners.chain(points) {
            lo_lon = f64::min(lo_lon, lon);
            lo_lat = f64::min(lo_lat, lat);
            hi_lon = f64::max(hi_lon, lon);
            hi_lat = f64::max(hi_lat, lat);
        }
        if lo_lon > hi_lon {
            (lo_lon, lo_lat, hi_lon, hi_lat) = (0.0, 0.0, 1.0, 1.0);
        }
        let cos = ((lo_lat + hi_lat) / 2.0).to_radians().cos().max(0.01);
        let span = ((hi_lon - lo_lon) * cos).max(1e-9);
        let scale = WIDTH / span;
        Frame {
            min_lon: lo_lon,
            max_lat: hi_lat,
            scale,
            cos,
            height: ((hi_lat - lo_lat) * scale).max(1.0),
        }
    }

    pub(super) fn xy(&self, lon: f64, lat: f64) -> (f64, f64) {
        (
            (lon - self.min_lon) * self.cos * self.scale,
            (self.max_lat - lat) * self.scale,
        )
    }

    pub(super) fn path(&self, b: &Boundary) -> String {
        use std::fmt::Write;
        let mut d = String::new();
        for polygon in b.multi_polygon() {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for (i, c) in ring.coords().enumerate() {
                    let (x, y) = self.xy(c.x, c.y);
                    let _ = write!(d, "{}{x:.1} {y:.1}", if i == 0 { "M" } else { "L" });
                }
                d.push('Z');
            }
        }
        d
    }
}

/// One community's boundary with points on it (a visit's fix, a case and its duplicate):
/// `points` are (lon, lat, CSS class, label). Labels go to a list beside the drawing.
pub(super) fn small_map(
    title: &str,
    boundary: &Boundary,
    points: &[(f64, f64, &str, String)],
) -> Markup {
    let frame = Frame::around(
        std::iter::once(boundary),
        points.iter().map(|(lon, lat, _, _)| (*lon, *lat)),
    );
    html! {
        figure.small-map {
            svg.map role="img" aria-label=(title)
                viewBox={ "-20 -20 " (format!("{:.0} {:.0}", WIDTH + 40.0, frame.height + 40.0)) }
                xmlns="http://www.w3.org/2000/svg" {
                path.community.qn fill-rule="evenodd" d=(frame.path(boundary)) {}
                @for (lon, lat, class, _) in points {
                    @let (x, y) = frame.xy(*lon, *lat);
                    circle class=(class) cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="12" {}
                }
            }
            figcaption {
                (title)
                ul.legend {
                    @for (_, _, class, label) in points {
                        li {
                            svg viewBox="0 0 10 10" aria-hidden="true" { circle class=(class) cx="5" cy="5" r="4" {} }
                            " " (label)
                        }
                    }
                }
            }
        }
    }
}

/// The colour step of a value: `q0` (good) to `q4`, `qn` for no figure.
fn step(by: Colour, a: &Area) -> &'static str {
    const STEPS: [&str; 5] = ["q0", "q1", "q2", "q3", "q4"];
    let i = match by {
        Colour::Compliance => {
            let (ok, due) = a.compliance;
            if due == 0 {
                return "qn";
            }
            let share = ok as f64 / due as f64;
            [1.0, 0.8, 0.6, 0.4]
                .iter()
                .position(|t| share >= *t)
                .unwrap_or(4)
        }
        Colour::Open | Colour::Overdue => {
            let n = if by == Colour::Open {
                a.open
            } else {
                a.overdue
            };
            [0, 2, 5, 10].iter().position(|t| n <= *t).unwrap_or(4)
        }
    };
    STEPS[i]
}

fn figure(by: Colour, a: &Area) -> String {
    match by {
        Colour::Compliance if a.compliance.1 == 0 => "—".into(),
        Colour::Compliance => format!("{}/{}", a.compliance.0, a.compliance.1),
        Colour::Open => a.open.to_string(),
        Colour::Overdue => a.overdue.to_string(),
    }
}

fn legend(by: Colour) -> Markup {
    let labels: [&str; 6] = match by {
        Colour::Compliance => ["100%", "≥80%", "≥60%", "≥40%", "<40%", "—"],
        _ => ["0", "1–2", "3–5", "6–10", ">10", ""],
    };
    html! {
        ul.legend {
            @for (i, l) in labels.iter().enumerate().filter(|(_, l)| !l.is_empty()) {
                li {
                    svg viewBox="0 0 10 10" aria-hidden="true" {
                        rect class=(if i < 5 { format!("q{i}") } else { "qn".into() }) width="10" height="10" {}
                    }
                    " " (l)
                }
            }
            li {
                svg viewBox="0 0 10 10" aria-hidden="true" { circle.case cx="5" cy="5" r="4" {} }
                " " (words().map.open_cases_dots)
            }
        }
    }
}

/// `GET /console/map`.
pub async fn map(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<MapQuery>,
) -> Result<HttpResponse, PageError> {
    let w = words();
    let by = query.into_inner().by.unwrap_or_default();
    let (st, v) = (state.clone(), viewer.clone());
    let d = state.run_db(move |conn| read(conn, &st, &v)).await?;
    let frame = Frame::around(d.areas.iter().map(|a| &a.boundary), std::iter::empty());
    let by_label = match by {
        Colour::Compliance => w.map.by_compliance,
        Colour::Open => w.map.by_open,
        Colour::Overdue => w.map.by_overdue,
    };
    let choices = [
        ("compliance", Colour::Compliance, w.map.by_compliance),
        ("open", Colour::Open, w.map.by_open),
        ("overdue", Colour::Overdue, w.map.by_overdue),
    ];
    let body = html! {
        h1 { (w.map.title) }
        form.filters method="get" action="/console/map" {
            label {
                (w.map.colour_by)
                select name="by" {
                    @for (value, c, label) in choices {
                        option value=(value) selected[c == by] { (label) }
                    }
                }
            }
            button type="submit" { (w.common.filter) }
        }
        (legend(by))
        // Not role="img": the communities inside are links.
        svg.map aria-labelledby="map-title"
            viewBox={ "-5 -5 " (format!("{:.0} {:.0}", WIDTH + 10.0, frame.height + 10.0)) }
            xmlns="http://www.w3.org/2000/svg" {
            title id="map-title" { (w.map.title) " · " (by_label) }
            @for a in &d.areas {
                a href={ "/console/communities/" (a.code) }
                  aria-label={ (a.name) " · " (by_label) " " (figure(by, a)) } {
                    path class={ "community " (step(by, a)) } data-code=(a.code)
                        fill-rule="evenodd" d=(frame.path(&a.boundary)) {}
                }
            }
            // The points repeat the table's counts; screen readers get the table.
            g.cases aria-hidden="true" {
                @for (lon, lat) in &d.points {
                    @let (x, y) = frame.xy(*lon, *lat);
                    circle.case cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="3" {}
                }
            }
            @for a in &d.areas {
                @if let Some(c) = a.boundary.centroid() {
                    @let (x, y) = frame.xy(c.lon, c.lat);
                    text.label x=(format!("{x:.0}")) y=(format!("{y:.0}")) text-anchor="middle" { (a.name) }
                }
            }
        }
        h2 { (w.map.communities) }
        div.scroll { table.areas {
            thead { tr {
                th scope="col" { (w.cases.community) }
                th scope="col" { (w.map.by_compliance) }
                th scope="col" { (w.map.by_open) }
                th scope="col" { (w.map.by_overdue) }
            } }
            tbody {
                @for a in &d.areas {
                    tr data-code=(a.code) {
                        td { a href={ "/console/communities/" (a.code) } { (a.name) } }
                        td.num { (figure(Colour::Compliance, a)) }
                        td.num { (a.open) }
                        td.num { (a.overdue) }
                    }
                }
            }
        } }
    };
    Ok(page::page(viewer.chrome(), w.map.title, Section::Map, body))
}
