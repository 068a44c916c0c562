//! Tiles against the formulas, the pixels of the source and the specs.

use std::path::Path;

use heritage_tiles::grid::{self, Rect};
use heritage_tiles::{Layout, TileOptions, tile_file, tile_image};
use image::{Rgb, RgbImage};
use serde_json::Value;

/// Photo-like content: fine texture (averaging away at coarse levels) on
/// large smooth shapes (which remain), like detail on a facade.
fn scene(w: u32, h: u32) -> RgbImage {
    let (sw, sh) = (f64::from(w.max(2)), f64::from(h.max(2)));
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (f64::from(x), f64::from(y));
        let (u, v) = (fx / sw * std::f64::consts::TAU, fy / sh * std::f64::consts::TAU);
        let fine = 30.0 * (fx / 3.1).sin() * (fy / 4.3).cos();
        let r = 120.0 + 70.0 * u.sin() * v.cos() + fine;
        let g = 128.0 + 60.0 * (u + v).sin() - fine;
        let b = 110.0 + 50.0 * (2.0 * u - v).cos() + 0.5 * fine;
        Rgb([r.clamp(0.0, 255.0) as u8, g.clamp(0.0, 255.0) as u8, b.clamp(0.0, 255.0) as u8])
    })
}

/// The source shrunk by `2^shift` with a plain box average over each
/// block (clipped at the edges): the reference for a pyramid level.
fn reference_level(src: &RgbImage, shift: u32) -> RgbImage {
    let (w, h) = grid::shrunk_size(src.width(), src.height(), shift);
    let block = 1u32 << shift;
    RgbImage::from_fn(w, h, |x, y| {
        let (mut sum, mut n) = ([0u64; 3], 0u64);
        for sy in y * block..((y + 1) * block).min(src.height()) {
            for sx in x * block..((x + 1) * block).min(src.width()) {
                for (c, v) in src.get_pixel(sx, sy).0.iter().enumerate() {
                    sum[c] += u64::from(*v);
                }
                n += 1;
            }
        }
        Rgb(sum.map(|s| ((s + n / 2) / n) as u8))
    })
}

fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let mse = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).sum::<f64>()
        / a.as_raw().len() as f64;
    if mse == 0.0 { f64::INFINITY } else { 10.0 * (255.0 * 255.0 / mse).log10() }
}

fn open(path: &Path) -> RgbImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).into_rgb8()
}

fn attribute(xml: &str, name: &str) -> u32 {
    let start = xml.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    xml[start..].split('"').next().unwrap().parse().unwrap()
}

