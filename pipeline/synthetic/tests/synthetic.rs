//! The synthetic site against its own ground truth.

use heritage_archive::NoProgress;
use heritage_imaging::read_exif;
use heritage_synthetic::building::site;
use heritage_synthetic::bvh::Bvh;
use heritage_synthetic::camera::Camera;
use heritage_synthetic::geo::{ORIGIN, enu_to_geodetic};
use heritage_synthetic::paths::volunteer_walk;
use heritage_synthetic::render::object_ids;
use heritage_synthetic::{SynthOptions, synthesize};

/// Points all over the visible surface, projected with the true camera,
/// are hit by the renderer's ray through that very pixel position, and
/// the rendered object mask at that pixel shows the right object.
fn check_camera(camera: &Camera) -> (usize, usize, usize) {
    let scene = site();
    let bvh = Bvh::build(&scene.triangles);
    let ids = object_ids(&scene, &bvh, camera);
    let (mut checked, mut mask_agrees, mut near_agrees) = (0, 0, 0);
    for (i, tri) in scene.triangles.iter().enumerate() {
        for (a, b) in [(1.0 / 3.0, 1.0 / 3.0), (0.1, 0.2), (0.7, 0.15), (0.2, 0.7)] {
            let p = tri.p[0] * (1.0 - a - b) + tri.p[1] * a + tri.p[2] * b;
            let Some((u, v)) = camera.project(&p) else { continue };
            if !(0.0..f64::from(camera.width)).contains(&u) || !(0.0..f64::from(camera.height)).contains(&v) {
                continue;
            }
            let ray = camera.ray(u, v);
            let distance = (p - ray.origin).norm();
            let Some(hit) = bvh.intersect(&ray, f64::INFINITY) else {
                panic!("the ray through a projected point hits nothing")
            };
            if hit.t < distance - 1e-6 * distance {
                continue; // hidden behind something else
            }
            // The ray through the projection reaches the point itself.
            let reached = ray.origin + ray.dir * hit.t;
            assert!((reached - p).norm() < 1e-6 * distance.max(1.0), "triangle {i}: {}", (reached - p).norm());
            checked += 1;
            let (px, py) = (u.floor() as i64, v.floor() as i64);
            let shows = |x: i64, y: i64| {
                (0..i64::from(camera.width)).contains(&x)
                    && (0..i64::from(camera.height)).contains(&y)
                    && ids[(y * i64::from(camera.width) + x) as usize] == Some(tri.object)
            };
            mask_agrees += usize::from(shows(px, py));
            near_agrees += usize::from((-1..=1).any(|dy| (-1..=1).any(|dx| shows(px + dx, py + dy))));
        }
    }
    (checked, mask_agrees, near_agrees)
}

#[test]
fn renderer_and_cameras_agree() {
    let mut cameras = volunteer_walk(12, 800, 533, 7);
    cameras[3].k1 = -0.06;
    cameras[3].k2 = 0.01;
    for camera in cameras.iter().step_by(3) {
        let (checked, agrees, near) = check_camera(camera);
        assert!(checked > 300, "only {checked} visible points");
        // The rendered mask shows the object at the projected pixel, except
        // for points within a pixel of an edge (many on thin columns and
        // small ornaments), and always within one pixel of it.
        assert!(agrees as f64 >= 0.85 * checked as f64, "{agrees} of {checked}");
        assert!(near as f64 >= 0.99 * checked as f64, "{near} of {checked}");
    }
}

