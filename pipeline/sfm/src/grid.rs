//! A grid over an image's keypoints, to list the few that lie near a
//! point or along a line (the candidates of guided matching).

use nalgebra::Vector3;

use crate::twoview::Point;

/// Keypoint indices bucketed by square cells.
#[derive(Debug, Clone)]
pub struct Grid {
    cell: f64,
    columns: usize,
    rows: usize,
    cells: Vec<Vec<usize>>,
}

impl Grid {
    /// Buckets `points` (pixels, non-negative) in cells of `cell` pixels.
    pub fn new(points: &[Point], cell: f64) -> Grid {
        let (max_x, max_y) = points.iter().fold((0.0f64, 0.0f64), |(x, y), p| (x.max(p[0]), y.max(p[1])));
        let (columns, rows) = ((max_x / cell) as usize + 1, (max_y / cell) as usize + 1);
        let mut cells = vec![Vec::new(); columns * rows];
        for (i, p) in points.iter().enumerate() {
            let (c, r) = ((p[0].max(0.0) / cell) as usize, (p[1].max(0.0) / cell) as usize);
            cells[r.min(rows - 1) * columns + c.min(columns - 1)].push(i);
        }
        Grid { cell, columns, rows, cells }
    }

    /// The cell index range covering `[low, high]` pixels along an axis of
    /// `count` cells; `None` when it misses the grid.
    fn span(&self, low: f64, high: f64, count: usize) -> Option<(usize, usize)> {
        // Truncation is the floor here (negative ends are clamped to 0),
        // and much cheaper than `floor`, a library call on plain x86-64.
        let (a, b) = (low / self.cell, high / self.cell);
        if b < 0.0 || a >= count as f64 || a > b {
            return None;
        }
        Some((a.max(0.0) as usize, (b as usize).min(count - 1)))
    }

    /// Appends the points of the cells within `radius` of `p` to `out`.
    pub fn near_point(&self, p: &Point, radius: f64, out: &mut Vec<usize>) {
        let (Some((c0, c1)), Some((r0, r1))) =
            (self.span(p[0] - radius, p[0] + radius, self.columns), self.span(p[1] - radius, p[1] + radius, self.rows))
        else {
            return;
        };
        for r in r0..=r1 {
            for c in c0..=c1 {
                out.extend_from_slice(&self.cells[r * self.columns + c]);
            }
        }
    }

    /// Appends the points of the cells within `half_width` pixels of the
    /// line `l.x x + l.y y + l.z = 0` to `out`.
    pub fn near_line(&self, l: &Vector3<f64>, half_width: f64, out: &mut Vec<usize>) {
        let norm = l.x.hypot(l.y);
        if norm < 1e-300 {
            return;
        }
        // Walk along the axis the line follows most, one cell at a time.
        let mostly_horizontal = l.y.abs() >= l.x.abs();
        let (along, across, count_along, count_across) =
            if mostly_horizontal { (l.x, l.y, self.columns, self.rows) } else { (l.y, l.x, self.rows, self.columns) };
        let width = half_width * norm / across.abs();
        for a in 0..count_along {
            let (start, end) = (a as f64 * self.cell, (a + 1) as f64 * self.cell);
            let at = |t: f64| -(along * t + l.z) / across;
            let (low, high) = (at(start).min(at(end)) - width, at(start).max(at(end)) + width);
            let Some((b0, b1)) = self.span(low, high, count_across) else { continue };
            for b in b0..=b1 {
                let (c, r) = if mostly_horizontal { (a, b) } else { (b, a) };
                out.extend_from_slice(&self.cells[r * self.columns + c]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every point of a dense lattice, to compare with brute force.
    fn lattice() -> Vec<Point> {
        (0..60).flat_map(|y| (0..80).map(move |x| [x as f64 * 10.0 + 3.0, y as f64 * 10.0 + 7.0])).collect()
    }

    #[test]
    fn lines_and_discs_list_every_point_near_them() {
        let points = lattice();
        let grid = Grid::new(&points, 32.0);
        for line in [
            Vector3::new(0.2, 1.0, -300.0),
            Vector3::new(1.0, -0.3, -250.0),
            Vector3::new(0.0, 1.0, -100.0),
            Vector3::new(1.0, 0.0, -5.0),
        ] {
            let mut listed = Vec::new();
            grid.near_line(&line, 6.0, &mut listed);
            let norm = line.x.hypot(line.y);
            for (i, p) in points.iter().enumerate() {
                let distance = (line.x * p[0] + line.y * p[1] + line.z).abs() / norm;
                if distance <= 6.0 {
                    assert!(listed.contains(&i), "{line:?}: point {p:?} at {distance}");
                }
            }
            assert!(listed.len() < points.len() / 4, "a band, not the whole image");
        }
        let mut listed = Vec::new();
        grid.near_point(&[400.0, 300.0], 8.0, &mut listed);
        for (i, p) in points.iter().enumerate() {
            if (p[0] - 400.0).hypot(p[1] - 300.0) <= 8.0 {
                assert!(listed.contains(&i));
            }
        }
    }
}
