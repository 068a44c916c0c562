//! Sparse direct solution of symmetric positive definite systems whose
//! nonzeros lie near the diagonal once reordered: reverse Cuthill–McKee
//! ordering of a graph, and Cholesky factorisation in envelope (profile)
//! storage, where row `i` keeps its columns from its first nonzero to the
//! diagonal. Bundle adjustment's reduced camera system is such a matrix:
//! photos taken one after another along a walk see the same points, so
//! after ordering the fill stays in a narrow band and the cost grows with
//! the photos times the band squared instead of the photos cubed.

use rayon::prelude::*;

/// An ordering of the nodes of a graph (given by adjacency lists) that
/// keeps neighbours close: reverse Cuthill–McKee, each connected part
/// started from a pseudo-peripheral node. `order[k]` is the node put at `k`.
pub fn reverse_cuthill_mckee(adjacency: &[Vec<usize>]) -> Vec<usize> {
    let n = adjacency.len();
    let degree = |v: usize| adjacency[v].len();
    let mut order = Vec::with_capacity(n);
    let mut placed = vec![false; n];
    let mut seeds: Vec<usize> = (0..n).collect();
    seeds.sort_by_key(|&v| degree(v));
    for seed in seeds {
        if placed[seed] {
            continue;
        }
        let start = pseudo_peripheral(adjacency, seed);
        let mut head = order.len();
        placed[start] = true;
        order.push(start);
        while head < order.len() {
            let v = order[head];
            head += 1;
            let mut next: Vec<usize> = adjacency[v].iter().copied().filter(|&w| !placed[w]).collect();
            next.sort_by_key(|&w| degree(w));
            next.dedup();
            for w in next {
                placed[w] = true;
                order.push(w);
            }
        }
    }
    order.reverse();
    order
}

/// Breadth-first levels from `root` within its connected part.
fn levels(adjacency: &[Vec<usize>], root: usize) -> Vec<Vec<usize>> {
    let mut seen = std::collections::HashSet::from([root]);
    let mut levels = vec![vec![root]];
    loop {
        let mut next = Vec::new();
        for &v in levels.last().expect("at least the root") {
            for &w in &adjacency[v] {
                if seen.insert(w) {
                    next.push(w);
                }
            }
        }
        if next.is_empty() {
            return levels;
        }
        levels.push(next);
    }
}

/// A node far from the others in `seed`'s connected part (George and Liu):
/// from the seed, move to the least connected node of the last
/// breadth-first level while that makes the level structure deeper.
fn pseudo_peripheral(adjacency: &[Vec<usize>], seed: usize) -> usize {
    let mut root = seed;
    let mut depth = levels(adjacency, root).len();
    for _ in 0..8 {
        let last = levels(adjacency, root).pop().expect("at least the root");
        let candidate = *last.iter().min_by_key(|&&v| adjacency[v].len()).expect("levels are not empty");
        let candidate_depth = levels(adjacency, candidate).len();
        if candidate_depth <= depth {
            break;
        }
        (root, depth) = (candidate, candidate_depth);
    }
    root
}

/// Rows per tile of the blocked factorisation: the factor is computed a
/// tile of rows at a time, with matrix products between tiles.
const TILE: usize = 32;

/// Columns left of a panel from which its rows are eliminated in two
/// halves at once.
const PARALLEL_COLUMNS: usize = 256;

/// A symmetric matrix kept by its lower envelope, in tiles of `TILE`
/// rows: the rows of a tile store the same columns, from the tile's first
/// nonzero (rounded down to a tile boundary) to the tile's last row, so
/// that the factorisation works on dense tiles with matrix products.
/// After [`Envelope::factor`] it holds the Cholesky factor `L` (with
/// `L Lᵀ` the matrix) in the same place; what lies above the diagonal
/// is then meaningless.
pub struct Envelope {
    /// First stored column of each row (the same for a tile's rows).
    first: Vec<usize>,
    /// Where each row's first stored value sits in `values`, then the size.
    start: Vec<usize>,
    values: Vec<f64>,
}

