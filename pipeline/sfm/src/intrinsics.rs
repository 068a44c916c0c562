//! Camera intrinsics: priors from EXIF, or a fixed matrix from `K.txt`.

use heritage_imaging::ExifSummary;
use nalgebra::Matrix3;
use serde::Serialize;

/// Where a focal length came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FocalSource {
    /// EXIF FocalLengthIn35mmFilm.
    Exif35mm,
    /// EXIF FocalLength with the sensor's pixel pitch (FocalPlaneXResolution).
    ExifSensor,
    /// No usable EXIF: a default field of view, to be refined.
    Default,
    /// No usable EXIF: found from the photos' pairs (`crate::focal`), to
    /// be refined.
    Pairs,
    /// Given by the user (`--intrinsics`).
    Given,
}

/// A pinhole prior: focal length and principal point in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Intrinsics {
    /// Focal length in pixels.
    pub focal: f64,
    /// Principal point x.
    pub cx: f64,
    /// Principal point y.
    pub cy: f64,
    /// Where the focal length came from.
    pub source: FocalSource,
}

/// The focal length COLMAP assumes without EXIF: 1.2 times the longer side
/// (about 45 degrees across).
pub const DEFAULT_FOCAL_FACTOR: f64 = 1.2;

impl Intrinsics {
    /// The prior for a `width` x `height` photo with this EXIF. The
    /// principal point is the image centre.
    pub fn from_exif(exif: Option<&ExifSummary>, width: u32, height: u32) -> Intrinsics {
        let long = f64::from(width.max(height));
        let (cx, cy) = (f64::from(width) / 2.0, f64::from(height) / 2.0);
        let with = |focal: f64, source| Intrinsics { focal, cx, cy, source };
        let Some(exif) = exif else { return with(DEFAULT_FOCAL_FACTOR * long, FocalSource::Default) };
        if let Some(f35) = exif.focal_length_35mm.filter(|f| (4.0..2000.0).contains(f)) {
            return with(f35 / 36.0 * long, FocalSource::Exif35mm);
        }
        if let (Some(mm), Some(px_per_mm)) = (exif.focal_length_mm, exif.focal_plane_px_per_mm) {
            // The pitch refers to the sensor's full resolution; a resized
            // photo scales it.
            let sensor_long = match (exif.pixel_width, exif.pixel_height) {
                (Some(w), Some(h)) if w.max(h) > 0 => f64::from(w.max(h)),
                _ => long,
            };
            let focal = mm * px_per_mm * long / sensor_long;
            if focal.is_finite() && focal > 0.1 * long && focal < 20.0 * long {
                return with(focal, FocalSource::ExifSensor);
            }
        }
        with(DEFAULT_FOCAL_FACTOR * long, FocalSource::Default)
    }

    /// The calibration matrix.
    pub fn matrix(&self) -> Matrix3<f64> {
        Matrix3::new(self.focal, 0.0, self.cx, 0.0, self.focal, self.cy, 0.0, 0.0, 1.0)
    }
}

/// Why a `K.txt` could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KError {
    /// Not nine numbers.
    #[error("K.txt must hold the nine numbers of a 3x3 matrix, row by row; found {0}")]
    Count(usize),
    /// Not a calibration matrix.
    #[error(
        "K.txt is not a calibration matrix (it needs fx, fy > 0, zero skew terms below the diagonal and a last row 0 0 1)"
    )]
    Shape,
}

/// Reads a 3x3 calibration matrix written row by row (as in the
/// Strecha data sets). fx and fy may differ; the prior uses their mean.
pub fn parse_k(text: &str) -> Result<Intrinsics, KError> {
    let numbers: Vec<f64> = text.split_whitespace().filter_map(|t| t.parse().ok()).collect();
    if numbers.len() != 9 {
        return Err(KError::Count(numbers.len()));
    }
    let k = Matrix3::from_row_slice(&numbers);
    let ok = k[(0, 0)] > 0.0
        && k[(1, 1)] > 0.0
        && k[(1, 0)] == 0.0
        && k[(2, 0)] == 0.0
        && k[(2, 1)] == 0.0
        && k[(2, 2)] == 1.0;
    if !ok {
        return Err(KError::Shape);
    }
    Ok(Intrinsics { focal: (k[(0, 0)] + k[(1, 1)]) / 2.0, cx: k[(0, 2)], cy: k[(1, 2)], source: FocalSource::Given })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focal_from_35mm_equivalent() {
        let exif = ExifSummary { focal_length_35mm: Some(26.0), ..Default::default() };
        let k = Intrinsics::from_exif(Some(&exif), 4000, 3000);
        assert!((k.focal - 26.0 / 36.0 * 4000.0).abs() < 1e-9);
        assert_eq!((k.cx, k.cy, k.source), (2000.0, 1500.0, FocalSource::Exif35mm));
    }

    #[test]
    fn focal_from_sensor_pitch_scales_with_resizing() {
        // 5.4 mm at 500 px/mm on a 4000 px sensor, photo resized to 2000 px.
        let exif = ExifSummary {
            focal_length_mm: Some(5.4),
            focal_plane_px_per_mm: Some(500.0),
            pixel_width: Some(4000),
            pixel_height: Some(3000),
            ..Default::default()
        };
        let k = Intrinsics::from_exif(Some(&exif), 2000, 1500);
        assert!((k.focal - 1350.0).abs() < 1e-9);
        assert_eq!(k.source, FocalSource::ExifSensor);
    }

    #[test]
    fn no_exif_gives_the_default_flagged() {
        let k = Intrinsics::from_exif(None, 3072, 2048);
        assert_eq!((k.focal, k.source), (1.2 * 3072.0, FocalSource::Default));
        let useless = ExifSummary { focal_length_mm: Some(5.0), ..Default::default() };
        assert_eq!(Intrinsics::from_exif(Some(&useless), 100, 100).source, FocalSource::Default);
    }

    #[test]
    fn k_txt_parses_and_is_checked() {
        let k = parse_k("2759.48 0 1520.69\n0 2764.16 1006.81\n0 0 1\n").unwrap();
        assert!((k.focal - 2761.82).abs() < 1e-9);
        assert_eq!((k.cx, k.cy, k.source), (1520.69, 1006.81, FocalSource::Given));
        assert_eq!(parse_k("1 2 3"), Err(KError::Count(3)));
        assert_eq!(parse_k("1 0 0 0 1 0 0 0 2"), Err(KError::Shape));
    }
}
