//! The `patrol` command line: serve, migrate, seed the demo, add users.

pub mod demo;
pub mod sim;

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use clap::{Parser, Subcommand};
use patrol_domain::org::check_password;

use crate::Application;
use crate::auth::password::hash_blocking;
use crate::commands::people::{NewUser, assign, insert_staff};
use crate::db;
use crate::db::store;
use crate::infra::config::{Config, Settings};
use crate::infra::otp::sender_for;

#[derive(Debug, Parser)]
#[command(
    name = "patrol",
    version,
    about = "City management in the community: the patrol server"
)]
#[command(
    after_help = "Every setting is a flag or its environment variable (the flag wins); \
RUST_LOG sets the log filter (default info)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
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
    /// Manage accounts: add, list, reset a password.
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
        /// The department a department account stands for (required unless --joint-office).
        #[arg(long)]
        department_name: Option<String>,
        /// Makes the department account the district joint-meeting office (区联席办).
        #[arg(long)]
        joint_office: bool,
        /// Community (or, for supervisors, street) codes to assign; repeatable.
        #[arg(long = "community")]
        communities: Vec<String>,
    },
    /// List accounts (login, role, name, active), oldest first.
    List {
        /// Only this role.
        #[arg(long)]
        role: Option<String>,
    },
    /// Give an account a new random password, printed once, and sign it out everywhere.
    ResetPassword {
        #[arg(long)]
        login: String,
    },
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal: a log file or a pipe gets plain text, so a
    // demo's one-time codes read as they are.
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
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

fn user(cfg: &Config, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            role,
            login,
            display_name,
            phone,
            department_name,
            joint_office,
            communities,
        } => {
            let display = display_name.unwrap_or_else(|| login.clone());
            let new = NewUser::parse(
                &login,
                &role,
                &display,
                phone.as_deref(),
                department_name.as_deref(),
            )
            .and_then(|n| n.joint_office(joint_office))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let password = read_password()?;
            let hash = hash_blocking(&password).map_err(|e| anyhow::anyhow!(e))?;
            let pool = open(cfg)?;
            let mut conn = pool.get()?;
            let row =
                insert_staff(&mut conn, new, hash, None).map_err(|e| anyhow::anyhow!("{e}"))?;
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
        }
        UserCommand::List { role } => {
            if let Some(r) = &role {
                r.parse::<patrol_domain::role::Role>()
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            let pool = open(cfg)?;
            let mut conn = pool.get()?;
            println!(
                "{:<16} {:<16} {:<8} {:<8} name",
                "login", "role", "active", "office"
            );
            let mut after: Option<String> = None;
            loop {
                let page = store::list_users(&mut conn, role.as_deref(), after.as_deref(), 500)?;
                for u in &page {
                    println!(
                        "{:<16} {:<16} {:<8} {:<8} {}{}",
                        u.login,
                        u.role,
                        if u.active { "yes" } else { "no" },
                        if u.joint_office { "joint" } else { "" },
                        u.display_name,
                        u.department_name
                            .as_deref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default(),
                    );
                }
                match page.last() {
                    Some(last) if page.len() == 500 => after = Some(last.id.clone()),
                    _ => break,
                }
            }
        }
        UserCommand::ResetPassword { login } => {
            let pool = open(cfg)?;
            let mut conn = pool.get()?;
            let user = store::user_by_login(&mut conn, &login.trim().to_lowercase())?
                .ok_or_else(|| anyhow::anyhow!("no account with login {login:?}"))?;
            let password = crate::auth::random_token(12);
            let hash = hash_blocking(&password).map_err(|e| anyhow::anyhow!(e))?;
            db::write_tx(&mut conn, |conn| -> Result<(), db::StoreError> {
                store::set_password_hash(conn, &user.id, &hash)?;
                store::revoke_refresh_tokens_of_user(conn, &user.id, db::ids::now_ms())?;
                Ok(())
            })?;
            println!("new password for {} (shown once): {password}", user.login);
        }
    }
    Ok(())
}

/// Runs the command line. The async runtime is started only for `serve`.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Logging first: reading the configuration may already have something to say (a
    // generated secret).
    init_logging(cli.settings.log_format == "json");
    let cfg = Config::from_settings(&cli.settings)?;
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Migrate => {
            open(&cfg)?;
            println!("migrations are up to date");
            Ok(())
        }
        Command::Demo => run_demo(&cfg),
        Command::User { command } => user(&cfg, command),
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
            let codes = sender_for(
                &cfg.code_sender,
                demo,
                crate::auth::session::REGISTRATION_CODE_TTL_SECS / 60,
            )?;
            if !codes.configured() {
                tracing::warn!(
                    "no code sender configured (PATROL_SMS_URL): residents cannot register"
                );
            }
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let app = Application::build(cfg.clone(), codes)?;
                tracing::info!(bind = %cfg.bind, port = app.port(), "serving");
                app.run().await?;
                tracing::info!("stopped");
                anyhow::Ok(())
            })?;
            Ok(())
        }
    }
}
