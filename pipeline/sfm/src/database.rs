//! A COLMAP `database.db` (SQLite, the schema of COLMAP 3.x): cameras,
//! images, keypoints, descriptors, raw matches and verified two-view
//! geometries, so a user can carry on in COLMAP (`colmap mapper`).

use std::path::Path;

use rusqlite::{Connection, params};

use crate::intrinsics::Intrinsics;
use crate::matching::Match;
use crate::sift::{DESCRIPTOR_LEN, Features};
use crate::verify::TwoViewGeometry;

/// COLMAP's tables, as its own `Database::CreateTables` makes them.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cameras (camera_id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, model INTEGER NOT NULL,
  width INTEGER NOT NULL, height INTEGER NOT NULL, params BLOB, prior_focal_length INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS images (image_id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, name TEXT NOT NULL UNIQUE,
  camera_id INTEGER NOT NULL, prior_qw REAL, prior_qx REAL, prior_qy REAL, prior_qz REAL, prior_tx REAL,
  prior_ty REAL, prior_tz REAL, CONSTRAINT image_id_check CHECK(image_id >= 0 and image_id < 2147483647),
  FOREIGN KEY(camera_id) REFERENCES cameras(camera_id));
CREATE UNIQUE INDEX IF NOT EXISTS index_name ON images(name);
CREATE TABLE IF NOT EXISTS keypoints (image_id INTEGER PRIMARY KEY NOT NULL, rows INTEGER NOT NULL,
  cols INTEGER NOT NULL, data BLOB, FOREIGN KEY(image_id) REFERENCES images(image_id) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS descriptors (image_id INTEGER PRIMARY KEY NOT NULL, rows INTEGER NOT NULL,
  cols INTEGER NOT NULL, data BLOB, FOREIGN KEY(image_id) REFERENCES images(image_id) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS matches (pair_id INTEGER PRIMARY KEY NOT NULL, rows INTEGER NOT NULL,
  cols INTEGER NOT NULL, data BLOB);
CREATE TABLE IF NOT EXISTS two_view_geometries (pair_id INTEGER PRIMARY KEY NOT NULL, rows INTEGER NOT NULL,
  cols INTEGER NOT NULL, data BLOB, config INTEGER NOT NULL, F BLOB, E BLOB, H BLOB, qvec BLOB, tvec BLOB);
";

/// COLMAP's camera model number for SIMPLE_RADIAL (f, cx, cy, k).
pub const SIMPLE_RADIAL: i64 = 2;

/// COLMAP's largest image id plus one, the base of pair ids.
const MAX_IMAGE_ID: i64 = 2_147_483_647;

/// COLMAP's id of the pair of images `a` and `b` (1-based ids).
pub fn pair_id(a: u32, b: u32) -> i64 {
    let (low, high) = (a.min(b), a.max(b));
    i64::from(low) * MAX_IMAGE_ID + i64::from(high)
}

/// Little-endian bytes of a slice of plain numbers.
fn blob<T: Copy, const N: usize>(values: impl IntoIterator<Item = T>, to_bytes: fn(T) -> [u8; N]) -> Vec<u8> {
    values.into_iter().flat_map(to_bytes).collect()
}

/// One photo for the database.
#[derive(Debug, Clone)]
pub struct DatabaseImage<'a> {
    /// File name, relative to the image folder.
    pub name: &'a str,
    /// 1-based camera id (index into the cameras given plus one).
    pub camera_id: u32,
    /// Its features.
    pub features: &'a Features,
}

/// One camera for the database.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseCamera {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The prior.
    pub intrinsics: Intrinsics,
    /// Whether the focal length is trusted (EXIF or given).
    pub prior_focal: bool,
}

/// One matched pair for the database (0-based image indices, `a < b`).
#[derive(Debug, Clone)]
pub struct DatabasePair<'a> {
    /// First image index.
    pub a: usize,
    /// Second image index.
    pub b: usize,
    /// Raw matches.
    pub matches: &'a [Match],
    /// The verified geometry, if any.
    pub geometry: Option<&'a TwoViewGeometry>,
}

