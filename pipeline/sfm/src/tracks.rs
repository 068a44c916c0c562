//! Tracks: the features of different photos that show one scene point,
//! joined through the verified matches of every pair (union-find). A
//! track may hold one feature per photo: a match that would join two
//! tracks seen in a common photo is wrong somewhere and is refused, the
//! two tracks stay apart. Pairs with more inliers are joined first, so
//! their geometry wins over that of weaker pairs.

use crate::frontend::PairMatches;

/// One feature of one photo: (photo index, feature index).
pub type Feature = (u32, u32);

/// Union-find over all features of all photos. A set's root is its
/// smallest feature, so the first in photo order; `photos` holds a root's
/// photos (sorted) when its set has two features or more, and is empty
/// otherwise (a single feature's photo is implied).
struct Forest {
    parent: Vec<u32>,
    photos: Vec<Vec<u32>>,
}

impl Forest {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grandparent = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grandparent;
            x = grandparent;
        }
        x
    }

    /// Joins the sets of features `a` (of photo `photo_a`) and `b` (of
    /// `photo_b`) unless they share a photo.
    fn union(&mut self, (a, photo_a): (u32, u32), (b, photo_b): (u32, u32)) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let pa = std::mem::take(&mut self.photos[ra as usize]);
        let pb = std::mem::take(&mut self.photos[rb as usize]);
        match joined((pa, photo_a), (pb, photo_b)) {
            Ok(photos) => {
                let (root, child) = (ra.min(rb), ra.max(rb));
                self.parent[child as usize] = root;
                self.photos[root as usize] = photos;
            }
            Err((pa, pb)) => {
                self.photos[ra as usize] = pa;
                self.photos[rb as usize] = pb;
            }
        }
    }
}

/// The photos of two sets joined (sorted), each given by its photos
/// (empty for a single feature) and the photo of its feature; the two
/// back if they share a photo. A single feature joins a set without
/// allocating.
fn joined((mut a, photo_a): (Vec<u32>, u32), (b, photo_b): (Vec<u32>, u32)) -> Result<Vec<u32>, (Vec<u32>, Vec<u32>)> {
    match (a.is_empty(), b.is_empty()) {
        (true, true) if photo_a == photo_b => Err((a, b)),
        (true, true) => Ok(vec![photo_a.min(photo_b), photo_a.max(photo_b)]),
        (false, true) => match a.binary_search(&photo_b) {
            Ok(_) => Err((a, b)),
            Err(at) => {
                a.insert(at, photo_b);
                Ok(a)
            }
        },
        (true, false) => joined((b, photo_b), (a, photo_a)).map_err(|(b, a)| (a, b)),
        (false, false) if share_a_photo(&a, &b) => Err((a, b)),
        (false, false) => {
            let (mut long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            long.extend_from_slice(&short);
            long.sort_unstable();
            Ok(long)
        }
    }
}

/// Whether two sorted lists have an element in common.
fn share_a_photo(a: &[u32], b: &[u32]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// The tracks (two or more photos each, one feature per photo, in photo
/// order; tracks in the order of their first feature) of photos with
/// `feature_counts[i]` features, from the inliers of the verified pairs.
pub fn build_tracks(feature_counts: &[usize], pairs: &[PairMatches]) -> Vec<Vec<Feature>> {
    let offsets: Vec<u32> = feature_counts
        .iter()
        .scan(0u32, |total, &n| {
            let start = *total;
            *total += n as u32;
            Some(start)
        })
        .collect();
    let total: usize = feature_counts.iter().sum();
    let mut forest = Forest { parent: (0..total as u32).collect(), photos: vec![Vec::new(); total] };
    let mut verified: Vec<(&PairMatches, &[(u32, u32)])> =
        pairs.iter().filter_map(|p| p.geometry.as_ref().map(|g| (p, g.inliers.as_slice()))).collect();
    verified.sort_by_key(|(_, inliers)| std::cmp::Reverse(inliers.len()));
    for &(pair, inliers) in &verified {
        let (a, b) = (pair.a as u32, pair.b as u32);
        for &(i, j) in inliers {
            forest.union((offsets[pair.a] + i, a), (offsets[pair.b] + j, b));
        }
    }
    // Features in photo order: a set's root, its smallest feature, comes
    // first and numbers its track.
    let mut track_of_root = vec![u32::MAX; total];
    let mut tracks: Vec<Vec<Feature>> = Vec::new();
    for (photo, (&offset, &count)) in offsets.iter().zip(feature_counts).enumerate() {
        for feature in 0..count as u32 {
            let root = forest.find(offset + feature) as usize;
            let photos = forest.photos[root].len();
            if photos < 2 {
                continue;
            }
            if track_of_root[root] == u32::MAX {
                track_of_root[root] = tracks.len() as u32;
                tracks.push(Vec::with_capacity(photos));
            }
            tracks[track_of_root[root] as usize].push((photo as u32, feature));
        }
    }
    tracks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{PairKind, TwoViewGeometry};

    fn pair(a: usize, b: usize, inliers: Vec<(u32, u32)>) -> PairMatches {
        let identity = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let geometry = TwoViewGeometry {
            kind: PairKind::Calibrated,
            inliers,
            f: identity,
            e: None,
            h: identity,
            rotation: None,
            translation: None,
        };
        PairMatches { a, b, matches: Vec::new(), geometry: Some(geometry) }
    }

    #[test]
    fn matches_chain_into_tracks_and_conflicting_matches_are_refused() {
        let pairs = vec![
            // Weakest first: the order of joining is by inliers, not by list.
            pair(0, 2, vec![(2, 8)]),
            pair(1, 2, vec![(5, 9), (6, 3)]),
            pair(0, 1, vec![(0, 5), (1, 6), (2, 7)]),
            // Feature 2 of photo 0 would reach photo 2 twice (7 -> 4 and
            // 2 -> 8): the weakest pair's match is the one refused.
            pair(1, 2, vec![(7, 4), (0, 1)]),
            PairMatches { a: 0, b: 3, matches: vec![(4, 4)], geometry: None },
        ];
        let tracks = build_tracks(&[10, 10, 10, 10], &pairs);
        assert_eq!(
            tracks,
            vec![
                vec![(0, 0), (1, 5), (2, 9)],
                vec![(0, 1), (1, 6), (2, 3)],
                vec![(0, 2), (1, 7), (2, 4)],
                vec![(1, 0), (2, 1)],
            ]
        );
        for track in &tracks {
            assert!(track.windows(2).all(|w| w[0].0 < w[1].0), "one feature per photo, in order");
        }
    }

    #[test]
    fn tracks_of_several_photos_join_unless_they_share_one() {
        let pairs = vec![
            // Two tracks of two photos each, then a match joining them.
            pair(0, 1, vec![(0, 0), (1, 1), (2, 2)]),
            pair(2, 3, vec![(0, 0), (1, 1)]),
            pair(0, 2, vec![(2, 2)]),
            pair(1, 2, vec![(0, 0)]),
            // Photos 0 and 1 would each have two features in one track.
            pair(1, 2, vec![(1, 2)]),
        ];
        let tracks = build_tracks(&[3, 3, 3, 3], &pairs);
        assert_eq!(
            tracks,
            vec![
                vec![(0, 0), (1, 0), (2, 0), (3, 0)],
                vec![(0, 1), (1, 1)],
                vec![(0, 2), (1, 2), (2, 2)],
                vec![(2, 1), (3, 1)],
            ]
        );
    }
}
