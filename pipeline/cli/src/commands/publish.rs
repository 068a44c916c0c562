//! `heritage publish` and `heritage serve`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use heritage_archive::Archive;
use heritage_publish::serve::serve;
use heritage_publish::{DEFAULT_VIEWER_LIBS, PublishOptions, PublishReport, publish};

use super::print_json;

/// The long help of `heritage publish` (shown by `--help`).
pub const PUBLISH_HELP: &str = "Write the static website of the published sites.

Only sites with `published = true` appear (heritage site set SLUG
--published true). The website is built next to OUT and swapped in whole:
visitors never see half of it, and nothing of an unpublished site remains.
Photos are linked from the build cache, not copied, so run `heritage
build` first. Links are relative: the folder works under any sub-path of
any static host. Each site gets a IIIF Presentation 3.0 manifest whose ids
start with --base-url.

Xuất bản trang web tĩnh của các di tích được chọn (published = true).";

/// Arguments of `heritage publish`.
#[derive(Args, Debug)]
pub struct PublishArgs {
    /// Folder to write the website to (default: the archive's public/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The address the website will be served from, for IIIF ids.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    #[command(flatten)]
    viewer: ViewerLibs,
    /// Print a report as JSON.
    #[arg(long)]
    json: bool,
}

/// Where the website's libraries come from (`--viewer-libs`).
#[derive(Args, Debug)]
pub struct ViewerLibs {
    /// The viewer's libraries: the `node_modules` folder that `npm ci
    /// --prefix viewer` fills in the heritage checkout.
    #[arg(long, env = "HERITAGE_VIEWER_LIBS", default_value = DEFAULT_VIEWER_LIBS, hide_default_value = true)]
    pub viewer_libs: PathBuf,
}

/// Publishes `archive` and prints what was written.
pub fn publish_archive(
    archive: &Archive,
    out: PathBuf,
    base_url: String,
    viewer_libs: PathBuf,
) -> Result<PublishReport> {
    let report = publish(archive, &PublishOptions { out, base_url, viewer_libs })?;
    for note in &report.skipped {
        eprintln!("left out: {note}");
    }
    Ok(report)
}

/// Runs `heritage publish`.
pub fn run_publish(root: &Path, args: PublishArgs) -> Result<ExitCode> {
    let archive = Archive::open(root)?;
    let out = args.out.unwrap_or_else(|| archive.public_dir());
    let report = publish_archive(&archive, out, args.base_url, args.viewer.viewer_libs)?;
    if args.json {
        print_json(&report)?;
    } else {
        for (slug, photos) in &report.sites {
            println!("{slug}: {photos} photos");
        }
        if report.sites.is_empty() {
            println!("No site is published yet: heritage site set SLUG --published true");
        }
        println!("Wrote {}. Preview it: heritage serve --dir {}", report.out.display(), report.out.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The long help of `heritage serve` (shown by `--help`).
pub const SERVE_HELP: &str = "Serve the published website for a preview (not for production).

Serves only DIR: paths with `..`, encoded slashes, or links that lead
outside are refused. Listens on 127.0.0.1 unless --bind says otherwise.
Stop it with Ctrl+C.

Xem trước trang web đã xuất bản trên máy này.";

/// Arguments of `heritage serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Folder to serve (default: the archive's public/).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on; 0.0.0.0 shows the site to the whole network.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
}

/// Serves `dir` and prints its URL (blocks until the process ends).
pub fn serve_dir(dir: &Path, address: SocketAddr) -> Result<ExitCode> {
    serve(dir, address, |bound| {
        println!("Serving {} at http://{bound}/  (Ctrl+C to stop)", dir.display());
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `heritage serve`.
pub fn run_serve(root: &Path, args: ServeArgs) -> Result<ExitCode> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => Archive::open(root)?.public_dir(),
    };
    serve_dir(&dir, SocketAddr::new(args.bind, args.port))
}
