//! The offline sync protocol: mutation intents, exactly-once push, commit-safe pull
//! cursors, merge rules by field class and a reference client engine
//! (`../shared/SYNC.md`). Not built yet: see the sync issue.
