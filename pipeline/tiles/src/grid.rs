//! The arithmetic of pyramids and tile grids, shared by DZI and IIIF.
//!
//! Level `max_level` is the full image; each level below halves it,
//! rounding up, down to 1x1 at level 0. A IIIF scale factor `2^k` is the
//! same image as DZI level `max_level - k`.

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

/// The deepest DZI level: `ceil(log2(max(width, height)))` (0 for 1x1).
pub fn max_level(width: u32, height: u32) -> u32 {
    let longest = width.max(height).max(1);
    u32::BITS - (longest - 1).leading_zeros()
}

/// The size of the image shrunk by `2^shift`, rounding up.
pub fn shrunk_size(width: u32, height: u32, shift: u32) -> (u32, u32) {
    let shrink = |v: u32| if shift >= 32 { 1 } else { v.div_ceil(1 << shift).max(1) };
    (shrink(width), shrink(height))
}

/// The size of DZI `level` of a `width` x `height` image.
pub fn level_size(width: u32, height: u32, level: u32) -> (u32, u32) {
    shrunk_size(width, height, max_level(width, height) - level)
}

/// Number of tiles across and down a `w` x `h` level with `tile`-pixel tiles.
pub fn tile_counts(w: u32, h: u32, tile: u32) -> (u32, u32) {
    (w.div_ceil(tile), h.div_ceil(tile))
}

/// The pixels DZI tile (`col`, `row`) covers in a `w` x `h` level: its
/// `tile` x `tile` cell plus `overlap` pixels on each inner edge, clipped
/// to the level.
pub fn dzi_tile_rect(w: u32, h: u32, tile: u32, overlap: u32, col: u32, row: u32) -> Rect {
    let span = |start_cell: u32, len: u32| {
        let start = (start_cell * tile).saturating_sub(if start_cell > 0 { overlap } else { 0 });
        let end = ((start_cell + 1) * tile + overlap).min(len);
        (start, end - start)
    };
    let (x, cw) = span(col, w);
    let (y, ch) = span(row, h);
    Rect { x, y, w: cw, h: ch }
}

/// IIIF scale factors 1, 2, 4, ... up to the first at which the whole
/// image fits in one tile.
pub fn iiif_scale_factors(width: u32, height: u32, tile: u32) -> Vec<u32> {
    let mut factors = vec![1u32];
    while {
        let s = *factors.last().expect("never empty");
        let (w, h) = shrunk_size(width, height, s.trailing_zeros());
        w > tile || h > tile
    } {
        factors.push(factors.last().expect("never empty") * 2);
    }
    factors
}

/// One IIIF tile: the full-resolution region and the size it is served at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IiifTile {
    /// Region of the full image.
    pub region: Rect,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// The same pixels in the image shrunk by the scale factor.
    pub in_level: Rect,
}

/// Every tile IIIF clients request at scale factor `scale` (a power of 2).
pub fn iiif_tiles(width: u32, height: u32, tile: u32, scale: u32) -> Vec<IiifTile> {
    let (lw, lh) = shrunk_size(width, height, scale.trailing_zeros());
    let (cols, rows) = tile_counts(lw, lh, tile);
    let step = tile * scale;
    let mut tiles = Vec::with_capacity((cols * rows) as usize);
    for row in 0..rows {
        for col in 0..cols {
            let (x, y) = (col * step, row * step);
            let region = Rect { x, y, w: step.min(width - x), h: step.min(height - y) };
            let in_level =
                Rect { x: col * tile, y: row * tile, w: tile.min(lw - col * tile), h: tile.min(lh - row * tile) };
            tiles.push(IiifTile { region, width: in_level.w, height: in_level.h, in_level });
        }
    }
    tiles
}

