//! Writing a pyramid as DZI and IIIF level-0 files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use heritage_imaging::encode_jpeg;
use rayon::prelude::*;
use serde_json::json;

use crate::grid::{self, Rect};
use crate::pyramid::{Pyramid, crop};

/// Which layouts to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Deep Zoom (`NAME.dzi` + `NAME_files/`).
    Dzi,
    /// IIIF Image API 3.0 level 0 (`NAME/info.json` + tiles).
    Iiif,
    /// Both.
    Both,
}

impl Layout {
    fn dzi(self) -> bool {
        matches!(self, Layout::Dzi | Layout::Both)
    }
    fn iiif(self) -> bool {
        matches!(self, Layout::Iiif | Layout::Both)
    }
}

/// How to tile.
#[derive(Debug, Clone)]
pub struct TileOptions {
    /// Layouts to write.
    pub layout: Layout,
    /// DZI tile size (without overlap).
    pub dzi_tile_size: u32,
    /// DZI overlap on inner edges.
    pub overlap: u32,
    /// IIIF tile size.
    pub iiif_tile_size: u32,
    /// JPEG quality of every tile.
    pub quality: u8,
    /// IIIF base URL; the service `id` is `<base_url>/<name>`.
    pub base_url: String,
    /// Largest side of the IIIF `full/max` image (the service's
    /// `maxWidth`/`maxHeight` when the photo is larger).
    pub max_full_side: u32,
}

impl Default for TileOptions {
    fn default() -> TileOptions {
        TileOptions {
            layout: Layout::Both,
            dzi_tile_size: 254,
            overlap: 1,
            iiif_tile_size: 512,
            quality: 85,
            base_url: "http://localhost:8080".to_string(),
            max_full_side: 4096,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TileSummary {
    /// Full image width.
    pub width: u32,
    /// Full image height.
    pub height: u32,
    /// Number of DZI levels (max level + 1).
    pub levels: u32,
    /// DZI tile files.
    pub dzi_tiles: usize,
    /// IIIF image files (tiles and sizes).
    pub iiif_files: usize,
}

/// One JPEG to write: a rectangle of a pyramid level, at a path.
struct TileJob {
    path: PathBuf,
    level: u32,
    rect: Rect,
}

/// Writes the layouts of `options` for `pyramid` into `root` (which must
/// exist): `NAME.dzi`, `NAME_files/`, `NAME/` (IIIF).
pub fn write_pyramid(pyramid: &Pyramid, root: &Path, name: &str, options: &TileOptions) -> Result<TileSummary> {
    let (width, height) = pyramid.full().dimensions();
    let mut summary = TileSummary { width, height, levels: pyramid.max_level() + 1, ..Default::default() };
    let mut jobs = Vec::new();
    if options.layout.dzi() {
        let dzi = dzi_jobs(pyramid, &root.join(format!("{name}_files")), options);
        summary.dzi_tiles = dzi.len();
        jobs.extend(dzi);
    }
    let mut info = None;
    if options.layout.iiif() {
        let iiif_root = root.join(name);
        let (iiif, json) = iiif_jobs(pyramid, &iiif_root, name, options);
        summary.iiif_files = iiif.len();
        jobs.extend(iiif);
        info = Some((iiif_root.join("info.json"), json));
    }
    let mut folders: Vec<&Path> = jobs.iter().filter_map(|j| j.path.parent()).collect();
    folders.sort();
    folders.dedup();
    for folder in folders {
        std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    }
    encode_and_write(pyramid, &jobs, options.quality)?;
    if let Some((path, json)) = info {
        std::fs::write(&path, serde_json::to_vec_pretty(&json)?)?;
    }
    if options.layout.dzi() {
        std::fs::write(root.join(format!("{name}.dzi")), dzi_xml(width, height, options))?;
    }
    Ok(summary)
}

/// The IIIF service id: `<base_url>/<name>`, or `name` alone (a relative
/// id, to be set when published) when there is no base URL.
pub fn service_id(base_url: &str, name: &str) -> String {
    if base_url.is_empty() { name.to_string() } else { format!("{}/{name}", base_url.trim_end_matches('/')) }
}

/// Encodes every tile in parallel and writes them from one thread.
///
/// Creating files is the slow part on many file systems, and creating
/// them from several threads at once in one folder makes them queue for
/// the folder's lock (spinning, on Linux): one writer, fed through a
/// bounded channel, is faster and keeps the cores for encoding.
fn encode_and_write(pyramid: &Pyramid, jobs: &[TileJob], quality: u8) -> Result<()> {
    let (sender, receiver) = std::sync::mpsc::sync_channel::<(&Path, Vec<u8>)>(256);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> Result<()> {
            for (path, bytes) in receiver {
                std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(())
        });
        let encoded = jobs.par_iter().try_for_each_with(sender, |sender, job| -> Result<()> {
            let tile = crop(pyramid.level(job.level), job.rect.x, job.rect.y, job.rect.w, job.rect.h);
            let jpeg = encode_jpeg(&tile, quality).map_err(anyhow::Error::msg)?;
            // A closed channel means the writer failed; its error is reported below.
            sender.send((&job.path, jpeg)).map_err(|_| anyhow::anyhow!("the tile writer stopped"))
        });
        let written = writer.join().map_err(|_| anyhow::anyhow!("the tile writer panicked"))?;
        written.and(encoded)
    })
}

/// The `.dzi` descriptor.
pub fn dzi_xml(width: u32, height: u32, options: &TileOptions) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Image xmlns=\"http://schemas.microsoft.com/deepzoom/2008\" Format=\"jpg\" Overlap=\"{}\" TileSize=\"{}\">\n  <Size Width=\"{width}\" Height=\"{height}\"/>\n</Image>\n",
        options.overlap, options.dzi_tile_size
    )
}

