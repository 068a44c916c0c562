//! High-quality downscaling with fast_image_resize (SIMD convolution).

use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::U8x3;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

/// The size that fits `(width, height)` within `max_side` on its longer
/// side, keeping the aspect ratio; never larger than the input.
pub fn fitted_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= max_side {
        return (width, height);
    }
    let scale = f64::from(max_side) / f64::from(long);
    let w = ((f64::from(width) * scale).round() as u32).clamp(1, max_side);
    let h = ((f64::from(height) * scale).round() as u32).clamp(1, max_side);
    (w, h)
}

/// Resizes to exactly `width` x `height` with a Lanczos-3 filter (an
/// anti-aliasing low-pass when shrinking).
///
/// The resizer is called for 8-bit RGB pixels only: its untyped entry
/// point instantiates its convolutions for every pixel type, which made
/// this crate the longest to compile of the workspace (194 s).
pub fn resize_exact(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    if image.dimensions() == (width, height) {
        return image.clone();
    }
    let src = TypedImageRef::<U8x3>::from_buffer(image.width(), image.height(), image.as_raw())
        .expect("an RgbImage buffer always matches its size");
    let mut pixels = vec![0; width as usize * height as usize * 3];
    let mut dst = TypedImage::<U8x3>::from_buffer(width, height, &mut pixels).expect("a buffer of the size asked");
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new().resize_typed(&src, &mut dst, &options).expect("same size of pixels on both sides");
    RgbImage::from_raw(width, height, pixels).expect("the resizer fills the whole buffer")
}

/// Shrinks `image` to fit within `max_side` (see [`fitted_size`]).
pub fn fit_within(image: &RgbImage, max_side: u32) -> RgbImage {
    let (w, h) = fitted_size(image.width(), image.height(), max_side);
    resize_exact(image, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_sizes_keep_aspect() {
        assert_eq!(fitted_size(4000, 3000, 400), (400, 300));
        assert_eq!(fitted_size(3000, 4000, 1600), (1200, 1600));
        assert_eq!(fitted_size(300, 200, 400), (300, 200));
        assert_eq!(fitted_size(10000, 1, 400), (400, 1));
    }

    #[test]
    fn downscaling_a_flat_image_keeps_its_colour() {
        let image = RgbImage::from_pixel(1000, 700, image::Rgb([200, 100, 50]));
        let small = fit_within(&image, 100);
        assert_eq!(small.dimensions(), (100, 70));
        assert!(small.pixels().all(|p| p.0 == [200, 100, 50]));
    }

    #[test]
    fn downscaling_does_not_alias_a_fine_checkerboard() {
        let image =
            RgbImage::from_fn(
                800,
                800,
                |x, y| if (x + y) % 2 == 0 { image::Rgb([255; 3]) } else { image::Rgb([0; 3]) },
            );
        let small = fit_within(&image, 100);
        for p in small.pixels() {
            assert!((i32::from(p.0[0]) - 128).abs() <= 3, "{:?}", p);
        }
    }
}
