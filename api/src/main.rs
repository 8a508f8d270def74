//! The `patrol` binary. Everything lives in the library; see `patrol_api::cli`.

fn main() -> anyhow::Result<()> {
    patrol_api::cli::main()
}
