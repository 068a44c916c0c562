//! `heritage build`: derived files for every photo of an archive, made by
//! a DAG of cached stages. Outputs live in `build/<stage>/<key>/`, keyed by
//! the content of their inputs, so only what changed is rebuilt.

pub mod dag;
pub mod inputs;
pub mod matching;
pub mod thumbnails;
pub mod tiles;

use anyhow::{Context, Result};
use heritage_archive::cache::BuildCache;
use std::collections::BTreeMap;
use std::path::PathBuf;

use heritage_archive::{Archive, Progress, SiteDir, Slug};
use serde::{Deserialize, Serialize};

pub use dag::{Job, PhotoStage, Stage, StageReport};
pub use inputs::PhotoInput;
pub use matching::{FeaturesStage, MatchesStage, SparseStage};
pub use thumbnails::Thumbnails;
pub use tiles::Tiles;

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Only this site (all sites when `None`).
    pub site: Option<Slug>,
    /// List what would run without running it.
    pub dry_run: bool,
}

/// What a build did, stage by stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BuildReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// One report a stage, in the order they ran.
    pub stages: Vec<StageReport>,
    /// In a dry run: the jobs that would run, as `stage: label`.
    pub would_run: Vec<String>,
    /// Temporaries of killed builds that were cleaned up.
    pub cleaned_temporaries: usize,
}

impl BuildReport {
    /// Jobs run (or that would run) in all stages.
    pub fn built(&self) -> usize {
        self.stages.iter().map(|s| s.built).sum()
    }

    /// Jobs in all stages.
    pub fn total(&self) -> usize {
        self.stages.iter().map(|s| s.total).sum()
    }

    /// Jobs that failed in all stages.
    pub fn failed(&self) -> usize {
        self.stages.iter().map(|s| s.failed.len()).sum()
    }
}

/// The stages of a build, in no particular order.
pub struct Pipeline {
    thumbnails: Thumbnails,
    tiles: Tiles,
    features: FeaturesStage,
    matches: MatchesStage,
    sparse: SparseStage,
}

impl Pipeline {
    /// The stages with their default settings, over the archive's cache.
    pub fn new(archive: &Archive) -> Pipeline {
        let matches = MatchesStage {
            features: FeaturesStage::default(),
            options: Default::default(),
            cache: BuildCache::new(archive.build_dir()),
        };
        Pipeline {
            thumbnails: Thumbnails::default(),
            tiles: Tiles::default(),
            features: FeaturesStage::default(),
            sparse: SparseStage { matches: matches.clone() },
            matches,
        }
    }

    /// Every stage.
    pub fn stages(&self) -> Vec<&dyn Stage> {
        vec![&self.thumbnails, &self.tiles, &self.features, &self.matches, &self.sparse]
    }
}

/// The sparse stage's entry of `site`, if it is built: its coverage
/// report (`coverage.json`, `coverage.txt`), with `model.glb` and
/// `tour.json` when the photos gave a model.
fn sparse_built(archive: &Archive, site: &SiteDir) -> Result<Option<PathBuf>> {
    let pipeline = Pipeline::new(archive);
    let photos = inputs::photos_of(std::slice::from_ref(site))?;
    let cache = BuildCache::new(archive.build_dir());
    Ok(pipeline
        .sparse
        .plan(&photos)?
        .first()
        .map(|job| cache.entry(Stage::name(&pipeline.sparse), &job.key))
        .filter(|entry| entry.join(matching::COVERAGE_JSON).is_file()))
}

/// How many of a site's photos joined its 3D model, and where the
/// coverage report (what to reshoot) is.
#[derive(Serialize)]
pub struct ModelStatus {
    /// Photos in a model.
    pub registered: u64,
    /// Photos mapped.
    pub photos_total: u64,
    /// The coverage report for people (`coverage.txt`).
    pub report: PathBuf,
    /// The photos that show turned a quarter (no EXIF orientation tag
    /// said how the camera was held), by name: how many degrees clockwise
    /// each must be turned to show upright.
    pub turned: BTreeMap<String, i32>,
    /// The sparse stage's entry (its `model.glb` and `tour.json`), when
    /// the photos gave a model.
    #[serde(skip)]
    pub model: Option<PathBuf>,
}

/// What `model_status` reads of `coverage.json`.
#[derive(Deserialize)]
struct CoverageSummary {
    registered: u64,
    photos_total: u64,
    photos: Vec<PhotoSummary>,
}

/// What `model_status` reads of one photo in `coverage.json`.
#[derive(Deserialize)]
struct PhotoSummary {
    name: String,
    turn: i32,
}

/// The coverage of `site`'s sparse model, if it is built.
pub fn model_status(archive: &Archive, site: &SiteDir) -> Result<Option<ModelStatus>> {
    let Some(entry) = sparse_built(archive, site)? else { return Ok(None) };
    let path = entry.join(matching::COVERAGE_JSON);
    let text = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let coverage: CoverageSummary =
        serde_json::from_slice(&text).with_context(|| format!("{} is not a coverage report", path.display()))?;
    Ok(Some(ModelStatus {
        registered: coverage.registered,
        photos_total: coverage.photos_total,
        report: entry.join(matching::COVERAGE_TEXT),
        turned: coverage.photos.into_iter().filter(|p| p.turn != 0).map(|p| (p.name, p.turn)).collect(),
        model: Some(entry).filter(|entry| entry.join(matching::TOUR_FILE).is_file()),
    }))
}

/// Builds what is missing for the selected sites. Takes the archive lock
/// (unless `dry_run`), so two builds never run at once.
pub fn build(archive: &Archive, options: &BuildOptions, progress: &dyn Progress) -> Result<BuildReport> {
    let _lock = if options.dry_run { None } else { Some(archive.lock("the build")?) };
    let cache = BuildCache::new(archive.build_dir());
    let mut report = BuildReport { dry_run: options.dry_run, ..Default::default() };
    if !options.dry_run {
        report.cleaned_temporaries = cache.remove_stale_temps()?;
    }
    let sites = archive.select_sites(options.site.as_ref())?;
    let photos = inputs::photos_of(&sites)?;
    let pipeline = Pipeline::new(archive);
    let stages = pipeline.stages();
    for stage in dag::ordered(&stages)? {
        let (stage_report, labels) = dag::run_stage(stage, &photos, &cache, options.dry_run, progress)?;
        if options.dry_run {
            report.would_run.extend(labels.into_iter().map(|l| format!("{}: {l}", stage.name())));
        }
        report.stages.push(stage_report);
    }
    Ok(report)
}

/// For each stage, how many of a site's jobs are done (for `status`).
pub fn progress_of_site(archive: &Archive, slug: &Slug) -> Result<Vec<(String, usize, usize)>> {
    let cache = BuildCache::new(archive.build_dir());
    let photos = inputs::photos_of(&[archive.site(slug)?])?;
    let pipeline = Pipeline::new(archive);
    let mut out = Vec::new();
    for stage in dag::ordered(&pipeline.stages())? {
        let jobs = stage.plan(&photos)?;
        let done = jobs.iter().filter(|j| cache.contains(stage.name(), &j.key)).count();
        out.push((stage.name().to_string(), done, jobs.len()));
    }
    Ok(out)
}
