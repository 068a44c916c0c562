//! The archive's folders and the few files that describe them.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::atomic::{is_temp_name, write_atomic};
use crate::lock::ArchiveLock;
use crate::manifest::Manifest;
use crate::site::SiteMeta;
use crate::slug::Slug;

/// Version of the on-disk layout written in `archive.toml`.
pub const FORMAT_VERSION: u32 = 1;

/// `archive.toml`: what marks a folder as a heritage archive.
#[derive(Debug, Serialize, Deserialize)]
struct ArchiveToml {
    format: u32,
}

/// An archive folder: `archive.toml`, `sites/`, `build/`, `public/`.
#[derive(Debug, Clone)]
pub struct Archive {
    root: PathBuf,
}

impl Archive {
    /// Creates an archive in `root` (which may exist and hold other files),
    /// or opens it if it is already one.
    pub fn init(root: &Path) -> Result<Archive> {
        let marker = root.join("archive.toml");
        if !marker.exists() {
            fs::create_dir_all(root.join("sites")).with_context(|| format!("creating {}", root.display()))?;
            let text = toml::to_string(&ArchiveToml { format: FORMAT_VERSION })?;
            write_atomic(&marker, text.as_bytes()).with_context(|| format!("writing {}", marker.display()))?;
        }
        Archive::open(root)
    }

    /// Opens an existing archive.
    pub fn open(root: &Path) -> Result<Archive> {
        let marker = root.join("archive.toml");
        let text = match fs::read_to_string(&marker) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "no heritage archive at {}: run `heritage init` there first, or point --archive (or HERITAGE_ARCHIVE) at your archive",
                root.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("reading {}", marker.display())),
        };
        let parsed: ArchiveToml = toml::from_str(&text).with_context(|| format!("reading {}", marker.display()))?;
        if parsed.format > FORMAT_VERSION {
            bail!(
                "the archive at {} has format {} but this heritage understands up to {FORMAT_VERSION}: update heritage",
                root.display(),
                parsed.format
            );
        }
        Ok(Archive { root: root.to_path_buf() })
    }

    /// The archive's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `build/`: derived, content-addressed files, safe to delete.
    pub fn build_dir(&self) -> PathBuf {
        self.root.join("build")
    }

    /// `public/`: the default place of the published website.
    pub fn public_dir(&self) -> PathBuf {
        self.root.join("public")
    }

    /// Takes the archive's exclusive lock (see [`ArchiveLock`]).
    pub fn lock(&self, purpose: &str) -> Result<ArchiveLock> {
        ArchiveLock::acquire(&self.root.join(".lock"), purpose)
    }

    /// Every site, sorted by slug.
    pub fn sites(&self) -> Result<Vec<SiteDir>> {
        let mut sites = Vec::new();
        for name in list_dir_names(&self.root.join("sites"))? {
            if let Ok(slug) = Slug::parse(&name) {
                sites.push(self.site_dir(&slug));
            }
        }
        Ok(sites)
    }

    /// The site named, or every site when `only` is `None`.
    pub fn select_sites(&self, only: Option<&Slug>) -> Result<Vec<SiteDir>> {
        match only {
            Some(slug) => Ok(vec![self.site(slug)?]),
            None => self.sites(),
        }
    }

    /// The site with this slug, or an error that says how to create it.
    pub fn site(&self, slug: &Slug) -> Result<SiteDir> {
        let site = self.site_dir(slug);
        if !site.meta_path().exists() {
            bail!(
                "there is no site {slug:?} in this archive: list sites with `heritage status`, or create it with `heritage site add`"
            );
        }
        Ok(site)
    }

    /// Creates a new site with `meta`; fails if the slug is taken.
    pub fn add_site(&self, slug: &Slug, meta: &SiteMeta) -> Result<SiteDir> {
        let site = self.site_dir(slug);
        if site.meta_path().exists() {
            bail!(
                "a site with the slug {slug:?} already exists: choose another with --slug, or change it with `heritage site set {slug}`"
            );
        }
        fs::create_dir_all(site.root.join("photosets"))?;
        site.save_meta(meta)?;
        Ok(site)
    }

    fn site_dir(&self, slug: &Slug) -> SiteDir {
        SiteDir { root: self.root.join("sites").join(slug.as_str()), slug: slug.clone() }
    }
}

