//! The files of a sparse reconstruction: a COLMAP text model per model
//! (`sparse/0`, `sparse/1`...), and for the largest one coloured points
//! (`points.ply`), points and camera frusta as glTF (`model.glb`), the
//! viewer's `tour.json`, and the coverage report (`coverage.json`,
//! `coverage.txt`).

use std::collections::HashMap;
use std::path::Path;

use heritage_export::colmap::{ColmapCamera, ColmapImage, ColmapPoint, cameras_txt, images_txt, points3d_txt};
use heritage_export::glb::{Mode, Primitive, to_glb};
use heritage_export::ply::to_ply;
use heritage_export::to_gltf_frame;
use nalgebra::{Matrix3, Rotation3, UnitQuaternion, Vector3};
use serde::Serialize;

use crate::frontend::{FrontEnd, PhotoInfo};
use crate::mapper::{Reconstruction, reprojection_error};
use crate::orient::Frame;
use crate::sift::Features;
use crate::sparse::Sparse;

/// File names in a model folder.
pub const PLY_FILE: &str = "points.ply";
/// The glTF model of points and cameras.
pub const GLB_FILE: &str = "model.glb";
/// The viewer's photo tour.
pub const TOUR_FILE: &str = "tour.json";
/// The coverage report for scripts.
pub const COVERAGE_JSON: &str = "coverage.json";
/// The coverage report for people.
pub const COVERAGE_TEXT: &str = "coverage.txt";

/// Colour of a frustum in the glTF model (sRGB).
const FRUSTUM_COLOR: [u8; 4] = [230, 90, 40, 255];
/// Most neighbours a photo of the tour lists.
const TOUR_NEIGHBOURS: usize = 4;

/// The photos and features a model was made from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The photos.
    pub photos: &'a [PhotoInfo],
    /// Their features.
    pub features: &'a [Features],
    /// The front end's cameras and pairs.
    pub front: &'a FrontEnd,
}

/// Mean colour of a point's observations (grey when features carry none).
fn point_color(inputs: &Inputs, observations: &[(u32, u32)]) -> [u8; 3] {
    let mut sum = [0u32; 3];
    let mut n = 0;
    for &(photo, feature) in observations {
        if let Some(c) = inputs.features[photo as usize].colors.get(feature as usize) {
            for k in 0..3 {
                sum[k] += u32::from(c[k]);
            }
            n += 1;
        }
    }
    if n == 0 { [128; 3] } else { sum.map(|s| ((s + n / 2) / n) as u8) }
}

/// One model as COLMAP text files (RADIAL cameras): cameras, images, points.
pub fn colmap_model(inputs: &Inputs, model: &Reconstruction) -> [String; 3] {
    let cameras: Vec<ColmapCamera> = model
        .cameras
        .iter()
        .zip(&inputs.front.cameras)
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
    let colmap_points: Vec<ColmapPoint> = model
        .points
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let mut error = 0.0;
            for &(photo, feature) in &p.observations {
                point_of.insert((photo, feature), k as u64 + 1);
                let i = photo as usize;
                let camera = &model.cameras[inputs.front.camera_of[i]];
                let pose = model.poses[i].as_ref().expect("observed by a registered photo");
                let k = &inputs.features[i].keypoints[feature as usize];
                error += reprojection_error(camera, pose, &p.position, &[f64::from(k.x), f64::from(k.y)]);
            }
            ColmapPoint {
                id: k as u64 + 1,
                xyz: [p.position.x, p.position.y, p.position.z],
                rgb: point_color(inputs, &p.observations),
                error: error / p.observations.len() as f64,
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
            let observations = inputs.features[i]
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
                camera_id: inputs.front.camera_of[i] as u32 + 1,
                name: inputs.photos[i].name.clone(),
                points: observations,
            })
        })
        .collect();
    [cameras_txt(&cameras), images_txt(&images), points3d_txt(&colmap_points)]
}

