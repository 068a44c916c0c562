//! Stages, jobs and the runner.
//!
//! A stage turns inputs into jobs; a job is one content-addressed cache
//! entry with the closure that fills it. Stages run in dependency order;
//! the jobs of a stage run in parallel. A job whose entry exists is done
//! already, so a second build does nothing, and a build killed at any
//! moment resumes where it stopped.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Result, bail};
use heritage_archive::cache::{BuildCache, CacheKey};
use heritage_archive::parallel::{cores, map_bounded};
use heritage_archive::{NoProgress, Progress};
use image::RgbImage;
use serde::Serialize;

use crate::inputs::PhotoInput;

/// The closure that writes a job's outputs into a folder, telling its
/// progress to the second argument.
pub type JobFn<'a> = Box<dyn Fn(&Path, &dyn Progress) -> Result<()> + Send + Sync + 'a>;

/// One cache entry to make.
pub struct Job<'a> {
    /// Cache key of the entry.
    pub key: CacheKey,
    /// What it is for, in messages (`site/photoset/photo.jpg`).
    pub label: String,
    /// Fills the entry's folder.
    pub run: JobFn<'a>,
}

/// A build stage: a pure function from inputs to cache entries.
pub trait Stage: Sync {
    /// Folder name under `build/` and name in messages.
    fn name(&self) -> &'static str;
    /// Stages whose outputs this one reads.
    fn depends_on(&self) -> &'static [&'static str];
    /// The jobs for these photos (done or not).
    fn plan<'a>(&'a self, photos: &'a [PhotoInput]) -> Result<Vec<Job<'a>>>;
}

/// A stage that makes one entry per photo from its upright, sRGB pixels.
/// Every `PhotoStage` is a [`Stage`] with no dependencies.
pub trait PhotoStage: Sync {
    /// Folder name under `build/` and name in messages.
    fn name(&self) -> &'static str;
    /// The cache key of the entry for the photo with this SHA-256.
    fn key(&self, sha256: &str) -> CacheKey;
    /// Writes the entry for a photo's pixels into `out`.
    fn make(&self, image: RgbImage, out: &Path) -> Result<()>;
}

impl<T: PhotoStage> Stage for T {
    fn name(&self) -> &'static str {
        PhotoStage::name(self)
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &[]
    }

    fn plan<'a>(&'a self, photos: &'a [PhotoInput]) -> Result<Vec<Job<'a>>> {
        Ok(photos
            .iter()
            .map(|photo| Job {
                key: self.key(&photo.sha256),
                label: photo.label(),
                run: Box::new(move |out: &Path, _: &dyn Progress| self.make(photo.load_display_image()?, out)),
            })
            .collect())
    }
}

/// What happened to one stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StageReport {
    /// The stage.
    pub stage: String,
    /// Jobs in all.
    pub total: usize,
    /// Jobs already in the cache.
    pub cached: usize,
    /// Jobs run now (or, in a dry run, that would run).
    pub built: usize,
    /// Jobs that failed, with the reason.
    pub failed: Vec<JobFailure>,
}

/// A job that failed.
#[derive(Debug, Clone, Serialize)]
pub struct JobFailure {
    /// What the job was for.
    pub label: String,
    /// Why it failed.
    pub error: String,
}

