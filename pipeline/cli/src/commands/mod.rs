//! One module a subcommand.

pub mod build;
pub mod demo;
pub mod ingest;
pub mod match_photos;
pub mod publish;
pub mod reconstruct;
pub mod site;
pub mod status;
pub mod synth;
pub mod tile;
pub mod verify;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use heritage_archive::{Archive, SiteDir, Slug};
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

/// Opens the archive and selects the site named by `--site`, or all sites.
pub fn open_sites(root: &Path, site: Option<&str>) -> Result<(Archive, Vec<SiteDir>)> {
    let archive = Archive::open(root)?;
    let only = site.map(Slug::parse).transpose()?;
    let sites = archive.select_sites(only.as_ref())?;
    Ok((archive, sites))
}

/// Prints `value` as pretty JSON on standard output.
pub fn print_json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
