//! Tests of the MLP-manifold: intrinsic dimension (singular-value spectrum, computed with faer),
//! stripes, scale, labels, determinism.

mod common;

use common::{chi_square_quantile, chi_square_uniform};
use dmd_data::{DataError, MlpManifold, stripes};
use ndarray::{Array1, Array2, Axis};

/// Singular values (descending) of the column-centred data, as square roots of the eigenvalues
/// of the Gram matrix `X_c X_c^T` (n x n, built with ndarray; eigenvalues by faer). The Gram
/// route keeps faer's generic code, compiled into this unoptimised test, on a small matrix.
fn centred_singular_values(x: &Array2<f32>) -> Vec<f64> {
    let x = x.mapv(f64::from);
    let mean = x.mean_axis(Axis(0)).unwrap();
    let centred = &x - &mean.insert_axis(Axis(0));
    let gram = centred.dot(&centred.t());
    let m = faer::Mat::<f64>::from_fn(gram.nrows(), gram.ncols(), |i, j| gram[[i, j]]);
    let mut eig = m
        .self_adjoint_eigenvalues(faer::Side::Lower)
        .expect("eigenvalues converge");
    eig.sort_by(|a, b| b.total_cmp(a));
    eig.into_iter().map(|l| l.max(0.0).sqrt()).collect()
}

#[test]
fn manifold_without_stripes_has_sixteen_significant_singular_values() {
    let spec = MlpManifold {
        stripes: false,
        ..MlpManifold::default()
    };
    let data = spec.generate(400, 0).unwrap();
    assert_eq!(data.x.shape(), &[400, 1024]);
    assert!(data.labels.is_none());
    let s = centred_singular_values(&data.x);
    let energy: f64 = s.iter().map(|v| v * v).sum();
    let top16: f64 = s[..16].iter().map(|v| v * v).sum();
    eprintln!("singular values 1..24: {:?}", &s[..24]);
    eprintln!("energy in top 16: {}", top16 / energy);
    // A clear gap after the 16th value, most variance in the top 16, and far fewer than 1024
    // (or 128, the hidden width) significant directions.
    assert!(
        s[15] / s[16] > 2.0,
        "no gap: s16 = {}, s17 = {}",
        s[15],
        s[16]
    );
    assert!(top16 / energy > 0.9, "top-16 energy {}", top16 / energy);
    let significant = s.iter().filter(|&&v| v > 0.2 * s[0]).count();
    assert!(
        (14..=16).contains(&significant),
        "{significant} values above 0.2 s1"
    );
    let nonzero = s.iter().filter(|&&v| v > 1e-3 * s[0]).count();
    assert!(
        nonzero <= 128,
        "{nonzero} directions above 1e-3 s1 (span of W2 is 128)"
    );
}

#[test]
fn intrinsic_dimension_is_a_parameter() {
    let spec = MlpManifold {
        stripes: false,
        latent_dim: 4,
        image_size: 16,
        ..MlpManifold::default()
    };
    let data = spec.generate(200, 1).unwrap();
    assert_eq!(data.x.shape(), &[200, 256]);
    assert_eq!(data.shape, vec![1, 16, 16]);
    let s = centred_singular_values(&data.x);
    assert!(s[3] / s[4] > 2.0, "no gap after 4: {:?}", &s[..8]);
}

