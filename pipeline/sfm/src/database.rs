//! A COLMAP `database.db` (SQLite, the schema of COLMAP 3.x): cameras,
//! images, keypoints, descriptors, raw matches and verified two-view
//! geometries, so a user can carry on in COLMAP (`colmap mapper`), and
//! so the build's sparse stage can read the matches stage's result.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, params};

use crate::frontend::{Camera, FrontEnd, PairMatches};
use crate::intrinsics::{FocalSource, Intrinsics};
use crate::matching::Match;
use crate::sift::{DESCRIPTOR_LEN, Features};
use crate::verify::{PairKind, TwoViewGeometry};

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

/// Reads back what [`write_front_end`] wrote: the cameras, each photo's
/// camera and the pairs (raw matches and verified geometries), photos in
/// image id order. The database keeps only whether a focal length was
/// trusted, so trusted ones come back as [`FocalSource::Exif35mm`].
pub fn read_front_end(path: &Path) -> rusqlite::Result<FrontEnd> {
    let db = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let f64s = |bytes: Vec<u8>| -> Vec<f64> {
        bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("eight bytes"))).collect()
    };
    let u32_pairs = |bytes: Vec<u8>| -> Vec<Match> {
        bytes
            .chunks_exact(8)
            .map(|c| {
                let word = |k: usize| u32::from_le_bytes(c[k..k + 4].try_into().expect("four bytes"));
                (word(0), word(4))
            })
            .collect()
    };
    let mut cameras = Vec::new();
    let mut statement =
        db.prepare("SELECT width, height, params, prior_focal_length FROM cameras ORDER BY camera_id")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let params = f64s(row.get(2)?);
        let [focal, cx, cy, ..] = params[..] else {
            return Err(rusqlite::Error::InvalidColumnType(2, "params".into(), rusqlite::types::Type::Blob));
        };
        let source = if row.get::<_, i64>(3)? != 0 { FocalSource::Exif35mm } else { FocalSource::Default };
        cameras.push(Camera {
            width: row.get(0)?,
            height: row.get(1)?,
            intrinsics: Intrinsics { focal, cx, cy, source },
        });
    }
    let camera_of: Vec<usize> = db
        .prepare("SELECT camera_id FROM images ORDER BY image_id")?
        .query_map([], |row| Ok(row.get::<_, i64>(0)? as usize - 1))?
        .collect::<rusqlite::Result<_>>()?;
    let mut geometries: HashMap<i64, TwoViewGeometry> = HashMap::new();
    let mut statement = db.prepare("SELECT pair_id, data, config, F, E, H, qvec, tvec FROM two_view_geometries")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let matrix =
            |values: Vec<f64>| -> [[f64; 3]; 3] { std::array::from_fn(|r| std::array::from_fn(|c| values[r * 3 + c])) };
        let kind = match row.get::<_, i64>(2)? {
            2 => PairKind::Calibrated,
            3 => PairKind::Uncalibrated,
            6 => PairKind::PlanarOrPanoramic,
            _ => PairKind::Degenerate,
        };
        let calibrated = kind == PairKind::Calibrated;
        let (q, t) = (f64s(row.get(6)?), f64s(row.get(7)?));
        geometries.insert(
            row.get(0)?,
            TwoViewGeometry {
                kind,
                inliers: u32_pairs(row.get(1)?),
                f: matrix(f64s(row.get(3)?)),
                e: calibrated.then(|| matrix(f64s(row.get(4).unwrap_or_default()))),
                h: matrix(f64s(row.get(5)?)),
                rotation: calibrated.then(|| [q[0], q[1], q[2], q[3]]),
                translation: calibrated.then(|| [t[0], t[1], t[2]]),
            },
        );
    }
    let mut pairs = Vec::new();
    let mut statement = db.prepare("SELECT pair_id, data FROM matches ORDER BY pair_id")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let (a, b) = ((id / MAX_IMAGE_ID) as usize - 1, (id % MAX_IMAGE_ID) as usize - 1);
        pairs.push(PairMatches { a, b, matches: u32_pairs(row.get(1)?), geometry: geometries.remove(&id) });
    }
    Ok(FrontEnd { cameras, camera_of, pairs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::PhotoInfo;
    use crate::sift::Keypoint;

    #[test]
    fn a_written_front_end_reads_back() {
        let keypoint = Keypoint { x: 1.0, y: 2.0, scale: 1.5, orientation: 0.0, response: 0.1 };
        let features = Features {
            keypoints: vec![keypoint; 4],
            descriptors: vec![7; 4 * DESCRIPTOR_LEN],
            colors: Vec::new(),
            edges: Vec::new(),
        };
        let photos: Vec<PhotoInfo> =
            (0..3).map(|i| PhotoInfo { name: format!("set/{i}.jpg"), width: 640, height: 480, exif: None }).collect();
        let geometry = TwoViewGeometry {
            kind: PairKind::Calibrated,
            inliers: vec![(0, 1), (2, 3)],
            f: [[0.0, -1.0, 2.0], [1.0, 0.0, -3.0], [-2.0, 3.0, 0.0]],
            e: Some([[0.0, -0.5, 0.0], [0.5, 0.0, -1.0], [0.0, 1.0, 0.0]]),
            h: [[1.0, 0.0, 5.0], [0.0, 1.0, -2.0], [0.0, 0.0, 1.0]],
            rotation: Some([0.9, 0.1, -0.3, 0.2]),
            translation: Some([0.6, 0.0, -0.8]),
        };
        let intrinsics = Intrinsics { focal: 700.0, cx: 320.0, cy: 240.0, source: FocalSource::Exif35mm };
        let front = FrontEnd {
            cameras: vec![
                Camera { width: 640, height: 480, intrinsics },
                Camera {
                    width: 640,
                    height: 480,
                    intrinsics: Intrinsics { source: FocalSource::Default, ..intrinsics },
                },
            ],
            camera_of: vec![0, 1, 0],
            pairs: vec![
                PairMatches { a: 0, b: 1, matches: vec![(0, 1), (2, 3), (3, 0)], geometry: Some(geometry) },
                PairMatches { a: 1, b: 2, matches: vec![(1, 1)], geometry: None },
            ],
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("database.db");
        write_front_end(&path, &photos, &vec![features; 3], &front).unwrap();
        let back = read_front_end(&path).unwrap();
        assert_eq!(back.cameras, front.cameras);
        assert_eq!(back.camera_of, front.camera_of);
        assert_eq!(back.pairs, front.pairs);
    }
}
