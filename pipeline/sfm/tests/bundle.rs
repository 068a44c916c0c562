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
                    weight: 1.0,
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
    let (rotation, centre) = pose_errors(&problem, &truth);
    assert!(rotation < 0.05, "rotation error {rotation:.4} deg");
    assert!(centre < 0.02, "centre error {centre:.4} m (scene 12 m)");
}

/// The largest rotation (degrees) and centre error (scene units, after
/// dividing out the free scale) of `problem`'s images against `truth`'s;
/// image 0 holds the frame in both.
fn pose_errors(problem: &Problem, truth: &Problem) -> (f64, f64) {
    let centre = |i: &BaImage| i.rotation.inverse() * -i.translation;
    let origin = centre(&truth.images[0]);
    let scale =
        (centre(&problem.images[1]) - centre(&problem.images[0])).norm() / (centre(&truth.images[1]) - origin).norm();
    problem.images.iter().zip(&truth.images).fold((0.0f64, 0.0f64), |(rotation, position), (found, true_image)| {
        let error = ((centre(found) - centre(&problem.images[0])) / scale - (centre(true_image) - origin)).norm();
        (rotation.max(rotation_error_deg(&found.rotation, &true_image.rotation)), position.max(error))
    })
}

#[test]
fn weights_let_precise_observations_count_more() {
    // Every other observation five times noisier; weighted by 1/5 they
    // should disturb the cameras less than when they count fully.
    let mut truth = scene(0.0);
    // Without the gross outliers (every 40th), whose Huber cost would
    // weigh more against down-weighted inliers.
    truth.observations = truth.observations.iter().enumerate().filter(|(k, _)| k % 40 != 0).map(|(_, o)| *o).collect();
    let mut noise = Noise(5);
    let mut noisy = truth.clone();
    for (k, o) in noisy.observations.iter_mut().enumerate() {
        let sigma = if k % 2 == 0 { 0.3 } else { 1.5 };
        o.xy = [o.xy[0] + sigma * noise.next(), o.xy[1] + sigma * noise.next()];
        o.weight = 0.3 / sigma;
    }
    let options = BaOptions { fixed_images: vec![0], refine_intrinsics: false, ..Default::default() };
    let solve = |weighted: bool| {
        let mut problem = noisy.clone();
        if !weighted {
            problem.observations.iter_mut().for_each(|o| o.weight = 1.0);
        }
        adjust(&mut problem, &options);
        pose_errors(&problem, &truth)
    };
    let (weighted, plain) = (solve(true), solve(false));
    assert!(weighted.0 < 0.8 * plain.0 && weighted.1 < 0.8 * plain.1, "weighted {weighted:?}, plain {plain:?}");
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
    let options = BaOptions { fixed_images: vec![0], principal_points: vec![0], ..Default::default() };
    adjust(&mut refined, &options);
    let camera = refined.cameras[0];
    assert!((camera.cx - 640.0).abs() < 1.5 && (camera.cy - 480.0).abs() < 1.5, "{camera:?}");
}

#[test]
fn with_every_camera_held_each_point_moves_to_its_own_optimum() {
    // Exact observations, true cameras held, points moved off: every point
    // returns to the truth (gross outliers aside, which Huber resists).
    let mut truth = scene(0.0);
    truth.observations.iter_mut().enumerate().filter(|(k, _)| k % 40 == 0).for_each(|(_, o)| o.weight = 0.0);
    let mut problem = truth.clone();
    let mut noise = Noise(5);
    for p in &mut problem.points {
        *p += Vector3::new(noise.next(), noise.next(), noise.next()) * 0.2;
    }
    let held = BaOptions { fixed_images: (0..10).collect(), refine_intrinsics: false, ..Default::default() };
    let report = adjust(&mut problem, &held);
    assert!(report.final_cost < 1e-12 * report.initial_cost, "{report:?}");
    for (j, (p, q)) in problem.points.iter().zip(&truth.points).enumerate() {
        if truth.observations.iter().filter(|o| o.point == j && o.weight > 0.0).count() >= 2 {
            assert!((p - q).norm() < 1e-6, "point {j}: {p:?} vs {q:?}");
        }
    }
    assert_eq!(problem.images, truth.images);
}

