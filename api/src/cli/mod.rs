//! The `patrol` command line: serve, migrate, seed the demo, add users.

pub mod demo;
pub mod sim;

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use patrol_domain::org::check_password;

use crate::Application;
use crate::auth::password::hash_blocking;
use crate::commands::people::{NewUser, assign, insert_staff};
use crate::db;
use crate::infra::config::Config;
use crate::infra::otp::LogSender;

#[derive(Debug, Parser)]
#[command(
    name = "patrol",
    version,
    about = "City management in the community: the patrol server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run migrations, then serve HTTP (the default).
    Serve {
        /// Seed the demo district first if the database is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Run migrations and exit.
    Migrate,
    /// Seed the demo district into an empty database and print its logins once.
    Demo,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Drive a fleet of simulated officers against a running server (demos and load):
    /// each works offline with the reference client engine, then the fleet syncs.
    Sim {
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value_t = 20)]
        officers: usize,
        /// Offline operations over the whole fleet.
        #[arg(long, default_value_t = 1000)]
        ops: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a staff account; the password is read from the first line of stdin.
    Add {
        #[arg(long)]
        role: String,
        #[arg(long)]
        login: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        /// Community (or, for supervisors, street) codes to assign; repeatable.
        #[arg(long = "community")]
        communities: Vec<String>,
    },
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn open(cfg: &Config) -> anyhow::Result<db::Pool> {
    let pool = db::connect(&cfg.database_url, 2)?;
    let mut conn = pool.get()?;
    db::migrate(&mut conn)?;
    Ok(pool)
}

fn run_demo(cfg: &Config) -> anyhow::Result<()> {
    let pool = open(cfg)?;
    let mut conn = pool.get()?;
    match demo::seed_demo(&mut conn).map_err(|e| anyhow::anyhow!("{e}"))? {
        None => println!("The database already has a district; the demo was not seeded again."),
        Some(logins) => {
            println!("Demo district seeded. These passwords are shown once:");
            println!("{:<16} {:<14} {:<14} covers", "role", "login", "password");
            for l in logins {
                println!(
                    "{:<16} {:<14} {:<14} {}",
                    l.role, l.login, l.password, l.covers
                );
            }
        }
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("Password (input is not hidden; pipe it in to keep it off the screen):");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    check_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(password)
}

fn add_user(cfg: &Config, cmd: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Add {
        role,
        login,
        display_name,
        phone,
        communities,
    } = cmd;
    let display = display_name.unwrap_or_else(|| login.clone());
    let new = NewUser::parse(&login, &role, &display, phone.as_deref(), None)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let password = read_password()?;
    let hash = hash_blocking(&password).map_err(|e| anyhow::anyhow!(e))?;
    let pool = open(cfg)?;
    let mut conn = pool.get()?;
    let row = insert_staff(&mut conn, new, hash, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    for code in communities {
        assign(
            &mut conn,
            &row.id,
            &code,
            Some("patrol user add".into()),
            None,
        )
        .map_err(|e| anyhow::anyhow!("{code}: {e}"))?;
    }
    println!("created {} ({}) id {}", row.login, row.role, row.id);
    Ok(())
}

/// Runs the command line. The async runtime is started only for `serve`.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Logging first: reading the configuration may already have something to say (a
    // generated secret).
    init_logging(std::env::var("PATROL_LOG_FORMAT").is_ok_and(|v| v == "json"));
    let cfg = Config::from_env()?;
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Migrate => {
            open(&cfg)?;
            println!("migrations are up to date");
            Ok(())
        }
        Command::Demo => run_demo(&cfg),
        Command::User { command } => add_user(&cfg, command),
        Command::Sim {
            url,
            officers,
            ops,
            seed,
        } => sim::run(
            &cfg,
            &sim::SimArgs {
                url,
                officers,
                ops,
                seed,
            },
        ),
        Command::Serve { demo } => {
            if demo {
                run_demo(&cfg)?;
            }
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let app = Application::build(cfg.clone(), Arc::new(LogSender))?;
                tracing::info!(bind = %cfg.bind, port = app.port(), "serving");
                app.run().await?;
                tracing::info!("stopped");
                anyhow::Ok(())
            })?;
            Ok(())
        }
    }
}
