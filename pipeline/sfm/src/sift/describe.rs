//! Orientation assignment and the 128-d SIFT descriptor (4x4 spatial bins
//! of 8 orientations, trilinear interpolation, Gaussian window), then
//! RootSIFT (L1 normalisation and square root) quantised to bytes as
//! COLMAP stores them.

use std::f32::consts::TAU;

use super::plane::Plane;

/// Orientation histogram bins.
const ORIENTATION_BINS: usize = 36;
/// Spatial bins per side of the descriptor.
const SPATIAL_BINS: usize = 4;
/// Orientation bins of the descriptor.
const DESCRIPTOR_BINS: usize = 8;
/// Descriptor length.
pub const DESCRIPTOR_LEN: usize = SPATIAL_BINS * SPATIAL_BINS * DESCRIPTOR_BINS;
/// Width of a spatial bin in units of the keypoint's scale.
const MAGNIFICATION: f32 = 3.0;

/// Gradient (magnitude, angle in [0, 2π)) at an interior pixel, by
/// central differences.
#[inline]
fn gradient(plane: &Plane, x: usize, y: usize) -> (f32, f32) {
    let dx = 0.5 * (plane.at(x + 1, y) - plane.at(x - 1, y));
    let dy = 0.5 * (plane.at(x, y + 1) - plane.at(x, y - 1));
    ((dx * dx + dy * dy).sqrt(), wrap(fast_atan2(dy, dx)))
}

/// `atan2(y, x)` to within 2e-5 radians (a minimax polynomial for the
/// arctangent on [0, 1], then the octant), several times faster than the
/// library's; the histograms' bins are a thousand times wider.
#[inline]
fn fast_atan2(y: f32, x: f32) -> f32 {
    let (ax, ay) = (x.abs(), y.abs());
    let (small, large) = if ax < ay { (ax, ay) } else { (ay, ax) };
    if large == 0.0 {
        return 0.0;
    }
    let z = small / large;
    let z2 = z * z;
    let mut a = z * (0.999_866 + z2 * (-0.330_299_5 + z2 * (0.180_141 + z2 * (-0.085_133 + z2 * 0.020_835_1))));
    if ay > ax {
        a = std::f32::consts::FRAC_PI_2 - a;
    }
    if x < 0.0 {
        a = std::f32::consts::PI - a;
    }
    if y < 0.0 { -a } else { a }
}

/// An angle in (-2π, 4π) brought into [0, 2π) without a division.
#[inline]
fn wrap(mut angle: f32) -> f32 {
    if angle < 0.0 {
        angle += TAU;
    }
    if angle >= TAU {
        angle -= TAU;
    }
    angle
}

/// `value.floor()` for `value > -1` (as an integer and the fraction above
/// it), by truncation: the library call is not inlined on plain x86-64.
#[inline]
fn split(value: f32) -> (isize, f32) {
    let whole = (value + 1.0) as isize - 1;
    (whole, value - whole as f32)
}

/// The interior pixels (where a gradient exists) of the square of
/// `radius` around (`x`, `y`), with their offsets from it.
fn window(plane: &Plane, x: f32, y: f32, radius: isize) -> impl Iterator<Item = (usize, usize, f32, f32)> + '_ {
    let (xi, yi) = (x.round() as isize, y.round() as isize);
    let (width, height) = (plane.width as isize, plane.height as isize);
    (yi - radius..=yi + radius).filter(move |&py| py >= 1 && py < height - 1).flat_map(move |py| {
        (xi - radius..=xi + radius)
            .filter(move |&px| px >= 1 && px < width - 1)
            .map(move |px| (px as usize, py as usize, px as f32 - x, py as f32 - y))
    })
}

