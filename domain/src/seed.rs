//! Seed data as code: the demo district (organisation, boundaries, service stations)
//! and the four lists' configurable parts (post duties, key management items, assist
//! items), as the bureau's report describes them.
//!
//! Pure and deterministic: no I/O, and the only "randomness" (the irregular community
//! outlines) comes from a fixed-seed splitmix64, so every run, test and database seed
//! sees the same district. Place names are plausible for Xining's Chengdong district
//! but the shapes are invented; nothing here is survey data.

use std::fmt;
use std::str::FromStr;

use geo::{Coord, LineString, Polygon};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, DomainResult};
use crate::geometry::{Boundary, LatLon};

/// The 721 method's three kinds of action: about 70% service, 20% management, 10%
/// enforcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class721 {
    /// 服务: help, persuasion, publicity.
    Service,
    /// 管理: regulating, ordering corrections.
    Management,
    /// 执法: formal enforcement.
    Enforcement,
}

impl Class721 {
    /// The wire name: `service`, `management` or `enforcement`.
    pub fn as_str(self) -> &'static str {
        match self {
            Class721::Service => "service",
            Class721::Management => "management",
            Class721::Enforcement => "enforcement",
        }
    }
}

impl fmt::Display for Class721 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Class721 {
    type Err = DomainError;

    fn from_str(s: &str) -> DomainResult<Class721> {
        [
            Class721::Service,
            Class721::Management,
            Class721::Enforcement,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
        .ok_or_else(|| {
            DomainError::invalid(
                "class_721",
                format!("unknown 721 class \"{s}\"; expected service, management or enforcement"),
            )
        })
    }
}

/// Whether a street-level unit is a town (镇) or an urban sub-district (街道).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreetKind {
    /// 镇
    Town,
    /// 街道
    SubDistrict,
}

impl StreetKind {
    /// The wire name: `town` or `sub_district`.
    pub fn as_str(self) -> &'static str {
        match self {
            StreetKind::Town => "town",
            StreetKind::SubDistrict => "sub_district",
        }
    }
}

/// The demo district (区) with everything under it.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoDistrict {
    /// Administrative division code, `630102`.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// IANA time zone the bureau's calendar weeks and months are counted in.
    pub timezone: String,
    /// The public supervision hotline.
    pub hotline: String,
    /// Towns and sub-districts, west to east.
    pub streets: Vec<DemoStreet>,
    /// Public service stations (城管驿站).
    pub stations: Vec<DemoStation>,
}

/// A town or sub-district (镇/街道).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoStreet {
    /// `630102-01` and so on.
    pub code: String,
    /// Chinese name, e.g. `东关大街街道`.
    pub name: String,
    /// Town or sub-district.
    pub kind: StreetKind,
    /// Its communities, south to north.
    pub communities: Vec<DemoCommunity>,
}

/// A community (社区) with its boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoCommunity {
    /// Street code plus a two-digit number, e.g. `630102-01-01`.
    pub code: String,
    /// Chinese name ending in 社区.
    pub name: String,
    /// WGS-84 outline; the communities of the district tile it without gaps or overlaps.
    pub boundary: Boundary,
    /// Four grid cells (网格) that tile the community.
    pub grid_cells: Vec<DemoGridCell>,
    /// Residential compounds (小区) in the community.
    pub compounds: Vec<String>,
}

/// A grid cell (网格), the smallest unit a grid worker covers.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoGridCell {
    /// Community code plus `-G1` … `-G4`.
    pub code: String,
    /// Chinese name, e.g. `东关大街社区第一网格`.
    pub name: String,
    /// WGS-84 outline inside the community.
    pub boundary: Boundary,
}

/// A public service station (城管驿站) with a staffed service post.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoStation {
    /// `630102-S1` and so on.
    pub code: String,
    /// Chinese name ending in 城管驿站.
    pub name: String,
    /// Postal address in Chinese.
    pub address: String,
    /// Where it is, WGS-84.
    pub location: LatLon,
    /// In OpenStreetMap `opening_hours` syntax.
    pub opening_hours: String,
    /// The community it stands in.
    pub community_code: String,
}

/// Who a post duty binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DutyHolder {
    /// City-management officers (城管队员).
    Officer,
    /// Serving party members linked to a community (在职党员).
    PartyMember,
    /// Both of them.
    Both,
}

impl DutyHolder {
    /// The wire name: `officer`, `party_member` or `both`.
    pub fn as_str(self) -> &'static str {
        match self {
            DutyHolder::Officer => "officer",
            DutyHolder::PartyMember => "party_member",
            DutyHolder::Both => "both",
        }
    }
}

