//! What kind of file is this? Decided from its first bytes, never from
//! its name.

/// The kind of a file, from its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// JPEG (JFIF or Exif).
    Jpeg,
    /// PNG.
    Png,
    /// TIFF (little- or big-endian, classic or BigTIFF).
    Tiff,
    /// HEIC/HEIF/AVIF: an ISO-BMFF still image, as phones write.
    Heif,
    /// Another image format heritage does not take (the name is given).
    OtherImage(&'static str),
    /// Not an image we recognise.
    Unknown,
}

impl FileKind {
    /// Sniffs the kind of `bytes`.
    pub fn sniff(bytes: &[u8]) -> FileKind {
        let starts = |magic: &[u8]| bytes.starts_with(magic);
        if starts(&[0xFF, 0xD8, 0xFF]) {
            FileKind::Jpeg
        } else if starts(b"\x89PNG\r\n\x1a\n") {
            FileKind::Png
        } else if starts(b"II*\0") || starts(b"MM\0*") || starts(b"II+\0") || starts(b"MM\0+") {
            FileKind::Tiff
        } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
            match &bytes[8..12] {
                b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => FileKind::Heif,
                b"avif" | b"avis" => FileKind::OtherImage("AVIF"),
                _ => FileKind::Unknown,
            }
        } else if starts(b"GIF87a") || starts(b"GIF89a") {
            FileKind::OtherImage("GIF")
        } else if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
            FileKind::OtherImage("WebP")
        } else if starts(b"BM") && bytes.len() >= 26 {
            FileKind::OtherImage("BMP")
        } else if starts(&[0x00, 0x00, 0x00, 0x0C, b'j', b'P']) || starts(&[0xFF, 0x4F, 0xFF, 0x51]) {
            FileKind::OtherImage("JPEG 2000")
        } else if starts(&[0xFF, 0x0A]) || starts(&[0x00, 0x00, 0x00, 0x0C, b'J', b'X', b'L', b' ']) {
            FileKind::OtherImage("JPEG XL")
        } else {
            FileKind::Unknown
        }
    }

    /// True for the formats heritage ingests: JPEG, PNG and TIFF.
    pub fn is_accepted(self) -> bool {
        matches!(self, FileKind::Jpeg | FileKind::Png | FileKind::Tiff)
    }

    /// A short name for messages and metadata.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Jpeg => "JPEG",
            FileKind::Png => "PNG",
            FileKind::Tiff => "TIFF",
            FileKind::Heif => "HEIC",
            FileKind::OtherImage(name) => name,
            FileKind::Unknown => "unknown",
        }
    }

    /// The `image` crate's format for accepted kinds.
    pub(crate) fn image_format(self) -> Option<image::ImageFormat> {
        match self {
            FileKind::Jpeg => Some(image::ImageFormat::Jpeg),
            FileKind::Png => Some(image::ImageFormat::Png),
            FileKind::Tiff => Some(image::ImageFormat::Tiff),
            _ => None,
        }
    }
}

/// True when `bytes` look like text (so a "photo" is really a note, a
/// web page or a list): no NUL and almost all printable UTF-8.
pub fn looks_like_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    if head.is_empty() || head.contains(&0) {
        return false;
    }
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""),
        Err(_) => return false,
    };
    let printable = text.chars().filter(|c| !c.is_control() || c.is_whitespace()).count();
    printable * 100 >= text.chars().count() * 95
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_common_formats() {
        assert_eq!(FileKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE1, 0, 0]), FileKind::Jpeg);
        assert_eq!(FileKind::sniff(b"\x89PNG\r\n\x1a\n...."), FileKind::Png);
        assert_eq!(FileKind::sniff(b"II*\0\x08\0\0\0"), FileKind::Tiff);
        assert_eq!(FileKind::sniff(b"MM\0*\0\0\0\x08"), FileKind::Tiff);
        assert_eq!(FileKind::sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), FileKind::Heif);
        assert_eq!(FileKind::sniff(b"\0\0\0\x18ftypmif1\0\0\0\0"), FileKind::Heif);
        assert_eq!(FileKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "), FileKind::OtherImage("WebP"));
        assert_eq!(FileKind::sniff(b"GIF89a......"), FileKind::OtherImage("GIF"));
        assert_eq!(FileKind::sniff(b"hello world"), FileKind::Unknown);
        assert_eq!(FileKind::sniff(b""), FileKind::Unknown);
    }

    #[test]
    fn recognises_text() {
        assert!(looks_like_text("Ghi chú: chụp lại mặt tiền.\n".as_bytes()));
        assert!(!looks_like_text(&[0xFF, 0xD8, 0xFF, 0x00]));
        assert!(!looks_like_text(b""));
    }
}
