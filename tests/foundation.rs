//! End-to-end tests of the foundation: archive, sites, ingest with every
//! kind of bad file, verify, status, build, and a killed ingest.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use heritage_imaging::ExifSummary;
use image::{Rgb, RgbImage};
use serde_json::Value;
use support::*;
use unicode_normalization::UnicodeNormalization;

/// Colours of the four quadrants of the upright test picture.
const QUADRANTS: [[u8; 3]; 4] = [[220, 30, 30], [30, 200, 30], [30, 30, 220], [240, 240, 240]];

/// The upright picture: red top-left, green top-right, blue bottom-left,
/// white bottom-right.
fn upright(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| Rgb(QUADRANTS[usize::from(x >= w / 2) + 2 * usize::from(y >= h / 2)]))
}

/// Where display pixel (x, y) is stored, for EXIF orientation `o`, in a
/// stored image of `sw` x `sh` (the EXIF specification's definitions).
fn stored_position(o: u8, x: u32, y: u32, sw: u32, sh: u32) -> (u32, u32) {
    match o {
        1 => (x, y),
        2 => (sw - 1 - x, y),
        3 => (sw - 1 - x, sh - 1 - y),
        4 => (x, sh - 1 - y),
        5 => (y, x),
        6 => (y, sh - 1 - x),
        7 => (sw - 1 - y, sh - 1 - x),
        8 => (sw - 1 - y, x),
        _ => unreachable!(),
    }
}

/// The stored pixels a camera would write for the upright picture held
/// with orientation `o`.
fn stored_for_orientation(o: u8, dw: u32, dh: u32) -> RgbImage {
    let display = upright(dw, dh);
    let (sw, sh) = if o >= 5 { (dh, dw) } else { (dw, dh) };
    let mut stored = RgbImage::new(sw, sh);
    for y in 0..dh {
        for x in 0..dw {
            let (sx, sy) = stored_position(o, x, y, sw, sh);
            stored.put_pixel(sx, sy, *display.get_pixel(x, y));
        }
    }
    stored
}

fn exif_with_orientation(o: u8) -> ExifSummary {
    ExifSummary {
        make: Some("Samsung".into()),
        model: Some("Galaxy A54".into()),
        captured: Some("2026-11-20T08:15:00+07:00".into()),
        focal_length_mm: Some(5.4),
        focal_length_35mm: Some(24.0),
        orientation: o,
        gps: Some(heritage_imaging::GpsFix { latitude: 10.5357, longitude: 106.4132, altitude: Some(2.0) }),
        ..Default::default()
    }
}

/// The folder a volunteer hands in: good photos and every kind of trouble.
fn volunteer_folder(root: &Path) -> std::path::PathBuf {
    let folder = root.join("the card");
    for o in 1..=8u8 {
        put(
            &folder,
            &format!("DCIM/orient-{o}.jpg"),
            &jpeg(&stored_for_orientation(o, 800, 600), Some(&exif_with_orientation(o))),
        );
    }
    let no_exif = jpeg(&photo(1024, 768, 1), None);
    put(&folder, "DCIM/no-exif.jpg", &no_exif);
    put(&folder, "backup/no-exif copy.jpg", &no_exif);
    put(&folder, "scan.png", &png(&photo(700, 900, 2)));
    let whole = jpeg(&photo(900, 700, 3), None);
    put(&folder, "truncated.jpg", &whole[..whole.len() * 2 / 3]);
    put(&folder, "empty.jpg", b"");
    put(&folder, "notes.jpg", "Ghi chú: chụp lại mặt tiền phía đông.\n".as_bytes());
    put(&folder, "bomb.png", &header_only_png(20_000, 20_000));
    put(&folder, "IMG_0001.HEIC", b"\0\0\0\x18ftypheic\0\0\0\0mif1heicmore bytes here");
    put(&folder, "thumbnail.jpg", &jpeg(&photo(320, 240, 4), None));
    let nfd_name: String = "Mặt tiền Nhà Tổng Thận.jpg".nfd().collect();
    put(&folder, &nfd_name, &jpeg(&photo(800, 640, 5), None));
    put(&folder, ".DS_Store", b"\0\0\0\x01Bud1");
    std::os::unix::fs::symlink("..", folder.join("DCIM/loop")).unwrap();
    folder
}

