//! `sogs-admin import-pysogs`: moves a PySOGS server's database, uploads and key here.
//!
//! The work is the server library's [`sogs::import`] (where the integration tests can
//! drive it and then query a running server); this command parses, confirms, runs it
//! against the configured database, blob store and key file, and prints the report.

#[cfg(test)]
mod tests;

use std::io::{BufRead, Write};

use serde_json::json;
use sogs::import::{ImportError, PysogsImport, import_pysogs};

use super::{AdminError, Context, confirm, failed, say};
use crate::cli::ImportPysogsArgs;

pub async fn run(
    ctx: &Context,
    args: &ImportPysogsArgs,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    // Replacing a key disconnects every user of the old one; the old file is kept, but
    // it is still worth a question.
    if args.replace_key && !args.dry_run {
        confirm(
            &format!(
                "Replace the server key at {} with PySOGS's key from {}?",
                ctx.config.key_file().display(),
                args.key.display()
            ),
            args.yes,
            input,
            out,
        )?;
    }
    let options = PysogsImport {
        source: args.source.clone(),
        uploads_dir: args.uploads.clone(),
        key_file: args.key.clone(),
        dry_run: args.dry_run,
        replace_key: args.replace_key,
    };
    let blobs =
        sogs::blobs::from_config(&ctx.config).map_err(|e| AdminError::Usage(e.to_string()))?;
    let report = import_pysogs(&options, &ctx.store, blobs.as_ref(), &ctx.config.key_file())
        .await
        .map_err(|e| match e {
            ImportError::Invalid(msg) => AdminError::Usage(msg),
            other => failed(other),
        })?;
    let _ = write!(out, "{report}");
    if report.dry_run {
        say(out, "dry run: nothing was changed");
        return Ok(());
    }
    let rows: serde_json::Map<String, serde_json::Value> = report
        .rows
        .iter()
        .map(|(table, n)| (table.name().to_string(), json!(n)))
        .collect();
    ctx.record(
        None,
        None,
        "import_pysogs",
        json!({
            "rows": rows,
            "files_copied": report.files_copied,
            "files_missing": report.missing_files.len(),
        }),
    )
    .await?;
    Ok(())
}
