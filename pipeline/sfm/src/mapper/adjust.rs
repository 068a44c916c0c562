//! The mapper's bundle adjustments: local after a registration, global
//! on a sample of the points while the model grows, and of every point at
//! the end; observations that no longer fit are dropped after each.

use std::borrow::Cow;

use rayon::prelude::*;

use super::{MapPoint, State};
use crate::bundle::{BaCamera, BaImage, BaOptions, Observation, Problem, adjust};
use crate::tracks::Feature;

/// Points per photo in the local adjustments and the global ones before
/// the last (which takes every point).
const SAMPLED_POINTS_PER_PHOTO: usize = 200;

/// Observations of a long track that take part in a thinned adjustment.
const THINNED_TRACK: usize = 12;

/// Levenberg-Marquardt's first damping (a share of the diagonal) in the
/// mapper's adjustments.
pub(super) const DAMPING: f64 = 1e-4;
/// Fewest photos a global adjustment refines the intrinsics with: two
/// leave a shared focal length ill-determined; three fix it, and must,
/// where it was guessed (no EXIF: 1.2 times the width, a third too long
/// for fountain-P11). Held to the guess until a fourth photo, three-photo
/// subsets of fountain-P11 and Herz-Jesus-P8 came out 11-16° off.
const MIN_PHOTOS_FOR_INTRINSICS: usize = 3;
/// Fewest photos of a camera whose principal point is tested.
const MIN_PHOTOS_FOR_PRINCIPAL: usize = 6;
/// Farthest a principal point found free may move from the centre, as a
/// share of the longer side: further, it takes up other errors.
const MAX_PRINCIPAL_SHIFT: f64 = 0.03;
/// The standard normal quantile of the test (one in a thousand by chance).
const PRINCIPAL_SIGNIFICANCE: f64 = 3.09;

