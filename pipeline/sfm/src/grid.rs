//! A grid over an image's keypoints, to list the few that lie near a
//! point or along a line (the candidates of guided matching).

use nalgebra::Vector3;

use crate::twoview::Point;

/// Keypoint indices bucketed by square cells, stored twice so that a run
/// of cells along a row or along a column is one slice: cells in row-major
/// order, and again in column-major order.
#[derive(Debug, Clone)]
pub struct Grid {
    cell: f64,
    columns: usize,
    rows: usize,
    row_major: Buckets,
    column_major: Buckets,
}

/// The point indices of every cell, cell after cell: those of cell `c` are
/// `indices[starts[c]..starts[c + 1]]`, in increasing order.
#[derive(Debug, Clone)]
struct Buckets {
    indices: Vec<usize>,
    starts: Vec<usize>,
}

impl Buckets {
    /// Buckets for points in cells `cells` (one index per point, below `count`).
    fn new(cells: &[usize], count: usize) -> Buckets {
        let mut starts = vec![0usize; count + 1];
        cells.iter().for_each(|&c| starts[c + 1] += 1);
        for c in 0..count {
            starts[c + 1] += starts[c];
        }
        let mut next = starts.clone();
        let mut indices = vec![0usize; cells.len()];
        for (i, &c) in cells.iter().enumerate() {
            indices[next[c]] = i;
            next[c] += 1;
        }
        Buckets { indices, starts }
    }

    /// The points of cells `first..=last`.
    fn cells(&self, first: usize, last: usize) -> &[usize] {
        &self.indices[self.starts[first]..self.starts[last + 1]]
    }
}

impl Grid {
    /// Buckets `points` (pixels, non-negative) in cells of `cell` pixels.
    pub fn new(points: &[Point], cell: f64) -> Grid {
        let (max_x, max_y) = points.iter().fold((0.0f64, 0.0f64), |(x, y), p| (x.max(p[0]), y.max(p[1])));
        let (columns, rows) = ((max_x / cell) as usize + 1, (max_y / cell) as usize + 1);
        let (column_of, row_of): (Vec<usize>, Vec<usize>) = points
            .iter()
            .map(|p| {
                (((p[0].max(0.0) / cell) as usize).min(columns - 1), ((p[1].max(0.0) / cell) as usize).min(rows - 1))
            })
            .unzip();
        let by_row: Vec<usize> = column_of.iter().zip(&row_of).map(|(&c, &r)| r * columns + c).collect();
        let by_column: Vec<usize> = column_of.iter().zip(&row_of).map(|(&c, &r)| c * rows + r).collect();
        Grid {
            cell,
            columns,
            rows,
            row_major: Buckets::new(&by_row, columns * rows),
            column_major: Buckets::new(&by_column, columns * rows),
        }
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
            out.extend_from_slice(self.row_major.cells(r * self.columns + c0, r * self.columns + c1));
        }
    }

    /// Appends the points of the cells within `half_width` pixels of the
    /// line `l.x x + l.y y + l.z = 0` to `out`.
    pub fn near_line(&self, l: &Vector3<f64>, half_width: f64, out: &mut Vec<usize>) {
        let norm = l.x.hypot(l.y);
        if norm < 1e-300 {
            return;
        }
        // Along `t` and across `s`, the line is `along t + across s + l.z =
        // 0` with |across| >= |along|, and the band `|along t + across s +
        // l.z| <= width`. It crosses few lines of cells across the line,
        // each over a run of cells along it: one slice per line of cells
        // (a row when the line is mostly horizontal, else a column).
        let mostly_horizontal = l.y.abs() >= l.x.abs();
        let (along, across, count_along, count_across, buckets) = if mostly_horizontal {
            (l.x, l.y, self.columns, self.rows, &self.row_major)
        } else {
            (l.y, l.x, self.rows, self.columns, &self.column_major)
        };
        let width = half_width * norm;
        let s_at = |t: f64| -(along * t + l.z) / across;
        let (first, last) = (s_at(0.0), s_at(count_along as f64 * self.cell));
        let slack = width / across.abs();
        let Some((b0, b1)) = self.span(first.min(last) - slack, first.max(last) + slack, count_across) else { return };
        for b in b0..=b1 {
            // The band's run along this line of cells: its ends are where
            // the band's edges cross the cells' two sides.
            let run = if along.abs() < 1e-12 * norm {
                Some((0, count_along - 1))
            } else {
                let t_at = |s: f64, edge: f64| (edge - across * s - l.z) / along;
                let (s0, s1) = (b as f64 * self.cell, (b + 1) as f64 * self.cell);
                let ends = [t_at(s0, -width), t_at(s0, width), t_at(s1, -width), t_at(s1, width)];
                let low = ends.iter().copied().fold(f64::INFINITY, f64::min);
                let high = ends.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                self.span(low, high, count_along)
            };
            if let Some((a0, a1)) = run {
                out.extend_from_slice(buckets.cells(b * count_along + a0, b * count_along + a1));
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
