//! GPS positions as local metres: WGS84 latitude, longitude and altitude
//! to east-north-up coordinates about an origin.

/// WGS84 semi-major axis in metres.
const A: f64 = 6_378_137.0;
/// WGS84 first eccentricity squared.
const E2: f64 = 6.694_379_990_14e-3;

/// Earth-centred, earth-fixed coordinates of a geodetic position (degrees,
/// metres).
pub fn geodetic_to_ecef(latitude: f64, longitude: f64, altitude: f64) -> [f64; 3] {
    let (lat, lon) = (latitude.to_radians(), longitude.to_radians());
    let n = A / (1.0 - E2 * lat.sin().powi(2)).sqrt();
    [
        (n + altitude) * lat.cos() * lon.cos(),
        (n + altitude) * lat.cos() * lon.sin(),
        (n * (1.0 - E2) + altitude) * lat.sin(),
    ]
}

/// East, north, up metres of `point` from `origin`, both geodetic
/// (latitude, longitude in degrees, altitude in metres).
pub fn geodetic_to_enu(origin: (f64, f64, f64), point: (f64, f64, f64)) -> [f64; 3] {
    let o = geodetic_to_ecef(origin.0, origin.1, origin.2);
    let p = geodetic_to_ecef(point.0, point.1, point.2);
    let d = [p[0] - o[0], p[1] - o[1], p[2] - o[2]];
    let (lat, lon) = (origin.0.to_radians(), origin.1.to_radians());
    let (sl, cl, so, co) = (lat.sin(), lat.cos(), lon.sin(), lon.cos());
    [-so * d[0] + co * d[1], -sl * co * d[0] - sl * so * d[1] + cl * d[2], cl * co * d[0] + cl * so * d[1] + sl * d[2]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_offsets_match_the_local_flat_earth() {
        let origin = (10.5357, 106.4132, 2.0);
        let e = geodetic_to_enu(origin, (10.5357, 106.4132 + 0.001, 2.0));
        // One thousandth of a degree of longitude at 10.5 deg N: ~109.5 m.
        assert!((e[0] - 109.5).abs() < 0.5 && e[1].abs() < 0.01 && e[2].abs() < 0.01, "{e:?}");
        let n = geodetic_to_enu(origin, (10.5357 + 0.001, 106.4132, 12.0));
        assert!((n[1] - 110.6).abs() < 0.5 && (n[2] - 10.0).abs() < 0.01, "{n:?}");
    }
}