impl Envelope {
    /// A zero matrix whose row `i` may hold nonzeros from column
    /// `first[i]` (at most `i`) to the diagonal.
    pub fn zeros(first: Vec<usize>) -> Envelope {
        let n = first.len();
        let mut padded = Vec::with_capacity(n);
        let mut start = Vec::with_capacity(n + 1);
        let mut size = 0;
        for r0 in (0..n).step_by(TILE) {
            let r1 = (r0 + TILE).min(n);
            for (i, &f) in first.iter().enumerate().take(r1).skip(r0) {
                assert!(f <= i, "row {i} starts after its diagonal");
            }
            let from = first[r0..r1].iter().min().map_or(r0, |&f| f / TILE * TILE);
            for _ in r0..r1 {
                padded.push(from);
                start.push(size);
                size += r1 - from;
            }
        }
        start.push(size);
        Envelope { first: padded, start, values: vec![0.0; size] }
    }

    /// Multiply-adds the factorisation will take: about the sum over rows
    /// of half their stored length squared.
    pub fn factor_cost(first: &[usize]) -> f64 {
        first.iter().enumerate().map(|(i, &f)| ((i - f) as f64).powi(2) / 2.0).sum()
    }

    fn index(&self, i: usize, j: usize) -> usize {
        debug_assert!(j <= i && j >= self.first[i], "({i}, {j}) is outside the envelope");
        self.start[i] + j - self.first[i]
    }

    /// Adds `value` at (`i`, `j`) and so at (`j`, `i`); adding both halves
    /// of a symmetric matrix is the caller's choice, so only `i >= j` counts.
    pub fn add_lower(&mut self, i: usize, j: usize, value: f64) {
        if i >= j {
            let k = self.index(i, j);
            self.values[k] += value;
        }
    }

    /// Fills rows `bounds[k]..bounds[k + 1]` by `fill(k, rows)` for every
    /// `k`, in parallel (each call writes only its own rows).
    pub fn fill_rows(&mut self, bounds: &[usize], fill: impl Fn(usize, &mut RowBlock) + Sync) {
        let Envelope { first, start, values } = self;
        let mut rest: &mut [f64] = values;
        let mut blocks = Vec::with_capacity(bounds.len());
        for (k, pair) in bounds.windows(2).enumerate() {
            let (mine, others) = rest.split_at_mut(start[pair[1]] - start[pair[0]]);
            rest = others;
            blocks.push((k, RowBlock { row0: pair[0], first, start, values: mine }));
        }
        blocks.into_par_iter().for_each(|(k, mut rows)| fill(k, &mut rows));
    }

    /// Cholesky factorisation in place, a tile of rows at a time (left
    /// looking): each tile is updated by the factored tiles it overlaps
    /// (matrix products), solved against their diagonal blocks, then its
    /// own diagonal block is factored. False if the matrix is not
    /// positive definite.
    pub fn factor(&mut self) -> bool {
        let n = self.first.len();
        for r0 in (0..n).step_by(TILE) {
            let (m, from) = ((r0 + TILE).min(n) - r0, self.first[r0]);
            let width = self.start[r0 + 1] - self.start[r0];
            let (done, rest) = self.values.split_at_mut(self.start[r0]);
            let panel = &mut rest[..m * width];
            let factored = Factored { done, first: &self.first, start: &self.start, from, r0, width };
            // The panel's rows are independent until its diagonal block:
            // two halves at once when there is enough work for it.
            if r0 - from >= PARALLEL_COLUMNS {
                let (top, bottom) = panel.split_at_mut(m / 2 * width);
                rayon::join(|| factored.eliminate(top), || factored.eliminate(bottom));
            } else {
                factored.eliminate(panel);
            }
            // The diagonal block minus the products of the tile's rows.
            if from < r0 {
                // SAFETY: the panel's columns from..r0 are read, r0..r0 + m
                // written; the strides keep every access inside `panel`.
                unsafe {
                    let base = panel.as_mut_ptr();
                    let rows = (base.cast_const(), width);
                    subtract_product(m, r0 - from, m, rows, rows, (base.add(r0 - from), width));
                }
            }
            for i in 0..m {
                let (above, row_i) = panel.split_at_mut(i * width);
                let row_i = &mut row_i[r0 - from..r0 - from + i + 1];
                for j in 0..i {
                    let row_j = &above[j * width + r0 - from..];
                    row_i[j] = (row_i[j] - dot(&row_i[..j], &row_j[..j])) / row_j[j];
                }
                let d = row_i[i] - dot(&row_i[..i], &row_i[..i]);
                if !(d > 0.0 && d.is_finite()) {
                    return false;
                }
                row_i[i] = d.sqrt();
            }
        }
        true
    }

