//! The diesel schema, written by hand in types both backends share (see the migration
//! conventions). A test checks it against the tables the migrations create.

diesel::table! {
    districts (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        timezone -> Text,
        hotline -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    streets (id) {
        id -> Text,
        district_id -> Text,
        code -> Text,
        name -> Text,
        kind -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    communities (id) {
        id -> Text,
        street_id -> Text,
        code -> Text,
        name -> Text,
        boundary -> Text,
        min_lat -> Double,
        min_lon -> Double,
        max_lat -> Double,
        max_lon -> Double,
        created_at -> BigInt,
        updated_at -> BigInt,
        lead_user_id -> Nullable<Text>,
        whistle_sign_off -> Bool,
        whistle_take_minutes -> Integer,
    }
}

diesel::table! {
    grid_cells (id) {
        id -> Text,
        community_id -> Text,
        code -> Text,
        name -> Text,
        boundary -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    compounds (id) {
        id -> Text,
        community_id -> Text,
        name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    squads (id) {
        id -> Text,
        street_id -> Nullable<Text>,
        code -> Text,
        name -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    service_stations (id) {
        id -> Text,
        district_id -> Text,
        community_id -> Nullable<Text>,
        code -> Text,
        name -> Text,
        address -> Text,
        lat -> Double,
        lon -> Double,
        opening_hours -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        login -> Text,
        role -> Text,
        display_name -> Text,
        phone -> Nullable<Text>,
        password_hash -> Text,
        squad_id -> Nullable<Text>,
        department_name -> Nullable<Text>,
        active -> Bool,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        joint_office -> Bool,
        hotline_intake -> Bool,
    }
}

diesel::table! {
    assignments (id) {
        id -> Text,
        kind -> Text,
        user_id -> Text,
        target_id -> Text,
        started_at -> BigInt,
        ended_at -> Nullable<BigInt>,
        assigned_by -> Nullable<Text>,
        ended_by -> Nullable<Text>,
        reason -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        family_id -> Text,
        user_id -> Text,
        token_hash -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        successor_id -> Nullable<Text>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    otp_challenges (id) {
        id -> Text,
        phone -> Text,
        purpose -> Text,
        code_hash -> Text,
        payload -> Text,
        attempts -> Integer,
        created_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    duties (id) {
        id -> Text,
        code -> Text,
        title_zh -> Text,
        title_en -> Text,
        applies_to -> Text,
        sort_order -> Integer,
        active -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    categories (id) {
        id -> Text,
        code -> Text,
        kind -> Text,
        group_code -> Text,
        group_zh -> Text,
        group_en -> Text,
        name_zh -> Text,
        name_en -> Text,
        sla_hours -> Integer,
        default_class_721 -> Text,
        duplicate_radius_m -> Integer,
        active -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        accept_hours -> Integer,
        close_hours -> Integer,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        entity -> Text,
        entity_id -> Text,
        detail -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    job_runs (job, period_key) {
        job -> Text,
        period_key -> Text,
        claimed_by -> Text,
        claimed_at -> BigInt,
        lease_until -> BigInt,
        finished_at -> Nullable<BigInt>,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    server_meta (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        community_id -> Text,
        grid_cell_id -> Nullable<Text>,
        category_id -> Text,
        source -> Text,
        status -> Text,
        close_outcome -> Nullable<Text>,
        description -> Text,
        description_rev -> BigInt,
        notes -> Text,
        notes_rev -> BigInt,
        lat -> Double,
        lon -> Double,
        reporter_id -> Nullable<Text>,
        reporter_anonymous -> Bool,
        first_contact_id -> Nullable<Text>,
        handler_id -> Nullable<Text>,
        priority -> Text,
        handle_due_at -> Nullable<BigInt>,
        resolved_by -> Nullable<Text>,
        rework_count -> Integer,
        deferred_from -> Nullable<Text>,
        duplicate_of -> Nullable<Text>,
        self_handled -> Bool,
        class_721 -> Text,
        observed_at -> Nullable<BigInt>,
        observed_at_suspect -> Bool,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
        accept_due_at -> Nullable<BigInt>,
        close_due_at -> Nullable<BigInt>,
        accepted_at -> Nullable<BigInt>,
        dispatched_at -> Nullable<BigInt>,
        resolved_at -> Nullable<BigInt>,
        closed_at -> Nullable<BigInt>,
        rating -> Nullable<Integer>,
        follow_up_of -> Nullable<Text>,
    }
}

diesel::table! {
    case_followers (case_id, user_id) {
        case_id -> Text,
        user_id -> Text,
        via_case_id -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    escalations (id) {
        id -> Text,
        case_id -> Text,
        community_id -> Text,
        status -> Text,
        reason -> Text,
        raised_by -> Text,
        raised_at -> BigInt,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<BigInt>,
        decision_note -> Nullable<Text>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    department_tasks (id) {
        id -> Text,
        escalation_id -> Text,
        case_id -> Text,
        department_id -> Text,
        status -> Text,
        instructions -> Text,
        assigned_by -> Text,
        assigned_at -> BigInt,
        due_at -> BigInt,
        done_by -> Nullable<Text>,
        done_at -> Nullable<BigInt>,
        response -> Nullable<Text>,
        evidence -> Text,
    }
}

diesel::table! {
    case_activities (id) {
        id -> Text,
        case_id -> Text,
        actor_id -> Nullable<Text>,
        actor_role -> Text,
        kind -> Text,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        note -> Text,
        evidence -> Text,
        class_721 -> Nullable<Text>,
        observed_at -> Nullable<BigInt>,
        recorded_at -> BigInt,
    }
}

diesel::table! {
    blobs (sha256) {
        sha256 -> Text,
        size -> BigInt,
        content_type -> Text,
        uploaded_by -> Nullable<Text>,
        created_at -> BigInt,
        touched_at -> BigInt,
    }
}

diesel::table! {
    photos (id) {
        id -> Text,
        sha256 -> Text,
        owner_kind -> Text,
        owner_id -> Text,
        community_id -> Nullable<Text>,
        added_by -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    sync_clients (client_id) {
        client_id -> Text,
        user_id -> Text,
        last_mutation_id -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sync_mutations (client_id, mutation_id) {
        client_id -> Text,
        mutation_id -> BigInt,
        name -> Text,
        outcome -> Text,
        result -> Text,
        received_at -> BigInt,
    }
}

diesel::table! {
    conflicts (id) {
        id -> Text,
        kind -> Text,
        entity -> Text,
        entity_id -> Text,
        community_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        mutation_id -> Nullable<BigInt>,
        detail -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    change_log (seq) {
        seq -> BigInt,
        txid -> BigInt,
        commit_seq -> Nullable<BigInt>,
        community_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        entity -> Text,
        entity_id -> Text,
        op -> Text,
        payload -> Text,
        changed_at -> BigInt,
    }
}

diesel::table! {
    sync_clock (id) {
        id -> Integer,
        value -> BigInt,
    }
}

diesel::table! {
    visits (id) {
        id -> Text,
        officer_id -> Text,
        community_id -> Text,
        started_at -> BigInt,
        ended_at -> BigInt,
        received_at -> BigInt,
        fixes -> Text,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        photo_hashes -> Text,
        met -> Text,
        purpose -> Text,
        notes -> Text,
        class_721 -> Text,
        flags -> Text,
        status -> Text,
        accepted_by -> Nullable<Text>,
        accepted_reason -> Nullable<Text>,
        accepted_at -> Nullable<BigInt>,
        client_id -> Nullable<Text>,
        mutation_id -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    diary_entries (id) {
        id -> Text,
        entry_id -> Text,
        version -> Integer,
        author_id -> Text,
        entry_date -> Text,
        shift -> Text,
        body -> Text,
        links -> Text,
        current -> Bool,
        signed_off_by -> Nullable<Text>,
        signed_off_at -> Nullable<BigInt>,
        observed_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    diary_comments (id) {
        id -> Text,
        entry_id -> Text,
        author_id -> Text,
        text -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    points_rules (id) {
        id -> Text,
        code -> Text,
        points -> Integer,
        description -> Text,
        effective_from -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    points_claims (id) {
        id -> Text,
        officer_id -> Text,
        rule_code -> Text,
        points -> Integer,
        note -> Text,
        claimed_by -> Text,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_reason -> Nullable<Text>,
        decided_at -> Nullable<BigInt>,
        created_at -> BigInt,
        source_kind -> Text,
        source_id -> Text,
    }
}

diesel::table! {
    points_entries (seq) {
        seq -> BigInt,
        id -> Text,
        officer_id -> Text,
        rule_code -> Text,
        points -> Integer,
        source_kind -> Text,
        source_id -> Text,
        reverses_seq -> Nullable<BigInt>,
        actor_id -> Nullable<Text>,
        note -> Text,
        recorded_at -> BigInt,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    points_chain (id) {
        id -> Integer,
        last_seq -> BigInt,
        last_hash -> Text,
    }
}

diesel::table! {
    whistles (id) {
        id -> Text,
        community_id -> Text,
        raised_by -> Text,
        title -> Text,
        description -> Text,
        status -> Text,
        signed_off_by -> Nullable<Text>,
        signed_off_at -> Nullable<BigInt>,
        decline_reason -> Nullable<Text>,
        raised_at -> Nullable<BigInt>,
        take_due_at -> Nullable<BigInt>,
        taken_by -> Nullable<Text>,
        taken_at -> Nullable<BigInt>,
        taken_late -> Nullable<Bool>,
        response_note -> Nullable<Text>,
        rating -> Nullable<Integer>,
        rating_comment -> Nullable<Text>,
        rated_by -> Nullable<Text>,
        rated_at -> Nullable<BigInt>,
        observed_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    whistle_cases (whistle_id, case_id) {
        whistle_id -> Text,
        case_id -> Text,
    }
}

diesel::table! {
    meetings (id) {
        id -> Text,
        community_id -> Text,
        author_id -> Text,
        kind -> Text,
        held_on -> Text,
        attendee_count -> Integer,
        participants -> Text,
        topics -> Text,
        settled -> Text,
        settled_count -> Integer,
        observed_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    public_events (id) {
        id -> Text,
        community_id -> Text,
        author_id -> Text,
        kind -> Text,
        held_on -> Text,
        place -> Text,
        attendance -> Integer,
        description -> Text,
        photo_hashes -> Text,
        observed_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    suggestions (id) {
        id -> Text,
        community_id -> Text,
        author_id -> Text,
        from_kind -> Text,
        from_name -> Text,
        from_phone -> Nullable<Text>,
        body -> Text,
        received_on -> Text,
        answer -> Nullable<Text>,
        answered_by -> Nullable<Text>,
        answered_at -> Nullable<BigInt>,
        observed_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    hotline_tickets (ticket_no) {
        ticket_no -> Text,
        case_id -> Text,
        hotline_category -> Text,
        due_at -> BigInt,
        received_at -> BigInt,
        transfers -> Integer,
        answer -> Nullable<Text>,
        answered_by -> Nullable<Text>,
        answered_at -> Nullable<BigInt>,
        created_by -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::joinable!(streets -> districts (district_id));
diesel::joinable!(communities -> streets (street_id));
diesel::joinable!(grid_cells -> communities (community_id));
diesel::joinable!(compounds -> communities (community_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(case_activities -> cases (case_id));
diesel::joinable!(whistles -> communities (community_id));
diesel::joinable!(whistle_cases -> whistles (whistle_id));
diesel::joinable!(meetings -> communities (community_id));
diesel::joinable!(public_events -> communities (community_id));
diesel::joinable!(suggestions -> communities (community_id));
diesel::joinable!(hotline_tickets -> cases (case_id));

diesel::allow_tables_to_appear_in_same_query!(
    districts,
    streets,
    communities,
    grid_cells,
    compounds,
    squads,
    service_stations,
    users,
    assignments,
    refresh_tokens,
    otp_challenges,
    duties,
    categories,
    audit_log,
    job_runs,
    server_meta,
    cases,
    case_activities,
    case_followers,
    escalations,
    department_tasks,
    blobs,
    photos,
    sync_clients,
    sync_mutations,
    conflicts,
    change_log,
    sync_clock,
    visits,
    diary_entries,
    diary_comments,
    points_rules,
    points_claims,
    points_entries,
    points_chain,
    whistles,
    whistle_cases,
    meetings,
    public_events,
    suggestions,
    hotline_tickets,
);

/// Every table and its columns in declaration order; the schema test compares this with
/// what the migrations create on each backend.
pub const TABLES: &[(&str, &[&str])] = &[
    (
        "districts",
        &[
            "id",
            "code",
            "name",
            "timezone",
            "hotline",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "streets",
        &[
            "id",
            "district_id",
            "code",
            "name",
            "kind",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "communities",
        &[
            "id",
            "street_id",
            "code",
            "name",
            "boundary",
            "min_lat",
            "min_lon",
            "max_lat",
            "max_lon",
            "created_at",
            "updated_at",
            "lead_user_id",
            "whistle_sign_off",
            "whistle_take_minutes",
        ],
    ),
    (
        "grid_cells",
        &[
            "id",
            "community_id",
            "code",
            "name",
            "boundary",
            "created_at",
            "updated_at",
        ],
    ),
    ("compounds", &["id", "community_id", "name", "created_at"]),
    (
        "squads",
        &[
            "id",
            "street_id",
            "code",
            "name",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "service_stations",
        &[
            "id",
            "district_id",
            "community_id",
            "code",
            "name",
            "address",
            "lat",
            "lon",
            "opening_hours",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "users",
        &[
            "id",
            "login",
            "role",
            "display_name",
            "phone",
            "password_hash",
            "squad_id",
            "department_name",
            "active",
            "created_by",
            "created_at",
            "updated_at",
            "joint_office",
            "hotline_intake",
        ],
    ),
    (
        "assignments",
        &[
            "id",
            "kind",
            "user_id",
            "target_id",
            "started_at",
            "ended_at",
            "assigned_by",
            "ended_by",
            "reason",
            "created_at",
        ],
    ),
    (
        "refresh_tokens",
        &[
            "id",
            "family_id",
            "user_id",
            "token_hash",
            "issued_at",
            "expires_at",
            "used_at",
            "successor_id",
            "revoked_at",
        ],
    ),
    (
        "otp_challenges",
        &[
            "id",
            "phone",
            "purpose",
            "code_hash",
            "payload",
            "attempts",
            "created_at",
            "expires_at",
            "consumed_at",
        ],
    ),
    (
        "duties",
        &[
            "id",
            "code",
            "title_zh",
            "title_en",
            "applies_to",
            "sort_order",
            "active",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "categories",
        &[
            "id",
            "code",
            "kind",
            "group_code",
            "group_zh",
            "group_en",
            "name_zh",
            "name_en",
            "sla_hours",
            "default_class_721",
            "duplicate_radius_m",
            "active",
            "created_at",
            "updated_at",
            "accept_hours",
            "close_hours",
        ],
    ),
    (
        "audit_log",
        &[
            "id",
            "actor_id",
            "action",
            "entity",
            "entity_id",
            "detail",
            "at",
        ],
    ),
    (
        "job_runs",
        &[
            "job",
            "period_key",
            "claimed_by",
            "claimed_at",
            "lease_until",
            "finished_at",
            "outcome",
        ],
    ),
    ("server_meta", &["key", "value"]),
    (
        "cases",
        &[
            "id",
            "community_id",
            "grid_cell_id",
            "category_id",
            "source",
            "status",
            "close_outcome",
            "description",
            "description_rev",
            "notes",
            "notes_rev",
            "lat",
            "lon",
            "reporter_id",
            "reporter_anonymous",
            "first_contact_id",
            "handler_id",
            "priority",
            "handle_due_at",
            "resolved_by",
            "rework_count",
            "deferred_from",
            "duplicate_of",
            "self_handled",
            "class_721",
            "observed_at",
            "observed_at_suspect",
            "created_by",
            "created_at",
            "updated_at",
            "version",
            "accept_due_at",
            "close_due_at",
            "accepted_at",
            "dispatched_at",
            "resolved_at",
            "closed_at",
            "rating",
            "follow_up_of",
        ],
    ),
    (
        "case_followers",
        &["case_id", "user_id", "via_case_id", "created_at"],
    ),
    (
        "escalations",
        &[
            "id",
            "case_id",
            "community_id",
            "status",
            "reason",
            "raised_by",
            "raised_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "updated_at",
        ],
    ),
    (
        "department_tasks",
        &[
            "id",
            "escalation_id",
            "case_id",
            "department_id",
            "status",
            "instructions",
            "assigned_by",
            "assigned_at",
            "due_at",
            "done_by",
            "done_at",
            "response",
            "evidence",
        ],
    ),
    (
        "case_activities",
        &[
            "id",
            "case_id",
            "actor_id",
            "actor_role",
            "kind",
            "from_status",
            "to_status",
            "note",
            "evidence",
            "class_721",
            "observed_at",
            "recorded_at",
        ],
    ),
    (
        "blobs",
        &[
            "sha256",
            "size",
            "content_type",
            "uploaded_by",
            "created_at",
            "touched_at",
        ],
    ),
    (
        "photos",
        &[
            "id",
            "sha256",
            "owner_kind",
            "owner_id",
            "community_id",
            "added_by",
            "created_at",
        ],
    ),
    (
        "sync_clients",
        &[
            "client_id",
            "user_id",
            "last_mutation_id",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "sync_mutations",
        &[
            "client_id",
            "mutation_id",
            "name",
            "outcome",
            "result",
            "received_at",
        ],
    ),
    (
        "conflicts",
        &[
            "id",
            "kind",
            "entity",
            "entity_id",
            "community_id",
            "user_id",
            "client_id",
            "mutation_id",
            "detail",
            "created_at",
        ],
    ),
    ("sync_clock", &["id", "value"]),
    (
        "points_rules",
        &[
            "id",
            "code",
            "points",
            "description",
            "effective_from",
            "created_at",
        ],
    ),
    (
        "points_claims",
        &[
            "id",
            "officer_id",
            "rule_code",
            "points",
            "note",
            "claimed_by",
            "status",
            "decided_by",
            "decided_reason",
            "decided_at",
            "created_at",
            "source_kind",
            "source_id",
        ],
    ),
    (
        "points_entries",
        &[
            "seq",
            "id",
            "officer_id",
            "rule_code",
            "points",
            "source_kind",
            "source_id",
            "reverses_seq",
            "actor_id",
            "note",
            "recorded_at",
            "prev_hash",
            "hash",
        ],
    ),
    ("points_chain", &["id", "last_seq", "last_hash"]),
    (
        "diary_entries",
        &[
            "id",
            "entry_id",
            "version",
            "author_id",
            "entry_date",
            "shift",
            "body",
            "links",
            "current",
            "signed_off_by",
            "signed_off_at",
            "observed_at",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "diary_comments",
        &["id", "entry_id", "author_id", "text", "created_at"],
    ),
    (
        "visits",
        &[
            "id",
            "officer_id",
            "community_id",
            "started_at",
            "ended_at",
            "received_at",
            "fixes",
            "lat",
            "lon",
            "photo_hashes",
            "met",
            "purpose",
            "notes",
            "class_721",
            "flags",
            "status",
            "accepted_by",
            "accepted_reason",
            "accepted_at",
            "client_id",
            "mutation_id",
            "created_at",
        ],
    ),
    (
        "whistles",
        &[
            "id",
            "community_id",
            "raised_by",
            "title",
            "description",
            "status",
            "signed_off_by",
            "signed_off_at",
            "decline_reason",
            "raised_at",
            "take_due_at",
            "taken_by",
            "taken_at",
            "taken_late",
            "response_note",
            "rating",
            "rating_comment",
            "rated_by",
            "rated_at",
            "observed_at",
            "created_at",
            "updated_at",
            "version",
        ],
    ),
    ("whistle_cases", &["whistle_id", "case_id"]),
    (
        "change_log",
        &[
            "seq",
            "txid",
            "commit_seq",
            "community_id",
            "user_id",
            "entity",
            "entity_id",
            "op",
            "payload",
            "changed_at",
        ],
    ),
    (
        "meetings",
        &[
            "id",
            "community_id",
            "author_id",
            "kind",
            "held_on",
            "attendee_count",
            "participants",
            "topics",
            "settled",
            "settled_count",
            "observed_at",
            "created_at",
            "updated_at",
            "version",
        ],
    ),
    (
        "public_events",
        &[
            "id",
            "community_id",
            "author_id",
            "kind",
            "held_on",
            "place",
            "attendance",
            "description",
            "photo_hashes",
            "observed_at",
            "created_at",
            "updated_at",
            "version",
        ],
    ),
    (
        "suggestions",
        &[
            "id",
            "community_id",
            "author_id",
            "from_kind",
            "from_name",
            "from_phone",
            "body",
            "received_on",
            "answer",
            "answered_by",
            "answered_at",
            "observed_at",
            "created_at",
            "updated_at",
            "version",
        ],
    ),
    (
        "hotline_tickets",
        &[
            "ticket_no",
            "case_id",
            "hotline_category",
            "due_at",
            "received_at",
            "transfers",
            "answer",
            "answered_by",
            "answered_at",
            "created_by",
            "created_at",
            "updated_at",
        ],
    ),
];
