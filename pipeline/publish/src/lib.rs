//! `heritage publish` and `heritage serve`: the static website of the
//! published sites (home page with search, a page per site with a
//! deep-zoom gallery, IIIF manifests), built in a temporary folder and
//! swapped in whole, and a preview server that serves only that folder.

pub mod collect;
pub mod html;
pub mod iiif;
pub mod pages;
pub mod serve;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use heritage_archive::Archive;
use heritage_archive::atomic::{commit_dir, remove_stale_temps, temp_sibling};
use serde::Serialize;

use crate::collect::{PublishedSite, published_sites};
use heritage_build::Thumbnails;
use heritage_build::matching::{GLB_FILE, TOUR_FILE};
use heritage_build::thumbnails::{PREVIEW, THUMBNAIL};

/// Our own viewer files, embedded in the binary.
const VIEWER_FILES: [(&str, &str); 6] = [
    ("icon.svg", include_str!("../../../assets/icon.svg")),
    ("heritage.css", include_str!("../../../viewer/src/heritage.css")),
    ("lang.js", include_str!("../../../viewer/src/lang.js")),
    ("home.js", include_str!("../../../viewer/src/home.js")),
    ("site.js", include_str!("../../../viewer/src/site.js")),
    ("model.js", include_str!("../../../viewer/src/model.js")),
];

/// Where `npm ci --prefix viewer` puts the viewer's libraries in a checkout.
pub const DEFAULT_VIEWER_LIBS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../viewer/node_modules");

/// The library files a website needs, relative to `node_modules`, copied
/// to the same path under `viewer/lib/`: OpenSeadragon, and three.js with
/// the addons the 3D view imports (and what they import).
pub const LIBRARY_FILES: [&str; 9] = [
    "openseadragon/build/openseadragon/openseadragon.min.js",
    "three/build/three.module.js",
    "three/build/three.core.js",
    "three/examples/jsm/loaders/GLTFLoader.js",
    "three/examples/jsm/utils/BufferGeometryUtils.js",
    "three/examples/jsm/utils/SkeletonUtils.js",
    "three/examples/jsm/controls/OrbitControls.js",
    "three/examples/jsm/libs/meshopt_decoder.module.js",
    "three/LICENSE",
];

/// OpenSeadragon's button images, a folder copied whole.
const OSD_IMAGES: &str = "openseadragon/build/openseadragon/images";

/// Settings of a publication.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// The folder the website is written to (replaced whole).
    pub out: PathBuf,
    /// The URL the website will be served from (IIIF ids are absolute).
    pub base_url: String,
    /// The viewer's `node_modules` folder (OpenSeadragon, three.js).
    pub viewer_libs: PathBuf,
}

/// What a publication wrote.
#[derive(Debug, Clone, Serialize)]
pub struct PublishReport {
    /// The folder written.
    pub out: PathBuf,
    /// Each published site and its number of photos.
    pub sites: Vec<(String, usize)>,
    /// Photos left out, with why.
    pub skipped: Vec<String>,
}

/// Links `from` at `to` (no bytes copied); copies across file systems.
fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}

/// Links every file below `from` into `to`, except the files `skip` names.
fn link_tree(from: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            link_tree(&source, &target, skip)?;
        } else if !skip(&source) {
            link_or_copy(&source, &target)?;
        }
    }
    Ok(())
}

