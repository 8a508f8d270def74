//! Every indicator's definition: code, Chinese name, formula and unit. "In the period"
//! always means an instant in the period's half-open span in the district's time zone.

use super::{Indicator, Unit};

// Cases (案件办理).

pub const CASES_ACCEPTED: Indicator = Indicator {
    code: "cases_accepted",
    name_zh: "立案数",
    formula: "cases accepted (立案) in the period",
    unit: Unit::Count,
};
pub const CASES_DUE: Indicator = Indicator {
    code: "cases_due",
    name_zh: "应结案件数",
    formula: "cases whose closing deadline falls in the period",
    unit: Unit::Count,
};
pub const CASES_DEFERRED: Indicator = Indicator {
    code: "cases_deferred",
    name_zh: "缓办案件数",
    formula: "cases due in the period that were ever deferred (缓办)",
    unit: Unit::Count,
};
pub const CASES_CLOSED: Indicator = Indicator {
    code: "cases_closed",
    name_zh: "结案数",
    formula: "cases closed in the period and still closed (closed or evaluated)",
    unit: Unit::Count,
};
pub const CASES_CLOSED_ON_TIME: Indicator = Indicator {
    code: "cases_closed_on_time",
    name_zh: "按期结案数",
    formula: "cases closed in the period by their closing deadline",
    unit: Unit::Count,
};
pub const CLOSING_RATE: Indicator = Indicator {
    code: "closing_rate",
    name_zh: "结案率",
    formula: "cases due in the period, never deferred, now closed / cases due in the period, never deferred",
    unit: Unit::Share,
};
pub const ON_TIME_CLOSING_RATE: Indicator = Indicator {
    code: "on_time_closing_rate",
    name_zh: "按期结案率",
    formula: "cases due in the period, never deferred, closed by their deadline / cases due in the period, never deferred",
    unit: Unit::Share,
};
pub const REWORK_RATE: Indicator = Indicator {
    code: "rework_rate",
    name_zh: "返工率",
    formula: "cases closed in the period that were sent back at least once / cases closed in the period",
    unit: Unit::Share,
};
pub const HANDLING_MINUTES_MEAN: Indicator = Indicator {
    code: "handling_minutes_mean",
    name_zh: "平均办理时长（分钟）",
    formula: "sum of whole minutes from report to close / cases closed in the period",
    unit: Unit::Mean,
};
pub const HANDLING_MINUTES_P90: Indicator = Indicator {
    code: "handling_minutes_p90",
    name_zh: "办理时长90分位（分钟）",
    formula: "90th percentile (nearest rank) of whole minutes from report to close, over cases closed in the period",
    unit: Unit::P90,
};
pub const SOLVED_IN_COMMUNITY: Indicator = Indicator {
    code: "solved_in_community",
    name_zh: "社区内解决",
    formula: "cases closed as fixed in the period that were never escalated",
    unit: Unit::Count,
};
pub const SOLVED_AFTER_ESCALATION: Indicator = Indicator {
    code: "solved_after_escalation",
    name_zh: "上报后解决",
    formula: "cases closed as fixed in the period that were escalated to the joint-meeting office",
    unit: Unit::Count,
};
pub const SOLVED_IN_COMMUNITY_SHARE: Indicator = Indicator {
    code: "solved_in_community_share",
    name_zh: "社区内解决率",
    formula: "cases closed as fixed in the period never escalated / cases closed as fixed in the period",
    unit: Unit::Share,
};
pub const CASES_ESCALATED: Indicator = Indicator {
    code: "cases_escalated",
    name_zh: "上报联席办",
    formula: "cases first escalated to the joint-meeting office in the period",
    unit: Unit::Count,
};
pub const ASSISTS: Indicator = Indicator {
    code: "assists",
    name_zh: "协助社区解决",
    formula: "cases of an assist category (协助事项) closed as fixed in the period",
    unit: Unit::Count,
};

/// The case indicators, in the order reports show them.
pub const CASES: [Indicator; 15] = [
    CASES_ACCEPTED,
    CASES_DUE,
    CASES_DEFERRED,
    CASES_CLOSED,
    CASES_CLOSED_ON_TIME,
    CLOSING_RATE,
    ON_TIME_CLOSING_RATE,
    REWORK_RATE,
    HANDLING_MINUTES_MEAN,
    HANDLING_MINUTES_P90,
    SOLVED_IN_COMMUNITY,
    SOLVED_AFTER_ESCALATION,
    SOLVED_IN_COMMUNITY_SHARE,
    CASES_ESCALATED,
    ASSISTS,
];