#[test]
fn the_house_is_in_view_from_every_camera() {
    let scene = site();
    let bvh = Bvh::build(&scene.triangles);
    for camera in volunteer_walk(24, 160, 107, 1) {
        let ids = object_ids(&scene, &bvh, &camera);
        let building = ids.iter().filter(|id| matches!(id, Some(o) if *o > 1)).count();
        assert!(building * 6 > ids.len(), "the site fills at least a sixth of each photo");
        let center = camera.center();
        assert!(center.z > 1.0 && center.z < 2.5, "eye height (held low or high)");
        assert!(center.x.abs() > 7.0 || center.y.abs() > 4.5, "outside the house");
    }
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let options = SynthOptions { photos: 2, width: 160, height: 107, seed: 42, ..SynthOptions::default() };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synthesize(a.path(), &options, &NoProgress).unwrap();
    synthesize(b.path(), &options, &NoProgress).unwrap();
    for file in ["photos/IMG_0001.jpg", "photos/IMG_0002.jpg", "truth/images.txt", "truth/mesh.glb", "truth/scene.json"]
    {
        assert_eq!(std::fs::read(a.path().join(file)).unwrap(), std::fs::read(b.path().join(file)).unwrap(), "{file}");
    }
    let other = tempfile::tempdir().unwrap();
    synthesize(other.path(), &SynthOptions { seed: 43, ..options }, &NoProgress).unwrap();
    assert_ne!(
        std::fs::read(a.path().join("photos/IMG_0001.jpg")).unwrap(),
        std::fs::read(other.path().join("photos/IMG_0001.jpg")).unwrap()
    );
}

#[test]
fn truth_files_are_complete_and_readable() {
    let dir = tempfile::tempdir().unwrap();
    let options =
        SynthOptions { photos: 3, width: 200, height: 133, distortion: (-0.05, 0.01), ..SynthOptions::default() };
    let report = synthesize(dir.path(), &options, &NoProgress).unwrap();
    assert_eq!(report.photos, ["IMG_0001.jpg", "IMG_0002.jpg", "IMG_0003.jpg"]);
    let truth = dir.path().join("truth");
    let cameras = std::fs::read_to_string(truth.join("cameras.txt")).unwrap();
    let line = cameras.lines().find(|l| !l.starts_with('#')).unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&fields[..4], ["1", "RADIAL", "200", "133"]);
    assert!((fields[7].parse::<f64>().unwrap() + 0.05).abs() < 1e-12);
    let images = std::fs::read_to_string(truth.join("images.txt")).unwrap();
    let poses: Vec<&str> = images.lines().filter(|l| l.ends_with(".jpg")).collect();
    assert_eq!(poses.len(), 3);
    // Poses match the cameras of the walk.
    let walk = volunteer_walk(3, 200, 133, 1);
    let q: Vec<f64> = poses[1].split_whitespace().skip(1).take(7).map(|v| v.parse().unwrap()).collect();
    let expected = walk[1].quaternion();
    for k in 0..4 {
        assert!((q[k] - expected[k]).abs() < 1e-12);
    }
    assert!((q[4] - walk[1].translation.x).abs() < 1e-12);
    let (doc, _, _) = gltf::import(truth.join("mesh.glb")).unwrap();
    let prim = doc.meshes().next().unwrap().primitives().next().unwrap();
    let bb = prim.bounding_box();
    assert!(bb.max[1] > 7.0 && bb.max[1] < 8.0, "the ridge is about 7.3 m up, on glTF's y axis: {:?}", bb.max);
    let ply = std::fs::read(truth.join("mesh.ply")).unwrap();
    assert!(ply.starts_with(b"ply\nformat binary_little_endian 1.0\n"));
    let scene: serde_json::Value = serde_json::from_slice(&std::fs::read(truth.join("scene.json")).unwrap()).unwrap();
    assert_eq!(scene["units"], "metres");
    let diagonal = scene["extent"]["diagonal"].as_f64().unwrap();
    assert!((20.0..60.0).contains(&diagonal), "{diagonal}");
}

