//! `points.csv` and `summary.csv`, written through the `csv` crate.

use super::*;

pub(super) fn write_csv(
    sweep: &SweepConfig,
    rows: &[Row],
    cells: &[Cell],
    out: &Path,
) -> Result<()> {
    let axes: Vec<&str> = sweep.axis.iter().map(|a| a.name.as_str()).collect();
    let opt = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x}"));
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(axes.iter().map(|a| a.to_string()));
    header.extend(
        [
            "snapshot",
            "delta_e",
            "delta_e_boot_lower",
            "delta_e_boot_upper",
            "delta_e_fine",
            "copy_score",
            "copy_score_fine",
            "delta_e_fully_remapped",
            "fit_status",
            "gap_remaining",
            "teacher_support_ratio",
            "teacher_projected_support_ratio",
            "teacher_fit_ratio",
            "teacher_nn_ratio",
            "diversity",
            "diversity_relative",
            "spread_ratio",
            "counts",
        ]
        .map(String::from),
    );
    let records = rows.iter().map(|r| {
        let mut rec = vec![r.point.clone()];
        rec.extend(axes.iter().map(|a| {
            r.coords
                .iter()
                .find(|(n, _)| n == a)
                .map_or(String::new(), |(_, l)| l.clone())
        }));
        rec.extend([
            r.snapshot.to_string(),
            r.delta_e.to_string(),
            opt(r.delta_e_bootstrap.map(|b| b.0)),
            opt(r.delta_e_bootstrap.map(|b| b.1)),
            opt(r.delta_e_fine),
            r.copy_score.to_string(),
            opt(r.copy_score_fine),
            opt(r.delta_e_fully_remapped),
            r.fit_status.to_string(),
            r.gap_remaining.to_string(),
            opt(r.teacher_support_ratio),
            opt(r.teacher_projected_support_ratio),
            opt(r.teacher_fit_ratio),
            opt(r.teacher_nn_ratio),
            opt(r.diversity),
            opt(r.diversity_relative),
            opt(r.spread_ratio),
            r.counts.to_string(),
        ]);
        rec
    });
    write_csv_file(&out.join("points.csv"), &header, records)?;

    let factors: Vec<&str> = sweep
        .factor_axes()
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    const SUMMARISED: [&str; 7] = [
        "delta_e",
        "delta_e_fine",
        "copy_score",
        "copy_score_fine",
        "diversity",
        "diversity_relative",
        "spread_ratio",
    ];
    let mut header: Vec<String> = factors.iter().map(|f| f.to_string()).collect();
    header.extend(["snapshot", "n", "n_counted"].map(String::from));
    for m in SUMMARISED {
        header.extend(["mean", "sd", "lower", "upper"].map(|s| format!("{m}_{s}")));
    }
    header.extend(
        [
            "teacher_support_ratio",
            "teacher_fit_ratio",
            "teacher_nn_ratio",
        ]
        .map(String::from),
    );
    let records = cells.iter().map(|c| {
        let mut rec: Vec<String> = factors
            .iter()
            .map(|f| {
                c.coords
                    .iter()
                    .find(|(n, _)| n == f)
                    .map_or(String::new(), |(_, l)| l.clone())
            })
            .collect();
        rec.extend([
            c.snapshot.to_string(),
            c.n.to_string(),
            c.n_counted.to_string(),
        ]);
        for s in [
            &c.delta_e,
            &c.delta_e_fine,
            &c.copy_score,
            &c.copy_score_fine,
            &c.diversity,
            &c.diversity_relative,
            &c.spread_ratio,
        ] {
            match s {
                // One seed has no spread or interval: empty, never sd 0 and [x, x].
                Some(s) if !s.has_interval() => {
                    rec.push(s.mean.to_string());
                    rec.extend(std::iter::repeat_n(String::new(), 3));
                }
                Some(s) => rec.extend([s.mean, s.sd, s.lower, s.upper].map(|x| x.to_string())),
                None => rec.extend(std::iter::repeat_n(String::new(), 4)),
            }
        }
        rec.extend([
            opt(c.teacher_support_ratio),
            opt(c.teacher_fit_ratio),
            opt(c.teacher_nn_ratio),
        ]);
        rec
    });
    write_csv_file(&out.join("summary.csv"), &header, records)?;
    Ok(())
}

/// Writes a CSV file (header, then records) through the `csv` crate, which quotes any field
/// holding a comma, quote or newline, atomically.
pub fn write_csv_file(
    path: &Path,
    header: &[String],
    records: impl Iterator<Item = Vec<String>>,
) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(header)?;
    for r in records {
        w.write_record(&r)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    crate::store::write_atomic(path, &bytes)
}

#[cfg(test)]
mod csv_tests {
    use super::*;

    #[test]
    fn a_label_with_a_comma_and_a_quote_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("points.csv");
        let label = r#"wide, "1024" units"#.to_string();
        let header = vec!["point".to_string(), "width".to_string()];
        write_csv_file(
            &path,
            &header,
            [vec!["p-0".to_string(), label.clone()]].into_iter(),
        )
        .unwrap();
        let mut r = csv::Reader::from_path(&path).unwrap();
        assert_eq!(r.headers().unwrap(), vec!["point", "width"]);
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0][1], label.as_str());
        // Plain fields are written as they are: old files stay byte-identical.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("point,width\np-0,\""), "{text}");
    }
}