fn by_source(list: &Value) -> BTreeMap<String, Value> {
    list.as_array().unwrap().iter().map(|v| (v["source"].as_str().unwrap().nfc().collect(), v.clone())).collect()
}

#[test]
fn ingest_sorts_every_kind_of_file_and_keeps_originals_intact() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_with_site(dir.path());
    let folder = volunteer_folder(dir.path());
    let report = heritage_json(
        &archive,
        &["ingest", folder.to_str().unwrap(), "--site", "nha-tong-than", "--contributor", "Đoàn Thanh Niên"],
    );

    let accepted = by_source(&report["accepted"]);
    let mut expected: Vec<String> = (1..=8).map(|o| format!("DCIM/orient-{o}.jpg")).collect();
    expected.extend(["DCIM/no-exif.jpg", "scan.png", "Mặt tiền Nhà Tổng Thận.jpg"].map(String::from));
    expected.sort();
    assert_eq!(accepted.keys().cloned().collect::<Vec<_>>(), expected);

    let rejected: BTreeMap<String, String> = by_source(&report["rejected"])
        .into_iter()
        .map(|(k, v)| (k, v["reason"]["code"].as_str().unwrap().to_string()))
        .collect();
    let want: BTreeMap<String, String> = [
        ("truncated.jpg", "truncated"),
        ("empty.jpg", "empty"),
        ("notes.jpg", "text"),
        ("bomb.png", "too-many-pixels"),
        ("IMG_0001.HEIC", "heic"),
        ("thumbnail.jpg", "too-small"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(rejected, want);
    let messages = by_source(&report["rejected"]);
    assert!(messages["bomb.png"]["reason"]["message"].as_str().unwrap().contains("400 megapixels"));
    assert!(messages["IMG_0001.HEIC"]["reason"]["message"].as_str().unwrap().contains("convert it to JPEG"));

    let duplicates = by_source(&report["duplicates"]);
    assert_eq!(duplicates.len(), 1);
    assert_eq!(duplicates["backup/no-exif copy.jpg"]["same_as"], "DCIM/no-exif.jpg");
    let skipped: Vec<&str> =
        report["skipped"].as_array().unwrap().iter().map(|s| s["reason"].as_str().unwrap()).collect();
    assert!(skipped.contains(&"symbolic link loop: not followed"), "{skipped:?}");
    assert!(skipped.contains(&"hidden file"), "{skipped:?}");

    // Originals: byte-identical, read-only, names in NFC.
    let photoset = report["photoset"].as_str().unwrap();
    assert!(photoset.ends_with("-doan-thanh-nien"), "{photoset}");
    let originals = archive.join("sites/nha-tong-than/photosets").join(photoset).join("originals");
    for item in accepted.values() {
        let stored = originals.join(item["stored"].as_str().unwrap());
        let source = folder.join(item["source"].as_str().unwrap());
        assert_eq!(std::fs::read(&stored).unwrap(), std::fs::read(&source).unwrap(), "{}", stored.display());
        assert_eq!(std::fs::metadata(&stored).unwrap().permissions().mode() & 0o222, 0, "read-only");
        let name = item["stored"].as_str().unwrap();
        assert_eq!(name, name.nfc().collect::<String>());
    }
    assert!(originals.join("Mặt tiền Nhà Tổng Thận.jpg".nfc().collect::<String>()).exists());

    // EXIF recorded in photoset.toml.
    let record = std::fs::read_to_string(originals.parent().unwrap().join("photoset.toml")).unwrap();
    assert!(record.contains("contributor = \"Đoàn Thanh Niên\""));
    assert!(record.contains("model = \"Galaxy A54\""));
    assert!(record.contains("focal_length_35mm = 24.0"));
    assert!(record.contains("latitude = 10.5357"));

    // The same ingest again adds nothing.
    let again = heritage_json(&archive, &["ingest", folder.to_str().unwrap(), "--site", "nha-tong-than"]);
    assert_eq!(again["accepted"].as_array().unwrap().len(), 0);
    assert_eq!(again["duplicates"].as_array().unwrap().len(), 12);
    assert!(again["photoset"].is_null());
    let status = heritage_json(&archive, &["status"]);
    assert_eq!(status["sites"][0]["photos"], 11);
    assert_eq!(status["sites"][0]["published"], false);

    heritage_ok(&archive, &["verify"]);
}

#[test]
fn the_table_summary_names_each_reason() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_with_site(dir.path());
    let folder = volunteer_folder(dir.path());
    let text = heritage_ok(&archive, &["ingest", folder.to_str().unwrap(), "--site", "nha-tong-than"]);
    assert!(text.contains("accepted    11"), "{text}");
    assert!(text.contains("rejected    6"), "{text}");
    assert!(text.contains("truncated.jpg"));
    assert!(text.contains("the file is truncated"));
}

