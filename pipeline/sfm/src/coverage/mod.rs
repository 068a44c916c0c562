//! The coverage report a volunteer reads after a reconstruction: which
//! photos joined a model and why the others did not, how well the model
//! fits, and where it is seen by too few photos to be trusted, so they
//! know what to reshoot while they can still go back.

mod text;
mod weak;

use nalgebra::{Rotation3, Vector3};
use serde::Serialize;

use crate::absolute::Pose;
use crate::frontend::{PairMatches, PhotoInfo, median};
use crate::mapper::{Reconstruction, reprojection_error};
use crate::twoview::Point;
use crate::upright::{UP_DOUBT_DEG, camera_line, camera_plane, camera_plane_across};
use weak::weak_areas;

/// Fewest photos that must see a point for it to count as well covered.
pub const WELL_SEEN: usize = 3;
/// A photo whose rows lean more than this (degrees) from level was turned
/// about a quarter: held upright without an EXIF orientation tag.
const TURNED_DEG: f64 = 45.0;
/// A photo in no model with under a quarter of the median features of the
/// photos in a model (of all photos, when none is) shows too little
/// detail to match; with under a quarter of their median pixels as well,
/// it is a reduced copy.
const FAR_BELOW: usize = 4;

/// Why a photo did not join any model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotRegistered {
    /// It shows too little detail to match: far fewer features than the
    /// photos in a model have (blurred, dark, burnt out, a plain surface,
    /// or a copy made smaller).
    TooFewFeatures {
        /// Features found in it.
        features: usize,
        /// The median over the photos in a model (over all photos, when
        /// none is).
        typical: usize,
        /// Its width and height, when it is much smaller than those
        /// photos (a copy reduced for sending, not the original).
        reduced: Option<[u32; 2]>,
    },
    /// No other photo shares enough verified matches with it.
    TooFewMatches {
        /// Most verified inliers it shares with any photo.
        best_inliers: usize,
    },
    /// It matches other photos, but no model could be built from any of
    /// the photos (none holds three or more of them).
    NoModel {
        /// The photos it matches.
        partners: Vec<String>,
    },
    /// It matches only photos that are not in a model either.
    MatchesOnlyUnregistered {
        /// The photos it matches.
        partners: Vec<String>,
    },
    /// It matches registered photos, but no pose fits its matches.
    DegenerateGeometry,
}

impl NotRegistered {
    /// What to do about it, in Vietnamese then English.
    pub fn advice(&self) -> [String; 2] {
        match self {
            NotRegistered::TooFewFeatures { features, typical, reduced: Some([width, height]) } => [
                format!(
                    "ảnh chỉ {width} x {height} px, nhỏ hơn nhiều so với các ảnh khác, nên chỉ có {features} điểm đặc trưng (các ảnh khác khoảng {typical}): nộp ảnh gốc từ máy ảnh hay điện thoại, không phải bản đã thu nhỏ để gửi"
                ),
                format!(
                    "the photo is only {width} x {height} px, much smaller than the others, so it has only {features} features (the others about {typical}): hand in the original from the camera or phone, not a copy reduced for sending"
                ),
            ],
            NotRegistered::TooFewFeatures { features, typical, reduced: None } => [
                format!(
                    "ảnh chỉ có {features} điểm đặc trưng (các ảnh khác khoảng {typical}): ảnh bị nhòe, quá tối hay cháy sáng, hoặc chỉ có mặt phẳng trơn; chụp lại rõ nét, đủ sáng, có chi tiết của di tích trong khung"
                ),
                format!(
                    "only {features} features (the others about {typical}): the photo is blurred, too dark or burnt out, or shows only a plain surface; reshoot it sharp and well lit, with detail of the site in frame"
                ),
            ],
            NotRegistered::TooFewMatches { best_inliers } => [
                format!(
                    "quá ít điểm khớp với ảnh khác (nhiều nhất {best_inliers}): chụp lại với phần chồng lên ảnh bên cạnh khoảng 60 %, tránh nhòe và ngược sáng"
                ),
                format!(
                    "too few matches with any other photo (best {best_inliers}): reshoot with about 60 % overlap with its neighbours, avoiding blur and backlight"
                ),
            ],
            NotRegistered::NoModel { partners } => [
                format!(
                    "khớp với {} nhưng không dựng được mô hình nào từ các ảnh: chụp thêm ảnh ở giữa, mỗi ảnh cách ảnh trước vài bước để hai ảnh cạnh nhau chung phần lớn khung hình",
                    partners.join(", ")
                ),
                format!(
                    "matches {} but no model could be built from the photos: take more in between, each a few steps from the last, so that neighbours share most of the frame",
                    partners.join(", ")
                ),
            ],
            NotRegistered::MatchesOnlyUnregistered { partners } => [
                format!(
                    "chỉ khớp với các ảnh cũng không vào mô hình ({}): thêm ảnh nối nhóm này với phần còn lại",
                    partners.join(", ")
                ),
                format!(
                    "matches only photos that are not in a model either ({}): add photos that link this group to the rest",
                    partners.join(", ")
                ),
            ],
            NotRegistered::DegenerateGeometry => [
                "khớp với ảnh đã dựng nhưng không xác định được vị trí máy ảnh: chụp lại từ chỗ lệch sang bên, đừng chỉ xoay máy tại chỗ".into(),
                "matches registered photos but no camera pose fits: reshoot from a position moved sideways, not just turned on the spot".into(),
            ],
        }
    }
}

