//! Bundle adjustment recovers a perturbed synthetic scene: cameras on a
//! ring around a cloud of points, RADIAL intrinsics, pixel noise and a few
//! gross outliers.

mod support;

use heritage_sfm::bundle::{BaCamera, BaImage, BaOptions, Observation, Problem, Solver, adjust};
use nalgebra::{Rotation3, Vector3};
use support::*;

fn project(camera: &BaCamera, image: &BaImage, p: &Vector3<f64>) -> [f64; 2] {
    let c = image.rotation * p + image.translation;
    let (u, v) = (c.x / c.z, c.y / c.z);
    let r2 = u * u + v * v;
    let d = 1.0 + camera.k1 * r2 + camera.k2 * r2 * r2;
    [camera.focal * d * u + camera.cx, camera.focal * d * v + camera.cy]
}

/// The true scene and its observations (noise of `sigma` px, every 40th
/// observation a gross outlier).
fn scene(sigma: f64) -> Problem {
    let mut noise = Noise(7);
    let camera = BaCamera { focal: 900.0, cx: 640.0, cy: 480.0, k1: -0.08, k2: 0.02 };
    let images: Vec<BaImage> = (0..10)
        .map(|i| {
            let a = i as f64 * 0.25;
            let (rotation, translation) =
                look_at_origin(Vector3::new(12.0 * a.cos(), 12.0 * a.sin(), 2.0 + 0.3 * i as f64));
            BaImage { rotation, translation, camera: 0 }
        })
        .collect();
    let points: Vec<Vector3<f64>> =
        (0..600).map(|_| Vector3::new(6.0 * noise.next(), 6.0 * noise.next(), 4.0 * noise.next())).collect();
    let mut observations = Vec::new();
    for (i, image) in images.iter().enumerate() {
        for (j, p) in points.iter().enumerate() {
            let [x, y] = project(&camera, image, p);
            if (0.0..1280.0).contains(&x) && (0.0..960.0).contains(&y) && (i + j) % 3 != 0 {
                let k = observations.len();
                let gross = if k % 40 == 0 { 30.0 } else { 0.0 };
                observations.push(Observation {
                    image: i,
                    point: j,
                    xy: [x + sigma * noise.next() + gross, y + sigma * noise.next() - gross],
                });
            }
        }
    }
    Problem { cameras: vec![camera], images, points, observations }
}

/// The scene of `scene(0.3)` with every pose, point and the intrinsics
/// moved off their optimum.
fn perturbed() -> (Problem, Problem) {
    let truth = scene(0.3);
    let mut problem = truth.clone();
    let mut noise = Noise(99);
    for image in problem.images.iter_mut().skip(1) {
        let omega = Vector3::new(noise.next(), noise.next(), noise.next()) * 0.02;
        image.rotation = Rotation3::new(omega) * image.rotation;
        image.translation += Vector3::new(noise.next(), noise.next(), noise.next()) * 0.3;
    }
    for p in &mut problem.points {
        *p += Vector3::new(noise.next(), noise.next(), noise.next()) * 0.1;
    }
    problem.cameras[0].focal *= 1.05;
    (problem.cameras[0].k1, problem.cameras[0].k2) = (0.0, 0.0);
    (truth, problem)
}

#[test]
fn recovers_a_perturbed_scene_to_its_optimum() {
    let (truth, mut problem) = perturbed();
    // The first image holds the frame; the scale stays free (the damping
    // keeps it in place), so the checks below divide it out.
    let options = BaOptions { fixed_images: vec![0], ..Default::default() };
    let report = adjust(&mut problem, &options);
    // The gross outliers keep a Huber cost of their own (about 16000).
    assert!(report.final_cost < report.initial_cost / 10.0, "{report:?}");

    // Inliers fit to the noise level.
    let mut errors: Vec<f64> = problem
        .observations
        .iter()
        .enumerate()
        .filter(|(k, _)| k % 40 != 0)
        .map(|(_, o)| {
            let [x, y] = project(&problem.cameras[0], &problem.images[o.image], &problem.points[o.point]);
            (x - o.xy[0]).hypot(y - o.xy[1])
        })
        .collect();
    errors.sort_by(f64::total_cmp);
    let median = errors[errors.len() / 2];
    assert!(median < 0.45, "median inlier error {median:.3} px, {report:?}");
    // The scale is free: compare what does not depend on it.
    let camera = &problem.cameras[0];
    assert!((camera.focal / 900.0 - 1.0).abs() < 0.005, "focal {}", camera.focal);
    assert!((camera.k1 + 0.08).abs() < 0.01 && (camera.k2 - 0.02).abs() < 0.02, "{camera:?}");
    for (found, true_image) in problem.images.iter().zip(&truth.images) {
        let error = rotation_error_deg(&found.rotation, &true_image.rotation);
        assert!(error < 0.05, "rotation error {error:.4} deg");
    }
    let scale = (problem.images[1].rotation.inverse() * -problem.images[1].translation
        - problem.images[0].rotation.inverse() * -problem.images[0].translation)
        .norm()
        / (truth.images[1].rotation.inverse() * -truth.images[1].translation
            - truth.images[0].rotation.inverse() * -truth.images[0].translation)
            .norm();
    for (found, true_image) in problem.images.iter().zip(&truth.images) {
        let centre = |i: &BaImage| i.rotation.inverse() * -i.translation;
        let origin = centre(&truth.images[0]);
        let error = ((centre(found) - origin) / scale - (centre(true_image) - origin)).norm();
        assert!(error < 0.02, "centre error {error:.4} m (scene 12 m)");
    }
}

#[test]
fn fixed_intrinsics_stay_fixed() {
    let mut problem = scene(0.3);
    let before = problem.cameras[0];
    let options = BaOptions { refine_intrinsics: false, ..Default::default() };
    let report = adjust(&mut problem, &options);
    assert_eq!(problem.cameras[0], before);
    assert!(report.final_cost <= report.initial_cost);
}

#[test]
fn conjugate_gradients_reach_the_same_optimum_as_the_direct_solver() {
    let (_, start) = perturbed();
    let solve = |solver| {
        let mut problem = start.clone();
        let report = adjust(&mut problem, &BaOptions { fixed_images: vec![0], solver, ..Default::default() });
        (problem, report)
    };
    let (direct, direct_report) = solve(Solver::Direct);
    let (iterative, iterative_report) = solve(Solver::Iterative);
    assert!(
        (iterative_report.final_cost / direct_report.final_cost - 1.0).abs() < 1e-4,
        "{direct_report:?} vs {iterative_report:?}"
    );
    assert!((iterative.cameras[0].focal - direct.cameras[0].focal).abs() < 0.05);
    for (a, b) in iterative.images.iter().zip(&direct.images) {
        assert!(rotation_error_deg(&a.rotation, &b.rotation) < 0.001);
    }
}

#[test]
fn the_principal_point_is_refined_only_when_asked() {
    let (_, start) = perturbed();
    let mut moved = start.clone();
    moved.cameras[0].cx += 15.0;
    moved.cameras[0].cy -= 10.0;
    let mut fixed = moved.clone();
    adjust(&mut fixed, &BaOptions { fixed_images: vec![0], ..Default::default() });
    assert_eq!((fixed.cameras[0].cx, fixed.cameras[0].cy), (655.0, 470.0));
    let mut refined = moved;
    let options = BaOptions { fixed_images: vec![0], refine_principal_point: true, ..Default::default() };
    adjust(&mut refined, &options);
    let camera = refined.cameras[0];
    assert!((camera.cx - 640.0).abs() < 1.5 && (camera.cy - 480.0).abs() < 1.5, "{camera:?}");
}
