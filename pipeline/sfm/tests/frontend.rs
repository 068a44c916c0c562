//! The front end on the synthetic site, scored against its exact truth:
//! which pairs of photos really overlap, and which matches are true.

use heritage_archive::NoProgress;
use heritage_imaging::ExifSummary;
use heritage_sfm::features::photo_features;
use heritage_sfm::frontend::{FrontEnd, FrontEndOptions, PhotoInfo, run_front_end};
use heritage_sfm::intrinsics::FocalSource;
use heritage_sfm::sift::{Features, SiftOptions};
use heritage_synthetic::building::site;
use heritage_synthetic::bvh::{Bvh, Ray};
use heritage_synthetic::camera::Camera;
use heritage_synthetic::paths::{FOCAL_35MM, volunteer_walk};
use heritage_synthetic::render::{Exposure, render};
use heritage_synthetic::scene::V3;

/// The surface point seen at pixel (`u`, `v`) of `camera`.
fn surface_point(bvh: &Bvh, camera: &Camera, u: f64, v: f64) -> Option<V3> {
    let ray = camera.ray(u, v);
    bvh.intersect(&ray, 1e9).map(|hit| ray.origin + ray.dir * hit.t)
}

/// Where `p` appears in `camera`, if it is inside the frame and not hidden.
fn visible_at(bvh: &Bvh, camera: &Camera, p: &V3) -> Option<(f64, f64)> {
    let (u, v) = camera.project(p)?;
    if u < 0.0 || v < 0.0 || u >= f64::from(camera.width) || v >= f64::from(camera.height) {
        return None;
    }
    let to = p - camera.center();
    let ray = Ray { origin: camera.center(), dir: to.normalize() };
    (!bvh.occluded(&ray, to.norm() * 0.999)).then_some((u, v))
}

/// Share of a grid of pixels of `a` whose surface point `b` also sees.
fn overlap(bvh: &Bvh, a: &Camera, b: &Camera) -> f64 {
    let (mut seen, mut total) = (0, 0);
    for gy in 0..12 {
        for gx in 0..16 {
            let (u, v) =
                ((gx as f64 + 0.5) / 16.0 * f64::from(a.width), (gy as f64 + 0.5) / 12.0 * f64::from(a.height));
            if let Some(p) = surface_point(bvh, a, u, v) {
                total += 1;
                seen += usize::from(visible_at(bvh, b, &p).is_some());
            }
        }
    }
    seen as f64 / total.max(1) as f64
}

#[test]
fn overlapping_pairs_are_verified_with_true_matches() {
    let scene = site();
    let bvh = Bvh::build(&scene.triangles);
    let (width, height) = (1600, 1067);
    let cameras = volunteer_walk(12, width, height, 3);
    let options = SiftOptions::default();
    let features: Vec<Features> = cameras
        .iter()
        .enumerate()
        .map(|(i, camera)| {
            let exposure = Exposure { samples: 2, gain: 1.0 + 0.05 * (i % 3) as f64, noise: 1.5, seed: i as i64 };
            photo_features(&render(&scene, &bvh, camera, &exposure), &options)
        })
        .collect();
    let exif = ExifSummary { focal_length_35mm: Some(FOCAL_35MM), ..Default::default() };
    let photos: Vec<PhotoInfo> = (0..cameras.len())
        .map(|i| PhotoInfo { name: format!("{i}.jpg"), width, height, exif: Some(exif.clone()) })
        .collect();
    // The default front end, guided matching included: without the
    // neighbourhood consensus test a quarter of the guided matches on this
    // scene's repeated texture were wrong (0.77 of inliers true).
    let front = run_front_end(&photos, &features, None, &FrontEndOptions::default(), &NoProgress);
    assert_eq!(front.cameras.len(), 1);
    assert_eq!(front.pairs.len(), 12 * 11 / 2);

    let (mut true_matches, mut all_matches, mut missed) = (0, 0, Vec::new());
    for pair in &front.pairs {
        let (a, b) = (&cameras[pair.a], &cameras[pair.b]);
        let overlapping = overlap(&bvh, a, b).min(overlap(&bvh, b, a)) >= 0.3;
        let Some(geometry) = &pair.geometry else {
            if overlapping {
                missed.push((pair.a, pair.b));
            }
            continue;
        };
        let before = true_matches;
        for &(i, j) in &geometry.inliers {
            let (ka, kb) = (&features[pair.a].keypoints[i as usize], &features[pair.b].keypoints[j as usize]);
            all_matches += 1;
            let truth = surface_point(&bvh, a, f64::from(ka.x), f64::from(ka.y))
                .and_then(|p| visible_at(&bvh, b, &p))
                .is_some_and(|(u, v)| (u - f64::from(kb.x)).hypot(v - f64::from(kb.y)) < 4.0);
            true_matches += usize::from(truth);
        }
        eprintln!(
            "pair {}-{}: {:?}, {} of {} inliers true",
            pair.a,
            pair.b,
            geometry.kind,
            true_matches - before,
            geometry.inliers.len()
        );
    }
    let ratio = true_matches as f64 / all_matches.max(1) as f64;
    eprintln!("overlapping pairs missed: {missed:?}; {true_matches} of {all_matches} inliers true ({ratio:.3})");
    // The issue asks for every overlapping pair and 95 % true inliers,
    // counted over every verified pair. Measured: none missed, 0.971 true
    // (20,548 inliers).
    assert!(missed.is_empty(), "overlapping pairs not verified: {missed:?}");
    assert!(ratio >= 0.95, "true inlier ratio {ratio:.3}");

    // Without EXIF the focal length is guessed at 1.2 times the longer
    // side, and found from the verified pairs instead.
    let photos: Vec<PhotoInfo> = photos.into_iter().map(|p| PhotoInfo { exif: None, ..p }).collect();
    let blind = run_front_end(&photos, &features, None, &FrontEndOptions::default(), &NoProgress);
    let found = blind.cameras[0].intrinsics;
    let truth = cameras[0].focal;
    eprintln!("focal length from the pairs: {:.1} px, truth {truth:.1} px", found.focal);
    assert_eq!(found.source, FocalSource::Pairs);
    assert_eq!(blind.summary(&features).focal_lengths_found, vec![found.focal]);
    assert!(front.summary(&features).focal_lengths_found.is_empty());
    assert!((found.focal / truth - 1.0).abs() < 0.02, "{} against {truth}", found.focal);
    let verified = |front: &FrontEnd| front.pairs.iter().filter(|p| p.geometry.is_some()).count();
    assert_eq!(verified(&blind), verified(&front));
}
