//! End-to-end: a synthetic photo set goes through `heritage ingest`, and
//! its EXIF comes out as written.

mod support;

use support::*;

#[test]
fn synthetic_photos_ingest_with_their_exif() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("synth");
    let json = heritage_json(
        dir.path(),
        &["synth", out.to_str().unwrap(), "--photos", "3", "--size", "720x480", "--seed", "5"],
    );
    assert_eq!(json["photos"].as_array().unwrap().len(), 3);
    let archive = archive_with_site(dir.path());
    let report = heritage_json(&archive, &["ingest", out.join("photos").to_str().unwrap(), "--site", "nha-tong-than"]);
    assert_eq!(report["accepted"].as_array().unwrap().len(), 3);
    assert!(report["warnings"].as_array().unwrap().is_empty());
    let photoset = report["photoset"].as_str().unwrap();
    let record =
        std::fs::read_to_string(archive.join("sites/nha-tong-than/photosets").join(photoset).join("photoset.toml"))
            .unwrap();
    let record: toml::Value = toml::from_str(&record).unwrap();
    let poses = colmap_poses(&std::fs::read_to_string(out.join("truth/images.txt")).unwrap());
    for photo in record["photos"].as_array().unwrap() {
        let exif = &photo["exif"];
        assert_eq!(exif["make"].as_str(), Some("Heritage"));
        assert_eq!(exif["focal_length_35mm"].as_float(), Some(26.0));
        assert_eq!(exif["orientation"].as_integer(), Some(1));
        assert!(exif["captured"].as_str().unwrap().starts_with("2026-11-20T"));
        let gps = &exif["gps"];
        let (lat, lon) = (gps["latitude"].as_float().unwrap(), gps["longitude"].as_float().unwrap());
        assert!((lat - 10.5357).abs() < 0.001 && (lon - 106.4132).abs() < 0.001, "around Tân An: {lat}, {lon}");
        // GPS agrees with the true camera centre to a few centimetres.
        let name = photo["path"].as_str().unwrap();
        let (_, centre) = poses[name];
        let north = (lat - 10.5357).to_radians() * 6_378_137.0;
        let east = (lon - 106.4132).to_radians() * 6_378_137.0 * 10.5357f64.to_radians().cos();
        assert!((north - centre[1]).abs() < 0.05 && (east - centre[0]).abs() < 0.05, "{east},{north} vs {centre:?}");
    }
}
