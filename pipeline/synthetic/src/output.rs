//! Writing a synthetic photo set: photos with EXIF and the ground truth.

use std::path::Path;

use anyhow::{Context, Result};
use heritage_archive::Progress;
use heritage_archive::atomic::{commit_dir, remove_stale_temps, temp_sibling, write_atomic};
use heritage_export::colmap::{ColmapCamera, ColmapImage, cameras_txt, images_txt, points3d_txt};
use heritage_export::glb::{Mode, Primitive, to_glb};
use heritage_export::ply::to_ply;
use heritage_export::to_gltf_frame;
use heritage_imaging::{ExifSummary, GpsFix, embed_exif_in_jpeg, encode_jpeg};
use serde::Serialize;

use crate::building::site;
use crate::bvh::Bvh;
use crate::camera::Camera;
use crate::garden::{garden, lane_walk};
use crate::geo::{ORIGIN, enu_to_geodetic};
use crate::noise::Rng;
use crate::paths::{FOCAL_35MM, volunteer_walk};
use crate::render::{Exposure, render};
use crate::scene::{Scene, V3};

/// Which site to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// The house, walked around: more photos are denser photos of it.
    #[default]
    House,
    /// A lane along a rock garden, walked at a steady pace: more photos
    /// cover a longer lane (`garden`).
    Garden,
}

/// What to make.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    /// Which site.
    pub layout: Layout,
    /// Number of photos.
    pub photos: usize,
    /// Photo width in pixels.
    pub width: u32,
    /// Photo height in pixels.
    pub height: u32,
    /// Seed of the camera path, exposure and noise.
    pub seed: u64,
    /// Radial distortion `(k1, k2)` of the lens.
    pub distortion: (f64, f64),
    /// Samples per pixel along each axis (anti-aliasing).
    pub samples: u32,
    /// Sensor noise, in 8-bit levels.
    pub noise: f64,
    /// Largest exposure change between photos (0.15 = plus or minus 15 %).
    pub exposure_spread: f64,
    /// Standard deviation (metres) of the GPS fixes' errors on the ground;
    /// heights get three times as much, as a phone's do. 0: exact fixes.
    pub gps_error: f64,
    /// Photos held turned a quarter by a phone that records no EXIF
    /// orientation tag, spread through the set, turned clockwise and
    /// anticlockwise in turn: their files show the site on its side.
    pub turned: usize,
}

