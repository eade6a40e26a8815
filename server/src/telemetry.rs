//! Logging setup: one place decides the format and filter of every log line.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global `tracing` subscriber. `RUST_LOG`, when set, wins over the config's
/// level so a developer can turn up one module without editing files. Calling it twice
/// is harmless (the second call does nothing), which tests rely on.
pub fn init(config: &LogConfig) {
    // actix's own start-up lines ("starting N workers") would come before the startup
    // banner (crate::banner) and say less; they stay available with RUST_LOG or by naming
    // actix_server in the configured level.
    let level = if config.level.contains("actix_server") {
        config.level.clone()
    } else {
        format!("{},actix_server=warn", config.level)
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = uses_json(config);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// Whether log lines are JSON objects (`auto`: when stderr is not a terminal, as under a
/// service manager or in a container), so plain text must not be mixed in.
pub fn uses_json(config: &LogConfig) -> bool {
    match config.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    }
}
