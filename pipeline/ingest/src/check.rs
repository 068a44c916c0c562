//! Checking one handed-in file: is it a photo heritage can keep?

use heritage_imaging::format::looks_like_text;
use heritage_imaging::{DecodeError, ExifSummary, FileKind, decode, read_exif};
use serde::Serialize;

/// Limits a photo must meet.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most pixels a photo may have (decompression-bomb guard).
    pub max_pixels: u64,
    /// Fewest pixels on the longer side.
    pub min_long_side: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_pixels: 250_000_000, min_long_side: 640 }
    }
}

/// Why a file was not taken. Every message says what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The file has no bytes.
    #[error("the file is empty (0 bytes): copy it again from the camera or phone")]
    Empty,
    /// The file is text, not a photo.
    #[error("this is a text file, not a photo: leave it out of the photo folder")]
    Text,
    /// The content is no image format heritage knows.
    #[error(
        "this is not an image (its content is no JPEG, PNG or TIFF, whatever its name says): check that it is a photo"
    )]
    NotAnImage,
    /// HEIC/HEIF from a phone.
    #[error(
        "HEIC/HEIF photos are not supported yet: convert it to JPEG (on iPhone: Settings > Camera > Formats > Most Compatible) and ingest it again"
    )]
    Heif,
    /// Another image format.
    #[error("{0} images are not accepted: heritage takes JPEG, PNG and TIFF; convert it to JPEG")]
    Unsupported(&'static str),
    /// Decoding failed or was refused.
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// Fewer pixels than a useful photo has.
    #[error(
        "the photo is only {width}x{height} pixels; at least {min} pixels on the longer side are needed: hand in the original photo, not a thumbnail or a copy sent through a chat app"
    )]
    TooSmall {
        /// Pixel width.
        width: u32,
        /// Pixel height.
        height: u32,
        /// The required longer side.
        min: u32,
    },
    /// The file could not be read.
    #[error("the file cannot be read ({0}): check its permissions and that the disk or card is still connected")]
    Unreadable(String),
    /// The file changed between the check and the copy.
    #[error(
        "the file changed while it was being ingested: make sure nothing else is writing to the folder and ingest again"
    )]
    Changed,
}

impl Rejection {
    /// A stable machine-readable code for `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Empty => "empty",
            Rejection::Text => "text",
            Rejection::NotAnImage => "not-an-image",
            Rejection::Heif => "heic",
            Rejection::Unsupported(_) => "unsupported-format",
            Rejection::Decode(DecodeError::Truncated) => "truncated",
            Rejection::Decode(DecodeError::Corrupt(_)) => "corrupt",
            Rejection::Decode(DecodeError::TooManyPixels { .. }) => "too-many-pixels",
            Rejection::Decode(DecodeError::Unsupported(_)) => "unsupported-format",
            Rejection::Decode(DecodeError::NotAnImage) => "not-an-image",
            Rejection::TooSmall { .. } => "too-small",
            Rejection::Unreadable(_) => "unreadable",
            Rejection::Changed => "changed",
        }
    }
}

impl Serialize for Rejection {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Rejection", 2)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

/// What a good photo looks like after checking.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedPhoto {
    /// File format.
    pub kind: FileKind,
    /// Stored pixel width.
    pub width: u32,
    /// Stored pixel height.
    pub height: u32,
    /// EXIF summary, when present.
    pub exif: Option<ExifSummary>,
    /// Problems that did not stop the photo (malformed EXIF, say).
    pub warnings: Vec<String>,
}

/// Checks a whole file held in memory: format from its content, a full
/// decode (which catches truncation and corruption), size limits and EXIF.
pub fn check_photo(bytes: &[u8], limits: Limits) -> Result<CheckedPhoto, Rejection> {
    if bytes.is_empty() {
        return Err(Rejection::Empty);
    }
    let kind = FileKind::sniff(bytes);
    match kind {
        FileKind::Heif => return Err(Rejection::Heif),
        FileKind::OtherImage(name) => return Err(Rejection::Unsupported(name)),
        FileKind::Unknown if looks_like_text(bytes) => return Err(Rejection::Text),
        FileKind::Unknown => return Err(Rejection::NotAnImage),
        _ => {}
    }
    let image = decode(bytes, kind, limits.max_pixels)?.image;
    let (width, height) = (image.width(), image.height());
    drop(image);
    if width.max(height) < limits.min_long_side {
        return Err(Rejection::TooSmall { width, height, min: limits.min_long_side });
    }
    let reading = read_exif(bytes);
    Ok(CheckedPhoto { kind, width, height, exif: reading.summary, warnings: reading.warnings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use heritage_imaging::encode_jpeg;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        encode_jpeg(&image::RgbImage::from_pixel(w, h, image::Rgb([90, 120, 60])), 85).unwrap()
    }

    #[test]
    fn each_bad_kind_gets_its_own_reason() {
        let limits = Limits::default();
        assert_eq!(check_photo(b"", limits), Err(Rejection::Empty));
        assert_eq!(check_photo("Danh sách ảnh\n".as_bytes(), limits), Err(Rejection::Text));
        assert_eq!(check_photo(&[0, 1, 2, 3, 200, 201], limits), Err(Rejection::NotAnImage));
        assert_eq!(check_photo(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", limits), Err(Rejection::Heif));
        assert_eq!(check_photo(b"GIF89a\x01\0\x01\0", limits), Err(Rejection::Unsupported("GIF")));
        let small = jpeg(320, 240);
        assert_eq!(check_photo(&small, limits), Err(Rejection::TooSmall { width: 320, height: 240, min: 640 }));
        let good = jpeg(640, 100);
        let checked = check_photo(&good, limits).unwrap();
        assert_eq!((checked.width, checked.height, checked.kind), (640, 100, FileKind::Jpeg));
        let truncated = &good[..good.len() - 10];
        assert_eq!(check_photo(truncated, limits), Err(Rejection::Decode(DecodeError::Truncated)));
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(Rejection::Decode(DecodeError::Truncated).code(), "truncated");
        assert_eq!(Rejection::TooSmall { width: 1, height: 1, min: 640 }.code(), "too-small");
    }
}