/// One photo in the report.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoCoverage {
    /// Name of the photo.
    pub name: String,
    /// Index of the model it joined.
    pub model: Option<usize>,
    /// Points of the model it sees.
    pub points: usize,
    /// Mean reprojection error of those observations (pixels).
    pub mean_error: Option<f64>,
    /// How far (metres) the first model, in east-north-up metres, puts
    /// the photo from its GPS fix.
    pub gps_offset: Option<f64>,
    /// How far (degrees) the photo's rows lean from level in its model,
    /// positive when they rise to the right: about ±90 for a photo
    /// turned a quarter without an EXIF orientation tag.
    pub roll: Option<f64>,
    /// Degrees clockwise it must be turned to show upright: -90 or 90
    /// when the report names it as turned a quarter, else 0.
    pub turn: i32,
    /// Why it joined no model.
    #[serde(flatten)]
    pub not_registered: Option<NotRegistered>,
}

impl PhotoCoverage {
    /// The quarter turn (90 or -90 degrees, as its roll) of a photo whose
    /// rows lean more than `TURNED_DEG` from level.
    fn turned_by(&self) -> Option<i32> {
        let roll = self.roll.filter(|r| r.abs() > TURNED_DEG)?;
        Some(if roll > 0.0 { 90 } else { -90 })
    }
}

/// One model in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ModelCoverage {
    /// Registered photos.
    pub photos: usize,
    /// Points.
    pub points: usize,
    /// Mean reprojection error over all observations (pixels).
    pub mean_error: f64,
    /// Mean number of photos that see a point.
    pub mean_track_length: f64,
    /// Points seen by 2, 3, 4, 5 and 6 or more photos.
    pub track_lengths: [usize; 5],
    /// Share of points seen by fewer than three photos.
    pub weak_share: f64,
    /// For a model past the first, where it comes nearest to a larger
    /// one; `None` if no verified pair joins them.
    pub meets: Option<Meeting>,
}

/// Where a smaller model comes nearest to a larger one: the two photos,
/// one in each, that share most verified matches (the mapper could not
/// join the models there), so the place to add photos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meeting {
    /// The larger model.
    pub model: usize,
    /// The smaller model's photo.
    pub photo: String,
    /// The larger model's photo.
    pub other: String,
    /// Verified matches the two share.
    pub matches: usize,
}

/// Where model `m` comes nearest to a larger model (one before it).
fn meeting(m: usize, names: &[String], model_of: &[Option<usize>], pairs: &[PairMatches]) -> Option<Meeting> {
    pairs
        .iter()
        .filter_map(|p| {
            let matches = p.geometry.as_ref()?.inliers.len();
            let (photo, other) = match (model_of[p.a], model_of[p.b]) {
                (Some(a), Some(b)) if a == m && b < m => (p.a, p.b),
                (Some(a), Some(b)) if b == m && a < m => (p.b, p.a),
                _ => return None,
            };
            Some((matches, photo, other))
        })
        .max()
        .map(|(matches, photo, other)| Meeting {
            model: model_of[other].expect("in a model"),
            photo: names[photo].clone(),
            other: names[other].clone(),
            matches,
        })
}

