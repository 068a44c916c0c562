//! The thumbnails stage: per photo a 1600 px preview and a 400 px
//! thumbnail, upright (EXIF orientation applied), as JPEG.

use std::path::Path;

use anyhow::Result;
use heritage_archive::cache::{CacheKey, KeyBuilder};
use heritage_imaging::{encode_jpeg, fit_within, load_display_image};
use image::{RgbImage, imageops};

use crate::dag::PhotoStage;

/// File name of the preview inside an entry.
pub const PREVIEW: &str = "preview.jpg";
/// File name of the thumbnail inside an entry.
pub const THUMBNAIL: &str = "thumb.jpg";

/// Sizes and quality of the thumbnails stage.
#[derive(Debug, Clone, Copy)]
pub struct Thumbnails {
    /// Longer side of the thumbnail, in pixels.
    pub thumb_side: u32,
    /// Longer side of the preview, in pixels.
    pub preview_side: u32,
    /// JPEG quality.
    pub quality: u8,
}

impl Default for Thumbnails {
    fn default() -> Thumbnails {
        Thumbnails { thumb_side: 400, preview_side: 1600, quality: 85 }
    }
}

impl Thumbnails {
    /// Bumped whenever the output for the same input changes.
    const VERSION: u32 = 1;

    /// Writes the file `name` (`PREVIEW` or `THUMBNAIL`) of the entry
    /// `entry` to `out` turned `turn` degrees clockwise (a multiple of 90):
    /// for a photo that the model shows turned although no EXIF tag says so.
    pub fn write_turned(&self, entry: &Path, name: &str, turn: i32, out: &Path) -> Result<()> {
        let image = load_display_image(&std::fs::read(entry.join(name))?, u64::MAX)?;
        let turned = match turn.rem_euclid(360) {
            90 => imageops::rotate90(&image),
            180 => imageops::rotate180(&image),
            270 => imageops::rotate270(&image),
            _ => image,
        };
        std::fs::write(out, encode_jpeg(&turned, self.quality).map_err(anyhow::Error::msg)?)?;
        Ok(())
    }
}

impl PhotoStage for Thumbnails {
    fn name(&self) -> &'static str {
        "thumbnails"
    }

    fn key(&self, sha256: &str) -> CacheKey {
        KeyBuilder::new(PhotoStage::name(self), Self::VERSION)
            .add("sha256", sha256.as_bytes())
            .add("thumb_side", &self.thumb_side.to_le_bytes())
            .add("preview_side", &self.preview_side.to_le_bytes())
            .add("quality", &[self.quality])
            .finish()
    }

    fn make(&self, upright: RgbImage, out: &Path) -> Result<()> {
        let preview = fit_within(&upright, self.preview_side);
        drop(upright);
        let thumb = fit_within(&preview, self.thumb_side);
        for (name, image) in [(PREVIEW, &preview), (THUMBNAIL, &thumb)] {
            let jpeg = encode_jpeg(image, self.quality).map_err(anyhow::Error::msg)?;
            std::fs::write(out.join(name), jpeg)?;
        }
        Ok(())
    }
}
