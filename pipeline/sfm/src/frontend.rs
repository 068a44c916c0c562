//! The front end of structure from motion: photos with their features go
//! in; cameras (one per make, model, size and focal length), the pairs to
//! match, raw matches and verified two-view geometries come out.

use heritage_archive::Progress;
use heritage_imaging::ExifSummary;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::consensus::Consensus;
use crate::focal::{WeightedFundamental, focal_from_pairs};
use crate::geo::geodetic_to_enu;
use crate::grid::Grid;
use crate::intrinsics::{FocalSource, Intrinsics};
use crate::matching::{Match, MatchOptions, UnitDescriptors, guided_matches, match_descriptors};
use crate::pairs::{PairOptions, select_pairs};
use crate::ransac::seed_of;
use crate::sift::Features;
use crate::sift::describe::turned;
use crate::twoview::{Point, fundamental_8point};
use crate::verify::{PairKind, TwoViewGeometry, VerifyOptions, verify_pair};

/// A photo as the front end sees it.
#[derive(Debug, Clone)]
pub struct PhotoInfo {
    /// Name (file name relative to the photo folder).
    pub name: String,
    /// Width of the display-oriented photo.
    pub width: u32,
    /// Height of the display-oriented photo.
    pub height: u32,
    /// Its EXIF, if it had any.
    pub exif: Option<ExifSummary>,
}

/// A camera shared by the photos taken with it at one setting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Camera {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The prior intrinsics.
    pub intrinsics: Intrinsics,
}

/// What photos of one camera share: make, model, width, height and focal
/// length in tenths of a pixel.
type CameraKey = (Option<String>, Option<String>, u32, u32, i64);

/// Groups photos into cameras by (make, model, size, focal length); a
/// `given` matrix (from `K.txt`) applies to every photo. Returns the
/// cameras and each photo's camera index.
pub fn group_cameras(photos: &[PhotoInfo], given: Option<&Intrinsics>) -> (Vec<Camera>, Vec<usize>) {
    let mut keys: Vec<CameraKey> = Vec::new();
    let mut cameras = Vec::new();
    let camera_of = photos
        .iter()
        .map(|photo| {
            let intrinsics = match given {
                Some(k) => *k,
                None => Intrinsics::from_exif(photo.exif.as_ref(), photo.width, photo.height),
            };
            let exif = photo.exif.as_ref();
            let key = (
                exif.and_then(|e| e.make.clone()),
                exif.and_then(|e| e.model.clone()),
                photo.width,
                photo.height,
                (intrinsics.focal * 10.0).round() as i64,
            );
            if let Some(index) = keys.iter().position(|k| *k == key) {
                return index;
            }
            keys.push(key);
            cameras.push(Camera { width: photo.width, height: photo.height, intrinsics });
            cameras.len() - 1
        })
        .collect();
    (cameras, camera_of)
}

/// The GPS fix (latitude, longitude in degrees, altitude in metres, 0 if
/// unknown) of each photo that has one.
pub fn gps_fixes(photos: &[PhotoInfo]) -> Vec<Option<(f64, f64, f64)>> {
    photos
        .iter()
        .map(|p| {
            let gps = p.exif.as_ref()?.gps.as_ref()?;
            Some((gps.latitude, gps.longitude, gps.altitude.unwrap_or(0.0)))
        })
        .collect()
}

/// Positions in local metres (east, north, up) of the photos with GPS,
/// about the first such photo.
pub fn gps_positions(photos: &[PhotoInfo]) -> Vec<Option<[f64; 3]>> {
    let fixes = gps_fixes(photos);
    let Some(origin) = fixes.iter().find_map(|f| *f) else { return vec![None; photos.len()] };
    fixes.iter().map(|f| f.map(|f| geodetic_to_enu(origin, f))).collect()
}

/// Settings of the whole front end.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrontEndOptions {
    /// Pair selection.
    pub pairs: PairOptions,
    /// Descriptor matching.
    pub matching: MatchOptions,
    /// Geometric verification and guided matching.
    pub verify: VerifyOptions,
    /// Seed of the pairs' RANSAC sampling (0 by default): runs with
    /// different seeds show how much of a result is chance.
    pub seed: u64,
}