/// Dominant gradient orientations (radians) around (`x`, `y`) at scale
/// `sigma` (octave pixels): peaks of the smoothed 36-bin histogram within
/// 80 % of the highest, at most `max_count`, strongest first.
pub fn orientations(plane: &Plane, x: f32, y: f32, sigma: f32, max_count: usize) -> Vec<f32> {
    let window_sigma = 1.5 * sigma;
    let radius = (3.0 * window_sigma).round() as isize;
    let mut histogram = [0.0f32; ORIENTATION_BINS];
    for (px, py, fx, fy) in window(plane, x, y, radius) {
        let r2 = fx * fx + fy * fy;
        if r2 > (radius * radius) as f32 + 0.5 {
            continue;
        }
        let (magnitude, angle) = gradient(plane, px, py);
        let weight = (-r2 / (2.0 * window_sigma * window_sigma)).exp();
        // Bin centres at (i + 0.5) * 10°; the bin below may be the last.
        let (lower, frac) = split(angle / TAU * ORIENTATION_BINS as f32 - 0.5);
        let lower = (lower + ORIENTATION_BINS as isize) as usize % ORIENTATION_BINS;
        histogram[lower] += (1.0 - frac) * weight * magnitude;
        histogram[(lower + 1) % ORIENTATION_BINS] += frac * weight * magnitude;
    }
    for _ in 0..6 {
        let previous = histogram;
        for i in 0..ORIENTATION_BINS {
            let left = previous[(i + ORIENTATION_BINS - 1) % ORIENTATION_BINS];
            let right = previous[(i + 1) % ORIENTATION_BINS];
            histogram[i] = (left + previous[i] + right) / 3.0;
        }
    }
    let highest = histogram.iter().cloned().fold(0.0, f32::max);
    if highest <= 0.0 {
        return Vec::new();
    }
    let mut peaks: Vec<(f32, f32)> = (0..ORIENTATION_BINS)
        .filter_map(|i| {
            let left = histogram[(i + ORIENTATION_BINS - 1) % ORIENTATION_BINS];
            let right = histogram[(i + 1) % ORIENTATION_BINS];
            let h = histogram[i];
            if h < 0.8 * highest || h <= left || h < right {
                return None;
            }
            let offset = 0.5 * (left - right) / (left - 2.0 * h + right);
            let bin = i as f32 + 0.5 + offset;
            Some((h, (bin / ORIENTATION_BINS as f32 * TAU).rem_euclid(TAU)))
        })
        .collect();
    peaks.sort_by(|a, b| b.0.total_cmp(&a.0));
    peaks.into_iter().take(max_count).map(|(_, angle)| angle).collect()
}

/// The RootSIFT descriptor of the keypoint (`x`, `y`, `sigma`, `angle`)
/// in octave pixels, quantised as `min(255, round(512 v))`.
pub fn descriptor(plane: &Plane, x: f32, y: f32, sigma: f32, angle: f32) -> [u8; DESCRIPTOR_LEN] {
    let bin_width = MAGNIFICATION * sigma;
    let radius = (std::f32::consts::SQRT_2 * bin_width * (SPATIAL_BINS as f32 + 1.0) / 2.0 + 0.5) as isize;
    let (cos, sin) = (angle.cos(), angle.sin());
    let half = SPATIAL_BINS as f32 / 2.0;
    let mut histogram = [0.0f32; DESCRIPTOR_LEN];
    for (px, py, fx, fy) in window(plane, x, y, radius) {
        // Offset in the keypoint's frame, in bins.
        let nx = (cos * fx + sin * fy) / bin_width;
        let ny = (-sin * fx + cos * fy) / bin_width;
        let (column, row) = (nx + half - 0.5, ny + half - 0.5);
        if column <= -1.0 || row <= -1.0 || column >= SPATIAL_BINS as f32 || row >= SPATIAL_BINS as f32 {
            continue;
        }
        let (magnitude, gradient_angle) = gradient(plane, px, py);
        let weight = magnitude * (-(nx * nx + ny * ny) / (2.0 * half * half)).exp();
        let orientation = wrap(gradient_angle - angle) / TAU * DESCRIPTOR_BINS as f32;
        add_trilinear(&mut histogram, row, column, orientation, weight);
    }
    root_sift(&mut histogram);
    let mut out = [0u8; DESCRIPTOR_LEN];
    for (o, v) in out.iter_mut().zip(histogram) {
        *o = (512.0 * v).round().min(255.0) as u8;
    }
    out
}

