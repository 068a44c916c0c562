//! Pixel-level and round-trip checks of the imaging crate.

use heritage_imaging::decode::check_jpeg_complete;
use heritage_imaging::*;
use image::{DynamicImage, Rgb, RgbImage, Rgba, RgbaImage};

fn gradient(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| Rgb([(x * 255 / w.max(2)) as u8, (y * 255 / h.max(2)) as u8, 128]))
}

fn full_exif() -> ExifSummary {
    ExifSummary {
        captured: Some("2026-11-27T09:30:15+07:00".into()),
        make: Some("Heritage".into()),
        model: Some("Synthetic 1".into()),
        focal_length_mm: Some(4.25),
        focal_length_35mm: Some(26.0),
        focal_plane_px_per_mm: Some(500.0),
        orientation: 6,
        gps: Some(GpsFix { latitude: 10.535_7, longitude: 106.413_2, altitude: Some(3.5) }),
        pixel_width: Some(64),
        pixel_height: Some(48),
    }
}

#[test]
fn exif_round_trips_through_a_jpeg() {
    let jpeg = encode_jpeg(&gradient(64, 48), 90).unwrap();
    let with_exif = embed_exif_in_jpeg(&jpeg, &full_exif()).unwrap();
    let reading = read_exif(&with_exif);
    assert!(reading.warnings.is_empty(), "{:?}", reading.warnings);
    let got = reading.summary.unwrap();
    let want = full_exif();
    assert_eq!(got.captured, want.captured);
    assert_eq!(got.make, want.make);
    assert_eq!(got.model, want.model);
    assert_eq!(got.orientation, 6);
    assert_eq!(got.focal_length_mm, Some(4.25));
    assert_eq!(got.focal_length_35mm, Some(26.0));
    assert_eq!(got.focal_plane_px_per_mm, Some(500.0));
    assert_eq!((got.pixel_width, got.pixel_height), (Some(64), Some(48)));
    let gps = got.gps.unwrap();
    assert!((gps.latitude - 10.535_7).abs() < 1e-7);
    assert!((gps.longitude - 106.413_2).abs() < 1e-7);
    assert!((gps.altitude.unwrap() - 3.5).abs() < 1e-9);
    // Still a valid, complete JPEG with the same pixels.
    check_jpeg_complete(&with_exif).unwrap();
    let a = decode(&jpeg, FileKind::Jpeg, u64::MAX).unwrap().image.into_rgb8();
    let b = decode(&with_exif, FileKind::Jpeg, u64::MAX).unwrap().image.into_rgb8();
    assert_eq!(a, b);
}

#[test]
fn southern_western_and_below_sea_gps_keep_their_signs() {
    let exif = ExifSummary {
        gps: Some(GpsFix { latitude: -33.5, longitude: -70.25, altitude: Some(-12.0) }),
        ..Default::default()
    };
    let jpeg = embed_exif_in_jpeg(&encode_jpeg(&gradient(8, 8), 80).unwrap(), &exif).unwrap();
    let gps = read_exif(&jpeg).summary.unwrap().gps.unwrap();
    assert!((gps.latitude + 33.5).abs() < 1e-7 && (gps.longitude + 70.25).abs() < 1e-7);
    assert_eq!(gps.altitude, Some(-12.0));
}

#[test]
fn missing_and_malformed_exif() {
    let plain = encode_jpeg(&gradient(8, 8), 80).unwrap();
    assert_eq!(read_exif(&plain), ExifReading::default());
    // An APP1 "Exif" segment whose TIFF header is garbage.
    let payload = b"Exif\0\0garbage!!";
    let mut broken = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, payload.len() as u8 + 2];
    broken.extend_from_slice(payload);
    broken.extend_from_slice(&plain[2..]);
    let reading = read_exif(&broken);
    assert!(reading.summary.is_none());
    assert_eq!(reading.warnings.len(), 1, "{:?}", reading.warnings);
    // The pixels are still fine.
    decode(&broken, FileKind::Jpeg, u64::MAX).unwrap();
}

#[test]
fn truncated_jpegs_are_caught() {
    let jpeg = encode_jpeg(&gradient(256, 256), 90).unwrap();
    for cut in [jpeg.len() - 2, jpeg.len() / 2, 400, 20] {
        let err = decode(&jpeg[..cut], FileKind::Jpeg, u64::MAX).unwrap_err();
        assert_eq!(err, DecodeError::Truncated, "cut at {cut}");
    }
}