/// Photos every 0.6 m along a lane, looking sideways at points 4-12 m
/// away (each seen by the photos within a few metres), with noisy
/// observations: `(optimum, start)`, where the start is the optimum with
/// the lane bent (every pose turned and moved in proportion to the square
/// of its distance along the lane, the points moved with the poses).
fn bent_lane() -> (Problem, Problem) {
    const PHOTOS: usize = 150;
    let mut noise = Noise(11);
    let camera = BaCamera { focal: 500.0, cx: 320.0, cy: 213.0, k1: 0.0, k2: 0.0 };
    let (rotation, _) = look_at_origin(Vector3::new(0.0, -8.0, 0.0));
    let images: Vec<BaImage> = (0..PHOTOS)
        .map(|i| BaImage { rotation, translation: -(rotation * Vector3::new(i as f64 * 0.6, 0.0, 0.0)), camera: 0 })
        .collect();
    let points: Vec<Vector3<f64>> = (0..30 * PHOTOS)
        .map(|_| {
            Vector3::new(
                -4.0 + (PHOTOS as f64 * 0.6 + 8.0) * (noise.next() + 0.5),
                4.0 + 8.0 * (noise.next() + 0.5),
                3.0 * noise.next(),
            )
        })
        .collect();
    let mut observations = Vec::new();
    for (i, image) in images.iter().enumerate() {
        for (j, p) in points.iter().enumerate() {
            let [x, y] = project(&camera, image, p);
            if (0.0..640.0).contains(&x) && (0.0..427.0).contains(&y) {
                let xy = [x + 0.5 * noise.next(), y + 0.5 * noise.next()];
                observations.push(Observation { image: i, point: j, xy, weight: 1.0 });
            }
        }
    }
    let mut optimum = Problem { cameras: vec![camera], images, points, observations };
    let options = BaOptions { fixed_images: vec![0], refine_intrinsics: false, tolerance: 1e-14, ..Default::default() };
    adjust(&mut optimum, &options);
    let mut start = optimum.clone();
    for (i, image) in start.images.iter_mut().enumerate() {
        let s = (i as f64 / (PHOTOS - 1) as f64).powi(2) * 0.004;
        let turn = Rotation3::new(Vector3::new(0.0, 0.0, s));
        let centre = image.rotation.inverse() * -image.translation;
        image.rotation *= turn.inverse();
        image.translation = -(image.rotation * (turn * centre));
    }
    (optimum, start)
}

#[test]
fn a_small_first_damping_takes_a_settled_lane_to_its_optimum() {
    let (optimum, start) = bent_lane();
    let options = |initial_damping| BaOptions {
        fixed_images: vec![0],
        refine_intrinsics: false,
        initial_damping,
        ..Default::default()
    };
    let floor = adjust(&mut optimum.clone(), &BaOptions { max_iterations: 1, ..options(1e-4) }).initial_cost;
    let run = |damping| {
        let mut problem = start.clone();
        let report = adjust(&mut problem, &options(damping));
        let last = problem.images.len() - 1;
        let turn = rotation_error_deg(&problem.images[last].rotation, &optimum.images[last].rotation);
        (report, turn)
    };
    let (settled, settled_turn) = run(1e-8);
    let (damped, damped_turn) = run(1e-4);
    assert!(settled.final_cost < floor * (1.0 + 1e-6), "{settled:?} against {floor}");
    assert!(settled.iterations <= 6, "{settled:?}");
    // The usual damping holds the bend back and stops short of the optimum.
    assert!(settled_turn < 0.1 * damped_turn, "{settled_turn} deg against {damped_turn} deg, {damped:?}");
}
