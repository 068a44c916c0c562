//! Straight edges of a photo (line segments), found the way LSD (von Gioi
//! et al. 2012) grows them: pixels whose gradients point the same way,
//! joined from the strongest outwards, each region fitted with a
//! rectangle and kept when it is long and filled like a line. The model's
//! up is refined from the edges that are vertical in the world
//! ([`crate::upright::upright_by_edges`]).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::sift::plane::{Plane, blur};

/// A straight edge from `a` to `b`, in pixels of the photo (top-left
/// corner at (0, 0), as keypoints).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// One end.
    pub a: [f32; 2],
    /// The other end.
    pub b: [f32; 2],
}

impl Segment {
    /// Length in pixels.
    pub fn length(&self) -> f32 {
        (self.b[0] - self.a[0]).hypot(self.b[1] - self.a[1])
    }

    /// Whether the segment leans at most [`MAX_LEAN_DEG`] from the photo's
    /// columns, or with `along_rows` from its rows.
    pub fn near_axis(&self, along_rows: bool) -> bool {
        let (dx, dy) = ((self.b[0] - self.a[0]).abs(), (self.b[1] - self.a[1]).abs());
        let (across, along) = if along_rows { (dy, dx) } else { (dx, dy) };
        across.atan2(along) <= MAX_LEAN_DEG.to_radians()
    }

    /// The segment in a photo `fx` times wider and `fy` times taller.
    pub fn rescaled(&self, fx: f32, fy: f32) -> Segment {
        Segment { a: [self.a[0] * fx, self.a[1] * fy], b: [self.b[0] * fx, self.b[1] * fy] }
    }
}

/// Edges are looked for on the photo reduced to this longest side: long
/// edges stay, sensor noise and fine texture fade.
const WORKING_SIZE: usize = 1600;
/// Blur (pixels of the working size) before the gradients, as LSD's.
const SMOOTHING: f32 = 0.8;
/// Gradients of neighbours joined into one edge differ by at most this.
const ANGLE_TOLERANCE_DEG: f32 = 22.5;
/// Least gradient (grey levels of 0..1, per pixel) of an edge pixel: a
/// grey level's quantisation error over the sine of the tolerance, LSD's
/// bound below which the gradient's direction is not known to the
/// tolerance.
const MIN_GRADIENT: f32 = 2.0 / 255.0 / 0.382_683_43;
/// Shortest edge kept, as a share of the working image's longest side.
const MIN_LENGTH_SHARE: f32 = 0.02;
/// Least share of its fitted rectangle a region fills to be a line.
const MIN_DENSITY: f32 = 0.7;
/// Most edges kept per photo, longest first.
const MAX_EDGES: usize = 400;
/// Edges leaning further than this (degrees) from the photo's columns,
/// and from its rows, are not kept: only edges that may be vertical in the
/// world serve, along the columns of a photo held upright or the rows of
/// one turned a quarter.
const MAX_LEAN_DEG: f32 = 40.0;

/// The straight edges of `grey`, in its pixels.
pub fn detect_edges(grey: &Plane) -> Vec<Segment> {
    let mut plane = std::borrow::Cow::Borrowed(grey);
    let mut factor = 1.0f32;
    while plane.width.max(plane.height) > WORKING_SIZE {
        plane = std::borrow::Cow::Owned(halved(&plane));
        factor *= 2.0;
    }
    let gradients = Gradients::of(&blur(&plane, SMOOTHING));
    let min_length = MIN_LENGTH_SHARE * plane.width.max(plane.height) as f32;
    // Each halving maps corner coordinates by a factor of two exactly.
    let to_input = |v: f32| factor * v;
    let mut edges = Vec::new();
    grow_regions(&gradients, |region| {
        if let Some(s) = fit_segment(region, &gradients, min_length) {
            edges.push(Segment { a: s.a.map(to_input), b: s.b.map(to_input) });
        }
    });
    edges
}