/// Site frame (x east, y north, z up) to glTF's (y up) as a matrix.
fn gltf_axes() -> Matrix3<f64> {
    Matrix3::new(1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.0)
}

/// Orientation of photo `pose`'s camera as a glTF/three.js camera (looking
/// down its -z, +y up) in glTF's frame.
fn gltf_camera_rotation(rotation: &Rotation3<f64>) -> UnitQuaternion<f64> {
    let flip = Matrix3::from_diagonal(&Vector3::new(1.0, -1.0, -1.0));
    let m = gltf_axes() * rotation.inverse().matrix() * flip;
    UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix_unchecked(m))
}

/// The view (as `gltf_camera_rotation`) that shows the photo of camera
/// `rotation` turned `turn` degrees clockwise: the camera rolled
/// anticlockwise about its axis by as much.
fn upright_view(rotation: &Rotation3<f64>, turn: i32) -> UnitQuaternion<f64> {
    gltf_camera_rotation(rotation) * UnitQuaternion::from_axis_angle(&Vector3::z_axis(), f64::from(turn).to_radians())
}

/// A robust size of the model: the larger spread (5th to 95th
/// percentile) of its points along the three axes.
fn model_extent(model: &Reconstruction) -> f64 {
    (0..3)
        .map(|k| {
            let mut v: Vec<f64> = model.points.iter().map(|p| p.position[k]).collect();
            if v.is_empty() {
                return 0.0;
            }
            v.sort_by(f64::total_cmp);
            v[(v.len() - 1) * 95 / 100] - v[(v.len() - 1) * 5 / 100]
        })
        .fold(0.0, f64::max)
}

/// An sRGB byte as a linear one: glTF vertex colours are linear.
fn srgb_to_linear(value: u8) -> u8 {
    let c = f64::from(value) / 255.0;
    let linear = if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) };
    (linear * 255.0).round() as u8
}

/// The glTF model: coloured points (linear colours, as glTF wants) and a
/// wireframe frustum per photo.
pub fn model_glb(inputs: &Inputs, model: &Reconstruction) -> Vec<u8> {
    let points = Primitive {
        name: "points".into(),
        positions: model.points.iter().map(|p| to_gltf_frame(p.position.into())).collect(),
        normals: None,
        colors: Some(
            model
                .points
                .iter()
                .map(|p| {
                    let [r, g, b] = point_color(inputs, &p.observations).map(srgb_to_linear);
                    [r, g, b, 255]
                })
                .collect(),
        ),
        indices: None,
        mode: Mode::Points,
        base_color: [1.0; 4],
    };
    let depth = (model_extent(model) * 0.03).max(1e-6);
    let mut positions = Vec::new();
    let mut indices = Vec::new();
    for (i, pose) in model.poses.iter().enumerate() {
        let Some((r, t)) = pose else { continue };
        let camera = &model.cameras[inputs.front.camera_of[i]];
        let (w, h) = (f64::from(inputs.photos[i].width), f64::from(inputs.photos[i].height));
        let centre = -(r.inverse() * t);
        let base = positions.len() as u32;
        positions.push(to_gltf_frame(centre.into()));
        for (x, y) in [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)] {
            let ray = Vector3::new((x - camera.cx) / camera.focal, (y - camera.cy) / camera.focal, 1.0);
            positions.push(to_gltf_frame((centre + r.inverse() * ray * depth).into()));
        }
        for k in 1..=4u32 {
            indices.extend([base, base + k, base + k, base + k % 4 + 1]);
        }
    }
    let frusta = Primitive {
        name: "cameras".into(),
        colors: Some(vec![FRUSTUM_COLOR.map(srgb_to_linear); positions.len()]),
        positions,
        normals: None,
        indices: Some(indices),
        mode: Mode::Lines,
        base_color: [1.0; 4],
    };
    let parts: Vec<Primitive> = [points, frusta].into_iter().filter(|p| !p.positions.is_empty()).collect();
    to_glb(&parts, "heritage")
}

