//! The incremental mapper: start from the best calibrated pair, then add
//! one photo at a time (the one that sees most reconstructed points) by
//! robust absolute pose, triangulate what the new photo makes possible,
//! and bundle-adjust everything after each addition, dropping
//! observations that no longer fit.

use std::collections::HashMap;

use nalgebra::{Rotation3, UnitQuaternion, Vector3};

use crate::absolute::{AbsolutePoseEstimator, Pose, refine_pose};
use crate::bundle::{BaCamera, BaImage, BaOptions, Observation, Problem, adjust};
use crate::frontend::PairMatches;
use crate::pose::{projection, triangulate_views, triangulation_angle};
use crate::ransac::{RansacOptions, msac};
use crate::tracks::{Feature, build_tracks};
use crate::twoview::Point;
use crate::verify::PairKind;

/// Settings of the mapper.
#[derive(Debug, Clone)]
pub struct MapperOptions {
    /// Fewest points the initial pair must triangulate.
    pub init_min_points: usize,
    /// Smallest median triangulation angle (degrees) of the initial pair.
    pub init_min_angle: f64,
    /// Fewest 2D-3D inliers to register a photo.
    pub min_pose_inliers: usize,
    /// Largest reprojection error (pixels) of a kept observation.
    pub max_error: f64,
    /// Smallest triangulation angle (degrees) of a new point.
    pub min_angle: f64,
    /// Refine focal length and k1, k2.
    pub refine_intrinsics: bool,
}

impl Default for MapperOptions {
    fn default() -> MapperOptions {
        MapperOptions {
            init_min_points: 50,
            init_min_angle: 2.0,
            min_pose_inliers: 15,
            max_error: 4.0,
            min_angle: 1.5,
            refine_intrinsics: true,
        }
    }
}

/// A reconstructed point and the features that see it.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPoint {
    /// Position in the model frame.
    pub position: Vector3<f64>,
    /// The (photo, feature) observations that fit it.
    pub observations: Vec<Feature>,
}

/// A sparse model: cameras, a pose per registered photo, points.
#[derive(Debug, Clone)]
pub struct Reconstruction {
    /// Refined intrinsics per camera.
    pub cameras: Vec<BaCamera>,
    /// World-to-camera pose of each photo, `None` if not registered.
    pub poses: Vec<Option<Pose>>,
    /// The points.
    pub points: Vec<MapPoint>,
}

/// Normalised coordinates of a pixel under a camera's intrinsics (radial
/// distortion removed by fixed-point iteration).
fn normalise(camera: &BaCamera, x: &Point) -> [f64; 2] {
    let (xd, yd) = ((x[0] - camera.cx) / camera.focal, (x[1] - camera.cy) / camera.focal);
    let (mut u, mut v) = (xd, yd);
    for _ in 0..10 {
        let r2 = u * u + v * v;
        let d = 1.0 + camera.k1 * r2 + camera.k2 * r2 * r2;
        (u, v) = (xd / d, yd / d);
    }
    [u, v]
}

/// Reprojection error in pixels of `p` seen at `x` by `pose` and `camera`.
fn reprojection_error(camera: &BaCamera, pose: &Pose, p: &Vector3<f64>, x: &Point) -> f64 {
    let c = pose.0 * p + pose.1;
    if c.z <= 1e-9 {
        return f64::INFINITY;
    }
    let (u, v) = (c.x / c.z, c.y / c.z);
    let r2 = u * u + v * v;
    let d = 1.0 + camera.k1 * r2 + camera.k2 * r2 * r2;
    (camera.focal * d * u + camera.cx - x[0]).hypot(camera.focal * d * v + camera.cy - x[1])
}

/// The mapper's working state.
struct State<'a> {
    cameras: Vec<BaCamera>,
    camera_of: &'a [usize],
    keypoints: &'a [Vec<Point>],
    tracks: Vec<Vec<Feature>>,
    /// Track of each (photo, feature).
    track_of: HashMap<Feature, usize>,
    poses: Vec<Option<Pose>>,
    /// Point of each track, with the observations that fit it.
    points: Vec<Option<MapPoint>>,
    options: &'a MapperOptions,
}