/// The edges of `grey` that may be vertical in the world: the longest
/// [`MAX_EDGES`] of those that lean at most [`MAX_LEAN_DEG`] from its
/// columns, then the longest of those that lean as little from its rows.
pub fn plumb_candidates(grey: &Plane) -> Vec<Segment> {
    let edges = detect_edges(grey);
    let mut kept = Vec::new();
    for along_rows in [false, true] {
        let mut near: Vec<Segment> = edges.iter().filter(|s| s.near_axis(along_rows)).copied().collect();
        near.sort_by(|p, q| q.length().total_cmp(&p.length()));
        near.truncate(MAX_EDGES);
        kept.extend(near);
    }
    kept
}

/// The plane at half the size, each pixel the mean of the 2x2 it covers
/// (a last odd row or column is dropped).
fn halved(plane: &Plane) -> Plane {
    let (width, height) = (plane.width / 2, plane.height / 2);
    let mut out = Plane::new(width, height);
    out.data.par_chunks_mut(width.max(1)).enumerate().for_each(|(y, row)| {
        let (top, bottom) = (plane.row(2 * y), plane.row(2 * y + 1));
        for (x, v) in row.iter_mut().enumerate() {
            *v = (top[2 * x] + top[2 * x + 1] + bottom[2 * x] + bottom[2 * x + 1]) / 4.0;
        }
    });
    out
}

/// Gradients by 2x2 differences (LSD's), each at the centre of its 2x2
/// block: magnitude and direction, the magnitude zero where too weak.
struct Gradients {
    width: usize,
    height: usize,
    magnitude: Vec<f32>,
    angle: Vec<f32>,
}

impl Gradients {
    fn of(plane: &Plane) -> Gradients {
        let (width, height) = (plane.width.saturating_sub(1), plane.height.saturating_sub(1));
        let mut magnitude = vec![0.0; width * height];
        let mut angle = vec![0.0; width * height];
        magnitude.par_chunks_mut(width.max(1)).zip(angle.par_chunks_mut(width.max(1))).enumerate().for_each(
            |(y, (magnitude, angle))| {
                let (top, bottom) = (plane.row(y), plane.row(y + 1));
                for x in 0..width {
                    let diagonal = bottom[x + 1] - top[x];
                    let anti = top[x + 1] - bottom[x];
                    let (gx, gy) = ((diagonal + anti) / 2.0, (diagonal - anti) / 2.0);
                    let m = gx.hypot(gy);
                    if m > MIN_GRADIENT {
                        magnitude[x] = m;
                        angle[x] = gy.atan2(gx);
                    }
                }
            },
        );
        Gradients { width, height, magnitude, angle }
    }
}

/// The difference of two angles, folded into -π..π.
fn angle_difference(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(std::f32::consts::TAU);
    if d > std::f32::consts::PI { d - std::f32::consts::TAU } else { d }
}

/// Regions of neighbouring pixels (8-connected) whose gradient directions
/// agree with the region's mean within the tolerance, grown from the
/// strongest pixels first; each region's pixel indices go to `found`.
fn grow_regions(g: &Gradients, mut found: impl FnMut(&[usize])) {
    // Strongest first: a positive float's bits order as it does, so the
    // magnitude's bits above the index sort both at once.
    let mut seeds: Vec<u64> = (0..g.magnitude.len())
        .filter(|&i| g.magnitude[i] > 0.0)
        .map(|i| (u64::from(g.magnitude[i].to_bits()) << 32) | i as u64)
        .collect();
    seeds.par_sort_unstable_by(|p, q| q.cmp(p));
    let tolerance = ANGLE_TOLERANCE_DEG.to_radians();
    let mut used = vec![false; g.magnitude.len()];
    let mut region = Vec::new();
    for seed in seeds.into_iter().map(|s| (s & u64::from(u32::MAX)) as usize) {
        if used[seed] {
            continue;
        }
        used[seed] = true;
        region.clear();
        region.push(seed);
        let (mut sum_cos, mut sum_sin) = (g.angle[seed].cos(), g.angle[seed].sin());
        let mut next = 0;
        while next < region.len() {
            let (x, y) = (region[next] % g.width, region[next] / g.width);
            next += 1;
            let mean = sum_sin.atan2(sum_cos);
            for ny in y.saturating_sub(1)..(y + 2).min(g.height) {
                for nx in x.saturating_sub(1)..(x + 2).min(g.width) {
                    let n = ny * g.width + nx;
                    if used[n] || g.magnitude[n] == 0.0 || angle_difference(g.angle[n], mean).abs() > tolerance {
                        continue;
                    }
                    used[n] = true;
                    region.push(n);
                    sum_cos += g.angle[n].cos();
                    sum_sin += g.angle[n].sin();
                }
            }
        }
        found(&region);
    }
}