/// A part of the largest model seen by too few photos.
#[derive(Debug, Clone, Serialize)]
pub struct WeakArea {
    /// Centre of the area in the model frame.
    pub centre: [f64; 3],
    /// Compass direction from the model's centre, when the model is in
    /// east-north-up metres.
    pub direction: Option<&'static str>,
    /// Points in the area.
    pub points: usize,
    /// Share of them seen by fewer than three photos.
    pub weak_share: f64,
    /// The photos that see most of its weakly seen points, most first:
    /// more photos of the area are wanted from beside where these stood.
    pub seen_by: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Photos in the set.
    pub photos_total: usize,
    /// Photos in some model.
    pub registered: usize,
    /// The models, largest first.
    pub models: Vec<ModelCoverage>,
    /// Every photo.
    pub photos: Vec<PhotoCoverage>,
    /// Weak parts of the largest model, worst first.
    pub weak_areas: Vec<WeakArea>,
    /// How far (degrees) the plane the largest model's cameras stand on
    /// leans from level, when they spread over a plane (a walk around or
    /// along a site, a drone's passes) rather than along a line.
    pub camera_plane_tilt: Option<f64>,
    /// How far (degrees) the line the largest model's cameras stand along
    /// rises from level, when they spread along a line rather than over a
    /// plane.
    pub camera_line_rise: Option<f64>,
    /// How far (degrees) the plane the largest model's cameras spread
    /// over leans from plumb, when they look across it (a facade
    /// photographed row by row, a drone's passes looking down).
    pub camera_wall_lean: Option<f64>,
    /// Files of the folder that could not be read as photos, each with
    /// why: set by whoever read the folder (an ingested set has none).
    pub unreadable: Vec<String>,
}

/// Why photo `i`, in no model, did not register, if it shows far less
/// detail than the `typical` photos (given the `features` and `sizes` of
/// each).
fn too_few_features(i: usize, typical: &[usize], features: &[usize], sizes: &[[u32; 2]]) -> Option<NotRegistered> {
    let typical_features = median(typical.iter().map(|&j| features[j]).collect());
    (features[i] * FAR_BELOW < typical_features).then(|| {
        let pixels = |[width, height]: [u32; 2]| width as usize * height as usize;
        let typical_pixels = median(typical.iter().map(|&j| pixels(sizes[j])).collect());
        let reduced = (pixels(sizes[i]) * FAR_BELOW < typical_pixels).then_some(sizes[i]);
        NotRegistered::TooFewFeatures { features: features[i], typical: typical_features, reduced }
    })
}

/// Why photo `i`, in no model, did not register, given that it shows as
/// much detail as the others.
fn reason(i: usize, names: &[String], model_of: &[Option<usize>], pairs: &[PairMatches]) -> NotRegistered {
    let verified: Vec<(usize, usize)> = pairs
        .iter()
        .filter_map(|p| {
            let g = p.geometry.as_ref()?;
            let other = if p.a == i {
                p.b
            } else if p.b == i {
                p.a
            } else {
                return None;
            };
            Some((other, g.inliers.len()))
        })
        .collect();
    if verified.is_empty() {
        let best_inliers = pairs
            .iter()
            .filter(|p| p.a == i || p.b == i)
            .map(|p| p.geometry.as_ref().map_or(0, |g| g.inliers.len()))
            .max()
            .unwrap_or(0);
        return NotRegistered::TooFewMatches { best_inliers };
    }
    let partners = || verified.iter().map(|&(other, _)| names[other].clone()).collect();
    if model_of.iter().all(Option::is_none) {
        return NotRegistered::NoModel { partners: partners() };
    }
    if verified.iter().all(|&(other, _)| model_of[other].is_none()) {
        return NotRegistered::MatchesOnlyUnregistered { partners: partners() };
    }
    NotRegistered::DegenerateGeometry
}

/// How far (degrees) the rows of a photo with world-to-camera `rotation`
/// lean from level (the models are z up), positive when they rise to the
/// right.
fn roll(rotation: &Rotation3<f64>) -> f64 {
    let rows = rotation.transpose() * Vector3::x();
    rows.z.clamp(-1.0, 1.0).asin().to_degrees()
}

/// How far (degrees) the plane `model`'s cameras stand on leans from level
/// (the models are z up), if they spread over one and look along it
/// ([`camera_plane`]).
fn camera_plane_tilt(model: &Reconstruction) -> Option<f64> {
    let poses: Vec<&Pose> = model.poses.iter().flatten().collect();
    camera_plane(&poses).map(|normal| normal.z.abs().clamp(0.0, 1.0).acos().to_degrees())
}

/// How far (degrees) the plane `model`'s cameras spread over leans from
/// plumb (the models are z up), if they look across it
/// ([`camera_plane_across`]).
fn camera_wall_lean(model: &Reconstruction) -> Option<f64> {
    let poses: Vec<&Pose> = model.poses.iter().flatten().collect();
    camera_plane_across(&poses).map(|normal| normal.z.abs().clamp(0.0, 1.0).asin().to_degrees())
}

/// How far (degrees) the line `model`'s cameras stand along rises from
/// level (the models are z up), if they spread along one ([`camera_line`]).
fn camera_line_rise(model: &Reconstruction) -> Option<f64> {
    let poses: Vec<&Pose> = model.poses.iter().flatten().collect();
    camera_line(&poses).map(|direction| direction.z.abs().clamp(0.0, 1.0).asin().to_degrees())
}

