//! What gets published: the sites marked `published = true`, each with the
//! photos whose thumbnails and tiles are built.

use std::path::PathBuf;

use anyhow::Result;
use heritage_archive::cache::BuildCache;
use heritage_archive::{Archive, SiteMeta, Slug};
use heritage_build::{PhotoStage, Thumbnails, Tiles};
use heritage_ingest::PhotosetRecord;

/// One photo of a published site.
#[derive(Debug, Clone)]
pub struct PublishedPhoto {
    /// Stable id in URLs: the first 12 hex digits of its SHA-256.
    pub id: String,
    /// `photoset/path`, as stored.
    pub name: String,
    /// Width as seen (upright).
    pub width: u32,
    /// Height as seen (upright).
    pub height: u32,
    /// When it was taken (EXIF), if known.
    pub captured: Option<String>,
    /// Who handed it in, if recorded.
    pub contributor: Option<String>,
    /// The thumbnails entry (`thumb.jpg`, `preview.jpg`).
    pub thumbnails: PathBuf,
    /// The tiles entry (`image.dzi`, `image_files/`, `image/`).
    pub tiles: PathBuf,
    /// Degrees clockwise it must be turned to show upright, as the
    /// coverage report says (0 unless it shows turned a quarter).
    pub turn: i32,
}

/// A published site and its photos.
#[derive(Debug, Clone)]
pub struct PublishedSite {
    /// Its slug (the folder name in the website).
    pub slug: Slug,
    /// Titles, summaries, place.
    pub meta: SiteMeta,
    /// Photos with everything built, in archive order.
    pub photos: Vec<PublishedPhoto>,
    /// The sparse stage's entry (`model.glb`, `tour.json`), if the site
    /// has a 3D model.
    pub model: Option<PathBuf>,
}

/// The published sites of the archive, and a note for every photo left
/// out because it is not built yet.
pub fn published_sites(archive: &Archive) -> Result<(Vec<PublishedSite>, Vec<String>)> {
    let cache = BuildCache::new(archive.build_dir());
    let (thumbnails, tiles) = (Thumbnails::default(), Tiles::default());
    let mut sites = Vec::new();
    let mut skipped = Vec::new();
    for site in archive.sites()? {
        let meta = site.meta()?;
        if !meta.published {
            continue;
        }
        let (turned, model) = match heritage_build::model_status(archive, &site)? {
            Some(status) => (status.turned, status.model),
            None => Default::default(),
        };
        let mut photos = Vec::new();
        for photoset in site.photosets()? {
            let record = PhotosetRecord::load(&photoset)?;
            for photo in &record.photos {
                let name = format!("{}/{}", photoset.id(), photo.path);
                let thumbs = cache.entry(PhotoStage::name(&thumbnails), &thumbnails.key(&photo.sha256));
                let pyramid = cache.entry(PhotoStage::name(&tiles), &tiles.key(&photo.sha256));
                if !thumbs.is_dir() || !pyramid.is_dir() {
                    skipped.push(format!("{}/{name}: not built yet (run `heritage build`)", site.slug()));
                    continue;
                }
                let (width, height) = photo.display_size();
                photos.push(PublishedPhoto {
                    turn: turned.get(&name).copied().unwrap_or(0),
                    id: photo.sha256.as_str()[..12].to_string(),
                    name,
                    width,
                    height,
                    captured: photo.exif.as_ref().and_then(|e| e.captured.clone()),
                    contributor: record.contributor.clone(),
                    thumbnails: thumbs,
                    tiles: pyramid,
                });
            }
        }
        sites.push(PublishedSite { slug: site.slug().clone(), meta, photos, model });
    }
    sites.sort_by(|a, b| a.slug.as_str().cmp(b.slug.as_str()));
    Ok((sites, skipped))
}
