//! `heritage ingest`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use heritage_archive::site::nfc;
use heritage_archive::{Archive, Slug};
use heritage_ingest::{IngestOptions, IngestReport, Limits, ingest};

use super::print_json;
use crate::progress::Bars;
use crate::table;

/// The long help of `heritage ingest` (shown by `--help`).
pub const INGEST_HELP: &str = "Check a folder of photos and copy the good ones into a site.

Every file is checked from its content (not its name): JPEG, PNG and TIFF
are taken; each is fully decoded, so truncated copies are caught. Good new
photos are copied byte for byte into the site's photo set, made read-only
and listed with their SHA-256 in manifest-sha256.txt. Files the site
already has are skipped. Each bad file gets a reason; the rest go on.
Running the same ingest again adds nothing; an ingest that was killed is
finished by the next one.

Kiểm tra một thư mục ảnh và chép các ảnh tốt vào di tích, giữ nguyên từng
byte kèm mã SHA-256; mỗi tệp lỗi được nêu rõ lý do.";

/// Arguments of `heritage ingest`.
#[derive(Args, Debug)]
pub struct IngestArgs {
    /// The folder of photos (sub-folders are included).
    folder: PathBuf,
    /// The site's slug, e.g. nha-tong-than.
    #[arg(long)]
    site: String,
    /// Who took or handed in the photos.
    #[arg(long)]
    contributor: Option<String>,
    /// Photo set id (default: today's date and the contributor).
    #[arg(long)]
    photoset: Option<String>,
    /// Largest photo accepted, in megapixels (guards against decompression bombs).
    #[arg(long, default_value_t = 250)]
    max_megapixels: u64,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    json: bool,
}

/// Runs `heritage ingest`.
pub fn run(root: &Path, args: IngestArgs) -> Result<ExitCode> {
    let archive = Archive::open(root)?;
    let site = archive.site(&Slug::parse(&args.site)?)?;
    let options = IngestOptions {
        contributor: args.contributor.map(|c| nfc(c.trim())).filter(|c| !c.is_empty()),
        photoset: args.photoset.as_deref().map(Slug::parse).transpose()?,
        limits: Limits { max_pixels: args.max_megapixels.saturating_mul(1_000_000), ..Limits::default() },
    };
    let _lock = archive.lock("the ingest")?;
    let report = ingest(&site, &args.folder, &options, &Bars::new(!args.json))?;
    if args.json {
        print_json(&report)?;
    } else {
        print!("{}", summary(&report));
    }
    Ok(ExitCode::SUCCESS)
}

fn summary(report: &IngestReport) -> String {
    let mut out = String::new();
    let target = report.photoset.as_deref().map_or_else(|| report.site.clone(), |p| format!("{}/{p}", report.site));
    out.push_str(&format!("Ingest into {target}\n\n"));
    let counts = [
        ("accepted", report.accepted.len()),
        ("duplicates", report.duplicates.len()),
        ("rejected", report.rejected.len()),
        ("skipped", report.skipped.len()),
        ("recovered", report.recovered.len()),
    ];
    let mut rows = vec![vec!["outcome".to_string(), "files".to_string()]];
    rows.extend(
        counts
            .iter()
            .filter(|(k, n)| *n > 0 || ["accepted", "duplicates", "rejected"].contains(k))
            .map(|(k, n)| vec![k.to_string(), n.to_string()]),
    );
    out.push_str(&table::render(&rows));
    if !report.rejected.is_empty() {
        out.push_str("\nRejected (fix these and ingest again):\n");
        let mut rows = vec![vec!["file".to_string(), "reason".to_string()]];
        rows.extend(report.rejected.iter().map(|r| vec![r.source.clone(), r.reason.to_string()]));
        out.push_str(&table::render(&rows));
    }
    if !report.duplicates.is_empty() {
        out.push_str("\nDuplicates (already in the site, not copied again):\n");
        let mut rows = vec![vec!["file".to_string(), "same as".to_string()]];
        rows.extend(report.duplicates.iter().map(|d| vec![d.source.clone(), d.same_as.clone()]));
        out.push_str(&table::render(&rows));
    }
    if !report.warnings.is_empty() {
        out.push_str("\nWarnings (the photos were kept):\n");
        for w in &report.warnings {
            out.push_str(&format!("  {}: {}\n", w.source, w.message));
        }
    }
    if !report.skipped.is_empty() {
        out.push_str("\nSkipped:\n");
        for s in &report.skipped {
            out.push_str(&format!("  {}: {}\n", s.path, s.reason));
        }
    }
    if report.accepted.is_empty() && report.rejected.is_empty() && !report.duplicates.is_empty() {
        out.push_str("\nNothing new: every photo was already in the site.\n");
    }
    out
}
