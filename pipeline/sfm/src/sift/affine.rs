//! Affine shape adaptation (Baumberg 2000; Mikolajczyk and Schmid 2004,
//! as VLFeat's covariant detector does it): the ellipse around a keypoint
//! whose gradients' second-moment matrix is isotropic, so that a surface
//! seen from two directions gives regions that map onto each other; and
//! the image resampled in that ellipse's frame, where the descriptor is
//! taken.

use nalgebra::{Matrix2, Vector2};

use super::plane::{Plane, blur};

/// A Gaussian level of the scale space as the sampler sees it.
pub struct Level<'a> {
    /// The level.
    pub plane: &'a Plane,
    /// Image pixels per sample of the level.
    pub factor: f32,
    /// Blur of the level in image pixels.
    pub blur: f32,
}

/// Samples each side of the centre of the adaptation patch.
const ADAPT_HALF: usize = 20;
/// Half the width of the adaptation patch, in frame units.
const ADAPT_EXTENT: f32 = 9.0;
/// Integration scale of the second-moment matrix, in frame units.
const INTEGRATION_SIGMA: f32 = 3.0;
/// Most iterations of the adaptation.
const MAX_ITERATIONS: usize = 15;
/// Largest ratio of the axes of an adapted region.
const MAX_ANISOTROPY: f32 = 5.0;
/// The adaptation stops when the second-moment matrix's eigenvalues are
/// this close (VLFeat: 1.001; on fountain-P11 1.2 matched as many
/// photos' features correctly at a third of the time).
const CONVERGED: f32 = 1.2;

/// The patch of `2 half + 1` squared samples of the image around `centre`
/// (image pixel-centre coordinates) in the frame `frame` (image pixels per
/// frame unit), `step` frame units apart, taken by bilinear interpolation
/// from the coarsest level whose blur along the frame's finer axis is at
/// most `blur` frame units; then blurred to `blur` along that axis when
/// it falls short by a third of a sample or more (`blur` 0: as taken).
pub fn sample(
    levels: &[Level],
    centre: [f32; 2],
    frame: &Matrix2<f32>,
    half: usize,
    step: f32,
    blur_units: f32,
) -> Plane {
    let (finer, _) = axes(frame);
    let level = levels
        .iter()
        .filter(|l| l.blur <= blur_units * finer)
        .max_by(|p, q| p.blur.total_cmp(&q.blur).then(p.factor.total_cmp(&q.factor)))
        .unwrap_or_else(|| levels.iter().min_by(|p, q| p.blur.total_cmp(&q.blur)).expect("a level"));
    let side = 2 * half + 1;
    let plane = level.plane;
    let (last_x, last_y) = ((plane.width - 1) as f32, (plane.height - 1) as f32);
    // Level samples per patch sample along a patch row and down a column.
    let scale = step / level.factor;
    let (along_x, along_y) = (frame[(0, 0)] * scale, frame[(1, 0)] * scale);
    let (down_x, down_y) = (frame[(0, 1)] * scale, frame[(1, 1)] * scale);
    let h = half as f32;
    let (start_x, start_y) =
        (centre[0] / level.factor - h * (along_x + down_x), centre[1] / level.factor - h * (along_y + down_y));
    let mut patch = Plane::new(side, side);
    for (row, out) in patch.data.chunks_exact_mut(side).enumerate() {
        let (mut x, mut y) = (start_x + row as f32 * down_x, start_y + row as f32 * down_y);
        for v in out {
            let (px, py) = (x.clamp(0.0, last_x), y.clamp(0.0, last_y));
            let (x0, y0) = (px as usize, py as usize);
            let (x1, y1) = ((x0 + 1).min(plane.width - 1), (y0 + 1).min(plane.height - 1));
            let (fx, fy) = (px - x0 as f32, py - y0 as f32);
            let (upper, lower) = (plane.row(y0), plane.row(y1));
            let top = upper[x0] + fx * (upper[x1] - upper[x0]);
            let bottom = lower[x0] + fx * (lower[x1] - lower[x0]);
            *v = top + fy * (bottom - top);
            x += along_x;
            y += along_y;
        }
    }
    let have = level.blur / finer;
    let missing = (blur_units * blur_units - have * have).max(0.0).sqrt() / step;
    if missing >= 1.0 / 3.0 { blur(&patch, missing) } else { patch }
}