impl State<'_> {
    fn camera(&self, photo: u32) -> &BaCamera {
        &self.cameras[self.camera_of[photo as usize]]
    }

    fn pixel(&self, (photo, feature): Feature) -> Point {
        self.keypoints[photo as usize][feature as usize]
    }

    /// Triangulates track `t` from its registered observations, if the
    /// point fits all of them and is seen from wide enough an angle.
    fn triangulate(&mut self, t: usize) {
        let seen: Vec<Feature> =
            self.tracks[t].iter().copied().filter(|&(photo, _)| self.poses[photo as usize].is_some()).collect();
        if seen.len() < 2 {
            return;
        }
        let views: Vec<_> = seen
            .iter()
            .map(|&f| {
                let pose = self.poses[f.0 as usize].expect("registered");
                (projection(&pose.0, &pose.1), normalise(self.camera(f.0), &self.pixel(f)))
            })
            .collect();
        let Some(p) = triangulate_views(&views) else { return };
        let fits: Vec<Feature> = seen
            .into_iter()
            .filter(|&f| {
                let pose = self.poses[f.0 as usize].expect("registered");
                reprojection_error(self.camera(f.0), &pose, &p, &self.pixel(f)) <= self.options.max_error
            })
            .collect();
        let centres: Vec<Vector3<f64>> = fits
            .iter()
            .map(|f| {
                let pose = self.poses[f.0 as usize].expect("registered");
                -(pose.0.inverse() * pose.1)
            })
            .collect();
        if fits.len() >= 2 && triangulation_angle(&centres, &p) >= self.options.min_angle {
            self.points[t] = Some(MapPoint { position: p, observations: fits });
        }
    }

    /// Registers `photo` from the points its features see; false if it cannot be.
    fn register(&mut self, photo: usize) -> bool {
        let camera = self.cameras[self.camera_of[photo]];
        let mut image_points = Vec::new();
        let mut world = Vec::new();
        for (feature, x) in self.keypoints[photo].iter().enumerate() {
            let Some(&t) = self.track_of.get(&(photo as u32, feature as u32)) else { continue };
            let Some(point) = &self.points[t] else { continue };
            image_points.push(normalise(&camera, x));
            world.push(point.position);
        }
        if image_points.len() < self.options.min_pose_inliers {
            return false;
        }
        let estimator = AbsolutePoseEstimator { points: &image_points, world: &world, focal: camera.focal };
        let ransac = RansacOptions { max_error: self.options.max_error, seed: photo as u64, ..Default::default() };
        let Some(estimate) = msac(&estimator, &ransac) else { return false };
        if estimate.inlier_count < self.options.min_pose_inliers {
            return false;
        }
        let (inlier_points, inlier_world): (Vec<[f64; 2]>, Vec<Vector3<f64>>) = image_points
            .iter()
            .zip(&world)
            .zip(&estimate.inliers)
            .filter(|(_, keep)| **keep)
            .map(|((x, w), _)| (*x, *w))
            .unzip();
        self.poses[photo] = Some(refine_pose(estimate.model, &inlier_points, &inlier_world));
        // Continue the tracks it extends, start the ones it makes possible.
        for t in self.tracks_of_photo(photo) {
            self.triangulate(t);
        }
        true
    }

    fn tracks_of_photo(&self, photo: usize) -> Vec<usize> {
        (0..self.keypoints[photo].len())
            .filter_map(|feature| self.track_of.get(&(photo as u32, feature as u32)).copied())
            .collect()
    }

    /// Global bundle adjustment of everything registered, then drops the
    /// observations that do not fit and the points left with fewer than two.
    fn adjust(&mut self, fixed: usize) {
        let registered: Vec<usize> = (0..self.poses.len()).filter(|&i| self.poses[i].is_some()).collect();
        let index: HashMap<usize, usize> = registered.iter().enumerate().map(|(k, &i)| (i, k)).collect();
        let point_ids: Vec<usize> = (0..self.points.len()).filter(|&t| self.points[t].is_some()).collect();
        let mut problem = Problem {
            cameras: self.cameras.clone(),
            images: registered
                .iter()
                .map(|&i| {
                    let pose = self.poses[i].expect("registered");
                    BaImage { rotation: pose.0, translation: pose.1, camera: self.camera_of[i] }
                })
                .collect(),
            points: point_ids.iter().map(|&t| self.points[t].as_ref().expect("kept").position).collect(),
            observations: Vec::new(),
        };
        for (k, &t) in point_ids.iter().enumerate() {
            for &f in &self.points[t].as_ref().expect("kept").observations {
                problem.observations.push(Observation { image: index[&(f.0 as usize)], point: k, xy: self.pixel(f) });
            }
        }
        let options = BaOptions {
            fixed_images: vec![index[&fixed]],
            refine_intrinsics: self.options.refine_intrinsics && registered.len() >= 4,
            max_iterations: 30,
            ..Default::default()
        };
        adjust(&mut problem, &options);
        self.cameras = problem.cameras;
        for (k, &i) in registered.iter().enumerate() {
            self.poses[i] = Some((problem.images[k].rotation, problem.images[k].translation));
        }
        for (k, &t) in point_ids.iter().enumerate() {
            let position = problem.points[k];
            let point = self.points[t].as_mut().expect("kept");
            point.position = position;
            let observations = std::mem::take(&mut point.observations);
            let kept: Vec<Feature> = observations
                .into_iter()
                .filter(|&f| {
                    let pose = self.poses[f.0 as usize].expect("registered");
                    let camera = &self.cameras[self.camera_of[f.0 as usize]];
                    reprojection_error(camera, &pose, &position, &self.keypoints[f.0 as usize][f.1 as usize])
                        <= self.options.max_error
                })
                .collect();
            if kept.len() >= 2 {
                self.points[t].as_mut().expect("kept").observations = kept;
            } else {
                self.points[t] = None;
            }
        }
    }
}