impl Default for SynthOptions {
    fn default() -> SynthOptions {
        SynthOptions {
            layout: Layout::House,
            photos: 24,
            width: 1600,
            height: 1067,
            seed: 1,
            distortion: (0.0, 0.0),
            samples: 2,
            noise: 1.5,
            exposure_spread: 0.12,
            gps_error: 0.0,
            turned: 0,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct SynthReport {
    /// Photo file names, in order.
    pub photos: Vec<String>,
    /// Triangles in the scene.
    pub triangles: usize,
    /// Scene extent: the site without its ground.
    pub extent_min: [f64; 3],
    /// See `extent_min`.
    pub extent_max: [f64; 3],
}

/// Pixel size of the simulated sensor, in millimetres (a 1/1.7" phone
/// sensor is about 7.6 mm across).
const SENSOR_WIDTH_MM: f64 = 7.6;

/// Writes `out_dir/photos/IMG_0001.jpg ...` and `out_dir/truth/` (see the
/// crate documentation). Each folder appears whole.
pub fn synthesize(out_dir: &Path, options: &SynthOptions, progress: &dyn Progress) -> Result<SynthReport> {
    let seed = options.seed as i64;
    let (scene, mut cameras) = match options.layout {
        Layout::House => (site(), volunteer_walk(options.photos, options.width, options.height, seed)),
        Layout::Garden => {
            (garden(options.photos, seed), lane_walk(options.photos, options.width, options.height, seed))
        }
    };
    let bvh = Bvh::build(&scene.triangles);
    for camera in &mut cameras {
        (camera.k1, camera.k2) = options.distortion;
    }
    for (k, i) in turned_photos(cameras.len(), options.turned).into_iter().enumerate() {
        cameras[i] = cameras[i].turned(k % 2 == 0);
    }
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    remove_stale_temps(out_dir)?;
    let photos_tmp = temp_sibling(&out_dir.join("photos"));
    std::fs::create_dir(&photos_tmp)?;
    let mut rng = Rng::new(&[seed, 0xe4905e]);
    let mut names = Vec::new();
    progress.start("rendering", cameras.len() as u64);
    for (i, camera) in cameras.iter().enumerate() {
        let exposure = Exposure {
            samples: options.samples,
            gain: 1.0 + options.exposure_spread * rng.range(-1.0, 1.0),
            noise: options.noise,
            seed: seed * 1_000_003 + i as i64,
        };
        let image = render(&scene, &bvh, camera, &exposure);
        let jpeg = encode_jpeg(&image, 92).map_err(anyhow::Error::msg)?;
        let jpeg =
            embed_exif_in_jpeg(&jpeg, &exif_for(camera, i, seed, options.gps_error)).map_err(anyhow::Error::msg)?;
        let name = format!("IMG_{:04}.jpg", i + 1);
        std::fs::write(photos_tmp.join(&name), jpeg)?;
        names.push(name);
        progress.advance(1);
    }
    progress.finish();
    let truth_tmp = temp_sibling(&out_dir.join("truth"));
    std::fs::create_dir(&truth_tmp)?;
    let report = write_truth(&truth_tmp, &scene, &cameras, &names, options)?;
    commit_dir(&photos_tmp, &out_dir.join("photos"))?;
    commit_dir(&truth_tmp, &out_dir.join("truth"))?;
    Ok(report)
}

/// Which of `photos` photos are held turned when `turned` are: spread
/// evenly, one in the middle of each of `turned` runs of photos.
fn turned_photos(photos: usize, turned: usize) -> Vec<usize> {
    let turned = turned.min(photos);
    (0..turned).map(|k| (2 * k + 1) * photos / (2 * turned)).collect()
}

/// EXIF of photo `index`: a phone camera, 26 mm equivalent, a capture
/// time, and the GPS position of the camera centre, off by chance errors
/// of `gps_error` metres on the ground and three times that in height.
fn exif_for(camera: &Camera, index: usize, seed: i64, gps_error: f64) -> ExifSummary {
    let mut rng = Rng::new(&[seed, index as i64, 0x6750_5300]);
    let error = V3::new(rng.normal(), rng.normal(), 3.0 * rng.normal()) * gps_error;
    let c = camera.center() + error;
    let (latitude, longitude, altitude) = enu_to_geodetic(ORIGIN, c.x, c.y, c.z);
    let long_side = f64::from(camera.width.max(camera.height));
    let seconds = 8 * 3600 + (seed.rem_euclid(50) * 60) as usize + index * 41;
    ExifSummary {
        captured: Some(format!("2026-11-20T{:02}:{:02}:{:02}+07:00", seconds / 3600, seconds / 60 % 60, seconds % 60)),
        make: Some("Heritage".into()),
        model: Some("Synthetic Phone 26mm".into()),
        focal_length_mm: Some(camera.focal / long_side * SENSOR_WIDTH_MM),
        focal_length_35mm: Some(FOCAL_35MM),
        focal_plane_px_per_mm: Some(long_side / SENSOR_WIDTH_MM),
        orientation: 1,
        gps: Some(GpsFix { latitude, longitude, altitude: Some(altitude) }),
        pixel_width: Some(camera.width),
        pixel_height: Some(camera.height),
    }
}

fn write_truth(
    dir: &Path,
    scene: &Scene,
    cameras: &[Camera],
    names: &[String],
    options: &SynthOptions,
) -> Result<SynthReport> {
    // One COLMAP camera for each way the photos were held.
    let mut colmap_cameras: Vec<ColmapCamera> = Vec::new();
    let mut images = Vec::new();
    for (i, (c, name)) in cameras.iter().zip(names).enumerate() {
        let params = vec![c.focal, c.cx, c.cy, c.k1, c.k2];
        let known = colmap_cameras.iter().find(|k| (k.width, k.height, &k.params) == (c.width, c.height, &params));
        let camera_id = match known {
            Some(known) => known.id,
            None => {
                let id = colmap_cameras.len() as u32 + 1;
                colmap_cameras.push(ColmapCamera {
                    id,
                    model: "RADIAL".into(),
                    width: c.width,
                    height: c.height,
                    params,
                });
                id
            }
        };
        images.push(ColmapImage {
            id: i as u32 + 1,
            qvec: c.quaternion(),
            tvec: [c.translation.x, c.translation.y, c.translation.z],
            camera_id,
            name: name.clone(),
            points: Vec::new(),
        });
    }
    write_atomic(&dir.join("cameras.txt"), cameras_txt(&colmap_cameras).as_bytes())?;
    write_atomic(&dir.join("images.txt"), images_txt(&images).as_bytes())?;
    write_atomic(&dir.join("points3D.txt"), points3d_txt(&[]).as_bytes())?;

    let mut positions = Vec::new();
    let mut colors = Vec::new();
    let mut faces = Vec::new();
    let (mut min, mut max) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for t in &scene.triangles {
        let c = t.material.base_color().map(|v| (linear_to_srgb(v) * 255.0).round() as u8);
        let base = positions.len() as u32;
        for p in &t.p {
            positions.push([p.x, p.y, p.z]);
            colors.push(c);
            if t.object != 1 {
                for k in 0..3 {
                    min[k] = min[k].min(p[k]);
                    max[k] = max[k].max(p[k]);
                }
            }
        }
        faces.push([base, base + 1, base + 2]);
    }
    write_atomic(&dir.join("mesh.ply"), &to_ply(&positions, &colors, &faces))?;
    let mesh = Primitive {
        name: "site".into(),
        positions: positions.iter().map(|p| to_gltf_frame(*p)).collect(),
        normals: Some(scene.triangles.iter().flat_map(|t| [to_gltf_frame(t.normal().into()); 3]).collect()),
        colors: Some(colors.iter().map(|c| [c[0], c[1], c[2], 255]).collect()),
        indices: None,
        mode: Mode::Triangles,
        base_color: [1.0; 4],
    };
    write_atomic(&dir.join("mesh.glb"), &to_glb(&[mesh], "heritage synthetic site"))?;

    let report =
        SynthReport { photos: names.to_vec(), triangles: scene.triangles.len(), extent_min: min, extent_max: max };
    let info = serde_json::json!({
        "units": "metres",
        "frame": "x east, y north, z up (COLMAP cameras: world to camera, x right, y down, z forward)",
        "origin": { "latitude": ORIGIN.0, "longitude": ORIGIN.1, "altitude": ORIGIN.2 },
        "extent": { "min": min, "max": max, "diagonal": ((max[0]-min[0]).powi(2) + (max[1]-min[1]).powi(2) + (max[2]-min[2]).powi(2)).sqrt() },
        "layout": options.layout,
        "photos": names.len(),
        "size": [options.width, options.height],
        "seed": options.seed,
        "distortion": [options.distortion.0, options.distortion.1],
        "gps_error": options.gps_error,
        "turned": options.turned,
        "triangles": scene.triangles.len(),
    });
    write_atomic(&dir.join("scene.json"), serde_json::to_string_pretty(&info)?.as_bytes())?;
    Ok(report)
}

fn linear_to_srgb(v: f64) -> f64 {
    if v <= 0.003_130_8 { 12.92 * v } else { 1.055 * v.powf(1.0 / 2.4) - 0.055 }
}
