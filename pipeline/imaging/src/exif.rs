//! The EXIF fields heritage uses, read with kamadak-exif.
//!
//! Broken EXIF never makes a photo unusable: what can be read is kept,
//! and what cannot becomes a warning.

use std::io::Cursor;

use exif::{Exif, In, Reader, Tag, Value};
use serde::{Deserialize, Serialize};

/// A GPS fix in WGS 84.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpsFix {
    /// Degrees, north positive.
    pub latitude: f64,
    /// Degrees, east positive.
    pub longitude: f64,
    /// Metres above sea level, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude: Option<f64>,
}

/// The EXIF summary of one photo.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExifSummary {
    /// Capture time, ISO 8601 (`2026-11-27T09:30:00`, with the offset when
    /// the camera recorded one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured: Option<String>,
    /// Camera maker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    /// Camera model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Focal length in millimetres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focal_length_mm: Option<f64>,
    /// 35 mm-equivalent focal length in millimetres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focal_length_35mm: Option<f64>,
    /// Sensor pixels per millimetre along x (FocalPlaneXResolution).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focal_plane_px_per_mm: Option<f64>,
    /// EXIF orientation, 1 to 8 (1 = upright).
    #[serde(default = "upright")]
    pub orientation: u8,
    /// GPS position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps: Option<GpsFix>,
    /// Pixel width recorded in EXIF (PixelXDimension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixel_width: Option<u32>,
    /// Pixel height recorded in EXIF (PixelYDimension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixel_height: Option<u32>,
}

fn upright() -> u8 {
    1
}

/// What reading EXIF gave: the summary (none when the file has no EXIF)
/// and warnings about fields that could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExifReading {
    /// The summary, when the file has EXIF at all.
    pub summary: Option<ExifSummary>,
    /// Human-readable problems with the EXIF block.
    pub warnings: Vec<String>,
}

/// Reads the EXIF of a JPEG, PNG, TIFF, HEIF or WebP file held in memory.
pub fn read_exif(bytes: &[u8]) -> ExifReading {
    let mut reader = Reader::new();
    reader.continue_on_error(true);
    let mut warnings = Vec::new();
    let exif = match reader.read_from_container(&mut Cursor::new(bytes)) {
        Ok(exif) => exif,
        Err(exif::Error::NotFound(_)) => return ExifReading::default(),
        Err(e) => match e.distill_partial_result(|errors| {
            warnings.extend(errors.iter().map(|e| format!("malformed EXIF field ignored: {e}")));
        }) {
            Ok(exif) => exif,
            Err(e) => {
                return ExifReading { summary: None, warnings: vec![format!("malformed EXIF ignored: {e}")] };
            }
        },
    };
    let summary = summarize(&exif, &mut warnings);
    ExifReading { summary: Some(summary), warnings }
}

fn summarize(exif: &Exif, warnings: &mut Vec<String>) -> ExifSummary {
    let orientation = match uint(exif, Tag::Orientation) {
        None => 1,
        Some(v @ 1..=8) => v as u8,
        Some(v) => {
            warnings.push(format!("EXIF orientation {v} is not 1 to 8: treated as upright"));
            1
        }
    };
    ExifSummary {
        captured: captured(exif),
        make: ascii(exif, Tag::Make),
        model: ascii(exif, Tag::Model),
        focal_length_mm: positive(rational(exif, Tag::FocalLength, 0)),
        focal_length_35mm: positive(uint(exif, Tag::FocalLengthIn35mmFilm).map(f64::from)),
        focal_plane_px_per_mm: focal_plane_px_per_mm(exif),
        orientation,
        gps: gps(exif, warnings),
        pixel_width: uint(exif, Tag::PixelXDimension).filter(|&v| v > 0),
        pixel_height: uint(exif, Tag::PixelYDimension).filter(|&v| v > 0),
    }
}

fn field(exif: &Exif, tag: Tag) -> Option<&Value> {
    exif.get_field(tag, In::PRIMARY).map(|f| &f.value)
}

fn ascii(exif: &Exif, tag: Tag) -> Option<String> {
    match field(exif, tag)? {
        Value::Ascii(parts) => {
            let text = String::from_utf8_lossy(parts.first()?).trim().trim_end_matches('\0').trim().to_string();
            (!text.is_empty()).then_some(text)
        }
        _ => None,
    }
}

fn uint(exif: &Exif, tag: Tag) -> Option<u32> {
    field(exif, tag)?.get_uint(0)
}

fn rational(exif: &Exif, tag: Tag, index: usize) -> Option<f64> {
    match field(exif, tag)? {
        Value::Rational(v) => v.get(index).filter(|r| r.denom != 0).map(|r| r.to_f64()),
        Value::SRational(v) => v.get(index).filter(|r| r.denom != 0).map(|r| r.to_f64()),
        _ => None,
    }
}

fn positive(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite() && *v > 0.0)
}

/// DateTimeOriginal (else DateTime) as ISO 8601, with OffsetTimeOriginal.
fn captured(exif: &Exif) -> Option<String> {
    let raw = ascii(exif, Tag::DateTimeOriginal).or_else(|| ascii(exif, Tag::DateTime))?;
    let b = raw.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r.clone()).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if b.len() < 19
        || !(digits(0..4) && digits(5..7) && digits(8..10) && digits(11..13) && digits(14..16) && digits(17..19))
    {
        return None;
    }
    if &raw[0..4] == "0000" {
        return None;
    }
    let mut iso = format!("{}-{}-{}T{}", &raw[0..4], &raw[5..7], &raw[8..10], &raw[11..19]);
    if let Some(offset) = ascii(exif, Tag::OffsetTimeOriginal).filter(|o| o.len() == 6) {
        iso.push_str(&offset);
    }
    Some(iso)
}

fn focal_plane_px_per_mm(exif: &Exif) -> Option<f64> {
    let resolution = positive(rational(exif, Tag::FocalPlaneXResolution, 0))?;
    let mm_per_unit = match uint(exif, Tag::FocalPlaneResolutionUnit).unwrap_or(2) {
        2 => 25.4,
        3 => 10.0,
        4 => 1.0,
        5 => 0.001,
        _ => return None,
    };
    Some(resolution / mm_per_unit)
}

fn gps(exif: &Exif, warnings: &mut Vec<String>) -> Option<GpsFix> {
    field(exif, Tag::GPSLatitude)?;
    let degrees = |tag: Tag| -> Option<f64> {
        let (d, m, s) =
            (rational(exif, tag, 0)?, rational(exif, tag, 1).unwrap_or(0.0), rational(exif, tag, 2).unwrap_or(0.0));
        Some(d + m / 60.0 + s / 3600.0)
    };
    let sign = |tag: Tag, negative: &str| {
        if ascii(exif, tag).is_some_and(|r| r.eq_ignore_ascii_case(negative)) { -1.0 } else { 1.0 }
    };
    let (Some(lat), Some(lon)) = (degrees(Tag::GPSLatitude), degrees(Tag::GPSLongitude)) else {
        warnings.push("EXIF GPS position is incomplete: ignored".to_string());
        return None;
    };
    let latitude = lat * sign(Tag::GPSLatitudeRef, "S");
    let longitude = lon * sign(Tag::GPSLongitudeRef, "W");
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        warnings.push(format!("EXIF GPS position {latitude}, {longitude} is out of range: ignored"));
        return None;
    }
    let below_sea = uint(exif, Tag::GPSAltitudeRef) == Some(1);
    let altitude = rational(exif, Tag::GPSAltitude, 0).map(|a| if below_sea { -a } else { a });
    Some(GpsFix { latitude, longitude, altitude })
}