/// Writes a new database at `path` (which must not exist yet).
pub fn write_database(
    path: &Path,
    cameras: &[DatabaseCamera],
    images: &[DatabaseImage],
    pairs: &[DatabasePair],
) -> rusqlite::Result<()> {
    let mut db = Connection::open(path)?;
    db.execute_batch(SCHEMA)?;
    let tx = db.transaction()?;
    for (i, camera) in cameras.iter().enumerate() {
        let k = &camera.intrinsics;
        tx.execute(
            "INSERT INTO cameras VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                i as i64 + 1,
                SIMPLE_RADIAL,
                camera.width,
                camera.height,
                blob([k.focal, k.cx, k.cy, 0.0], f64::to_le_bytes),
                camera.prior_focal as i64
            ],
        )?;
    }
    for (i, image) in images.iter().enumerate() {
        let id = i as i64 + 1;
        tx.execute(
            "INSERT INTO images (image_id, name, camera_id) VALUES (?1, ?2, ?3)",
            params![id, image.name, image.camera_id],
        )?;
        let keypoints = &image.features.keypoints;
        let data = blob(keypoints.iter().flat_map(|k| [k.x, k.y, k.scale, k.orientation]), f32::to_le_bytes);
        tx.execute("INSERT INTO keypoints VALUES (?1, ?2, 4, ?3)", params![id, keypoints.len() as i64, data])?;
        tx.execute(
            "INSERT INTO descriptors VALUES (?1, ?2, ?3, ?4)",
            params![id, keypoints.len() as i64, DESCRIPTOR_LEN as i64, image.features.descriptors],
        )?;
    }
    for pair in pairs {
        let id = pair_id(pair.a as u32 + 1, pair.b as u32 + 1);
        let data = blob(pair.matches.iter().flat_map(|&(i, j)| [i, j]), u32::to_le_bytes);
        tx.execute("INSERT INTO matches VALUES (?1, ?2, 2, ?3)", params![id, pair.matches.len() as i64, data])?;
        let Some(g) = pair.geometry else { continue };
        let matrix = |m: &[[f64; 3]; 3]| blob(m.iter().flatten().copied(), f64::to_le_bytes);
        let zeros = [[0.0; 3]; 3];
        tx.execute(
            "INSERT INTO two_view_geometries VALUES (?1, ?2, 2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id,
                g.inliers.len() as i64,
                blob(g.inliers.iter().flat_map(|&(i, j)| [i, j]), u32::to_le_bytes),
                g.kind as i64,
                matrix(&g.f),
                matrix(g.e.as_ref().unwrap_or(&zeros)),
                matrix(&g.h),
                blob(g.rotation.unwrap_or([1.0, 0.0, 0.0, 0.0]), f64::to_le_bytes),
                blob(g.translation.unwrap_or([0.0; 3]), f64::to_le_bytes),
            ],
        )?;
    }
    tx.commit()?;
    db.close().map_err(|(_, e)| e)
}

/// Writes everything the front end found about `photos` (with their
/// `features`) as a new database at `path`.
pub fn write_front_end(
    path: &Path,
    photos: &[crate::frontend::PhotoInfo],
    features: &[Features],
    front: &crate::frontend::FrontEnd,
) -> rusqlite::Result<()> {
    let cameras: Vec<DatabaseCamera> = front
        .cameras
        .iter()
        .map(|c| DatabaseCamera {
            width: c.width,
            height: c.height,
            intrinsics: c.intrinsics,
            prior_focal: crate::frontend::has_prior_focal(c),
        })
        .collect();
    let images: Vec<DatabaseImage> = photos
        .iter()
        .zip(features)
        .zip(&front.camera_of)
        .map(|((p, f), &c)| DatabaseImage { name: &p.name, camera_id: c as u32 + 1, features: f })
        .collect();
    let pairs: Vec<DatabasePair> = front
        .pairs
        .iter()
        .map(|p| DatabasePair { a: p.a, b: p.b, matches: &p.matches, geometry: p.geometry.as_ref() })
        .collect();
    write_database(path, &cameras, &images, &pairs)
}