fn count_files(dir: &Path) -> usize {
    walk(dir).len()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

/// Checks every DZI level against the formulas and the source pixels.
fn check_dzi(out: &Path, name: &str, src: &RgbImage, options: &TileOptions) {
    let (w, h) = src.dimensions();
    let xml = std::fs::read_to_string(out.join(format!("{name}.dzi"))).unwrap();
    assert!(xml.contains("xmlns=\"http://schemas.microsoft.com/deepzoom/2008\""));
    assert!(xml.contains("Format=\"jpg\""));
    assert_eq!((attribute(&xml, "Width"), attribute(&xml, "Height")), (w, h));
    assert_eq!(attribute(&xml, "TileSize"), options.dzi_tile_size);
    assert_eq!(attribute(&xml, "Overlap"), options.overlap);
    let files = out.join(format!("{name}_files"));
    let max = grid::max_level(w, h);
    let mut expected_files = 0;
    for level in 0..=max {
        let (lw, lh) = grid::level_size(w, h, level);
        let (cols, rows) = grid::tile_counts(lw, lh, options.dzi_tile_size);
        let mut assembled = RgbImage::new(lw, lh);
        for row in 0..rows {
            for col in 0..cols {
                let rect = grid::dzi_tile_rect(lw, lh, options.dzi_tile_size, options.overlap, col, row);
                let tile = open(&files.join(level.to_string()).join(format!("{col}_{row}.jpg")));
                assert_eq!(tile.dimensions(), (rect.w, rect.h), "{name} level {level} tile {col}_{row}");
                image::imageops::replace(&mut assembled, &tile, i64::from(rect.x), i64::from(rect.y));
                expected_files += 1;
            }
        }
        let quality = psnr(&assembled, &reference_level(src, max - level));
        assert!(quality >= 40.0, "{name} level {level}: PSNR {quality:.1} dB");
    }
    assert_eq!(count_files(&files), expected_files, "no stray tiles");
}

/// Checks `info.json` for the spec's required fields and that every tile
/// and size it implies exists with the right pixel size.
fn check_iiif(out: &Path, name: &str, src: &RgbImage, options: &TileOptions) {
    let (w, h) = src.dimensions();
    let root = out.join(name);
    let info: Value = serde_json::from_slice(&std::fs::read(root.join("info.json")).unwrap()).unwrap();
    assert_eq!(info["@context"], "http://iiif.io/api/image/3/context.json");
    assert_eq!(info["id"], format!("{}/{name}", options.base_url));
    assert_eq!(info["type"], "ImageService3");
    assert_eq!(info["protocol"], "http://iiif.io/api/image");
    assert_eq!(info["profile"], "level0");
    assert_eq!((info["width"].as_u64().unwrap(), info["height"].as_u64().unwrap()), (u64::from(w), u64::from(h)));
    let tiles = &info["tiles"][0];
    let size = tiles["width"].as_u64().unwrap() as u32;
    assert_eq!(size, options.iiif_tile_size);
    let whole = Rect { x: 0, y: 0, w, h };
    let mut implied = std::collections::BTreeSet::new();
    for scale in tiles["scaleFactors"].as_array().unwrap().iter().map(|s| s.as_u64().unwrap() as u32) {
        assert!(scale.is_power_of_two());
        let reference = reference_level(src, scale.trailing_zeros());
        for t in grid::iiif_tiles(w, h, size, scale) {
            let path = grid::iiif_path(w, h, t.region, t.width, t.height);
            let tile = open(&root.join(&path));
            assert_eq!(tile.dimensions(), (t.width, t.height), "{path}");
            let expected =
                image::imageops::crop_imm(&reference, t.in_level.x, t.in_level.y, t.width, t.height).to_image();
            assert!(psnr(&tile, &expected) >= 40.0, "{path}");
            implied.insert(path);
        }
    }
    let last = tiles["scaleFactors"].as_array().unwrap().last().unwrap().clone();
    let (lw, lh) = grid::shrunk_size(w, h, (last.as_u64().unwrap() as u32).trailing_zeros());
    assert!(lw <= size && lh <= size, "the coarsest scale fits one tile");
    for s in info["sizes"].as_array().unwrap() {
        let (sw, sh) = (s["width"].as_u64().unwrap() as u32, s["height"].as_u64().unwrap() as u32);
        let path = grid::iiif_path(w, h, whole, sw, sh);
        assert_eq!(open(&root.join(&path)).dimensions(), (sw, sh), "{path}");
        implied.insert(path);
    }
    let max = open(&root.join("full/max/0/default.jpg"));
    match (info.get("maxWidth"), info.get("maxHeight")) {
        (Some(mw), Some(mh)) => {
            assert_eq!(max.dimensions(), (mw.as_u64().unwrap() as u32, mh.as_u64().unwrap() as u32))
        }
        _ => assert_eq!(max.dimensions(), (w, h)),
    }
    implied.insert("full/max/0/default.jpg".to_string());
    assert_eq!(count_files(&root), implied.len() + 1, "only implied files and info.json");
}

/// Tiles at JPEG quality 100, so that what is measured is the pyramid and
/// the tiling, not JPEG's loss on busy little images.
fn options_q100() -> TileOptions {
    TileOptions { quality: 100, base_url: "https://example.org/iiif".into(), ..TileOptions::default() }
}

#[test]
fn awkward_sizes_give_complete_correct_pyramids() {
    let options = options_q100();
    for (w, h) in [(1, 1), (255, 256), (257, 3), (5000, 3000)] {
        let dir = tempfile::tempdir().unwrap();
        let src = scene(w, h);
        let name = format!("s{w}x{h}");
        let summary = tile_image(src.clone(), dir.path(), &name, &options).unwrap();
        assert_eq!(summary.levels, grid::max_level(w, h) + 1);
        check_dzi(dir.path(), &name, &src, &options);
        check_iiif(dir.path(), &name, &src, &options);
        let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(entries.len(), 3, "NAME.dzi, NAME_files, NAME and no temporaries: {entries:?}");
    }
}

#[test]
fn large_photos_cap_the_iiif_full_image() {
    let options = TileOptions { max_full_side: 1000, ..options_q100() };
    let src = scene(2100, 900);
    let dir = tempfile::tempdir().unwrap();
    tile_image(src.clone(), dir.path(), "big", &options).unwrap();
    check_iiif(dir.path(), "big", &src, &options);
    let info: Value = serde_json::from_slice(&std::fs::read(dir.path().join("big/info.json")).unwrap()).unwrap();
    assert_eq!((info["maxWidth"].as_u64(), info["maxHeight"].as_u64()), (Some(525), Some(225)));
}

#[test]
fn other_tile_sizes_and_one_layout() {
    let options = TileOptions { layout: Layout::Dzi, dzi_tile_size: 100, overlap: 3, ..options_q100() };
    let src = scene(333, 211);
    let dir = tempfile::tempdir().unwrap();
    let summary = tile_image(src.clone(), dir.path(), "x", &options).unwrap();
    assert_eq!(summary.iiif_files, 0);
    check_dzi(dir.path(), "x", &src, &options);
    assert!(!dir.path().join("x").exists());
}

#[test]
fn corrupt_input_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jpg");
    let good = heritage_imaging::encode_jpeg(&scene(600, 400), 90).unwrap();
    std::fs::write(&bad, &good[..good.len() / 2]).unwrap();
    let out = dir.path().join("out");
    let err = tile_file(&bad, &out, "bad", &TileOptions::default()).unwrap_err();
    assert!(format!("{err:#}").contains("truncated"), "{err:#}");
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().count() == 0);
}

