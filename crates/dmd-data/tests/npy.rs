//! The `.npy` reader/writer and the `npy` dataset: round trips, files written by real NumPy
//! (when `python3` has numpy), every malformed input as a typed error, and a fuzz test.

use std::path::Path;
use std::process::Command;

use dmd_data::{
    DataError, DatasetSpec, NpyDataset, NpyDtype, NpyError, NpyScale, Rows, encode_npy_f32,
    parse_npy_f32, parse_npy_header, parse_npy_i64, read_npy_f32, read_npy_header, write_npy_f32,
};
use proptest::prelude::*;

/// Builds `.npy` bytes by hand: version 1.0 header `dict`, then `body`.
fn npy_bytes(dict: &str, body: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out
}

fn ramp(n: usize) -> Vec<f32> {
    (0..n).map(|i| i as f32 * 0.25 - 3.0).collect()
}

#[test]
fn write_then_read_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for shape in [vec![5, 3, 4, 2], vec![7, 1], vec![6], vec![0, 3]] {
        let n: usize = shape.iter().product();
        let data = ramp(n);
        let path = dir.path().join("a.npy");
        write_npy_f32(&path, &shape, &data).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // np.save aligns the data start to 64 bytes and ends the header with a newline.
        let header = parse_npy_header(&bytes).unwrap();
        assert_eq!(header.data_offset % 64, 0);
        assert_eq!(bytes[header.data_offset - 1], b'\n');
        assert_eq!(header.version, (1, 0));
        assert_eq!(header.dtype, NpyDtype::F32);
        assert_eq!(header.shape, shape);
        assert_eq!(read_npy_header(&path).unwrap(), header);
        let back = read_npy_f32(&path, NpyScale::None).unwrap();
        assert_eq!(back.shape, shape);
        assert_eq!(back.data, data);
    }
    // Wrong element count is refused by the writer.
    assert!(matches!(
        encode_npy_f32(&[2, 3], &[0.0; 5]),
        Err(NpyError::LengthMismatch { .. })
    ));
}