impl State<'_> {
    /// Registered photos that share most points with `photo`, best first.
    pub(super) fn neighbours(&self, photo: usize, count: usize) -> Vec<usize> {
        let mut shared = vec![0; self.poses.len()];
        for t in self.tracks_of(photo) {
            for &(other, _) in self.points[t].iter().flat_map(|p| &p.observations) {
                shared[other as usize] += 1;
            }
        }
        shared[photo] = 0;
        let mut ranked: Vec<(usize, usize)> =
            shared.into_iter().enumerate().filter(|&(_, n)| n > 0).map(|(i, n)| (n, i)).collect();
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        ranked.into_iter().take(count).map(|(_, i)| i).collect()
    }

    /// Global bundle adjustment: every registered pose, every point and
    /// (if asked) the intrinsics, with the first photo holding the frame,
    /// from Levenberg-Marquardt's first `damping`. Then drops the
    /// observations that do not fit and the points left with fewer than two.
    pub(super) fn adjust_all(&mut self, damping: f64) {
        let point_ids: Vec<usize> = (0..self.points.len()).filter(|&t| self.points[t].is_some()).collect();
        self.adjust_points(&point_ids, &[], true, Tracks::Whole, damping);
    }

    /// Global adjustment while the model grows: every pose and the
    /// intrinsics with a sample of the points (see
    /// [`State::longest_tracks`]; the cameras' constraints without the cost
    /// of every point), then the other points refitted to the adjusted
    /// cameras, which hold still.
    pub(super) fn adjust_sampled(&mut self) {
        let sample = self.longest_tracks(&self.registered());
        let mut chosen = vec![false; self.points.len()];
        sample.iter().for_each(|&t| chosen[t] = true);
        let rest: Vec<usize> = (0..self.points.len()).filter(|&t| self.points[t].is_some() && !chosen[t]).collect();
        self.adjust_points(&sample, &[], true, Tracks::Thinned, DAMPING);
        self.adjust_points(&rest, &[], false, Tracks::Whole, DAMPING);
    }

    /// Local adjustment after a registration: the poses of `variable`
    /// with a sample of the points they see (see [`State::longest_tracks`]),
    /// the other photos that see those points holding still.
    pub(super) fn adjust_local(&mut self, variable: &[usize]) {
        let sample = self.longest_tracks(variable);
        self.adjust_points(&sample, variable, false, Tracks::Thinned, DAMPING);
    }

    /// The points (tracks, in order) of each of `photos` with the longest
    /// tracks, up to `SAMPLED_POINTS_PER_PHOTO` per photo: they tie most
    /// photos together.
    fn longest_tracks(&self, photos: &[usize]) -> Vec<usize> {
        let mut chosen = Vec::new();
        for &photo in photos {
            let mut seen: Vec<(usize, usize)> = self
                .tracks_of(photo)
                .filter_map(|t| self.points[t].as_ref().map(|p| (p.observations.len(), t)))
                .collect();
            if seen.len() > SAMPLED_POINTS_PER_PHOTO {
                seen.select_nth_unstable_by(SAMPLED_POINTS_PER_PHOTO - 1, |a, b| b.cmp(a));
                seen.truncate(SAMPLED_POINTS_PER_PHOTO);
            }
            chosen.extend(seen.into_iter().map(|(_, t)| t));
        }
        chosen.sort_unstable();
        chosen.dedup();
        chosen
    }

    /// Adjusts the points `point_ids` with the poses of `variable` (every
    /// pose when `global`, with the first photo holding the frame; else the
    /// other photos that see the points hold still), from the first
    /// `damping`, then drops the observations that do not fit and the
    /// points left with fewer than two.
    fn adjust_points(&mut self, point_ids: &[usize], variable: &[usize], global: bool, tracks: Tracks, damping: f64) {
        if point_ids.is_empty() {
            return;
        }
        // Thinned, a long track takes part through a spread of its
        // observations (a point costs the square of its track); after a
        // global adjustment such points are refitted to all of theirs (after
        // a local one the next global adjustment does it: refitting after
        // each local one measured no more accurate, a third slower).
        let taken = self.observations_taken(point_ids, tracks, variable);
        let thinned: Vec<usize> = if global {
            point_ids.iter().zip(&taken).filter(|(_, fs)| matches!(fs, Cow::Owned(_))).map(|(&t, _)| t).collect()
        } else {
            Vec::new()
        };
        let (mut problem, images) = self.problem(point_ids, &taken, variable);
        let anchor = self.anchor(&images);
        // Problem images that hold still.
        let mut fixed: Vec<usize> =
            if global { vec![anchor] } else { (0..images.len()).filter(|&k| !variable.contains(&images[k])).collect() };
        if fixed.is_empty() {
            fixed.push(anchor);
        }
        let options = BaOptions {
            fixed_images: fixed,
            refine_intrinsics: global && self.options.refine_intrinsics && images.len() >= MIN_PHOTOS_FOR_INTRINSICS,
            principal_points: self.free_principal.clone(),
            max_iterations: if global { 30 } else { 15 },
            initial_damping: damping,
            ..Default::default()
        };
        adjust(&mut problem, &options);
        self.cameras = problem.cameras;
        for (k, &i) in images.iter().enumerate() {
            self.poses[i] = Some((problem.images[k].rotation, problem.images[k].translation));
        }
        let fitting: Vec<Vec<Feature>> = point_ids
            .par_iter()
            .zip(&problem.points)
            .map(|(&t, position)| {
                let observations = &self.points[t].as_ref().expect("kept").observations;
                observations.iter().copied().filter(|&f| self.fits(f, position)).collect()
            })
            .collect();
        for ((&t, position), kept) in point_ids.iter().zip(problem.points).zip(fitting) {
            self.set_point(t, (kept.len() >= 2).then_some(MapPoint { position, observations: kept }));
        }
        let refit: Vec<usize> = thinned.into_iter().filter(|&t| self.points[t].is_some()).collect();
        self.adjust_points(&refit, &[], false, Tracks::Whole, DAMPING);
    }
}

