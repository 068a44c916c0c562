//! `heritage reconstruct` end to end on the synthetic sites: every photo
//! registered, cameras within 0.1 degree (the lane: 0.15) and 0.2 % of
//! the scene of the truth, the model in east-north-up metres by GPS (level
//! although the lane's fixes are a phone's), and every file of the model
//! folder readable; narrower vector instructions match the same; any
//! number of threads gives the same model; photos described at any
//! rotation place as well; files that are no readable photo are reported
//! with why.

mod support;

use heritage_sfm::similarity::umeyama;
use nalgebra::{Matrix3, Vector3};
use support::*;

/// Photos and size of the set: the demo's, a volunteer's walk whose
/// ring is sparse at the building's corners (COLMAP registers all of
/// it), small enough for CI.
const PHOTOS: &str = "24";
const SIZE: &str = "1600x1067";

/// Angle in degrees between two rotations given as rows.
fn angle_between(a: &Matrix3<f64>, b: &Matrix3<f64>) -> f64 {
    (((a.transpose() * b).trace() - 1.0) / 2.0).clamp(-1.0, 1.0).acos().to_degrees()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// How far a model's cameras lie from the truth once aligned to it.
struct Errors {
    /// Scale of the similarity from the model to the truth.
    scale: f64,
    /// Its rotation, in degrees.
    turn: f64,
    /// How far that rotation tilts the vertical, in degrees.
    tilt: f64,
    /// Median rotation error, degrees.
    rotation: f64,
    /// Median centre error, metres.
    centre: f64,
    /// Largest distance between two true camera centres, metres.
    extent: f64,
}

/// Compares the COLMAP text model in `model` with the truth in `truth`;
/// both must have the same `n` photos.
fn errors_against_truth(model: &std::path::Path, truth: &std::path::Path, n: usize) -> Errors {
    let found = colmap_poses(&std::fs::read_to_string(model.join("images.txt")).unwrap());
    let truth = colmap_poses(&std::fs::read_to_string(truth.join("images.txt")).unwrap());
    assert_eq!(found.len(), n);
    let centres = |poses: &std::collections::BTreeMap<String, Pose>| -> Vec<Vector3<f64>> {
        poses.values().map(|(_, c)| Vector3::from(*c)).collect()
    };
    let (a, b) = (centres(&found), centres(&truth));
    let s = umeyama(&a, &b).unwrap();
    let rows = |r: &[[f64; 3]; 3]| Matrix3::from_fn(|i, j| r[i][j]);
    let mut rotation_errors = Vec::new();
    let mut centre_errors = Vec::new();
    for (((name, (r, _)), ca), cb) in found.iter().zip(&a).zip(&b) {
        assert_eq!(name, truth.keys().nth(rotation_errors.len()).unwrap());
        let aligned = rows(r) * s.rotation.matrix().transpose();
        rotation_errors.push(angle_between(&aligned, &rows(&truth[name].0)));
        centre_errors.push((s.apply(ca) - cb).norm());
    }
    let extent = b.iter().map(|p| b.iter().map(|q| (p - q).norm()).fold(0.0, f64::max)).fold(0.0, f64::max);
    let errors = Errors {
        scale: s.scale,
        turn: angle_between(s.rotation.matrix(), &Matrix3::identity()),
        tilt: (s.rotation * Vector3::z()).z.clamp(-1.0, 1.0).acos().to_degrees(),
        rotation: median(rotation_errors),
        centre: median(centre_errors),
        extent,
    };
    eprintln!(
        "median rotation error {:.4} deg, centre error {:.4} m of {:.1} m; scale {:.4}, turn {:.3} deg, tilt {:.4} deg",
        errors.rotation, errors.centre, extent, errors.scale, errors.turn, errors.tilt
    );
    errors
}

#[test]
fn the_synthetic_site_reconstructs_to_its_truth() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    heritage_json(dir.path(), &["synth", set.to_str().unwrap(), "--photos", PHOTOS, "--size", SIZE, "--seed", "11"]);
    let out = dir.path().join("out");
    let report =
        heritage_json(dir.path(), &["reconstruct", set.join("photos").to_str().unwrap(), out.to_str().unwrap()]);
    let n: usize = PHOTOS.parse().unwrap();
    assert_eq!(report["registered"], n, "{report:#}");
    // One model: the ring's sparse corners bridged, not split apart.
    assert_eq!(report["models"].as_array().unwrap().len(), 1, "{report:#}");
    assert_eq!(report["frame"]["kind"], "east_north_up");
    assert!(report["frame"]["rms_error"].as_f64().unwrap() < 0.1, "{}", report["frame"]);
    // The house's corners and window sides refined up.
    assert!(report["frame"]["vertical_edges"].as_u64().unwrap() > 0, "{}", report["frame"]);

    let model = out.join("model");
    let errors = errors_against_truth(&model.join("sparse/0"), &set.join("truth"), n);
    // GPS already put the model in metres, north up: the alignment left
    // is a shift (the GPS origin), not a turn or a scaling.
    assert!((errors.scale - 1.0).abs() < 0.01, "scale {}", errors.scale);
    assert!(errors.turn < 0.5, "turn {}", errors.turn);
    // Up from the photos and the house's vertical edges (measured 0.05°).
    assert!(errors.tilt < 0.15, "tilted {} deg", errors.tilt);
    assert!(errors.rotation < 0.1, "rotation error {} deg", errors.rotation);
    assert!(errors.centre < 0.002 * errors.extent, "centre error {} m of {} m", errors.centre, errors.extent);

    // The other files: PLY header, glTF that the gltf crate reads, the tour, the report.
    let ply = std::fs::read(model.join("points.ply")).unwrap();
    assert!(ply.starts_with(b"ply\nformat binary_little_endian 1.0\n"));
    let (document, _, _) = gltf::import(model.join("model.glb")).unwrap();
    let modes: Vec<_> = document.meshes().flat_map(|m| m.primitives().map(|p| p.mode())).collect();
    assert_eq!(modes, [gltf::mesh::Mode::Points, gltf::mesh::Mode::Lines]);
    let tour: serde_json::Value = serde_json::from_slice(&std::fs::read(model.join("tour.json")).unwrap()).unwrap();
    assert_eq!(tour["photos"].as_array().unwrap().len(), n);
    // The tour's arrows lead somewhere from every photo.
    let listed = |p: &serde_json::Value, side: &str| !p[side].as_array().unwrap().is_empty();
    assert!(tour["photos"].as_array().unwrap().iter().all(|p| listed(p, "left") || listed(p, "right")));
    let text = std::fs::read_to_string(model.join("coverage.txt")).unwrap();
    assert!(text.starts_with(&format!("Đã dựng {n} / {n} ảnh")), "{text}");
    // Every camera lies where its (exact) GPS fix says: no photo is named
    // as astray.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("coverage.json")).unwrap()).unwrap();
    for photo in report["photos"].as_array().unwrap() {
        let offset = photo["gps_offset"].as_f64().unwrap();
        assert!(offset < 0.5, "{} is {offset} m from its fix", photo["name"]);
    }
    assert!(!text.contains("GPS fix"), "{text}");
}

