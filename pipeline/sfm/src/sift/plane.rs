//! Grey images as `f32` planes and the separable Gaussian blur of the
//! scale space.

use rayon::prelude::*;

use super::wide::widest;

/// A grey image, row-major, values in 0..1.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height` samples.
    pub data: Vec<f32>,
}

impl Plane {
    /// A black plane.
    pub fn new(width: usize, height: usize) -> Plane {
        Plane { width, height, data: vec![0.0; width * height] }
    }

    /// The luminance of an 8-bit grey image.
    pub fn from_luma(width: usize, height: usize, luma: &[u8]) -> Plane {
        assert_eq!(luma.len(), width * height, "luma buffer does not match its size");
        Plane { width, height, data: luma.iter().map(|&v| f32::from(v) / 255.0).collect() }
    }

    /// Row `y`.
    pub fn row(&self, y: usize) -> &[f32] {
        &self.data[y * self.width..(y + 1) * self.width]
    }

    /// The sample at (`x`, `y`).
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    /// Every second pixel in both directions (the next octave's base).
    pub fn decimate(&self) -> Plane {
        let (width, height) = (self.width.div_ceil(2), self.height.div_ceil(2));
        let mut out = Plane::new(width, height);
        out.data.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
            let src = self.row(2 * y);
            for (x, v) in row.iter_mut().enumerate() {
                *v = src[2 * x];
            }
        });
        out
    }

    /// The plane doubled in size by linear interpolation: sample `2i` is
    /// sample `i`, sample `2i + 1` the mean of `i` and `i + 1` (the last
    /// one repeats), so positions map exactly between the two sizes.
    pub fn upsample(&self) -> Plane {
        let (width, height) = (2 * self.width, 2 * self.height);
        let next = |n: usize, i: usize| (i + 1).min(n - 1);
        let half = |i: usize| 0.5 * (i % 2) as f32;
        let mut out = Plane::new(width, height);
        out.data.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
            let (above, below) = (self.row(y / 2), self.row(next(self.height, y / 2)));
            for (x, v) in row.iter_mut().enumerate() {
                let (x0, x1) = (x / 2, next(self.width, x / 2));
                let top = above[x0] + half(x) * (above[x1] - above[x0]);
                let bottom = below[x0] + half(x) * (below[x1] - below[x0]);
                *v = top + half(y) * (bottom - top);
            }
        });
        out
    }

    /// `self - other`, sample by sample.
    pub fn difference(&self, other: &Plane) -> Plane {
        let data = self.data.par_iter().zip(&other.data).map(|(a, b)| a - b).collect();
        Plane { width: self.width, height: self.height, data }
    }
}

/// A normalised Gaussian kernel of standard deviation `sigma`, radius
/// `ceil(4 sigma)`.
pub fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let radius = (4.0 * sigma).ceil().max(1.0) as isize;
    let kernel: Vec<f32> = (-radius..=radius).map(|i| (-((i * i) as f32) / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f32 = kernel.iter().sum();
    kernel.into_iter().map(|k| k / sum).collect()
}

/// `out = Σ kernel[i] · source(i)`, each source a row as long as `out`,
/// compiled for the widest vectors the processor has. The first term is
/// stored, not added to zeros: a fresh page is then written before it is
/// read, one page fault instead of two (the second, copying the shared
/// zero page, interrupts every core to flush its mapping).
fn weighted_sum<'a>(out: &mut [f32], kernel: &[f32], source: impl Fn(usize) -> &'a [f32]) {
    widest(
        #[inline(always)]
        || {
            for (o, &p) in out.iter_mut().zip(source(0)) {
                *o = kernel[0] * p;
            }
            for (i, &k) in kernel.iter().enumerate().skip(1) {
                for (o, &p) in out.iter_mut().zip(source(i)) {
                    *o += k * p;
                }
            }
        },
    );
}

/// Gaussian blur with edges clamped, horizontal then vertical, rows in
/// parallel; the inner loops run over whole rows so they vectorise.
pub fn blur(src: &Plane, sigma: f32) -> Plane {
    let kernel = gaussian_kernel(sigma);
    let radius = kernel.len() / 2;
    let (width, height) = (src.width, src.height);
    let mut horizontal = Plane::new(width, height);
    horizontal.data.par_chunks_mut(width).enumerate().for_each_init(
        || vec![0.0f32; width + 2 * radius],
        |padded, (y, out)| {
            let row = src.row(y);
            padded[radius..radius + width].copy_from_slice(row);
            padded[..radius].fill(row[0]);
            padded[radius + width..].fill(row[width - 1]);
            weighted_sum(
                out,
                &kernel,
                #[inline(always)]
                |i| &padded[i..i + width],
            );
        },
    );
    let mut out = Plane::new(width, height);
    out.data.par_chunks_mut(width).enumerate().for_each(|(y, out)| {
        weighted_sum(
            out,
            &kernel,
            #[inline(always)]
            |i| horizontal.row((y + i).saturating_sub(radius).min(height - 1)),
        );
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_is_normalised_and_symmetric() {
        let k = gaussian_kernel(1.6);
        assert_eq!(k.len(), 2 * 7 + 1);
        assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        for i in 0..k.len() {
            assert_eq!(k[i], k[k.len() - 1 - i]);
        }
    }

    #[test]
    fn blur_keeps_constants_and_spreads_an_impulse_like_a_gaussian() {
        let flat = Plane { width: 9, height: 5, data: vec![0.25; 45] };
        assert!(blur(&flat, 2.0).data.iter().all(|v| (v - 0.25).abs() < 1e-6));
        let mut impulse = Plane::new(41, 41);
        impulse.data[20 * 41 + 20] = 1.0;
        let sigma = 2.0f32;
        let blurred = blur(&impulse, sigma);
        let mut variance = 0.0;
        for y in 0..41 {
            for x in 0..41 {
                variance += blurred.at(x, y) * ((x as f32 - 20.0).powi(2));
            }
        }
        assert!((variance - sigma * sigma).abs() < 0.01, "variance {variance}");
    }

    #[test]
    fn upsampling_interpolates_and_decimation_undoes_it() {
        let p = Plane { width: 3, height: 2, data: vec![0.0, 2.0, 4.0, 8.0, 10.0, 12.0] };
        let up = p.upsample();
        assert_eq!((up.width, up.height), (6, 4));
        assert_eq!(up.row(0), [0.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
        assert_eq!(up.row(1), [4.0, 5.0, 6.0, 7.0, 8.0, 8.0]);
        assert_eq!(up.row(3), up.row(2));
        assert_eq!(up.decimate(), p);
    }

    #[test]
    fn decimate_takes_even_pixels() {
        let p = Plane { width: 3, height: 3, data: (0..9).map(|v| v as f32).collect() };
        let d = p.decimate();
        assert_eq!((d.width, d.height), (2, 2));
        assert_eq!(d.data, vec![0.0, 2.0, 6.0, 8.0]);
    }
}
