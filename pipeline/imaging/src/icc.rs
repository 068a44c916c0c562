//! Embedded ICC profiles: pixels are converted to sRGB (with moxcms), the
//! colour space of the web and of every tile and thumbnail heritage makes.

use image::RgbImage;
use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};
use rayon::prelude::*;

/// What happened to the colours of an image with an ICC profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IccOutcome {
    /// The profile is sRGB already: nothing to do.
    AlreadySrgb,
    /// The pixels were converted to sRGB.
    Converted,
    /// The profile could not be used; the pixels are unchanged.
    Kept(String),
}

/// Converts `image` from the colour space of `icc` to sRGB, in place.
pub fn convert_to_srgb(image: &mut RgbImage, icc: &[u8]) -> IccOutcome {
    if icc.windows(4).take(2048).any(|w| w == b"sRGB") {
        return IccOutcome::AlreadySrgb;
    }
    let source = match ColorProfile::new_from_slice(icc) {
        Ok(profile) => profile,
        Err(e) => return IccOutcome::Kept(format!("unreadable ICC profile: {e:?}")),
    };
    if source.color_space != DataColorSpace::Rgb {
        return IccOutcome::Kept(format!("ICC profile for {:?} pixels, not RGB", source.color_space));
    }
    let transform = match source.create_transform_8bit(
        Layout::Rgb,
        &ColorProfile::new_srgb(),
        Layout::Rgb,
        TransformOptions::default(),
    ) {
        Ok(t) => t,
        Err(e) => return IccOutcome::Kept(format!("ICC profile cannot be converted: {e:?}")),
    };
    let row = image.width() as usize * 3;
    let rows_per_chunk = (1 << 16) / row.max(1) + 1;
    let failed = image
        .par_chunks_mut(row * rows_per_chunk)
        .map(|chunk| {
            let src = chunk.to_vec();
            transform.transform(&src, chunk).is_err()
        })
        .reduce(|| false, |a, b| a || b);
    if failed { IccOutcome::Kept("the ICC transform failed".into()) } else { IccOutcome::Converted }
}
