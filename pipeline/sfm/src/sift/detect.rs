//! Scale-space extrema of the difference of Gaussians: 26-neighbour
//! extrema, sub-pixel and sub-scale refinement by a quadratic fit, and the
//! contrast and edge tests of Lowe (2004).

use nalgebra::{Matrix3, Vector3};
use rayon::prelude::*;

use super::plane::Plane;

/// A refined extremum inside one octave (octave pixel units).
#[derive(Debug, Clone, Copy)]
pub struct Extremum {
    /// Column, sub-pixel.
    pub x: f32,
    /// Row, sub-pixel.
    pub y: f32,
    /// Scale index inside the octave, fractional (1 ..= scales).
    pub level: f32,
    /// Interpolated difference-of-Gaussian value.
    pub response: f32,
}

/// Thresholds of the detector.
#[derive(Debug, Clone, Copy)]
pub struct DetectOptions {
    /// Smallest |DoG| of a kept extremum (images in 0..1).
    pub peak_threshold: f32,
    /// Largest ratio of principal curvatures (edges have one large).
    pub edge_threshold: f32,
}

/// Pixels left out at the border of each level.
const BORDER: usize = 5;

/// Refined extrema of the DoG levels `dog` (index 0 ..= scales + 1).
pub fn find_extrema(dog: &[Plane], options: &DetectOptions) -> Vec<Extremum> {
    let (width, height) = (dog[0].width, dog[0].height);
    if width <= 2 * BORDER || height <= 2 * BORDER {
        return Vec::new();
    }
    let pre_threshold = 0.8 * options.peak_threshold;
    let rows: Vec<(usize, usize)> =
        (1..dog.len() - 1).flat_map(|s| (BORDER..height - BORDER).map(move |y| (s, y))).collect();
    let candidates: Vec<(usize, usize, usize)> = rows
        .into_par_iter()
        .flat_map_iter(|(s, y)| {
            let mut found = Vec::new();
            let row = dog[s].row(y);
            for (x, &v) in row.iter().enumerate().take(width - BORDER).skip(BORDER) {
                if v.abs() > pre_threshold && is_extremum(dog, s, x, y, v) {
                    found.push((s, x, y));
                }
            }
            found
        })
        .collect();
    candidates.into_par_iter().filter_map(|(s, x, y)| refine(dog, s, x, y, options)).collect()
}

/// Whether `v` at (`x`, `y`) of level `s` is above or below all 26
/// neighbours (written as plain loops: this runs for most pixels).
fn is_extremum(dog: &[Plane], s: usize, x: usize, y: usize, v: f32) -> bool {
    let beyond = |o: f32| if v > 0.0 { v > o } else { v < o };
    // The own level first: most pixels fail there.
    for l in [s, s - 1, s + 1] {
        for r in y - 1..=y + 1 {
            let row = &dog[l].row(r)[x - 1..=x + 1];
            for (c, &o) in row.iter().enumerate() {
                if !(beyond(o) || (l == s && r == y && c == 1)) {
                    return false;
                }
            }
        }
    }
    true
}

/// Quadratic refinement (up to 5 moves of one pixel), then the contrast and
/// edge tests.
fn refine(dog: &[Plane], s: usize, x: usize, y: usize, options: &DetectOptions) -> Option<Extremum> {
    let (width, height) = (dog[0].width, dog[0].height);
    let (mut s, mut x, mut y) = (s, x, y);
    for _ in 0..5 {
        let d = |ds: isize, dx: isize, dy: isize| {
            dog[(s as isize + ds) as usize].at((x as isize + dx) as usize, (y as isize + dy) as usize)
        };
        let v = d(0, 0, 0);
        let gradient = Vector3::new(
            0.5 * (d(0, 1, 0) - d(0, -1, 0)),
            0.5 * (d(0, 0, 1) - d(0, 0, -1)),
            0.5 * (d(1, 0, 0) - d(-1, 0, 0)),
        );
        let dxx = d(0, 1, 0) + d(0, -1, 0) - 2.0 * v;
        let dyy = d(0, 0, 1) + d(0, 0, -1) - 2.0 * v;
        let dss = d(1, 0, 0) + d(-1, 0, 0) - 2.0 * v;
        let dxy = 0.25 * (d(0, 1, 1) - d(0, 1, -1) - d(0, -1, 1) + d(0, -1, -1));
        let dxs = 0.25 * (d(1, 1, 0) - d(1, -1, 0) - d(-1, 1, 0) + d(-1, -1, 0));
        let dys = 0.25 * (d(1, 0, 1) - d(1, 0, -1) - d(-1, 0, 1) + d(-1, 0, -1));
        let hessian = Matrix3::new(dxx, dxy, dxs, dxy, dyy, dys, dxs, dys, dss);
        let offset = -hessian.lu().solve(&gradient)?;
        if offset.iter().any(|o| !o.is_finite()) {
            return None;
        }
        if offset.iter().all(|o| o.abs() < 0.6) {
            let response = v + 0.5 * gradient.dot(&offset);
            if response.abs() < options.peak_threshold {
                return None;
            }
            let (trace, det) = (dxx + dyy, dxx * dyy - dxy * dxy);
            let r = options.edge_threshold;
            if det <= 0.0 || trace * trace * r >= (r + 1.0) * (r + 1.0) * det {
                return None;
            }
            return Some(Extremum {
                x: x as f32 + offset.x,
                y: y as f32 + offset.y,
                level: s as f32 + offset.z,
                response,
            });
        }
        // Move one step towards the extremum and try again.
        let step = |o: f32| {
            if o > 0.6 {
                1
            } else if o < -0.6 {
                -1
            } else {
                0
            }
        };
        x = (x as isize + step(offset.x)) as usize;
        y = (y as isize + step(offset.y)) as usize;
        s = (s as isize + step(offset.z)) as usize;
        if x < BORDER || x >= width - BORDER || y < BORDER || y >= height - BORDER || s < 1 || s >= dog.len() - 1 {
            return None;
        }
    }
    None
}