/// One line of the post-responsibility list (岗位责任清单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutySeed {
    /// Stable snake_case identifier.
    pub code: String,
    /// Chinese title as posted in the community studio.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// Who the duty binds.
    pub applies_to: DutyHolder,
}

/// Which list a category belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryKind {
    /// 重点管理事项: city management leads.
    KeyItem,
    /// 协助事项: the community leads, city management assists.
    Assist,
}

impl CategoryKind {
    /// The wire name: `key_item` or `assist`.
    pub fn as_str(self) -> &'static str {
        match self {
            CategoryKind::KeyItem => "key_item",
            CategoryKind::Assist => "assist",
        }
    }
}

/// One problem category (an item of the key-management or assist list), with its group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategorySeed {
    /// Stable snake_case identifier of the item.
    pub code: String,
    /// Stable snake_case identifier of the group (the report's "category").
    pub group_code: String,
    /// Chinese group name.
    pub group_zh: String,
    /// English group name.
    pub group_en: String,
    /// Chinese item name.
    pub name_zh: String,
    /// English item name.
    pub name_en: String,
    /// Key management item or assist item.
    pub kind: CategoryKind,
    /// Hours allowed from report to resolution before the case counts as overdue.
    pub sla_hours: u32,
    /// The 721 class an action on this category gets unless the officer says otherwise.
    pub default_class_721: Class721,
    /// Reports of this category closer than this are offered as possible duplicates.
    pub duplicate_radius_m: u32,
}

/// The post-responsibility list: 13 duties of officers and liaison party members.
pub fn post_duties() -> Vec<DutySeed> {
    use DutyHolder::{Both, Officer, PartyMember};
    #[rustfmt::skip]
    let table: [(&str, &str, &str, DutyHolder); 13] = [
        ("twice_weekly_visits", "每周进社区走访不少于2次", "Visit each assigned community and its residents at least twice a week", Both),
        ("duty_diary", "每日填写工作勤务日志", "Keep the daily duty diary", Officer),
        ("first_contact", "落实首接负责制", "Own every problem first received until it is resolved or formally handed over", Both),
        ("whistle_response", "响应社区吹哨、及时接单报到", "Take and answer community whistles promptly", Officer),
        ("inner_loop_solving", "一般问题在社区内循环就地解决", "Solve ordinary problems on the spot within the community (inner loop)", Officer),
        ("joint_office_escalation", "复杂问题提交区联席办外循环处置", "Escalate multi-department problems to the joint-meeting office (outer loop)", Officer),
        ("assist_community", "协助社区处置协助事项", "Assist the community with matters it leads", Both),
        ("publicity_education", "开展城市管理政策法规宣传教育", "Explain city-management rules to residents and shops", Both),
        ("contact_cards", "发放联系卡、公开联系方式", "Hand out contact cards and publish contact details", Both),
        ("resident_meetings", "参加议事会、协调会、恳谈会，未诉先办", "Settle problems before complaints in residents' deliberation and coordination meetings", Both),
        ("follow_up_rating", "跟踪问效、收集群众评价", "Follow up on solutions and collect residents' ratings", Both),
        ("liaison_contact", "在职党员挂靠联系社区、记录联系情况", "As a serving party member, keep in touch with the linked community and log contacts", PartyMember),
        ("hotline_handling", "办理8805110监督热线转办事项", "Handle cases referred by the 8805110 supervision hotline", Officer),
    ];
    table
        .into_iter()
        .map(|(code, zh, en, holder)| DutySeed {
            code: code.to_owned(),
            title_zh: zh.to_owned(),
            title_en: en.to_owned(),
            applies_to: holder,
        })
        .collect()
}

/// Duplicate radius for most categories: a street block.
const DEFAULT_DUPLICATE_RADIUS_M: u32 = 250;

