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
/// Most photos a photo of the tour lists each way.
const TOUR_STEP_PHOTOS: usize = 4;

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
    /// Indices of the photos to its left, as the tour's arrows go there:
    /// the nearest first.
    pub left: Vec<usize>,
    /// Indices of the photos to its right, the nearest first.
    pub right: Vec<usize>,
    /// Indices of the photos taken closer, ahead, the nearest first.
    pub closer: Vec<usize>,
    /// Indices of the photos taken farther back, the nearest first.
    pub farther: Vec<usize>,
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

/// Where the tour's arrows go from each photo: the photos to its left,
/// to its right, closer ahead and farther back, among those facing within
/// 75 degrees, the nearest first (and of photos taken from about one
/// place, the least turned). A photo is to one side when it was taken
/// from there (the step to it more than `SIDE_SINE` along the photo's
/// rows), or, taken from about the same place, looks that way; it is
/// closer or farther when the step to it runs within 45 degrees of the
/// view, forward or back. The nearest, not the farthest, so that stepping
/// one way passes every photo that way.
fn tour_steps(photos: &[TourPhoto], extent: f64) -> Vec<[Vec<usize>; 4]> {
    let extent = extent.max(1e-9);
    let axes = |p: &TourPhoto| {
        let [x, y, z, w] = p.quaternion;
        let q = UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(w, x, y, z));
        (Vector3::from(p.position), q * -Vector3::z(), q * Vector3::x())
    };
    (0..photos.len())
        .map(|i| {
            let (ci, fi, ri) = axes(&photos[i]);
            // Left, right, closer, farther.
            let mut ways: [Vec<(f64, usize)>; 4] = Default::default();
            for j in (0..photos.len()).filter(|&j| j != i) {
                let (cj, fj, _) = axes(&photos[j]);
                let angle = fi.angle(&fj);
                if angle >= 75f64.to_radians() {
                    continue;
                }
                let step = cj - ci;
                let distance = step.norm();
                let cost = distance / extent + SAME_PLACE * angle;
                let same_place = distance <= SAME_PLACE * extent;
                // How far to the right: where it stands, or where it looks.
                let right = if same_place { fj.dot(&ri) } else { step.dot(&ri) / distance };
                if right.abs() > SIDE_SINE {
                    ways[usize::from(right > 0.0)].push((cost, j));
                }
                let ahead = step.dot(&fi) / distance;
                if !same_place && ahead.abs() > std::f64::consts::FRAC_1_SQRT_2 {
                    ways[if ahead > 0.0 { 2 } else { 3 }].push((cost, j));
                }
            }
            ways.map(|mut way| {
                way.sort_by(|a, b| a.0.total_cmp(&b.0));
                way.into_iter().take(TOUR_STEP_PHOTOS).map(|(_, j)| j).collect()
            })
        })
        .collect()
}

/// Photos closer than this share of the model's extent were taken from
/// the same place.
const SAME_PLACE: f64 = 0.02;
/// A photo is to one side of another when the step to it, or its view,
/// leans more than this (the sine of 15 degrees) along the other's rows.
const SIDE_SINE: f64 = 0.26;

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
                left: Vec::new(),
                right: Vec::new(),
                closer: Vec::new(),
                farther: Vec::new(),
            })
        })
        .collect();
    let extent = model_extent(model);
    let steps = tour_steps(&photos, extent);
    for (photo, [left, right, closer, farther]) in photos.iter_mut().zip(steps) {
        (photo.left, photo.right, photo.closer, photo.farther) = (left, right, closer, farther);
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

    /// A tour photo taken from `centre` looking at `target` (site frame).
    fn tour_photo(centre: Vector3<f64>, target: Vector3<f64>) -> TourPhoto {
        let q = upright_view(&crate::upright::held_along(&(target - centre), 0.0), 0);
        TourPhoto {
            name: String::new(),
            width: 4,
            height: 3,
            turn: 0,
            fov_y: 50.0,
            position: (gltf_axes() * centre).into(),
            quaternion: [q.i, q.j, q.k, q.w],
            left: Vec::new(),
            right: Vec::new(),
            closer: Vec::new(),
            farther: Vec::new(),
        }
    }

    #[test]
    fn the_tour_steps_to_the_nearest_photo_each_way() {
        // Twelve photos on a ring around the site, every 30° anticlockwise
        // seen from above, looking at its middle: stepping right goes
        // anticlockwise one photo at a time, left clockwise.
        let at = |degrees: f64| {
            let (sin, cos) = degrees.to_radians().sin_cos();
            Vector3::new(10.0 * cos, 10.0 * sin, 1.6)
        };
        let middle = Vector3::new(0.0, 0.0, 1.6);
        let mut photos: Vec<TourPhoto> = (0..12).map(|k| tour_photo(at(30.0 * f64::from(k)), middle)).collect();
        let steps = tour_steps(&photos, 20.0);
        for (k, [left, right, ..]) in steps.iter().enumerate() {
            assert_eq!((left[0], right[0]), ((k + 11) % 12, (k + 1) % 12), "photo {k}: {left:?} {right:?}");
        }
        // A photo from where photo 0 stands, turned 40° to its right, one
        // a step to its right looking away from the site, and one halfway
        // from photo 0 to the middle.
        let turned = at(0.0) + Rotation3::from_axis_angle(&Vector3::z_axis(), -40f64.to_radians()) * (middle - at(0.0));
        photos.push(tour_photo(at(0.0), turned));
        photos.push(tour_photo(at(10.0), at(10.0) * 2.0));
        photos.push(tour_photo((at(0.0) + middle) / 2.0, middle));
        let steps = tour_steps(&photos, 20.0);
        // From photo 0, the photo turned to its right is the nearest there;
        // past it lies photo 1. The photo looking away, although it stands
        // between them, is on neither's list.
        assert_eq!((steps[0][0][0], &steps[0][1][..2]), (11, &[12, 1][..]));
        assert!(!steps[0][1].contains(&13) && !steps[1][0].contains(&13));
        // Stepping closer from photo 0 reaches the photo ahead, and back;
        // nothing facing its way lies ahead of that one.
        assert_eq!((steps[0][2][0], steps[14][3][0]), (14, 0));
        assert!(steps[14][2].is_empty());
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
