//! Writing EXIF into JPEGs (for the synthetic photo sets and tests), with
//! kamadak-exif's writer.

use std::io::Cursor;

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};

use crate::exif::ExifSummary;

/// Returns `jpeg` with an EXIF APP1 segment holding `summary` placed right
/// after the start-of-image marker. Fails when `jpeg` is not a JPEG or
/// the EXIF block is too large for one segment.
pub fn embed_exif_in_jpeg(jpeg: &[u8], summary: &ExifSummary) -> Result<Vec<u8>, String> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err("not a JPEG".into());
    }
    let fields = fields_of(summary);
    let mut writer = Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).map_err(|e| format!("writing EXIF: {e}"))?;
    let tiff = tiff.into_inner();
    let length = tiff.len() + 8;
    if length > u16::MAX as usize {
        return Err("EXIF block larger than one JPEG segment".into());
    }
    let mut out = Vec::with_capacity(jpeg.len() + length + 2);
    out.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE1]);
    out.extend_from_slice(&(length as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    Ok(out)
}

fn fields_of(s: &ExifSummary) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut push = |tag: Tag, value: Value| fields.push(Field { tag, ifd_num: In::PRIMARY, value });
    let text = |t: &str| Value::Ascii(vec![t.as_bytes().to_vec()]);
    if let Some(make) = &s.make {
        push(Tag::Make, text(make));
    }
    if let Some(model) = &s.model {
        push(Tag::Model, text(model));
    }
    push(Tag::Orientation, Value::Short(vec![u16::from(s.orientation)]));
    if let Some(captured) = &s.captured
        && captured.len() >= 19
    {
        let c = captured.as_bytes();
        let exif_time: String = c[..19]
            .iter()
            .enumerate()
            .map(|(i, &b)| match (i, b) {
                (4 | 7, b'-') => ':',
                (10, b'T') => ' ',
                (_, b) => b as char,
            })
            .collect();
        push(Tag::DateTimeOriginal, text(&exif_time));
        if captured.len() == 25 {
            push(Tag::OffsetTimeOriginal, text(&captured[19..]));
        }
    }
    if let Some(f) = s.focal_length_mm {
        push(Tag::FocalLength, Value::Rational(vec![rational(f, 1000)]));
    }
    if let Some(f) = s.focal_length_35mm {
        push(Tag::FocalLengthIn35mmFilm, Value::Short(vec![f.round().clamp(1.0, 65535.0) as u16]));
    }
    if let Some(px_per_mm) = s.focal_plane_px_per_mm {
        push(Tag::FocalPlaneXResolution, Value::Rational(vec![rational(px_per_mm, 1000)]));
        push(Tag::FocalPlaneYResolution, Value::Rational(vec![rational(px_per_mm, 1000)]));
        push(Tag::FocalPlaneResolutionUnit, Value::Short(vec![4]));
    }
    if let Some(w) = s.pixel_width {
        push(Tag::PixelXDimension, Value::Long(vec![w]));
    }
    if let Some(h) = s.pixel_height {
        push(Tag::PixelYDimension, Value::Long(vec![h]));
    }
    if let Some(gps) = s.gps {
        push(Tag::GPSVersionID, Value::Byte(vec![2, 3, 0, 0]));
        push(Tag::GPSLatitudeRef, text(if gps.latitude < 0.0 { "S" } else { "N" }));
        push(Tag::GPSLatitude, dms(gps.latitude.abs()));
        push(Tag::GPSLongitudeRef, text(if gps.longitude < 0.0 { "W" } else { "E" }));
        push(Tag::GPSLongitude, dms(gps.longitude.abs()));
        if let Some(alt) = gps.altitude {
            push(Tag::GPSAltitudeRef, Value::Byte(vec![u8::from(alt < 0.0)]));
            push(Tag::GPSAltitude, Value::Rational(vec![rational(alt.abs(), 1000)]));
        }
    }
    fields
}

fn rational(value: f64, denom: u32) -> Rational {
    Rational { num: (value * f64::from(denom)).round().max(0.0) as u32, denom }
}

/// Degrees as EXIF degrees, minutes and seconds (to 1/10000 s).
fn dms(value: f64) -> Value {
    let degrees = value.trunc();
    let minutes = ((value - degrees) * 60.0).trunc();
    let seconds = (value - degrees) * 3600.0 - minutes * 60.0;
    Value::Rational(vec![rational(degrees, 1), rational(minutes, 1), rational(seconds, 10_000)])
}