/// The key-management list (6 groups, 9 items) followed by the assist list (3 groups).
pub fn categories() -> Vec<CategorySeed> {
    use CategoryKind::{Assist, KeyItem};
    use Class721::{Enforcement, Management, Service};
    const R: u32 = DEFAULT_DUPLICATE_RADIUS_M;
    // (group code, group zh, group en, kind, [(code, zh, en, sla hours, 721, radius)])
    type Item = (&'static str, &'static str, &'static str, u32, Class721, u32);
    #[rustfmt::skip]
    let groups: [(&str, &str, &str, CategoryKind, &[Item]); 9] = [
        ("city_appearance", "市容市貌", "City appearance", KeyItem, &[
            ("street_occupation", "占道经营及流动摊点", "Street occupation and roadside stalls", 24, Management, R),
            // A shop front: neighbouring shops are different cases.
            ("out_of_store_trading", "店外经营", "Out-of-store trading", 24, Management, 100),
            ("illegal_posting", "乱贴乱画及违规广告", "Illegal posters, graffiti and advertising", 72, Service, R),
        ]),
        ("environmental_sanitation", "环境卫生", "Environmental sanitation", KeyItem, &[
            ("garbage_piles", "垃圾堆放", "Garbage piles", 24, Service, R),
            ("construction_waste", "建筑垃圾乱堆放", "Construction waste dumping", 72, Enforcement, R),
        ]),
        ("parking_management", "停车管理", "Parking management", KeyItem, &[
            ("disorderly_parking", "机动车乱停乱放", "Disorderly motor-vehicle parking", 24, Management, R),
        ]),
        ("corridor_environment", "楼道环境", "Corridors and stairwells", KeyItem, &[
            // One stairwell: a wider radius would merge different buildings.
            ("corridor_clutter", "楼道杂物堵塞", "Corridor clutter blocking stairwells", 48, Service, 50),
        ]),
        ("public_facilities", "公共设施", "Public facilities", KeyItem, &[
            ("damaged_public_facilities", "公共设施损坏缺失", "Damaged or missing public facilities", 168, Service, R),
        ]),
        ("overhead_cables", "高空线缆", "Overhead cables", KeyItem, &[
            ("overhead_cable_hazards", "高空线缆隐患", "Overhead cable hazards", 168, Service, R),
        ]),
        ("non_motor_vehicles", "电动车及非机动车", "E-bikes and non-motor vehicles", Assist, &[
            ("flying_wire_charging", "电动车飞线充电", "Flying-wire e-bike charging", 24, Service, 50),
            ("non_motor_parking", "非机动车乱停乱放", "Disorderly non-motor vehicle parking", 48, Service, 100),
        ]),
        ("noise_nuisance", "噪音扰民", "Noise nuisance", Assist, &[
            ("residential_noise", "社会生活噪音扰民", "Neighbourhood noise disturbing residents", 48, Service, R),
            ("night_construction_noise", "夜间施工噪音扰民", "Construction noise at night", 24, Management, R),
        ]),
        ("cooking_fumes", "餐饮油烟", "Cooking fumes", Assist, &[
            ("restaurant_fumes", "餐饮油烟扰民", "Restaurant cooking fumes", 72, Management, R),
            ("open_air_barbecue", "露天烧烤油烟", "Open-air barbecue smoke", 24, Management, R),
        ]),
    ];
    groups
        .into_iter()
        .flat_map(|(group_code, group_zh, group_en, kind, items)| {
            items.iter().map(
                move |&(code, zh, en, sla_hours, class, radius)| CategorySeed {
                    code: code.to_owned(),
                    group_code: group_code.to_owned(),
                    group_zh: group_zh.to_owned(),
                    group_en: group_en.to_owned(),
                    name_zh: zh.to_owned(),
                    name_en: en.to_owned(),
                    kind,
                    sla_hours,
                    default_class_721: class,
                    duplicate_radius_m: radius,
                },
            )
        })
        .collect()
}

/// Columns of communities (one street each, west to east).
const COLS: usize = 7;
/// Communities per street (south to north).
const ROWS: usize = 5;
/// Nominal community size: 1 km in each direction at 36.61°N.
const CELL_LAT: f64 = 0.009;
const CELL_LON: f64 = 0.0112;
const CENTRE_LAT: f64 = 36.61;
const CENTRE_LON: f64 = 101.80;
/// Vertex jitter as a share of half a community; small enough that every quadrilateral
/// stays simple and convex-ish, large enough that no two look alike.
const JITTER: f64 = 0.15;
const SEED: u64 = 0x6301_0200_2024_0721;

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for shapes.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [-1, 1).
    fn signed(&mut self) -> f64 {
        2.0 * self.unit() - 1.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize
    }
}

