//! `sogs-server`: loads configuration, starts logging, builds the application and runs it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sogs::clock::Clock;
use sogs::config::Config;
use sogs::startup::Application;

/// mimalloc rather than glibc's malloc: under hostile load (replies and header maps of
/// several MiB, freed at once) glibc kept the freed memory in its per-thread arenas, so
/// the server's resident memory stepped up with each attack and never came back down
/// (BENCHMARKS.md, "Hostile load"); mimalloc returns freed pages to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process, unless the operator chose otherwise
/// through mimalloc's own `MIMALLOC_ALLOW_THP`.
///
/// mimalloc asks the kernel for 2 MiB pages for its arenas, so a few live bytes keep a whole
/// 2 MiB resident and pages it frees cannot go back one by one. Measured with the hostile
/// scenario (`loadtests/hostile.sh`, one round; BENCHMARKS.md, "One-hour hostile soak
/// without transparent huge pages"): with them the idle server held 66 MiB and 100 MiB
/// after the attacks; without, 34 and 64 MiB, and poll throughput was the same. Failure
/// (a seccomp filter that refuses `prctl`) only costs that memory, so it is ignored.
fn opt_out_of_huge_pages() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return;
    }
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

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
    /// Ask the server this configuration describes for /healthz and exit 0 if it answers
    /// 200, else 1 (the container image's HEALTHCHECK: it has no shell or curl).
    #[arg(long)]
    healthcheck: bool,
    /// Like --healthcheck, for any URL (e.g. http://sogs/readyz); repeat to check several.
    #[arg(long, value_name = "URL")]
    healthcheck_url: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    opt_out_of_huge_pages();
    let args = Args::parse();
    if args.print_default_config {
        print!("{}", Config::default_toml());
        return ExitCode::SUCCESS;
    }
    if !args.healthcheck_url.is_empty() {
        return healthcheck_urls(&args.healthcheck_url).await;
    }
    let mut config = match Config::from_process(args.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("sogs-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.healthcheck {
        return healthcheck(&config).await;
    }
    // Absolute, so that the paths the banner prints work from any directory.
    if let Ok(dir) = std::path::absolute(&config.server.data_dir) {
        config.server.data_dir = dir;
    }
    sogs::telemetry::init(&config.log, &config.limits);
    let json_logs = sogs::telemetry::uses_json(&config.log);
    let key_created = !config.key_file().exists();
    let config_file = args
        .config
        .clone()
        .or_else(|| std::env::var_os("SOGS_CONFIG").map(PathBuf::from))
        .map(|file| std::path::absolute(&file).unwrap_or(file));
    let app = match Application::build(config, Clock::system()).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            eprintln!("sogs-server: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let admin = sogs::banner::admin_command(
        std::env::current_exe().ok().as_deref(),
        std::env::var_os("CARGO").is_some(),
        config_file.as_deref(),
        std::env::vars(),
    );
    for line in sogs::banner::lines(&app.startup_facts(key_created, admin)) {
        // Plain words on a terminal; one log event per line when logs are JSON, so a log
        // collector still reads every line as JSON.
        if json_logs {
            tracing::info!(target: "sogs::banner", "{line}");
        } else {
            eprintln!("{line}");
        }
    }
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sogs-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn healthcheck(config: &Config) -> ExitCode {
    let result = match config.listen_addr() {
        Ok(listen) => {
            let addr = sogs::healthcheck::probe_addr(listen);
            sogs::healthcheck::check(addr, std::time::Duration::from_secs(3))
                .await
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sogs-server: unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn healthcheck_urls(urls: &[String]) -> ExitCode {
    for url in urls {
        let timeout = std::time::Duration::from_secs(5);
        if let Err(e) = sogs::healthcheck::check_url(url, timeout).await {
            eprintln!("sogs-server: unhealthy: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
