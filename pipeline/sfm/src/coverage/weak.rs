//! Where a model is seen by too few photos: cells of its ground plan
//! where most points are weakly seen, and the photos that see them.

use std::collections::{BTreeMap, HashMap};

use nalgebra::Vector3;

use super::{WELL_SEEN, WeakArea};
use crate::mapper::Reconstruction;

/// Most weak areas reported.
const MAX_WEAK_AREAS: usize = 5;

/// Fewest points of a cell of the model for it to be judged.
const MIN_CELL_POINTS: usize = 20;

/// Photos named for each weak area.
const SEEN_BY: usize = 3;

/// Compass name of the horizontal direction `(east, north)`.
fn compass(east: f64, north: f64) -> &'static str {
    const NAMES: [&str; 8] = ["east", "north-east", "north", "north-west", "west", "south-west", "south", "south-east"];
    let sector = (north.atan2(east).to_degrees() / 45.0).round().rem_euclid(8.0) as usize;
    NAMES[sector % 8]
}

/// Cells of the model's ground plan where most points are weakly seen.
pub(super) fn weak_areas(model: &Reconstruction, names: &[String], east_north_up: bool) -> Vec<WeakArea> {
    if model.points.is_empty() {
        return Vec::new();
    }
    let mut xs: Vec<f64> = model.points.iter().map(|p| p.position.x).collect();
    let mut ys: Vec<f64> = model.points.iter().map(|p| p.position.y).collect();
    xs.sort_by(f64::total_cmp);
    ys.sort_by(f64::total_cmp);
    let quantile = |v: &[f64], q: f64| v[((v.len() - 1) as f64 * q) as usize];
    let (mx, my) = (quantile(&xs, 0.5), quantile(&ys, 0.5));
    let extent = (quantile(&xs, 0.95) - quantile(&xs, 0.05)).max(quantile(&ys, 0.95) - quantile(&ys, 0.05));
    let cell = (extent / 6.0).max(1e-9);
    // In order of their place, so that equally weak areas keep one order.
    let mut cells: BTreeMap<(i64, i64), Cell> = BTreeMap::new();
    for p in &model.points {
        let key = (((p.position.x - mx) / cell).floor() as i64, ((p.position.y - my) / cell).floor() as i64);
        let entry = cells.entry(key).or_default();
        entry.points += 1;
        entry.sum += p.position;
        if p.observations.len() < WELL_SEEN {
            entry.weak += 1;
            for &(photo, _) in &p.observations {
                *entry.sightings.entry(photo as usize).or_default() += 1;
            }
        }
    }
    let mut areas: Vec<(usize, WeakArea)> = cells
        .into_values()
        .filter(|c| c.points >= MIN_CELL_POINTS && c.weak * 2 > c.points)
        .map(|c| {
            let centre = c.sum / c.points as f64;
            let mut seen_by: Vec<(usize, usize)> = c.sightings.into_iter().collect();
            seen_by.sort_by_key(|&(photo, count)| (std::cmp::Reverse(count), photo));
            let area = WeakArea {
                centre: [centre.x, centre.y, centre.z],
                direction: east_north_up.then(|| compass(centre.x - mx, centre.y - my)),
                points: c.points,
                weak_share: c.weak as f64 / c.points as f64,
                seen_by: seen_by.iter().take(SEEN_BY).map(|&(photo, _)| names[photo].clone()).collect(),
            };
            (c.weak, area)
        })
        .collect();
    areas.sort_by_key(|a| std::cmp::Reverse(a.0));
    areas.into_iter().take(MAX_WEAK_AREAS).map(|(_, area)| area).collect()
}

/// One cell of the ground plan while the weak areas are counted.
#[derive(Default)]
struct Cell {
    /// Points in it.
    points: usize,
    /// Those seen by fewer than `WELL_SEEN` photos.
    weak: usize,
    /// Sum of the points' positions.
    sum: Vector3<f64>,
    /// For each photo, how many of the weak points it sees.
    sightings: HashMap<usize, usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compass_names_follow_east_north_up() {
        assert_eq!(compass(1.0, 0.0), "east");
        assert_eq!(compass(0.0, 1.0), "north");
        assert_eq!(compass(-1.0, -1.0), "south-west");
        assert_eq!(compass(0.2, -1.0), "south");
    }

    /// Areas as weak as each other are reported in the same order every
    /// time (their cells' order on the ground plan), so the report of the
    /// same photos is the same from run to run.
    #[test]
    fn equally_weak_areas_come_in_the_same_order_every_time() {
        use crate::mapper::MapPoint;
        let names: Vec<String> = (0..2).map(|i| format!("p{i}.jpg")).collect();
        // Nine clusters of 30 points seen by two photos, 30 m apart on a grid.
        let points: Vec<MapPoint> = (0..9)
            .flat_map(|c| {
                (0..30).map(move |k| MapPoint {
                    position: Vector3::new((c % 3) as f64 * 30.0 + 0.01 * k as f64, (c / 3) as f64 * 30.0, 1.0),
                    observations: vec![(0, 0), (1, 0)],
                })
            })
            .collect();
        let model = Reconstruction { cameras: Vec::new(), poses: vec![None, None], points };
        let centres = || weak_areas(&model, &names, false).iter().map(|a| a.centre).collect::<Vec<_>>();
        let first = centres();
        assert_eq!(first.len(), MAX_WEAK_AREAS);
        for _ in 0..20 {
            assert_eq!(centres(), first);
        }
        // West to east, then south to north (the middle column's clusters
        // straddle two cells, so they are less weak and come after).
        let places: Vec<(i32, i32)> =
            first.iter().map(|c| ((c[0] / 30.0).round() as i32, (c[1] / 30.0) as i32)).collect();
        assert_eq!(places, [(0, 0), (0, 1), (0, 2), (2, 0), (2, 1)]);
    }
}