/// The report for `photos` (with their `keypoints`), the verified `pairs`
/// and the `models` found (largest first). `gps_offsets` are the photos'
/// distances from their GPS fixes when the first model is in geographic
/// metres (all `None` when it is not).
pub fn coverage(
    photos: &[PhotoInfo],
    keypoints: &[Vec<Point>],
    camera_of: &[usize],
    pairs: &[PairMatches],
    models: &[Reconstruction],
    gps_offsets: &[Option<f64>],
) -> Coverage {
    let east_north_up = gps_offsets.iter().any(Option::is_some);
    let names: Vec<String> = photos.iter().map(|p| p.name.clone()).collect();
    let features: Vec<usize> = keypoints.iter().map(Vec::len).collect();
    let sizes: Vec<[u32; 2]> = photos.iter().map(|p| [p.width, p.height]).collect();
    let mut model_of = vec![None; names.len()];
    for (m, model) in models.iter().enumerate() {
        for (i, pose) in model.poses.iter().enumerate() {
            if pose.is_some() {
                model_of[i] = Some(m);
            }
        }
    }
    // Error sums and counts per photo, and per model.
    let mut per_photo = vec![(0.0, 0usize); names.len()];
    let mut summaries = Vec::new();
    for (m, model) in models.iter().enumerate() {
        let mut lengths = [0usize; 5];
        let (mut sum, mut count) = (0.0, 0usize);
        for point in &model.points {
            lengths[point.observations.len().clamp(2, 6) - 2] += 1;
            for &(photo, feature) in &point.observations {
                let i = photo as usize;
                let pose = model.poses[i].as_ref().expect("observations are of registered photos");
                let camera = &model.cameras[camera_of[i]];
                let error = reprojection_error(camera, pose, &point.position, &keypoints[i][feature as usize]);
                per_photo[i].0 += error;
                per_photo[i].1 += 1;
                sum += error;
                count += 1;
            }
        }
        let points = model.points.len();
        summaries.push(ModelCoverage {
            photos: model.poses.iter().flatten().count(),
            points,
            mean_error: sum / count.max(1) as f64,
            mean_track_length: count as f64 / points.max(1) as f64,
            track_lengths: lengths,
            weak_share: lengths[0] as f64 / points.max(1) as f64,
            meets: if m > 0 { meeting(m, &names, &model_of, pairs) } else { None },
        });
    }
    let registered: Vec<usize> = (0..names.len()).filter(|&i| model_of[i].is_some()).collect();
    let typical: Vec<usize> = if registered.is_empty() { (0..names.len()).collect() } else { registered };
    let why =
        |i| too_few_features(i, &typical, &features, &sizes).unwrap_or_else(|| reason(i, &names, &model_of, pairs));
    let photo_reports = (0..names.len())
        .map(|i| PhotoCoverage {
            name: names[i].clone(),
            model: model_of[i],
            points: per_photo[i].1,
            mean_error: (per_photo[i].1 > 0).then(|| per_photo[i].0 / per_photo[i].1 as f64),
            gps_offset: gps_offsets.get(i).copied().flatten(),
            roll: model_of[i].and_then(|m| models[m].poses[i].as_ref()).map(|pose| roll(&pose.0)),
            turn: 0,
            not_registered: model_of[i].is_none().then(|| why(i)),
        })
        .collect();
    let mut coverage = Coverage {
        photos_total: names.len(),
        registered: model_of.iter().flatten().count(),
        models: summaries,
        photos: photo_reports,
        weak_areas: models.first().map(|m| weak_areas(m, &names, east_north_up)).unwrap_or_default(),
        camera_plane_tilt: models.first().and_then(camera_plane_tilt),
        camera_line_rise: models.first().and_then(camera_line_rise),
        camera_wall_lean: models.first().and_then(camera_wall_lean),
        unreadable: Vec::new(),
    };
    coverage.set_turns();
    coverage
}

impl Coverage {
    /// Whether the model's up can say which photos show turned: where the
    /// cameras stand on a plane or along a line, when that lies near
    /// level, or spread over a plane they look across, when that stands
    /// near plumb (up was then checked by it, however many photos were
    /// turned); elsewhere, while fewer than half the photos look turned.
    fn up_trusted(&self) -> bool {
        match (self.camera_plane_tilt, self.camera_line_rise, self.camera_wall_lean) {
            (Some(tilt), _, _) => tilt <= UP_DOUBT_DEG,
            (None, Some(rise), _) => rise <= UP_DOUBT_DEG,
            (None, None, Some(lean)) if lean <= UP_DOUBT_DEG => true,
            (None, None, _) => {
                let turned = self.photos.iter().filter(|p| p.turned_by().is_some()).count();
                turned * 2 < self.registered
            }
        }
    }

