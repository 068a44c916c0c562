//! JPEG encoding with the SIMD encoder of the jpeg-encoder crate.

use image::RgbImage;
use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder};

/// Encodes `image` as a baseline JPEG at `quality` (1 to 100) with
/// optimised Huffman tables. JPEG sides are limited to 65,535 pixels.
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, String> {
    let (w, h) = image.dimensions();
    let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(format!("{w}x{h} is larger than JPEG allows (65535 per side)"));
    };
    let mut out = Vec::with_capacity((w as usize * h as usize) / 4 + 1024);
    let mut encoder = Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    encoder.encode(image.as_raw(), w16, h16, ColorType::Rgb).map_err(|e| e.to_string())?;
    Ok(out)
}
