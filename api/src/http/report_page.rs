//! The monthly report as a document a supervisor prints and reads: Chinese HTML with a
//! print stylesheet and its charts drawn as inline SVG (no script, no font or image
//! fetched). Every figure row carries its code and raw value as `data-` attributes, so a
//! test (or a spreadsheet import) reads the same numbers as the JSON.

use std::fmt::Write;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use patrol_domain::indicators::Unit;
use patrol_domain::indicators::report::Compared;

use crate::commands::report::MonthlyReport;

/// The page's own words, in one place.
struct Words;

impl Words {
    const TITLE: &'static str = "城市管理进社区月度调度报告";
    const DISTRICT: &'static str = "全区";
    const PERIOD: &'static str = "统计期";
    const PREVIOUS: &'static str = "对比上月";
    const GENERATED: &'static str = "生成时间";
    const INDICATOR: &'static str = "指标";
    const THIS_MONTH: &'static str = "本月";
    const LAST_MONTH: &'static str = "上月";
    const CHANGE: &'static str = "变化";
    const BASIS: &'static str = "计算依据";
    const TREND: &'static str = "每周上报案件";
    const CATEGORIES: &'static str = "案件类别前五";
    const MIX: &'static str = "721工作法构成";
    const MIX_PARTS: [&'static str; 3] = ["服务", "管理", "执法"];
    const OVERDUE: &'static str = "超期未结案件";
    const PEOPLE_AT_RISK: &'static str = "需关注人员";
    const COMMUNITIES_AT_RISK: &'static str = "需关注社区";
    const MEETINGS: &'static str = "议事协调会";
    const EVENTS: &'static str = "宣传服务活动";
    const HOT_SPOTS: &'static str = "高发问题（同一社区同类案件）";
    const NONE: &'static str = "无";
    const CASES: &'static str = "件";
}

const STYLE: &str = r#"
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;margin:2em;color:#222;line-height:1.5}
h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.2em;border-bottom:2px solid #2b6cb0;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;font-size:.92em}th,td{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#edf2f7}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.basis{color:#555;font-size:.85em}.up{color:#2f855a}.down{color:#c53030}.meta{color:#555}
.charts{display:flex;flex-wrap:wrap;gap:1.5em}.chart{flex:1 1 20em}svg text{font-size:11px;fill:#333}
@media print{body{margin:1cm;font-size:10.5pt}h2{break-after:avoid}table,svg{break-inside:avoid}.noprint{display:none}}
@page{size:A4;margin:1.5cm}
"#;

/// The page's Content-Security-Policy: nothing may load, and the one inline stylesheet
/// is allowed by its digest (without it a browser applying `default-src 'none'` drops
/// every style and prints a bare page).
pub fn content_security_policy() -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(STYLE.as_bytes());
    format!(
        "default-src 'none'; style-src 'sha256-{}'; frame-ancestors 'none'; base-uri 'none'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// A value as the report prints it: counts whole, shares as percentages, means to one
/// decimal; "—" where there is nothing to divide.
pub fn shown(unit: Unit, v: Option<f64>) -> String {
    match (unit, v) {
        (_, None) => "—".into(),
        (Unit::Count | Unit::P90, Some(v)) => format!("{v:.0}"),
        (Unit::Share, Some(v)) => format!("{:.1}%", v * 100.0),
        (Unit::Mean, Some(v)) => format!("{v:.1}"),
    }
}

fn change(f: &Compared) -> String {
    match f.change {
        None => "—".into(),
        Some(c) if c.abs() < 1e-12 => "0".into(),
        Some(c) => {
            let sign = if c > 0.0 { "+" } else { "" };
            let body = match f.unit {
                Unit::Share => format!("{sign}{:.1}个百分点", c * 100.0),
                Unit::Mean => format!("{sign}{c:.1}"),
                Unit::Count | Unit::P90 => format!("{sign}{c:.0}"),
            };
            let class = if c > 0.0 { "up" } else { "down" };
            format!(r#"<span class="{class}">{body}</span>"#)
        }
    }
}

fn raw(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// Bars with labels under them, scaled to the largest.
fn bars(values: &[(String, i64)], width: u32, height: u32) -> String {
    let max = values.iter().map(|v| v.1).max().unwrap_or(0).max(1);
    let n = u32::try_from(values.len().max(1)).unwrap_or(1);
    let slot = width / n;
    let plot = height - 30;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">"#
    );
    for (i, (label, v)) in values.iter().enumerate() {
        let i = u32::try_from(i).unwrap_or(0);
        let h = u32::try_from(*v * i64::from(plot) / max).unwrap_or(0);
        let x = i * slot + slot / 8;
        let w = slot * 3 / 4;
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#2b6cb0"><title>{t}: {v}</title></rect><text x="{cx}" y="{ty}" text-anchor="middle">{v}</text><text x="{cx}" y="{ly}" text-anchor="middle">{t}</text>"##,
            y = plot - h + 12,
            cx = x + w / 2,
            ty = plot - h + 10,
            ly = height - 4,
            t = text(label),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One bar split by shares, with a legend.
fn stacked(parts: &[(&str, i64)], width: u32) -> String {
    let total: i64 = parts.iter().map(|p| p.1).sum();
    let colours = ["#2f855a", "#d69e2e", "#c53030"];
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60" viewBox="0 0 {width} 60" role="img">"#
    );
    let mut x = 0i64;
    for (i, (label, n)) in parts.iter().enumerate() {
        let w = if total > 0 {
            n * i64::from(width) / total
        } else {
            0
        };
        let colour = colours[i % colours.len()];
        let share = if total > 0 {
            *n as f64 * 100.0 / total as f64
        } else {
            0.0
        };
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="0" width="{w}" height="24" fill="{colour}"><title>{label} {n}</title></rect><rect x="{lx}" y="34" width="10" height="10" fill="{colour}"/><text x="{tx}" y="43">{label} {n}（{share:.0}%）</text>"#,
            lx = i * 110,
            tx = i * 110 + 14,
        );
        x += w;
    }
    svg.push_str("</svg>");
    svg
}

fn list<T>(
    html: &mut String,
    title: &str,
    items: &[T],
    head: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) {
    let _ = write!(html, "<h2>{}</h2>", text(title));
    if items.is_empty() {
        let _ = write!(html, "<p class=\"meta\">{}</p>", Words::NONE);
        return;
    }
    html.push_str("<table><thead><tr>");
    for h in head {
        let _ = write!(html, "<th>{}</th>", text(h));
    }
    html.push_str("</tr></thead><tbody>");
    for item in items {
        html.push_str("<tr>");
        for cell in row(item) {
            let _ = write!(html, "<td>{}</td>", text(&cell));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
}

/// The whole document.
pub fn render(r: &MonthlyReport, district: &str) -> String {
    let place = r
        .street
        .as_ref()
        .map_or_else(|| Words::DISTRICT.to_owned(), |s| s.name.clone());
    let mut html = String::with_capacity(32 * 1024);
    let _ = write!(
        html,
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{d}{p} {m} {t}</title><style>{STYLE}</style></head><body>"#,
        d = text(district),
        p = text(&place),
        m = text(&r.month),
        t = Words::TITLE,
    );
    let _ = write!(
        html,
        r#"<h1>{d} {p} {m} {t}</h1><p class="meta">{pl}：{from} 至 {to}；{pv}：{prev}；{gl}：{gen}</p>"#,
        d = text(district),
        p = text(&place),
        m = text(&r.month),
        t = Words::TITLE,
        pl = Words::PERIOD,
        from = r.from,
        to = r.to,
        pv = Words::PREVIOUS,
        prev = text(&r.previous_month),
        gl = Words::GENERATED,
        gen = r.generated_at.format("%Y-%m-%d %H:%M UTC"),
    );
    // Charts first: what changed at a glance.
    let trend: Vec<(String, i64)> = r
        .weekly_cases
        .iter()
        .map(|w| {
            (
                w.week
                    .split_once('-')
                    .map_or(w.week.clone(), |(_, wk)| wk.to_owned()),
                w.cases,
            )
        })
        .collect();
    let categories: Vec<(String, i64)> = r
        .top_categories
        .iter()
        .map(|c| (c.name.clone(), c.count))
        .collect();
    let mix: Vec<(&str, i64)> = [
        "mix_service_share",
        "mix_management_share",
        "mix_enforcement_share",
    ]
    .iter()
    .zip(Words::MIX_PARTS)
    .map(|(code, label)| {
        let n = r
            .sections
            .iter()
            .flat_map(|s| &s.figures)
            .find(|f| f.code == *code)
            .map_or(0, |f| f.numerator);
        (label, n)
    })
    .collect();
    let _ = write!(
        html,
        r#"<div class="charts"><div class="chart" id="chart-trend"><h2>{}</h2>{}</div><div class="chart" id="chart-categories"><h2>{}</h2>{}</div><div class="chart" id="chart-mix"><h2>{}</h2>{}</div></div>"#,
        Words::TREND,
        bars(&trend, 400, 180),
        Words::CATEGORIES,
        bars(&categories, 400, 180),
        Words::MIX,
        stacked(&mix, 360),
    );
    for s in &r.sections {
        let _ = write!(
            html,
            r#"<h2>{}</h2><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
            text(s.name_zh),
            Words::INDICATOR,
            Words::THIS_MONTH,
            Words::LAST_MONTH,
            Words::CHANGE,
            Words::BASIS,
        );
        for f in &s.figures {
            let basis = match f.denominator {
                Some(d) => format!("{} / {}", f.numerator, d),
                None => f.numerator.to_string(),
            };
            let _ = write!(
                html,
                r#"<tr data-code="{code}" data-value="{value}" data-numerator="{num}" data-denominator="{den}"><td>{name}</td><td class="num">{shown}</td><td class="num">{prev}</td><td class="num">{change}</td><td class="basis">{basis}</td></tr>"#,
                code = attr(f.code),
                value = raw(f.value),
                num = f.numerator,
                den = f.denominator.map_or_else(String::new, |d| d.to_string()),
                name = text(f.name_zh),
                shown = shown(f.unit, f.value),
                prev = shown(f.unit, f.previous),
                change = change(f),
            );
        }
        html.push_str("</tbody></table>");
    }
    list(
        &mut html,
        Words::OVERDUE,
        &r.overdue_cases,
        &["社区", "类别", "状态", "应结时间", "编号"],
        |c| {
            vec![
                c.community.clone(),
                c.category.clone(),
                c.status.clone(),
                c.close_due_at.format("%Y-%m-%d %H:%M").to_string(),
                c.id.clone(),
            ]
        },
    );
    list(
        &mut html,
        Words::PEOPLE_AT_RISK,
        &r.people_at_risk,
        &["人员", "原因"],
        |p| vec![p.name.clone(), p.why.clone()],
    );
    list(
        &mut html,
        Words::COMMUNITIES_AT_RISK,
        &r.communities_at_risk,
        &["社区", "原因"],
        |p| vec![p.name.clone(), p.why.clone()],
    );
    list(
        &mut html,
        Words::MEETINGS,
        &r.meetings,
        &["日期", "社区", "类型", "解决问题"],
        |m| {
            vec![
                m.day.clone(),
                m.community.clone(),
                m.kind.clone(),
                m.count.to_string(),
            ]
        },
    );
    list(
        &mut html,
        Words::EVENTS,
        &r.events,
        &["日期", "社区", "类型", "参与人次"],
        |m| {
            vec![
                m.day.clone(),
                m.community.clone(),
                m.kind.clone(),
                m.count.to_string(),
            ]
        },
    );
    list(
        &mut html,
        Words::HOT_SPOTS,
        &r.hot_spots,
        &["社区", "类别", "案件数"],
        |h| {
            vec![
                h.community_name.clone(),
                h.category_name.clone(),
                format!("{}{}", h.cases, Words::CASES),
            ]
        },
    );
    html.push_str("</body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_by_their_unit() {
        assert_eq!(shown(Unit::Count, Some(12.0)), "12");
        assert_eq!(shown(Unit::Share, Some(0.756)), "75.6%");
        assert_eq!(shown(Unit::Mean, Some(4.25)), "4.2");
        assert_eq!(shown(Unit::Share, None), "—");
    }

    #[test]
    fn labels_are_escaped_in_charts() {
        let svg = bars(&[("<b>".into(), 3)], 100, 80);
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
    }
}
