//! The photogrammetry front end as build stages: `features` (SIFT per
//! photo, `features.bin`) and `matches` (one entry per site: pairs,
//! matching, verification, written as COLMAP's `database.db` with a
//! `summary.json`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use heritage_archive::NoProgress;
use heritage_archive::cache::{BuildCache, CacheKey, KeyBuilder};
use heritage_imaging::read_exif;
use heritage_sfm::database::write_front_end;
use heritage_sfm::features::photo_features;
use heritage_sfm::frontend::{FrontEndOptions, PhotoInfo, run_front_end};
use heritage_sfm::sift::{Features, SiftOptions};
use image::RgbImage;

use crate::dag::{Job, PhotoStage, Stage};
use crate::inputs::PhotoInput;

/// File of a features entry.
pub const FEATURES_FILE: &str = "features.bin";
/// File of a matches entry: the COLMAP database.
pub const DATABASE_FILE: &str = "database.db";
/// File of a matches entry: the counts, as JSON.
pub const SUMMARY_FILE: &str = "summary.json";

/// The features stage and its options.
#[derive(Debug, Clone, Default)]
pub struct FeaturesStage {
    /// Detector settings.
    pub options: SiftOptions,
}

impl FeaturesStage {
    /// Bumped whenever the output for the same input changes.
    const VERSION: u32 = 2;
}

impl PhotoStage for FeaturesStage {
    fn name(&self) -> &'static str {
        "features"
    }

    fn key(&self, sha256: &str) -> CacheKey {
        KeyBuilder::new(PhotoStage::name(self), Self::VERSION)
            .add("sha256", sha256.as_bytes())
            .add("options", format!("{:?}", self.options).as_bytes())
            .finish()
    }

    fn make(&self, image: RgbImage, out: &Path) -> Result<()> {
        let features = photo_features(&image, &self.options);
        std::fs::write(out.join(FEATURES_FILE), features.to_bytes(image.width(), image.height()))?;
        Ok(())
    }
}

/// The matches stage: reads the features stage's entries.
pub struct MatchesStage {
    /// The features stage, for the keys of its entries.
    pub features: FeaturesStage,
    /// Matching and verification settings.
    pub options: FrontEndOptions,
    /// Where the features entries are.
    pub cache: BuildCache,
}

impl MatchesStage {
    /// Bumped whenever the output for the same input changes.
    const VERSION: u32 = 1;

    /// Matches the photos of one site into `out`.
    fn make(&self, photos: &[&PhotoInput], out: &Path) -> Result<()> {
        let mut infos = Vec::with_capacity(photos.len());
        let mut all_features = Vec::with_capacity(photos.len());
        for photo in photos {
            let entry: PathBuf = self.cache.entry(PhotoStage::name(&self.features), &self.features.key(&photo.sha256));
            let bytes = std::fs::read(entry.join(FEATURES_FILE))
                .with_context(|| format!("the features of {} are missing: run the build again", photo.label()))?;
            let (features, width, height) =
                Features::from_bytes(&bytes).with_context(|| format!("the features of {}", photo.label()))?;
            let original = std::fs::read(&photo.original).with_context(|| format!("reading {}", photo.label()))?;
            let name = format!("{}/{}", photo.photoset, photo.path);
            infos.push(PhotoInfo { name, width, height, exif: read_exif(&original).summary });
            all_features.push(features);
        }
        let front = run_front_end(&infos, &all_features, None, &self.options, &NoProgress);
        write_front_end(&out.join(DATABASE_FILE), &infos, &all_features, &front)?;
        std::fs::write(out.join(SUMMARY_FILE), serde_json::to_vec_pretty(&front.summary(&all_features))?)?;
        Ok(())
    }
}

impl Stage for MatchesStage {
    fn name(&self) -> &'static str {
        "matches"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["features"]
    }

    fn plan<'a>(&'a self, photos: &'a [PhotoInput]) -> Result<Vec<Job<'a>>> {
        let mut sites: BTreeMap<String, Vec<&PhotoInput>> = BTreeMap::new();
        for photo in photos {
            sites.entry(photo.site.to_string()).or_default().push(photo);
        }
        Ok(sites
            .into_iter()
            .filter(|(_, photos)| photos.len() >= 2)
            .map(|(site, photos)| {
                let mut key = KeyBuilder::new(self.name(), Self::VERSION);
                key.add("options", format!("{:?}", self.options).as_bytes());
                for photo in &photos {
                    key.add("photo", format!("{}/{}", photo.photoset, photo.path).as_bytes());
                    key.add("features", self.features.key(&photo.sha256).as_str().as_bytes());
                }
                Job { key: key.finish(), label: site, run: Box::new(move |out: &Path| self.make(&photos, out)) }
            })
            .collect())
    }
}