// Whistles (吹哨报到).

pub const WHISTLES_RECEIVED: Indicator = Indicator {
    code: "whistles_received",
    name_zh: "接哨数",
    formula: "whistles raised (signed off and sent) in the period",
    unit: Unit::Count,
};
pub const WHISTLES_TAKEN: Indicator = Indicator {
    code: "whistles_taken",
    name_zh: "报到数",
    formula: "whistles raised in the period that an officer took up",
    unit: Unit::Count,
};
pub const WHISTLES_TAKEN_ON_TIME: Indicator = Indicator {
    code: "whistles_taken_on_time",
    name_zh: "按时报到数",
    formula: "whistles raised in the period taken up by their deadline",
    unit: Unit::Count,
};
pub const WHISTLE_RESPONSE_RATE: Indicator = Indicator {
    code: "whistle_response_rate",
    name_zh: "按时响应率",
    formula: "whistles raised in the period taken up by their deadline / whistles raised in the period",
    unit: Unit::Share,
};
pub const WHISTLE_MEAN_RATING: Indicator = Indicator {
    code: "whistle_mean_rating",
    name_zh: "社区评价平均分",
    formula: "sum of the community's ratings (1 to 5) / whistles raised in the period and rated",
    unit: Unit::Mean,
};

/// The whistle indicators, in the order reports show them.
pub const WHISTLES: [Indicator; 5] = [
    WHISTLES_RECEIVED,
    WHISTLES_TAKEN,
    WHISTLES_TAKEN_ON_TIME,
    WHISTLE_RESPONSE_RATE,
    WHISTLE_MEAN_RATING,
];

// Residents' judgement (群众评价).

pub const RATINGS: Indicator = Indicator {
    code: "ratings",
    name_zh: "评价数",
    formula: "ratings reporters gave in the period (a case rated again after rework counts again)",
    unit: Unit::Count,
};
pub const SATISFACTION_RATE: Indicator = Indicator {
    code: "satisfaction_rate",
    name_zh: "满意率",
    formula: "ratings of 4 or 5 given in the period / ratings given in the period",
    unit: Unit::Share,
};
pub const MEAN_RATING: Indicator = Indicator {
    code: "mean_rating",
    name_zh: "平均评分",
    formula: "sum of ratings (1 to 5) given in the period / ratings given in the period",
    unit: Unit::Mean,
};
pub const NOT_FIXED_REOPEN_RATE: Indicator = Indicator {
    code: "not_fixed_reopen_rate",
    name_zh: "“未解决”重办率",
    formula: "cases closed in the period that their reporter reopened as not fixed in the period / cases with a reporter closed in the period",
    unit: Unit::Share,
};

/// The residents' indicators, in the order reports show them.
pub const RESIDENTS: [Indicator; 4] = [
    RATINGS,
    SATISFACTION_RATE,
    MEAN_RATING,
    NOT_FIXED_REOPEN_RATE,
];

// Visits and the 721 mix (进社区).

pub const VISITS_RECORDED: Indicator = Indicator {
    code: "visits_recorded",
    name_zh: "走访次数",
    formula: "visits started in the period",
    unit: Unit::Count,
};
pub const VISITS_UNVERIFIED: Indicator = Indicator {
    code: "visits_unverified",
    name_zh: "未核验走访",
    formula: "visits started in the period that failed verification (flagged, whether or not a supervisor later accepted them), with their reason codes as parts",
    unit: Unit::Count,
};
pub const VISIT_COMPLIANCE_RATE: Indicator = Indicator {
    code: "visit_compliance_rate",
    name_zh: "每周两次达标率",
    formula: "officer x community x week judged compliant / judged (weeks of the period that have ended and required a visit; a week belongs to the period holding its Thursday)",
    unit: Unit::Share,
};
pub const MIX_SERVICE: Indicator = Indicator {
    code: "mix_service_share",
    name_zh: "服务类占比（7）",
    formula: "service actions (visits and case actions tagged service) in the period / tagged actions in the period",
    unit: Unit::Share,
};
pub const MIX_MANAGEMENT: Indicator = Indicator {
    code: "mix_management_share",
    name_zh: "管理类占比（2）",
    formula: "management actions in the period / tagged actions in the period",
    unit: Unit::Share,
};
pub const MIX_ENFORCEMENT: Indicator = Indicator {
    code: "mix_enforcement_share",
    name_zh: "执法类占比（1）",
    formula: "enforcement actions in the period / tagged actions in the period",
    unit: Unit::Share,
};

