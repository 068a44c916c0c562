//! `heritage match`: features, pair selection, matching and geometric
//! verification of a folder of photos, written as a COLMAP database.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use heritage_archive::Progress;
use heritage_archive::atomic::{sync_parent, temp_sibling};
use heritage_archive::parallel::{cores, map_bounded};
use heritage_imaging::FileKind;
use heritage_sfm::database::write_front_end;
use heritage_sfm::features::load_photo;
use heritage_sfm::frontend::{FrontEnd, FrontEndOptions, MatchSummary, PhotoInfo, run_front_end};
use heritage_sfm::intrinsics::Intrinsics;
use heritage_sfm::intrinsics::parse_k;
use heritage_sfm::pairs::PairOptions;
use heritage_sfm::sift::{Features, SiftOptions};
use heritage_sfm::verify::VerifyOptions;
use serde::Serialize;

use super::print_json;
use crate::progress::Bars;

/// The long help of `heritage match` (shown by `--help`).
pub const MATCH_HELP: &str = "Find the same points in many photos (like COLMAP's feature_extractor
followed by exhaustive_matcher).

Reads the photos (JPEG, PNG or TIFF) of IMAGE_DIR, finds SIFT features,
chooses the pairs to compare (all pairs up to --exhaustive-max photos,
similar and nearby photos beyond), matches descriptors and keeps the pairs
whose matches agree with one camera geometry. Writes OUT_DIR/database.db,
a COLMAP database: continue with `colmap mapper --database_path
OUT_DIR/database.db --image_path IMAGE_DIR --output_path ...`.

Tìm các điểm giống nhau giữa các ảnh và ghi cơ sở dữ liệu COLMAP.";