/// The outcome for one pair of photos.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairMatches {
    /// Index of the first photo.
    pub a: usize,
    /// Index of the second photo (`a < b`).
    pub b: usize,
    /// Matches of descriptors alone.
    pub matches: Vec<Match>,
    /// The geometry, when the pair is verified.
    pub geometry: Option<TwoViewGeometry>,
}

/// Keypoint positions of some features.
pub fn points(features: &Features) -> Vec<Point> {
    features.keypoints.iter().map(|k| [f64::from(k.x), f64::from(k.y)]).collect()
}

/// One side of a pair: its camera prior, keypoint positions and unit
/// descriptors.
#[derive(Debug, Clone, Copy)]
pub struct PairSide<'a> {
    /// The camera's prior intrinsics.
    pub intrinsics: &'a Intrinsics,
    /// Keypoint positions in pixels.
    pub points: &'a [Point],
    /// Unit descriptors.
    pub descriptors: &'a UnitDescriptors,
}

impl<'a> PairSide<'a> {
    /// Photo `i`'s side: the intrinsics of its camera (of `cameras`, by
    /// `camera_of`), its keypoint positions and these `descriptors`.
    fn of(
        i: usize,
        (cameras, camera_of): (&'a [Camera], &[usize]),
        positions: &'a [Vec<Point>],
        descriptors: &'a UnitDescriptors,
    ) -> PairSide<'a> {
        PairSide { intrinsics: &cameras[camera_of[i]].intrinsics, points: &positions[i], descriptors }
    }
}

/// Cell size (pixels) of the keypoint grid for guided matching.
const GRID_CELL: f64 = 16.0;

/// Matches, verifies and (if asked) guided-matches one pair: the raw
/// matches, and the geometry if the pair is verified.
pub fn match_pair(
    first: PairSide,
    second: PairSide,
    options: &FrontEndOptions,
    seed: u64,
) -> (Vec<Match>, Option<TwoViewGeometry>) {
    let matches = match_descriptors(first.descriptors, second.descriptors, &options.matching);
    let geometry = verify_matches(&matches, first, second, options, seed);
    (matches, geometry)
}

/// Verifies and (if asked) guided-matches the raw `matches` of a pair:
/// its geometry if it is verified.
fn verify_matches(
    matches: &[Match],
    first: PairSide,
    second: PairSide,
    options: &FrontEndOptions,
    seed: u64,
) -> Option<TwoViewGeometry> {
    let geometry = verify_pair(
        (first.intrinsics, first.points),
        (second.intrinsics, second.points),
        matches,
        &options.verify,
        seed,
    );
    geometry.and_then(|g| guided(g, first, second, options))
}

/// The verified geometry with its inliers replaced by guided matches when
/// those are more; `None` when it is not verified.
fn guided(
    mut geometry: TwoViewGeometry,
    first: PairSide,
    second: PairSide,
    options: &FrontEndOptions,
) -> Option<TwoViewGeometry> {
    if geometry.is_verified() && options.verify.guided {
        let max_error = options.verify.max_error;
        let guide = geometry.guide(first.points, second.points, max_error);
        let grid = Grid::new(second.points, GRID_CELL);
        let guided = guided_matches(
            first.descriptors,
            second.descriptors,
            &options.matching,
            |i, out| guide.candidates(i, &grid, out),
            |i, j| guide.allows(i, j),
        );
        // The photo's longer side (the principal point is near its centre).
        let size = 2.0 * first.intrinsics.cx.max(first.intrinsics.cy);
        let guided = Consensus::for_size(size).filter(first.points, second.points, &geometry.inliers, guided);
        if guided.len() > geometry.inliers.len() {
            geometry.inliers = guided;
        }
    }
    geometry.inliers.sort_unstable();
    geometry.is_verified().then_some(geometry)
}

/// Everything the front end found.
#[derive(Debug, Clone)]
pub struct FrontEnd {
    /// The cameras.
    pub cameras: Vec<Camera>,
    /// Each photo's camera index.
    pub camera_of: Vec<usize>,
    /// Every pair that was matched, verified or not.
    pub pairs: Vec<PairMatches>,
}