/// Spreads `weight` over the 8 bins around (`row`, `column`, `orientation`).
fn add_trilinear(histogram: &mut [f32; DESCRIPTOR_LEN], row: f32, column: f32, orientation: f32, weight: f32) {
    let ((r0, fr), (c0, fc), (o0, fo)) = (split(row), split(column), split(orientation));
    for (dr, wr) in [(0, 1.0 - fr), (1, fr)] {
        let r = r0 + dr;
        if !(0..SPATIAL_BINS as isize).contains(&r) {
            continue;
        }
        for (dc, wc) in [(0, 1.0 - fc), (1, fc)] {
            let c = c0 + dc;
            if !(0..SPATIAL_BINS as isize).contains(&c) {
                continue;
            }
            for (dor, wo) in [(0, 1.0 - fo), (1, fo)] {
                let o = (o0 as usize + dor) % DESCRIPTOR_BINS;
                let index = (r as usize * SPATIAL_BINS + c as usize) * DESCRIPTOR_BINS + o;
                histogram[index] += weight * wr * wc * wo;
            }
        }
    }
}

/// Lowe's normalisation (unit length, clipped at 0.2, unit length again)
/// followed by RootSIFT (unit L1 norm, square root: unit L2 norm).
fn root_sift(histogram: &mut [f32; DESCRIPTOR_LEN]) {
    let norm = histogram.iter().map(|v| v * v).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
    histogram.iter_mut().for_each(|v| *v = (*v / norm).min(0.2));
    let l1 = histogram.iter().sum::<f32>().max(f32::MIN_POSITIVE);
    histogram.iter_mut().for_each(|v| *v = (*v / l1).sqrt());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(angle: f32) -> Plane {
        let size = 64;
        let mut plane = Plane::new(size, size);
        for y in 0..size {
            for x in 0..size {
                plane.data[y * size + x] = 0.01 * (x as f32 * angle.cos() + y as f32 * angle.sin());
            }
        }
        plane
    }

    #[test]
    fn fast_arctangent_agrees_with_the_library() {
        let mut worst = 0.0f32;
        for k in 0..3600 {
            let t = k as f32 / 3600.0 * TAU;
            for r in [1e-3f32, 0.5, 7.0] {
                let (y, x) = (r * t.sin(), r * t.cos());
                worst = worst.max((fast_atan2(y, x) - y.atan2(x)).abs());
            }
        }
        assert!(worst < 2e-5, "worst error {worst}");
        assert_eq!(fast_atan2(0.0, 0.0), 0.0);
        assert_eq!(split(-0.25), (-1, 0.75));
        assert_eq!(split(2.5), (2, 0.5));
        assert!((wrap(-0.5) - (TAU - 0.5)).abs() < 1e-6 && (wrap(TAU + 0.5) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn orientation_of_a_ramp_is_its_gradient_direction() {
        for degrees in [0.0f32, 30.0, 100.0, 200.0, 300.0] {
            let angle = degrees.to_radians();
            let found = orientations(&ramp(angle), 32.0, 32.0, 3.0, 2);
            assert_eq!(found.len(), 1, "{degrees}: {found:?}");
            let error = (found[0] - angle + std::f32::consts::PI).rem_euclid(TAU) - std::f32::consts::PI;
            assert!(error.abs() < 0.02, "{degrees}: {found:?}");
        }
    }

    #[test]
    fn descriptor_is_unit_rootsift_and_rotation_invariant_on_a_ramp() {
        let a = descriptor(&ramp(0.3), 32.0, 32.0, 2.0, 0.3);
        let b = descriptor(&ramp(1.9), 32.0, 32.0, 2.0, 1.9);
        let norm: f32 = a.iter().map(|&v| (v as f32 / 512.0).powi(2)).sum();
        assert!((norm - 1.0).abs() < 0.05, "norm {norm}");
        let distance: i32 = a.iter().zip(&b).map(|(&p, &q)| (p as i32 - q as i32).abs()).sum();
        assert!(distance < 64, "distance {distance}");
    }
}