#[test]
fn verify_finds_missing_modified_and_unlisted_originals() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_with_site(dir.path());
    let folder = dir.path().join("photos");
    for i in 0..3 {
        put(&folder, &format!("p{i}.jpg"), &jpeg(&photo(700, 500, i), None));
    }
    let report = heritage_json(
        &archive,
        &["ingest", folder.to_str().unwrap(), "--site", "nha-tong-than", "--photoset", "lan-1"],
    );
    assert_eq!(report["photoset"], "lan-1");
    heritage_ok(&archive, &["verify", "--site", "nha-tong-than"]);

    let originals = archive.join("sites/nha-tong-than/photosets/lan-1/originals");
    let p0 = originals.join("p0.jpg");
    std::fs::set_permissions(&p0, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = std::fs::read(&p0).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&p0, bytes).unwrap();
    std::fs::remove_file(originals.join("p1.jpg")).unwrap();
    std::fs::write(originals.join("stray.jpg"), b"x").unwrap();

    let out = heritage(&archive, &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let set = &json["sites"][0]["photosets"][0];
    assert_eq!(json["ok"], false);
    assert_eq!(set["modified"], serde_json::json!(["p0.jpg"]));
    assert_eq!(set["missing"], serde_json::json!(["p1.jpg"]));
    assert_eq!(set["unlisted"], serde_json::json!(["stray.jpg"]));
    assert_eq!(set["ok"], 1);
}

