//! Each subcommand as a function over the server library; output goes to a writer so tests
//! can read it.

mod migrate;
mod room;
#[cfg(test)]
pub(crate) mod test_env;

use std::io::Write;

use sogs::clock::Clock;
use sogs::config::Config;
use sogs::crypto::keys::ServerKey;
use sogs::store::Store;

use crate::cli::{Cli, Command, RoomCommand};

/// Why a command failed; the exit code tells scripts which kind.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad input from the operator (exit 1).
    #[error("{0}")]
    Usage(String),
    /// Anything that went wrong doing the work (exit 1).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl AdminError {
    pub fn exit_code(&self) -> u8 {
        // Destructive commands (later) will exit 2 when the operator declines to confirm.
        match self {
            AdminError::Usage(_) | AdminError::Failed(_) => 1,
        }
    }
}

/// What commands work with: the configuration and the database.
pub struct Context {
    pub config: Config,
    pub store: Store,
    pub clock: Clock,
}

impl Context {
    /// Opens the configured database. Migrations are applied unless the configuration
    /// says they are a separate step, as the server does.
    pub async fn open(config: Config) -> Result<Self, AdminError> {
        // A new server's default SQLite file lives in the data directory, as for the server.
        std::fs::create_dir_all(&config.server.data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create data directory: {e}"))?;
        let store = Store::connect(&config.database_url())
            .await
            .map_err(|e| anyhow::anyhow!("cannot open database: {e}"))?;
        if config.database.migrate_on_start {
            store
                .migrate()
                .await
                .map_err(|e| anyhow::anyhow!("cannot migrate database: {e}"))?;
        }
        Ok(Self {
            config,
            store,
            clock: Clock::system(),
        })
    }

    /// The server key, created if this is a new server (as the server would on first start).
    pub fn server_key(&self) -> Result<ServerKey, AdminError> {
        std::fs::create_dir_all(&self.config.server.data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create data directory: {e}"))?;
        let (key, _) = sogs::key::load_or_create(&self.config.key_file())
            .map_err(|e| AdminError::Failed(e.into()))?;
        Ok(key)
    }
}

/// Runs one parsed command line.
pub async fn run(cli: Cli, out: &mut impl Write) -> Result<(), AdminError> {
    let config = Config::from_process(cli.config.as_deref())
        .map_err(|e| AdminError::Usage(e.to_string()))?;
    run_with_config(cli.command, config, out).await
}

/// Runs a command with an already loaded configuration.
pub async fn run_with_config(
    command: Command,
    config: Config,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    match command {
        Command::Migrate => migrate::run(config, out).await,
        Command::Room(RoomCommand::Add {
            token,
            name,
            description,
        }) => {
            let ctx = Context::open(config).await?;
            room::add(&ctx, &token, name.as_deref(), description.as_deref(), out).await
        }
    }
}

/// Writes a line of output; a closed stdout is not worth failing a finished command for.
pub(crate) fn say(out: &mut impl Write, line: impl std::fmt::Display) {
    let _ = writeln!(out, "{line}");
}
