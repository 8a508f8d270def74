//! A fleet runner: many engines, each with its own transport, driven on a virtual clock.
//! Each engine syncs on a timer and whenever its backoff allows, the way a phone pushes on
//! connect and on a timer. Demos, load runs and simulations share this loop instead of
//! each writing its own.

use super::{ClientError, Engine, Transport};

/// One phone of the fleet.
pub struct Member<T: Transport> {
    pub engine: Engine,
    pub transport: T,
    /// Virtual time of the next timer-driven sync.
    next_timer: i64,
}

impl<T: Transport> Member<T> {
    pub fn new(engine: Engine, transport: T) -> Member<T> {
        Member {
            engine,
            transport,
            next_timer: i64::MIN,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetReport {
    /// Sync rounds attempted.
    pub rounds: usize,
    /// Rounds that failed on the transport (they back off and retry).
    pub failed_rounds: usize,
    /// Outcomes received, changes applied and photos uploaded, over all members.
    pub outcomes: usize,
    pub changes: usize,
    pub uploads: usize,
    /// The virtual time when the run stopped.
    pub now_ms: i64,
    /// Every member's last round said nothing pending and nothing more to pull.
    pub quiescent: bool,
}

/// Runs the fleet from `start_ms` until every member is quiescent or `until_ms` passes.
/// Time advances to the next moment some member may sync (its timer or the end of its
/// backoff), so a run costs rounds, not wall time. `period_ms` is the sync timer.
/// A local store error stops the run: it is a bug or a broken device, not the network.
pub fn run<T: Transport>(
    members: &mut [Member<T>],
    start_ms: i64,
    until_ms: i64,
    period_ms: i64,
) -> Result<FleetReport, ClientError> {
    let mut report = FleetReport {
        now_ms: start_ms,
        ..FleetReport::default()
    };
    let mut quiet = vec![false; members.len()];
    while report.now_ms <= until_ms {
        let now = report.now_ms;
        for (i, m) in members.iter_mut().enumerate() {
            let due = m.engine.next_attempt_at(now) <= now && m.next_timer <= now;
            if !due {
                continue;
            }
            report.rounds += 1;
            m.next_timer = now.saturating_add(period_ms.max(1));
            match m.engine.sync(&mut m.transport, now) {
                Ok(r) => {
                    report.outcomes += r.outcomes;
                    report.changes += r.changes;
                    report.uploads += r.uploads;
                    quiet[i] = r.complete;
                }
                Err(ClientError::Transport(_)) => {
                    report.failed_rounds += 1;
                    quiet[i] = false;
                }
                Err(e) => return Err(e),
            }
        }
        if quiet.iter().all(|q| *q) {
            report.quiescent = true;
            return Ok(report);
        }
        // Jump to the next moment anyone may act.
        let next = members
            .iter()
            .map(|m| m.engine.next_attempt_at(now).max(m.next_timer))
            .min()
            .unwrap_or(until_ms.saturating_add(1));
        report.now_ms = next.max(now.saturating_add(1));
    }
    Ok(report)
}
