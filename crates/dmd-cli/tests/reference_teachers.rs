//! Reference teachers (`reference-teachers/`): a teacher shipped with `dmd ship-teacher` is
//! adopted by the teacher stage instead of trained, whatever thread count the run uses; a
//! shipped file that does not match its sha256 is refused with one line naming the fix;
//! `--retrain-teachers` trains; and the references committed in the repository load, match
//! their recorded sums and are the teachers today's configs ask for.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const TINY: [&str; 8] = [
    "--profile",
    "smoke",
    "--set",
    "teacher.iterations=12",
    "--set",
    "teacher.snapshots=[6]",
    "--set",
    "teacher.checkpoint_every=6",
];

fn dmd(args: &[&str], threads: &str, refs: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmd"))
        .args(args)
        .current_dir(root())
        .env("RUST_LOG", "warn")
        .env("DMD_THREADS", threads)
        .env("DMD_REFERENCE_TEACHERS", refs)
        .env_remove("DMD_RETRAIN_TEACHERS")
        .output()
        .expect("dmd runs")
}

fn train(runs: &Path, threads: &str, refs: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["train-teacher", "configs/moons-r4.toml"];
    args.extend(TINY);
    args.extend(extra);
    let runs = runs.to_str().unwrap().to_string();
    let out = format!("{runs}-results");
    args.extend(["--runs", runs.as_str(), "--out", out.as_str()]);
    dmd(&args, threads, refs)
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "dmd failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The one teacher stage of a store.
fn teacher_dir(runs: &Path) -> PathBuf {
    std::fs::read_dir(runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("teacher-")
        })
        .expect("a teacher stage")
}

fn done(runs: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(teacher_dir(runs).join("DONE.json")).unwrap())
        .unwrap()
}

#[test]
fn a_shipped_teacher_is_adopted_and_a_bad_one_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let refs = tmp.path().join("refs");
    let (a, b, c, d) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
        tmp.path().join("d"),
    );
    ok(&train(&a, "1", &refs, &[]));
    let ship_to = refs.join("moons");
    let mut ship = vec!["ship-teacher", "configs/moons-r4.toml"];
    ship.extend(TINY);
    let a_str = a.to_str().unwrap();
    let to_str = ship_to.to_str().unwrap();
    ship.extend(["--runs", a_str, "--to", to_str, "--commit", "test"]);
    let printed = ok(&dmd(&ship, "1", &refs));
    assert!(printed.contains("written to"), "{printed}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ship_to.join("manifest.json")).unwrap())
            .unwrap();
    assert!(
        manifest["provenance"]["command"]
            .as_str()
            .unwrap()
            .starts_with("DMD_THREADS=1 dmd train-teacher configs/moons-r4.toml --profile smoke"),
        "{manifest}"
    );
    let shipped: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        shipped,
        [
            "teacher.safetensors",
            "metrics.jsonl",
            "snapshots/teacher-000006.safetensors"
        ]
    );

    // Another store and another thread count: adopted, not trained.
    ok(&train(&b, "2", &refs, &[]));
    assert_eq!(done(&b)["from"].as_str(), Some(ship_to.to_str().unwrap()));
    for f in shipped {
        assert_eq!(
            std::fs::read(teacher_dir(&a).join(f)).unwrap(),
            std::fs::read(teacher_dir(&b).join(f)).unwrap(),
            "{f} differs from the trained teacher's"
        );
    }

    // A different teacher config does not match the reference: trained.
    ok(&train(&c, "1", &refs, &["--set", "teacher.lr=5e-4"]));
    assert!(done(&c).get("from").is_none());

    // A corrupted shipped file is refused with one line naming the fix; retraining works.
    let weights = ship_to.join("teacher.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&weights, bytes).unwrap();
    let refused = train(&d, "1", &refs, &[]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("sha256") && err.contains("--retrain-teachers"),
        "{err}"
    );
    assert!(!teacher_dir(&d).join("DONE.json").exists());
    ok(&train(&d, "1", &refs, &["--retrain-teachers"]));
    assert!(done(&d).get("from").is_none());
}

/// The experiments whose `cpu` teacher must be shipped.
const REQUIRED: [&str; 2] = ["mnist-cond", "mnist-uncond"];

/// The references committed in the repository: every shipped file has its recorded sha256
/// and loads as the network of the manifest's key, and the config and profile each was made
/// for still ask for exactly that teacher (so `cargo xtask reproduce` uses it).
#[test]
fn committed_reference_teachers_load_and_match_their_configs() {
    let dir = root().join("reference-teachers");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("reference-teachers/ exists") {
        let path = entry.unwrap().path();
        if !path.join(dmd_study::reference::MANIFEST).is_file() {
            continue;
        }
        let m = dmd_study::reference::verify(&path).unwrap();
        let net: dmd_nets::NetConfig =
            serde_json::from_value(m.key["teacher"]["net"].clone()).unwrap();
        for f in m.files.iter().filter(|f| f.path.ends_with(".safetensors")) {
            let found_net = dmd_nets::checkpoint::read_config(&path.join(&f.path)).unwrap();
            assert_eq!(found_net, net, "{}", f.path);
            dmd_nets::denoiser::Denoiser::load(&path.join(&f.path), tch::Device::Cpu).unwrap();
        }
        let cfg = dmd_study::config::ExperimentConfig::load(
            &root()
                .join("configs")
                .join(format!("{}.toml", m.experiment)),
            &m.profile,
            &[],
        )
        .unwrap();
        let stages = tempfile::tempdir().unwrap();
        let key = dmd_study::pipeline::teacher_reference_key(&cfg, stages.path()).unwrap();
        assert_eq!(
            dmd_study::store::config_hash(&key),
            m.key_hash,
            "configs/{}.toml (profile {}) no longer asks for the reference teacher in {}",
            m.experiment,
            m.profile,
            path.display()
        );
        found.push((m.experiment, m.profile));
    }
    found.sort();
    for want in REQUIRED {
        assert!(
            found.iter().any(|(e, p)| e == want && p == "cpu"),
            "no reference teacher for {want} (cpu) in {}: {found:?}",
            dir.display()
        );
    }
}
