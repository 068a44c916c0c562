//! SIFT keypoints are repeatable: the same scene points are found again
//! after rotation, scaling and a change of brightness of a rendered photo.

use heritage_sfm::features::grey_plane;
use heritage_sfm::sift::plane::Plane;
use heritage_sfm::sift::{Keypoint, SiftOptions, extract};
use heritage_synthetic::building::site;
use heritage_synthetic::bvh::Bvh;
use heritage_synthetic::paths::volunteer_walk;
use heritage_synthetic::render::{Exposure, render};

/// A rendered photo of the synthetic site, grey.
fn photo() -> Plane {
    let scene = site();
    let bvh = Bvh::build(&scene.triangles);
    let camera = &volunteer_walk(12, 640, 427, 5)[0];
    grey_plane(&render(&scene, &bvh, camera, &Exposure { samples: 2, gain: 1.0, noise: 1.0, seed: 5 }))
}

/// Bilinear sample at pixel-centre coordinates (`x`, `y`); `None` outside.
fn sample(p: &Plane, x: f32, y: f32) -> Option<f32> {
    let (fx, fy) = (x - 0.5, y - 0.5);
    if fx < 0.0 || fy < 0.0 || fx > (p.width - 1) as f32 || fy > (p.height - 1) as f32 {
        return None;
    }
    let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(p.width - 1), (y0 + 1).min(p.height - 1));
    let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
    let top = p.at(x0, y0) * (1.0 - tx) + p.at(x1, y0) * tx;
    let bottom = p.at(x0, y1) * (1.0 - tx) + p.at(x1, y1) * tx;
    Some(top * (1.0 - ty) + bottom * ty)
}

/// A similarity transform of the image plane (COLMAP coordinates).
#[derive(Clone, Copy)]
struct Similarity {
    scale: f32,
    angle: f32,
    centre_from: (f32, f32),
    centre_to: (f32, f32),
}

impl Similarity {
    fn apply(&self, (x, y): (f32, f32)) -> (f32, f32) {
        let (dx, dy) = (x - self.centre_from.0, y - self.centre_from.1);
        let (c, s) = (self.angle.cos(), self.angle.sin());
        (self.centre_to.0 + self.scale * (c * dx - s * dy), self.centre_to.1 + self.scale * (s * dx + c * dy))
    }

    fn inverse(&self) -> Similarity {
        Similarity {
            scale: 1.0 / self.scale,
            angle: -self.angle,
            centre_from: self.centre_to,
            centre_to: self.centre_from,
        }
    }
}

/// `source` warped by `t` into a `width` x `height` image (outside: grey),
/// brightness mapped by `gain` and `offset`.
fn warp(source: &Plane, t: Similarity, width: usize, height: usize, gain: f32, offset: f32) -> Plane {
    let back = t.inverse();
    let mut out = Plane::new(width, height);
    for y in 0..height {
        for x in 0..width {
            let (sx, sy) = back.apply((x as f32 + 0.5, y as f32 + 0.5));
            // Shrinking: average a few samples so the result is not aliased.
            let taps = if t.scale < 1.0 { (1.0 / t.scale).ceil() as i32 } else { 1 };
            let mut sum = 0.0;
            let mut n = 0;
            for j in 0..taps {
                for i in 0..taps {
                    let o = |k: i32| (k as f32 + 0.5) / taps as f32 - 0.5;
                    if let Some(v) = sample(source, sx + o(i) / t.scale, sy + o(j) / t.scale) {
                        sum += v;
                        n += 1;
                    }
                }
            }
            out.data[y * width + x] = if n > 0 { (gain * sum / n as f32 + offset).clamp(0.0, 1.0) } else { 0.5 };
        }
    }
    out
}

/// Share of `a`'s keypoints that `b` finds again, counting only keypoints
/// whose transformed position lies well inside `b` and whose scale `b`
/// can detect; distances in the coarser image's pixels.
fn repeatability(a: &[Keypoint], b: &[Keypoint], t: Similarity, b_size: (usize, usize)) -> f64 {
    let margin = 16.0;
    let tolerance = 2.5 * t.scale.max(1.0);
    let (mut found, mut total) = (0, 0);
    for k in a {
        let (x, y) = t.apply((k.x, k.y));
        if x < margin || y < margin || x > b_size.0 as f32 - margin || y > b_size.1 as f32 - margin {
            continue;
        }
        if k.scale * t.scale < 2.0 {
            continue;
        }
        total += 1;
        found += usize::from(b.iter().any(|q| (q.x - x).hypot(q.y - y) < tolerance));
    }
    found as f64 / total.max(1) as f64
}

#[test]
fn keypoints_are_repeatable_under_rotation_scale_and_brightness() {
    let image = photo();
    let options = SiftOptions { max_features: 1_000_000, ..Default::default() };
    let original = extract(&image, &options).keypoints;
    assert!(original.len() > 500, "{} keypoints", original.len());
    let centre = (image.width as f32 / 2.0, image.height as f32 / 2.0);
    let cases = [
        ("rotation 30 deg", 1.0, 30f32.to_radians(), 1.0, 0.0),
        ("rotation 90 deg", 1.0, 90f32.to_radians(), 1.0, 0.0),
        ("scale 0.5", 0.5, 0.0, 1.0, 0.0),
        ("scale 0.7", 0.7, 0.0, 1.0, 0.0),
        ("scale 1.5", 1.5, 0.0, 1.0, 0.0),
        ("scale 2", 2.0, 0.0, 1.0, 0.0),
        ("darker, less contrast", 1.0, 0.0, 0.6, 0.05),
        ("brighter", 1.0, 0.0, 1.2, 0.1),
    ];
    for (name, scale, angle, gain, offset) in cases {
        let (w, h) = ((image.width as f32 * scale).round() as usize, (image.height as f32 * scale).round() as usize);
        let t = Similarity { scale, angle, centre_from: centre, centre_to: (w as f32 / 2.0, h as f32 / 2.0) };
        let changed = extract(&warp(&image, t, w, h, gain, offset), &options).keypoints;
        let r = repeatability(&original, &changed, t, (w, h));
        eprintln!("{name}: repeatability {r:.3}");
        assert!(r >= 0.7, "{name}: repeatability {r:.3}");
    }
}
