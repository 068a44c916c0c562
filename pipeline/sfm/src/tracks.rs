//! Tracks: the features of different photos that show one scene point,
//! joined through the verified matches of every pair (union-find). A
//! track that would hold two features of the same photo is inconsistent
//! (a wrong match somewhere along it) and is dropped.

use crate::frontend::PairMatches;

/// One feature of one photo: (photo index, feature index).
pub type Feature = (u32, u32);

/// Union-find over all features of all photos.
struct Forest {
    parent: Vec<u32>,
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

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb) as usize] = ra.min(rb);
        }
    }
}

/// The tracks (two or more photos each, features in photo order) of
/// photos with `feature_counts[i]` features, from the inliers of the
/// verified pairs.
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
    let mut forest = Forest { parent: (0..total as u32).collect() };
    for pair in pairs {
        let Some(geometry) = &pair.geometry else { continue };
        for &(i, j) in &geometry.inliers {
            forest.union(offsets[pair.a] + i, offsets[pair.b] + j);
        }
    }
    // Only features some match touched can be in a track.
    let mut touched: Vec<(u32, Feature)> = Vec::new();
    for pair in pairs {
        let Some(geometry) = &pair.geometry else { continue };
        for &(i, j) in &geometry.inliers {
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
        .filter(|track| track.len() >= 2 && track.windows(2).all(|w| w[0].0 != w[1].0))
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
    fn matches_chain_into_tracks_and_conflicts_are_dropped() {
        let pairs = vec![
            pair(0, 1, vec![(0, 5), (1, 6), (2, 7)]),
            pair(1, 2, vec![(5, 9), (6, 3)]),
            // Feature 2 of photo 0 reaches photo 2 twice (7 -> 4 and 2 -> 8).
            pair(1, 2, vec![(7, 4)]),
            pair(0, 2, vec![(2, 8)]),
            PairMatches { a: 0, b: 3, matches: vec![(4, 4)], geometry: None },
        ];
        let tracks = build_tracks(&[10, 10, 10, 10], &pairs);
        assert_eq!(tracks, vec![vec![(0, 0), (1, 5), (2, 9)], vec![(0, 1), (1, 6), (2, 3)]]);
    }
}
