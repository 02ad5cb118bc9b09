//! The IDX reader on good and bad input: typed errors with clear messages, never a panic.

use std::io::Write;

use dmd_data::{
    DataError, IdxError, Split, encode_idx, load_mnist, mnist_files, parse_idx, read_idx_file,
};
use proptest::prelude::*;

fn sample_images(n: usize) -> Vec<u8> {
    (0..n * 28 * 28).map(|i| (i * 7 % 256) as u8).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Writes a small MNIST-layout split (n images, labels 0..n mod 10) to `dir`.
fn write_split(dir: &std::path::Path, split: Split, n: usize) {
    let files = mnist_files(dir, split);
    std::fs::write(
        &files.images,
        encode_idx(&[n, 28, 28], &sample_images(n)).unwrap(),
    )
    .unwrap();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    std::fs::write(&files.labels, encode_idx(&[n], &labels).unwrap()).unwrap();
}

#[test]
fn round_trip_plain_and_gzip() {
    let data = sample_images(3);
    let bytes = encode_idx(&[3, 28, 28], &data).unwrap();
    assert_eq!(&bytes[..4], &[0, 0, 8, 3]);
    assert_eq!(&bytes[4..8], &3u32.to_be_bytes());
    let plain = parse_idx(&bytes).unwrap();
    assert_eq!(plain.dims, vec![3, 28, 28]);
    assert_eq!(plain.data, data);
    let gz = gzip(&bytes);
    assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    assert_eq!(parse_idx(&gz).unwrap(), plain);
}

#[test]
fn truncated_file_is_a_length_mismatch() {
    let bytes = encode_idx(&[2, 28, 28], &sample_images(2)).unwrap();
    let cut = &bytes[..bytes.len() - 100];
    let err = parse_idx(cut).unwrap_err();
    assert_eq!(
        err,
        IdxError::LengthMismatch {
            dims: vec![2, 28, 28],
            expected: 1568,
            found: 1468
        }
    );
    assert!(err.to_string().contains("truncated"), "{err}");
    // Cut inside the header, and before the magic number.
    assert!(matches!(
        parse_idx(&bytes[..10]),
        Err(IdxError::TruncatedHeader { ndims: 3, .. })
    ));
    assert_eq!(parse_idx(&bytes[..3]), Err(IdxError::TooShort { len: 3 }));
    assert_eq!(parse_idx(&[]), Err(IdxError::TooShort { len: 0 }));
    // A truncated gzip stream is a gzip error.
    let gz = gzip(&bytes);
    assert!(matches!(
        parse_idx(&gz[..gz.len() / 2]),
        Err(IdxError::Gzip { .. })
    ));
}

#[test]
fn wrong_magic_and_type_are_rejected() {
    let mut bytes = encode_idx(&[4], &[1, 2, 3, 4]).unwrap();
    bytes[0] = 0x12;
    let err = parse_idx(&bytes).unwrap_err();
    assert!(matches!(
        err,
        IdxError::BadMagic {
            found: [0x12, 0, 8, 1]
        }
    ));
    assert!(err.to_string().contains("magic"), "{err}");
    bytes[0] = 0;
    bytes[2] = 0x0d; // float type
    assert_eq!(
        parse_idx(&bytes),
        Err(IdxError::UnsupportedType { code: 0x0d })
    );
    bytes[2] = 8;
    bytes[3] = 0;
    assert_eq!(parse_idx(&bytes), Err(IdxError::NoDimensions));
}

#[test]
fn counts_that_disagree_with_the_length_are_rejected() {
    // Header says 5 elements, 4 follow; and 3 elements with trailing garbage.
    let mut bytes = encode_idx(&[4], &[1, 2, 3, 4]).unwrap();
    bytes[7] = 5;
    assert!(matches!(
        parse_idx(&bytes),
        Err(IdxError::LengthMismatch {
            expected: 5,
            found: 4,
            ..
        })
    ));
    bytes[7] = 3;
    assert!(matches!(
        parse_idx(&bytes),
        Err(IdxError::LengthMismatch {
            expected: 3,
            found: 4,
            ..
        })
    ));
    // Huge declared sizes: no allocation, no overflow.
    let mut huge = vec![0, 0, 8, 4];
    for _ in 0..4 {
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
    }
    assert!(matches!(parse_idx(&huge), Err(IdxError::TooLarge { .. })));
    let mut big = vec![0, 0, 8, 2];
    big.extend_from_slice(&60000u32.to_be_bytes());
    big.extend_from_slice(&784u32.to_be_bytes());
    assert!(matches!(
        parse_idx(&big),
        Err(IdxError::LengthMismatch { found: 0, .. })
    ));
}

#[test]
fn missing_file_names_the_path_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_mnist(dir.path(), Split::Train).unwrap_err();
    match &err {
        DataError::MissingFile { path, .. } => {
            assert!(
                path.ends_with("train-images.idx3-ubyte"),
                "{}",
                path.display()
            )
        }
        other => panic!("expected MissingFile, got {other}"),
    }
    assert!(err.to_string().contains("cargo xtask setup"), "{err}");
    let err = read_idx_file(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(err, DataError::MissingFile { .. }));
}

