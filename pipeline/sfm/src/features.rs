//! Features of a photo: the photo reduced to the detector's size, made
//! grey, and SIFT run on it, with coordinates in the full photo's pixels.

use std::path::Path;

use heritage_imaging::{load_display_image, read_exif};
use image::RgbImage;

use crate::edges::plumb_candidates;
use crate::frontend::PhotoInfo;
use crate::sift::plane::Plane;
use crate::sift::{Features, SiftOptions, extract};

/// The luminance (Rec. 601 weights) of an RGB image, in 0..1.
pub fn grey_plane(image: &RgbImage) -> Plane {
    let data = image
        .pixels()
        .map(|p| (0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])) / 255.0)
        .collect();
    Plane { width: image.width() as usize, height: image.height() as usize, data }
}

/// SIFT features and the straight edges that may be vertical of a display-oriented
/// photo, found on a copy no longer than `options.max_image_size` and
/// reported in the photo's own pixels, with the photo's colour at each
/// keypoint.
pub fn photo_features(image: &RgbImage, options: &SiftOptions) -> Features {
    let long = image.width().max(image.height());
    let found = |grey: Plane| Features { edges: plumb_candidates(&grey), ..extract(&grey, options) };
    let mut features = if long <= options.max_image_size {
        found(grey_plane(image))
    } else {
        let reduced = heritage_imaging::resize::fit_within(image, options.max_image_size);
        let fx = image.width() as f32 / reduced.width() as f32;
        let fy = image.height() as f32 / reduced.height() as f32;
        found(grey_plane(&reduced)).rescaled(fx, fy)
    };
    features.colors = features.keypoints.iter().map(|k| color_at(image, k.x, k.y)).collect();
    features
}

/// The mean colour of the 3x3 pixels around `(x, y)` (corner-origin
/// pixel coordinates), clamped to the image.
fn color_at(image: &RgbImage, x: f32, y: f32) -> [u8; 3] {
    let (cx, cy) = (x.floor() as i64, y.floor() as i64);
    let mut sum = [0u32; 3];
    for dy in -1..=1 {
        for dx in -1..=1 {
            let px = (cx + dx).clamp(0, i64::from(image.width()) - 1) as u32;
            let py = (cy + dy).clamp(0, i64::from(image.height()) - 1) as u32;
            for (s, v) in sum.iter_mut().zip(image.get_pixel(px, py).0) {
                *s += u32::from(v);
            }
        }
    }
    sum.map(|s| ((s + 4) / 9) as u8)
}

/// Why a photo could not be read for matching.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The file could not be read.
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    /// The file is not a decodable image.
    #[error("cannot decode {0}: {1}")]
    Decode(String, heritage_imaging::DecodeError),
}

/// Most pixels of a photo the front end decodes (400 megapixels).
const MAX_PIXELS: u64 = 400_000_000;

/// Reads a photo file: its size and EXIF for the camera prior, and its
/// features.
pub fn load_photo(path: &Path, name: String, options: &SiftOptions) -> Result<(PhotoInfo, Features), PhotoError> {
    let bytes = std::fs::read(path).map_err(|e| PhotoError::Read(name.clone(), e))?;
    let image = load_display_image(&bytes, MAX_PIXELS).map_err(|e| PhotoError::Decode(name.clone(), e))?;
    let exif = read_exif(&bytes).summary;
    let info = PhotoInfo { name, width: image.width(), height: image.height(), exif };
    Ok((info, photo_features(&image, options)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypoint_colours_average_the_pixels_around_them() {
        let mut image = RgbImage::from_pixel(10, 8, image::Rgb([0, 0, 0]));
        for y in 2..5 {
            for x in 3..6 {
                image.put_pixel(x, y, image::Rgb([90, 180, 255]));
            }
        }
        // Pixel (4, 3) has its centre at (4.5, 3.5): the whole 3x3 is coloured.
        assert_eq!(color_at(&image, 4.5, 3.5), [90, 180, 255]);
        // One column further right, a third of the window is black.
        assert_eq!(color_at(&image, 5.5, 3.5), [60, 120, 170]);
        // The corner is clamped, not out of bounds.
        assert_eq!(color_at(&image, 0.0, 0.0), [0, 0, 0]);
    }
}