/// Reconstructs photos with `keypoints` (pixels), each taken by camera
/// `camera_of[i]`, from the front end's verified pairs.
pub fn reconstruct(
    cameras: &[BaCamera],
    camera_of: &[usize],
    keypoints: &[Vec<Point>],
    pairs: &[PairMatches],
    options: &MapperOptions,
) -> Option<Reconstruction> {
    let counts: Vec<usize> = keypoints.iter().map(Vec::len).collect();
    let tracks = build_tracks(&counts, pairs);
    let track_of: HashMap<Feature, usize> =
        tracks.iter().enumerate().flat_map(|(t, track)| track.iter().map(move |&f| (f, t))).collect();
    let mut state = State {
        cameras: cameras.to_vec(),
        camera_of,
        keypoints,
        points: vec![None; tracks.len()],
        tracks,
        track_of,
        poses: vec![None; keypoints.len()],
        options,
    };
    // The initial pair: calibrated, most inliers, wide enough an angle.
    let mut candidates: Vec<&PairMatches> = pairs
        .iter()
        .filter(|p| p.geometry.as_ref().is_some_and(|g| g.kind == PairKind::Calibrated && g.rotation.is_some()))
        .collect();
    candidates.sort_by_key(|p| std::cmp::Reverse(p.geometry.as_ref().map_or(0, |g| g.inliers.len())));
    let first = candidates.into_iter().find_map(|pair| {
        let g = pair.geometry.as_ref()?;
        let [w, x, y, z] = g.rotation?;
        let [tx, ty, tz] = g.translation?;
        let rotation = UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(w, x, y, z)).to_rotation_matrix();
        state.poses = vec![None; keypoints.len()];
        state.points = vec![None; state.tracks.len()];
        state.poses[pair.a] = Some((Rotation3::identity(), Vector3::zeros()));
        state.poses[pair.b] = Some((rotation, Vector3::new(tx, ty, tz)));
        for t in state.tracks_of_photo(pair.a) {
            state.triangulate(t);
        }
        let angles: Vec<f64> = state
            .points
            .iter()
            .flatten()
            .map(|p| {
                triangulation_angle(&[Vector3::zeros(), -(rotation.inverse() * Vector3::new(tx, ty, tz))], &p.position)
            })
            .collect();
        let mut sorted = angles.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
        (angles.len() >= options.init_min_points && median >= options.init_min_angle).then_some(pair.a)
    })?;
    state.adjust(first);
    let mut failed = vec![false; keypoints.len()];
    loop {
        // The unregistered photo that sees most reconstructed points.
        let next = (0..keypoints.len())
            .filter(|&i| state.poses[i].is_none() && !failed[i])
            .map(|i| {
                let seen = state.tracks_of_photo(i).into_iter().filter(|&t| state.points[t].is_some()).count();
                (seen, i)
            })
            .filter(|&(seen, _)| seen >= options.min_pose_inliers)
            .max();
        let Some((_, photo)) = next else { break };
        if !state.register(photo) {
            // Not enough agreeing points: leave it out and try the others.
            failed[photo] = true;
            continue;
        }
        state.adjust(first);
    }
    Some(Reconstruction {
        cameras: state.cameras,
        poses: state.poses,
        points: state.points.into_iter().flatten().collect(),
    })
}
