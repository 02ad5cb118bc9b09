//! A tour of `dmd-data`: build every dataset of the study, check the toys' support, read a
//! dataset from a TOML-style config, load MNIST if it is installed, and bring your own data as a
//! NumPy `.npy` file.
//!
//! Run with `cargo run -p dmd-data --example datasets`.

use dmd_data::{
    Chessboard, DataError, Dataset, DatasetSpec, Embedding, GaussianMixture, MlpManifold, Mnist,
    Moons, Split, ToyDistribution, write_npy_f32,
};

fn summary(name: &str, d: &Dataset) {
    let lo = d.x.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = d.x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    println!(
        "{name:<34} x: {:>6} x {:<5} sample shape {:?}, classes {:?}, values in [{lo:.2}, {hi:.2}]",
        d.len(),
        d.dim(),
        d.shape,
        d.num_classes,
    );
}

fn main() -> Result<(), DataError> {
    let seed = 0;

    // 1. The paper's low-dimensional toys in R^4 (defaults = the paper's settings).
    let board = Chessboard::default();
    summary("chessboard (4x4, R^4)", &board.generate(2000, seed)?);
    summary(
        "double moons (noise 0.05, R^4)",
        &Moons::default().generate(2000, seed)?,
    );
    summary(
        "gaussian mixture (32 comp., R^4)",
        &GaussianMixture::default().generate(2000, seed)?,
    );

    // 2. The same chessboard on a random 2-plane of R^1024; the support check projects back.
    let high = Chessboard {
        ambient_dim: 1024,
        embedding: Embedding::RandomIsometry { seed: 7 },
        ..Chessboard::default()
    };
    let data = high.generate(2000, seed)?;
    summary("chessboard on a 2-plane of R^1024", &data);
    let report = high.support_report(data.x.view(), 1e-3)?;
    println!(
        "  support check of its own samples: {:.1}% on dark squares, mean off-plane distance {:.1e}",
        100.0 * report.fraction_on_support,
        report.mean_off_plane_distance
    );
    // Uniform points on [-1, 1]^2 (a 1 x 1 board is exactly that law) are on the dark squares
    // of the 4 x 4 board about half the time: the check tells data from noise.
    let noise = Chessboard {
        squares_per_side: 1,
        ..Chessboard::default()
    }
    .generate(2000, 1)?
    .x;
    let plane = noise.slice(ndarray::s![.., ..2]);
    println!(
        "  uniform points on the board: {:.1}% on dark squares",
        100.0 * board.fraction_on_support(plane)?
    );

    // 3. The MLP-manifold: a 16-D manifold in 32x32 images, with 10 stripe classes.
    let manifold = MlpManifold::default().generate(1000, seed)?;
    summary("MLP-manifold (16-D in 1024-D)", &manifold);

    // 4. Any dataset from a config: the `name` tag selects it, missing keys take defaults.
    let spec: DatasetSpec = toml::from_str(
        r#"
        name = "gmm"
        ambient_dim = 16
        embedding = { kind = "random_isometry", seed = 3 }
        "#,
    )
    .expect("valid config");
    summary("config: gmm in R^16", &spec.generate(Some(1000), seed)?);

    // 5. MNIST, if `cargo xtask setup` has fetched it.
    match (Mnist {
        split: Split::Test,
        dir: None,
    })
    .load()
    {
        Ok(mnist) => {
            summary("MNIST test (32x32, [-1, 1])", &mnist);
            println!(
                "  label counts {:?}",
                mnist.class_counts().unwrap_or_default()
            );
        }
        Err(e) => println!("MNIST not loaded: {e}"),
    }

    // 6. Your own data: any `n x ...` array saved with `np.save` (here written from Rust).
    let path = std::env::temp_dir().join(format!("dmd-data-example-{}.npy", std::process::id()));
    let pixels: Vec<f32> = (0..8 * 3 * 4 * 4)
        .map(|i| (i % 17) as f32 / 8.0 - 1.0)
        .collect();
    write_npy_f32(&path, &[8, 3, 4, 4], &pixels)?;
    let spec: DatasetSpec = toml::from_str(&format!(
        "name = \"npy\"\npath = {:?}\nshape = [3, 4, 4]",
        path.display().to_string()
    ))
    .expect("valid config");
    let own = spec.generate(Some(5), seed);
    std::fs::remove_file(&path).ok();
    summary("npy file (5 of 8 samples, 3x4x4)", &own?);
    Ok(())
}