#[rustfmt::skip]
const STREETS: [(&str, StreetKind, [&str; ROWS]); COLS] = [
    ("东关大街街道", StreetKind::SubDistrict, ["东关大街社区", "凤凰山社区", "南小街社区", "北关社区", "德胜社区"]),
    ("清真巷街道", StreetKind::SubDistrict, ["清真巷社区", "建国路社区", "后街社区", "东稍门社区", "解放路社区"]),
    ("大众街街道", StreetKind::SubDistrict, ["大众街社区", "团结桥社区", "王家庄社区", "树林巷社区", "东台社区"]),
    ("周家泉街道", StreetKind::SubDistrict, ["周家泉社区", "德令哈路社区", "花园南街社区", "杨家巷社区", "互助中路社区"]),
    ("火车站街道", StreetKind::SubDistrict, ["火车站社区", "中庄社区", "祁连路社区", "站东社区", "康乐社区"]),
    ("乐家湾镇", StreetKind::Town, ["乐家湾社区", "曹家寨社区", "付家寨社区", "下十里铺社区", "新庄社区"]),
    ("韵家口镇", StreetKind::Town, ["韵家口社区", "红星社区", "泮子山社区", "小寨社区", "富强巷社区"]),
];

const COMPOUND_SUFFIXES: [&str; 6] = ["花园", "家园", "雅苑", "嘉园", "新村", "佳苑"];

const CELL_ORDINALS: [&str; 4] = ["一", "二", "三", "四"];

/// (column, row, name, address): four stations in four different communities.
const STATIONS: [(usize, usize, &str, &str); 4] = [
    (0, 2, "东关大街城管驿站", "城东区东关大街128号"),
    (2, 1, "大众街城管驿站", "城东区大众街56号"),
    (4, 3, "火车站城管驿站", "城东区互助中路9号"),
    (6, 2, "韵家口城管驿站", "城东区韵家口镇富强巷21号"),
];

/// A plateau city district around 36.61°N, 101.80°E (modelled on Xining's Chengdong
/// district): 7 sub-districts/towns, 35 communities whose polygons tile the district
/// with no gaps or overlaps, each split into 4 grid cells that tile it, and 4 service
/// stations inside distinct communities.
///
/// The communities form a 7×5 grid of irregular octagons (quadrilaterals with a
/// jittered vertex on each side) cut from one jittered lattice, so neighbours share
/// their vertices exactly; each community's grid cells meet at its jittered centre.
pub fn demo_district() -> DemoDistrict {
    let mut rng = SplitMix64(SEED);
    let lattice = jittered_lattice(&mut rng);
    let point = |x: usize, y: usize| lattice[y][x];
    let quad = |corners: [(usize, usize); 4]| {
        let mut ring: Vec<Coord<f64>> = corners.iter().map(|&(x, y)| point(x, y)).collect();
        ring.push(point(corners[0].0, corners[0].1));
        Boundary::from_generated(Polygon::new(LineString::new(ring), vec![]))
    };

    let streets: Vec<DemoStreet> = STREETS
        .iter()
        .enumerate()
        .map(|(col, (street_name, kind, community_names))| {
            let street_code = format!("630102-{:02}", col + 1);
            let communities = community_names
                .iter()
                .enumerate()
                .map(|(row, name)| {
                    let (x, y) = (2 * col, 2 * row);
                    // Counter-clockwise from the south-west corner, through every side's
                    // middle vertex, so neighbours share edges vertex for vertex.
                    let outline = [
                        (x, y),
                        (x + 1, y),
                        (x + 2, y),
                        (x + 2, y + 1),
                        (x + 2, y + 2),
                        (x + 1, y + 2),
                        (x, y + 2),
                        (x, y + 1),
                        (x, y),
                    ];
                    let ring = outline.iter().map(|&(a, b)| point(a, b)).collect();
                    let boundary =
                        Boundary::from_generated(Polygon::new(LineString::new(ring), vec![]));
                    let code = format!("{street_code}-{:02}", row + 1);
                    // North-west, north-east, south-west, south-east: reading order on a map.
                    let cells = [
                        [(x, y + 1), (x + 1, y + 1), (x + 1, y + 2), (x, y + 2)],
                        [
                            (x + 1, y + 1),
                            (x + 2, y + 1),
                            (x + 2, y + 2),
                            (x + 1, y + 2),
                        ],
                        [(x, y), (x + 1, y), (x + 1, y + 1), (x, y + 1)],
                        [(x + 1, y), (x + 2, y), (x + 2, y + 1), (x + 1, y + 1)],
                    ];
                    let grid_cells = cells
                        .into_iter()
                        .zip(CELL_ORDINALS)
                        .enumerate()
                        .map(|(i, (corners, ordinal))| DemoGridCell {
                            code: format!("{code}-G{}", i + 1),
                            name: format!("{name}第{ordinal}网格"),
                            boundary: quad(corners),
                        })
                        .collect();
                    DemoCommunity {
                        compounds: compounds_of(name, &mut rng),
                        code,
                        name: (*name).to_owned(),
                        boundary,
                        grid_cells,
                    }
                })
                .collect();
            DemoStreet {
                code: street_code,
                name: (*street_name).to_owned(),
                kind: *kind,
                communities,
            }
        })
        .collect();

    let stations = STATIONS
        .iter()
        .enumerate()
        .filter_map(|(i, &(col, row, name, address))| {
            let community = streets.get(col)?.communities.get(row)?;
            // A grid cell is a near-convex quadrilateral, so its centroid is inside it
            // and therefore inside the community.
            let location = community.grid_cells.first()?.boundary.centroid()?;
            Some(DemoStation {
                code: format!("630102-S{}", i + 1),
                name: name.to_owned(),
                address: address.to_owned(),
                location,
                opening_hours: "Mo-Su 08:30-18:00".to_owned(),
                community_code: community.code.clone(),
            })
        })
        .collect();

    DemoDistrict {
        code: "630102".to_owned(),
        name: "城东区".to_owned(),
        timezone: "Asia/Shanghai".to_owned(),
        hotline: "8805110".to_owned(),
        streets,
        stations,
    }
}

