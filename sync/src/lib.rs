//! The offline sync protocol: mutation intents, exactly-once push, commit-safe pull
//! cursors, merge rules by field class and a reference client engine
//! (`../shared/SYNC.md`). Not built yet; the foundation's tables and write paths were
//! shaped for it.

/// The protocol version this server speaks; older clients get `426` and keep their queue.
pub const PROTOCOL_VERSION: u32 = 1;