#[test]
fn vector_layout_has_any_ambient_dimension() {
    for (k, d) in [(4, 4), (4, 7), (4, 64), (2, 33)] {
        let spec = MlpManifold {
            stripes: false,
            latent_dim: k,
            vector_dim: Some(d),
            ..MlpManifold::default()
        };
        let data = spec.generate(300, 2).unwrap();
        assert_eq!(data.x.shape(), &[300, d]);
        assert_eq!(data.shape, vec![d]);
        // Standardised coordinates (manifold_std 0.4 each).
        let sd = data.x.std_axis(Axis(0), 0.0);
        assert!(sd.iter().all(|&v| (v - 0.4).abs() < 0.06), "{sd:?}");
        // Intrinsic dimension k: latents in a small ball around z0 map to a patch whose local
        // spectrum has exactly k significant directions (the rank of the map's Jacobian; the
        // global spectrum is no test at small D, where the curvature spreads over all axes).
        let map = spec.build().unwrap();
        let z0 = Array2::from_shape_fn((1, k), |(_, j)| 0.3 * j as f32 - 0.2);
        let eps = 1e-2_f32;
        let offsets = Array2::from_shape_fn((64, k), |(i, j)| {
            eps * ((((i * 7 + j * 13 + i * j) % 17) as f32 / 8.0) - 1.0)
        });
        let patch = map.manifold_part((&offsets + &z0).view()).unwrap();
        let s = centred_singular_values(&patch);
        let rank = s.iter().filter(|&&v| v > 1e-2 * s[0]).count();
        assert_eq!(
            rank,
            k.min(d),
            "R^{d}, k = {k}: local spectrum {:?}",
            &s[..d.min(k + 2)]
        );
    }
    // The vector layout leaves image configs (and their hashes) alone: unset is not written.
    let text = toml::to_string(&MlpManifold::default()).unwrap();
    assert!(!text.contains("vector_dim"), "{text}");
}

#[test]
fn pixels_are_standardised_to_about_unit_range() {
    let data = MlpManifold::default().generate(2000, 2).unwrap();
    // The manifold part is standardised per pixel (mean 0, std 0.4); the stripes have zero mean
    // and unit RMS over the pixels, so over all pixels: mean 0, std sqrt(0.4^2 + 0.3^2) = 0.5.
    let all_mean = data.x.mean().unwrap();
    let all_sd = data.x.std(0.0);
    assert!(all_mean.abs() < 0.01, "overall mean {all_mean}");
    assert!((all_sd - 0.5).abs() < 0.02, "overall std {all_sd}");
    let plain = MlpManifold {
        stripes: false,
        ..MlpManifold::default()
    }
    .generate(2000, 2)
    .unwrap();
    let sd = plain.x.std_axis(Axis(0), 0.0);
    let mean = plain.x.mean_axis(Axis(0)).unwrap();
    assert!(
        sd.iter().all(|s| (s - 0.4).abs() < 0.05),
        "pixel stds not ~0.4"
    );
    assert!(mean.iter().all(|m| m.abs() < 0.05), "pixel means not ~0");
    let inside = data.x.iter().filter(|v| v.abs() <= 1.0).count() as f64 / data.x.len() as f64;
    assert!(inside > 0.93, "only {inside} of the pixels in [-1, 1]");
    let max = data.x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(max < 3.5, "max |pixel| {max}");
}

#[test]
fn stripes_are_whitened_class_patterns() {
    let w = stripes::whitened_stripes(10, 32).unwrap();
    assert_eq!(w.shape(), &[10, 1024]);
    let gram = w.dot(&w.t()) / 1024.0;
    for ((i, j), v) in gram.indexed_iter() {
        let want = if i == j { 1.0 } else { 0.0 };
        assert!((v - want).abs() < 1e-4, "gram[{i},{j}] = {v}");
    }
    for row in w.rows() {
        assert!(row.sum().abs() < 1e-2, "pattern not centred");
    }
    // Each whitened pattern stays close to its (centred, normalised) plane wave.
    let raw = stripes::raw_stripes(10, 32);
    for c in 0..10 {
        let r = raw.row(c).mapv(|v| v as f32);
        let r = &r - r.mean().unwrap();
        let cos = r.dot(&w.row(c)) / (r.dot(&r).sqrt() * w.row(c).dot(&w.row(c)).sqrt());
        assert!(cos > 0.9, "class {c}: cosine {cos} to its plane wave");
    }
    assert!(stripes::whitened_stripes(0, 32).is_err());
    // 20 patterns cannot be independent in a 2x2 image (3-D after centring).
    assert!(matches!(
        stripes::whitened_stripes(20, 2),
        Err(DataError::InvalidParameter { .. })
    ));
}

