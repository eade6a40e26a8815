//! The command line of `sogs-admin`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Operator's tool for a Session community server. Reads the same configuration as
/// sogs-server (--config FILE or SOGS_CONFIG, then SOGS_* variables) and talks to the
/// database directly.
#[derive(Debug, Parser)]
#[command(name = "sogs-admin", version)]
pub struct Cli {
    /// TOML configuration file, as for sogs-server.
    #[arg(long, short = 'c', value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending database migrations (safe to run again).
    ///
    /// Example: SOGS_DATABASE_URL=postgres://sogs@db/sogs sogs-admin migrate
    Migrate,
    /// Manage rooms.
    #[command(subcommand)]
    Room(RoomCommand),
}

#[derive(Debug, Subcommand)]
pub enum RoomCommand {
    /// Create a room and print its join URL.
    ///
    /// Example: sogs-admin room add lobby --name "The Lobby" --description "Say hi"
    Add {
        /// The room token: 1-64 letters, digits, '_' or '-'; it appears in the URL.
        token: String,
        /// Display name (default: the token).
        #[arg(long)]
        name: Option<String>,
        /// Description shown to users.
        #[arg(long)]
        description: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_add_parses_token_name_and_description() {
        let cli = Cli::try_parse_from([
            "sogs-admin",
            "room",
            "add",
            "lobby",
            "--name",
            "The Lobby",
            "--description",
            "hi",
        ])
        .unwrap();
        match cli.command {
            Command::Room(RoomCommand::Add {
                token,
                name,
                description,
            }) => {
                assert_eq!(token, "lobby");
                assert_eq!(name.as_deref(), Some("The Lobby"));
                assert_eq!(description.as_deref(), Some("hi"));
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn malformed_command_lines_are_rejected() {
        for args in [
            vec!["sogs-admin"],
            vec!["sogs-admin", "nonsense"],
            vec!["sogs-admin", "room"],
            vec!["sogs-admin", "room", "add"],
            vec!["sogs-admin", "room", "add", "x", "--name"],
            vec!["sogs-admin", "migrate", "--bogus"],
            vec!["sogs-admin", "--config"],
        ] {
            assert!(Cli::try_parse_from(&args).is_err(), "{args:?} accepted");
        }
    }
}