impl State<'_> {
    /// The registered photos, ascending.
    fn registered(&self) -> Vec<usize> {
        (0..self.poses.len()).filter(|&i| self.poses[i].is_some()).collect()
    }

    /// The problem image (of `images`, ascending photos) that holds the
    /// frame in a global adjustment: the first photo's, else the first.
    fn anchor(&self, images: &[usize]) -> usize {
        images.binary_search(&self.first).unwrap_or(0)
    }

    /// The observations of each of the points `point_ids` an adjustment
    /// takes (see [`Tracks`]; thinned, those of the photos in `variable`
    /// first).
    fn observations_taken(&self, point_ids: &[usize], tracks: Tracks, variable: &[usize]) -> Vec<Cow<'_, [Feature]>> {
        point_ids
            .par_iter()
            .map(|&t| {
                let observations = &self.points[t].as_ref().expect("kept").observations;
                if matches!(tracks, Tracks::Thinned) && observations.len() > THINNED_TRACK {
                    Cow::Owned(spread(t, observations, variable))
                } else {
                    Cow::Borrowed(observations.as_slice())
                }
            })
            .collect()
    }

    /// The adjustment problem of the points `point_ids`, each with its
    /// observations in `taken`, and the photos it takes (those
    /// observations' and `variable`, ascending: problem image k is photo
    /// `images[k]`).
    fn problem(&self, point_ids: &[usize], taken: &[Cow<[Feature]>], variable: &[usize]) -> (Problem, Vec<usize>) {
        let mut images: Vec<usize> =
            taken.iter().flat_map(|fs| fs.iter()).map(|f| f.0 as usize).chain(variable.iter().copied()).collect();
        images.sort_unstable();
        images.dedup();
        let mut index = vec![usize::MAX; self.poses.len()];
        for (k, &i) in images.iter().enumerate() {
            index[i] = k;
        }
        let mut problem = Problem {
            cameras: self.cameras.clone(),
            images: images
                .iter()
                .map(|&i| {
                    let pose = self.poses[i].expect("registered");
                    BaImage { rotation: pose.0, translation: pose.1, camera: self.camera_of[i] }
                })
                .collect(),
            points: point_ids.iter().map(|&t| self.points[t].as_ref().expect("kept").position).collect(),
            observations: Vec::new(),
        };
        for (k, features) in taken.iter().enumerate() {
            for &f in features.iter() {
                let measured = self.keypoints[f.0 as usize][f.1 as usize];
                let image = index[f.0 as usize];
                problem.observations.push(Observation { image, point: k, xy: measured.xy, weight: measured.weight });
            }
        }
        (problem, images)
    }

    /// The cameras with their principal points found, and which were, where
    /// the photos fix them: those of the cameras of
    /// `MIN_PHOTOS_FOR_PRINCIPAL` photos or more, freed in a global
    /// adjustment, must lower the cost by more than chance would (a
    /// likelihood-ratio test against χ² with two degrees of freedom a
    /// camera, at `PRINCIPAL_SIGNIFICANCE`), none moving further than
    /// `MAX_PRINCIPAL_SHIFT` of its longer side.
    pub(super) fn principal_points_found(&self) -> Option<(Vec<BaCamera>, Vec<usize>)> {
        // The sample of the global adjustments while the model grows: the
        // cameras' constraints at a fraction of the cost of every point.
        let point_ids = self.longest_tracks(&self.registered());
        let taken = self.observations_taken(&point_ids, Tracks::Thinned, &[]);
        let (mut problem, images) = self.problem(&point_ids, &taken, &[]);
        let mut photos = vec![0; self.cameras.len()];
        images.iter().for_each(|&i| photos[self.camera_of[i]] += 1);
        let tested: Vec<usize> = (0..photos.len()).filter(|&c| photos[c] >= MIN_PHOTOS_FOR_PRINCIPAL).collect();
        if tested.is_empty() {
            return None;
        }
        let held = BaOptions {
            fixed_images: vec![self.anchor(&images)],
            max_iterations: 30,
            initial_damping: DAMPING,
            ..Default::default()
        };
        let held_cost = adjust(&mut problem.clone(), &held).final_cost;
        let freed = adjust(&mut problem, &BaOptions { principal_points: tested.clone(), ..held });
        let cameras = photos.iter().filter(|&&n| n > 0).count();
        let residuals = 2 * problem.observations.len();
        let unknowns = 3 * problem.points.len() + 6 * images.len() + 3 * cameras + 2 * tested.len();
        let variance = freed.final_cost / residuals.saturating_sub(unknowns).max(1) as f64;
        let ratio = (held_cost - freed.final_cost) / variance;
        // The photo's longer side (the principal point started at its centre).
        let shift = |after: &BaCamera, before: &BaCamera| {
            (after.cx - before.cx).hypot(after.cy - before.cy) / (2.0 * before.cx.max(before.cy))
        };
        let moved = tested.iter().map(|&c| shift(&problem.cameras[c], &self.cameras[c])).fold(0.0, f64::max);
        let found = ratio > chi_squared_quantile(2 * tested.len()) && moved < MAX_PRINCIPAL_SHIFT;
        found.then_some((problem.cameras, tested))
    }
}