/// Orders stages so each comes after the stages it depends on.
pub fn ordered<'s>(stages: &'s [&'s dyn Stage]) -> Result<Vec<&'s dyn Stage>> {
    let mut done: Vec<&'s dyn Stage> = Vec::new();
    while done.len() < stages.len() {
        let ready = stages.iter().find(|s| {
            !done.iter().any(|d| d.name() == s.name())
                && s.depends_on().iter().all(|dep| done.iter().any(|d| d.name() == *dep))
        });
        match ready {
            Some(stage) => done.push(*stage),
            None => bail!("the build stages depend on each other in a cycle or on a missing stage"),
        }
    }
    Ok(done)
}

/// Runs (or, with `dry_run`, lists) the jobs of one stage.
pub fn run_stage(
    stage: &dyn Stage,
    photos: &[PhotoInput],
    cache: &BuildCache,
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<(StageReport, Vec<String>)> {
    let jobs = stage.plan(photos)?;
    let name = stage.name();
    // Jobs of equal keys (two sites with the same photos) run once; the
    // others count as cached.
    let mut keys = HashSet::new();
    let (todo, cached): (Vec<_>, Vec<_>) =
        jobs.into_iter().partition(|job| !cache.contains(name, &job.key) && keys.insert(job.key.clone()));
    let mut report = StageReport {
        stage: name.to_string(),
        total: todo.len() + cached.len(),
        cached: cached.len(),
        ..Default::default()
    };
    let labels: Vec<String> = todo.iter().map(|j| j.label.clone()).collect();
    if dry_run {
        report.built = todo.len();
        return Ok((report, labels));
    }
    progress.start(name, todo.len() as u64);
    // A lone job (one site's matching or mapping, minutes long) shows its
    // own phases in place of the stage's bar; jobs run side by side would
    // mix theirs, so they count as steps of it.
    let inner: &dyn Progress = if todo.len() == 1 { progress } else { &NoProgress };
    // As many jobs at a time as there are cores: each may use every core
    // inside, and memory holds only the photos being worked on.
    let outcomes = map_bounded(&todo, cores(), |job| {
        let outcome = run_job(cache, name, job, inner)
            .map_err(|e| JobFailure { label: job.label.clone(), error: format!("{e:#}") });
        progress.advance(1);
        outcome
    });
    progress.finish();
    for outcome in outcomes {
        match outcome {
            Ok(()) => report.built += 1,
            Err(failure) => {
                tracing::warn!("{name}: {}: {}", failure.label, failure.error);
                report.failed.push(failure);
            }
        }
    }
    Ok((report, labels))
}

fn run_job(cache: &BuildCache, stage: &str, job: &Job, progress: &dyn Progress) -> Result<()> {
    let pending = cache.begin(stage, &job.key)?;
    (job.run)(pending.dir(), progress)?;
    pending.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use heritage_archive::cache::KeyBuilder;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        name: &'static str,
        deps: &'static [&'static str],
        runs: AtomicUsize,
        fail_on: Option<usize>,
        /// Jobs i and i + distinct share a key.
        distinct: usize,
    }

    impl Stage for Counting {
        fn name(&self) -> &'static str {
            self.name
        }
        fn depends_on(&self) -> &'static [&'static str] {
            self.deps
        }
        fn plan<'a>(&'a self, _photos: &'a [PhotoInput]) -> Result<Vec<Job<'a>>> {
            Ok((0..4)
                .map(|i| Job {
                    key: KeyBuilder::new(self.name, 1).add("i", &[(i % self.distinct) as u8]).finish(),
                    label: format!("job {i}"),
                    run: Box::new(move |dir: &Path, progress: &dyn Progress| {
                        self.runs.fetch_add(1, Ordering::SeqCst);
                        progress.start("inside", 1);
                        progress.finish();
                        if self.fail_on == Some(i) {
                            bail!("boom");
                        }
                        std::fs::write(dir.join("out"), [i as u8])?;
                        Ok(())
                    }),
                })
                .collect())
        }
    }

    fn stage(name: &'static str, deps: &'static [&'static str], fail_on: Option<usize>) -> Counting {
        Counting { name, deps, runs: AtomicUsize::new(0), fail_on, distinct: 4 }
    }

    #[test]
    fn second_run_does_nothing_and_failures_are_retried() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BuildCache::new(dir.path().to_path_buf());
        let s = stage("s", &[], Some(2));
        let (report, _) = run_stage(&s, &[], &cache, false, &NoProgress).unwrap();
        assert_eq!((report.total, report.built, report.cached, report.failed.len()), (4, 3, 0, 1));
        let (report, _) = run_stage(&s, &[], &cache, false, &NoProgress).unwrap();
        assert_eq!((report.built, report.cached, report.failed.len()), (0, 3, 1));
        assert_eq!(s.runs.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn jobs_of_equal_keys_run_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BuildCache::new(dir.path().to_path_buf());
        let s = Counting { distinct: 2, ..stage("s", &[], None) };
        let (report, _) = run_stage(&s, &[], &cache, false, &NoProgress).unwrap();
        assert_eq!((report.total, report.built, report.cached, report.failed.len()), (4, 2, 2, 0));
        assert_eq!(s.runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn dry_run_lists_without_running() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BuildCache::new(dir.path().to_path_buf());
        let s = stage("s", &[], None);
        let (report, labels) = run_stage(&s, &[], &cache, true, &NoProgress).unwrap();
        assert_eq!((report.built, labels.len()), (4, 4));
        assert_eq!(s.runs.load(Ordering::SeqCst), 0);
        assert!(!dir.path().join("s").exists());
    }

    /// The phases started, in order.
    #[derive(Default)]
    struct Phases(Mutex<Vec<String>>);

    impl Progress for Phases {
        fn start(&self, phase: &str, _total: u64) {
            self.0.lock().unwrap().push(phase.to_string());
        }
        fn advance(&self, _n: u64) {}
        fn finish(&self) {}
    }

    #[test]
    fn a_lone_job_shows_its_own_progress_and_many_count_as_steps() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BuildCache::new(dir.path().to_path_buf());
        let phases = Phases::default();
        run_stage(&Counting { distinct: 1, ..stage("one", &[], None) }, &[], &cache, false, &phases).unwrap();
        assert_eq!(*phases.0.lock().unwrap(), ["one", "inside"]);
        let phases = Phases::default();
        run_stage(&stage("four", &[], None), &[], &cache, false, &phases).unwrap();
        assert_eq!(*phases.0.lock().unwrap(), ["four"]);
    }

    #[test]
    fn stages_are_ordered_by_dependencies() {
        let (a, b, c) = (stage("a", &["b"], None), stage("b", &["c"], None), stage("c", &[], None));
        let stages: [&dyn Stage; 3] = [&a, &b, &c];
        let names: Vec<_> = ordered(&stages).unwrap().iter().map(|s| s.name()).collect();
        assert_eq!(names, ["c", "b", "a"]);
        let cyclic = stage("x", &["x"], None);
        assert!(ordered(&[&cyclic as &dyn Stage]).is_err());
    }
}