/// `(2·COLS+1) × (2·ROWS+1)` WGS-84 vertices, indexed `[y][x]`, centred on the district
/// centre. Columns and rows get their own widths (±10%) before every vertex is jittered.
fn jittered_lattice(rng: &mut SplitMix64) -> Vec<Vec<Coord<f64>>> {
    let widths: Vec<f64> = (0..COLS)
        .map(|_| CELL_LON * (0.9 + 0.2 * rng.unit()))
        .collect();
    let heights: Vec<f64> = (0..ROWS)
        .map(|_| CELL_LAT * (0.9 + 0.2 * rng.unit()))
        .collect();
    let xs = half_steps(&widths, CENTRE_LON);
    let ys = half_steps(&heights, CENTRE_LAT);
    ys.iter()
        .enumerate()
        .map(|(j, &lat)| {
            xs.iter()
                .enumerate()
                .map(|(i, &lon)| {
                    let half_w = widths[(i / 2).min(COLS - 1)] / 2.0;
                    let half_h = heights[(j / 2).min(ROWS - 1)] / 2.0;
                    Coord {
                        x: lon + JITTER * half_w * rng.signed(),
                        y: lat + JITTER * half_h * rng.signed(),
                    }
                })
                .collect()
        })
        .collect()
}

/// Lattice coordinates along one axis: every cell edge and cell middle, centred on
/// `centre`.
fn half_steps(sizes: &[f64], centre: f64) -> Vec<f64> {
    let total: f64 = sizes.iter().sum();
    let mut at = centre - total / 2.0;
    let mut out = vec![at];
    for size in sizes {
        out.push(at + size / 2.0);
        at += size;
        out.push(at);
    }
    out
}