    /// Sets each photo's `turn`: how many degrees clockwise it must be
    /// turned to show upright, -90 or 90 for one turned a quarter without
    /// an EXIF orientation tag, 0 for the others and wherever up is in
    /// doubt.
    fn set_turns(&mut self) {
        let trusted = self.up_trusted();
        for photo in &mut self.photos {
            photo.turn = photo.turned_by().filter(|_| trusted).map_or(0, |roll| -roll);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{PairKind, TwoViewGeometry};

    fn pair(a: usize, b: usize, inliers: Option<usize>) -> PairMatches {
        let geometry = inliers.map(|n| TwoViewGeometry {
            kind: PairKind::Calibrated,
            inliers: vec![(0, 0); n],
            f: [[0.0; 3]; 3],
            e: None,
            h: [[0.0; 3]; 3],
            rotation: None,
            translation: None,
        });
        PairMatches { a, b, matches: Vec::new(), geometry }
    }

    #[test]
    fn each_unregistered_photo_gets_its_reason() {
        let names: Vec<String> = (0..5).map(|i| format!("p{i}.jpg")).collect();
        // 0 and 1 are registered; 2 matches 0; 3 matches only 4; 4 matches only 3.
        let model_of = [Some(0), Some(0), None, None, None];
        let pairs = [pair(0, 1, Some(500)), pair(0, 2, Some(40)), pair(3, 4, Some(30)), pair(1, 3, None)];
        assert_eq!(reason(2, &names, &model_of, &pairs), NotRegistered::DegenerateGeometry);
        assert_eq!(
            reason(3, &names, &model_of, &pairs),
            NotRegistered::MatchesOnlyUnregistered { partners: vec!["p4.jpg".into()] }
        );
        let nowhere = vec![None; model_of.len()];
        assert_eq!(reason(3, &names, &nowhere, &pairs), NotRegistered::NoModel { partners: vec!["p4.jpg".into()] });
        assert!(
            NotRegistered::NoModel { partners: vec!["p4.jpg".into()] }.advice()[1].contains("no model could be built")
        );
        let lonely = [pair(0, 1, Some(500)), pair(1, 3, None)];
        assert_eq!(reason(3, &names, &model_of, &lonely), NotRegistered::TooFewMatches { best_inliers: 0 });
        assert!(NotRegistered::DegenerateGeometry.advice()[0].contains("chụp lại"));
    }

    /// Photos of 640 x 427 pixels with these `names`.
    fn infos(names: &[String]) -> Vec<PhotoInfo> {
        names.iter().map(|name| PhotoInfo { name: name.clone(), width: 640, height: 427, exif: None }).collect()
    }

    #[test]
    fn a_photo_with_far_fewer_features_than_the_others_is_told_why() {
        let features = [2000, 2400, 300, 150, 2100, 1900];
        let mut sizes = [[640, 427]; 6];
        sizes[3] = [160, 107];
        let all: Vec<usize> = (0..6).collect();
        assert_eq!(too_few_features(5, &all, &features, &sizes), None);
        let blurred = too_few_features(2, &all, &features, &sizes).expect("300 is under a quarter of 2000");
        assert_eq!(blurred, NotRegistered::TooFewFeatures { features: 300, typical: 2000, reduced: None });
        assert!(blurred.advice()[1].contains("blurred, too dark"), "{:?}", blurred.advice());
        let reduced = too_few_features(3, &all, &features, &sizes).expect("150 is under a quarter of 2000");
        assert_eq!(reduced, NotRegistered::TooFewFeatures { features: 150, typical: 2000, reduced: Some([160, 107]) });
        assert!(reduced.advice()[0].contains("160 x 107 px"), "{:?}", reduced.advice());
        assert!(reduced.advice()[1].contains("hand in the original"), "{:?}", reduced.advice());
        // In the report, little detail comes before what it matched: photo
        // 2 shares a verified pair with a registered photo.
        let names: Vec<String> = (0..6).map(|i| format!("p{i}.jpg")).collect();
        let keypoints: Vec<Vec<Point>> = features.iter().map(|&n| vec![[0.0, 0.0]; n]).collect();
        let models = [Reconstruction {
            cameras: Vec::new(),
            poses: (0..6)
                .map(|i| [0, 1, 4, 5].contains(&i).then(|| (Rotation3::identity(), Vector3::zeros())))
                .collect(),
            points: Vec::new(),
        }];
        let pairs = [pair(0, 1, Some(500)), pair(1, 2, Some(40)), pair(4, 5, Some(300))];
        let report = coverage(&infos(&names), &keypoints, &[0; 6], &pairs, &models, &[None; 6]);
        // The typical photo is one in the model: 2100 features, not 2000.
        let why: Vec<_> = report.photos.iter().map(|p| p.not_registered.clone()).collect();
        assert_eq!(why[2], Some(NotRegistered::TooFewFeatures { features: 300, typical: 2100, reduced: None }));
        assert_eq!(why[3], Some(NotRegistered::TooFewFeatures { features: 150, typical: 2100, reduced: None }));
        assert!(why[0].is_none() && why[5].is_none());
    }

    #[test]
    fn where_a_group_apart_comes_nearest_a_larger_one_is_named() {
        let names: Vec<String> = (0..7).map(|i| format!("p{i}.jpg")).collect();
        let members = |photos: &[usize]| Reconstruction {
            cameras: Vec::new(),
            poses: (0..7).map(|i| photos.contains(&i).then(|| (Rotation3::identity(), Vector3::zeros()))).collect(),
            points: Vec::new(),
        };
        let models = [members(&[0, 1, 2]), members(&[3, 4]), members(&[5, 6])];
        // 3 and 4 meet 2 and 1; 5 and 6 match only each other and a photo
        // whose pair did not verify.
        let pairs = [
            pair(0, 1, Some(500)),
            pair(1, 4, Some(40)),
            pair(2, 3, Some(120)),
            pair(3, 4, Some(300)),
            pair(5, 6, Some(200)),
            pair(0, 5, None),
        ];
        let report = coverage(&infos(&names), &[], &[], &pairs, &models, &[None; 7]);
        let meets: Vec<_> = report.models.iter().map(|m| m.meets.clone()).collect();
        let at_2_3 = Meeting { model: 0, photo: "p3.jpg".into(), other: "p2.jpg".into(), matches: 120 };
        assert_eq!(meets, [None, Some(at_2_3), None]);
        let text = report.to_text();
        assert!(text.contains("Nearest model 0 at p3.jpg – p2.jpg (120 verified matches)"), "{text}");
        assert!(text.contains("No photo matches a larger model's"), "{text}");
    }

    #[test]
    fn the_photos_of_a_group_apart_are_listed() {
        let photo = |name: String, model: usize| PhotoCoverage {
            name,
            model: Some(model),
            points: 100,
            mean_error: Some(0.4),
            gps_offset: None,
            roll: None,
            turn: 0,
            not_registered: None,
        };
        let model = |photos: usize| ModelCoverage {
            photos,
            points: 1000,
            mean_error: 0.5,
            mean_track_length: 3.0,
            track_lengths: [400, 300, 200, 100, 0],
            weak_share: 0.4,
            meets: None,
        };
        let report = report_of(
            vec![model(3), model(10)],
            (0..3)
                .map(|i| photo(format!("a{i}.jpg"), 0))
                .chain((0..10).map(|i| photo(format!("b{i}.jpg"), 1)))
                .collect(),
        );
        let text = report.to_text();
        let listed =
            "ảnh / photos: b0.jpg, b1.jpg, b2.jpg, b3.jpg, b4.jpg, b5.jpg, b6.jpg, b7.jpg … và 2 ảnh khác / and 2 more";
        assert!(text.contains(listed), "{text}");
        assert!(!text.contains("a0.jpg") && !text.contains("b8.jpg"), "{text}");
        assert!(text.contains("2 groups that do not connect"), "{text}");
    }

    /// A report of `photos`, every one registered, in `models`, and
    /// nothing else found.
    fn report_of(models: Vec<ModelCoverage>, photos: Vec<PhotoCoverage>) -> Coverage {
        Coverage {
            photos_total: photos.len(),
            registered: photos.len(),
            models,
            photos,
            weak_areas: Vec::new(),
            camera_plane_tilt: None,
            camera_line_rise: None,
            camera_wall_lean: None,
            unreadable: Vec::new(),
        }
    }

    #[test]
    fn photos_far_from_their_gps_fix_are_named() {
        let photo = |name: &str, gps_offset: Option<f64>| PhotoCoverage {
            name: name.into(),
            model: Some(0),
            points: 100,
            mean_error: Some(0.4),
            gps_offset,
            roll: None,
            turn: 0,
            not_registered: None,
        };
        let mut report =
            report_of(Vec::new(), vec![photo("a.jpg", Some(2.5)), photo("b.jpg", Some(41.0)), photo("c.jpg", None)]);
        let text = report.to_text();
        assert!(text.contains("b.jpg (41 m)") && !text.contains("a.jpg") && !text.contains("c.jpg"), "{text}");
        assert!(text.contains("xem vị trí") && text.contains("check where these photos sit"));
        report.photos[1].gps_offset = Some(7.9);
        assert!(!report.to_text().contains("GPS fix"));
    }

    #[test]
    fn a_weak_area_names_the_photos_that_see_it_not_the_nearest() {
        use crate::mapper::MapPoint;
        use nalgebra::Rotation3;
        let names: Vec<String> = (0..4).map(|i| format!("p{i}.jpg")).collect();
        // Photo 0 stands beside the weak cluster at x = 10 but looks at
        // the well-seen one at x = 0; photos 1-3 stand far off.
        let at = |x: f64| Some((Rotation3::identity(), -Vector3::new(x, -5.0, 0.0)));
        let poses = vec![at(10.0), at(-20.0), at(-25.0), at(-30.0)];
        let near = |x: f64, k: usize| Vector3::new(x + 0.01 * k as f64, 0.0, 1.0 + 0.02 * k as f64);
        let mut points: Vec<MapPoint> =
            (0..30).map(|k| MapPoint { position: near(0.0, k), observations: vec![(0, 0), (1, 0), (2, 0)] }).collect();
        // The weak cluster: photo 3 sees all 30, photo 2 20 and photo 1 10.
        points.extend((0..30).map(|k| MapPoint {
            position: near(10.0, k),
            observations: vec![(if k < 20 { 2 } else { 1 }, 1), (3, 1)],
        }));
        let model = Reconstruction { cameras: Vec::new(), poses, points };
        let areas = weak_areas(&model, &names, false);
        assert_eq!(areas.len(), 1, "{areas:?}");
        assert_eq!(areas[0].points, 30);
        assert!((areas[0].centre[0] - 10.145).abs() < 1e-9);
        assert_eq!(areas[0].seen_by, ["p3.jpg", "p2.jpg", "p1.jpg"]);
    }

    #[test]
    fn photos_turned_a_quarter_are_named_while_few() {
        use nalgebra::Matrix3;
        // A camera looking north whose rows rise to the east by `a` degrees.
        let rising = |a: f64| {
            let (sin, cos) = a.to_radians().sin_cos();
            let right = Vector3::new(cos, 0.0, sin);
            let view = Vector3::y();
            let down = view.cross(&right);
            Rotation3::from_matrix_unchecked(Matrix3::from_rows(&[
                right.transpose(),
                down.transpose(),
                view.transpose(),
            ]))
        };
        assert!(roll(&rising(0.0)).abs() < 1e-9);
        assert!((roll(&rising(3.0)) - 3.0).abs() < 1e-9);
        assert!((roll(&rising(-90.0)) + 90.0).abs() < 1e-9);
        let photo = |name: &str, degrees: f64| PhotoCoverage {
            name: name.into(),
            model: Some(0),
            points: 100,
            mean_error: Some(0.4),
            gps_offset: None,
            roll: Some(roll(&rising(degrees))),
            turn: 0,
            not_registered: None,
        };
        let mut report = report_of(
            Vec::new(),
            vec![photo("a.jpg", 1.0), photo("b.jpg", 89.0), photo("c.jpg", -12.0), photo("d.jpg", -2.0)],
        );
        let turns = |report: &mut Coverage| {
            report.set_turns();
            report.photos.iter().map(|p| p.turn).collect::<Vec<_>>()
        };
        assert_eq!(turns(&mut report), [0, -90, 0, 0]);
        let text = report.to_text();
        assert!(text.contains("how the camera was held): b.jpg\n") && !text.contains("lift"), "{text}");
        // Cameras in rows over an upright plane, looking across it: which
        // photos are turned was judged from how they were held, and the
        // text says so.
        report.camera_wall_lean = Some(0.5);
        assert_eq!(turns(&mut report), [0, -90, 0, 0]);
        assert!(report.to_text().contains("could only be judged from how the photos were held"));
        report.camera_wall_lean = None;
        // The cameras' plane far from level: up is in doubt, no photo named.
        report.camera_plane_tilt = Some(80.0);
        assert_eq!(turns(&mut report), [0; 4]);
        let text = report.to_text();
        assert!(
            text.contains("up may be wrong: its cameras stand on a plane 80°") && !text.contains("b.jpg"),
            "{text}"
        );
        // Two of four turned, the cameras' plane level: up holds, both named.
        report.camera_plane_tilt = Some(2.0);
        report.photos[3].roll = Some(-91.0);
        // b.jpg's rows rise to the right: it shows upright turned
        // anticlockwise; d.jpg's fall, clockwise.
        assert_eq!(turns(&mut report), [0, -90, 0, 90]);
        assert!(report.to_text().contains("how the camera was held): b.jpg, d.jpg\n"));
        // Without a plane to check up by, half the photos turned puts it in
        // doubt: nothing is said.
        report.camera_plane_tilt = None;
        assert_eq!(turns(&mut report), [0; 4]);
        let text = report.to_text();
        assert!(!text.contains("turned a quarter") && !text.contains("may be wrong"), "{text}");
        // Cameras over a plane they look across, standing plumb: up was
        // checked by it, the turned photos are named; lying level (a
        // drone's passes), it checks nothing.
        report.camera_wall_lean = Some(1.0);
        assert_eq!(turns(&mut report), [0, -90, 0, 90]);
        report.camera_wall_lean = Some(80.0);
        assert_eq!(turns(&mut report), [0; 4]);
        report.camera_wall_lean = None;
        // Along a level line of cameras, up was checked by it: however
        // many photos are turned, they are named.
        report.camera_line_rise = Some(3.0);
        assert_eq!(turns(&mut report), [0, -90, 0, 90]);
        report.photos[0].roll = Some(88.0);
        assert_eq!(turns(&mut report), [-90, -90, 0, 90]);
        report.photos[2].roll = Some(-89.0);
        assert_eq!(turns(&mut report), [-90, -90, 90, 90]);
        report.camera_line_rise = None;
        assert_eq!(turns(&mut report), [0; 4]);
        report.photos[0].roll = Some(1.0);
        report.photos[2].roll = Some(-12.0);
        // Cameras along a line that climbs: up is in doubt too.
        report.camera_line_rise = Some(75.0);
        assert_eq!(turns(&mut report), [0; 4]);
        assert!(report.to_text().contains("up may be wrong: its cameras stand along a line rising 75°"));
        report.camera_line_rise = Some(4.0);
        assert!(!report.to_text().contains("may be wrong"));
    }

    #[test]
    fn the_cameras_plane_is_found_when_they_spread_over_one() {
        use crate::mapper::Reconstruction;
        // Cameras looking at the origin, level, from `centres` (turned by `turn`).
        let model = |centres: Vec<Vector3<f64>>, turn: Rotation3<f64>| Reconstruction {
            cameras: Vec::new(),
            poses: centres
                .into_iter()
                .map(|c| {
                    let r = crate::upright::held_along(&-c, 0.0) * turn.inverse();
                    Some((r, -(r * turn * c)))
                })
                .collect(),
            points: Vec::new(),
        };
        let ring = |k: usize| {
            let a = k as f64 * 0.5;
            Vector3::new(5.0 * a.cos(), 5.0 * a.sin(), 0.02 * (k % 3) as f64)
        };
        let level = camera_plane_tilt(&model((0..12).map(ring).collect(), Rotation3::identity())).unwrap();
        assert!(level < 1.0, "{level}");
        let on_its_side = Rotation3::from_axis_angle(&Vector3::x_axis(), 70f64.to_radians());
        let tilted = camera_plane_tilt(&model((0..12).map(ring).collect(), on_its_side)).unwrap();
        assert!((tilted - 70.0).abs() < 1.0, "{tilted}");
        // Along a line (a facade walked straight), no plane.
        let line: Vec<_> = (0..12).map(|k| Vector3::new(k as f64 - 5.5, -10.0, 0.01 * (k % 3) as f64)).collect();
        assert_eq!(camera_plane_tilt(&model(line.clone(), Rotation3::identity())), None);
        // The line rises as far as the model leans: every photo turned a
        // quarter alike puts it on its side.
        let rise = camera_line_rise(&model(line.clone(), Rotation3::identity())).unwrap();
        assert!(rise < 0.5, "{rise}");
        let raised = Rotation3::from_axis_angle(&Vector3::y_axis(), 70f64.to_radians());
        let rise = camera_line_rise(&model(line, raised)).unwrap();
        assert!((rise - 70.0).abs() < 0.5, "{rise}");
        assert_eq!(camera_line_rise(&model((0..12).map(ring).collect(), Rotation3::identity())), None);
        // A facade photographed row by row: the cameras' plane stands
        // upright, but they look across it.
        let grid: Vec<_> = (0..12).map(|k| Vector3::new((k % 6) as f64 - 2.5, -10.0, (k / 6) as f64 * 2.0)).collect();
        assert_eq!(camera_plane_tilt(&model(grid.clone(), Rotation3::identity())), None);
        let lean = camera_wall_lean(&model(grid, Rotation3::identity())).unwrap();
        assert!(lean < 0.5, "{lean}");
        assert_eq!(camera_wall_lean(&model((0..12).map(ring).collect(), Rotation3::identity())), None);
    }
}
