//! Deep-zoom pyramids: DZI exactly as OpenSeadragon reads it, and IIIF
//! Image API 3.0 level-0 static files, from one 2x2-averaged pyramid.
//! Tiles are encoded in parallel; output appears all at once (it is
//! written to a temporary folder and renamed into place).

pub mod grid;
pub mod pyramid;
pub mod writer;

use std::path::Path;

use anyhow::{Context, Result};
use heritage_archive::atomic::{commit_dir, remove_stale_temps, sync_parent, temp_sibling};
use heritage_imaging::load_display_image;
use image::RgbImage;

pub use pyramid::Pyramid;
pub use writer::{Layout, TileOptions, TileSummary, dzi_xml, write_pyramid};

/// Tiles the image file `input` into `out_dir` as `name`: reads and
/// decodes it first (a corrupt input leaves nothing behind), then writes
/// everything into a temporary folder and moves it into place, the `.dzi`
/// last.
pub fn tile_file(input: &Path, out_dir: &Path, name: &str, options: &TileOptions) -> Result<TileSummary> {
    let bytes = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let image = load_display_image(&bytes, u64::MAX).with_context(|| format!("{} cannot be tiled", input.display()))?;
    drop(bytes);
    tile_image(image, out_dir, name, options)
}

/// Tiles a decoded image into `out_dir` as `name` (see [`tile_file`]).
pub fn tile_image(image: RgbImage, out_dir: &Path, name: &str, options: &TileOptions) -> Result<TileSummary> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    remove_stale_temps(out_dir)?;
    let temp = temp_sibling(&out_dir.join(name));
    std::fs::create_dir(&temp)?;
    let result = (|| {
        let summary = write_pyramid(&Pyramid::build(image), &temp, name, options)?;
        for entry in [name.to_string(), format!("{name}_files")] {
            if temp.join(&entry).exists() {
                commit_dir(&temp.join(&entry), &out_dir.join(&entry))?;
            }
        }
        let dzi = format!("{name}.dzi");
        if temp.join(&dzi).exists() {
            std::fs::rename(temp.join(&dzi), out_dir.join(&dzi))?;
            sync_parent(&out_dir.join(&dzi))?;
        }
        Ok(summary)
    })();
    let _ = std::fs::remove_dir_all(&temp);
    result
}
