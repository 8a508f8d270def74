//! The console's words: one catalogue per language, every text a page shows. A page
//! names a field, so a missing text is a compile error; English follows by adding a
//! second `Messages` value. The catalogue serialises to JSON for browser code.

use patrol_domain::case::{CaseSource, CaseStatus};
use serde::Serialize;

/// Every text of the console.
#[derive(Debug, Serialize)]
pub struct Messages {
    /// BCP 47 tag, for `<html lang>`.
    pub lang: &'static str,
    pub product: &'static str,
    pub nav: Nav,
    pub common: Common,
    pub sign_in: SignIn,
    pub today: Today,
    pub cases: Cases,
    pub points: Points,
    pub map: Map,
    pub visits: Visits,
    pub whistles: Whistles,
    pub community: Community,
    pub diary: Diary,
    pub errors: Errors,
}

#[derive(Debug, Serialize)]
pub struct Nav {
    pub today: &'static str,
    pub map: &'static str,
    pub cases: &'static str,
    pub points: &'static str,
    pub visits: &'static str,
    pub whistles: &'static str,
    pub diary: &'static str,
    pub report: &'static str,
    pub sign_out: &'static str,
    pub main_menu: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Common {
    pub none: &'static str,
    pub all: &'static str,
    pub filter: &'static str,
    pub next_page: &'static str,
    pub count_unit: &'static str,
    pub signed_in_as: &'static str,
    pub overdue: &'static str,
    pub time_zone: &'static str,
    pub submit: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
}

#[derive(Debug, Serialize)]
pub struct SignIn {
    pub title: &'static str,
    pub login: &'static str,
    pub password: &'static str,
    pub submit: &'static str,
    pub wrong: &'static str,
    pub residents_elsewhere: &'static str,
    pub signed_out: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Today {
    pub title: &'static str,
    pub open_cases: &'static str,
    pub overdue_cases: &'static str,
    pub by_status: &'static str,
    pub whistles_waiting: &'static str,
    pub whistle: &'static str,
    pub time_left: &'static str,
    pub late_by: &'static str,
    pub compliance: &'static str,
    pub compliant: &'static str,
    pub at_risk: &'static str,
    pub officer: &'static str,
    pub community: &'static str,
    pub visits_counted: &'static str,
    pub visits_remaining: &'static str,
    pub claims_waiting: &'static str,
    pub to_audit: &'static str,
    pub minutes: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Cases {
    pub title: &'static str,
    pub status: &'static str,
    pub source: &'static str,
    pub category: &'static str,
    pub community: &'static str,
    pub only_overdue: &'static str,
    pub only_open: &'static str,
    pub reported_at: &'static str,
    pub description: &'static str,
    pub case: &'static str,
    pub none_found: &'static str,
    pub timeline: &'static str,
    pub deadlines: &'static str,
    pub accept_due: &'static str,
    pub handle_due: &'static str,
    pub close_due: &'static str,
    pub paused: &'static str,
    pub location: &'static str,
    pub photos: &'static str,
    pub handler: &'static str,
    pub actions: &'static str,
    pub no_actions: &'static str,
    pub reason: &'static str,
    pub note: &'static str,
    pub dispatch_to: &'static str,
    pub passed: &'static str,
    pub outcome: &'static str,
    pub resume_on: &'static str,
    pub original: &'static str,
    pub escalate: &'static str,
    pub escalate_reason: &'static str,
    pub done: &'static str,
    pub outcome_fixed: &'static str,
    pub outcome_not_ours: &'static str,
    pub outcome_cannot: &'static str,
    pub command: Commands,
}

/// Buttons of the case workflow, by command.
#[derive(Debug, Serialize)]
pub struct Commands {
    pub accept: &'static str,
    pub void: &'static str,
    pub dispatch: &'static str,
    pub start: &'static str,
    pub resolve: &'static str,
    pub verify: &'static str,
    pub defer: &'static str,
    pub resume: &'static str,
    pub mark_duplicate: &'static str,
    pub evaluate: &'static str,
    pub not_fixed: &'static str,
    pub withdraw: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Points {
    pub title: &'static str,
    pub queue: &'static str,
    pub officer: &'static str,
    pub rule: &'static str,
    pub points: &'static str,
    pub note: &'static str,
    pub filed_at: &'static str,
    pub approve: &'static str,
    pub reject: &'static str,
    pub reason: &'static str,
    pub reason_needed: &'static str,
    pub queue_empty: &'static str,
    pub ledger: &'static str,
    pub seq: &'static str,
    pub recorded_at: &'static str,
    pub running_total: &'static str,
    pub chain: &'static str,
    pub chain_intact: &'static str,
    pub chain_broken: &'static str,
    pub head: &'static str,
    pub head_signed: &'static str,
    pub head_unsigned: &'static str,
    pub decided: &'static str,
    pub status_approved: &'static str,
    pub status_rejected: &'static str,
    pub status_pending: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Map {
    pub title: &'static str,
    pub colour_by: &'static str,
    pub by_compliance: &'static str,
    pub by_open: &'static str,
    pub by_overdue: &'static str,
    pub legend: &'static str,
    pub open_cases_dots: &'static str,
    pub communities: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Visits {
    pub title: &'static str,
    pub grid: &'static str,
    pub officer: &'static str,
    pub community: &'static str,
    pub week: &'static str,
    pub compliant: &'static str,
    pub short: &'static str,
    pub unverified: &'static str,
    pub started_at: &'static str,
    pub reasons: &'static str,
    pub purpose: &'static str,
    pub none_unverified: &'static str,
    /// Reason codes of a visit that did not count, as people read them.
    pub reason_not_verified: &'static str,
    pub reason_too_close: &'static str,
    pub reason_overlaps: &'static str,
    /// Verification flags of a visit (`VisitFlag`).
    pub flag_outside_geofence: &'static str,
    pub flag_low_accuracy: &'static str,
    pub flag_mock_location: &'static str,
    pub flag_future_time: &'static str,
    pub flag_too_short: &'static str,
    pub flag_impossible_travel: &'static str,
    pub flag_duplicate_photo: &'static str,
    pub flag_duplicate_visit: &'static str,
    pub flag_not_assigned: &'static str,
    pub flag_late_sync: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Whistles {
    pub title: &'static str,
    pub status: &'static str,
    pub whistle: &'static str,
    pub community: &'static str,
    pub raised_at: &'static str,
    pub take_due: &'static str,
    pub taken_at: &'static str,
    pub taken_late: &'static str,
    pub rating: &'static str,
    pub none: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Community {
    pub street: &'static str,
    pub studio: &'static str,
    pub hotline: &'static str,
    pub officers: &'static str,
    pub party_members: &'static str,
    pub staff: &'static str,
    pub phone: &'static str,
    pub lists: &'static str,
    pub duties: &'static str,
    pub key_items: &'static str,
    pub assist_items: &'static str,
    pub personnel: &'static str,
    pub week_visits: &'static str,
    pub open_cases: &'static str,
    pub all_cases: &'static str,
    pub visit_status: &'static str,
    pub boundary: &'static str,
    pub visit: &'static str,
    pub ended_at: &'static str,
    pub fix: &'static str,
    pub fix_inside: &'static str,
    pub fix_outside: &'static str,
    pub no_fix: &'static str,
    pub met: &'static str,
    pub notes: &'static str,
    pub photos: &'static str,
    pub accepted: &'static str,
    pub verified: &'static str,
    pub flagged: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Diary {
    pub title: &'static str,
    pub date: &'static str,
    pub shift: &'static str,
    pub author: &'static str,
    pub body: &'static str,
    pub version: &'static str,
    pub current: &'static str,
    pub signed_off: &'static str,
    pub awaiting: &'static str,
    pub only_unsigned: &'static str,
    pub changed_after_sign_off: &'static str,
    pub comments: &'static str,
    pub sign_off: &'static str,
    pub shift_day: &'static str,
    pub shift_night: &'static str,
    pub shift_overtime: &'static str,
    pub shift_on_call: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Errors {
    pub bad_request: &'static str,
    pub forbidden: &'static str,
    pub not_found: &'static str,
    pub conflict: &'static str,
    pub too_many: &'static str,
    pub unavailable: &'static str,
    pub internal: &'static str,
    pub csrf: &'static str,
    pub back: &'static str,
}

impl Messages {
    /// A diary shift (`patrol_domain::diary::SHIFTS`) as people say it.
    pub fn diary_shift<'a>(&self, s: &'a str) -> &'a str {
        match s {
            "day" => self.diary.shift_day,
            "night" => self.diary.shift_night,
            "overtime" => self.diary.shift_overtime,
            "on_call" => self.diary.shift_on_call,
            other => other,
        }
    }

    /// A visit's verification status as people read it.
    pub fn visit_status(&self, s: &str) -> &'static str {
        match s {
            "verified" => self.community.verified,
            "accepted" => self.community.accepted,
            _ => self.community.flagged,
        }
    }

    /// A case status as people say it.
    pub fn case_status(&self, s: CaseStatus) -> &'static str {
        match s {
            CaseStatus::Reported => "待立案",
            CaseStatus::Accepted => "已立案",
            CaseStatus::Voided => "已作废",
            CaseStatus::Dispatched => "已派遣",
            CaseStatus::InProgress => "处置中",
            CaseStatus::Resolved => "待核查",
            CaseStatus::Closed => "已结案",
            CaseStatus::Evaluated => "已评价",
            CaseStatus::Deferred => "缓办",
            CaseStatus::Duplicate => "重复案件",
            CaseStatus::Withdrawn => "已撤回",
        }
    }

    /// A whistle's status as people say it.
    pub fn whistle_status(&self, s: patrol_domain::whistle::WhistleStatus) -> &'static str {
        use patrol_domain::whistle::WhistleStatus as W;
        match s {
            W::PendingSignOff => "待社区书记签发",
            W::Declined => "未签发",
            W::Raised => "待接单",
            W::Taken => "已接单",
            W::Rated => "已评价",
            W::Withdrawn => "已撤回",
        }
    }

    /// Why a visit did not count, by its reason code.
    pub fn visit_reason<'a>(&self, code: &'a str) -> &'a str {
        match code {
            "NOT_VERIFIED" => self.visits.reason_not_verified,
            "TOO_CLOSE_TO_PREVIOUS" => self.visits.reason_too_close,
            "OVERLAPS_PREVIOUS" => self.visits.reason_overlaps,
            "OUTSIDE_GEOFENCE" => self.visits.flag_outside_geofence,
            "LOW_ACCURACY" => self.visits.flag_low_accuracy,
            "MOCK_LOCATION" => self.visits.flag_mock_location,
            "FUTURE_TIME" => self.visits.flag_future_time,
            "TOO_SHORT" => self.visits.flag_too_short,
            "IMPOSSIBLE_TRAVEL" => self.visits.flag_impossible_travel,
            "DUPLICATE_PHOTO" => self.visits.flag_duplicate_photo,
            "DUPLICATE_VISIT" => self.visits.flag_duplicate_visit,
            "NOT_ASSIGNED" => self.visits.flag_not_assigned,
            "LATE_SYNC" => self.visits.flag_late_sync,
            other => other,
        }
    }

    /// Where a case came from.
    pub fn case_source(&self, s: CaseSource) -> &'static str {
        s.name_zh()
    }

    /// The button of a workflow command, by its wire name.
    pub fn command(&self, name: &str) -> &'static str {
        let c = &self.cases.command;
        match name {
            "accept" => c.accept,
            "void" => c.void,
            "dispatch" => c.dispatch,
            "start" => c.start,
            "resolve" => c.resolve,
            "verify" => c.verify,
            "defer" => c.defer,
            "resume" => c.resume,
            "mark_duplicate" => c.mark_duplicate,
            "evaluate" => c.evaluate,
            "not_fixed" => c.not_fixed,
            "withdraw" => c.withdraw,
            _ => "",
        }
    }
}

/// 简体中文.
pub static ZH_CN: Messages = Messages {
    lang: "zh-CN",
    product: "城管进社区·监督台",
    nav: Nav {
        today: "今日",
        map: "地图",
        cases: "案件",
        points: "积分审核",
        visits: "进社区",
        whistles: "吹哨",
        diary: "勤务日志",
        report: "月度报告",
        sign_out: "退出登录",
        main_menu: "主菜单",
    },
    common: Common {
        none: "无",
        all: "全部",
        filter: "筛选",
        next_page: "下一页",
        count_unit: "件",
        signed_in_as: "当前用户",
        overdue: "超期",
        time_zone: "时区",
        submit: "提交",
        yes: "是",
        no: "否",
    },
    sign_in: SignIn {
        title: "登录监督台",
        login: "账号",
        password: "密码",
        submit: "登录",
        wrong: "账号或密码错误",
        residents_elsewhere: "居民请使用小程序或居民页面上报问题。",
        signed_out: "已退出登录。",
    },
    today: Today {
        title: "今日概况",
        open_cases: "在办案件",
        overdue_cases: "超期案件",
        by_status: "按状态",
        whistles_waiting: "待接单的吹哨",
        whistle: "吹哨事项",
        time_left: "剩余时间",
        late_by: "已超时",
        compliance: "本周进社区",
        compliant: "已达标",
        at_risk: "未达标人员",
        officer: "人员",
        community: "社区",
        visits_counted: "已计次数",
        visits_remaining: "还需次数",
        claims_waiting: "待审核积分申请",
        to_audit: "去审核",
        minutes: "分钟",
    },
    cases: Cases {
        title: "案件看板",
        status: "状态",
        source: "来源",
        category: "类别",
        community: "社区",
        only_overdue: "只看超期",
        only_open: "只看在办",
        reported_at: "上报时间",
        description: "问题描述",
        case: "案件",
        none_found: "没有符合条件的案件。",
        timeline: "办理过程",
        deadlines: "时限",
        accept_due: "立案时限",
        handle_due: "处置时限",
        close_due: "结案时限",
        paused: "缓办中，计时暂停",
        location: "位置",
        photos: "照片",
        handler: "处置人",
        actions: "可办理操作",
        no_actions: "您对该案件暂无可办理的操作。",
        reason: "原因",
        note: "说明",
        dispatch_to: "派遣给",
        passed: "核查通过",
        outcome: "结案方式",
        resume_on: "预计恢复日期",
        original: "原案件编号",
        escalate: "提交区联席办",
        escalate_reason: "提请原因",
        done: "已办理",
        outcome_fixed: "已解决",
        outcome_not_ours: "非城管职责",
        outcome_cannot: "无法解决",
        command: Commands {
            accept: "立案",
            void: "作废",
            dispatch: "派遣",
            start: "开始处置",
            resolve: "处置反馈",
            verify: "核查",
            defer: "缓办",
            resume: "恢复办理",
            mark_duplicate: "标为重复",
            evaluate: "评价",
            not_fixed: "未解决",
            withdraw: "撤回",
        },
    },
    points: Points {
        title: "积分审核",
        queue: "待审核申请",
        officer: "队员",
        rule: "积分事项",
        points: "分值",
        note: "申请说明",
        filed_at: "申请时间",
        approve: "通过",
        reject: "驳回",
        reason: "审核意见",
        reason_needed: "通过或驳回都请填写审核意见，它会记入台账。",
        queue_empty: "没有待审核的积分申请。",
        ledger: "积分台账",
        seq: "序号",
        recorded_at: "记录时间",
        running_total: "累计",
        chain: "台账校验",
        chain_intact: "台账链完整，未被篡改",
        chain_broken: "台账链校验失败",
        head: "台账链头",
        head_signed: "已用台账密钥签名",
        head_unsigned: "未配置台账密钥，链头未签名",
        decided: "已审核",
        status_approved: "已通过",
        status_rejected: "已驳回",
        status_pending: "待审核",
    },
    map: Map {
        title: "辖区地图",
        colour_by: "着色依据",
        by_compliance: "本周进社区达标率",
        by_open: "在办案件数",
        by_overdue: "超期案件数",
        legend: "图例",
        open_cases_dots: "在办案件位置",
        communities: "社区",
    },
    visits: Visits {
        title: "进社区考勤",
        grid: "每周两次进社区（人员 × 社区 × 周）",
        officer: "人员",
        community: "社区",
        week: "周",
        compliant: "达标",
        short: "未达标",
        unverified: "未通过核验的走访",
        started_at: "开始时间",
        reasons: "原因代码",
        purpose: "事由",
        none_unverified: "没有未通过核验的走访。",
        reason_not_verified: "未通过核验",
        reason_too_close: "与上次走访间隔过短",
        reason_overlaps: "与上次走访时间重叠",
        flag_outside_geofence: "定位不在社区边界内",
        flag_low_accuracy: "定位精度不足",
        flag_mock_location: "疑似模拟定位",
        flag_future_time: "时间晚于服务器时间",
        flag_too_short: "走访时间过短",
        flag_impossible_travel: "两地间移动速度不可能",
        flag_duplicate_photo: "照片重复使用",
        flag_duplicate_visit: "重复提交的走访",
        flag_not_assigned: "未包保该社区",
        flag_late_sync: "同步过晚",
    },
    whistles: Whistles {
        title: "吹哨看板",
        status: "状态",
        whistle: "吹哨事项",
        community: "社区",
        raised_at: "吹哨时间",
        take_due: "接单时限",
        taken_at: "接单时间",
        taken_late: "超时接单",
        rating: "社区评价",
        none: "没有吹哨事项。",
    },
    community: Community {
        street: "所属街道",
        studio: "城管社区工作室",
        hotline: "服务热线",
        officers: "包保城管队员",
        party_members: "联系党员",
        staff: "社区工作人员",
        phone: "电话",
        lists: "四张清单",
        duties: "岗位责任清单",
        key_items: "重点管理事项",
        assist_items: "协助事项",
        personnel: "人员清单",
        week_visits: "本周走访",
        open_cases: "在办案件",
        all_cases: "查看全部案件",
        visit_status: "核验",
        boundary: "社区边界",
        visit: "走访记录",
        ended_at: "结束时间",
        fix: "定位",
        fix_inside: "定位在社区边界内",
        fix_outside: "定位在社区边界外",
        no_fix: "无定位",
        met: "走访对象",
        notes: "备注",
        photos: "照片数",
        accepted: "已人工认可",
        verified: "已核验",
        flagged: "未通过核验",
    },
    diary: Diary {
        title: "勤务日志",
        date: "日期",
        shift: "班次",
        author: "填写人",
        body: "内容",
        version: "版本",
        current: "当前版本",
        signed_off: "已签阅",
        awaiting: "待签阅",
        only_unsigned: "只看待签阅",
        changed_after_sign_off: "签阅后修改",
        comments: "批注",
        sign_off: "签阅此版本",
        shift_day: "白班",
        shift_night: "夜班",
        shift_overtime: "加班",
        shift_on_call: "备勤",
    },
    errors: Errors {
        bad_request: "请求有误",
        forbidden: "无权访问",
        not_found: "未找到",
        conflict: "当前状态下无法办理",
        too_many: "操作过于频繁，请稍后再试",
        unavailable: "服务暂不可用，请稍后再试",
        internal: "服务器出错，已记录，请稍后再试",
        csrf: "表单已过期或来源不明，请刷新页面后重新提交。",
        back: "返回今日概况",
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_command_has_words() {
        for s in CaseStatus::ALL {
            assert!(!ZH_CN.case_status(s).is_empty());
        }
        for name in [
            "accept",
            "void",
            "dispatch",
            "start",
            "resolve",
            "verify",
            "defer",
            "resume",
            "mark_duplicate",
            "evaluate",
            "not_fixed",
            "withdraw",
        ] {
            assert!(!ZH_CN.command(name).is_empty(), "{name}");
        }
        let json = serde_json::to_value(&ZH_CN).expect("serialises");
        assert_eq!(json["nav"]["cases"], "案件");
    }
}