/// Counts that tell how well a photo set matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchSummary {
    /// Photos matched.
    pub photos: usize,
    /// Cameras they were grouped into.
    pub cameras: usize,
    /// Median features per photo.
    pub median_features: usize,
    /// Pairs compared.
    pub pairs_matched: usize,
    /// Pairs with a verified geometry.
    pub pairs_verified: usize,
    /// Median inliers per verified pair.
    pub median_inliers: usize,
    /// Focal lengths (pixels) found from the pairs, one per camera without
    /// an EXIF focal length whose pairs fix it.
    pub focal_lengths_found: Vec<f64>,
    /// Cameras without an EXIF focal length whose pairs do not fix it:
    /// mapping starts them at 1.2 times the longer side.
    pub focal_lengths_guessed: usize,
}

/// Median of some counts (0 when empty).
pub(crate) fn median(mut values: Vec<usize>) -> usize {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

impl FrontEnd {
    /// The counts of this result for photos with these `features`.
    pub fn summary(&self, features: &[Features]) -> MatchSummary {
        let verified: Vec<usize> =
            self.pairs.iter().filter_map(|p| p.geometry.as_ref()).map(|g| g.inliers.len()).collect();
        MatchSummary {
            photos: features.len(),
            cameras: self.cameras.len(),
            median_features: median(features.iter().map(Features::len).collect()),
            pairs_matched: self.pairs.len(),
            pairs_verified: verified.len(),
            median_inliers: median(verified),
            focal_lengths_found: self
                .cameras
                .iter()
                .filter(|c| c.intrinsics.source == FocalSource::Pairs)
                .map(|c| c.intrinsics.focal)
                .collect(),
            focal_lengths_guessed: self.cameras.iter().filter(|c| c.intrinsics.source == FocalSource::Default).count(),
        }
    }
}

/// Selects pairs, matches and verifies them in parallel; then matches the
/// photos that no pair verified again, turned (see [`match_turned`]);
/// then gives the cameras without a prior focal length the one their
/// pairs fix, and verifies their pairs again with it (see [`crate::focal`]).
pub fn run_front_end(
    photos: &[PhotoInfo],
    features: &[Features],
    given: Option<&Intrinsics>,
    options: &FrontEndOptions,
    progress: &dyn Progress,
) -> FrontEnd {
    let (mut cameras, camera_of) = group_cameras(photos, given);
    let mut descriptors: Vec<UnitDescriptors> = features.par_iter().map(UnitDescriptors::new).collect();
    let positions: Vec<Vec<Point>> = features.iter().map(points).collect();
    let selected = select_pairs(&descriptors, &gps_positions(photos), &options.pairs);
    let seed = |a: usize, b: usize| seed_of(options.seed, (a * photos.len() + b) as u64);
    // Matches `pairs`, with `turned` in place of one photo's descriptors.
    let match_all = |pairs: &[(usize, usize)],
                     descriptors: &[UnitDescriptors],
                     turned: Option<(usize, &UnitDescriptors)>|
     -> Vec<PairMatches> {
        pairs
            .par_iter()
            .map(|&(a, b)| {
                let side = |i: usize| {
                    let descriptors = turned.filter(|&(photo, _)| photo == i).map_or(&descriptors[i], |(_, d)| d);
                    PairSide::of(i, (&cameras, &camera_of), &positions, descriptors)
                };
                let (matches, geometry) = match_pair(side(a), side(b), options, seed(a, b));
                progress.advance(1);
                PairMatches { a, b, matches, geometry }
            })
            .collect()
    };
    progress.start("matching", selected.len() as u64);
    let mut pairs = match_all(&selected, &descriptors, None);
    progress.finish();
    for photo in unverified(photos.len(), &pairs) {
        let own: Vec<(usize, usize)> = selected.iter().copied().filter(|&(a, b)| a == photo || b == photo).collect();
        progress.start("matching turned", 3 * own.len() as u64);
        let found = match_turned(&features[photo], |turned| match_all(&own, &descriptors, Some((photo, turned))));
        progress.finish();
        if let Some((turned, results)) = found {
            descriptors[photo] = turned;
            pairs.retain(|p| p.a != photo && p.b != photo);
            pairs.extend(results);
            pairs.sort_by_key(|p| (p.a, p.b));
        }
    }
    let refocused = calibrate_focals(&mut cameras, &camera_of, &pairs, &positions);
    let again = |p: &PairMatches| p.geometry.is_some() && (refocused[camera_of[p.a]] || refocused[camera_of[p.b]]);
    let count = pairs.iter().filter(|p| again(p)).count();
    if count > 0 {
        progress.start("verifying at the focal length found", count as u64);
        pairs.par_iter_mut().filter(|p| again(p)).for_each(|p| {
            let side = |i: usize| PairSide::of(i, (&cameras, &camera_of), &positions, &descriptors[i]);
            let (first, second) = (side(p.a), side(p.b));
            p.geometry = verify_matches(&p.matches, first, second, options, seed(p.a, p.b));
            progress.advance(1);
        });
        progress.finish();
    }
    FrontEnd { cameras, camera_of, pairs }
}

/// Gives each camera without a prior focal length the one that the
/// verified pairs of its photos fix (see [`focal_from_pairs`]); which
/// cameras took one.
fn calibrate_focals(
    cameras: &mut [Camera],
    camera_of: &[usize],
    pairs: &[PairMatches],
    positions: &[Vec<Point>],
) -> Vec<bool> {
    cameras
        .iter_mut()
        .enumerate()
        .map(|(c, camera)| {
            if has_prior_focal(camera) {
                return false;
            }
            let fundamentals: Vec<WeightedFundamental> = pairs
                .iter()
                .filter(|p| camera_of[p.a] == c && camera_of[p.b] == c)
                .filter_map(|p| {
                    let g = p.geometry.as_ref()?;
                    if !matches!(g.kind, PairKind::Calibrated | PairKind::Uncalibrated) {
                        return None;
                    }
                    let (x1, x2): (Vec<Point>, Vec<Point>) = g
                        .inliers
                        .iter()
                        .map(|&(i, j)| (positions[p.a][i as usize], positions[p.b][j as usize]))
                        .unzip();
                    Some(WeightedFundamental { f: fundamental_8point(&x1, &x2)?, weight: x1.len() as f64 })
                })
                .collect();
            let k = &mut camera.intrinsics;
            let long_side = f64::from(camera.width.max(camera.height));
            let Some(focal) = focal_from_pairs(&fundamentals, [k.cx, k.cy], long_side) else { return false };
            (k.focal, k.source) = (focal, FocalSource::Pairs);
            true
        })
        .collect()
}

/// Photos (of `count`) in no verified pair.
fn unverified(count: usize, pairs: &[PairMatches]) -> Vec<usize> {
    let mut verified = vec![false; count];
    for p in pairs.iter().filter(|p| p.geometry.is_some()) {
        verified[p.a] = true;
        verified[p.b] = true;
    }
    (0..count).filter(|&i| !verified[i]).collect()
}

/// A photo held turned a quarter by a phone that records no EXIF
/// orientation shows the site on its side, and its upright descriptors
/// match no other photo's. Its descriptors turned a quarter, a half and
/// three quarters are matched by `rematch`; the descriptors and pairs of
/// the turn whose verified pairs have most inliers, if any is verified.
fn match_turned(
    features: &Features,
    rematch: impl Fn(&UnitDescriptors) -> Vec<PairMatches>,
) -> Option<(UnitDescriptors, Vec<PairMatches>)> {
    (1..4)
        .map(|quarters| {
            let descriptors = (0..features.len()).flat_map(|i| turned(features.descriptor(i), quarters)).collect();
            let turned = UnitDescriptors::new(&Features { descriptors, ..Features::default() });
            let results = rematch(&turned);
            let inliers: usize = results.iter().filter_map(|p| p.geometry.as_ref()).map(|g| g.inliers.len()).sum();
            (inliers, turned, results)
        })
        .filter(|(inliers, _, _)| *inliers > 0)
        .max_by_key(|(inliers, _, _)| *inliers)
        .map(|(_, turned, results)| (turned, results))
}

/// Whether a camera's focal length came from the photo or the user.
pub fn has_prior_focal(camera: &Camera) -> bool {
    !matches!(camera.intrinsics.source, FocalSource::Default | FocalSource::Pairs)
}
