//! Colour maps: a perceptually ordered sequential map (viridis anchors, linearly
//! interpolated) for heatmaps, a categorical palette for series, and the seed colouring of the
//! paired scatter panels.

use plotters::style::RGBColor;

/// Anchor colours of matplotlib's viridis map at 0, 1/8, ..., 1.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// Viridis colour of `t` in `[0, 1]` (clamped).
pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let lerp = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

/// Ten well-separated categorical colours (Tableau 10).
pub const CATEGORICAL: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Categorical colour `i` (cycles after ten).
pub fn categorical(i: usize) -> RGBColor {
    CATEGORICAL[i % CATEGORICAL.len()]
}

/// HSL to RGB, `h` in degrees, `s` and `l` in `[0, 1]`.
pub fn hsl(h: f64, s: f64, l: f64) -> RGBColor {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = h.rem_euclid(360.0) / 60.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let to = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    RGBColor(to(r), to(g), to(b))
}

/// One colour per seed from its 2-D position in a reference panel: hue = angle around the
/// panel's mean, lightness = rank of the radius. Seeds close together in the reference get
/// similar colours, so copying shows as the same colour pattern in every panel.
pub fn seed_colours(reference: &[(f64, f64)]) -> Vec<RGBColor> {
    let n = reference.len();
    if n == 0 {
        return vec![];
    }
    let mx = reference.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let my = reference.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let sx = (reference.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>() / n as f64)
        .sqrt()
        .max(1e-12);
    let sy = (reference.iter().map(|p| (p.1 - my).powi(2)).sum::<f64>() / n as f64)
        .sqrt()
        .max(1e-12);
    let polar: Vec<(f64, f64)> = reference
        .iter()
        .map(|p| {
            let (u, v) = ((p.0 - mx) / sx, (p.1 - my) / sy);
            (v.atan2(u).to_degrees(), (u * u + v * v).sqrt())
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| polar[a].1.total_cmp(&polar[b].1));
    let mut rank = vec![0.0; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = if n > 1 {
            r as f64 / (n - 1) as f64
        } else {
            0.5
        };
    }
    polar
        .iter()
        .zip(&rank)
        .map(|(&(angle, _), &r)| hsl(angle, 0.85, 0.30 + 0.35 * r))
        .collect()
}
