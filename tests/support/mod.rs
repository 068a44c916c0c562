//! Shared helpers of the end-to-end tests: running the binary and making
//! photo folders with every kind of good and bad file.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use heritage_imaging::{ExifSummary, embed_exif_in_jpeg, encode_jpeg};
use image::{Rgb, RgbImage};

/// The `heritage` binary under test.
pub fn heritage_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_heritage"))
}

/// Runs `heritage --archive <archive> <args>` and returns its output.
pub fn heritage(archive: &Path, args: &[&str]) -> Output {
    Command::new(heritage_bin())
        .arg("--archive")
        .arg(archive)
        .args(args)
        .env_remove("HERITAGE_ARCHIVE")
        .output()
        .expect("the heritage binary runs")
}

/// Runs heritage and insists on success; returns standard output.
pub fn heritage_ok(archive: &Path, args: &[&str]) -> String {
    let out = heritage(archive, args);
    assert!(
        out.status.success(),
        "heritage {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Runs heritage with `--json` appended and parses its output.
pub fn heritage_json(archive: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    serde_json::from_str(&heritage_ok(archive, &all)).expect("valid JSON")
}

/// A fresh archive with one site `nha-tong-than`.
pub fn archive_with_site(dir: &Path) -> PathBuf {
    let archive = dir.join("archive");
    heritage_ok(&archive, &["init"]);
    heritage_ok(&archive, &["site", "add", "Nhà Tổng Thận"]);
    archive
}

/// A photo-like image: smooth gradients plus a pattern unique to `seed`.
pub fn photo(width: u32, height: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let v = x.wrapping_mul(7).wrapping_add(y.wrapping_mul(13)).wrapping_add(seed.wrapping_mul(101));
        Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, (v % 251) as u8])
    })
}

/// A JPEG of `image`, with EXIF when given.
pub fn jpeg(image: &RgbImage, exif: Option<&ExifSummary>) -> Vec<u8> {
    let plain = encode_jpeg(image, 90).expect("encodes");
    match exif {
        Some(exif) => embed_exif_in_jpeg(&plain, exif).expect("embeds EXIF"),
        None => plain,
    }
}

/// A PNG of `image`.
pub fn png(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).expect("encodes PNG");
    out
}

/// A PNG whose header claims `w` x `h` pixels and whose data is a few
/// bytes: a decompression bomb in miniature.
pub fn header_only_png(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunks: [(&[u8], &[u8]); 3] =
        [(b"IHDR", &ihdr), (b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]), (b"IEND", &[])];
    for (kind, data) in chunks {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        png.extend_from_slice(&body);
        png.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Writes `bytes` to `dir/name`, creating folders.
pub fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("creates folders");
    std::fs::write(&path, bytes).expect("writes");
    path
}

/// A pose from a COLMAP `images.txt` line: world-to-camera rotation (rows)
/// and the camera centre.
pub type Pose = ([[f64; 3]; 3], [f64; 3]);

/// Every image of a COLMAP text `images.txt`, by file name (the last path
/// component), as rotation and centre.
pub fn colmap_poses(images_txt: &str) -> std::collections::BTreeMap<String, Pose> {
    let lines: Vec<&str> = images_txt.lines().filter(|l| !l.starts_with('#')).collect();
    lines
        .chunks(2)
        .filter_map(|pair| {
            let fields: Vec<&str> = pair[0].split_whitespace().collect();
            if fields.len() < 10 {
                return None;
            }
            let v: Vec<f64> = fields[1..8].iter().map(|x| x.parse().unwrap()).collect();
            let (w, x, y, z) = (v[0], v[1], v[2], v[3]);
            let r = [
                [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
                [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)],
                [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)],
            ];
            let t = [v[4], v[5], v[6]];
            let centre = [0, 1, 2].map(|j| -(0..3).map(|i| r[i][j] * t[i]).sum::<f64>());
            let name = fields[9..].join(" ").rsplit('/').next().unwrap().to_string();
            Some((name, (r, centre)))
        })
        .collect()
}