    /// Solves `L Lᵀ x = b` in place with the factor from [`Envelope::factor`].
    pub fn solve(&self, b: &mut [f64]) {
        let n = self.first.len();
        for i in 0..n {
            let fi = self.first[i];
            let row = &self.values[self.start[i]..self.start[i] + i - fi + 1];
            b[i] = (b[i] - dot(&row[..i - fi], &b[fi..i])) / row[i - fi];
        }
        for i in (0..n).rev() {
            let fi = self.first[i];
            let row = &self.values[self.start[i]..self.start[i] + i - fi + 1];
            b[i] /= row[i - fi];
            let xi = b[i];
            for (bk, l) in b[fi..i].iter_mut().zip(&row[..i - fi]) {
                *bk -= l * xi;
            }
        }
    }
}

/// The factored rows before a panel (rows `r0..` of `width` stored
/// values from column `from`), against which the panel's rows are solved.
struct Factored<'a> {
    done: &'a [f64],
    first: &'a [usize],
    start: &'a [usize],
    from: usize,
    r0: usize,
    width: usize,
}

impl Factored<'_> {
    /// Turns some of the panel's `rows` (whole rows) into rows of `L` left
    /// of the panel's diagonal block: each tile of columns minus the
    /// products over the columns before it, then solved against that
    /// tile's diagonal block.
    fn eliminate(&self, rows: &mut [f64]) {
        let Factored { done, first, start, from, r0, width } = *self;
        let m = rows.len() / width;
        for c0 in (from..r0).step_by(TILE) {
            let (c_from, c_width) = (first[c0], start[c0 + 1] - start[c0]);
            let tile = &done[start[c0]..start[c0] + TILE * c_width];
            let k0 = from.max(c_from);
            if k0 < c0 {
                // SAFETY: the rows' columns k0..c0 (read) and c0..c0 + TILE
                // (written) do not overlap; the strides keep every access
                // inside `rows` and `tile`.
                unsafe {
                    let base = rows.as_mut_ptr();
                    let a = (base.add(k0 - from).cast_const(), width);
                    let b = (tile.as_ptr().add(k0 - c_from), c_width);
                    subtract_product(m, c0 - k0, TILE, a, b, (base.add(c0 - from), width));
                }
            }
            for r in 0..m {
                let row = &mut rows[r * width + c0 - from..r * width + c0 - from + TILE];
                for j in 0..TILE {
                    let l = &tile[j * c_width + c0 - c_from..];
                    row[j] = (row[j] - dot(&row[..j], &l[..j])) / l[j];
                }
            }
        }
    }
}

/// Some consecutive rows of an [`Envelope`], to fill.
pub struct RowBlock<'a> {
    /// The first of these rows.
    row0: usize,
    first: &'a [usize],
    start: &'a [usize],
    values: &'a mut [f64],
}

impl RowBlock<'_> {
    /// Adds `value(r, c)` at row `row + r` and column `column + c` for
    /// `r < rows`, `c < columns`, where that lies on or below the diagonal
    /// (rows must be in this block, columns in the envelope).
    pub fn add_block(
        &mut self,
        row: usize,
        column: usize,
        rows: usize,
        columns: usize,
        value: impl Fn(usize, usize) -> f64,
    ) {
        let base = self.start[self.row0];
        for r in 0..rows {
            let i = row + r;
            if column > i {
                continue;
            }
            debug_assert!(column >= self.first[i], "({i}, {column}) is outside the envelope");
            let at = self.start[i] - base + column - self.first[i];
            for c in 0..columns.min(i - column + 1) {
                self.values[at + c] += value(r, c);
            }
        }
    }

    /// Subtracts `A Bᵀ` from the `N` x `N` block at `row`, `column`, where
    /// `A` and `B` are `N` x `K` given by their columns (`a[k][r]`; `B` in
    /// any precision, summed in double); only the part on or below the
    /// diagonal is stored.
    pub fn subtract_outer<T: Copy + Into<f64>, const N: usize, const K: usize>(
        &mut self,
        row: usize,
        column: usize,
        a: &[[f64; N]; K],
        b: &[[T; N]; K],
    ) {
        let b = b.map(|column| column.map(Into::into));
        if column + N > row {
            self.add_block(row, column, N, N, |r, c| -(0..K).map(|k| a[k][r] * b[k][c]).sum::<f64>());
            return;
        }
        let base = self.start[self.row0];
        for (r, i) in (row..row + N).enumerate() {
            debug_assert!(column >= self.first[i], "({i}, {column}) is outside the envelope");
            let at = self.start[i] - base + column - self.first[i];
            let values: &mut [f64; N] = (&mut self.values[at..at + N]).try_into().expect("N values");
            for (c, value) in values.iter_mut().enumerate() {
                for k in 0..K {
                    *value -= a[k][r] * b[k][c];
                }
            }
        }
    }
}

