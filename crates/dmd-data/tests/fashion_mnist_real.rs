//! Fashion-MNIST (optional; Debian package `dataset-fashion-mnist`, gzipped IDX with dashed
//! names): 60,000/10,000 images, 6,000/1,000 per class. Skips with a message when absent
//! (`cargo xtask setup` does not fetch it, so CI does not require it).

use dmd_data::{DataError, FashionMnist, Split};

fn check(split: Split, per_class: usize) {
    let spec = FashionMnist { split, dir: None };
    let data = match spec.load() {
        Ok(d) => d,
        Err(e @ DataError::MissingFile { .. }) => {
            eprintln!("SKIPPED: Fashion-MNIST not available ({e})");
            return;
        }
        Err(e) => panic!("Fashion-MNIST {split:?} failed to load: {e}"),
    };
    assert_eq!(data.x.shape(), &[per_class * 10, 1024]);
    assert_eq!(data.class_counts().unwrap(), vec![per_class; 10]);
    let values = data.x.as_slice().unwrap();
    assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert!(
        values[..1024].iter().take(32).all(|&v| v == -1.0),
        "top padding row"
    );
}

#[test]
fn fashion_mnist_train() {
    check(Split::Train, 6000);
}

#[test]
fn fashion_mnist_test() {
    check(Split::Test, 1000);
}
