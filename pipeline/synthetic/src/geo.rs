//! Local east-north-up metres to WGS 84 latitude, longitude and altitude,
//! around the site's origin (a spherical Earth is exact enough over a
//! few hundred metres).

/// Mean Earth radius used for the local frame, in metres.
pub const EARTH_RADIUS: f64 = 6_378_137.0;

/// The geographic origin of the synthetic site: Tân An, Long An.
pub const ORIGIN: (f64, f64, f64) = (10.5357, 106.4132, 2.0);

/// `(latitude, longitude, altitude)` of a point `east`, `north`, `up`
/// metres from `origin`.
pub fn enu_to_geodetic(origin: (f64, f64, f64), east: f64, north: f64, up: f64) -> (f64, f64, f64) {
    let (lat0, lon0, alt0) = origin;
    let lat = lat0 + (north / EARTH_RADIUS).to_degrees();
    let lon = lon0 + (east / (EARTH_RADIUS * lat0.to_radians().cos())).to_degrees();
    (lat, lon, alt0 + up)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_kilometre_north_is_about_0_009_degrees() {
        let (lat, lon, alt) = super::enu_to_geodetic(super::ORIGIN, 0.0, 1000.0, 5.0);
        assert!((lat - super::ORIGIN.0 - 0.008_983).abs() < 1e-5);
        assert_eq!(lon, super::ORIGIN.1);
        assert_eq!(alt, 7.0);
    }
}
