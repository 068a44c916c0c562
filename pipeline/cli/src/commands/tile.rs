//! `heritage tile`: one image to a deep-zoom pyramid, like `vips dzsave`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use heritage_archive::Progress;
use heritage_archive::parallel::{cores, map_bounded};
use heritage_tiles::{Layout, TileOptions, TileSummary, tile_file};

use super::print_json;
use crate::progress::Bars;

/// Layouts `heritage tile` can write.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum LayoutArg {
    /// Deep Zoom: NAME.dzi and NAME_files/ (OpenSeadragon).
    Dzi,
    /// IIIF Image API 3.0 level 0: NAME/info.json and tiles.
    Iiif,
    /// Both.
    Both,
}

/// The long help of `heritage tile` (shown by `--help`).
pub const TILE_HELP: &str = "Cut one image into a deep-zoom pyramid (like `vips dzsave`).

Writes OUT_DIR/NAME.dzi with OUT_DIR/NAME_files/{level}/{col}_{row}.jpg
(Deep Zoom, as OpenSeadragon reads it) and OUT_DIR/NAME/ with info.json
and {region}/{size}/0/default.jpg files (IIIF Image API 3.0, level 0).
EXIF orientation is applied and colours converted to sRGB. The output
appears complete or not at all.

Cắt một ảnh thành các ô ảnh zoom sâu (Deep Zoom và IIIF).";

/// Arguments of `heritage tile`.
#[derive(Args, Debug)]
pub struct TileArgs {
    /// The images (JPEG, PNG or TIFF), then the folder to write into.
    #[arg(num_args = 2.., value_names = ["IMAGE", "OUT_DIR"], required = true)]
    paths: Vec<PathBuf>,
    /// Base name of the outputs, for a single image (default: each image's
    /// file name without extension).
    #[arg(long)]
    name: Option<String>,
    /// Which layouts to write.
    #[arg(long, value_enum, default_value_t = LayoutArg::Both)]
    layout: LayoutArg,
    /// Tile size in pixels (default: 254 for DZI, 512 for IIIF).
    #[arg(long)]
    tile_size: Option<u32>,
    /// DZI overlap on inner tile edges, in pixels.
    #[arg(long, default_value_t = 1)]
    overlap: u32,
    /// JPEG quality of the tiles, 1 to 100.
    #[arg(long, default_value_t = 85, value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: u8,
    /// Base URL the IIIF files will be served from (the service id is BASE_URL/NAME).
    #[arg(long, default_value = "http://localhost:8080")]
    base_url: String,
    /// Print a summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `heritage tile`.
pub fn run(mut args: TileArgs) -> Result<ExitCode> {
    let out_dir = args.paths.pop().expect("clap requires two paths");
    let images = args.paths;
    if args.name.is_some() && images.len() > 1 {
        bail!("--name works with one image only: without it each pyramid is named after its image");
    }
    let mut names = Vec::with_capacity(images.len());
    for image in &images {
        let name = match &args.name {
            Some(name) => name.clone(),
            None => stem(image)?,
        };
        if name.is_empty() || name.contains(['/', '\\', '\0']) || name.starts_with('.') {
            bail!("the name {name:?} cannot be a file name: give a plain name with --name");
        }
        if names.contains(&name) {
            bail!("two images would both be named {name:?} in {}: tile them into different folders", out_dir.display());
        }
        names.push(name);
    }
    let defaults = TileOptions::default();
    let options = TileOptions {
        layout: match args.layout {
            LayoutArg::Dzi => Layout::Dzi,
            LayoutArg::Iiif => Layout::Iiif,
            LayoutArg::Both => Layout::Both,
        },
        dzi_tile_size: args.tile_size.unwrap_or(defaults.dzi_tile_size),
        iiif_tile_size: args.tile_size.unwrap_or(defaults.iiif_tile_size),
        overlap: args.overlap,
        quality: args.quality,
        base_url: args.base_url,
        ..defaults
    };
    if options.dzi_tile_size == 0 || options.overlap >= options.dzi_tile_size {
        bail!("--tile-size must be positive and larger than --overlap");
    }
    let bars = Bars::new(!args.json);
    bars.start("tiling", images.len() as u64);
    // As many images at a time as there are cores: each is decoded on one
    // core and its tiles encoded on all, and memory holds only those few.
    let work: Vec<(&PathBuf, &String)> = images.iter().zip(&names).collect();
    let outcomes: Vec<Result<TileSummary>> = map_bounded(&work, cores(), |(image, name)| {
        let outcome = tile_file(image, &out_dir, name, &options);
        bars.advance(1);
        outcome
    });
    bars.finish();
    let mut failed = 0;
    let mut summaries = Vec::new();
    for ((image, name), outcome) in images.iter().zip(&names).zip(outcomes) {
        match outcome {
            Ok(summary) => {
                if !args.json {
                    println!(
                        "{name}: {}x{} px, {} levels: {} DZI tiles, {} IIIF files in {}",
                        summary.width,
                        summary.height,
                        summary.levels,
                        summary.dzi_tiles,
                        summary.iiif_files,
                        out_dir.display()
                    );
                }
                summaries.push(serde_json::json!({ "image": image, "name": name, "ok": true, "summary": summary }));
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {e:#}");
                summaries
                    .push(serde_json::json!({ "image": image, "name": name, "ok": false, "error": format!("{e:#}") }));
            }
        }
    }
    if args.json {
        print_json(&summaries)?;
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn stem(path: &Path) -> Result<String> {
    match path.file_stem() {
        Some(stem) => Ok(stem.to_string_lossy().into_owned()),
        None => bail!("{} has no file name: give --name", path.display()),
    }
}
