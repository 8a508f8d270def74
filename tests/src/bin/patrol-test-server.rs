//! The `patrol` command line, built inside the test package so integration tests can
//! start real server processes (`CARGO_BIN_EXE_patrol-test-server`).

fn main() -> anyhow::Result<()> {
    patrol_api::cli::main()
}
