//! P3P and robust absolute pose on synthetic cameras and points.

mod support;

use heritage_sfm::absolute::{AbsolutePoseEstimator, Pose, p3p};
use heritage_sfm::ransac::{RansacOptions, msac};
use nalgebra::{Rotation3, Vector3};
use support::*;

/// A random pose and `n` world points in front of it.
fn setup(noise: &mut Noise, n: usize) -> (Pose, Vec<Vector3<f64>>) {
    let rotation = Rotation3::new(Vector3::new(noise.next(), noise.next(), noise.next()) * 1.5);
    let translation = Vector3::new(noise.next(), noise.next(), noise.next()) * 2.0;
    let pose = (rotation, translation);
    let world = (0..n)
        .map(|_| {
            let in_camera = Vector3::new(noise.next() * 3.0, noise.next() * 2.0, 4.0 + 3.0 * noise.next().abs());
            rotation.inverse() * (in_camera - translation)
        })
        .collect();
    (pose, world)
}

/// Rotation angle (degrees, clamped against rounding) and translation distance.
fn pose_error(a: &Pose, b: &Pose) -> (f64, f64) {
    let trace = (a.0.inverse() * b.0).matrix().trace();
    (((trace - 1.0) / 2.0).clamp(-1.0, 1.0).acos().to_degrees(), (a.1 - b.1).norm())
}

#[test]
fn p3p_finds_the_true_pose_among_its_solutions() {
    let mut noise = Noise(3);
    for trial in 0..200 {
        let (pose, world) = setup(&mut noise, 3);
        let bearings = [0, 1, 2].map(|i| (pose.0 * world[i] + pose.1).normalize());
        let solutions = p3p(&bearings, &[world[0], world[1], world[2]]);
        assert!(!solutions.is_empty() && solutions.len() <= 4, "trial {trial}: {} solutions", solutions.len());
        let best = solutions
            .iter()
            .map(|s| pose_error(s, &pose))
            .fold((f64::MAX, f64::MAX), |a, b| if b.0 < a.0 { b } else { a });
        assert!(best.0 < 1e-4 && best.1 < 1e-6, "trial {trial}: {best:?}");
    }
}

#[test]
fn robust_absolute_pose_with_noise_and_half_outliers() {
    let mut noise = Noise(11);
    let focal = 1000.0;
    for trial in 0..10 {
        let (pose, world) = setup(&mut noise, 200);
        let points: Vec<[f64; 2]> = world
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let p = pose.0 * w + pose.1;
                if i % 2 == 0 {
                    [noise.next() * 0.6, noise.next() * 0.4]
                } else {
                    [p.x / p.z + 0.5 * noise.next() / focal, p.y / p.z + 0.5 * noise.next() / focal]
                }
            })
            .collect();
        let estimator = AbsolutePoseEstimator { points: &points, world: &world, focal };
        let estimate = msac(&estimator, &RansacOptions { max_error: 4.0, seed: trial, ..Default::default() }).unwrap();
        let (rotation, translation) = pose_error(&estimate.model, &pose);
        assert!(rotation < 0.1 && translation < 0.02, "trial {trial}: {rotation} deg, {translation}");
        let recall = (1..200).step_by(2).filter(|&i| estimate.inliers[i]).count();
        let false_inliers = (0..200).step_by(2).filter(|&i| estimate.inliers[i]).count();
        assert!(
            recall >= 95 && false_inliers <= 5,
            "trial {trial}: {recall} of 100 inliers, {false_inliers} outliers kept"
        );
    }
}
