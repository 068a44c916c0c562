//! `heritage verify`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use heritage_archive::fixity::{FixityReport, check_photoset};
use serde::Serialize;

use super::{open_sites, print_json};

/// The long help of `heritage verify` (shown by `--help`).
pub const VERIFY_HELP: &str = "Recompute every original's SHA-256 and compare it with the manifest.

Reports originals that are missing, modified or not listed. Exits with 1
when anything is wrong, so it can run from cron. A file left unlisted by
an interrupted ingest is completed by running that ingest again; any
other problem means restoring the original from a backup.

Tính lại SHA-256 của mọi ảnh gốc và so với bản kê (manifest).";

/// Arguments of `heritage verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Only this site (default: all).
    #[arg(long)]
    site: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct SiteFixity {
    site: String,
    photosets: Vec<FixityReport>,
}

/// Runs `heritage verify`.
pub fn run(root: &Path, args: VerifyArgs) -> Result<ExitCode> {
    let (_, sites) = open_sites(root, args.site.as_deref())?;
    let mut reports = Vec::new();
    for site in &sites {
        let photosets = site.photosets()?.iter().map(check_photoset).collect::<Result<Vec<_>>>()?;
        reports.push(SiteFixity { site: site.slug().to_string(), photosets });
    }
    let clean = reports.iter().all(|s| s.photosets.iter().all(FixityReport::is_clean));
    if args.json {
        print_json(&serde_json::json!({ "ok": clean, "sites": reports }))?;
    } else {
        let mut checked = 0;
        for site in &reports {
            for set in &site.photosets {
                checked += set.ok + set.modified.len() + set.unreadable.len();
                let lists = [("missing", &set.missing), ("modified", &set.modified), ("unlisted", &set.unlisted)];
                for (what, paths) in lists {
                    for path in paths {
                        println!("{what:>9}  {}/{}/{path}", site.site, set.photoset);
                    }
                }
                for (path, reason) in &set.unreadable {
                    println!("unreadable  {}/{}/{path}: {reason}", site.site, set.photoset);
                }
            }
        }
        if clean {
            println!("OK: {checked} originals match their manifests.");
        } else {
            println!(
                "PROBLEMS FOUND: restore missing or modified originals from a backup; run the last ingest again to finish an interrupted one."
            );
        }
    }
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