/// Arguments of `heritage match`.
#[derive(Args, Debug)]
pub struct MatchArgs {
    /// Folder of photos.
    pub image_dir: PathBuf,
    /// Folder to write database.db into (created if missing).
    pub out_dir: PathBuf,
    /// A 3x3 camera matrix (K.txt) that all photos share, instead of EXIF.
    #[arg(long, value_name = "K.txt")]
    intrinsics: Option<PathBuf>,
    /// Most keypoints per photo, strongest first (one with two dominant
    /// orientations gives two features under --any-rotation, as in COLMAP).
    #[arg(long, default_value_t = 8192)]
    max_features: usize,
    /// Photos held at any angle (a drone looking down, a ceiling): describe
    /// each keypoint at its dominant orientations instead of upright.
    /// Upright matches more between photos taken level; photos turned a
    /// quarter are found either way.
    #[arg(long)]
    any_rotation: bool,
    /// Longest side photos are reduced to before finding features.
    #[arg(long, default_value_t = 3200)]
    max_image_size: u32,
    /// Match every pair up to this many photos; beyond, similar and nearby ones.
    #[arg(long, default_value_t = 50)]
    exhaustive_max: usize,
    /// Skip guided matching (fewer inliers, but fewer wrong ones on
    /// repeated texture).
    #[arg(long)]
    no_guided: bool,
    /// Seed of the random samples that test the geometry of each pair and
    /// place each photo (RANSAC). Runs with the same seed give the same
    /// result; two seeds show how much of it is chance (on a few photos,
    /// cameras may move by a few per cent of their error).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print a summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `heritage match` reports.
#[derive(Debug, Serialize)]
struct MatchReport {
    #[serde(flatten)]
    summary: MatchSummary,
    unreadable: Vec<String>,
    database: PathBuf,
    timings: Timings,
}

/// The photo files of a folder, sorted by name: those named as JPEG, PNG
/// or TIFF, and any other whose content is an image (a phone's HEIC, say),
/// so that it is reported with what to do rather than passed over.
fn photo_files(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let extension = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
        let named = ["jpg", "jpeg", "png", "tif", "tiff"].contains(&extension.as_str());
        if path.is_file() && (named || is_image(&path)) {
            let name = path.file_name().expect("a file has a name").to_string_lossy().into_owned();
            files.push((path, name));
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(files)
}

/// Whether the file at `path` starts as an image of any format.
fn is_image(path: &Path) -> bool {
    let mut head = Vec::with_capacity(32);
    std::fs::File::open(path).and_then(|f| f.take(32).read_to_end(&mut head)).is_ok()
        && FileKind::sniff(&head) != FileKind::Unknown
}

/// What matching a folder produced.
pub struct Matched {
    /// The photos that could be read.
    pub photos: Vec<PhotoInfo>,
    /// Their features.
    pub features: Vec<Features>,
    /// Why the others could not.
    pub unreadable: Vec<String>,
    /// Cameras, pairs, matches and geometries.
    pub front: FrontEnd,
    /// The camera matrix given with `--intrinsics`.
    pub given: Option<Intrinsics>,
    /// Where database.db was written.
    pub database: PathBuf,
    /// Wall time of each step.
    pub timings: Timings,
}

/// Wall time in seconds of each step, for benchmarks.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    /// Reading photos and finding features.
    pub features: f64,
    /// Pair selection, matching and verification.
    pub matching: f64,
    /// Mapping and bundle adjustment (`reconstruct` only).
    pub mapping: f64,
}

/// Finds features, matches and verifies the photos of `args.image_dir`
/// and writes `args.out_dir/database.db`.
pub fn match_folder(args: &MatchArgs, bars: &Bars) -> Result<Matched> {
    let given = match &args.intrinsics {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            Some(parse_k(&text).with_context(|| format!("{} is not a 3x3 camera matrix", path.display()))?)
        }
        None => None,
    };
    let files = photo_files(&args.image_dir)?;
    if files.len() < 2 {
        bail!(
            "{} holds {} photo file(s): matching needs at least two photos of the same place",
            args.image_dir.display(),
            files.len()
        );
    }
    let started = std::time::Instant::now();
    let sift = SiftOptions {
        max_features: args.max_features,
        max_image_size: args.max_image_size,
        upright: !args.any_rotation,
        ..Default::default()
    };
    bars.start("features", files.len() as u64);
    let loaded = map_bounded(&files, cores(), |(path, name)| {
        let photo = load_photo(path, name.clone(), &sift);
        bars.advance(1);
        photo
    });
    bars.finish();
    let mut photos: Vec<PhotoInfo> = Vec::new();
    let mut features: Vec<Features> = Vec::new();
    let mut unreadable = Vec::new();
    for outcome in loaded {
        match outcome {
            Ok((info, f)) => {
                photos.push(info);
                features.push(f);
            }
            Err(e) => {
                eprintln!("skipped: {e}");
                unreadable.push(e.to_string());
            }
        }
    }
    let options = FrontEndOptions {
        pairs: PairOptions { exhaustive_max: args.exhaustive_max, ..Default::default() },
        verify: VerifyOptions { guided: !args.no_guided, ..Default::default() },
        seed: args.seed,
        ..Default::default()
    };
    let features_done = started.elapsed().as_secs_f64();
    let front = run_front_end(&photos, &features, given.as_ref(), &options, bars);
    let timings =
        Timings { features: features_done, matching: started.elapsed().as_secs_f64() - features_done, mapping: 0.0 };
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let database = args.out_dir.join("database.db");
    let temp = temp_sibling(&database);
    write_front_end(&temp, &photos, &features, &front).with_context(|| format!("cannot write {}", temp.display()))?;
    std::fs::rename(&temp, &database)?;
    sync_parent(&database)?;
    Ok(Matched { photos, features, unreadable, front, given, database, timings })
}

/// Runs `heritage match`.
pub fn run(args: MatchArgs) -> Result<ExitCode> {
    let bars = Bars::new(!args.json);
    let matched = match_folder(&args, &bars)?;
    let report = MatchReport {
        summary: matched.front.summary(&matched.features),
        unreadable: matched.unreadable,
        database: matched.database,
        timings: matched.timings,
    };
    let summary = &report.summary;
    if args.json {
        print_json(&report)?;
    } else {
        println!(
            "{} photos ({} cameras), median {} features; {} pairs matched, {} verified, median {} inliers.",
            summary.photos,
            summary.cameras,
            summary.median_features,
            summary.pairs_matched,
            summary.pairs_verified,
            summary.median_inliers
        );
        for focal in &summary.focal_lengths_found {
            println!(
                "Tiêu cự tìm từ các cặp ảnh (không có EXIF) / focal length found from the pairs (no EXIF): {focal:.0} px"
            );
        }
        if summary.focal_lengths_guessed > 0 {
            println!(
                "{} máy ảnh không có tiêu cự EXIF và các cặp ảnh không xác định được: bắt đầu từ 1,2 lần cạnh dài, tinh chỉnh khi dựng.\n{} camera(s) with no EXIF focal length that the pairs do not fix: starting at 1.2 times the longer side, refined in mapping.",
                summary.focal_lengths_guessed, summary.focal_lengths_guessed
            );
        }
        println!("Wrote {}", report.database.display());
    }
    Ok(if report.unreadable.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
