//! Checked decoding: header first (so a decompression bomb is refused
//! before any pixel is allocated), then a full decode that catches
//! truncated and corrupt files.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};

use crate::exif::read_exif;
use crate::format::FileKind;
use crate::icc::{IccOutcome, convert_to_srgb};

/// Why an image could not be decoded.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The file ends before the image data does.
    #[error("the file is truncated (it ends before the image data does): copy it again from the camera or phone")]
    Truncated,
    /// The image data is damaged.
    #[error("the image data is corrupt ({0}): copy it again from the camera or phone")]
    Corrupt(String),
    /// The header promises more pixels than allowed.
    #[error(
        "the image claims {width}x{height} pixels ({megapixels} megapixels), over the limit of {limit} megapixels: if it is a real photo, raise the limit with --max-megapixels"
    )]
    TooManyPixels {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// Width times height, in megapixels (rounded).
        megapixels: u64,
        /// The limit, in megapixels.
        limit: u64,
    },
    /// An image format heritage does not read.
    #[error("{0} images cannot be read: heritage takes JPEG, PNG and TIFF; convert it to JPEG")]
    Unsupported(&'static str),
    /// The content is no image format at all.
    #[error("this is not an image (its content is no JPEG, PNG or TIFF, whatever its name says): leave it out")]
    NotAnImage,
}

impl DecodeError {
    /// Why a file of `kind` cannot be decoded (it is not JPEG, PNG or TIFF).
    fn unreadable_kind(kind: FileKind) -> DecodeError {
        match kind {
            FileKind::Unknown => DecodeError::NotAnImage,
            other => DecodeError::Unsupported(other.name()),
        }
    }
}

/// Reads the pixel size from the header only.
pub fn read_dimensions(bytes: &[u8], kind: FileKind) -> Result<(u32, u32), DecodeError> {
    let format = kind.image_format().ok_or_else(|| DecodeError::unreadable_kind(kind))?;
    ImageReader::with_format(Cursor::new(bytes), format).into_dimensions().map_err(classify)
}

/// A decoded image and its embedded ICC profile.
#[derive(Debug)]
pub struct Decoded {
    /// Pixels as stored (no EXIF orientation applied).
    pub image: DynamicImage,
    /// The embedded ICC profile, if any.
    pub icc: Option<Vec<u8>>,
}

/// Decodes the whole image, refusing more than `max_pixels` pixels before
/// decoding. Pixels are returned as stored (no EXIF orientation).
pub fn decode(bytes: &[u8], kind: FileKind, max_pixels: u64) -> Result<Decoded, DecodeError> {
    let (width, height) = read_dimensions(bytes, kind)?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(DecodeError::TooManyPixels {
            width,
            height,
            megapixels: pixels.div_ceil(1_000_000),
            limit: max_pixels / 1_000_000,
        });
    }
    if kind == FileKind::Jpeg {
        check_jpeg_complete(bytes)?;
    }
    let format = kind.image_format().ok_or_else(|| DecodeError::unreadable_kind(kind))?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    // Room for 16-bit RGBA of the allowed size, plus decoder buffers.
    limits.max_alloc = Some(pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(classify)?;
    let icc = decoder.icc_profile().ok().flatten();
    let image = DynamicImage::from_decoder(decoder).map_err(classify)?;
    Ok(Decoded { image, icc })
}

/// Decodes a JPEG, PNG or TIFF for display: EXIF orientation applied,
/// converted to 8-bit sRGB (embedded ICC profiles honoured, alpha
/// flattened onto white).
pub fn load_display_image(bytes: &[u8], max_pixels: u64) -> Result<RgbImage, DecodeError> {
    let kind = FileKind::sniff(bytes);
    let Decoded { image, icc } = decode(bytes, kind, max_pixels)?;
    let orientation = read_exif(bytes).summary.map_or(1, |e| e.orientation);
    let mut rgb = to_display_rgb(image, orientation);
    if let Some(icc) = icc
        && let IccOutcome::Kept(reason) = convert_to_srgb(&mut rgb, &icc)
    {
        tracing::warn!("colours kept as they are: {reason}");
    }
    Ok(rgb)
}

/// Checks that a JPEG's entropy-coded data is followed by an end-of-image
/// marker, which a truncated file lacks. Segments before the first scan
/// (EXIF with its thumbnail among them) are skipped by their lengths.
pub fn check_jpeg_complete(bytes: &[u8]) -> Result<(), DecodeError> {
    let mut pos = 2;
    loop {
        while pos < bytes.len() && bytes[pos] == 0xFF && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if pos + 4 > bytes.len() {
            return Err(DecodeError::Truncated);
        }
        if bytes[pos] != 0xFF {
            return Err(DecodeError::Corrupt(format!("no JPEG marker at byte {pos}")));
        }
        let marker = bytes[pos + 1];
        let length = usize::from(u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]));
        if marker == 0xD9 {
            return Err(DecodeError::Corrupt("image ends before any scan".into()));
        }
        if length < 2 {
            return Err(DecodeError::Corrupt(format!("bad segment length at byte {pos}")));
        }
        pos += 2 + length;
        if marker == 0xDA {
            break;
        }
    }
    let scan = bytes.get(pos..).ok_or(DecodeError::Truncated)?;
    if scan.windows(2).any(|w| w == [0xFF, 0xD9]) { Ok(()) } else { Err(DecodeError::Truncated) }
}

fn classify(error: image::ImageError) -> DecodeError {
    use image::ImageError;
    let text = error.to_string();
    let lower = text.to_lowercase();
    let truncated =
        ["eof", "end of file", "unexpected end", "no more bytes", "truncated", "not enough data", "not enough bytes"];
    match &error {
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => DecodeError::Truncated,
        _ if truncated.iter().any(|t| lower.contains(t)) => DecodeError::Truncated,
        ImageError::Limits(_) => DecodeError::Corrupt(format!("the decoder refused it: {text}")),
        _ => DecodeError::Corrupt(text),
    }
}

/// Converts a decoded image to 8-bit RGB for display: EXIF `orientation`
/// (1 to 8) applied, alpha flattened onto white, 16-bit and grey widened
/// or narrowed as needed.
pub fn to_display_rgb(image: DynamicImage, orientation: u8) -> RgbImage {
    let mut image = image;
    if let Some(o) = image::metadata::Orientation::from_exif(orientation) {
        image.apply_orientation(o);
    }
    if image.color().has_alpha() { flatten_on_white(&image.into_rgba8()) } else { image.into_rgb8() }
}

fn flatten_on_white(rgba: &image::RgbaImage) -> RgbImage {
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let a = u32::from(a);
        let blend = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}