#[test]
fn files_that_are_no_readable_image_say_what_they_are() {
    let text = b"notes from the site visit";
    let err = load_display_image(text, u64::MAX).unwrap_err();
    assert_eq!(err, DecodeError::NotAnImage);
    assert!(err.to_string().contains("not an image"), "{err}");
    let gif = b"GIF89a\x01\0\x01\0\0\0\0;";
    let err = load_display_image(gif, u64::MAX).unwrap_err();
    assert_eq!(err, DecodeError::Unsupported("GIF"));
    assert!(err.to_string().contains("convert it to JPEG"), "{err}");
}

#[test]
fn corrupt_png_is_caught() {
    let mut png = Vec::new();
    DynamicImage::ImageRgb8(gradient(64, 64))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let cut = &png[..png.len() / 2];
    assert!(decode(cut, FileKind::Png, u64::MAX).is_err());
    let mut flipped = png.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xFF;
    assert!(decode(&flipped, FileKind::Png, u64::MAX).is_err());
}

/// Where display pixel (x, y) comes from in the stored w x h image, for
/// each EXIF orientation (the spec's definitions).
fn source_of(orientation: u8, x: u32, y: u32, w: u32, h: u32) -> (u32, u32) {
    match orientation {
        1 => (x, y),
        2 => (w - 1 - x, y),
        3 => (w - 1 - x, h - 1 - y),
        4 => (x, h - 1 - y),
        5 => (y, x),
        6 => (y, h - 1 - x),
        7 => (w - 1 - y, h - 1 - x),
        8 => (w - 1 - y, x),
        _ => unreachable!(),
    }
}

#[test]
fn all_eight_orientations_are_applied() {
    let (w, h) = (5, 3);
    let stored = RgbImage::from_fn(w, h, |x, y| Rgb([x as u8 * 40, y as u8 * 80, 7]));
    for orientation in 1..=8u8 {
        let shown = to_display_rgb(DynamicImage::ImageRgb8(stored.clone()), orientation);
        let (dw, dh) = if orientation >= 5 { (h, w) } else { (w, h) };
        assert_eq!(shown.dimensions(), (dw, dh), "orientation {orientation}");
        for y in 0..dh {
            for x in 0..dw {
                let (sx, sy) = source_of(orientation, x, y, w, h);
                assert_eq!(shown.get_pixel(x, y), stored.get_pixel(sx, sy), "orientation {orientation} at {x},{y}");
            }
        }
    }
}

#[test]
fn alpha_is_flattened_on_white_and_16_bit_grey_works() {
    let rgba = RgbaImage::from_fn(2, 1, |x, _| if x == 0 { Rgba([0, 0, 0, 0]) } else { Rgba([0, 0, 0, 255]) });
    let flat = to_display_rgb(DynamicImage::ImageRgba8(rgba), 1);
    assert_eq!(flat.get_pixel(0, 0).0, [255, 255, 255]);
    assert_eq!(flat.get_pixel(1, 0).0, [0, 0, 0]);
    let grey16 = image::ImageBuffer::<image::Luma<u16>, _>::from_pixel(3, 3, image::Luma([65535u16]));
    let rgb = to_display_rgb(DynamicImage::ImageLuma16(grey16), 1);
    assert!(rgb.pixels().all(|p| p.0 == [255, 255, 255]));
}

#[test]
fn jpeg_encoding_is_faithful() {
    let img = gradient(300, 200);
    let jpeg = encode_jpeg(&img, 90).unwrap();
    let back = decode(&jpeg, FileKind::Jpeg, u64::MAX).unwrap().image.into_rgb8();
    let mse: f64 =
        img.as_raw().iter().zip(back.as_raw()).map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2)).sum::<f64>()
            / img.as_raw().len() as f64;
    let psnr = 10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10();
    assert!(psnr > 38.0, "PSNR {psnr}");
}

#[test]
fn subsampled_jpegs_keep_their_colours() {
    let img =
        RgbImage::from_fn(400, 300, |x, y| if x < 200 && y < 150 { Rgb([220, 30, 30]) } else { Rgb([30, 200, 30]) });
    for quality in [60u8, 85, 95] {
        let back = decode(&encode_jpeg(&img, quality).unwrap(), FileKind::Jpeg, u64::MAX).unwrap().image.into_rgb8();
        for (x, y) in [(100, 75), (300, 200)] {
            let (got, want) = (back.get_pixel(x, y).0, img.get_pixel(x, y).0);
            assert!(
                got.iter().zip(want).all(|(a, b)| (i32::from(*a) - i32::from(b)).abs() < 6),
                "q{quality}: {got:?} vs {want:?}"
            );
        }
    }
}