/// Two to four compound names built on the community's own name, so they are unique
/// across the district.
fn compounds_of(community: &str, rng: &mut SplitMix64) -> Vec<String> {
    let stem = community.strip_suffix("社区").unwrap_or(community);
    let count = 2 + rng.below(3);
    let start = rng.below(COMPOUND_SUFFIXES.len());
    (0..count)
        .map(|i| {
            let suffix = COMPOUND_SUFFIXES[(start + i) % COMPOUND_SUFFIXES.len()];
            format!("{stem}{suffix}小区")
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use geo::orient::{Direction, Orient};
    use geo::{BooleanOps, BoundingRect, GeodesicArea, MultiPolygon, unary_union};

    use super::*;
    use crate::geometry::{Crs, SpatialIndex};

    fn communities(d: &DemoDistrict) -> Vec<&DemoCommunity> {
        d.streets.iter().flat_map(|s| &s.communities).collect()
    }

    fn geodesic_area(mp: &MultiPolygon<f64>) -> f64 {
        mp.orient(Direction::Default).geodesic_area_unsigned()
    }

    fn assert_unique<'a>(what: &str, items: impl IntoIterator<Item = &'a str>) {
        let mut seen = HashSet::new();
        for item in items {
            assert!(seen.insert(item), "{what}: {item} appears twice");
        }
    }

    fn is_snake_case_ascii(s: &str) -> bool {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !s.starts_with('_')
            && !s.ends_with('_')
            && !s.contains("__")
    }

    #[test]
    fn demo_district_is_the_same_every_time() {
        assert_eq!(demo_district(), demo_district());
    }

    #[test]
    fn demo_district_has_seven_streets_and_thirty_five_communities() {
        let d = demo_district();
        assert_eq!((d.code.as_str(), d.name.as_str()), ("630102", "城东区"));
        assert_eq!(d.timezone, "Asia/Shanghai");
        assert_eq!(d.hotline, "8805110");
        assert_eq!(d.streets.len(), 7);
        assert_eq!(communities(&d).len(), 35);
        let towns = d
            .streets
            .iter()
            .filter(|s| s.kind == StreetKind::Town)
            .count();
        assert!(towns > 0 && towns < 7, "{towns} towns");
        for street in &d.streets {
            assert!(street.code.starts_with("630102-") && street.code.len() == 9);
            let suffix = match street.kind {
                StreetKind::Town => "镇",
                StreetKind::SubDistrict => "街道",
            };
            assert!(street.name.ends_with(suffix), "{}", street.name);
            for c in &street.communities {
                assert!(
                    c.code.starts_with(&format!("{}-", street.code)),
                    "{}",
                    c.code
                );
                assert_eq!(c.code.len(), 12, "{}", c.code);
                assert!(c.name.ends_with("社区"), "{}", c.name);
                assert!((2..=4).contains(&c.compounds.len()), "{}", c.name);
                assert!(c.compounds.iter().all(|n| n.ends_with("小区")));
                let codes: Vec<String> = c.grid_cells.iter().map(|g| g.code.clone()).collect();
                let expected: Vec<String> = (1..=4).map(|i| format!("{}-G{i}", c.code)).collect();
                assert_eq!(codes, expected);
            }
        }
    }

    #[test]
    fn demo_codes_and_names_are_unique() {
        let d = demo_district();
        let cs = communities(&d);
        assert_unique("street code", d.streets.iter().map(|s| s.code.as_str()));
        assert_unique("street name", d.streets.iter().map(|s| s.name.as_str()));
        assert_unique("community code", cs.iter().map(|c| c.code.as_str()));
        assert_unique("community name", cs.iter().map(|c| c.name.as_str()));
        assert_unique(
            "grid cell code",
            cs.iter()
                .flat_map(|c| &c.grid_cells)
                .map(|g| g.code.as_str()),
        );
        assert_unique(
            "grid cell name",
            cs.iter()
                .flat_map(|c| &c.grid_cells)
                .map(|g| g.name.as_str()),
        );
        assert_unique(
            "compound",
            cs.iter().flat_map(|c| &c.compounds).map(String::as_str),
        );
        assert_unique("station code", d.stations.iter().map(|s| s.code.as_str()));
        assert_unique("station name", d.stations.iter().map(|s| s.name.as_str()));
    }

    #[test]
    fn every_generated_boundary_passes_full_validation() {
        let d = demo_district();
        for c in communities(&d) {
            let shapes = std::iter::once((&c.code, &c.boundary))
                .chain(c.grid_cells.iter().map(|g| (&g.code, &g.boundary)));
            for (code, b) in shapes {
                let reparsed = Boundary::from_geojson(&b.to_geojson(), Crs::Wgs84, "boundary");
                assert_eq!(reparsed.as_ref(), Ok(b), "{code}");
            }
        }
    }

    #[test]
    fn communities_are_about_a_kilometre_across() {
        let d = demo_district();
        for c in communities(&d) {
            let (min, max) = c.boundary.bbox().unwrap();
            let width = LatLon {
                lat: min.lat,
                lon: min.lon,
            }
            .distance_m(&LatLon {
                lat: min.lat,
                lon: max.lon,
            });
            let height = min.distance_m(&LatLon {
                lat: max.lat,
                lon: min.lon,
            });
            for extent in [width, height] {
                assert!((700.0..=1400.0).contains(&extent), "{}: {extent} m", c.code);
            }
            let area = c.boundary.area_m2();
            assert!((0.6e6..=1.4e6).contains(&area), "{}: {area} m²", c.code);
        }
    }

    #[test]
    fn grid_cells_tile_their_community() {
        let d = demo_district();
        for c in communities(&d) {
            assert_eq!(c.grid_cells.len(), 4, "{}", c.code);
            let sum: f64 = c.grid_cells.iter().map(|g| g.boundary.area_m2()).sum();
            let area = c.boundary.area_m2();
            assert!(
                (sum - area).abs() / area < 0.001,
                "{}: {sum} vs {area}",
                c.code
            );
            for (i, a) in c.grid_cells.iter().enumerate() {
                let outside = a
                    .boundary
                    .multi_polygon()
                    .difference(c.boundary.multi_polygon());
                assert!(geodesic_area(&outside) < 1.0, "{} spills out", a.code);
                for b in &c.grid_cells[i + 1..] {
                    let overlap = a
                        .boundary
                        .multi_polygon()
                        .intersection(b.boundary.multi_polygon());
                    assert!(
                        geodesic_area(&overlap) < 1.0,
                        "{} overlaps {}",
                        a.code,
                        b.code
                    );
                }
            }
        }
    }

    #[test]
    fn communities_do_not_overlap() {
        let d = demo_district();
        let cs = communities(&d);
        for (i, a) in cs.iter().enumerate() {
            for b in &cs[i + 1..] {
                let overlap = a
                    .boundary
                    .multi_polygon()
                    .intersection(b.boundary.multi_polygon());
                let area = geodesic_area(&overlap);
                assert!(area < 1.0, "{} and {} overlap by {area} m²", a.code, b.code);
            }
        }
    }

    #[test]
    fn communities_cover_the_district_without_gaps() {
        let d = demo_district();
        let cs = communities(&d);
        let union = unary_union(cs.iter().flat_map(|c| c.boundary.multi_polygon().iter()));
        // One piece with no holes: any gap between communities would show up as a hole.
        assert_eq!(union.0.len(), 1, "district falls apart");
        let outline = &union.0[0];
        assert!(
            outline.interiors().is_empty(),
            "{} gaps",
            outline.interiors().len()
        );
        let hull = geodesic_area(&MultiPolygon::new(vec![outline.clone()]));
        let sum: f64 = cs.iter().map(|c| c.boundary.area_m2()).sum();
        assert!((sum - hull).abs() / hull < 0.001, "{sum} vs {hull}");
        // About 7 km × 5 km.
        assert!((25e6..=45e6).contains(&hull), "{hull} m²");
    }

    #[test]
    fn district_centroid_is_near_chengdong() {
        let d = demo_district();
        let all: Vec<_> = communities(&d)
            .iter()
            .flat_map(|c| c.boundary.multi_polygon().0.clone())
            .collect();
        let union = unary_union(&all);
        let centre = Boundary::from_polygon(union.0[0].clone())
            .unwrap()
            .centroid()
            .unwrap();
        let d_m = centre.distance_m(&LatLon {
            lat: 36.61,
            lon: 101.80,
        });
        assert!(d_m < 5_000.0, "{d_m} m");
        let bbox = union.bounding_rect().unwrap();
        assert!(bbox.min().y > 36.5 && bbox.max().y < 36.7, "{bbox:?}");
    }

    #[test]
    fn stations_stand_in_four_distinct_communities() {
        let d = demo_district();
        assert_eq!(d.stations.len(), 4);
        assert_unique(
            "station community",
            d.stations.iter().map(|s| s.community_code.as_str()),
        );
        let by_code: BTreeMap<&str, &DemoCommunity> = communities(&d)
            .into_iter()
            .map(|c| (c.code.as_str(), c))
            .collect();
        let index = SpatialIndex::build(
            by_code
                .values()
                .map(|c| (c.code.clone(), c.boundary.clone()))
                .collect(),
        );
        for s in &d.stations {
            let community = by_code[s.community_code.as_str()];
            assert!(community.boundary.contains(&s.location), "{}", s.name);
            assert_eq!(index.locate(&s.location).as_ref(), Some(&s.community_code));
            assert!(s.name.ends_with("城管驿站"), "{}", s.name);
            assert!(s.address.starts_with("城东区"), "{}", s.address);
            assert!(!s.opening_hours.is_empty());
        }
    }

    #[test]
    fn spatial_index_places_cell_centres_in_their_cell_then_community() {
        let d = demo_district();
        let mut items = Vec::new();
        for c in communities(&d) {
            items.push((c.code.clone(), c.boundary.clone()));
            for g in &c.grid_cells {
                items.push((g.code.clone(), g.boundary.clone()));
            }
        }
        let index = SpatialIndex::build(items);
        assert_eq!(index.len(), 35 * 5);
        for c in communities(&d) {
            for g in &c.grid_cells {
                let p = g.boundary.centroid().unwrap();
                assert_eq!(index.locate_all(&p), vec![g.code.clone(), c.code.clone()]);
            }
        }
    }

    #[test]
    fn post_duties_are_the_thirteen_of_the_report() {
        let duties = post_duties();
        assert_eq!(duties.len(), 13);
        assert_unique("duty code", duties.iter().map(|d| d.code.as_str()));
        for d in &duties {
            assert!(is_snake_case_ascii(&d.code), "{}", d.code);
            assert!(
                !d.title_zh.is_empty() && !d.title_en.is_empty(),
                "{}",
                d.code
            );
        }
        for holder in [
            DutyHolder::Officer,
            DutyHolder::PartyMember,
            DutyHolder::Both,
        ] {
            assert!(duties.iter().any(|d| d.applies_to == holder), "{holder:?}");
        }
        for needle in [
            "2次",
            "日志",
            "首接",
            "吹哨",
            "联席办",
            "议事会",
            "评价",
            "8805110",
        ] {
            assert!(
                duties.iter().any(|d| d.title_zh.contains(needle)),
                "{needle}"
            );
        }
    }

    #[test]
    fn key_items_are_six_groups_of_nine_and_assist_items_three_groups() {
        let cats = categories();
        let groups_of = |kind: CategoryKind| {
            cats.iter()
                .filter(|c| c.kind == kind)
                .map(|c| c.group_code.as_str())
                .collect::<HashSet<_>>()
        };
        let key = groups_of(CategoryKind::KeyItem);
        let assist = groups_of(CategoryKind::Assist);
        assert_eq!(key.len(), 6);
        assert_eq!(
            cats.iter()
                .filter(|c| c.kind == CategoryKind::KeyItem)
                .count(),
            9
        );
        assert_eq!(assist.len(), 3);
        assert!(key.is_disjoint(&assist));
    }

    #[test]
    fn category_codes_are_unique_snake_case_and_groups_consistent() {
        let cats = categories();
        assert_unique("category code", cats.iter().map(|c| c.code.as_str()));
        let mut groups: BTreeMap<&str, (&str, &str, CategoryKind)> = BTreeMap::new();
        for c in &cats {
            assert!(is_snake_case_ascii(&c.code), "{}", c.code);
            assert!(is_snake_case_ascii(&c.group_code), "{}", c.group_code);
            assert!((24..=168).contains(&c.sla_hours), "{}", c.code);
            assert!((25..=1000).contains(&c.duplicate_radius_m), "{}", c.code);
            let group = (c.group_zh.as_str(), c.group_en.as_str(), c.kind);
            assert_eq!(
                *groups.entry(&c.group_code).or_insert(group),
                group,
                "{}",
                c.code
            );
        }
        let codes: HashSet<&str> = cats.iter().map(|c| c.code.as_str()).collect();
        assert!(
            groups.keys().all(|g| !codes.contains(g)),
            "group and item codes clash"
        );
    }

    #[test]
    fn every_problem_the_report_names_has_a_category() {
        use CategoryKind::{Assist, KeyItem};
        let cats = categories();
        let cases = [
            ("市容市貌", KeyItem),
            ("垃圾堆放", KeyItem),
            ("占道经营", KeyItem),
            ("摊点", KeyItem),
            ("店外经营", KeyItem),
            ("停车", KeyItem),
            ("楼道杂物堵塞", KeyItem),
            ("建筑垃圾乱堆放", KeyItem),
            ("公共设施", KeyItem),
            ("高空线缆隐患", KeyItem),
            ("飞线充电", Assist),
            ("非机动车乱停乱放", Assist),
            ("噪音扰民", Assist),
            ("餐饮油烟", Assist),
        ];
        for (problem, kind) in cases {
            assert!(
                cats.iter().any(|c| c.kind == kind
                    && (c.name_zh.contains(problem) || c.group_zh.contains(problem))),
                "{problem} missing from {kind:?}"
            );
        }
    }

    #[test]
    fn class_721_parses_its_wire_names_only() {
        let cases = [
            ("service", Some(Class721::Service)),
            ("management", Some(Class721::Management)),
            ("enforcement", Some(Class721::Enforcement)),
            ("Service", None),
            ("", None),
            ("punishment", None),
        ];
        for (input, expected) in cases {
            match (input.parse::<Class721>(), expected) {
                (Ok(got), Some(want)) => {
                    assert_eq!(got, want);
                    assert_eq!(serde_json::to_value(got).unwrap(), input);
                }
                (Err(DomainError::Invalid { field, reason }), None) => {
                    assert_eq!(field, "class_721");
                    assert!(reason.contains(&format!("\"{input}\"")), "{reason}");
                }
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn enum_wire_names_match_serde() {
        for kind in [StreetKind::Town, StreetKind::SubDistrict] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for kind in [CategoryKind::KeyItem, CategoryKind::Assist] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for h in [
            DutyHolder::Officer,
            DutyHolder::PartyMember,
            DutyHolder::Both,
        ] {
            assert_eq!(serde_json::to_value(h).unwrap(), h.as_str());
        }
    }
}
