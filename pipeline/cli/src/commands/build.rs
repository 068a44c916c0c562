//! `heritage build`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use heritage_archive::{Archive, Slug};
use heritage_build::{BuildOptions, BuildReport, build};

use super::print_json;
use crate::progress::Bars;
use crate::table;
use heritage_build::model_status;

/// The long help of `heritage build` (shown by `--help`).
pub const BUILD_HELP: &str = "Make what is missing: for each photo a thumbnail and preview, deep-zoom
tiles (DZI and IIIF) and SIFT features; for each site the matched pairs of
photos (a COLMAP database.db under build/matches/) and the sparse 3D model
with its photo tour and coverage report (build/sparse/).

Outputs go to the archive's build/ folder, keyed by the content of their
inputs: a second build with nothing new does no work, and a build that
was killed picks up where it stopped. Only one build runs on an archive
at a time.

Tạo những gì còn thiếu: ảnh thu nhỏ, ô ảnh zoom sâu, đặc trưng SIFT, các
cặp ảnh khớp và mô hình 3D thưa; lần chạy sau chỉ làm phần mới.";

/// Arguments of `heritage build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Only this site (default: all).
    #[arg(long)]
    site: Option<String>,
    /// List what would run, without running it.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `heritage build`.
pub fn run(root: &Path, args: BuildArgs) -> Result<ExitCode> {
    let archive = Archive::open(root)?;
    let options = BuildOptions { site: args.site.as_deref().map(Slug::parse).transpose()?, dry_run: args.dry_run };
    let report = build(&archive, &options, &Bars::new(!args.json))?;
    if args.json {
        print_json(&report)?;
    } else {
        print!("{}", summary(&report));
        if !report.dry_run {
            print!("{}", models(&archive, options.site.as_ref())?);
        }
    }
    Ok(if report.failed() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// One line per selected site with a sparse model: how many photos joined
/// it, and where its coverage report (what to reshoot) is shown.
fn models(archive: &Archive, site: Option<&Slug>) -> Result<String> {
    let mut out = String::new();
    for site in archive.select_sites(site)? {
        if let Some(model) = model_status(archive, &site)? {
            let slug = site.slug();
            out.push_str(&format!(
                "{slug}: {} / {} ảnh trong mô hình 3D / photos in the 3D model; báo cáo độ phủ / coverage report: heritage status --site {slug}\n",
                model.registered, model.photos_total
            ));
        }
    }
    Ok(out)
}

fn summary(report: &BuildReport) -> String {
    let mut out = String::new();
    if report.dry_run {
        if report.would_run.is_empty() {
            out.push_str(&format!("Nothing would run: all {} jobs are up to date.\n", report.total()));
        } else {
            out.push_str(&format!("Would run {} of {} jobs:\n", report.built(), report.total()));
            for job in &report.would_run {
                out.push_str(&format!("  {job}\n"));
            }
        }
        return out;
    }
    if report.built() == 0 && report.failed() == 0 {
        return format!("Nothing to do: all {} jobs are up to date.\n", report.total());
    }
    let mut rows = vec![["stage", "jobs", "built", "cached", "failed"].map(String::from).to_vec()];
    for s in &report.stages {
        rows.push(vec![
            s.stage.clone(),
            s.total.to_string(),
            s.built.to_string(),
            s.cached.to_string(),
            s.failed.len().to_string(),
        ]);
    }
    out.push_str(&table::render(&rows));
    for s in &report.stages {
        for f in &s.failed {
            out.push_str(&format!("failed: {}: {}: {}\n", s.stage, f.label, f.error));
        }
    }
    out
}