/// `C -= A Bᵀ` for row-major blocks given by their first element and row
/// stride: `A` is `m` x `k`, `B` is `n` x `k`, `C` is `m` x `n`.
///
/// # Safety
/// Every row must lie inside its buffer, and `C` must not overlap `A` or `B`.
unsafe fn subtract_product(
    m: usize,
    k: usize,
    n: usize,
    (a, a_stride): (*const f64, usize),
    (b, b_stride): (*const f64, usize),
    (c, c_stride): (*mut f64, usize),
) {
    // SAFETY: as the caller promises.
    unsafe {
        matrixmultiply::dgemm(
            m,
            k,
            n,
            -1.0,
            a,
            a_stride as isize,
            1,
            b,
            1,
            b_stride as isize,
            1.0,
            c,
            c_stride as isize,
            1,
        );
    }
}

/// Dot product with four running sums, which the compiler vectorises.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0; 4];
    let (a4, a_rest) = a.split_at(a.len() / 4 * 4);
    let (b4, b_rest) = b.split_at(a4.len());
    for (x, y) in a4.chunks_exact(4).zip(b4.chunks_exact(4)) {
        for k in 0..4 {
            sums[k] += x[k] * y[k];
        }
    }
    let rest: f64 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    sums[0] + sums[1] + sums[2] + sums[3] + rest
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{DMatrix, DVector};

    /// A ring of `n` nodes, each joined to the `reach` nodes on either side.
    fn ring(n: usize, reach: usize) -> Vec<Vec<usize>> {
        (0..n).map(|v| (1..=reach).flat_map(|d| [(v + d) % n, (v + n - d) % n]).collect()).collect()
    }

    /// Widest distance between neighbours under `order`.
    fn bandwidth(adjacency: &[Vec<usize>], order: &[usize]) -> usize {
        let mut position = vec![0; order.len()];
        for (k, &v) in order.iter().enumerate() {
            position[v] = k;
        }
        adjacency
            .iter()
            .enumerate()
            .flat_map(|(v, ws)| ws.iter().map(move |&w| (v, w)))
            .map(|(v, w)| position[v].abs_diff(position[w]))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn ordering_keeps_a_shuffled_ring_narrow() {
        let n = 200;
        // The ring's nodes numbered in a scrambled order.
        let label: Vec<usize> = (0..n).map(|v| (v * 73) % n).collect();
        let mut adjacency = vec![Vec::new(); n];
        for (v, ws) in ring(n, 3).into_iter().enumerate() {
            adjacency[label[v]] = ws.into_iter().map(|w| label[w]).collect();
        }
        let order = reverse_cuthill_mckee(&adjacency);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "a permutation");
        assert!(bandwidth(&adjacency, &(0..n).collect::<Vec<_>>()) > 100);
        // A ring opened at one node runs both ways: twice the reach, plus one.
        assert!(bandwidth(&adjacency, &order) <= 7, "bandwidth {}", bandwidth(&adjacency, &order));
    }

    #[test]
    fn ordering_covers_disconnected_parts() {
        let adjacency = vec![vec![1], vec![0], vec![], vec![4], vec![3]];
        let mut order = reverse_cuthill_mckee(&adjacency);
        order.sort_unstable();
        assert_eq!(order, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn envelope_cholesky_solves_like_dense() {
        // Positive definite matrices whose rows start at varied columns,
        // with a dense last row and column (like intrinsics shared by every
        // photo); sizes below, at and across several tiles, and (333) with
        // tiles far enough from the first column to be solved in two halves.
        for n in [5, 60, 64, 157, 333] {
            let mut dense = DMatrix::<f64>::zeros(n, n);
            let mut first = vec![0; n];
            for i in 0..n {
                first[i] = if i == n - 1 || i % 97 == 96 { 0 } else { i.saturating_sub(1 + (i * 7) % 45) };
                for j in first[i]..i {
                    let v = ((i * 7 + j * 13) % 11) as f64 / 11.0 - 0.5;
                    dense[(i, j)] = v;
                    dense[(j, i)] = v;
                }
            }
            for i in 0..n {
                // Diagonally dominant.
                dense[(i, i)] = dense.row(i).iter().map(|v| v.abs()).sum::<f64>() + 1.0 + (i % 5) as f64;
            }
            let mut envelope = Envelope::zeros(first.clone());
            for i in 0..n {
                for j in first[i]..=i {
                    envelope.add_lower(i, j, dense[(i, j)]);
                    if j < i {
                        // The upper half is left out.
                        envelope.add_lower(j, i, dense[(i, j)]);
                    }
                }
            }
            let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
            let expected = dense.clone().cholesky().unwrap().solve(&DVector::from_column_slice(&b));
            assert!(envelope.factor());
            let mut x = b.clone();
            envelope.solve(&mut x);
            for i in 0..n {
                assert!((x[i] - expected[i]).abs() < 1e-12, "n {n}: x[{i}] = {} vs {}", x[i], expected[i]);
            }
        }
    }

    #[test]
    fn rows_filled_in_parallel_blocks_equal_entries_added_one_by_one() {
        // As in the reduced camera system, a block's rows start at one column.
        let first = vec![0, 0, 1, 1, 1, 0];
        let bounds = [0, 2, 5, 6];
        let value = |i: usize, j: usize| (i * 10 + j) as f64;
        let mut by_entry = Envelope::zeros(first.clone());
        for (i, &f) in first.iter().enumerate() {
            for j in f..=i {
                by_entry.add_lower(i, j, value(i, j));
            }
        }
        let mut by_rows = Envelope::zeros(first.clone());
        by_rows.fill_rows(&bounds, |k, rows| {
            // Each block adds its rows in two column pieces, overlapping
            // the diagonal (which must be cut off).
            let (r0, r1) = (bounds[k], bounds[k + 1]);
            let f = first[r0];
            rows.add_block(r0, f, r1 - r0, 1, |r, c| value(r0 + r, f + c));
            rows.add_block(r0, f + 1, r1 - r0, 6, |r, c| value(r0 + r, f + 1 + c));
        });
        assert_eq!(by_rows.values, by_entry.values);
    }

    #[test]
    fn outer_products_subtract_below_the_diagonal_only() {
        // Two blocks of 2 rows; products A Bᵀ of 2x3 factors, one block
        // left of the diagonal and one on it (its upper part not stored).
        let first = vec![0; 4];
        let a = [[1.0, 2.0], [3.0, -1.0], [0.5, 4.0]];
        let b = [[-2.0, 1.0], [0.0, 3.0], [2.5, -1.5]];
        let product = |r: usize, c: usize| (0..3).map(|k| a[k][r] * b[k][c]).sum::<f64>();
        let mut expected = Envelope::zeros(first.clone());
        let mut found = Envelope::zeros(first);
        for (row, column) in [(2, 0), (2, 2)] {
            for r in 0..2 {
                for c in 0..2 {
                    if column + c <= row + r {
                        expected.add_lower(row + r, column + c, -product(r, c));
                    }
                }
            }
        }
        found.fill_rows(&[0, 2, 4], |k, rows| {
            if k == 1 {
                rows.subtract_outer(2, 0, &a, &b);
                rows.subtract_outer(2, 2, &a, &b);
            }
        });
        assert_eq!(found.values, expected.values);
    }

    #[test]
    fn envelope_cholesky_refuses_an_indefinite_matrix() {
        let mut envelope = Envelope::zeros(vec![0, 0]);
        envelope.add_lower(0, 0, 1.0);
        envelope.add_lower(1, 0, 2.0);
        envelope.add_lower(1, 1, 1.0);
        assert!(!envelope.factor());
    }
}
