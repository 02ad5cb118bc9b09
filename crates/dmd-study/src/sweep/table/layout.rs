//! Layout: how cells map to figure coordinates (x values, series).

use super::*;

/// How cells map to figure coordinates: the x value and the series label.
pub(super) struct Layout {
    pub(super) x_name: String,
    pub(super) log_x: bool,
    /// Labels of a categorical x axis (its values are then 1, 2, ...).
    pub(super) x_labels: Option<Vec<String>>,
    pub(super) xs: Vec<f64>,
    pub(super) series: Vec<String>,
}

pub(super) fn layout(sweep: &SweepConfig, cells: &[Cell]) -> Layout {
    let factors = sweep.factor_axes();
    let snapshots: Vec<u64> = {
        let mut s: Vec<u64> = cells.iter().map(|c| c.snapshot).collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    let numeric = |axis: &str| {
        cells.iter().all(|c| {
            c.coords
                .iter()
                .find(|(a, _)| a == axis)
                .is_some_and(|(_, l)| l.parse::<f64>().is_ok())
        })
    };
    let x_axis = factors.first().map(|a| a.name.clone());
    let mut x_labels = None;
    let (x_name, xs): (String, Vec<f64>) = match &x_axis {
        Some(axis) => {
            let is_num = numeric(axis);
            let labels: Vec<String> = sweep
                .axis
                .iter()
                .find(|a| &a.name == axis)
                .map(|a| {
                    a.values
                        .iter()
                        .map(|v| crate::sweep::value_sets(a, v).0)
                        .collect()
                })
                .unwrap_or_default();
            let xs = cells
                .iter()
                .map(|c| {
                    let l = &c.coords.iter().find(|(a, _)| a == axis).expect("axis").1;
                    if is_num {
                        l.parse().expect("numeric")
                    } else {
                        labels.iter().position(|x| x == l).unwrap_or(0) as f64 + 1.0
                    }
                })
                .collect();
            if !is_num {
                x_labels = Some(labels);
            }
            (axis.clone(), xs)
        }
        None => (
            "teacher iterations".into(),
            cells.iter().map(|c| c.snapshot as f64).collect(),
        ),
    };
    let series = cells
        .iter()
        .map(|c| {
            let mut parts: Vec<String> = c
                .coords
                .iter()
                .filter(|(a, _)| Some(a) != x_axis.as_ref())
                .map(|(a, l)| format!("{a}={l}"))
                .collect();
            if x_axis.is_some() && snapshots.len() > 1 {
                parts.push(format!("teacher {} it", c.snapshot));
            }
            if parts.is_empty() {
                "mean over seeds".into()
            } else {
                parts.join(", ")
            }
        })
        .collect();
    let positive = xs.iter().all(|&x| x > 0.0);
    let span = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        / xs.iter().cloned().fold(f64::INFINITY, f64::min);
    let log_x = x_axis
        .as_ref()
        .and_then(|n| sweep.axis.iter().find(|a| &a.name == n))
        .and_then(|a| a.log)
        .unwrap_or(span >= 16.0)
        && positive;
    Layout {
        x_name,
        log_x,
        x_labels,
        xs,
        series,
    }
}