/// The smaller and larger singular values of a 2 x 2 matrix (the axes of
/// the ellipse it maps the unit circle to).
fn axes(m: &Matrix2<f32>) -> (f32, f32) {
    let squares = m.iter().map(|v| v * v).sum::<f32>();
    let det = m.determinant();
    let spread = (squares * squares - 4.0 * det * det).max(0.0).sqrt();
    (((squares - spread) / 2.0).max(0.0).sqrt(), ((squares + spread) / 2.0).sqrt())
}

/// Finds the affine shape of keypoints; holds the Gaussian window of the
/// second-moment matrix.
pub struct Adapter {
    window: Vec<f32>,
}

impl Default for Adapter {
    fn default() -> Adapter {
        let n = 2 * ADAPT_HALF + 1;
        let factor = -0.5 * (ADAPT_EXTENT / ADAPT_HALF as f32 / INTEGRATION_SIGMA).powi(2);
        let window = (0..n * n)
            .map(|i| {
                let (x, y) = ((i % n) as f32 - ADAPT_HALF as f32, (i / n) as f32 - ADAPT_HALF as f32);
                ((x * x + y * y) * factor).exp()
            })
            .collect();
        Adapter { window }
    }
}

impl Adapter {
    /// The window-weighted second-moment matrix of the gradients of an
    /// adaptation patch.
    fn second_moments(&self, patch: &Plane) -> Matrix2<f32> {
        let n = patch.width;
        let (mut xx, mut xy, mut yy) = (0.0f32, 0.0f32, 0.0f32);
        for y in 1..n - 1 {
            let (above, row, below) = (patch.row(y - 1), patch.row(y), patch.row(y + 1));
            for x in 1..n - 1 {
                let gx = 0.5 * (row[x + 1] - row[x - 1]);
                let gy = 0.5 * (below[x] - above[x]);
                let w = self.window[y * n + x];
                xx += w * gx * gx;
                xy += w * gx * gy;
                yy += w * gy * gy;
            }
        }
        Matrix2::new(xx, xy, xy, yy)
    }

    /// The adapted frame of a keypoint at `centre` of scale `sigma` (image
    /// pixels): its finer axis keeps the keypoint's scale, the other
    /// grows until the gradients about it are alike in every direction
    /// (at most `MAX_ANISOTROPY` times as long); then turned so that the
    /// image's vertical stays vertical (lower triangular). A keypoint
    /// without gradients in both directions keeps its round frame.
    pub fn adapt(&self, levels: &[Level], centre: [f32; 2], sigma: f32) -> Matrix2<f32> {
        let round = Matrix2::identity() * sigma;
        let step = ADAPT_EXTENT / ADAPT_HALF as f32;
        let (mut frame, mut adapted) = (round, round);
        for iteration in 0..MAX_ITERATIONS {
            let (finer, longer) = axes(&frame);
            if longer > MAX_ANISOTROPY * finer {
                break;
            }
            frame *= sigma / finer;
            adapted = frame;
            if iteration + 1 == MAX_ITERATIONS {
                break;
            }
            let moments = self.second_moments(&sample(levels, centre, &frame, ADAPT_HALF, step, 0.0));
            if moments[(0, 0)] <= 0.0 || moments[(1, 1)] <= 0.0 {
                return round;
            }
            let eigen = moments.symmetric_eigen();
            let [l0, l1] = [eigen.eigenvalues[0], eigen.eigenvalues[1]].map(|l| l.max(f32::MIN_POSITIVE));
            if l0.max(l1) < CONVERGED * l0.min(l1) {
                break;
            }
            // Stretch the frame along the direction the gradients vary
            // least: the new patch's moments are nearer the identity.
            frame = frame
                * eigen.eigenvectors
                * Matrix2::from_diagonal(&Vector2::new(l0.sqrt().recip(), l1.sqrt().recip()));
        }
        upright(&adapted)
    }
}

