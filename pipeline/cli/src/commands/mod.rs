//! One module a subcommand.

pub mod build;
pub mod demo;
pub mod ingest;
pub mod site;
pub mod status;
pub mod synth;
pub mod tile;
pub mod verify;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use heritage_archive::Archive;
use serde::Serialize;

/// `heritage init`.
pub fn init(root: &Path) -> Result<ExitCode> {
    let existed = root.join("archive.toml").exists();
    Archive::init(root)?;
    if existed {
        println!("{} is already a heritage archive.", root.display());
    } else {
        println!("Created an empty archive in {}.", root.display());
        println!("Next: heritage --archive {} site add \"Tên di tích\"", root.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints `value` as pretty JSON on standard output.
pub fn print_json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