/// The other synthetic site, a lane along a rock garden walked sideways
/// (the scaling benchmark's site that grows with its photos), its GPS
/// fixes off as a phone's are: one model of every photo, as close to the
/// truth, and level although the fixes' heights are metres off and the
/// lane nearly straight.
#[test]
fn the_garden_lane_reconstructs_to_its_truth() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    let args = [
        "synth",
        set.to_str().unwrap(),
        "--layout",
        "garden",
        "--photos",
        "40",
        "--size",
        "640x427",
        "--gps-error",
        "3",
    ];
    heritage_json(dir.path(), &args);
    let out = dir.path().join("out");
    let report =
        heritage_json(dir.path(), &["reconstruct", set.join("photos").to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(report["registered"], 40, "{report:#}");
    assert_eq!(report["models"].as_array().unwrap().len(), 1, "{report:#}");
    assert_eq!(report["frame"]["kind"], "east_north_up");
    let errors = errors_against_truth(&out.join("model/sparse/0"), &set.join("truth"), 40);
    assert!(errors.rotation < 0.15, "rotation error {} deg", errors.rotation);
    assert!(errors.centre < 0.002 * errors.extent, "centre error {} m of {} m", errors.centre, errors.extent);
    // Up comes from the photos; the fixes set heading and scale to within
    // twice the standard error the report says they allow (6 %, 3.6°).
    assert!(errors.tilt < 0.3, "tilted {} deg", errors.tilt);
    let allowed = 2.0 * report["frame"]["scale_error"].as_f64().unwrap();
    assert!(allowed < 0.15, "{}", report["frame"]);
    assert!((errors.scale - 1.0).abs() < allowed && errors.turn.to_radians() < allowed, "{}", report["frame"]);
}

/// The photos folder of a synthetic set of `count` photos at 640x427 in `dir`.
fn small_synthetic_set(dir: &std::path::Path, count: &str) -> std::path::PathBuf {
    let set = dir.join("set");
    heritage_json(dir, &["synth", set.to_str().unwrap(), "--photos", count, "--size", "640x427"]);
    set.join("photos")
}

/// `HERITAGE_SIMD` keeps the features and products to narrower vector
/// instructions with the same results: the same database byte for byte;
/// a value that names no level is refused before any work.
#[test]
fn narrower_vector_instructions_find_the_same_matches() {
    let dir = tempfile::tempdir().unwrap();
    let photos = small_synthetic_set(dir.path(), "4");
    let database = |level: Option<&str>| {
        let out = dir.path().join(format!("out-{}", level.unwrap_or("widest")));
        let mut command = std::process::Command::new(heritage_bin());
        command.args(["match", photos.to_str().unwrap(), out.to_str().unwrap(), "--max-features", "1500"]);
        match level {
            Some(level) => command.env("HERITAGE_SIMD", level),
            None => command.env_remove("HERITAGE_SIMD"),
        };
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        std::fs::read(out.join("database.db")).unwrap()
    };
    let widest = database(None);
    for level in ["avx512", "avx2", "none"] {
        assert!(database(Some(level)) == widest, "HERITAGE_SIMD={level} changed the database");
    }
    let refused = std::process::Command::new(heritage_bin())
        .args(["match", photos.to_str().unwrap(), dir.path().join("never").to_str().unwrap()])
        .env("HERITAGE_SIMD", "sse9")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("use amx, avx512, avx2 or none"));
    assert!(!dir.path().join("never").exists());
}