/// The frame with the same ellipse whose vertical axis maps to the image's
/// vertical: the lower triangular `l` with `l lᵀ = frame frameᵀ`.
fn upright(frame: &Matrix2<f32>) -> Matrix2<f32> {
    let s = frame * frame.transpose();
    let l11 = s[(0, 0)].sqrt();
    let l21 = s[(1, 0)] / l11;
    let l22 = (s[(1, 1)] - l21 * l21).max(0.0).sqrt();
    Matrix2::new(l11, 0.0, l21, l22)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plane of a texture that varies `squeeze` times faster across
    /// than along the direction at `angle`, with gradients every way.
    fn stretched_texture(squeeze: f32, angle: f32) -> Plane {
        let size = 200;
        let mut plane = Plane::new(size, size);
        let (c, s) = (angle.cos(), angle.sin());
        for y in 0..size {
            for x in 0..size {
                let (dx, dy) = (x as f32 - 100.0, y as f32 - 100.0);
                let (along, across) = (c * dx + s * dy, squeeze * (-s * dx + c * dy));
                let (u, v) = (along / 3.0, across / 3.0);
                plane.data[y * size + x] = 0.5
                    + 0.2 * (u.sin() * (0.7 * v).cos())
                    + 0.15 * (1.3 * v + 0.4 * u).sin() * (0.9 * u - 0.2 * v).cos();
            }
        }
        blur(&plane, 1.0)
    }

    fn level(plane: &Plane) -> Vec<Level<'_>> {
        vec![Level { plane, factor: 1.0, blur: 1.0 }]
    }

    #[test]
    fn the_frame_of_an_isotropic_texture_stays_nearly_round() {
        let plane = stretched_texture(1.0, 0.0);
        let frame = Adapter::default().adapt(&level(&plane), [100.0, 100.0], 3.0);
        let axes = frame.svd(false, false).singular_values;
        assert!(axes.max() < 1.6 * axes.min(), "{frame}");
        assert_eq!(frame[(0, 1)], 0.0);
    }

    #[test]
    fn a_texture_squeezed_across_a_direction_gives_a_frame_long_along_it() {
        for angle in [0.0f32, 0.5, 1.2, 2.4] {
            let plane = stretched_texture(0.4, angle);
            // The texture changes 2.5 times slower across `angle`: the
            // frame should be about 2.5 times longer that way.
            let frame = Adapter::default().adapt(&level(&plane), [100.0, 100.0], 3.0);
            let across = Vector2::new(-angle.sin(), angle.cos());
            let along = Vector2::new(angle.cos(), angle.sin());
            let inverse = frame.try_inverse().unwrap();
            // Lengths of the frame along each direction: 1 / |frame⁻¹ d|.
            let (l_across, l_along) = (1.0 / (inverse * across).norm(), 1.0 / (inverse * along).norm());
            let ratio = l_across / l_along;
            assert!((1.8..3.4).contains(&ratio), "angle {angle}: ratio {ratio}, frame {frame}");
            assert!((frame.svd(false, false).singular_values.min() - 3.0).abs() < 1e-3);
            assert_eq!(frame[(0, 1)], 0.0);
        }
    }

    #[test]
    fn the_axes_are_the_singular_values() {
        for m in [Matrix2::new(2.0, 0.0, 1.0, 3.0), Matrix2::new(-1.5, 0.3, 0.7, 0.2), Matrix2::identity() * 4.0] {
            let singular = m.svd(false, false).singular_values;
            let (finer, longer) = axes(&m);
            assert!((finer - singular.min()).abs() < 1e-5 && (longer - singular.max()).abs() < 1e-5, "{m}");
        }
    }

    #[test]
    fn sampling_in_a_frame_reads_the_image_where_the_frame_puts_it() {
        let mut plane = Plane::new(64, 48);
        for (i, v) in plane.data.iter_mut().enumerate() {
            *v = (i % 64) as f32 + 100.0 * (i / 64) as f32;
        }
        let frame = Matrix2::new(2.0, 0.0, 1.0, 3.0);
        let patch = sample(&level(&plane), [30.0, 20.0], &frame, 2, 0.5, 0.0);
        // Patch sample (col, row) = (4, 0): u = (1, -1) frame units, image
        // offset frame * u = (2, -2): pixel (32, 18), a linear ramp.
        assert!((patch.at(4, 0) - (32.0 + 1800.0)).abs() < 1e-3, "{}", patch.at(4, 0));
        assert!((patch.at(2, 2) - (30.0 + 2000.0)).abs() < 1e-3);
    }
}