#[test]
fn gps_fixes_are_the_cameras_unless_given_a_phones_errors() {
    let fixes = |gps_error: f64| -> Vec<(f64, f64, f64)> {
        let dir = tempfile::tempdir().unwrap();
        let options = SynthOptions { photos: 16, width: 32, height: 21, gps_error, ..SynthOptions::default() };
        let report = synthesize(dir.path(), &options, &NoProgress).unwrap();
        report
            .photos
            .iter()
            .map(|name| {
                let bytes = std::fs::read(dir.path().join("photos").join(name)).unwrap();
                let gps = read_exif(&bytes).summary.unwrap().gps.unwrap();
                (gps.latitude, gps.longitude, gps.altitude.unwrap())
            })
            .collect()
    };
    let exact = fixes(0.0);
    for (fix, camera) in exact.iter().zip(volunteer_walk(16, 32, 21, 1)) {
        let c = camera.center();
        let (latitude, longitude, altitude) = enu_to_geodetic(ORIGIN, c.x, c.y, c.z);
        // EXIF keeps seconds of arc to 1/10000 (3 mm) and heights in millimetres.
        assert!((fix.0 - latitude).abs() < 1e-7 && (fix.1 - longitude).abs() < 1e-7, "{fix:?}");
        assert!((fix.2 - altitude).abs() < 1e-3);
    }
    // Errors of 3 m on the ground and 9 m in height, as metres from the
    // exact fixes.
    let noisy = fixes(3.0);
    let metres: Vec<[f64; 3]> = exact
        .iter()
        .zip(&noisy)
        .map(|(a, b)| {
            let east = (b.1 - a.1) * 111_320.0 * ORIGIN.0.to_radians().cos();
            [(b.0 - a.0) * 110_574.0, east, b.2 - a.2]
        })
        .collect();
    let rms = |k: usize| (metres.iter().map(|m| m[k] * m[k]).sum::<f64>() / 16.0).sqrt();
    let (north, east, up) = (rms(0), rms(1), rms(2));
    assert!((1.5..5.0).contains(&north) && (1.5..5.0).contains(&east), "{north} {east}");
    assert!((4.5..15.0).contains(&up), "{up}");
}

/// A photo held turned is the upright photo turned: a portrait file (with
/// no orientation tag), its true camera a second COLMAP camera, its
/// pixels the upright render's turned clockwise; the others unchanged.
#[test]
fn a_photo_held_turned_is_the_upright_one_turned() {
    let options = SynthOptions { photos: 2, width: 160, height: 107, noise: 0.0, ..SynthOptions::default() };
    let (upright, turned) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synthesize(upright.path(), &options, &NoProgress).unwrap();
    synthesize(turned.path(), &SynthOptions { turned: 1, ..options }, &NoProgress).unwrap();
    let bytes = |dir: &tempfile::TempDir, file: &str| std::fs::read(dir.path().join(file)).unwrap();
    assert_eq!(bytes(&upright, "photos/IMG_0001.jpg"), bytes(&turned, "photos/IMG_0001.jpg"));
    let load = |dir: &tempfile::TempDir| image::load_from_memory(&bytes(dir, "photos/IMG_0002.jpg")).unwrap().to_rgb8();
    let (expected, actual) = (image::imageops::rotate90(&load(&upright)), load(&turned));
    assert_eq!(actual.dimensions(), (107, 160));
    let exif = read_exif(&bytes(&turned, "photos/IMG_0002.jpg")).summary.unwrap();
    assert_eq!((exif.orientation, exif.pixel_width, exif.pixel_height), (1, Some(107), Some(160)));
    let difference: f64 = expected.as_raw().iter().zip(actual.as_raw()).map(|(&a, &b)| f64::from(a.abs_diff(b))).sum();
    let mean = difference / actual.as_raw().len() as f64;
    // The anti-aliasing rays are jittered by pixel position, so the two
    // renders differ by sampling noise (about 7 levels at this size); the
    // other turn differs by about 70.
    assert!(mean < 10.0, "mean difference {mean} levels");
    let cameras = String::from_utf8(bytes(&turned, "truth/cameras.txt")).unwrap();
    let cameras: Vec<&str> = cameras.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(cameras.len() == 2 && cameras[1].starts_with("2 RADIAL 107 160 "), "{cameras:?}");
    let images = String::from_utf8(bytes(&turned, "truth/images.txt")).unwrap();
    let camera_of = |name: &str| images.lines().find(|l| l.ends_with(name)).unwrap().split_whitespace().nth(8).unwrap();
    assert_eq!((camera_of("IMG_0001.jpg"), camera_of("IMG_0002.jpg")), ("1", "2"));
}
