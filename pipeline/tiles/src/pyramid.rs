//! The image pyramid: the full image and its successive 2x2 box-filtered
//! halvings, down to 1x1.

use image::RgbImage;
use rayon::prelude::*;

/// Every level of a pyramid, from 1x1 (index 0) to the full image
/// (index `max_level`), as DZI numbers them.
pub struct Pyramid {
    levels: Vec<RgbImage>,
}

impl Pyramid {
    /// Builds the pyramid, each level from the one above by averaging 2x2
    /// blocks. At odd sizes the last column and row stand for fewer source
    /// pixels than the others, and are weighted by what they cover, so
    /// every level is the exact area average of the source.
    pub fn build(full: RgbImage) -> Pyramid {
        let mut levels = vec![full];
        let mut cover = Cover { full: 1, last_col: 1, last_row: 1 };
        loop {
            let last = levels.last().expect("never empty");
            if last.width() == 1 && last.height() == 1 {
                break;
            }
            let next = halve(last, cover);
            cover = cover.halved(last.width(), last.height());
            levels.push(next);
        }
        levels.reverse();
        Pyramid { levels }
    }

    /// The deepest level number (the full image).
    pub fn max_level(&self) -> u32 {
        self.levels.len() as u32 - 1
    }

    /// The image of DZI `level`.
    pub fn level(&self, level: u32) -> &RgbImage {
        &self.levels[level as usize]
    }

    /// The full image.
    pub fn full(&self) -> &RgbImage {
        self.levels.last().expect("never empty")
    }
}

/// How many source pixels (along one axis) a level's pixels stand for:
/// every pixel but the last covers `full`; the last column and row may
/// cover less.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cover {
    /// Source pixels per ordinary pixel.
    pub full: u64,
    /// Source columns of the last column.
    pub last_col: u64,
    /// Source rows of the last row.
    pub last_row: u64,
}

impl Cover {
    /// The cover of the next level down, for a `w` x `h` level.
    fn halved(self, w: u32, h: u32) -> Cover {
        let merge = |len: u32, last: u64| if len.is_multiple_of(2) && len > 1 { self.full + last } else { last };
        Cover { full: self.full * 2, last_col: merge(w, self.last_col), last_row: merge(h, self.last_row) }
    }
}

/// Halves an image (rounding up) by averaging 2x2 blocks, weighting each
/// pixel by how much of the source it stands for (`cover`).
pub fn halve(src: &RgbImage, cover: Cover) -> RgbImage {
    let (sw, sh) = src.dimensions();
    let (dw, dh) = (sw.div_ceil(2), sh.div_ceil(2));
    let mut dst = RgbImage::new(dw, dh);
    let stride = sw as usize * 3;
    let raw = src.as_raw();
    let col_weight = |x: usize| if x + 1 == sw as usize { cover.last_col } else { cover.full };
    let row_weight = |y: usize| if y + 1 == sh as usize { cover.last_row } else { cover.full };
    dst.par_chunks_mut(dw as usize * 3).enumerate().for_each(|(y, out)| {
        let y0 = 2 * y;
        let y1 = y0 + 1;
        let top = &raw[y0 * stride..(y0 + 1) * stride];
        let bottom = if y1 < sh as usize { Some(&raw[y1 * stride..(y1 + 1) * stride]) } else { None };
        // Interior: four equal weights when both rows are whole.
        let plain_rows = bottom.is_some() && y1 + 1 < sh as usize;
        let plain_cols = if sw.is_multiple_of(2) { (sw / 2) as usize - 1 } else { (sw / 2) as usize };
        let mut first_weighted = 0;
        if let (true, Some(bottom)) = (plain_rows, bottom) {
            for x in 0..plain_cols {
                for c in 0..3 {
                    let i = 6 * x + c;
                    let sum =
                        u16::from(top[i]) + u16::from(top[i + 3]) + u16::from(bottom[i]) + u16::from(bottom[i + 3]);
                    out[3 * x + c] = ((sum + 2) >> 2) as u8;
                }
            }
            first_weighted = plain_cols;
        }
        for x in first_weighted..dw as usize {
            let xs: &[usize] = if 2 * x + 1 < sw as usize { &[2 * x, 2 * x + 1] } else { &[2 * x] };
            let rows: Vec<(&[u8], u64)> =
                std::iter::once((top, row_weight(y0))).chain(bottom.map(|b| (b, row_weight(y1)))).collect();
            for c in 0..3 {
                let (mut sum, mut weight) = (0u64, 0u64);
                for &(row, wy) in &rows {
                    for &sx in xs {
                        let w = wy * col_weight(sx);
                        sum += w * u64::from(row[3 * sx + c]);
                        weight += w;
                    }
                }
                out[3 * x + c] = ((sum + weight / 2) / weight) as u8;
            }
        }
    });
    dst
}

/// Copies the pixels of `rect` out of `image` into a new image.
pub fn crop(image: &RgbImage, x: u32, y: u32, w: u32, h: u32) -> RgbImage {
    let stride = image.width() as usize * 3;
    let raw = image.as_raw();
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for row in y..y + h {
        let start = row as usize * stride + x as usize * 3;
        out.extend_from_slice(&raw[start..start + w as usize * 3]);
    }
    RgbImage::from_raw(w, h, out).expect("the buffer has w*h pixels")
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn halving_averages_blocks_and_edges() {
        let src = RgbImage::from_fn(3, 3, |x, y| Rgb([(x * 10 + y * 100) as u8, 0, 255]));
        let half = halve(&src, Cover { full: 1, last_col: 1, last_row: 1 });
        assert_eq!(half.dimensions(), (2, 2));
        assert_eq!(half.get_pixel(0, 0).0, [55, 0, 255]); // (0+10+100+110)/4
        assert_eq!(half.get_pixel(1, 0).0, [70, 0, 255]); // (20+120)/2
        assert_eq!(half.get_pixel(0, 1).0, [205, 0, 255]); // (200+210)/2
        assert_eq!(half.get_pixel(1, 1).0, [220, 0, 255]);
    }

    #[test]
    fn odd_sizes_weigh_partial_pixels_by_their_cover() {
        // 3 source columns: the 2x1 level has a whole pixel (cols 0-1) and
        // a half one (col 2); the 1x1 level must be the mean of all three.
        let src = RgbImage::from_fn(3, 1, |x, _| Rgb([[0, 30, 90][x as usize], 0, 0]));
        let p = Pyramid::build(src);
        assert_eq!(p.level(1).dimensions(), (2, 1));
        assert_eq!(p.level(0).get_pixel(0, 0).0[0], 40);
    }

    #[test]
    fn pyramids_reach_one_pixel() {
        for (w, h) in [(1, 1), (257, 3), (255, 256)] {
            let p = Pyramid::build(RgbImage::new(w, h));
            assert_eq!(p.max_level(), crate::grid::max_level(w, h), "{w}x{h}");
            for level in 0..=p.max_level() {
                assert_eq!(p.level(level).dimensions(), crate::grid::level_size(w, h, level));
            }
        }
    }

    #[test]
    fn crop_copies_the_right_pixels() {
        let src = RgbImage::from_fn(10, 10, |x, y| Rgb([x as u8, y as u8, 0]));
        let c = crop(&src, 3, 4, 2, 3);
        assert_eq!(c.dimensions(), (2, 3));
        assert_eq!(c.get_pixel(1, 2).0, [4, 6, 0]);
    }
}
