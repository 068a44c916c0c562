//! `heritage demo`: the whole pipeline on a synthetic site, in one command.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use heritage_archive::{Archive, Localized, SiteMeta, Slug};
use heritage_build::{BuildOptions, build};
use heritage_ingest::{IngestOptions, ingest};
use heritage_publish::check_viewer_libs;
use heritage_synthetic::{SynthOptions, synthesize};

use super::publish::{ViewerLibs, publish_archive, serve_dir};
use crate::progress::Bars;
use heritage_build::model_status;

/// The long help of `heritage demo` (shown by `--help`).
pub const DEMO_HELP: &str = "Run the whole pipeline on a synthetic site, with nothing to bring.

Renders 24 photos of a simulated Nhà Tổng Thận as a volunteer would
take them, creates a fresh archive, adds the site with Vietnamese and
English text, ingests the photos, builds everything, publishes the website
and serves it on 127.0.0.1 (until Ctrl+C). Everything goes into DIR
(default: ./heritage-demo), which is replaced on every run, so only ever
point it at a demo folder. The website needs the viewer's libraries:
run `npm ci --prefix viewer` in the heritage checkout first.

Chạy thử toàn bộ quy trình trên một di tích mô phỏng: dựng ảnh, nhập ảnh,
xây dựng, xuất bản và mở trang web. Trước hết hãy chạy `npm ci --prefix viewer`.";

/// Arguments of `heritage demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo (photos and archive). It is replaced.
    #[arg(long, default_value = "heritage-demo")]
    dir: PathBuf,
    /// Number of photos to render.
    #[arg(long, default_value_t = 24)]
    photos: usize,
    /// Photo size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1600x1067", value_parser = super::synth::parse_size)]
    size: (u32, u32),
    /// Photos held turned a quarter with no EXIF orientation tag (as
    /// `heritage synth --turned`): the report names them and the website
    /// shows them upright.
    #[arg(long, default_value_t = 0)]
    turned: usize,
    #[command(flatten)]
    viewer: ViewerLibs,
    /// Do not start the preview server at the end.
    #[arg(long)]
    no_serve: bool,
    /// Port of the preview server.
    #[arg(long, default_value_t = 8080)]
    port: u16,
}

/// Marks a folder as made by `heritage demo`, so that it may be replaced.
const MARKER: &str = ".heritage-demo";

/// Runs `heritage demo`.
pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let started = Instant::now();
    // Checked first: the website is the last of several minutes' work.
    check_viewer_libs(&args.viewer.viewer_libs)?;
    prepare(&args.dir)?;
    let bars = Bars::new(true);
    let photos_dir = args.dir.join("volunteer-photos");
    let (width, height) = args.size;
    println!("1/5  Rendering {} photos of the synthetic site ({width}x{height})...", args.photos);
    let options = SynthOptions { photos: args.photos, width, height, turned: args.turned, ..SynthOptions::default() };
    synthesize(&photos_dir, &options, &bars)?;

    println!("2/5  Creating the archive and the site...");
    let archive = Archive::init(&args.dir.join("archive"))?;
    let slug = Slug::parse("nha-tong-than-mo-phong")?;
    let site = archive.add_site(&slug, &demo_site())?;

    println!("3/5  Ingesting the photos...");
    let ingest_options =
        IngestOptions { contributor: Some("Đoàn Thanh niên Tân An (mô phỏng)".into()), ..Default::default() };
    let report = {
        let _lock = archive.lock("the ingest")?;
        ingest(&site, &photos_dir.join("photos"), &ingest_options, &bars)?
    };
    println!("     {} accepted, {} rejected", report.accepted.len(), report.rejected.len());

    println!("4/5  Building thumbnails, previews, deep-zoom tiles, features, matches and the 3D model...");
    let built = build(&archive, &BuildOptions::default(), &bars)?;
    println!("     {} jobs built, {} failed", built.built(), built.failed());
    let model = model_status(&archive, &site)?;
    if let Some(model) = &model {
        println!("     3D model: {} / {} photos registered", model.registered, model.photos_total);
    }

    println!("5/5  Publishing the website...");
    let base_url = format!("http://127.0.0.1:{}", args.port);
    let public = archive.public_dir();
    publish_archive(&archive, public.clone(), base_url, args.viewer.viewer_libs)?;

    println!();
    println!("Done in {:.0} s.", started.elapsed().as_secs_f64());
    println!("  archive:         {}", archive.root().display());
    println!("  photos:          {}", photos_dir.join("photos").display());
    println!("  ground truth:    {}", photos_dir.join("truth").display());
    println!("  deep-zoom tiles: {}", archive.build_dir().join("tiles").display());
    if let Some(model) = &model {
        println!("  coverage report: {}", model.report.display());
    }
    println!("  website:         {}", public.display());
    println!("  status:          heritage --archive {} status", archive.root().display());
    let ok = built.failed() == 0 && report.rejected.is_empty();
    if args.no_serve || !ok {
        return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    serve_dir(&public, SocketAddr::from(([127, 0, 0, 1], args.port)))
}

/// Empties `dir` if it is a demo folder (or new); refuses anything else.
fn prepare(dir: &Path) -> Result<()> {
    if dir.exists() {
        let is_demo = dir.join(MARKER).exists();
        let is_empty = std::fs::read_dir(dir)?.next().is_none();
        if !is_demo && !is_empty {
            bail!("{} exists and was not made by `heritage demo`: choose another folder with --dir", dir.display());
        }
        if is_demo {
            make_writable(dir)?;
            std::fs::remove_dir_all(dir)?;
        }
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(MARKER), "made by heritage demo; replaced on every run\n")?;
    Ok(())
}

/// Gives back write permission on read-only originals so the folder can go.
fn make_writable(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            make_writable(&path)?;
        } else if entry.file_type()?.is_file() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        }
    }
    Ok(())
}

fn demo_site() -> SiteMeta {
    SiteMeta {
        published: true,
        address: "Phường 1, thành phố Tân An, tỉnh Long An (mô phỏng)".into(),
        latitude: Some(10.5357),
        longitude: Some(106.4132),
        title: Localized { vi: "Nhà Tổng Thận (mô phỏng)".into(), en: "Tong Than House (simulated)".into() },
        summary: Localized {
            vi: "Một ngôi nhà cổ Nam Bộ dựng lại bằng máy tính: nền gạch, cột gỗ, cửa sơn son, mái ngói. Bộ ảnh mô phỏng dùng để thử toàn bộ quy trình số hoá.".into(),
            en: "A computer-built southern Vietnamese house: brick plinth, wooden columns, lacquered doors, tiled roof. A simulated photo set to try the whole digitisation pipeline.".into(),
        },
    }
}