/// The canonical IIIF 3.0 path of a tile or size of a `width` x `height`
/// image: `{region}/{size}/0/default.jpg`, with `full` for the whole
/// region and `max` for the whole image at full size.
pub fn iiif_path(width: u32, height: u32, region: Rect, out_w: u32, out_h: u32) -> String {
    let whole = region == Rect { x: 0, y: 0, w: width, h: height };
    let region_part =
        if whole { "full".to_string() } else { format!("{},{},{},{}", region.x, region.y, region.w, region.h) };
    let size_part =
        if whole && (out_w, out_h) == (width, height) { "max".to_string() } else { format!("{out_w},{out_h}") };
    format!("{region_part}/{size_part}/0/default.jpg")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Level count and sizes from the definitions, for awkward sizes.
    #[test]
    fn levels_follow_the_dzi_formulas() {
        let cases = [((1, 1), 0), ((255, 256), 8), ((257, 3), 9), ((5000, 3000), 13), ((12289, 4097), 14)];
        for ((w, h), levels) in cases {
            assert_eq!(max_level(w, h), levels, "{w}x{h}");
            assert_eq!(level_size(w, h, levels), (w, h));
            assert_eq!(level_size(w, h, 0), (1, 1));
            for level in 0..=levels {
                let scale = 2f64.powi((levels - level) as i32);
                let want = ((f64::from(w) / scale).ceil() as u32, (f64::from(h) / scale).ceil() as u32);
                assert_eq!(level_size(w, h, level), want, "{w}x{h} level {level}");
            }
        }
    }

    #[test]
    fn dzi_tiles_cover_each_level_with_inner_overlap_only() {
        for (w, h) in [(1, 1), (255, 256), (257, 3), (5000, 3000), (12289, 4097)] {
            for level in 0..=max_level(w, h) {
                let (lw, lh) = level_size(w, h, level);
                let (cols, rows) = tile_counts(lw, lh, 254);
                let mut covered = 0u64;
                for row in 0..rows {
                    for col in 0..cols {
                        let r = dzi_tile_rect(lw, lh, 254, 1, col, row);
                        let left = u32::from(col > 0);
                        let right = u32::from(col + 1 < cols);
                        let top = u32::from(row > 0);
                        let bottom = u32::from(row + 1 < rows);
                        let cell_w = 254.min(lw - col * 254);
                        let cell_h = 254.min(lh - row * 254);
                        assert_eq!(r.w, cell_w + left + right, "{w}x{h} L{level} c{col} r{row}");
                        assert_eq!(r.h, cell_h + top + bottom);
                        assert_eq!(r.x, col * 254 - left);
                        assert!(r.x + r.w <= lw && r.y + r.h <= lh);
                        covered += u64::from(cell_w) * u64::from(cell_h);
                    }
                }
                assert_eq!(covered, u64::from(lw) * u64::from(lh));
            }
        }
    }

    #[test]
    fn a_5000_by_3000_level_13_has_20_by_12_tiles() {
        assert_eq!(tile_counts(5000, 3000, 254), (20, 12));
        assert_eq!(dzi_tile_rect(5000, 3000, 254, 1, 19, 11), Rect { x: 4825, y: 2793, w: 175, h: 207 });
    }

    #[test]
    fn iiif_tiles_match_their_regions() {
        assert_eq!(iiif_scale_factors(255, 256, 512), vec![1]);
        assert_eq!(iiif_scale_factors(12289, 4097, 512), vec![1, 2, 4, 8, 16, 32]);
        assert_eq!(iiif_scale_factors(1, 1, 512), vec![1]);
        for (w, h) in [(1, 1), (255, 256), (257, 3), (5000, 3000), (12289, 4097)] {
            for s in iiif_scale_factors(w, h, 512) {
                let tiles = iiif_tiles(w, h, 512, s);
                let area: u64 = tiles.iter().map(|t| u64::from(t.region.w) * u64::from(t.region.h)).sum();
                assert_eq!(area, u64::from(w) * u64::from(h));
                for t in &tiles {
                    assert_eq!(t.width, t.region.w.div_ceil(s), "{w}x{h} s{s}");
                    assert_eq!(t.height, t.region.h.div_ceil(s));
                }
            }
        }
    }

    #[test]
    fn iiif_paths_are_canonical() {
        let whole = Rect { x: 0, y: 0, w: 300, h: 200 };
        assert_eq!(iiif_path(300, 200, whole, 300, 200), "full/max/0/default.jpg");
        assert_eq!(iiif_path(300, 200, whole, 150, 100), "full/150,100/0/default.jpg");
        let part = Rect { x: 0, y: 0, w: 512, h: 512 };
        assert_eq!(iiif_path(5000, 3000, part, 512, 512), "0,0,512,512/512,512/0/default.jpg");
    }
}