#[test]
fn build_makes_upright_thumbnails_once() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_with_site(dir.path());
    let folder = dir.path().join("photos");
    for o in 1..=8u8 {
        put(
            &folder,
            &format!("o{o}.jpg"),
            &jpeg(&stored_for_orientation(o, 800, 600), Some(&exif_with_orientation(o))),
        );
    }
    heritage_ok(&archive, &["ingest", folder.to_str().unwrap(), "--site", "nha-tong-than"]);

    let dry = heritage_ok(&archive, &["build", "--dry-run"]);
    assert!(dry.contains("Would run 26 of 26 jobs"), "{dry}");
    assert!(dry.contains("tiles: nha-tong-than/"), "{dry}");
    assert!(!archive.join("build/thumbnails").exists());

    let first = heritage_json(&archive, &["build"]);
    assert_eq!(first["stages"][0]["built"], 8);
    assert_eq!(first["stages"][1]["stage"], "tiles");
    assert_eq!(first["stages"][1]["built"], 8);
    assert_eq!(first["stages"][2]["stage"], "features");
    assert_eq!(first["stages"][2]["built"], 8);
    assert_eq!(first["stages"][3]["stage"], "matches");
    assert_eq!(first["stages"][3]["built"], 1, "one matches entry for the site");
    let matches: Vec<_> =
        std::fs::read_dir(archive.join("build/matches")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(matches.len(), 1);
    assert!(matches[0].join("database.db").is_file());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(matches[0].join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["photos"], 8);
    assert_eq!(summary["pairs_matched"], 28, "8 photos: every pair");
    assert_eq!(first["stages"][4]["stage"], "sparse");
    assert_eq!(first["stages"][4]["built"], 1, "one sparse entry for the site");
    let sparse: Vec<_> = std::fs::read_dir(archive.join("build/sparse")).unwrap().map(|e| e.unwrap().path()).collect();
    let coverage: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sparse[0].join("coverage.json")).unwrap()).unwrap();
    assert_eq!(coverage["photos_total"], 8, "every photo is in the coverage report");
    let second = heritage_ok(&archive, &["build"]);
    assert!(second.contains("Nothing to do: all 26 jobs are up to date."), "{second}");
    // Where the volunteer learns what to reshoot: the build names it, the
    // status shows it.
    let registered = coverage["registered"].as_u64().unwrap();
    let line = format!("nha-tong-than: {registered} / 8 ảnh trong mô hình 3D / photos in the 3D model");
    assert!(second.contains(&line) && second.contains("heritage status --site nha-tong-than"), "{second}");
    let shown = heritage_ok(&archive, &["status", "--site", "nha-tong-than"]);
    assert!(
        shown.contains("coverage report") && shown.contains(&format!("Registered {registered} of 8 photos")),
        "{shown}"
    );
    for entry in std::fs::read_dir(archive.join("build/tiles")).unwrap() {
        let dzi = std::fs::read_to_string(entry.unwrap().path().join("image.dzi")).unwrap();
        assert!(dzi.contains("Width=\"800\" Height=\"600\""), "upright pyramid: {dzi}");
    }

    let entries: Vec<_> =
        std::fs::read_dir(archive.join("build/thumbnails")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 8);
    for entry in entries {
        for (name, side) in [("thumb.jpg", 400), ("preview.jpg", 800)] {
            let image = image::open(entry.join(name)).unwrap().into_rgb8();
            assert_eq!(image.dimensions(), (side, side * 3 / 4), "{name} is upright and fitted");
            let (w, h) = image.dimensions();
            for (i, (x, y)) in
                [(w / 4, h / 4), (3 * w / 4, h / 4), (w / 4, 3 * h / 4), (3 * w / 4, 3 * h / 4)].into_iter().enumerate()
            {
                let got = image.get_pixel(x, y).0;
                let want = QUADRANTS[i];
                let close = got.iter().zip(want).all(|(a, b)| (i32::from(*a) - i32::from(b)).abs() < 12);
                assert!(close, "{} quadrant {i}: got {got:?}, want {want:?}", entry.display());
            }
        }
    }
    let status = heritage_json(&archive, &["status"]);
    assert_eq!(status["sites"][0]["stages"][0], serde_json::json!({"stage": "thumbnails", "done": 8, "total": 8}));
    let model = &status["sites"][0]["model"];
    assert_eq!((model["registered"].as_u64(), model["photos_total"].as_u64()), (Some(registered), Some(8)));
    assert!(model["report"].as_str().unwrap().ends_with("coverage.txt"), "{model}");
}