/// One photo of the tour.
#[derive(Debug, Clone, Serialize)]
pub struct TourPhoto {
    /// Photo name (photo set / file).
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Degrees clockwise the photo must be turned to show upright: -90 or
    /// 90 for one turned a quarter without an EXIF orientation tag, else 0.
    pub turn: i32,
    /// Vertical field of view in degrees of the photo shown upright.
    pub fov_y: f64,
    /// Camera centre in glTF's frame.
    pub position: [f64; 3],
    /// Orientation in glTF's frame of the view that shows the photo
    /// upright, as three.js wants it: `(x, y, z, w)`, the camera looking
    /// down its -z with +y up (the camera's own orientation rolled about
    /// its axis by `turn`).
    pub quaternion: [f64; 4],
    /// Indices of the photos nearest in pose, nearest first.
    pub neighbours: Vec<usize>,
}

/// The viewer's tour: the largest model's registered photos with poses.
#[derive(Debug, Clone, Serialize)]
pub struct Tour {
    /// Format version.
    pub version: u32,
    /// The model frame (east-north-up metres with a geographic origin, or levelled).
    pub frame: Frame,
    /// The glTF file of the model, beside this one.
    pub model: &'static str,
    /// Robust size of the model (same units as positions).
    pub extent: f64,
    /// Centre of the points (glTF frame).
    pub centre: [f64; 3],
    /// The photos.
    pub photos: Vec<TourPhoto>,
}

/// Neighbours of each tour photo: the nearest by centre distance plus
/// viewing-direction difference, among those facing within 75 degrees.
fn tour_neighbours(photos: &[TourPhoto], extent: f64) -> Vec<Vec<usize>> {
    let forward = |p: &TourPhoto| {
        let [x, y, z, w] = p.quaternion;
        UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(w, x, y, z)) * -Vector3::z()
    };
    (0..photos.len())
        .map(|i| {
            let (ci, fi) = (Vector3::from(photos[i].position), forward(&photos[i]));
            let mut scored: Vec<(f64, usize)> = (0..photos.len())
                .filter(|&j| j != i)
                .filter_map(|j| {
                    let angle = fi.angle(&forward(&photos[j]));
                    let distance = (Vector3::from(photos[j].position) - ci).norm();
                    (angle < 75f64.to_radians()).then_some((distance / extent.max(1e-9) + angle, j))
                })
                .collect();
            scored.sort_by(|a, b| a.0.total_cmp(&b.0));
            scored.into_iter().take(TOUR_NEIGHBOURS).map(|(_, j)| j).collect()
        })
        .collect()
}

/// The tour of `model` in `frame`, each photo shown upright after its
/// `turns` (degrees clockwise, as `PhotoCoverage::turn`).
pub fn tour(inputs: &Inputs, model: &Reconstruction, frame: &Frame, turns: &[i32]) -> Tour {
    let mut photos: Vec<TourPhoto> = model
        .poses
        .iter()
        .enumerate()
        .filter_map(|(i, pose)| {
            let (r, _) = pose.as_ref()?;
            let camera = &model.cameras[inputs.front.camera_of[i]];
            let photo = &inputs.photos[i];
            let centre = gltf_axes() * model.centre(i)?;
            let turn = turns.get(i).copied().unwrap_or(0);
            let q = upright_view(r, turn);
            let upright_height = if turn % 180 == 0 { photo.height } else { photo.width };
            Some(TourPhoto {
                name: photo.name.clone(),
                width: photo.width,
                height: photo.height,
                turn,
                fov_y: 2.0 * (f64::from(upright_height) / 2.0 / camera.focal).atan().to_degrees(),
                position: centre.into(),
                quaternion: [q.i, q.j, q.k, q.w],
                neighbours: Vec::new(),
            })
        })
        .collect();
    let extent = model_extent(model);
    let neighbours = tour_neighbours(&photos, extent);
    for (photo, neighbours) in photos.iter_mut().zip(neighbours) {
        photo.neighbours = neighbours;
    }
    let n = model.points.len().max(1) as f64;
    let centre = gltf_axes() * (model.points.iter().map(|p| p.position).sum::<Vector3<f64>>() / n);
    Tour { version: 2, frame: frame.clone(), model: GLB_FILE, extent, centre: centre.into(), photos }
}

