//! `heritage reconstruct`: from a folder of photos to a sparse model
//! (cameras, poses, points) in COLMAP's text format.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::{Context, Result};
use heritage_archive::atomic::{commit_dir, temp_sibling};
use heritage_export::colmap::{ColmapCamera, ColmapImage, ColmapPoint, cameras_txt, images_txt, points3d_txt};
use heritage_sfm::bundle::BaCamera;
use heritage_sfm::frontend::points;
use heritage_sfm::mapper::{MapperOptions, Reconstruction, reconstruct};
use nalgebra::UnitQuaternion;
use serde::Serialize;

use super::match_photos::{MatchArgs, Matched, match_folder};
use super::print_json;
use crate::progress::Bars;

/// What `heritage reconstruct` reports.
#[derive(Debug, Serialize)]
struct ReconstructReport {
    photos: usize,
    registered: usize,
    unregistered: Vec<String>,
    points: usize,
    model: std::path::PathBuf,
}

/// The model as COLMAP text files (RADIAL cameras).
fn colmap_model(matched: &Matched, model: &Reconstruction) -> (String, String, String) {
    let cameras: Vec<ColmapCamera> = model
        .cameras
        .iter()
        .zip(&matched.front.cameras)
        .enumerate()
        .map(|(i, (c, prior))| ColmapCamera {
            id: i as u32 + 1,
            model: "RADIAL".into(),
            width: prior.width,
            height: prior.height,
            params: vec![c.focal, c.cx, c.cy, c.k1, c.k2],
        })
        .collect();
    let mut point_of: HashMap<(u32, u32), u64> = HashMap::new();
    let points: Vec<ColmapPoint> = model
        .points
        .iter()
        .enumerate()
        .map(|(k, p)| {
            for &f in &p.observations {
                point_of.insert(f, k as u64 + 1);
            }
            ColmapPoint {
                id: k as u64 + 1,
                xyz: [p.position.x, p.position.y, p.position.z],
                rgb: [128, 128, 128],
                error: 0.0,
                track: p.observations.iter().map(|&(photo, feature)| (photo + 1, feature)).collect(),
            }
        })
        .collect();
    let images: Vec<ColmapImage> = model
        .poses
        .iter()
        .enumerate()
        .filter_map(|(i, pose)| {
            let (r, t) = pose.as_ref()?;
            let q = UnitQuaternion::from_rotation_matrix(r);
            let observations = matched.features[i]
                .keypoints
                .iter()
                .enumerate()
                .map(|(f, k)| {
                    let id = point_of.get(&(i as u32, f as u32)).map_or(-1, |&id| id as i64);
                    (f64::from(k.x), f64::from(k.y), id)
                })
                .collect();
            Some(ColmapImage {
                id: i as u32 + 1,
                qvec: [q.w, q.i, q.j, q.k],
                tvec: [t.x, t.y, t.z],
                camera_id: matched.front.camera_of[i] as u32 + 1,
                name: matched.photos[i].name.clone(),
                points: observations,
            })
        })
        .collect();
    (cameras_txt(&cameras), images_txt(&images), points3d_txt(&points))
}

/// Runs `heritage reconstruct`.
pub fn run(args: MatchArgs) -> Result<ExitCode> {
    let bars = Bars::new(!args.json);
    let matched = match_folder(&args, &bars)?;
    let cameras: Vec<BaCamera> = matched
        .front
        .cameras
        .iter()
        .map(|c| BaCamera { focal: c.intrinsics.focal, cx: c.intrinsics.cx, cy: c.intrinsics.cy, k1: 0.0, k2: 0.0 })
        .collect();
    let keypoints: Vec<_> = matched.features.iter().map(points).collect();
    // A camera matrix from K.txt is known: keep it.
    let options = MapperOptions { refine_intrinsics: matched.given.is_none(), ..Default::default() };
    let model = reconstruct(&cameras, &matched.front.camera_of, &keypoints, &matched.front.pairs, &options)
        .context("no pair of photos could start a model: too few matches, or too little parallax between them")?;
    let (cameras_text, images_text, points_text) = colmap_model(&matched, &model);
    let sparse = args.out_dir.join("sparse");
    let temp = temp_sibling(&sparse);
    std::fs::create_dir_all(&temp)?;
    std::fs::write(temp.join("cameras.txt"), cameras_text)?;
    std::fs::write(temp.join("images.txt"), images_text)?;
    std::fs::write(temp.join("points3D.txt"), points_text)?;
    commit_dir(&temp, &sparse)?;
    let unregistered: Vec<String> = model
        .poses
        .iter()
        .zip(&matched.photos)
        .filter(|(pose, _)| pose.is_none())
        .map(|(_, photo)| photo.name.clone())
        .collect();
    let report = ReconstructReport {
        photos: matched.photos.len(),
        registered: matched.photos.len() - unregistered.len(),
        unregistered,
        points: model.points.len(),
        model: sparse,
    };
    if args.json {
        print_json(&report)?;
    } else {
        println!("{} of {} photos registered, {} points.", report.registered, report.photos, report.points);
        for name in &report.unregistered {
            println!("  not registered: {name}");
        }
        println!("Wrote {} (COLMAP text model)", report.model.display());
    }
    Ok(ExitCode::SUCCESS)
}