/// One site's folder: `site.toml` and `photosets/`.
#[derive(Debug, Clone)]
pub struct SiteDir {
    root: PathBuf,
    slug: Slug,
}

impl SiteDir {
    /// The site's slug.
    pub fn slug(&self) -> &Slug {
        &self.slug
    }

    /// The site's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of `site.toml`.
    pub fn meta_path(&self) -> PathBuf {
        self.root.join("site.toml")
    }

    /// Reads `site.toml`.
    pub fn meta(&self) -> Result<SiteMeta> {
        let path = self.meta_path();
        let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{} is not valid: fix or restore it", path.display()))
    }

    /// Writes `site.toml` atomically.
    pub fn save_meta(&self, meta: &SiteMeta) -> Result<()> {
        let text = toml::to_string(meta)?;
        write_atomic(&self.meta_path(), text.as_bytes())
            .with_context(|| format!("writing {}", self.meta_path().display()))
    }

    /// Every photo set of the site, sorted by id.
    pub fn photosets(&self) -> Result<Vec<PhotosetDir>> {
        Ok(list_dir_names(&self.root.join("photosets"))?.into_iter().map(|id| self.photoset(&id)).collect())
    }

    /// The photo set `id` (it may not exist yet).
    pub fn photoset(&self, id: &str) -> PhotosetDir {
        PhotosetDir { root: self.root.join("photosets").join(id), id: id.to_string() }
    }
}

/// One photo set: `originals/`, `manifest-sha256.txt`, `photoset.toml`.
#[derive(Debug, Clone)]
pub struct PhotosetDir {
    root: PathBuf,
    id: String,
}

impl PhotosetDir {
    /// The photo set's id (its folder name).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The photo set's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `originals/`: byte-identical, read-only copies of the photos.
    pub fn originals_dir(&self) -> PathBuf {
        self.root.join("originals")
    }

    /// Path of `manifest-sha256.txt`.
    pub fn manifest_path(&self) -> PathBuf {
        self.root.join("manifest-sha256.txt")
    }

    /// Path of `photoset.toml`.
    pub fn record_path(&self) -> PathBuf {
        self.root.join("photoset.toml")
    }

    /// Reads the manifest (empty when the photo set has none yet).
    pub fn manifest(&self) -> Result<Manifest> {
        Manifest::load(&self.manifest_path())
    }

    /// The original with manifest path `relative`.
    pub fn original(&self, relative: &str) -> PathBuf {
        self.originals_dir().join(relative)
    }
}

/// Names of the sub-folders of `dir`, sorted, skipping temporaries and
/// hidden folders; a missing `dir` has none.
fn list_dir_names(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() && !name.starts_with('.') && !is_temp_name(&name) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_is_idempotent_and_open_needs_an_archive() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Archive::open(dir.path()).unwrap_err().to_string().contains("heritage init"));
        Archive::init(dir.path()).unwrap();
        Archive::init(dir.path()).unwrap();
        Archive::open(dir.path()).unwrap();
    }

    #[test]
    fn sites_are_added_once_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::init(dir.path()).unwrap();
        let slug = Slug::parse("nha-tong-than").unwrap();
        let meta = SiteMeta {
            title: crate::site::Localized { vi: "Nhà Tổng Thận".into(), en: String::new() },
            ..Default::default()
        };
        archive.add_site(&slug, &meta).unwrap();
        assert!(archive.add_site(&slug, &meta).is_err());
        let sites = archive.sites().unwrap();
        assert_eq!(sites.len(), 1);
        assert_eq!(sites[0].meta().unwrap(), meta);
        assert!(archive.site(&Slug::parse("khac").unwrap()).is_err());
    }
}
