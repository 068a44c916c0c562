//! The tiles stage: a deep-zoom pyramid per photo, as DZI and IIIF level 0.
//!
//! An entry holds `image.dzi`, `image_files/` and `image/` (IIIF, whose
//! `info.json` has the relative id `image`; publishing gives it the
//! site's base URL).

use std::path::Path;

use anyhow::Result;
use heritage_archive::cache::{CacheKey, KeyBuilder};
use heritage_tiles::{Pyramid, TileOptions, write_pyramid};
use image::RgbImage;

use crate::dag::PhotoStage;

/// Base name of the files inside an entry.
pub const NAME: &str = "image";

/// The tiles stage and its options.
#[derive(Debug, Clone)]
pub struct Tiles {
    /// Tile sizes, overlap and quality.
    pub options: TileOptions,
}

impl Default for Tiles {
    fn default() -> Tiles {
        Tiles { options: TileOptions { base_url: String::new(), ..TileOptions::default() } }
    }
}

impl Tiles {
    /// Bumped whenever the output for the same input changes.
    const VERSION: u32 = 1;
}

impl PhotoStage for Tiles {
    fn name(&self) -> &'static str {
        "tiles"
    }

    fn key(&self, sha256: &str) -> CacheKey {
        let o = &self.options;
        KeyBuilder::new(PhotoStage::name(self), Self::VERSION)
            .add("sha256", sha256.as_bytes())
            .add("layout", format!("{:?}", o.layout).as_bytes())
            .add("dzi_tile_size", &o.dzi_tile_size.to_le_bytes())
            .add("overlap", &o.overlap.to_le_bytes())
            .add("iiif_tile_size", &o.iiif_tile_size.to_le_bytes())
            .add("quality", &[o.quality])
            .add("max_full_side", &o.max_full_side.to_le_bytes())
            .finish()
    }

    fn make(&self, image: RgbImage, out: &Path) -> Result<()> {
        write_pyramid(&Pyramid::build(image), out, NAME, &self.options)?;
        Ok(())
    }
}
