//! `dmd reproduce --profile smoke` end to end: every experiment runs (tiny), the report has a
//! row per claim of the paper and embeds the figures, ImageNet-64 is "not run" with a message
//! naming the files it needs, and a second invocation reuses every finished stage.
//!
//! Needs MNIST (`cargo xtask setup`); without it the test says so and is skipped, except
//! under CI (`CI` set), where it fails.

use std::path::Path;
use std::process::Command;

fn mnist_present() -> bool {
    dmd_data::paths::default_mnist_dir()
        .join("train-images.idx3-ubyte")
        .is_file()
}

#[test]
fn smoke_reproduce_writes_a_full_report_and_resumes() {
    if !mnist_present() {
        assert!(
            std::env::var_os("CI").is_none(),
            "MNIST missing under CI: run `cargo xtask setup`"
        );
        eprintln!("SKIPPED: MNIST not installed (run `cargo xtask setup`)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("results");
    let runs = tmp.path().join("runs");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_dmd"))
            .args(["reproduce", "--profile", "smoke", "--out"])
            .arg(&out)
            .arg("--runs")
            .arg(&runs)
            .current_dir(&root)
            .env("RUST_LOG", "info")
            .output()
            .expect("dmd runs")
    };
    let first = run();
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );

    let report = std::fs::read_to_string(out.join("REPORT.md")).expect("REPORT.md written");
    let claims = report
        .split("## Claims")
        .nth(1)
        .and_then(|rest| rest.split("## Experiments").next())
        .expect("a Claims section before the Experiments section");
    let claim_rows = claims
        .lines()
        .filter(|l| {
            l.starts_with("| ")
                && l.split('|')
                    .nth(1)
                    .is_some_and(|c| c.trim().parse::<u32>().is_ok())
        })
        .count();
    assert_eq!(claim_rows, 11, "one row per claim of the paper:\n{report}");
    assert!(report.contains("### imagenet64\n\nnot run"), "{report}");
    assert!(
        report.contains("imagenet64/teacher.safetensors"),
        "the missing file is named:\n{report}"
    );
    for exp in [
        "chessboard-r4",
        "moons-r4",
        "gmm32-r4",
        "mlp-manifold-cond",
        "mnist-uncond",
        "mnist-snapshots",
        "mnist-cond",
        "mnist-gan",
    ] {
        let figs = out.join(exp).join("figures");
        let pngs: Vec<_> = std::fs::read_dir(&figs)
            .unwrap_or_else(|_| panic!("{} missing", figs.display()))
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
            .collect();
        assert!(pngs.len() >= 5, "{exp}: {} figures", pngs.len());
        for p in &pngs {
            assert!(
                p.metadata().unwrap().len() > 1000,
                "{} is too small",
                p.path().display()
            );
            let rel = p.path().strip_prefix(&out).unwrap().display().to_string();
            assert!(report.contains(&rel), "report does not embed {rel}");
        }
        assert!(out.join(exp).join("summary.json").is_file());
        // Every student carries the verdict's evidence: the ruler figure, the evidence table,
        // and within-class measures on conditional data.
        assert!(
            pngs.iter()
                .any(|p| p.file_name().to_string_lossy().ends_with("-ruler.png")),
            "{exp}: no ruler figure"
        );
        let snap = std::fs::read_dir(out.join(exp))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("snapshot-")
            })
            .unwrap();
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(snap.join("metrics.json")).unwrap())
                .unwrap();
        let evidence = &m["evidence"];
        assert!(
            evidence["ruler"]["points"]
                .as_array()
                .is_some_and(|p| p.len() >= 2),
            "{exp}"
        );
        assert_eq!(
            evidence["within_class"].as_bool(),
            Some(exp.ends_with("-cond")),
            "{exp}: conditional experiments are measured within class"
        );
    }
    assert!(report.contains("Pairing evidence"), "{report}");
    assert!(report.contains("Verdict rule (one function"), "{report}");

    // A second run redoes nothing: every stage is reused. The experiments' logs
    // (results/logs/<name>.log) are appended to, so read what the second run added.
    let logs = out.join("logs");
    let sizes: Vec<(std::path::PathBuf, usize)> = std::fs::read_dir(&logs)
        .expect("results/logs written")
        .flatten()
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap().len()))
        .collect();
    // One log per experiment, and one per student computed ahead of its experiment.
    let names: Vec<String> = sizes
        .iter()
        .map(|(p, _)| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for exp in dmd_study::schema::EXPERIMENTS {
        assert!(names.iter().any(|n| n == exp), "no log of {exp}: {names:?}");
    }
    let ahead: Vec<&String> = names.iter().filter(|n| n.contains('@')).collect();
    assert!(
        !ahead.is_empty() && ahead.iter().all(|n| n.starts_with("mnist-snapshots@")),
        "the snapshots' own students run ahead: {names:?}"
    );
    assert_eq!(sizes.len(), 9 + ahead.len(), "{names:?}");
    let second = run();
    assert!(second.status.success());
    let log: String = sizes
        .iter()
        .map(|(p, n)| String::from_utf8_lossy(&std::fs::read(p).unwrap()[*n..]).into_owned())
        .collect();
    assert!(log.contains("teacher: reusing"), "{log}");
    assert!(
        !log.contains("teacher: training"),
        "a finished teacher was retrained:\n{log}"
    );
    assert!(
        !log.contains("distilling in"),
        "a finished student was redistilled:\n{log}"
    );
}
