//! Prometheus metrics: request counts and latencies by route template and status; sync
//! mutations by outcome, conflicts and pull pages; background job runs; the database
//! pool. Every label takes values from a closed set (route templates, a closed method
//! list, outcomes, job names), so no request can add series.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::db::Pool;

/// The registry and the instruments the middleware, sync and jobs feed.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    mutations: IntCounterVec,
    conflicts: IntCounter,
    pull_pages: IntCounter,
    pull_changes: IntCounter,
    job_runs: IntCounterVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
}

/// What a sync push answered for one mutation.
pub const MUTATION_OUTCOMES: [&str; 3] = ["applied", "applied_with_conflict", "rejected"];

/// The background jobs, by name (as `jobs` and `sync::retention` name them).
pub const JOBS: [&str; 4] = [
    "purge_expired_credentials",
    "purge_unreferenced_photos",
    "weekly_compliance_points",
    "compact_change_log",
];

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "patrol_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "patrol_http_request_duration_seconds",
                "HTTP request latency by route",
            ),
            &["method", "route"],
        )?;
        let mutations = IntCounterVec::new(
            Opts::new(
                "patrol_sync_mutations_total",
                "Pushed mutations answered, by outcome (replays included)",
            ),
            &["outcome"],
        )?;
        let conflicts = IntCounter::new(
            "patrol_sync_conflicts_total",
            "Conflicts in push answers (applied with a conflict, or rejected)",
        )?;
        let pull_pages = IntCounter::new("patrol_sync_pull_pages_total", "Pull pages served")?;
        let pull_changes = IntCounter::new(
            "patrol_sync_pull_changes_total",
            "Changes sent in pull pages",
        )?;
        let job_runs = IntCounterVec::new(
            Opts::new(
                "patrol_job_runs_total",
                "Background job attempts by job and result (ok: ran or already claimed)",
            ),
            &["job", "result"],
        )?;
        let pool_connections = IntGauge::new(
            "patrol_db_pool_connections",
            "Database connections open in this server's pool",
        )?;
        let pool_idle = IntGauge::new(
            "patrol_db_pool_idle_connections",
            "Idle database connections in this server's pool",
        )?;
        let pool_max = IntGauge::new(
            "patrol_db_pool_max_connections",
            "Most database connections this server's pool opens",
        )?;
        for outcome in MUTATION_OUTCOMES {
            mutations.with_label_values(&[outcome]);
        }
        for job in JOBS {
            for result in ["ok", "error"] {
                job_runs.with_label_values(&[job, result]);
            }
        }
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(mutations.clone()))?;
        registry.register(Box::new(conflicts.clone()))?;
        registry.register(Box::new(pull_pages.clone()))?;
        registry.register(Box::new(pull_changes.clone()))?;
        registry.register(Box::new(job_runs.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            mutations,
            conflicts,
            pull_pages,
            pull_changes,
            job_runs,
            pool_connections,
            pool_idle,
            pool_max,
        })
    }

    /// The text exposition format, with the pool's current state.
    pub fn render(&self, pool: &Pool) -> String {
        let state = pool.state();
        self.pool_connections.set(i64::from(state.connections));
        self.pool_idle.set(i64::from(state.idle_connections));
        self.pool_max.set(i64::from(pool.max_size()));
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Counts and times one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: &str, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, status])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Counts one push answer's mutation outcomes (each one of [`MUTATION_OUTCOMES`]) and
    /// the conflicts among them.
    pub fn observe_push<'a>(&self, outcomes: impl IntoIterator<Item = (&'a str, bool)>) {
        for (outcome, conflict) in outcomes {
            if MUTATION_OUTCOMES.contains(&outcome) {
                self.mutations.with_label_values(&[outcome]).inc();
            }
            if conflict {
                self.conflicts.inc();
            }
        }
    }

    /// Counts one pull page and its changes.
    pub fn observe_pull(&self, changes: usize) {
        self.pull_pages.inc();
        self.pull_changes
            .inc_by(u64::try_from(changes).unwrap_or(u64::MAX));
    }

    /// Counts one attempt of a job (one of [`JOBS`]).
    pub fn observe_job(&self, job: &str, ok: bool) {
        if JOBS.contains(&job) {
            self.job_runs
                .with_label_values(&[job, if ok { "ok" } else { "error" }])
                .inc();
        }
    }
}