/// The same photos give the same model, byte for byte, on one thread as
/// on three: the parallel sums are grouped the same way whatever the
/// threads, so a rebuilt stage and an archived model can be compared;
/// likewise with another `--seed` for RANSAC's samples.
#[test]
fn the_same_photos_give_the_same_model_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    let photos = small_synthetic_set(dir.path(), "6");
    let model = |threads: &str, seed: &str| {
        let out = dir.path().join(format!("out-{threads}-{seed}"));
        let output = std::process::Command::new(heritage_bin())
            .args(["reconstruct", photos.to_str().unwrap(), out.to_str().unwrap(), "--seed", seed])
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        [
            "sparse/0/cameras.txt",
            "sparse/0/images.txt",
            "sparse/0/points3D.txt",
            "model.glb",
            "tour.json",
            "coverage.json",
        ]
        .map(|file| std::fs::read(out.join("model").join(file)).unwrap())
    };
    for seed in ["0", "5"] {
        let one = model("1", seed);
        assert!(one[1].len() > 1000, "a model of six photos");
        assert!(model("3", seed) == one, "three threads changed the model of seed {seed}");
    }
}

/// `--any-rotation` (keypoints described at their dominant orientations,
/// for photos held at every angle) places as many photos as upright
/// features do: of six photos round the house, 60 degrees apart, three
/// (measured with the features of either kind, and before they were
/// adapted).
#[test]
fn photos_described_at_any_rotation_reconstruct() {
    let dir = tempfile::tempdir().unwrap();
    let photos = small_synthetic_set(dir.path(), "6");
    let placed = |extra: &[&str]| {
        let out = dir.path().join(format!("out{}", extra.len()));
        let args = [&["reconstruct", photos.to_str().unwrap(), out.to_str().unwrap()], extra].concat();
        let report = heritage_json(dir.path(), &args);
        assert_eq!(report["models"].as_array().unwrap().len(), 1, "{report:#}");
        report["registered"].as_u64().unwrap()
    };
    let upright = placed(&[]);
    assert!(upright >= 3, "{upright} photos placed");
    assert_eq!(placed(&["--any-rotation"]), upright);
}

/// Files of a volunteer's folder that are not readable photos (a phone's
/// HEIC, a truncated copy, a text file named .jpg) are left out with
/// why, on the terminal, in the JSON and in coverage.txt; other files
/// (notes, sidecars) are passed over; a photo with nothing to match (the
/// lens cap left on) is told so; too few photos is an error that says
/// what is needed.
#[test]
fn unreadable_files_are_reported_and_the_rest_reconstructs() {
    let dir = tempfile::tempdir().unwrap();
    let photos = small_synthetic_set(dir.path(), "6");
    let first = std::fs::read(photos.join("IMG_0001.jpg")).unwrap();
    put(&photos, "cut.jpg", &first[..first.len() / 3]);
    put(&photos, "notes.jpg", b"bring the tripod");
    put(&photos, "IMG_0100.HEIC", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic");
    put(&photos, "readme.txt", b"photos of the east wing");
    image::RgbImage::from_pixel(640, 427, image::Rgb([3, 3, 4])).save(photos.join("lens-cap.jpg")).unwrap();
    let out = dir.path().join("out");
    let report = heritage_json(dir.path(), &["reconstruct", photos.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(report["photos_total"], 7, "{report:#}");
    let lens_cap = report["photos"].as_array().unwrap().iter().find(|p| p["name"] == "lens-cap.jpg").unwrap();
    assert_eq!((&lens_cap["reason"], &lens_cap["features"]), (&"too_few_features".into(), &0.into()), "{lens_cap}");
    let unreadable: Vec<&str> = report["unreadable"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(unreadable.len(), 3, "{unreadable:?}");
    assert!(
        unreadable[0].starts_with("cannot decode IMG_0100.HEIC: HEIC") && unreadable[0].contains("convert it to JPEG")
    );
    assert!(unreadable[1].starts_with("cannot decode cut.jpg: the file is truncated"));
    assert!(unreadable[2].starts_with("cannot decode notes.jpg: this is not an image"));
    let text = std::fs::read_to_string(out.join("model/coverage.txt")).unwrap();
    assert!(text.contains("files that could not be read") && text.contains("notes.jpg"), "{text}");
    assert!(text.contains("only 0 features (the others about") && text.contains("reshoot it sharp"), "{text}");
    assert!(!text.contains("readme.txt"), "{text}");

    let lone = dir.path().join("lone");
    put(&lone, "IMG_0001.jpg", &first);
    let refused =
        heritage(dir.path(), &["reconstruct", lone.to_str().unwrap(), dir.path().join("x").to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("holds 1 photo file(s): matching needs at least two"));
}
