//! Bundle adjustment at scale, for `bench/bundle.sh`: CAMERAS photos taken
//! along a street facade (one every metre, 10 m away), POINTS points on the
//! facade, each seen by the photos within 2 m of it (about four), 0.5 px
//! noise; poses, points and the focal length perturbed, then adjusted.
//! Prints the size, the time, the iterations and the error before and after.
//!
//! usage: cargo run --release -p heritage-sfm --example bundle_scale [CAMERAS] [POINTS] [auto|direct|iterative]

use std::time::Instant;

use heritage_sfm::bundle::{BaCamera, BaImage, BaOptions, Observation, Problem, Solver, adjust};
use nalgebra::{Matrix3, Rotation3, Vector3};

/// A small deterministic generator (xorshift), uniform in [-1, 1).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = |k: usize, default: usize| args.get(k).map_or(default, |a| a.parse().expect("a count"));
    let (cameras, points) = (count(0, 1000), count(1, 500_000));
    let solver = match args.get(2).map(String::as_str) {
        None | Some("auto") => Solver::Auto,
        Some("direct") => Solver::Direct,
        Some("iterative") => Solver::Iterative,
        Some(other) => panic!("unknown solver {other}: auto, direct or iterative"),
    };
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let camera = BaCamera { focal: 1000.0, cx: 800.0, cy: 600.0, k1: 0.0, k2: 0.0 };
    // Looking north (+y) at the facade, image x east, image y down.
    let facing = Rotation3::from_matrix_unchecked(Matrix3::new(1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0));
    let images: Vec<BaImage> = (0..cameras)
        .map(|i| {
            let centre = Vector3::new(i as f64, -10.0, 1.6 + 0.2 * noise.next());
            BaImage { rotation: facing, translation: -(facing * centre), camera: 0 }
        })
        .collect();
    let length = cameras as f64;
    let truth: Vec<Vector3<f64>> = (0..points)
        .map(|_| Vector3::new((noise.next() + 1.0) / 2.0 * length, noise.next() * 0.5, 4.0 + 4.0 * noise.next()))
        .collect();
    let mut observations = Vec::new();
    for (j, p) in truth.iter().enumerate() {
        let first = (p.x - 2.0).ceil().max(0.0) as usize;
        let last = ((p.x + 2.0).floor() as usize).min(cameras - 1);
        for (i, image) in images.iter().enumerate().take(last + 1).skip(first) {
            let c = image.rotation * p + image.translation;
            let xy = [
                camera.focal * c.x / c.z + camera.cx + 0.5 * noise.next(),
                camera.focal * c.y / c.z + camera.cy + 0.5 * noise.next(),
            ];
            observations.push(Observation { image: i, point: j, xy, weight: 1.0 });
        }
    }
    let mut problem = Problem {
        cameras: vec![BaCamera { focal: camera.focal * 1.02, ..camera }],
        images: images.clone(),
        points: truth.iter().map(|p| p + Vector3::new(noise.next(), noise.next(), noise.next()) * 0.05).collect(),
        observations,
    };
    for image in problem.images.iter_mut().skip(1) {
        let omega = Vector3::new(noise.next(), noise.next(), noise.next()) * 0.002;
        image.rotation = Rotation3::new(omega) * image.rotation;
        image.translation += Vector3::new(noise.next(), noise.next(), noise.next()) * 0.02;
    }
    println!(
        "{} cameras, {} points, {} observations",
        problem.images.len(),
        problem.points.len(),
        problem.observations.len()
    );
    let started = Instant::now();
    let options = BaOptions { fixed_images: vec![0], max_iterations: 10, solver, ..Default::default() };
    let report = adjust(&mut problem, &options);
    let seconds = started.elapsed().as_secs_f64();
    let drift = problem
        .images
        .iter()
        .zip(&images)
        .map(|(a, b)| (a.rotation.inverse() * -a.translation - b.rotation.inverse() * -b.translation).norm())
        .fold(0.0, f64::max);
    println!(
        "{solver:?}: adjusted in {seconds:.1} s, {} iterations; cost {:.4e} -> {:.4e}; rms {:.3} px; focal {:.2} (true 1000); largest centre error {drift:.3} m",
        report.iterations, report.initial_cost, report.final_cost, report.rms_error, problem.cameras[0].focal
    );
}
