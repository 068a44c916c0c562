//! COLMAP text models: `cameras.txt`, `images.txt`, `points3D.txt`.

use std::fmt::Write;

/// A camera model of COLMAP.
#[derive(Debug, Clone, PartialEq)]
pub struct ColmapCamera {
    /// Camera id (from 1).
    pub id: u32,
    /// Model name: `SIMPLE_PINHOLE`, `PINHOLE`, `SIMPLE_RADIAL`, `RADIAL`...
    pub model: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Parameters in the model's order.
    pub params: Vec<f64>,
}

/// A registered image: pose (world to camera) and its observations.
#[derive(Debug, Clone, PartialEq)]
pub struct ColmapImage {
    /// Image id (from 1).
    pub id: u32,
    /// Rotation quaternion `(w, x, y, z)`.
    pub qvec: [f64; 4],
    /// Translation.
    pub tvec: [f64; 3],
    /// The camera it was taken with.
    pub camera_id: u32,
    /// File name.
    pub name: String,
    /// Observations: `(x, y, point3D id or -1)`.
    pub points: Vec<(f64, f64, i64)>,
}

/// A 3D point with its colour, error and track of `(image id, point index)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ColmapPoint {
    /// Point id.
    pub id: u64,
    /// Position.
    pub xyz: [f64; 3],
    /// sRGB colour.
    pub rgb: [u8; 3],
    /// Mean reprojection error in pixels.
    pub error: f64,
    /// Where it is observed.
    pub track: Vec<(u32, u32)>,
}

/// `cameras.txt`.
pub fn cameras_txt(cameras: &[ColmapCamera]) -> String {
    let mut s = String::from(
        "# Camera list with one line of data per camera:\n#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n",
    );
    let _ = writeln!(s, "# Number of cameras: {}", cameras.len());
    for c in cameras {
        let params: Vec<String> = c.params.iter().map(|p| format!("{p:.17}")).collect();
        let _ = writeln!(s, "{} {} {} {} {}", c.id, c.model, c.width, c.height, params.join(" "));
    }
    s
}

/// `images.txt`.
pub fn images_txt(images: &[ColmapImage]) -> String {
    let mut s = String::from(
        "# Image list with two lines of data per image:\n#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n#   POINTS2D[] as (X, Y, POINT3D_ID)\n",
    );
    let observations: usize = images.iter().map(|i| i.points.len()).sum();
    let _ = writeln!(
        s,
        "# Number of images: {}, mean observations per image: {}",
        images.len(),
        observations as f64 / images.len().max(1) as f64
    );
    for i in images {
        let [qw, qx, qy, qz] = i.qvec;
        let [tx, ty, tz] = i.tvec;
        let _ = writeln!(
            s,
            "{} {qw:.17} {qx:.17} {qy:.17} {qz:.17} {tx:.17} {ty:.17} {tz:.17} {} {}",
            i.id, i.camera_id, i.name
        );
        let points: Vec<String> = i.points.iter().map(|(x, y, id)| format!("{x:.3} {y:.3} {id}")).collect();
        let _ = writeln!(s, "{}", points.join(" "));
    }
    s
}

/// `points3D.txt`.
pub fn points3d_txt(points: &[ColmapPoint]) -> String {
    let mut s = String::from(
        "# 3D point list with one line of data per point:\n#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)\n",
    );
    let track: usize = points.iter().map(|p| p.track.len()).sum();
    let _ = writeln!(
        s,
        "# Number of points: {}, mean track length: {}",
        points.len(),
        track as f64 / points.len().max(1) as f64
    );
    for p in points {
        let [x, y, z] = p.xyz;
        let [r, g, b] = p.rgb;
        let t: Vec<String> = p.track.iter().map(|(i, k)| format!("{i} {k}")).collect();
        let _ = writeln!(s, "{} {x} {y} {z} {r} {g} {b} {} {}", p.id, p.error, t.join(" "));
    }
    s
}