/// The visit indicators, in the order reports show them.
pub const VISITS: [Indicator; 6] = [
    VISITS_RECORDED,
    VISITS_UNVERIFIED,
    VISIT_COMPLIANCE_RATE,
    MIX_SERVICE,
    MIX_MANAGEMENT,
    MIX_ENFORCEMENT,
];

// Points (积分).

pub const POINTS_AWARDED: Indicator = Indicator {
    code: "points_awarded",
    name_zh: "积分（净）",
    formula: "sum of the points ledger entries recorded in the period, reversals included",
    unit: Unit::Count,
};
pub const POINTS_ENTRIES: Indicator = Indicator {
    code: "points_entries",
    name_zh: "积分记录数",
    formula: "points ledger entries recorded in the period",
    unit: Unit::Count,
};
pub const CLAIMS_AUDITED: Indicator = Indicator {
    code: "claims_audited",
    name_zh: "审核积分申报",
    formula: "points claims a supervisor decided in the period",
    unit: Unit::Count,
};
pub const CLAIMS_APPROVAL_RATE: Indicator = Indicator {
    code: "claims_approval_rate",
    name_zh: "申报通过率",
    formula: "points claims approved in the period / points claims decided in the period",
    unit: Unit::Share,
};

/// The points indicators, in the order reports show them.
pub const POINTS: [Indicator; 4] = [
    POINTS_AWARDED,
    POINTS_ENTRIES,
    CLAIMS_AUDITED,
    CLAIMS_APPROVAL_RATE,
];

// Engagement (议事协商, 宣传服务, 意见建议).

pub const MEETINGS_HELD: Indicator = Indicator {
    code: "meetings_held",
    name_zh: "召开议事协调会",
    formula: "meetings held in the period (议事会, 协调会, 恳谈会)",
    unit: Unit::Count,
};
pub const PROBLEMS_SETTLED_AT_MEETINGS: Indicator = Indicator {
    code: "problems_settled_at_meetings",
    name_zh: "会上解决问题",
    formula: "problems the period's meetings list as settled",
    unit: Unit::Count,
};
pub const SOLVED_BEFORE_COMPLAINT: Indicator = Indicator {
    code: "solved_before_complaint",
    name_zh: "未诉先办",
    formula: "cases reported from a meeting (source community_meeting) in the period and closed as fixed",
    unit: Unit::Count,
};
pub const EVENTS_HELD: Indicator = Indicator {
    code: "events_held",
    name_zh: "开展宣传服务活动",
    formula: "public events held in the period (open days, face-to-face, legal publicity)",
    unit: Unit::Count,
};
pub const EVENT_ATTENDANCE: Indicator = Indicator {
    code: "event_attendance",
    name_zh: "活动参与人次",
    formula: "sum of the attendance of the period's public events",
    unit: Unit::Count,
};
pub const SUGGESTIONS_RECEIVED: Indicator = Indicator {
    code: "suggestions_received",
    name_zh: "收集意见建议",
    formula: "suggestions received in the period",
    unit: Unit::Count,
};
pub const SUGGESTIONS_ANSWER_RATE: Indicator = Indicator {
    code: "suggestions_answer_rate",
    name_zh: "意见建议答复率",
    formula: "suggestions received in the period and answered / suggestions received in the period",
    unit: Unit::Share,
};

/// The engagement indicators, in the order reports show them.
pub const ENGAGEMENT: [Indicator; 7] = [
    MEETINGS_HELD,
    PROBLEMS_SETTLED_AT_MEETINGS,
    SOLVED_BEFORE_COMPLAINT,
    EVENTS_HELD,
    EVENT_ATTENDANCE,
    SUGGESTIONS_RECEIVED,
    SUGGESTIONS_ANSWER_RATE,
];
