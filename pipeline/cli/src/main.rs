//! `heritage`: the command line of the heritage pipeline.
//!
//! A thin layer: arguments, progress bars and output formats here; the
//! work is done by the library crates.

mod commands;
mod progress;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};

/// mimalloc keeps freed memory for reuse: tiling allocates and frees a
/// buffer per tile, which glibc's allocator would hand back to the kernel
/// each time (half of the run spent in page faults). It is built without
/// asking for transparent huge pages (feature `no_thp`): each first touch
/// of a huge page makes the kernel clear 2 MiB, which measured 25 % slower
/// tiling of a 400-megapixel photo and 12 % slower mapping of 300 photos.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Số hoá di tích: ảnh chụp thành ảnh zoom sâu, mô hình 3D và trang tham quan ảo.
///
/// Digitize historic sites: photos become deep-zoom images, 3D models and
/// a static virtual-tour website.
///
/// A typical session:
///
///   heritage init
///   heritage site add "Nhà Tổng Thận"
///   heritage ingest /media/sdcard/DCIM --site nha-tong-than --contributor "Nguyễn Văn A"
///   heritage build
///   heritage status
///   heritage verify
///
/// Environment: HERITAGE_ARCHIVE (as --archive), HERITAGE_LOG (log filter,
/// e.g. debug), HERITAGE_SIMD=avx512|avx2|none (use no wider vector
/// instructions than these, to measure how a laptop without AVX-512 or
/// AMX would fare; the results are the same).
#[derive(Parser, Debug)]
#[command(name = "heritage", version, verbatim_doc_comment, max_term_width = 100)]
struct Cli {
    /// The archive folder (sites, originals, build cache).
    #[arg(long, global = true, env = "HERITAGE_ARCHIVE", default_value = "heritage-archive", value_name = "DIR")]
    archive: PathBuf,

    /// Log more: -v for steps, -vv for details.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create an empty archive (or check that one is there).
    Init,
    /// Add or change a site (title, summary, location, published).
    #[command(subcommand)]
    Site(commands::site::SiteCommand),
    /// Check a folder of photos and copy the good ones into a site.
    #[command(long_about = commands::ingest::INGEST_HELP)]
    Ingest(commands::ingest::IngestArgs),
    /// Recompute every original's SHA-256 and compare with its manifest.
    #[command(long_about = commands::verify::VERIFY_HELP)]
    Verify(commands::verify::VerifyArgs),
    /// Show sites, photo sets, photo counts, build progress and publishing.
    Status(commands::status::StatusArgs),
    /// Make what is missing: thumbnails, previews, deep-zoom tiles, features, matches, 3D models.
    #[command(long_about = commands::build::BUILD_HELP)]
    Build(commands::build::BuildArgs),
    /// Write the static website of the published sites.
    #[command(long_about = commands::publish::PUBLISH_HELP)]
    Publish(commands::publish::PublishArgs),
    /// Preview the published website on this computer.
    #[command(long_about = commands::publish::SERVE_HELP)]
    Serve(commands::publish::ServeArgs),
    /// Cut images into deep-zoom pyramids (DZI and IIIF level 0).
    #[command(long_about = commands::tile::TILE_HELP)]
    Tile(commands::tile::TileArgs),
    /// Find and match features in a folder of photos (a COLMAP database).
    #[command(long_about = commands::match_photos::MATCH_HELP)]
    Match(commands::match_photos::MatchArgs),
    /// Cameras, a sparse 3D model and a coverage report from a folder of photos.
    #[command(long_about = commands::reconstruct::RECONSTRUCT_HELP)]
    Reconstruct(commands::reconstruct::ReconstructArgs),
    /// Render a synthetic heritage site with its ground truth.
    #[command(long_about = commands::synth::SYNTH_HELP)]
    Synth(commands::synth::SynthArgs),
    /// Run everything on a synthetic site: render, ingest, build, publish, serve.
    #[command(long_about = commands::demo::DEMO_HELP)]
    Demo(commands::demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    if let Err(e) = heritage_sfm::simd::Level::from_env() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Init => commands::init(&cli.archive),
        Command::Site(command) => commands::site::run(&cli.archive, command),
        Command::Ingest(args) => commands::ingest::run(&cli.archive, args),
        Command::Verify(args) => commands::verify::run(&cli.archive, args),
        Command::Status(args) => commands::status::run(&cli.archive, args),
        Command::Build(args) => commands::build::run(&cli.archive, args),
        Command::Publish(args) => commands::publish::run_publish(&cli.archive, args),
        Command::Serve(args) => commands::publish::run_serve(&cli.archive, args),
        Command::Tile(args) => commands::tile::run(args),
        Command::Match(args) => commands::match_photos::run(args),
        Command::Reconstruct(args) => commands::reconstruct::run(args),
        Command::Synth(args) => commands::synth::run(args),
        Command::Demo(args) => commands::demo::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HERITAGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