/// The segment along a region: its centre and main axis from the
/// gradient-weighted moments of its pixels, its ends at the pixels
/// furthest along the axis; `None` when shorter than `min_length` or not
/// filling [`MIN_DENSITY`] of its rectangle (a curve, a corner, a blob).
fn fit_segment(region: &[usize], g: &Gradients, min_length: f32) -> Option<Segment> {
    if (region.len() as f32) < min_length {
        return None;
    }
    // Pixel (x, y) of the gradients sits at corner coordinates (x + 1, y + 1).
    let at = |i: usize| ((i % g.width) as f64 + 1.0, (i / g.width) as f64 + 1.0);
    let (mut sum, mut cx, mut cy) = (0.0f64, 0.0f64, 0.0f64);
    for &i in region {
        let (x, y) = at(i);
        let w = f64::from(g.magnitude[i]);
        sum += w;
        cx += w * x;
        cy += w * y;
    }
    let (cx, cy) = (cx / sum, cy / sum);
    let (mut xx, mut yy, mut xy) = (0.0f64, 0.0f64, 0.0f64);
    for &i in region {
        let (x, y) = at(i);
        let w = f64::from(g.magnitude[i]);
        xx += w * (x - cx) * (x - cx);
        yy += w * (y - cy) * (y - cy);
        xy += w * (x - cx) * (y - cy);
    }
    // The main axis: the eigenvector of the larger eigenvalue.
    let theta = 0.5 * (2.0 * xy).atan2(xx - yy);
    let (dx, dy) = (theta.cos(), theta.sin());
    let (mut along_min, mut along_max, mut across_min, mut across_max) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for &i in region {
        let (x, y) = at(i);
        let along = (x - cx) * dx + (y - cy) * dy;
        let across = -(x - cx) * dy + (y - cy) * dx;
        along_min = along_min.min(along);
        along_max = along_max.max(along);
        across_min = across_min.min(across);
        across_max = across_max.max(across);
    }
    let length = along_max - along_min + 1.0;
    let width = across_max - across_min + 1.0;
    if (length as f32) < min_length || (region.len() as f64) < f64::from(MIN_DENSITY) * length * width {
        return None;
    }
    let end = |t: f64| [(cx + t * dx) as f32, (cy + t * dy) as f32];
    Some(Segment { a: end(along_min), b: end(along_max) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `width` x `height` plane of `inside(x, y)` at pixel centres,
    /// averaged over 4x4 samples per pixel (an edge's pixels take the
    /// share of their area on each side, as a camera's do).
    fn rendered(width: usize, height: usize, inside: impl Fn(f64, f64) -> bool) -> Plane {
        let mut plane = Plane::new(width, height);
        for y in 0..height {
            for x in 0..width {
                let mut covered = 0;
                for sy in 0..4 {
                    for sx in 0..4 {
                        let (px, py) = (x as f64 + (sx as f64 + 0.5) / 4.0, y as f64 + (sy as f64 + 0.5) / 4.0);
                        covered += usize::from(inside(px, py));
                    }
                }
                plane.data[y * width + x] = 0.2 + 0.6 * covered as f32 / 16.0;
            }
        }
        plane
    }

    /// The distance of point `p` from the infinite line through `s`.
    fn off_line(s: &Segment, p: [f64; 2]) -> f64 {
        let (a, b) = (s.a.map(f64::from), s.b.map(f64::from));
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        ((p[0] - a[0]) * dy - (p[1] - a[1]) * dx).abs() / dx.hypot(dy)
    }

    #[test]
    fn a_tilted_step_edge_is_found_along_the_line_and_to_its_ends() {
        // A bright region right of the line x = 100 + 0.1 (y - 20), for
        // rows 20..180 only.
        let line_x = |y: f64| 100.0 + 0.1 * (y - 20.0);
        let plane = rendered(200, 200, |x, y| (20.0..180.0).contains(&y) && x > line_x(y));
        let edges = detect_edges(&plane);
        let along: Vec<&Segment> = edges.iter().filter(|s| s.length() > 100.0).collect();
        assert_eq!(along.len(), 1, "{edges:?}");
        let s = along[0];
        for y in [30.0, 100.0, 170.0] {
            assert!(off_line(s, [line_x(y), y]) < 0.3, "{s:?} off the line at row {y}");
        }
        let (top, bottom) = (s.a[1].min(s.b[1]), s.a[1].max(s.b[1]));
        assert!((top - 20.0).abs() < 3.0 && (bottom - 180.0).abs() < 3.0, "{s:?}");
    }

    #[test]
    fn a_large_photo_is_searched_reduced_and_answered_in_its_own_pixels() {
        // A vertical edge at x = 1234.5 in a 3000 x 2000 photo: searched at
        // 1500 x 1000, reported where it is in the photo.
        let plane = rendered(3000, 2000, |x, _| x > 1234.5);
        let edges = plumb_candidates(&plane);
        let s = edges.iter().max_by(|p, q| p.length().total_cmp(&q.length())).expect("an edge");
        assert!(s.length() > 1800.0, "{s:?}");
        for y in [200.0, 1000.0, 1800.0] {
            assert!(off_line(s, [1234.5, y]) < 1.0, "{s:?} off the edge at row {y}");
        }
    }

    #[test]
    fn noise_and_a_circle_give_no_long_edges() {
        let mut state = 12345u64;
        let mut noise = Plane::new(300, 300);
        for v in &mut noise.data {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            *v = (state >> 40) as f32 / (1u64 << 24) as f32;
        }
        assert!(detect_edges(&noise).iter().all(|s| s.length() < 15.0));
        let circle = rendered(300, 300, |x, y| (x - 150.0).hypot(y - 150.0) < 100.0);
        // A circle of radius 100 has no straight stretch longer than the
        // tolerance allows: a chord within 22.5° of the tangent is short.
        assert!(detect_edges(&circle).iter().all(|s| s.length() < 90.0), "{:?}", detect_edges(&circle));
    }

    #[test]
    fn only_edges_near_the_columns_or_rows_are_kept_for_finding_up() {
        // A horizontal edge and one leaning 30° from the columns: both kept,
        // the one near the columns first.
        let plane = rendered(400, 400, |x, y| y > 100.0 && (x - 200.0) < (y - 100.0) * 30f64.to_radians().tan());
        let edges = plumb_candidates(&plane);
        let long: Vec<&Segment> = edges.iter().filter(|s| s.length() > 150.0).collect();
        assert_eq!(long.len(), 2, "{edges:?}");
        assert!(long[0].near_axis(false) && !long[0].near_axis(true), "{edges:?}");
        assert!(long[1].near_axis(true) && !long[1].near_axis(false), "{edges:?}");
        // A diagonal, 45° from both, is not kept.
        let diagonal = rendered(400, 400, |x, y| x < y);
        assert!(plumb_candidates(&diagonal).iter().all(|s| s.length() < 50.0));
    }
}
