//! Photogrammetry as build stages: `features` (SIFT per photo,
//! `features.bin`), `matches` (one entry per site: pairs, matching,
//! verification, written as COLMAP's `database.db` with a
//! `summary.json`) and `sparse` (one entry per site: the oriented models,
//! `model.glb`, `tour.json` and the coverage report, read from the
//! matches stage's database).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use heritage_archive::Progress;
use heritage_archive::cache::{BuildCache, CacheKey, KeyBuilder};
use heritage_imaging::read_exif;
use heritage_sfm::database::{read_front_end, write_front_end};
use heritage_sfm::features::photo_features;
use heritage_sfm::frontend::{FrontEndOptions, PhotoInfo, run_front_end};
use heritage_sfm::mapper::MapperOptions;
pub use heritage_sfm::output::{COVERAGE_JSON, COVERAGE_TEXT, GLB_FILE, TOUR_FILE};
use heritage_sfm::output::{Inputs, write_model_files};
use heritage_sfm::sift::{Features, SiftOptions};
use heritage_sfm::sparse::sparse;
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
    const VERSION: u32 = 5;
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
#[derive(Clone)]
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

    /// The photos of one site as the front end sees them, with their
    /// features from the features stage's entries.
    fn load_site(&self, photos: &[&PhotoInput]) -> Result<(Vec<PhotoInfo>, Vec<Features>)> {
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
        Ok((infos, all_features))
    }

    /// Matches the photos of one site into `out`.
    fn make(&self, photos: &[&PhotoInput], out: &Path, progress: &dyn Progress) -> Result<()> {
        let (infos, all_features) = self.load_site(photos)?;
        let front = run_front_end(&infos, &all_features, None, &self.options, progress);
        write_front_end(&out.join(DATABASE_FILE), &infos, &all_features, &front)?;
        std::fs::write(out.join(SUMMARY_FILE), serde_json::to_vec_pretty(&front.summary(&all_features))?)?;
        Ok(())
    }

    /// The key of the entry of one site's photos.
    fn site_key(&self, photos: &[&PhotoInput]) -> CacheKey {
        let mut key = KeyBuilder::new(Stage::name(self), Self::VERSION);
        key.add("options", format!("{:?}", self.options).as_bytes());
        for photo in photos {
            key.add("photo", format!("{}/{}", photo.photoset, photo.path).as_bytes());
            key.add("features", self.features.key(&photo.sha256).as_str().as_bytes());
        }
        key.finish()
    }
}

/// The photos of each site with at least two, by site.
fn sites(photos: &[PhotoInput]) -> BTreeMap<String, Vec<&PhotoInput>> {
    let mut sites: BTreeMap<String, Vec<&PhotoInput>> = BTreeMap::new();
    for photo in photos {
        sites.entry(photo.site.to_string()).or_default().push(photo);
    }
    sites.retain(|_, photos| photos.len() >= 2);
    sites
}

impl Stage for MatchesStage {
    fn name(&self) -> &'static str {
        "matches"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["features"]
    }

    fn plan<'a>(&'a self, photos: &'a [PhotoInput]) -> Result<Vec<Job<'a>>> {
        Ok(sites(photos)
            .into_iter()
            .map(|(site, photos)| Job {
                key: self.site_key(&photos),
                label: site,
                run: Box::new(move |out: &Path, progress: &dyn Progress| self.make(&photos, out, progress)),
            })
            .collect())
    }
}

/// The sparse stage: maps each site from its matches entry.
pub struct SparseStage {
    /// The matches stage, for its entries (and through it the features').
    pub matches: MatchesStage,
}

impl SparseStage {
    /// Bumped whenever the output for the same input changes.
    const VERSION: u32 = 11;

    /// Maps the photos of one site into `out`.
    fn make(&self, photos: &[&PhotoInput], out: &Path, progress: &dyn Progress) -> Result<()> {
        let (infos, features) = self.matches.load_site(photos)?;
        let entry = self.matches.cache.entry(Stage::name(&self.matches), &self.matches.site_key(photos));
        let front = read_front_end(&entry.join(DATABASE_FILE))
            .with_context(|| format!("the matches of {} are missing: run the build again", entry.display()))?;
        let result = sparse(&infos, &features, &front, &MapperOptions::default(), progress);
        write_model_files(out, &Inputs { photos: &infos, features: &features, front: &front }, &result)?;
        Ok(())
    }
}

impl Stage for SparseStage {
    fn name(&self) -> &'static str {
        "sparse"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["matches"]
    }

    fn plan<'a>(&'a self, photos: &'a [PhotoInput]) -> Result<Vec<Job<'a>>> {
        Ok(sites(photos)
            .into_iter()
            .map(|(site, photos)| {
                let key = KeyBuilder::new(self.name(), Self::VERSION)
                    .add("matches", self.matches.site_key(&photos).as_str().as_bytes())
                    .finish();
                let run = Box::new(move |out: &Path, progress: &dyn Progress| self.make(&photos, out, progress));
                Job { key, label: site, run }
            })
            .collect())
    }
}