#[test]
fn retiling_replaces_the_old_output() {
    let dir = tempfile::tempdir().unwrap();
    let options = options_q100();
    tile_image(scene(600, 400), dir.path(), "p", &options).unwrap();
    tile_image(scene(300, 200), dir.path(), "p", &options).unwrap();
    check_dzi(dir.path(), "p", &scene(300, 200), &options);
    check_iiif(dir.path(), "p", &scene(300, 200), &options);
}

#[test]
fn orientation_grey_16_bit_and_alpha_inputs() {
    let dir = tempfile::tempdir().unwrap();
    // EXIF orientation 6: stored 400x300, shown 300x400.
    let exif = heritage_imaging::ExifSummary { orientation: 6, ..Default::default() };
    let jpeg = heritage_imaging::encode_jpeg(&scene(400, 300), 90).unwrap();
    let rotated = dir.path().join("rotated.jpg");
    std::fs::write(&rotated, heritage_imaging::embed_exif_in_jpeg(&jpeg, &exif).unwrap()).unwrap();
    let s = tile_file(&rotated, dir.path(), "rotated", &TileOptions::default()).unwrap();
    assert_eq!((s.width, s.height), (300, 400));

    let grey = image::ImageBuffer::<image::Luma<u16>, _>::from_fn(300, 200, |x, _| image::Luma([(x * 200) as u16]));
    let grey_path = dir.path().join("grey16.png");
    grey.save(&grey_path).unwrap();
    tile_file(&grey_path, dir.path(), "grey16", &TileOptions::default()).unwrap();
    let top = open(&dir.path().join("grey16_files/9/0_0.jpg"));
    let p = top.get_pixel(150, 100).0;
    assert!(p[0].abs_diff(p[1]) <= 2 && p[1].abs_diff(p[2]) <= 2, "grey stays grey: {p:?}");

    let rgba = image::RgbaImage::from_fn(300, 200, |x, _| image::Rgba([0, 0, 0, if x < 150 { 0 } else { 255 }]));
    let rgba_path = dir.path().join("alpha.png");
    rgba.save(&rgba_path).unwrap();
    tile_file(&rgba_path, dir.path(), "alpha", &TileOptions::default()).unwrap();
    let top = open(&dir.path().join("alpha_files/9/0_0.jpg"));
    assert!(top.get_pixel(50, 100).0.iter().all(|&c| c > 245), "transparent becomes white");
    assert!(top.get_pixel(250, 100).0.iter().all(|&c| c < 10), "opaque black stays black");
}

#[test]
fn icc_profiles_are_converted_to_srgb() {
    use image::ImageEncoder;
    let dir = tempfile::tempdir().unwrap();
    let icc = moxcms::ColorProfile::new_adobe_rgb().encode().unwrap();
    let src = RgbImage::from_pixel(64, 64, Rgb([100, 150, 100]));
    let path = dir.path().join("adobe.png");
    let mut bytes = Vec::new();
    let mut encoder = image::codecs::png::PngEncoder::new(&mut bytes);
    encoder.set_icc_profile(icc).unwrap();
    encoder.write_image(src.as_raw(), 64, 64, image::ExtendedColorType::Rgb8).unwrap();
    std::fs::write(&path, bytes).unwrap();
    tile_file(&path, dir.path(), "adobe", &TileOptions { quality: 100, ..TileOptions::default() }).unwrap();
    let got = open(&dir.path().join("adobe_files/6/0_0.jpg")).get_pixel(32, 32).0;
    // Adobe RGB (100, 150, 100) is sRGB (66, 151, 97) by the published matrices.
    for (g, want) in got.iter().zip([66u8, 151, 97]) {
        assert!(g.abs_diff(want) <= 3, "got {got:?}");
    }
}