/// Writes one site's folder: page, manifest, photos (linked from the
/// build cache; IIIF `info.json` rewritten with its public id).
fn write_site(site: &PublishedSite, dir: &Path, base_url: &str) -> Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join("index.html"), pages::site_page(site))?;
    fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(&iiif::manifest(site, base_url))?)?;
    let site_url = iiif::site_url(base_url, site.slug.as_str());
    for photo in &site.photos {
        let out = dir.join("photos").join(&photo.id);
        fs::create_dir_all(&out)?;
        for name in [THUMBNAIL, PREVIEW] {
            if photo.turn == 0 {
                link_or_copy(&photo.thumbnails.join(name), &out.join(name))?;
            } else {
                Thumbnails::default().write_turned(&photo.thumbnails, name, photo.turn, &out.join(name))?;
            }
        }
        let info_json = |p: &Path| p.file_name().is_some_and(|n| n == "info.json");
        link_tree(&photo.tiles, &out, &info_json)?;
        let info_path = photo.tiles.join("image/info.json");
        let mut info: serde_json::Value = serde_json::from_slice(&fs::read(&info_path)?)
            .with_context(|| format!("reading {}", info_path.display()))?;
        info["id"] = serde_json::Value::String(format!("{site_url}/photos/{}/image", photo.id));
        fs::write(out.join("image/info.json"), serde_json::to_vec_pretty(&info)?)?;
    }
    if let Some(model) = &site.model {
        let out = dir.join("model");
        fs::create_dir_all(&out)?;
        link_or_copy(&model.join(GLB_FILE), &out.join(GLB_FILE))?;
        fs::write(out.join(TOUR_FILE), serde_json::to_vec(&public_tour(site, model)?)?)?;
    }
    Ok(())
}

/// The sparse stage's `tour.json` for the website: each photo gets the id
/// of its published folder (`null` if it is not published).
fn public_tour(site: &PublishedSite, model: &Path) -> Result<serde_json::Value> {
    let path = model.join(TOUR_FILE);
    let mut tour: serde_json::Value =
        serde_json::from_slice(&fs::read(&path)?).with_context(|| format!("reading {}", path.display()))?;
    for photo in tour["photos"].as_array_mut().into_iter().flatten() {
        let id = site.photos.iter().find(|p| photo["name"] == p.name.as_str()).map(|p| p.id.clone());
        photo["id"] = id.into();
    }
    Ok(tour)
}

/// Fails, saying how to install them, unless the viewer's libraries are
/// all in `viewer_libs` (a `node_modules` folder).
pub fn check_viewer_libs(viewer_libs: &Path) -> Result<()> {
    if let Some(missing) = LIBRARY_FILES.iter().map(|f| viewer_libs.join(f)).find(|p| !p.is_file()) {
        bail!(
            "the viewer's libraries are not installed ({} is missing): run `npm ci --prefix viewer` in the \
             heritage checkout, or give its node_modules folder with --viewer-libs",
            missing.display()
        );
    }
    Ok(())
}

/// Publishes the archive's published sites into `options.out`: built in
/// a temporary folder next to it and swapped in whole, so visitors never
/// see half a site and nothing of an unpublished site remains.
pub fn publish(archive: &Archive, options: &PublishOptions) -> Result<PublishReport> {
    check_viewer_libs(&options.viewer_libs)?;
    let _lock = archive.lock("publishing")?;
    let (sites, skipped) = published_sites(archive)?;
    if let Some(parent) = options.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
        remove_stale_temps(parent)?;
    }
    let temp = temp_sibling(&options.out);
    fs::create_dir(&temp).with_context(|| format!("creating {}", temp.display()))?;
    let viewer = temp.join("viewer");
    fs::create_dir(&viewer)?;
    for (name, text) in VIEWER_FILES {
        fs::write(viewer.join(name), text)?;
    }
    for file in LIBRARY_FILES {
        let target = viewer.join("lib").join(file);
        fs::create_dir_all(target.parent().expect("library files are in folders"))?;
        link_or_copy(&options.viewer_libs.join(file), &target)?;
    }
    link_tree(&options.viewer_libs.join(OSD_IMAGES), &viewer.join("lib").join(OSD_IMAGES), &|_| false)?;
    fs::write(temp.join("index.html"), pages::home_page(&sites))?;
    for site in &sites {
        write_site(site, &temp.join("sites").join(site.slug.as_str()), &options.base_url)?;
    }
    commit_dir(&temp, &options.out).with_context(|| format!("replacing {}", options.out.display()))?;
    Ok(PublishReport {
        out: options.out.clone(),
        sites: sites.iter().map(|s| (s.slug.to_string(), s.photos.len())).collect(),
        skipped,
    })
}