#[test]
fn hand_built_dtypes_decode() {
    let f8: Vec<u8> = [1.5f64, -2.0, 1e-3]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let a = parse_npy_f32(
        &npy_bytes(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
            &f8,
        ),
        NpyScale::None,
    )
    .unwrap();
    assert_eq!(a.data, vec![1.5, -2.0, 1e-3f64 as f32]);

    let u1 = npy_bytes(
        "{'shape': (1, 3), 'fortran_order': False, 'descr': '|u1'}",
        &[0, 255, 51],
    );
    assert_eq!(
        parse_npy_f32(&u1, NpyScale::None).unwrap().data,
        vec![0.0, 255.0, 51.0]
    );
    let scaled = parse_npy_f32(&u1, NpyScale::Uint8).unwrap().data;
    assert_eq!(scaled[0], -1.0);
    assert_eq!(scaled[1], 1.0);
    assert!((scaled[2] - (51.0 / 127.5 - 1.0)).abs() < 1e-7);

    let i4: Vec<u8> = [3i32, -1, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
    let l = parse_npy_i64(&npy_bytes(
        "{'descr': '<i4', 'fortran_order': False, 'shape': (3L,), }",
        &i4,
    ))
    .unwrap();
    assert_eq!(l.data, vec![3, -1, 7]);
    let i8: Vec<u8> = [9i64, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let l = parse_npy_i64(&npy_bytes(
        "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
        &i8,
    ))
    .unwrap();
    assert_eq!(l.data, vec![9, 0]);
}

#[test]
fn malformed_files_are_typed_errors() {
    let good = encode_npy_f32(&[2, 3], &ramp(6)).unwrap();
    // Truncated body, trailing garbage, truncated header, too short.
    assert!(matches!(
        parse_npy_f32(&good[..good.len() - 1], NpyScale::None),
        Err(NpyError::LengthMismatch {
            expected: 24,
            found: 23,
            ..
        })
    ));
    let mut long = good.clone();
    long.push(0);
    assert!(matches!(
        parse_npy_f32(&long, NpyScale::None),
        Err(NpyError::LengthMismatch { .. })
    ));
    assert!(matches!(
        parse_npy_f32(&good[..40], NpyScale::None),
        Err(NpyError::TruncatedHeader { .. })
    ));
    assert_eq!(
        parse_npy_header(&good[..5]),
        Err(NpyError::TooShort { len: 5 })
    );
    // Bad magic (e.g. an .npz zip archive).
    let mut zip = good.clone();
    zip[..6].copy_from_slice(b"PK\x03\x04\x14\x00");
    assert!(matches!(
        parse_npy_header(&zip),
        Err(NpyError::BadMagic { .. })
    ));
    // Unknown version.
    let mut v9 = good.clone();
    v9[6] = 9;
    assert_eq!(
        parse_npy_header(&v9),
        Err(NpyError::UnsupportedVersion { major: 9, minor: 0 })
    );
    // Fortran order: the message says how to fix it.
    let fortran = npy_bytes(
        "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }",
        &[0; 8],
    );
    let err = parse_npy_f32(&fortran, NpyScale::None).unwrap_err();
    assert_eq!(err, NpyError::FortranOrder);
    assert!(err.to_string().contains("np.ascontiguousarray"), "{err}");
    // Big-endian and unsupported dtypes.
    let be = npy_bytes(
        "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
        &[0; 4],
    );
    assert!(matches!(
        parse_npy_header(&be),
        Err(NpyError::BigEndian { .. })
    ));
    let f2 = npy_bytes(
        "{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }",
        &[0; 2],
    );
    assert!(matches!(
        parse_npy_header(&f2),
        Err(NpyError::UnsupportedDtype { .. })
    ));
    let structured = npy_bytes(
        "{'descr': [('a', '<f4'), ('b', '<i8')], 'fortran_order': False, 'shape': (1,), }",
        &[0; 12],
    );
    assert!(matches!(
        parse_npy_header(&structured),
        Err(NpyError::UnsupportedDtype { .. })
    ));
    // Samples must be float or bytes; labels integers; uint8 scaling only for bytes.
    let i8 = npy_bytes(
        "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }",
        &[0; 8],
    );
    assert!(matches!(
        parse_npy_f32(&i8, NpyScale::None),
        Err(NpyError::UnsupportedDtype { .. })
    ));
    assert!(matches!(
        parse_npy_i64(&good),
        Err(NpyError::UnsupportedDtype { .. })
    ));
    assert!(matches!(
        parse_npy_f32(&good, NpyScale::Uint8),
        Err(NpyError::ScaleNeedsUint8 { descr: "<f4" })
    ));
    // Header syntax: missing key, extra key, bad shape, garbage.
    for (dict, want_missing) in [
        ("{'descr': '<f4', 'shape': (1,), }", true),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
            false,
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }",
            false,
        ),
        (
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }",
            false,
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)",
            false,
        ),
        ("not a dict", false),
    ] {
        let err = parse_npy_header(&npy_bytes(dict, &[0; 4])).unwrap_err();
        if want_missing {
            assert!(matches!(err, NpyError::MissingKey { .. }), "{dict}: {err}");
        } else {
            assert!(
                matches!(err, NpyError::HeaderSyntax { .. }),
                "{dict}: {err}"
            );
        }
    }
    // Overflowing shape.
    let huge = npy_bytes(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }",
        &[],
    );
    assert!(matches!(
        parse_npy_f32(&huge, NpyScale::None),
        Err(NpyError::TooLarge { .. })
    ));
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.npy");
    let good = encode_npy_f32(&[4, 8], &ramp(32)).unwrap();
    std::fs::write(&path, &good[..good.len() - 10]).unwrap();
    // The header-only read still notices the truncation (from the file size).
    let err = read_npy_header(&path).unwrap_err();
    assert!(
        matches!(
            &err,
            DataError::Npy {
                source: NpyError::LengthMismatch { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("cut.npy"), "{err}");
    let err = read_npy_f32(&path, NpyScale::None).unwrap_err();
    assert!(err.to_string().contains("cut.npy"), "{err}");
    assert!(matches!(
        read_npy_header(&dir.path().join("absent.npy")),
        Err(DataError::MissingFile { .. })
    ));
}

fn spec_for(dir: &Path, labels: bool, num_classes: Option<usize>) -> NpyDataset {
    NpyDataset {
        path: dir.join("x.npy"),
        labels: labels.then(|| dir.join("y.npy")),
        num_classes,
        scale: NpyScale::None,
        shape: None,
    }
}

fn write_labels(path: &Path, labels: &[i64]) {
    let body: Vec<u8> = labels.iter().flat_map(|v| v.to_le_bytes()).collect();
    let dict = format!(
        "{{'descr': '<i8', 'fortran_order': False, 'shape': ({},), }}",
        labels.len()
    );
    std::fs::write(path, npy_bytes(&dict, &body)).unwrap();
}

#[test]
fn npy_dataset_loads_and_subsamples() {
    let dir = tempfile::tempdir().unwrap();
    let (n, shape) = (10, [2usize, 3, 4]);
    let data = ramp(n * 24);
    write_npy_f32(&dir.path().join("x.npy"), &[n, 2, 3, 4], &data).unwrap();
    let labels: Vec<i64> = (0..n as i64).map(|i| i % 3).collect();
    write_labels(&dir.path().join("y.npy"), &labels);

    let ds = spec_for(dir.path(), true, Some(3));
    let spec = DatasetSpec::Npy(ds.clone());
    spec.validate().unwrap();
    assert_eq!(spec.name(), "npy");
    // Without `shape`, the sample shape comes from the header.
    assert_eq!(spec.sample_shape(), shape.to_vec());
    assert_eq!(spec.dim(), 24);
    assert_eq!(spec.num_classes(), Some(3));
    assert!(spec.as_toy().is_none());

    let all = spec.generate(None, 0).unwrap();
    assert_eq!(all.x.shape(), &[n, 24]);
    assert_eq!(all.x.as_slice().unwrap(), &data[..]);
    assert_eq!(all.labels.as_ref().unwrap().to_vec(), labels);
    assert_eq!(all.shape, shape.to_vec());
    assert_eq!(all.num_classes, Some(3));
    assert!(spec.support_report(all.x.view(), 1e-3).unwrap().is_none());

    // Some(k): k distinct rows, labels kept with their rows, deterministic in the seed.
    let sub = spec.generate(Some(6), 5).unwrap();
    assert_eq!(sub, spec.generate(Some(6), 5).unwrap());
    assert_ne!(sub.x, spec.generate(Some(6), 6).unwrap().x);
    let mut firsts = Vec::new();
    for (row, &l) in sub.x.rows().into_iter().zip(sub.labels.as_ref().unwrap()) {
        let i = ((row[0] + 3.0) / 0.25) as usize / 24;
        assert_eq!(l, labels[i]);
        firsts.push(i);
    }
    firsts.sort_unstable();
    firsts.dedup();
    assert_eq!(firsts.len(), 6);
    assert!(spec.generate(Some(11), 0).is_err());

    // `shape` given and matching; given and wrong.
    let with_shape = NpyDataset {
        shape: Some(shape.to_vec()),
        ..ds.clone()
    };
    assert_eq!(with_shape.load().unwrap(), all);
    let wrong = NpyDataset {
        shape: Some(vec![24]),
        ..ds.clone()
    };
    assert!(matches!(wrong.load(), Err(DataError::Format { .. })));
    assert!(matches!(
        wrong.file_sample_shape(),
        Err(DataError::Format { .. })
    ));
    // Unlabelled.
    let plain = spec_for(dir.path(), false, None);
    let d = plain.generate(None, 0).unwrap();
    assert_eq!((d.labels, d.num_classes), (None, None));
}

#[test]
fn npy_dataset_rejects_bad_labels_and_parameters() {
    let dir = tempfile::tempdir().unwrap();
    write_npy_f32(&dir.path().join("x.npy"), &[4, 2], &ramp(8)).unwrap();
    // Label out of range (3 with num_classes = 3), negative, wrong count.
    for labels in [vec![0, 1, 2, 3], vec![0, -1, 1, 1], vec![0, 1, 2]] {
        write_labels(&dir.path().join("y.npy"), &labels);
        let err = spec_for(dir.path(), true, Some(3)).load().unwrap_err();
        assert!(matches!(err, DataError::Format { .. }), "{err}");
        assert!(err.to_string().contains("y.npy"), "{err}");
    }
    // Labels without num_classes and vice versa; zero classes; bad shape.
    assert!(matches!(
        spec_for(dir.path(), true, None).validate(),
        Err(DataError::InvalidParameter {
            name: "num_classes",
            ..
        })
    ));
    assert!(spec_for(dir.path(), false, Some(3)).validate().is_err());
    assert!(spec_for(dir.path(), true, Some(0)).validate().is_err());
    let zero_axis = NpyDataset {
        shape: Some(vec![3, 0]),
        ..spec_for(dir.path(), false, None)
    };
    assert!(zero_axis.validate().is_err());
    // 1-D samples need a feature axis.
    write_npy_f32(&dir.path().join("x.npy"), &[4], &ramp(4)).unwrap();
    assert!(matches!(
        spec_for(dir.path(), false, None).load(),
        Err(DataError::Format { .. })
    ));
    // Missing file: sample_shape falls back to `shape`, else empty (dim 0); loading names the fix.
    let missing = NpyDataset {
        path: dir.path().join("nope.npy"),
        ..spec_for(dir.path(), false, None)
    };
    assert_eq!(DatasetSpec::Npy(missing.clone()).dim(), 0);
    assert!(matches!(missing.load(), Err(DataError::MissingFile { .. })));
    let with_shape = NpyDataset {
        shape: Some(vec![3, 64, 64]),
        ..missing
    };
    assert_eq!(DatasetSpec::Npy(with_shape).dim(), 3 * 64 * 64);
}

#[test]
fn npy_config_parses_and_round_trips() {
    let text = r#"
        [data]
        name = "npy"
        path = "imagenet64/train_x.npy"
        shape = [3, 64, 64]
    "#;
    #[derive(serde::Deserialize)]
    struct Config {
        data: DatasetSpec,
    }
    let cfg: Config = toml::from_str(text).unwrap();
    let want = DatasetSpec::Npy(NpyDataset {
        path: "imagenet64/train_x.npy".into(),
        labels: None,
        num_classes: None,
        scale: NpyScale::None,
        shape: Some(vec![3, 64, 64]),
    });
    assert_eq!(cfg.data, want);
    cfg.data.validate().unwrap();
    assert_eq!(cfg.data.sample_shape(), vec![3, 64, 64]);
    assert_eq!(cfg.data.dim(), 12288);
    assert_eq!(cfg.data.num_classes(), None);
    // Relative paths are relative to the data folder.
    let DatasetSpec::Npy(d) = &cfg.data else {
        unreachable!()
    };
    assert_eq!(
        d.samples_path(),
        dmd_data::default_data_dir().join("imagenet64/train_x.npy")
    );

    let full: DatasetSpec = toml::from_str(
        "name = \"npy\"\npath = \"/d/x.npy\"\nlabels = \"/d/y.npy\"\nnum_classes = 1000\nscale = \"uint8\"",
    )
    .unwrap();
    assert_eq!(full.num_classes(), Some(1000));
    let text = toml::to_string(&full).unwrap();
    assert_eq!(toml::from_str::<DatasetSpec>(&text).unwrap(), full);
    // Unknown keys / scale values and a missing path are rejected.
    assert!(
        toml::from_str::<DatasetSpec>("name = \"npy\"\npath = \"x\"\nscal = \"uint8\"").is_err()
    );
    assert!(toml::from_str::<DatasetSpec>("name = \"npy\"\npath = \"x\"\nscale = \"u8\"").is_err());
    assert!(toml::from_str::<DatasetSpec>("name = \"npy\"").is_err());
}

/// The Python interpreter to try (override with `DMD_NPY_PYTHON`), if it has numpy.
fn python_with_numpy() -> Option<String> {
    let python = std::env::var("DMD_NPY_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = Command::new(&python)
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

#[test]
fn files_written_by_numpy_are_read() {
    let Some(python) = python_with_numpy() else {
        eprintln!(
            "skipping: `python3 -c \"import numpy\"` failed (set DMD_NPY_PYTHON to a python with numpy)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.npy");
    write_npy_f32(&ours, &[2, 3, 4], &ramp(24)).unwrap();
    let script = r#"
import sys, numpy as np
from numpy.lib import format as fmt
d = sys.argv[1]
a = (np.arange(2 * 3 * 4, dtype=np.float64) * 0.25 - 3.0).reshape(2, 3, 4)
np.save(d + '/f4.npy', a.astype(np.float32))
np.save(d + '/f8.npy', a)
np.save(d + '/u1.npy', np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4) * 10)
np.save(d + '/i8.npy', np.array([0, 1, 2], dtype=np.int64))
np.save(d + '/y2.npy', np.array([2, 0], dtype=np.int64))
np.save(d + '/i4.npy', np.array([5, -1], dtype=np.int32))
np.save(d + '/fortran.npy', np.asfortranarray(a))
np.save(d + '/big.npy', a.astype('>f4'))
for v in [(2, 0), (3, 0)]:
    with open(d + '/v%d.npy' % v[0], 'wb') as f:
        fmt.write_array(f, a.astype(np.float32), version=v)
b = np.load(d + '/ours.npy')
assert b.dtype == np.float32 and b.shape == (2, 3, 4), (b.dtype, b.shape)
assert np.array_equal(b, a.astype(np.float32))
"#;
    let out = Command::new(&python)
        .args(["-c", script])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "numpy script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = ramp(24);
    for name in ["f4", "f8", "v2", "v3"] {
        let a = read_npy_f32(&dir.path().join(format!("{name}.npy")), NpyScale::None).unwrap();
        assert_eq!(a.shape, vec![2, 3, 4], "{name}");
        assert_eq!(a.data, want, "{name}");
    }
    assert_eq!(
        read_npy_header(&dir.path().join("v2.npy")).unwrap().version,
        (2, 0)
    );
    let u1 = read_npy_f32(&dir.path().join("u1.npy"), NpyScale::Uint8).unwrap();
    let want_u1: Vec<f32> = (0..24).map(|i| (i * 10) as f32 / 127.5 - 1.0).collect();
    assert_eq!(u1.data, want_u1);
    let i8 = dmd_data::read_npy_i64(&dir.path().join("i8.npy")).unwrap();
    assert_eq!((i8.shape, i8.data), (vec![3], vec![0, 1, 2]));
    let i4 = dmd_data::read_npy_i64(&dir.path().join("i4.npy")).unwrap();
    assert_eq!(i4.data, vec![5, -1]);
    assert!(matches!(
        read_npy_f32(&dir.path().join("fortran.npy"), NpyScale::None),
        Err(DataError::Npy {
            source: NpyError::FortranOrder,
            ..
        })
    ));
    assert!(matches!(
        read_npy_header(&dir.path().join("big.npy")),
        Err(DataError::Npy {
            source: NpyError::BigEndian { .. },
            ..
        })
    ));
    // And through the dataset spec, with uint8 scaling and integer labels.
    let spec = DatasetSpec::Npy(NpyDataset {
        path: dir.path().join("u1.npy"),
        labels: Some(dir.path().join("i8.npy")),
        num_classes: Some(3),
        scale: NpyScale::Uint8,
        shape: Some(vec![3, 4]),
    });
    let labels_wrong_count = spec.generate(None, 0).unwrap_err();
    assert!(labels_wrong_count.to_string().contains("i8.npy"));
    let DatasetSpec::Npy(inner) = spec else {
        unreachable!()
    };
    let spec = DatasetSpec::Npy(NpyDataset {
        labels: Some(dir.path().join("y2.npy")),
        ..inner
    });
    let d = spec.generate(None, 0).unwrap();
    assert_eq!(d.x.shape(), &[2, 12]);
    assert_eq!(d.x.as_slice().unwrap(), &want_u1[..]);
    assert_eq!(d.labels.unwrap().to_vec(), vec![2, 0]);
    assert_eq!(d.shape, vec![3, 4]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary bytes never panic any parser.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_npy_header(&bytes);
        let _ = parse_npy_f32(&bytes, NpyScale::None);
        let _ = parse_npy_f32(&bytes, NpyScale::Uint8);
        let _ = parse_npy_i64(&bytes);
    }

    /// A valid prefix followed by random header text and body never panics either.
    #[test]
    fn random_headers_never_panic(
        version in 1u8..4,
        header in "[{}()\\[\\]':, 0-9a-zA-Z<|>_]{0,120}",
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = b"\x93NUMPY".to_vec();
        bytes.extend_from_slice(&[version, 0]);
        if version == 1 {
            bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&body);
        let _ = parse_npy_f32(&bytes, NpyScale::None);
        let _ = parse_npy_i64(&bytes);
    }

    /// Any f32 array round-trips bit for bit.
    #[test]
    fn f32_round_trip(rows in 0usize..6, cols in 1usize..6, seed in any::<u32>()) {
        let data: Vec<f32> = (0..rows * cols)
            .map(|i| f32::from_bits(seed.wrapping_mul(2654435761).wrapping_add(i as u32 * 97)))
            .collect();
        let bytes = encode_npy_f32(&[rows, cols], &data).unwrap();
        let back = parse_npy_f32(&bytes, NpyScale::None).unwrap();
        prop_assert_eq!(back.shape, vec![rows, cols]);
        let same = back.data.iter().zip(&data).all(|(a, b)| a.to_bits() == b.to_bits());
        prop_assert!(same);
    }
}

/// `|u1` samples opened with `DatasetSpec::open` stay on disk and read back, row by row, the
/// values `generate` loads: whole set in file order and a seeded subsample with its labels.
#[test]
fn u8_samples_are_streamed_with_the_values_generate_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (n, d) = (50usize, 3 * 4 * 4);
    let body: Vec<u8> = (0..n * d).map(|i| (i * 7 % 256) as u8).collect();
    let dict = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({n}, 3, 4, 4), }}");
    std::fs::write(dir.path().join("x.npy"), npy_bytes(&dict, &body)).unwrap();
    let labels: Vec<i64> = (0..n as i64).map(|i| i % 5).collect();
    write_labels(&dir.path().join("y.npy"), &labels);
    let spec = DatasetSpec::Npy(NpyDataset {
        scale: NpyScale::Uint8,
        ..spec_for(dir.path(), true, Some(5))
    });
    for n_keep in [None, Some(17)] {
        let loaded = spec.generate(n_keep, 3).unwrap();
        let opened = spec.open(n_keep, 3).unwrap();
        assert!(matches!(opened.rows, Rows::Npy(_)), "u8 rows stay on disk");
        assert_eq!(opened.rows.len(), loaded.x.nrows());
        assert_eq!(opened.shape, loaded.shape);
        assert_eq!(opened.labels, loaded.labels);
        let all = opened.rows.range(0, usize::MAX).unwrap();
        assert_eq!(all, loaded.x);
        let pick = [4usize, 0, 4, 9];
        let want = loaded.x.select(ndarray::Axis(0), &pick);
        assert_eq!(opened.rows.gather(&pick).unwrap(), want);
        assert!(opened.rows.gather(&[loaded.x.nrows()]).is_err());
    }
    // f32 samples are loaded into memory as before.
    write_npy_f32(&dir.path().join("x.npy"), &[n, 3, 4, 4], &ramp(n * d)).unwrap();
    let f = DatasetSpec::Npy(spec_for(dir.path(), true, Some(5)));
    assert!(matches!(f.open(None, 0).unwrap().rows, Rows::Memory(_)));
}