/// The χ² quantile at `PRINCIPAL_SIGNIFICANCE` for `dof` degrees of
/// freedom (Wilson–Hilferty).
fn chi_squared_quantile(dof: usize) -> f64 {
    let k = dof as f64;
    let spread = 2.0 / (9.0 * k);
    k * (1.0 - spread + PRINCIPAL_SIGNIFICANCE * spread.sqrt()).powi(3)
}

/// Which observations of each point an adjustment takes.
#[derive(Clone, Copy)]
enum Tracks {
    /// All of them.
    Whole,
    /// At most `THINNED_TRACK`, chosen by [`spread`].
    Thinned,
}

/// `THINNED_TRACK` of the observations of track `t`: those of the photos
/// in `variable` first, then the others in an order mixed by track and
/// photo, so that the ones left out fall evenly on the photos.
fn spread(t: usize, observations: &[Feature], variable: &[usize]) -> Vec<Feature> {
    let mix = |photo: u32| (u64::from(photo) ^ (t as u64).rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut ranked: Vec<(bool, u64, Feature)> =
        observations.iter().map(|&f| (!variable.contains(&(f.0 as usize)), mix(f.0), f)).collect();
    ranked.sort_unstable();
    ranked.into_iter().take(THINNED_TRACK).map(|(_, _, f)| f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thinned_track_keeps_the_variable_photos_and_leaves_out_others_evenly() {
        let observations: Vec<Feature> = (0..30).map(|photo| (photo, photo * 7)).collect();
        let variable = [3, 17, 29];
        let mut left_out = [0; 30];
        for t in 0..600 {
            let kept = spread(t, &observations, &variable);
            assert_eq!(kept.len(), THINNED_TRACK);
            assert!(variable.iter().all(|&v| kept.contains(&(v as u32, v as u32 * 7))), "track {t}: {kept:?}");
            let mut distinct = kept.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), THINNED_TRACK);
            for &(photo, _) in &observations {
                if !kept.iter().any(|f| f.0 == photo) {
                    left_out[photo as usize] += 1;
                }
            }
        }
        // Each of the 27 others is left out 600 * 18 / 27 = 400 times on average.
        for (photo, &count) in left_out.iter().enumerate() {
            if variable.contains(&photo) {
                assert_eq!(count, 0);
            } else {
                assert!((300..=500).contains(&count), "photo {photo} left out {count} times");
            }
        }
    }
}
