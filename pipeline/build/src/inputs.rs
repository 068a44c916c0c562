//! What a build works on: the photos of the archive's sites, as listed in
//! their manifests and records.

use std::path::PathBuf;

use anyhow::{Context, Result};
use heritage_archive::{Sha256Hex, SiteDir, Slug};
use heritage_imaging::load_display_image;
use image::RgbImage;

/// One original photo, as the stages see it.
#[derive(Debug, Clone)]
pub struct PhotoInput {
    /// The site's slug.
    pub site: Slug,
    /// The photo set id.
    pub photoset: String,
    /// Path below `originals/`.
    pub path: String,
    /// SHA-256 of the original (the content address).
    pub sha256: Sha256Hex,
    /// Where the original is on disk.
    pub original: PathBuf,
}

impl PhotoInput {
    /// `<site>/<photoset>/<path>`, for messages.
    pub fn label(&self) -> String {
        format!("{}/{}/{}", self.site, self.photoset, self.path)
    }

    /// The photo's pixels, upright and in sRGB.
    pub fn load_display_image(&self) -> Result<RgbImage> {
        let bytes = std::fs::read(&self.original).with_context(|| format!("reading {}", self.original.display()))?;
        Ok(load_display_image(&bytes, u64::MAX)?)
    }
}

/// Every photo of `sites`, in a stable order.
pub fn photos_of(sites: &[SiteDir]) -> Result<Vec<PhotoInput>> {
    let mut photos = Vec::new();
    for site in sites {
        for photoset in site.photosets()? {
            for (path, sha256) in photoset.manifest()?.iter() {
                photos.push(PhotoInput {
                    site: site.slug().clone(),
                    photoset: photoset.id().to_string(),
                    path: path.clone(),
                    sha256: sha256.clone(),
                    original: photoset.original(path),
                });
            }
        }
    }
    Ok(photos)
}
