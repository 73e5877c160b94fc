//! `cobro`: run everything locally, manage API keys, prepare a DynamoDB table.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cobro_app::usecases::sweep::Lane;
use cobro_app::{App, Config};

mod demo;
mod serve;
mod webhook;

#[derive(Parser)]
#[command(
    name = "cobro",
    version,
    about = "cobro gets small businesses paid on time"
)]
struct Cli {
    /// Data directory of the embedded store and the outbox (env COBRO_DATA_DIR).
    #[arg(long, global = true, env = "COBRO_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every HTTP function on one port over the embedded store, with the outbox at /outbox.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Seed a few clients and invoices (CLP and USD) and print their pay links.
        #[arg(long)]
        demo: bool,
        /// Run the reminder sweep and the deposit check every this many seconds (0: never).
        #[arg(long, default_value_t = 60)]
        sweep_every: u64,
    },
    /// Run one reminder sweep now, or as if it were `--at` (RFC 3339, e.g.
    /// 2026-12-01T10:00:00-03:00, or `+10d`: ten days from now), and print what it did. It works on the same data a
    /// running `cobro serve` uses and really sends (to the outbox locally) and charges:
    /// `--at` moves only this run's clock. With `--dry-run` it prints what it would do
    /// and writes and sends nothing.
    Sweep {
        #[arg(long)]
        #[arg(long, value_parser = parse_when)]
        at: Option<When>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Run one deposit check now, or as if it were `--at`: early payments matched to their
    /// deposits, cleared deposits recorded (clients active), overdue ones reminded and then
    /// told to the business. Prints what it did (`--dry-run`: what it would do, nothing
    /// written or sent).
    DepositCheck {
        #[arg(long)]
        #[arg(long, value_parser = parse_when)]
        at: Option<When>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Reports as CSV: `escalated` (for a collection agency) or `late-fees` (penalty log).
    Export {
        #[arg(value_enum)]
        report: Report,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Ready for a spreadsheet set to Spanish (UTF-8 mark, `;`, decimal comma): the
        /// default when COBRO_BUSINESS_LOCALE is es.
        #[arg(long, conflicts_with = "plain")]
        excel: bool,
        /// For programs (`,` and `.`): the default in English.
        #[arg(long)]
        plain: bool,
    },
    /// Print the API's OpenAPI 3.1 description (what `GET /v1/openapi.json` serves).
    Openapi,
    /// API keys for the business's API.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// People of the console (owners, collectors, viewers).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Provider-shaped webhook events, signed as the provider would, sent to a running stack.
    Webhook {
        #[command(subcommand)]
        command: webhook::WebhookCommand,
    },
    /// DynamoDB helpers (use AWS_ENDPOINT_URL for a local DynamoDB-compatible server).
    Dynamodb {
        #[command(subcommand)]
        command: DynamoCommand,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Report {
    Escalated,
    LateFees,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key; the key itself is printed once, on the last line.
    Create {
        #[arg(long)]
        name: String,
    },
    /// List keys (ids and names, never the keys).
    List,
    /// Revoke a key by id (key_…).
    Revoke { id: String },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Add a person; they sign in by asking for a link with their address at /console.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// owner (everything), collector (invoices and clients) or viewer (read only).
        #[arg(long)]
        role: String,
        /// es or en.
        #[arg(long, default_value = "es")]
        locale: String,
    },
    /// List the people (id, address, role, access, name).
    List,
    /// Print a one-time sign-in link for a person (valid 15 minutes), without e-mailing it.
    Link {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum DynamoCommand {
    /// Create the table exactly as infra/template.yaml defines it.
    CreateTable {
        #[arg(long, env = "COBRO_TABLE")]
        table: String,
    },
}

/// The environment's configuration, secrets from SSM where `{SETTING}_PARAMETER` names
/// them (as the functions read theirs), and `--data-dir` over `COBRO_DATA_DIR`.
async fn config(cli_data_dir: Option<PathBuf>) -> anyhow::Result<Config> {
    let (mut config, _) = cobro_app::secrets::configure(cobro_app::config::env, None).await?;
    if let Some(dir) = cli_data_dir {
        config.data_dir = dir;
    }
    // Pay links written by this command open where `cobro serve` serves this data.
    if std::env::var_os("COBRO_PUBLIC_URL").is_none()
        && let Ok(url) = std::fs::read_to_string(config.data_dir.join(PUBLIC_URL_FILE))
        && (url.starts_with("http://") || url.starts_with("https://"))
    {
        config.public_url = url.trim().to_string();
    }
    Ok(config)
}

/// The moment a scheduled job runs as if it were.
#[derive(Clone, Copy, Debug, PartialEq)]
enum When {
    At(chrono::DateTime<chrono::FixedOffset>),
    /// `+Nd`: this many days after today where the business is, in the middle of its
    /// business hours (the next open day when that one is closed), so that a run shows the
    /// same whatever the time or the day of the week it is typed.
    DaysAhead(u32),
}

impl When {
    fn resolve(
        self,
        config: &Config,
        now: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        use cobro_domain::calendar::{add_days, midday_of_business, today_in};
        match self {
            When::At(at) => at.with_timezone(&chrono::Utc),
            When::DaysAhead(days) => {
                let tz = config.business_timezone;
                let day = add_days(today_in(tz, now), i64::from(days));
                midday_of_business(&config.default_terms.business_hours, tz, day)
            }
        }
    }
}

/// `--at`: an RFC 3339 moment or `+Nd` (days from now, at most ten years).
fn parse_when(s: &str) -> Result<When, String> {
    if let Some(days) = s.strip_prefix('+').and_then(|d| d.strip_suffix('d')) {
        return match days.parse::<u32>() {
            Ok(n) if n <= 3660 => Ok(When::DaysAhead(n)),
            _ => Err(format!("`{s}`: write days ahead as +10d (at most +3660d)")),
        };
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(When::At)
        .map_err(|_| {
            format!("`{s}`: write a moment as 2026-12-01T10:00:00-03:00, or days ahead as +10d")
        })
}

/// Where `cobro serve` keeps its public URL in the data directory.
pub const PUBLIC_URL_FILE: &str = "public_url";

/// Runs one scheduled job (the reminder sweep or the deposit check) at `at` or now; with
/// `dry_run`, prints what it would do instead.
async fn scheduled(
    data_dir: Option<PathBuf>,
    at: Option<When>,
    lane: Lane,
    dry_run: bool,
) -> anyhow::Result<()> {
    let config = config(data_dir).await?;
    let at = at.map(|at| at.resolve(&config, chrono::Utc::now()));
    let mut app = App::from_config(config).await?;
    if let Some(at) = at {
        app = app.with_clock(std::sync::Arc::new(move || at));
    }
    if dry_run {
        let planned = cobro_app::usecases::sweep::preview(&app, lane, app.now()).await?;
        let shown = serde_json::json!({"dry_run": true, "at": app.now(), "would": planned});
        println!("{}", serde_json::to_string_pretty(&shown)?);
        return Ok(());
    }
    let report = match lane {
        Lane::Dunning => cobro_app::usecases::sweep::sweep(&app, app.now(), None).await?,
        Lane::Deposits => cobro_app::usecases::sweep::deposit_check(&app, app.now(), None).await?,
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            addr,
            demo,
            sweep_every,
        } => serve::run(config(cli.data_dir).await?, addr, demo, sweep_every).await,
        Command::Sweep { at, dry_run } => scheduled(cli.data_dir, at, Lane::Dunning, dry_run).await,
        Command::DepositCheck { at, dry_run } => {
            scheduled(cli.data_dir, at, Lane::Deposits, dry_run).await
        }
        Command::Openapi => {
            println!("{}", cobro_app::http::openapi::json());
            Ok(())
        }
        Command::Export {
            report,
            out,
            excel,
            plain,
        } => {
            use cobro_app::usecases::reports;
            let app = App::from_config(config(cli.data_dir).await?).await?;
            let asked = (excel || plain).then_some(excel);
            let format = reports::CsvFormat::of(&app, asked);
            let csv = match report {
                Report::Escalated => reports::escalated_csv(&app, format).await,
                Report::LateFees => reports::late_fees_csv(&app, format).await,
            }?;
            match out {
                Some(path) => std::fs::write(&path, csv)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{csv}"),
            }
            Ok(())
        }
        Command::Keys { command } => {
            let app = App::from_config(config(cli.data_dir).await?).await?;
            match command {
                KeysCommand::Create { name } => {
                    let (key, secret) =
                        cobro_app::usecases::keys::create(&app, &cobro_domain::Actor::Cobro, &name)
                            .await?;
                    println!(
                        "created API key {} ({}); it is shown only now:",
                        key.id, key.name
                    );
                    println!("{}", secret.expose());
                }
                KeysCommand::List => {
                    for k in cobro_app::usecases::keys::list(&app).await? {
                        let state = k
                            .revoked_at
                            .map_or("active".to_string(), |at| format!("revoked {at}"));
                        println!("{}\t{}\t{}\t{}", k.id, k.name, k.created_at, state);
                    }
                }
                KeysCommand::Revoke { id } => {
                    anyhow::ensure!(
                        cobro_app::usecases::keys::revoke(&app, &cobro_domain::Actor::Cobro, &id)
                            .await?,
                        "no API key {id}"
                    );
                    println!("revoked {id}");
                }
            }
            Ok(())
        }
        Command::Users { command } => {
            use cobro_app::usecases::people;
            let app = App::from_config(config(cli.data_dir).await?).await?;
            match command {
                UsersCommand::Add {
                    email,
                    name,
                    role,
                    locale,
                } => {
                    let input = cobro_domain::user::NewUser {
                        name: name.unwrap_or_else(|| {
                            email.split('@').next().unwrap_or_default().to_string()
                        }),
                        email,
                        role,
                        locale: Some(locale),
                    };
                    let user = people::add_user(&app, &cobro_domain::Actor::Cobro, &input).await?;
                    println!("added {} {} ({})", user.id, user.email, user.role.code());
                }
                UsersCommand::List => {
                    for u in people::list_users(&app).await? {
                        let access = if u.is_active() { "active" } else { "disabled" };
                        let (id, email, role) = (&u.id, &u.email, u.role.code());
                        println!("{id}\t{email}\t{role}\t{access}\t{}", u.name);
                    }
                }
                UsersCommand::Link { email } => {
                    let email = cobro_domain::user::normalize_email(&email);
                    let user = app
                        .store
                        .user_by_email(&email)
                        .await?
                        .with_context(|| format!("no user signs in with {email}"))?;
                    println!("{}", people::link_for(&app, &user).await?);
                }
            }
            Ok(())
        }
        Command::Webhook { command } => {
            webhook::run(
                config(cli.data_dir).await?.with_local_webhook_secrets(),
                command,
            )
            .await
        }
        Command::Dynamodb {
            command: DynamoCommand::CreateTable { table },
        } => {
            let store = cobro_store::DynamoStore::from_env(table.clone()).await;
            cobro_store::dynamodb::TableDefinition::from_sam_template()
                .map_err(anyhow::Error::msg)?
                .create(store.client(), &table)
                .await
                .map_err(anyhow::Error::msg)
                .context("creating the table")?;
            println!("created table {table}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_is_a_moment_or_days_ahead() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T13:30:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let config = Config::from_lookup(|_| None).unwrap();
        let at = |s: &str| parse_when(s).map(|w| w.resolve(&config, now).to_rfc3339());
        // Wednesday 2 December in Santiago: +10d is Saturday the 12th, so Monday the 14th,
        // at 14:00 there (the middle of 09:00–19:00).
        assert_eq!(at("+10d").unwrap(), "2026-12-14T17:00:00+00:00");
        assert_eq!(at("+0d").unwrap(), "2026-12-02T17:00:00+00:00");
        assert_eq!(
            at("2027-02-10T10:00:00-03:00").unwrap(),
            "2027-02-10T13:00:00+00:00"
        );
        for bad in ["+10", "10d", "+-1d", "+3661d", "+d", "2027-02-10", "mañana"] {
            let e = parse_when(bad).unwrap_err();
            assert!(e.contains(bad) && e.contains("+10d"), "{bad}: {e}");
        }
    }
}
