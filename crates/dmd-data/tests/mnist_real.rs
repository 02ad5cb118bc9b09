//! The real MNIST files (fetched by `cargo xtask setup`): sizes, canonical label counts, value
//! range, padding. Without the files the test prints why and passes, unless `CI` is set, where
//! setup always runs first and a missing file is a failure.

use dmd_data::{DataError, DatasetSpec, Mnist, Split};

const TRAIN_COUNTS: [usize; 10] = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS: [usize; 10] = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Loads a split, or returns `None` (after printing why) when the files are absent outside CI.
fn load_or_skip(split: Split) -> Option<dmd_data::Dataset> {
    match (Mnist { split, dir: None }).load() {
        Ok(d) => Some(d),
        Err(e @ DataError::MissingFile { .. }) if !in_ci() => {
            eprintln!("SKIPPED: real MNIST not available ({e})");
            None
        }
        Err(e) => panic!("MNIST {split:?} failed to load: {e}"),
    }
}

fn check(split: Split, n: usize, counts: [usize; 10]) {
    let Some(data) = load_or_skip(split) else {
        return;
    };
    assert_eq!(data.x.shape(), &[n, 1024]);
    assert_eq!(data.shape, vec![1, 32, 32]);
    assert_eq!(data.class_counts().unwrap(), counts.to_vec());
    let values = data.x.as_slice().expect("standard layout");
    let lo = values.iter().copied().fold(f32::MAX, f32::min);
    let hi = values.iter().copied().fold(f32::MIN, f32::max);
    assert_eq!((lo, hi), (-1.0, 1.0), "values must span exactly [-1, 1]");
    // The 2-pixel frame is padding (-1) in every image.
    let frame: Vec<usize> = (0..1024)
        .filter(|p| !(2..30).contains(&(p / 32)) || !(2..30).contains(&(p % 32)))
        .collect();
    assert_eq!(frame.len(), 1024 - 28 * 28);
    for image in values.chunks_exact(1024) {
        assert!(frame.iter().all(|&p| image[p] == -1.0));
    }
    // Digits have ink: the mean image is well above the background.
    let mean = data.x.mean().unwrap();
    assert!(mean > -0.85 && mean < -0.6, "mean pixel {mean}");
}

#[test]
fn mnist_train_split_is_canonical() {
    check(Split::Train, 60_000, TRAIN_COUNTS);
}

#[test]
fn mnist_test_split_is_canonical() {
    check(Split::Test, 10_000, TEST_COUNTS);
}

#[test]
fn mnist_subsets_are_seeded() {
    let Some(full) = load_or_skip(Split::Test) else {
        return;
    };
    let spec = DatasetSpec::Mnist(Mnist {
        split: Split::Test,
        dir: None,
    });
    let a = spec.generate(Some(500), 1).unwrap();
    let b = spec.generate(Some(500), 1).unwrap();
    let c = spec.generate(Some(500), 2).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.x, c.x);
    assert_eq!(a.x.nrows(), 500);
    // Every subset image is an image of the split, with its label.
    let labels = full.labels.as_ref().unwrap();
    for (row, &l) in
        a.x.rows()
            .into_iter()
            .zip(a.labels.as_ref().unwrap())
            .take(20)
    {
        let i = full.x.rows().into_iter().position(|r| r == row).unwrap();
        assert_eq!(labels[i], l);
    }
    assert!(matches!(
        spec.generate(Some(10_001), 0),
        Err(DataError::InvalidParameter { .. })
    ));
    assert_eq!(spec.generate(None, 5).unwrap(), full);
}

/// A copy of the real test split in a temporary folder, with `edit` applied to one file.
fn altered_copy(file: &str, mut edit: impl FnMut(&mut Vec<u8>)) -> Option<tempfile::TempDir> {
    let src = dmd_data::paths::default_mnist_dir();
    if !src.join("t10k-images.idx3-ubyte").is_file() {
        assert!(!in_ci(), "MNIST missing under CI");
        eprintln!("SKIPPED: real MNIST not available");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    for f in ["t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"] {
        let mut bytes = std::fs::read(src.join(f)).unwrap();
        if f == file {
            edit(&mut bytes);
        }
        std::fs::write(dir.path().join(f), bytes).unwrap();
    }
    Some(dir)
}

fn load_from(dir: &std::path::Path) -> Result<dmd_data::Dataset, DataError> {
    Mnist {
        split: Split::Test,
        dir: Some(dir.to_path_buf()),
    }
    .load()
}

#[test]
fn a_flipped_pixel_byte_is_detected_on_load() {
    let Some(dir) = altered_copy("t10k-images.idx3-ubyte", |b| {
        let i = b.len() / 2;
        b[i] ^= 0x01;
    }) else {
        return;
    };
    let err = load_from(dir.path()).unwrap_err().to_string();
    assert!(err.contains("t10k-images.idx3-ubyte"), "{err}");
    assert!(
        err.contains("md5") && err.contains("cargo xtask setup"),
        "{err}"
    );
}

#[test]
fn a_label_changed_to_another_digit_is_detected_on_load() {
    let Some(dir) = altered_copy("t10k-labels.idx1-ubyte", |b| {
        let i = b.len() - 1;
        b[i] = (b[i] + 1) % 10;
    }) else {
        return;
    };
    let err = load_from(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("t10k-labels.idx1-ubyte") && err.contains("md5"),
        "{err}"
    );
    // The untouched copy loads.
    let good = altered_copy("none", |_| {}).unwrap();
    assert_eq!(load_from(good.path()).unwrap().len(), 10_000);
}
