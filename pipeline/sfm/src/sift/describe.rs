//! Orientation assignment and the 128-d SIFT descriptor (4x4 spatial bins
//! of 8 orientations, trilinear interpolation, Gaussian window), then
//! RootSIFT (L1 normalisation and square root) quantised to bytes as
//! COLMAP stores them.

use std::f32::consts::TAU;
use std::ops::RangeInclusive;

use super::plane::Plane;
use super::wide::widest;

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

/// `atan2(y, x)` to within 2e-5 radians (a minimax polynomial for the
/// arctangent on [0, 1], then the octant), several times faster than the
/// library's; the histograms' bins are a thousand times wider. Written
/// with selects, not branches, so that a loop over pixels vectorises.
#[inline]
fn fast_atan2(y: f32, x: f32) -> f32 {
    let (ax, ay) = (x.abs(), y.abs());
    let (small, large) = (ax.min(ay), ax.max(ay));
    let z = if large == 0.0 { 0.0 } else { small / large };
    let z2 = z * z;
    let a = z * (0.999_866 + z2 * (-0.330_299_5 + z2 * (0.180_141 + z2 * (-0.085_133 + z2 * 0.020_835_1))));
    let a = if ay > ax { std::f32::consts::FRAC_PI_2 - a } else { a };
    let a = if x < 0.0 { std::f32::consts::PI - a } else { a };
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

/// The square of `radius` around (`x`, `y`), cut to the interior pixels
/// (where a gradient exists), as column and row ranges.
fn window(plane: &Plane, x: f32, y: f32, radius: isize) -> (RangeInclusive<usize>, RangeInclusive<usize>) {
    let (xi, yi) = (x.round() as isize, y.round() as isize);
    let clamp = |v: isize, size: usize| v.clamp(1, size as isize - 2) as usize;
    (
        clamp(xi - radius, plane.width)..=clamp(xi + radius, plane.width),
        clamp(yi - radius, plane.height)..=clamp(yi + radius, plane.height),
    )
}

/// `exp(-(i - centre)² / (2 sigma²))` for each `i` of `range`: a Gaussian
/// window over image offsets is the product of one per axis.
fn gaussian_weights(range: RangeInclusive<usize>, centre: f32, sigma: f32) -> Vec<f32> {
    let factor = -0.5 / (sigma * sigma);
    range.map(|i| ((i as f32 - centre).powi(2) * factor).exp()).collect()
}

/// The gradients of one row of a window: magnitude and direction
/// (radians, in (-π, π]) of each pixel, by central differences.
#[derive(Default)]
struct RowGradients {
    magnitude: Vec<f32>,
    direction: Vec<f32>,
}

impl RowGradients {
    /// Fills in the gradients of the pixels `columns` of row `y`, all at
    /// once (the loop vectorises, with the widest vectors the processor
    /// has; the histograms' scattered adds then run over the results).
    fn fill(&mut self, plane: &Plane, y: usize, columns: RangeInclusive<usize>) {
        widest(
            #[inline(always)]
            || self.fill_with(plane, y, columns),
        );
    }

    /// The body of [`RowGradients::fill`], inlined into each version.
    #[inline(always)]
    fn fill_with(&mut self, plane: &Plane, y: usize, columns: RangeInclusive<usize>) {
        let (above, row, below) = (plane.row(y - 1), plane.row(y), plane.row(y + 1));
        let (start, end) = (*columns.start(), *columns.end());
        let (left, right) = (&row[start - 1..end], &row[start + 1..=end + 1]);
        let (above, below) = (&above[start..=end], &below[start..=end]);
        self.magnitude.resize(left.len(), 0.0);
        self.direction.resize(left.len(), 0.0);
        let pixels = left.iter().zip(right).zip(above).zip(below);
        for ((magnitude, direction), (((&l, &r), &a), &b)) in
            self.magnitude.iter_mut().zip(self.direction.iter_mut()).zip(pixels)
        {
            let (dx, dy) = (0.5 * (r - l), 0.5 * (b - a));
            *magnitude = (dx * dx + dy * dy).sqrt();
            *direction = fast_atan2(dy, dx);
        }
    }
}

/// Dominant gradient orientations (radians) around (`x`, `y`) at scale
/// `sigma` (octave pixels): peaks of the smoothed 36-bin histogram within
/// 80 % of the highest, at most `max_count`, strongest first.
pub fn orientations(plane: &Plane, x: f32, y: f32, sigma: f32, max_count: usize) -> Vec<f32> {
    let window_sigma = 1.5 * sigma;
    let radius = (3.0 * window_sigma).round() as isize;
    let mut histogram = [0.0f32; ORIENTATION_BINS];
    let (columns, rows) = window(plane, x, y, radius);
    let column_weights = gaussian_weights(columns.clone(), x, window_sigma);
    let limit = (radius * radius) as f32 + 0.5;
    let mut gradients = RowGradients::default();
    for (py, row_weight) in rows.clone().zip(gaussian_weights(rows, y, window_sigma)) {
        let fy = py as f32 - y;
        gradients.fill(plane, py, columns.clone());
        for (k, (&magnitude, &direction)) in gradients.magnitude.iter().zip(&gradients.direction).enumerate() {
            let fx = (columns.start() + k) as f32 - x;
            if fx * fx + fy * fy > limit {
                continue;
            }
            let weight = column_weights[k] * row_weight * magnitude;
            // Bin centres at (i + 0.5) * 10°; the bin below may be the last.
            let angle = wrap(direction);
            let (lower, frac) = split(angle / TAU * ORIENTATION_BINS as f32 - 0.5);
            let lower = (lower + ORIENTATION_BINS as isize) as usize % ORIENTATION_BINS;
            histogram[lower] += (1.0 - frac) * weight;
            histogram[(lower + 1) % ORIENTATION_BINS] += frac * weight;
        }
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
    // Rotation into the keypoint's frame and scaling to bins at once.
    let (cos, sin) = (angle.cos() / bin_width, angle.sin() / bin_width);
    let half = SPATIAL_BINS as f32 / 2.0;
    // The Gaussian window (sigma: half the descriptor's width) is the same
    // in the image's frame as in the keypoint's.
    let (columns, rows) = window(plane, x, y, radius);
    let column_weights = gaussian_weights(columns.clone(), x, half * bin_width);
    let mut histogram = PaddedHistogram::default();
    let mut gradients = RowGradients::default();
    for (py, row_weight) in rows.clone().zip(gaussian_weights(rows, y, half * bin_width)) {
        let fy = py as f32 - y;
        gradients.fill(plane, py, columns.clone());
        for (k, (&magnitude, &direction)) in gradients.magnitude.iter().zip(&gradients.direction).enumerate() {
            let fx = (columns.start() + k) as f32 - x;
            // Offset in the keypoint's frame, in bins from the first centre.
            let column = cos * fx + sin * fy + half - 0.5;
            let row = -sin * fx + cos * fy + half - 0.5;
            if column <= -1.0 || row <= -1.0 || column >= SPATIAL_BINS as f32 || row >= SPATIAL_BINS as f32 {
                continue;
            }
            let weight = column_weights[k] * row_weight * magnitude;
            // In (-π, 3π] before wrapping (`angle` is in [0, 2π)).
            let orientation = wrap(direction - angle + TAU) / TAU * DESCRIPTOR_BINS as f32;
            histogram.add(row, column, orientation, weight);
        }
    }
    let mut histogram = histogram.interior();
    root_sift(&mut histogram);
    let mut out = [0u8; DESCRIPTOR_LEN];
    for (o, v) in out.iter_mut().zip(histogram) {
        *o = (512.0 * v).round().min(255.0) as u8;
    }
    out
}

/// `descriptor` as taken at an angle `quarters` quarter turns greater
/// (the bins are laid out by row, column, then orientation): the spatial
/// grid turns with the frame and each gradient's angle, measured from the
/// frame, drops by as many quarters (two orientation bins each).
pub fn turned(descriptor: &[u8], quarters: usize) -> [u8; DESCRIPTOR_LEN] {
    let mut out: [u8; DESCRIPTOR_LEN] = descriptor.try_into().expect("a SIFT descriptor");
    let last = SPATIAL_BINS - 1;
    for _ in 0..quarters % 4 {
        let before = out;
        for (i, value) in out.iter_mut().enumerate() {
            let (row, column, orientation) =
                (i / (SPATIAL_BINS * DESCRIPTOR_BINS), i / DESCRIPTOR_BINS % SPATIAL_BINS, i % DESCRIPTOR_BINS);
            // A quarter turn: the new column is the old row, the new row
            // the old column counted from the other side.
            let (old_row, old_column) = (column, last - row);
            let old_orientation = (orientation + 2) % DESCRIPTOR_BINS;
            *value = before[(old_row * SPATIAL_BINS + old_column) * DESCRIPTOR_BINS + old_orientation];
        }
    }
    out
}

/// Padded side: spatial bins plus one on each side, so that trilinear
/// spreading needs no bounds checks.
const PADDED: usize = SPATIAL_BINS + 2;

/// The descriptor's histogram with a border of spatial bins that catch
/// the weight falling outside (dropped at the end).
struct PaddedHistogram([f32; PADDED * PADDED * DESCRIPTOR_BINS]);

impl Default for PaddedHistogram {
    fn default() -> PaddedHistogram {
        PaddedHistogram([0.0; PADDED * PADDED * DESCRIPTOR_BINS])
    }
}

impl PaddedHistogram {
    /// Spreads `weight` over the 8 bins around (`row`, `column`,
    /// `orientation`); `row` and `column` are in (-1, SPATIAL_BINS).
    #[inline]
    fn add(&mut self, row: f32, column: f32, orientation: f32, weight: f32) {
        let ((r0, fr), (c0, fc), (o0, fo)) = (split(row), split(column), split(orientation));
        let (r, c, o) = ((r0 + 1) as usize, (c0 + 1) as usize, o0 as usize % DESCRIPTOR_BINS);
        let next = (o + 1) % DESCRIPTOR_BINS;
        for (dr, wr) in [(0, 1.0 - fr), (1, fr)] {
            for (dc, wc) in [(0, 1.0 - fc), (1, fc)] {
                let cell = ((r + dr) * PADDED + c + dc) * DESCRIPTOR_BINS;
                let w = weight * wr * wc;
                self.0[cell + o] += w * (1.0 - fo);
                self.0[cell + next] += w * fo;
            }
        }
    }

    /// The spatial bins inside the descriptor.
    fn interior(&self) -> [f32; DESCRIPTOR_LEN] {
        let mut out = [0.0; DESCRIPTOR_LEN];
        for (r, rows) in out.chunks_exact_mut(SPATIAL_BINS * DESCRIPTOR_BINS).enumerate() {
            let start = ((r + 1) * PADDED + 1) * DESCRIPTOR_BINS;
            rows.copy_from_slice(&self.0[start..start + SPATIAL_BINS * DESCRIPTOR_BINS]);
        }
        out
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
    fn every_vector_width_gives_the_same_gradients() {
        let mut plane = Plane::new(40, 5);
        let mut state = 11u32;
        for v in plane.data.iter_mut() {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v = (state >> 8) as f32 / (1u32 << 24) as f32;
        }
        let (mut widest, mut plain) = (RowGradients::default(), RowGradients::default());
        for (y, columns) in [(1, 1..=38), (2, 3..=36), (3, 17..=17)] {
            widest.fill(&plane, y, columns.clone());
            plain.fill_with(&plane, y, columns.clone());
            assert_eq!(widest.magnitude, plain.magnitude);
            assert_eq!(widest.direction, plain.direction);
            assert_eq!(widest.magnitude.len(), columns.count());
        }
        // The last row filled is the single pixel (17, 3).
        let (dx, dy) = (0.5 * (plane.row(3)[18] - plane.row(3)[16]), 0.5 * (plane.row(4)[17] - plane.row(2)[17]));
        assert_eq!(widest.magnitude, [(dx * dx + dy * dy).sqrt()]);
        assert_eq!(widest.direction, [fast_atan2(dy, dx)]);
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

    /// A smooth texture with gradients in every direction, turned by
    /// `turn` radians about the centre of a 96-pixel plane.
    fn texture(turn: f32) -> Plane {
        let size = 96;
        let mut plane = Plane::new(size, size);
        let (cos, sin) = (turn.cos(), turn.sin());
        for y in 0..size {
            for x in 0..size {
                let (dx, dy) = (x as f32 - 48.0, y as f32 - 48.0);
                let (u, v) = (cos * dx + sin * dy, -sin * dx + cos * dy);
                plane.data[y * size + x] =
                    0.5 + 0.2 * (0.31 * u + 0.1 * v).sin() * (0.23 * v - 0.05 * u).cos() + 0.1 * (0.17 * (u - v)).sin();
            }
        }
        plane
    }

    #[test]
    fn descriptor_turns_with_the_image_at_every_orientation() {
        // Keypoint angles near 0 and 2π, where the relative gradient angle
        // wraps; the texture's gradients point every way.
        for (angle, turn) in [(0.2f32, 0.9f32), (5.9, 0.3), (6.2, 1.7), (3.0, 3.1)] {
            let turned = (angle + turn).rem_euclid(TAU);
            let a = descriptor(&texture(0.0), 48.0, 48.0, 2.5, angle);
            let b = descriptor(&texture(turn), 48.0, 48.0, 2.5, turned);
            let dot: f32 = a.iter().zip(&b).map(|(&p, &q)| f32::from(p) * f32::from(q)).sum();
            let norms: f32 =
                [a, b].iter().map(|d| d.iter().map(|&v| f32::from(v).powi(2)).sum::<f32>().sqrt()).product();
            assert!(dot / norms > 0.99, "angle {angle}, turn {turn}: cosine {}", dot / norms);
        }
    }

    #[test]
    fn a_turned_descriptor_is_the_descriptor_taken_a_quarter_turn_further() {
        let plane = texture(0.0);
        for (angle, quarters) in [(0.0f32, 1), (0.4, 1), (1.0, 2), (2.0, 3), (0.3, 4)] {
            let base = descriptor(&plane, 48.0, 48.0, 2.5, angle);
            let further = descriptor(
                &plane,
                48.0,
                48.0,
                2.5,
                (angle + quarters as f32 * std::f32::consts::FRAC_PI_2).rem_euclid(TAU),
            );
            let moved = turned(&base, quarters);
            let worst = moved.iter().zip(&further).map(|(&p, &q)| (i32::from(p) - i32::from(q)).abs()).max().unwrap();
            assert!(worst <= 2, "angle {angle}, quarters {quarters}: worst byte difference {worst}");
            if quarters % 4 != 0 {
                assert_ne!(moved, base);
            }
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
