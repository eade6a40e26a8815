//! `sogs-server`: loads configuration, starts logging, builds the application and runs it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sogs::clock::Clock;
use sogs::config::Config;
use sogs::startup::Application;

/// A Session community server (SOGS-compatible).
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file (also: SOGS_CONFIG). Options can be overridden by
    /// SOGS_<SECTION>_<KEY> environment variables.
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print every option with its default and a comment, then exit.
    #[arg(long)]
    print_default_config: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.print_default_config {
        print!("{}", Config::default_toml());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_process(args.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("sogs-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    sogs::telemetry::init(&config.log, &config.limits);
    let app = match Application::build(config, Clock::system()).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            eprintln!("sogs-server: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sogs-server: {e}");
            ExitCode::FAILURE
        }
    }
}