fn dzi_jobs(pyramid: &Pyramid, files: &Path, options: &TileOptions) -> Vec<TileJob> {
    let mut jobs = Vec::new();
    for level in 0..=pyramid.max_level() {
        let (w, h) = pyramid.level(level).dimensions();
        let (cols, rows) = grid::tile_counts(w, h, options.dzi_tile_size);
        for row in 0..rows {
            for col in 0..cols {
                jobs.push(TileJob {
                    path: files.join(level.to_string()).join(format!("{col}_{row}.jpg")),
                    level,
                    rect: grid::dzi_tile_rect(w, h, options.dzi_tile_size, options.overlap, col, row),
                });
            }
        }
    }
    jobs
}

/// The IIIF files (tiles, then sizes and `full/max`) and `info.json`.
fn iiif_jobs(pyramid: &Pyramid, root: &Path, name: &str, options: &TileOptions) -> (Vec<TileJob>, serde_json::Value) {
    let (width, height) = pyramid.full().dimensions();
    let max_level = pyramid.max_level();
    let tile = options.iiif_tile_size;
    let scale_factors = grid::iiif_scale_factors(width, height, tile);
    let mut files: BTreeMap<String, (u32, Rect)> = BTreeMap::new();
    for &scale in &scale_factors {
        let level = max_level - scale.trailing_zeros();
        for t in grid::iiif_tiles(width, height, tile, scale) {
            files.insert(grid::iiif_path(width, height, t.region, t.width, t.height), (level, t.in_level));
        }
    }
    let whole = Rect { x: 0, y: 0, w: width, h: height };
    let mut sizes = Vec::new();
    let mut largest = None;
    for level in 0..=max_level {
        let (w, h) = pyramid.level(level).dimensions();
        if w.max(h) > options.max_full_side {
            break;
        }
        let rect = Rect { x: 0, y: 0, w, h };
        files.insert(grid::iiif_path(width, height, whole, w, h), (level, rect));
        sizes.push(json!({ "width": w, "height": h }));
        largest = Some((level, rect));
    }
    let mut info = json!({
        "@context": "http://iiif.io/api/image/3/context.json",
        "id": service_id(&options.base_url, name),
        "type": "ImageService3",
        "protocol": "http://iiif.io/api/image",
        "profile": "level0",
        "width": width,
        "height": height,
        "sizes": sizes,
        "tiles": [{ "width": tile, "height": tile, "scaleFactors": scale_factors }],
    });
    if let Some((level, rect)) = largest
        && (rect.w, rect.h) != (width, height)
    {
        // The photo is larger than a whole-image download should be: `max`
        // is capped, as the service's maxWidth/maxHeight say.
        info["maxWidth"] = json!(rect.w);
        info["maxHeight"] = json!(rect.h);
        files.insert("full/max/0/default.jpg".to_string(), (level, rect));
    }
    let jobs = files.into_iter().map(|(path, (level, rect))| TileJob { path: root.join(path), level, rect }).collect();
    (jobs, info)
}
