//! Registering the next photo: by robust absolute pose from the points
//! it sees, or, where it sees too few, bridged in by its relative pose to
//! a registered photo it is paired with.

use nalgebra::{UnitQuaternion, Vector3};

use super::{State, normalise};
use crate::absolute::{AbsolutePoseEstimator, Pose, refine_pose};
use crate::bridge::Bridge;
use crate::frontend::PairMatches;
use crate::ransac::{RansacOptions, msac, seed_of};
use crate::verify::PairKind;

/// Fewest points that must agree on the scale of a photo bridged in by
/// its relative pose to a registered one.
const MIN_BRIDGE_POINTS: usize = 6;

impl State<'_> {
    /// The normalised observations of `photo` whose tracks have points,
    /// with those points.
    fn correspondences(&self, photo: usize) -> (Vec<[f64; 2]>, Vec<Vector3<f64>>) {
        let camera = self.cameras[self.camera_of[photo]];
        let mut image_points = Vec::new();
        let mut world = Vec::new();
        for &(feature, t) in &self.photo_tracks[photo] {
            let Some(point) = &self.points[t] else { continue };
            image_points.push(normalise(&camera, &self.keypoints[photo][feature as usize].xy));
            world.push(point.position);
        }
        (image_points, world)
    }

    /// Registers `photo` from the points its features see; false if it cannot be.
    pub(super) fn register(&mut self, photo: usize) -> bool {
        let (image_points, world) = self.correspondences(photo);
        if image_points.len() < self.options.min_pose_inliers {
            return false;
        }
        let focal = self.cameras[self.camera_of[photo]].focal;
        let estimator = AbsolutePoseEstimator { points: &image_points, world: &world, focal };
        let ransac = RansacOptions {
            max_error: self.options.max_error,
            seed: seed_of(self.options.seed, photo as u64),
            ..Default::default()
        };
        let Some(estimate) = msac(&estimator, &ransac) else { return false };
        let share = estimate.inlier_count as f64 / image_points.len() as f64;
        if estimate.inlier_count < self.options.min_pose_inliers || share < self.options.min_pose_inlier_ratio {
            return false;
        }
        self.place(photo, estimate.model, &image_points, &world, &estimate.inliers);
        true
    }

    /// Sets `photo`'s pose, refined on the `inliers` among its
    /// correspondences, and triangulates the tracks it extends or starts.
    fn place(&mut self, photo: usize, pose: Pose, image_points: &[[f64; 2]], world: &[Vector3<f64>], inliers: &[bool]) {
        let (inlier_points, inlier_world): (Vec<[f64; 2]>, Vec<Vector3<f64>>) =
            image_points.iter().zip(world).zip(inliers).filter(|(_, keep)| **keep).map(|((x, w), _)| (*x, *w)).unzip();
        self.poses[photo] = Some(refine_pose(pose, &inlier_points, &inlier_world));
        let tracks: Vec<usize> = self.tracks_of(photo).collect();
        self.triangulate_all(&tracks);
    }

    /// Registers an unregistered photo that sees too few points for
    /// absolute pose, by its relative pose to a registered photo it is
    /// paired with (a calibrated pair): the rotation and the direction of
    /// the translation come from the pair, the length from the few points
    /// it does see. This bridges the corners of a walk around a building,
    /// where neighbouring photos share little. Returns the photo.
    pub(super) fn bridge(&mut self) -> Option<usize> {
        let mut candidates: Vec<(usize, usize, &PairMatches)> = self
            .pairs
            .iter()
            .filter_map(|p| {
                let g = p.geometry.as_ref().filter(|g| g.kind == PairKind::Calibrated && g.rotation.is_some())?;
                match (self.poses[p.a].is_some(), self.poses[p.b].is_some()) {
                    (true, false) => Some((g.inliers.len(), p.b, p)),
                    (false, true) => Some((g.inliers.len(), p.a, p)),
                    _ => None,
                }
            })
            .collect();
        candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
        for (_, photo, pair) in candidates {
            if let Some((pose, image_points, world, inliers)) = self.pose_from_pair(photo, pair) {
                self.place(photo, pose, &image_points, &world, &inliers);
                return Some(photo);
            }
        }
        None
    }

    /// `photo`'s pose from its calibrated `pair` with a registered photo,
    /// scaled by the points it sees (the length most of them agree on);
    /// with the correspondences and which of them fit, if at least
    /// `MIN_BRIDGE_POINTS` do.
    #[allow(clippy::type_complexity)]
    fn pose_from_pair(
        &self,
        photo: usize,
        pair: &PairMatches,
    ) -> Option<(Pose, Vec<[f64; 2]>, Vec<Vector3<f64>>, Vec<bool>)> {
        let g = pair.geometry.as_ref()?;
        let [w, x, y, z] = g.rotation?;
        let relative = UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(w, x, y, z)).to_rotation_matrix();
        let direction = Vector3::from(g.translation?);
        // x_b = R x_a + t; turned round when the photo is `a`.
        let (other, rotation, direction) = if pair.b == photo {
            (pair.a, relative, direction)
        } else {
            (pair.b, relative.inverse(), -(relative.inverse() * direction))
        };
        let (r_other, t_other) = self.poses[other]?;
        let bridge = Bridge { rotation: rotation * r_other, base: rotation * t_other, direction };
        let (image_points, world) = self.correspondences(photo);
        let focal = self.cameras[self.camera_of[photo]].focal;
        let crossing = bridge.cross(&image_points, &world, focal, self.options.max_error, MIN_BRIDGE_POINTS)?;
        let pose = (bridge.rotation, bridge.translation(crossing.length));
        Some((pose, image_points, world, crossing.inliers))
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::Rotation3;

    use super::*;
    use crate::bundle::BaCamera;
    use crate::mapper::{MapPoint, MapperOptions, Measurement};

    /// The pose `register` gives a photo whose 100 correspondences are
    /// `right` points seen by the true pose and the rest points elsewhere
    /// (up to 2 m away); `None` if it refuses the photo.
    fn registered_with(right: usize) -> Option<Pose> {
        let camera = BaCamera { focal: 1000.0, cx: 600.0, cy: 400.0, k1: 0.0, k2: 0.0 };
        let truth: Pose = (Rotation3::from_euler_angles(0.1, -0.2, 0.05), Vector3::new(0.3, -0.1, 4.0));
        let (mut keypoints, mut points) = (Vec::new(), Vec::new());
        for i in 0..100 {
            let f = i as f64;
            let c = Vector3::new((f * 0.37).sin() * 2.0, (f * 0.91).cos() * 1.5, 5.0 + (f * 0.53).sin());
            keypoints.push(Measurement { xy: [1000.0 * c.x / c.z + 600.0, 1000.0 * c.y / c.z + 400.0], weight: 1.0 });
            let elsewhere = Vector3::new((f * 1.3).sin(), (f * 2.1).cos(), (f * 0.7).sin()) * 2.0;
            let position = truth.0.inverse() * (c - truth.1) + if i < right { Vector3::zeros() } else { elsewhere };
            points.push(Some(MapPoint { position, observations: Vec::new() }));
        }
        let keypoints = [keypoints];
        let options = MapperOptions::default();
        let mut state = State {
            cameras: vec![camera],
            camera_of: &[0],
            keypoints: &keypoints,
            tracks: (0..100).map(|i| vec![(0, i)]).collect(),
            photo_tracks: vec![(0..100).map(|i| (i as u32, i)).collect()],
            first: 0,
            pairs: &[],
            poses: vec![None],
            points,
            points_seen: vec![100],
            options: &options,
            free_principal: Vec::new(),
        };
        state.register(0).then(|| state.poses[0].expect("registered"))
    }

    #[test]
    fn a_photo_registers_only_where_a_quarter_of_its_points_agree() {
        let (r, t) = registered_with(30).unwrap();
        let truth = Rotation3::from_euler_angles(0.1, -0.2, 0.05);
        assert!(r.angle_to(&truth).to_degrees() < 0.01, "{}", r.angle_to(&truth).to_degrees());
        assert!((t - Vector3::new(0.3, -0.1, 4.0)).norm() < 1e-3, "{t}");
        // 20 agreeing points are more than the 15 needed, but a fifth: a
        // minority that repeated structure can make agree on a wrong pose.
        assert_eq!(registered_with(20), None);
    }
}
