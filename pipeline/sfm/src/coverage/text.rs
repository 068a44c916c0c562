//! The coverage report as text for people, Vietnamese lines first, each
//! followed by its English.

use std::fmt::Write;

use super::{Coverage, Meeting, PhotoCoverage, WELL_SEEN};
use crate::orient::MAX_GPS_ERROR;
use crate::upright::UP_DOUBT_DEG;

/// Photos of a smaller model named in the text report.
const LISTED_PHOTOS: usize = 8;

impl Coverage {
    /// The names of model `m`'s photos, the first `LISTED_PHOTOS` of them
    /// and how many more.
    fn names_in_model(&self, m: usize) -> String {
        let names: Vec<&str> = self.photos.iter().filter(|p| p.model == Some(m)).map(|p| p.name.as_str()).collect();
        let mut listed = names.iter().take(LISTED_PHOTOS).copied().collect::<Vec<_>>().join(", ");
        if names.len() > LISTED_PHOTOS {
            let more = names.len() - LISTED_PHOTOS;
            listed += &format!(" … và {more} ảnh khác / and {more} more");
        }
        listed
    }

    /// The report as text for people, Vietnamese lines first, each
    /// followed by its English.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Đã dựng {} / {} ảnh, {} mô hình.", self.registered, self.photos_total, self.models.len());
        let _ = writeln!(
            s,
            "Registered {} of {} photos in {} model(s).",
            self.registered,
            self.photos_total,
            self.models.len()
        );
        if !self.unreadable.is_empty() {
            let _ = writeln!(s, "\nTệp không đọc được, đã bỏ qua / files that could not be read, left out:");
            for why in &self.unreadable {
                let _ = writeln!(s, "  {why}");
            }
        }
        self.write_models(&mut s);
        self.write_unregistered(&mut s);
        self.write_far_from_gps(&mut s);
        self.write_up_in_doubt(&mut s);
        self.write_turned(&mut s);
        self.write_weak_areas(&mut s);
        s
    }

    /// Each model's figures; past the first, its photos and where it comes
    /// nearest a larger one; then how many groups the photos fall into.
    fn write_models(&self, s: &mut String) {
        for (m, model) in self.models.iter().enumerate() {
            let _ = writeln!(
                s,
                "\nMô hình / model {m}: {} ảnh / photos, {} điểm / points, sai số chiếu lại / reprojection error {:.2} px, mỗi điểm thấy trong / photos per point {:.1}; {:.0} % điểm chỉ thấy trong 2 ảnh / of points seen by only 2 photos",
                model.photos,
                model.points,
                model.mean_error,
                model.mean_track_length,
                100.0 * model.weak_share
            );
            if m > 0 {
                let _ = writeln!(s, "  ảnh / photos: {}", self.names_in_model(m));
                let _ = match &model.meets {
                    Some(Meeting { model: k, photo, other, matches }) => writeln!(
                        s,
                        "  Gần mô hình {k} nhất ở {photo} – {other} ({matches} điểm khớp): chụp thêm ảnh giữa hai chỗ đứng đó.\n  Nearest model {k} at {photo} – {other} ({matches} verified matches): add photos between where those two were taken."
                    ),
                    None => writeln!(
                        s,
                        "  Không ảnh nào khớp với ảnh của mô hình lớn hơn: chụp thêm ảnh nối nhóm này với phần còn lại.\n  No photo matches a larger model's: add photos that link this group to the rest."
                    ),
                };
            }
        }
        if self.models.len() > 1 {
            let _ = writeln!(
                s,
                "\nẢnh tách thành {} nhóm không nối với nhau: chụp thêm ảnh ở chỗ chuyển giữa các nhóm.\nThe photos fall into {} groups that do not connect: add photos where one group meets the next.",
                self.models.len(),
                self.models.len()
            );
        }
    }

    /// The photos in no model, each with its reason and advice.
    fn write_unregistered(&self, s: &mut String) {
        let missing: Vec<&PhotoCoverage> = self.photos.iter().filter(|p| p.model.is_none()).collect();
        if !missing.is_empty() {
            let _ = writeln!(s, "\nẢnh không dựng được / photos not registered:");
            for photo in missing {
                let [vi, en] = photo.not_registered.as_ref().expect("set for photos in no model").advice();
                let _ = writeln!(s, "  {}\n    {vi}\n    {en}", photo.name);
            }
        }
    }

    /// The photos far from their GPS fix, and what that may mean.
    fn write_far_from_gps(&self, s: &mut String) {
        let astray: Vec<String> = self
            .photos
            .iter()
            .filter_map(|p| Some(format!("{} ({:.0} m)", p.name, p.gps_offset.filter(|&d| d > MAX_GPS_ERROR)?)))
            .collect();
        if !astray.is_empty() {
            let _ = writeln!(
                s,
                "\nẢnh nằm xa vị trí GPS của nó hơn {MAX_GPS_ERROR} m / photos farther than {MAX_GPS_ERROR} m from their GPS fix: {}\n  GPS của ảnh sai, hoặc mô hình đã chồng các phần trông giống nhau (nhà giống nhau, hai chái đối xứng) lên nhau: xem vị trí các ảnh này trong cảnh 3D; nếu sai, chụp thêm ảnh nối các phần đó, có cả cảnh xung quanh.\n  Either their GPS was poor, or the model stacked look-alike parts of the site (like buildings, symmetric wings) on one another: check where these photos sit in the 3D view; if they are misplaced, add photos that link those parts, with their surroundings in frame.",
                astray.join(", ")
            );
        }
    }

    /// A warning when the plane or line the cameras stand on says the
    /// model's up may be wrong.
    fn write_up_in_doubt(&self, s: &mut String) {
        if let Some(tilt) = self.camera_plane_tilt.filter(|&tilt| tilt > UP_DOUBT_DEG) {
            let _ = writeln!(
                s,
                "\nChiều đứng của mô hình có thể sai: các máy ảnh đứng trên một mặt phẳng nghiêng {tilt:.0}° so với mặt ngang. Nếu phần lớn ảnh chụp dọc mà không có thẻ hướng EXIF, hãy xoay thẳng chúng bằng ứng dụng ảnh rồi nộp lại.\nThe model's up may be wrong: its cameras stand on a plane {tilt:.0}° from level. If most photos were taken upright with no EXIF orientation tag, turn them upright in a photo app and hand them in again."
            );
        }
        if let Some(rise) = self.camera_line_rise.filter(|&rise| rise > UP_DOUBT_DEG) {
            let _ = writeln!(
                s,
                "\nChiều đứng của mô hình có thể sai: các máy ảnh xếp theo một đường dốc {rise:.0}° so với mặt ngang, như chồng lên nhau. Nếu ảnh được chụp khi đi bộ và phần lớn chụp dọc mà không có thẻ hướng EXIF, hãy xoay thẳng chúng bằng ứng dụng ảnh rồi nộp lại.\nThe model's up may be wrong: its cameras stand along a line rising {rise:.0}° from level, as if one above another. If the photos were taken on foot and most were taken upright with no EXIF orientation tag, turn them upright in a photo app and hand them in again."
            );
        }
    }

    /// The photos that show turned a quarter, and how to mend them.
    fn write_turned(&self, s: &mut String) {
        let turned: Vec<&str> = self.photos.iter().filter(|p| p.turn != 0).map(|p| p.name.as_str()).collect();
        if !turned.is_empty() {
            let _ = writeln!(
                s,
                "\nẢnh hiện bị xoay một góc vuông (không có thẻ hướng EXIF cho biết cách cầm máy) / photos that show turned a quarter (no EXIF orientation tag says how the camera was held): {}\n  Xoay thẳng chúng bằng ứng dụng ảnh (ứng dụng sẽ ghi thẻ hướng) rồi nộp lại.\n  Turn them upright in a photo app (which records the orientation tag) and hand them in again.",
                turned.join(", ")
            );
            if self.camera_wall_lean.is_some_and(|lean| lean <= UP_DOUBT_DEG) {
                let _ = writeln!(
                    s,
                    "  Các máy ảnh đứng thành hàng trên một mặt phẳng đứng và nhìn thẳng vào nó (như chụp mặt tiền từng hàng từ xe nâng): ảnh nào bị xoay chỉ đoán được từ cách cầm máy của các ảnh. Nếu chính những ảnh nêu trên mới là ảnh thẳng, mô hình đang nằm nghiêng: hãy xoay thẳng các ảnh còn lại thay vì chúng.\n  The cameras stood in rows over an upright plane, looking across it (as for a facade photographed row by row from a lift): which photos are turned could only be judged from how the photos were held. If the photos named are in fact the upright ones, the model lies on its side: turn the other photos upright instead."
                );
            }
        }
    }

    /// The areas too few photos see, and where to take more.
    fn write_weak_areas(&self, s: &mut String) {
        if !self.weak_areas.is_empty() {
            let _ = writeln!(
                s,
                "\nVùng ít ảnh (dưới {WELL_SEEN} ảnh thấy mỗi điểm) / areas seen by fewer than {WELL_SEEN} photos:"
            );
            for area in &self.weak_areas {
                let [x, y, z] = area.centre;
                let side = area.direction.map(|d| format!(", {d} side")).unwrap_or_default();
                let _ = writeln!(
                    s,
                    "  ({x:.1}, {y:.1}, {z:.1}){side}: {:.0} % của {} điểm / of {} points; thấy chủ yếu từ / seen mostly from {}",
                    100.0 * area.weak_share,
                    area.points,
                    area.points,
                    area.seen_by.join(", ")
                );
            }
            let _ = writeln!(
                s,
                "  Chụp thêm mỗi vùng từ hai bên chỗ đứng của các ảnh đó, vài bước mỗi bên.\n  Photograph each area again from a few steps to each side of where those photos were taken."
            );
        }
    }
}
