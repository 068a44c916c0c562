//! Tracks: the features of different photos that show one scene point,
//! joined through the verified matches of every pair (union-find). A
//! track may hold one feature per photo: a match that would join two
//! tracks seen in a common photo is wrong somewhere and is refused, the
//! two tracks stay apart. Pairs with more inliers are joined first, so
//! their geometry wins over that of weaker pairs.

use crate::frontend::PairMatches;

/// One feature of one photo: (photo index, feature index).
pub type Feature = (u32, u32);

/// Union-find over all features of all photos, with the photos each set
/// holds (sorted; empty for a single feature, whose photo is implied).
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
        let take = |forest: &mut Forest, root: u32, photo: u32| {
            let photos = std::mem::take(&mut forest.photos[root as usize]);
            if photos.is_empty() { vec![photo] } else { photos }
        };
        let (pa, pb) = (take(self, ra, photo_a), take(self, rb, photo_b));
        let mut merged = Vec::with_capacity(pa.len() + pb.len());
        let (mut i, mut j) = (0, 0);
        while i < pa.len() || j < pb.len() {
            if j == pb.len() || (i < pa.len() && pa[i] < pb[j]) {
                merged.push(pa[i]);
                i += 1;
            } else if i == pa.len() || pb[j] < pa[i] {
                merged.push(pb[j]);
                j += 1;
            } else {
                // A photo in both: refused.
                self.photos[ra as usize] = pa;
                self.photos[rb as usize] = pb;
                return;
            }
        }
        let (root, child) = (ra.min(rb), ra.max(rb));
        self.parent[child as usize] = root;
        self.photos[root as usize] = merged;
    }
}

/// The tracks (two or more photos each, one feature per photo, in photo
/// order) of photos with `feature_counts[i]` features, from the inliers of
/// the verified pairs.
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
    // Only features some match touched can be in a track.
    let mut touched: Vec<(u32, Feature)> = Vec::new();
    for &(pair, inliers) in &verified {
        for &(i, j) in inliers {
            touched.push((0, (pair.a as u32, i)));
            touched.push((0, (pair.b as u32, j)));
        }
    }
    for (root, (photo, feature)) in &mut touched {
        *root = forest.find(offsets[*photo as usize] + *feature);
    }
    touched.sort_unstable();
    touched.dedup();
    touched
        .chunk_by(|a, b| a.0 == b.0)
        .map(|group| group.iter().map(|&(_, feature)| feature).collect::<Vec<Feature>>())
        .filter(|track| track.len() >= 2)
        .collect()
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
}