#[test]
fn labels_are_uniform_and_select_the_stripe() {
    let spec = MlpManifold::default();
    let data = spec.generate(3000, 3).unwrap();
    assert_eq!(data.num_classes, Some(10));
    assert_eq!(data.shape, vec![1, 32, 32]);
    let counts = data.class_counts().unwrap();
    assert!(
        chi_square_uniform(&counts) < chi_square_quantile(9, 3.09),
        "{counts:?}"
    );
    // Subtracting the manifold part leaves exactly amplitude * pattern of the labelled class.
    let map = spec.build().unwrap();
    let patterns = map.stripe_patterns().unwrap();
    let labels = data.labels.clone().unwrap();
    // Regenerate the latents the same way generate() does and compare.
    let z = {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        Array2::<f32>::from_shape_simple_fn((3000, 16), || StandardNormal.sample(&mut rng))
    };
    let manifold = map.manifold_part(z.view()).unwrap();
    let stripes_only = &data.x - &manifold;
    for (row, &l) in stripes_only.rows().into_iter().zip(&labels).take(50) {
        let want = &patterns.row(l as usize) * 0.3;
        let err = (&row - &want).mapv(f32::abs).fold(0.0f32, |a, &b| a.max(b));
        assert!(err < 1e-4, "class {l}: residual {err}");
    }
    // A nearest-class-mean classifier on the stripe component is perfect: classes are distinct.
    let proj = stripes_only.dot(&patterns.t());
    for (row, &l) in proj.rows().into_iter().zip(&labels) {
        let argmax = row
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
            .0;
        assert_eq!(argmax as i64, l);
    }
}

#[test]
fn map_checks_labels_and_latent_shape() {
    let map = MlpManifold::default().build().unwrap();
    let z = Array2::<f32>::zeros((2, 16));
    assert!(map.map(z.view(), None).is_err());
    assert!(map.map(z.view(), Some(&Array1::from(vec![0, 10]))).is_err());
    assert!(map.map(z.view(), Some(&Array1::from(vec![0]))).is_err());
    assert!(
        map.map(
            Array2::<f32>::zeros((2, 3)).view(),
            Some(&Array1::from(vec![0, 1]))
        )
        .is_err()
    );
    assert_eq!(
        map.map(z.view(), Some(&Array1::from(vec![0, 9])))
            .unwrap()
            .shape(),
        &[2, 1024]
    );
}

#[test]
fn determinism_and_manifold_seed() {
    let spec = MlpManifold::default();
    let a = spec.generate(64, 9).unwrap();
    let b = spec.generate(64, 9).unwrap();
    let c = spec.generate(64, 10).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.x, c.x);
    // The weight seed changes the manifold itself.
    let other = MlpManifold {
        seed: 1,
        ..MlpManifold::default()
    };
    assert_ne!(other.generate(64, 9).unwrap().x, a.x);
}

#[test]
fn invalid_parameters_are_errors() {
    for bad in [
        MlpManifold {
            latent_dim: 0,
            ..MlpManifold::default()
        },
        MlpManifold {
            image_size: 0,
            ..MlpManifold::default()
        },
        MlpManifold {
            hidden: 0,
            ..MlpManifold::default()
        },
        MlpManifold {
            num_classes: 0,
            ..MlpManifold::default()
        },
        MlpManifold {
            manifold_std: -1.0,
            ..MlpManifold::default()
        },
        MlpManifold {
            stripe_amplitude: f32::INFINITY,
            ..MlpManifold::default()
        },
        MlpManifold {
            vector_dim: Some(0),
            stripes: false,
            ..MlpManifold::default()
        },
        // Stripes are an image pattern: vectors cannot carry them.
        MlpManifold {
            vector_dim: Some(8),
            ..MlpManifold::default()
        },
    ] {
        assert!(matches!(
            bad.generate(4, 0),
            Err(DataError::InvalidParameter { .. })
        ));
    }
}
