//! Pixels for heritage: what a file is, what its EXIF says, decoding it
//! safely with its orientation, resizing and encoding JPEG.
//!
//! Nothing here knows of sites, archives or tiles.

pub mod decode;
pub mod encode;
pub mod exif;
pub mod exif_write;
pub mod format;
pub mod icc;
pub mod resize;

pub use decode::{DecodeError, Decoded, decode, load_display_image, read_dimensions, to_display_rgb};
pub use encode::encode_jpeg;
pub use exif::{ExifReading, ExifSummary, GpsFix, read_exif};
pub use exif_write::embed_exif_in_jpeg;
pub use format::FileKind;
pub use resize::fit_within;