#[test]
fn mnist_loader_pads_scales_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), Split::Test, 12);
    let data = load_mnist(dir.path(), Split::Test).unwrap();
    assert_eq!(data.x.shape(), &[12, 1024]);
    assert_eq!(data.shape, vec![1, 32, 32]);
    assert_eq!(data.num_classes, Some(10));
    assert_eq!(
        data.labels.as_ref().unwrap().to_vec(),
        (0..12).map(|i| i % 10).collect::<Vec<i64>>()
    );
    let raw = sample_images(12);
    for img in 0..12 {
        for r in 0..32 {
            for c in 0..32 {
                let v = data.x[[img, r * 32 + c]];
                if !(2..30).contains(&r) || !(2..30).contains(&c) {
                    assert_eq!(v, -1.0);
                } else {
                    let byte = raw[img * 784 + (r - 2) * 28 + (c - 2)];
                    assert_eq!(v, f32::from(byte) / 127.5 - 1.0);
                }
            }
        }
    }
    // Corrupt variants, each a typed error naming the file.
    let files = mnist_files(dir.path(), Split::Test);
    std::fs::write(&files.labels, encode_idx(&[11], &[0; 11]).unwrap()).unwrap();
    let err = load_mnist(dir.path(), Split::Test).unwrap_err();
    assert!(
        matches!(err, DataError::Format { .. }) && err.to_string().contains("12 images"),
        "{err}"
    );
    std::fs::write(&files.labels, encode_idx(&[12], &[10; 12]).unwrap()).unwrap();
    let err = load_mnist(dir.path(), Split::Test).unwrap_err();
    assert!(err.to_string().contains("not a digit"), "{err}");
    std::fs::write(
        &files.images,
        encode_idx(&[12, 784], &sample_images(12)).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        load_mnist(dir.path(), Split::Test),
        Err(DataError::Format { .. })
    ));
    let good = encode_idx(&[12, 28, 28], &sample_images(12)).unwrap();
    std::fs::write(&files.images, &good[..good.len() - 1]).unwrap();
    let err = load_mnist(dir.path(), Split::Test).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Idx {
                source: IdxError::LengthMismatch { .. },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn gzipped_files_with_debian_names_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let images = encode_idx(&[3, 28, 28], &sample_images(3)).unwrap();
    let labels = encode_idx(&[3], &[7, 8, 9]).unwrap();
    std::fs::write(dir.path().join("train-images-idx3-ubyte.gz"), gzip(&images)).unwrap();
    std::fs::write(dir.path().join("train-labels-idx1-ubyte.gz"), gzip(&labels)).unwrap();
    let data = load_mnist(dir.path(), Split::Train).unwrap();
    assert_eq!(data.labels.unwrap().to_vec(), vec![7, 8, 9]);
}

fn valid_idx() -> impl Strategy<Value = Vec<u8>> {
    (1usize..4, 0usize..5, 0usize..5).prop_map(|(a, b, c)| {
        let dims = [a, b, c];
        let n = a * b * c;
        encode_idx(&dims, &(0..n).map(|i| i as u8).collect::<Vec<_>>()).unwrap()
    })
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_idx(&bytes);
    }

    #[test]
    fn random_bytes_behind_gzip_magic_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..128)) {
        let mut bytes = vec![0x1f, 0x8b];
        bytes.extend(tail);
        let _ = parse_idx(&bytes);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        bytes in valid_idx(),
        flips in proptest::collection::vec((0usize..64, any::<u8>()), 1..4),
        cut in 0usize..80,
        extra in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut mutated = bytes.clone();
        for (pos, val) in flips {
            if let Some(b) = mutated.get_mut(pos % bytes.len()) {
                *b = val;
            }
        }
        mutated.truncate(mutated.len().saturating_sub(cut % 8));
        mutated.extend(extra);
        match parse_idx(&mutated) {
            // Anything accepted is self-consistent.
            Ok(arr) => prop_assert_eq!(arr.data.len(), arr.dims.iter().product::<usize>()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        let _ = parse_idx(&gzip(&mutated));
    }
}