/// Writes every file of `result` into the folder `dir` (which must exist).
pub fn write_model_files(dir: &Path, inputs: &Inputs, result: &Sparse) -> std::io::Result<()> {
    for (m, model) in result.models.iter().enumerate() {
        let folder = dir.join("sparse").join(m.to_string());
        std::fs::create_dir_all(&folder)?;
        let [cameras, images, points3d] = colmap_model(inputs, model);
        std::fs::write(folder.join("cameras.txt"), cameras)?;
        std::fs::write(folder.join("images.txt"), images)?;
        std::fs::write(folder.join("points3D.txt"), points3d)?;
    }
    if let (Some(model), Some(frame)) = (result.models.first(), result.frames.first()) {
        let turns: Vec<i32> = result.coverage.photos.iter().map(|p| p.turn).collect();
        let xyz: Vec<[f64; 3]> = model.points.iter().map(|p| p.position.into()).collect();
        let rgb: Vec<[u8; 3]> = model.points.iter().map(|p| point_color(inputs, &p.observations)).collect();
        std::fs::write(dir.join(PLY_FILE), to_ply(&xyz, &rgb, &[]))?;
        std::fs::write(dir.join(GLB_FILE), model_glb(inputs, model))?;
        std::fs::write(dir.join(TOUR_FILE), serde_json::to_vec_pretty(&tour(inputs, model, frame, &turns))?)?;
    }
    std::fs::write(dir.join(COVERAGE_JSON), serde_json::to_vec_pretty(&result.coverage)?)?;
    std::fs::write(dir.join(COVERAGE_TEXT), result.coverage.to_text())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vertex_colours_are_linear() {
        assert_eq!(srgb_to_linear(0), 0);
        assert_eq!(srgb_to_linear(255), 255);
        // sRGB middle grey is about 21 % linear.
        assert_eq!(srgb_to_linear(128), 55);
    }

    #[test]
    fn a_camera_looking_north_looks_down_gltf_minus_z() {
        // Site frame: looking north (+y), image down is -z (world down).
        let r = Rotation3::from_matrix_unchecked(Matrix3::new(1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0));
        let q = gltf_camera_rotation(&r);
        // glTF: north is -z, up is +y.
        assert!((q * -Vector3::z() - Vector3::new(0.0, 0.0, -1.0)).norm() < 1e-12);
        assert!((q * Vector3::y() - Vector3::y()).norm() < 1e-12);
        assert!((q * Vector3::x() - Vector3::x()).norm() < 1e-12);
    }

    #[test]
    fn a_photo_turned_a_quarter_is_viewed_upright() {
        // Looking north with the camera's rows pointing up (the sky at the
        // photo's right, the west at its top): it shows upright turned 90°
        // anticlockwise.
        let r = Rotation3::from_matrix_unchecked(Matrix3::new(0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0));
        let as_taken = gltf_camera_rotation(&r);
        assert!((as_taken * Vector3::x() - Vector3::y()).norm() < 1e-12);
        let q = upright_view(&r, -90);
        assert!((q * -Vector3::z() - Vector3::new(0.0, 0.0, -1.0)).norm() < 1e-12);
        assert!((q * Vector3::y() - Vector3::y()).norm() < 1e-12);
        assert!((q * Vector3::x() - Vector3::x()).norm() < 1e-12);
        // Turned the other way, the view would be upside down.
        assert!((upright_view(&r, 90) * Vector3::y() + Vector3::y()).norm() < 1e-12);
    }
}