#[test]
fn a_held_lock_stops_a_second_build() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_with_site(dir.path());
    let lock =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(archive.join(".lock")).unwrap();
    lock.lock().unwrap();
    let out = heritage(&archive, &["build"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another heritage process"));
    drop(lock);
    heritage_ok(&archive, &["build"]);
}

#[test]
fn sites_get_slugs_and_refuse_to_escape() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_with_site(dir.path());
    heritage_ok(
        &archive,
        &["site", "add", "Đình Tân Lân", "--title-en", "Tan Lan communal house", "--lat", "10.53", "--lon", "106.41"],
    );
    for bad in ["../evil", "/etc", "a/b", ".."] {
        let out = heritage(&archive, &["site", "add", "Tên", "--slug", bad]);
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("slug"), "{err}");
    }
    let out = heritage(&archive, &["site", "set", "../nha-tong-than", "--published", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could leave"));
    assert!(!dir.path().join("evil").exists());

    heritage_ok(&archive, &["site", "set", "nha-tong-than", "--published", "true", "--summary-vi", "Nhà cổ ở Tân An."]);
    let status = heritage_json(&archive, &["status"]);
    let sites: Vec<(&str, bool)> = status["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["slug"].as_str().unwrap(), s["published"].as_bool().unwrap()))
        .collect();
    assert_eq!(sites, [("dinh-tan-lan", false), ("nha-tong-than", true)]);
    let shown = heritage_ok(&archive, &["site", "show", "dinh-tan-lan"]);
    assert!(shown.contains("en = \"Tan Lan communal house\""), "{shown}");
    let out = heritage(&archive, &["site", "add", "Nhà Tổng Thận"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

#[test]
fn usage_errors_exit_2_and_missing_archive_explains() {
    let dir = tempfile::tempdir().unwrap();
    let out = heritage(dir.path(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = heritage(&dir.path().join("none"), &["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("heritage init"));
    let help = heritage_ok(dir.path(), &["ingest", "--help"]);
    assert!(help.contains("--max-megapixels"));
}

#[test]
fn a_killed_ingest_is_finished_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_with_site(dir.path());
    let folder = dir.path().join("many");
    let total = 160;
    for i in 0..total {
        put(&folder, &format!("{}/IMG_{i:04}.jpg", i % 4), &jpeg(&photo(720, 540, i), None));
    }
    let mut child = Command::new(heritage_bin())
        .args(["-v", "--archive"])
        .arg(&archive)
        .args(["ingest", folder.to_str().unwrap(), "--site", "nha-tong-than", "--photoset", "lan-1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut stored = 0;
    for line in stderr.lines() {
        if line.unwrap().contains("stored ") {
            stored += 1;
            if stored == 10 {
                child.kill().unwrap();
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "the ingest was killed mid-way");

    let report = heritage_json(
        &archive,
        &["ingest", folder.to_str().unwrap(), "--site", "nha-tong-than", "--photoset", "lan-1"],
    );
    let recovered = report["recovered"].as_array().unwrap().len();
    let accepted = report["accepted"].as_array().unwrap().len();
    assert!(recovered >= 10, "recovered {recovered}");
    let duplicates = report["duplicates"].as_array().unwrap().len();
    assert_eq!(accepted + duplicates, total as usize);
    assert_eq!(duplicates, recovered, "what the killed run stored counts once, as recovered");
    heritage_ok(&archive, &["verify"]);

    let manifest =
        std::fs::read_to_string(archive.join("sites/nha-tong-than/photosets/lan-1/manifest-sha256.txt")).unwrap();
    let mut digests: Vec<&str> = manifest.lines().map(|l| &l[..64]).collect();
    assert_eq!(digests.len(), total as usize);
    digests.sort();
    digests.dedup();
    assert_eq!(digests.len(), total as usize, "every photo exactly once");
    let originals =
        heritage_archive::fixity::list_files(&archive.join("sites/nha-tong-than/photosets/lan-1/originals")).unwrap();
    assert_eq!(originals.len(), total as usize);
}

#[test]
fn help_teaches_more_than_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["ingest", "verify", "build", "publish", "serve", "tile", "match", "reconstruct", "synth", "demo"] {
        let short = heritage_ok(dir.path(), &[command, "-h"]);
        let long = heritage_ok(dir.path(), &[command, "--help"]);
        assert!(long.lines().count() > short.lines().count() + 3, "{command} --help adds nothing:\n{long}");
    }
}
