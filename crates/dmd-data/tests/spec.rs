//! `DatasetSpec` as a config: TOML parsing with paper defaults, unknown keys rejected,
//! round trips, and generation through the spec.

use dmd_data::{
    Chessboard, DataError, DatasetSpec, Embedding, FashionMnist, GaussianMixture, MlpManifold,
    Mnist, Moons, Split,
};

fn parse(s: &str) -> Result<DatasetSpec, toml::de::Error> {
    toml::from_str(s)
}

#[test]
fn names_select_datasets_with_paper_defaults() {
    assert_eq!(
        parse("name = \"chessboard\"").unwrap(),
        DatasetSpec::Chessboard(Chessboard::default())
    );
    assert_eq!(
        parse("name = \"moons\"").unwrap(),
        DatasetSpec::Moons(Moons::default())
    );
    assert_eq!(
        parse("name = \"gmm\"").unwrap(),
        DatasetSpec::Gmm(GaussianMixture::default())
    );
    assert_eq!(
        parse("name = \"mlp_manifold\"").unwrap(),
        DatasetSpec::MlpManifold(MlpManifold::default())
    );
    assert_eq!(
        parse("name = \"fashion_mnist\"\nsplit = \"test\"").unwrap(),
        DatasetSpec::FashionMnist(FashionMnist {
            split: Split::Test,
            dir: None
        })
    );
    assert_eq!(
        parse("name = \"mnist\"").unwrap(),
        DatasetSpec::Mnist(Mnist::default())
    );
    // The paper's values.
    let d = Chessboard::default();
    assert_eq!(
        (d.squares_per_side, d.half_width, d.ambient_dim),
        (4, 1.0, 4)
    );
    assert_eq!(d.embedding, Embedding::FirstCoordinates {});
    let g = GaussianMixture::default();
    assert_eq!((g.components, g.dim, g.ambient_dim), (32, 4, 4));
    let m = MlpManifold::default();
    assert_eq!(
        (m.latent_dim, m.image_size, m.num_classes, m.stripes),
        (16, 32, 10, true)
    );
}

#[test]
fn parameters_and_nested_embedding_parse() {
    let spec = parse(
        r#"
        name = "chessboard"
        ambient_dim = 1024
        embedding = { kind = "random_isometry", seed = 7 }
        "#,
    )
    .unwrap();
    assert_eq!(
        spec,
        DatasetSpec::Chessboard(Chessboard {
            ambient_dim: 1024,
            embedding: Embedding::RandomIsometry { seed: 7 },
            ..Chessboard::default()
        })
    );
    assert_eq!(spec.sample_shape(), vec![1024]);
    let mnist = parse("name = \"mnist\"\nsplit = \"test\"\ndir = \"/data/mnist\"").unwrap();
    assert_eq!(
        mnist,
        DatasetSpec::Mnist(Mnist {
            split: Split::Test,
            dir: Some("/data/mnist".into())
        })
    );
    assert_eq!(mnist.sample_shape(), vec![1, 32, 32]);
    assert_eq!(mnist.num_classes(), Some(10));
}

#[test]
fn unknown_names_and_keys_are_rejected() {
    assert!(parse("name = \"imagenet\"").is_err());
    assert!(parse("ambient_dim = 4").is_err());
    let err = parse("name = \"chessboard\"\nambient_dimension = 4").unwrap_err();
    assert!(err.to_string().contains("ambient_dimension"), "{err}");
    assert!(parse("name = \"moons\"\nnoise = \"high\"").is_err());
    assert!(parse("name = \"gmm\"\nembedding = { kind = \"rotation\" }").is_err());
    assert!(
        parse("name = \"gmm\"\nembedding = { kind = \"first_coordinates\", seed = 1 }").is_err()
    );
    assert!(parse("name = \"mnist\"\nsplit = \"validation\"").is_err());
}

#[test]
fn every_spec_round_trips_through_toml() {
    let specs = [
        DatasetSpec::Chessboard(Chessboard {
            embedding: Embedding::RandomIsometry { seed: 3 },
            ambient_dim: 16,
            ..Chessboard::default()
        }),
        DatasetSpec::Moons(Moons {
            noise: 0.1,
            ..Moons::default()
        }),
        DatasetSpec::Gmm(GaussianMixture {
            components: 8,
            ..GaussianMixture::default()
        }),
        DatasetSpec::MlpManifold(MlpManifold {
            stripes: false,
            ..MlpManifold::default()
        }),
        DatasetSpec::Mnist(Mnist {
            split: Split::Test,
            dir: None,
        }),
    ];
    for spec in specs {
        let text = toml::to_string(&spec).unwrap();
        assert!(
            text.contains(&format!("name = \"{}\"", spec.name())),
            "{text}"
        );
        assert_eq!(parse(&text).unwrap(), spec, "{text}");
    }
}

#[test]
fn generate_through_the_spec() {
    let specs = [
        parse("name = \"chessboard\"").unwrap(),
        parse("name = \"moons\"\nambient_dim = 8").unwrap(),
        parse("name = \"gmm\"").unwrap(),
        parse("name = \"mlp_manifold\"\nimage_size = 8\nlatent_dim = 4").unwrap(),
    ];
    for spec in specs {
        spec.validate().unwrap();
        let a = spec.generate(Some(100), 1).unwrap();
        assert_eq!(a.x.nrows(), 100);
        assert_eq!(a.x.ncols(), spec.dim());
        assert_eq!(a.shape, spec.sample_shape());
        assert_eq!(a.num_classes, spec.num_classes());
        assert_eq!(a, spec.generate(Some(100), 1).unwrap());
        assert_ne!(a.x, spec.generate(Some(100), 2).unwrap().x);
        // Synthetic data need a count.
        assert!(matches!(
            spec.generate(None, 1),
            Err(DataError::InvalidParameter { name: "n", .. })
        ));
        // The toys' own samples pass their support check; other data have none.
        let report = spec.support_report(a.x.view(), 1e-4).unwrap();
        match &spec {
            DatasetSpec::MlpManifold(_) => assert!(report.is_none()),
            DatasetSpec::Moons(_) => assert!(report.unwrap().fraction_on_support > 0.95),
            _ => assert_eq!(report.unwrap().fraction_on_support, 1.0),
        }
    }
    let bad = parse("name = \"chessboard\"\nambient_dim = 1").unwrap();
    assert!(bad.validate().is_err());
    assert!(bad.generate(Some(3), 0).is_err());
}

#[test]
fn ambient_and_intrinsic_dimensions() {
    let v =
        parse("name = \"mlp_manifold\"\nlatent_dim = 4\nvector_dim = 32\nstripes = false").unwrap();
    assert_eq!((v.dim(), v.intrinsic_dim()), (32, Some(4)));
    assert_eq!(v.sample_shape(), vec![32]);
    let img = parse("name = \"mlp_manifold\"\nlatent_dim = 8\nimage_size = 16").unwrap();
    assert_eq!((img.dim(), img.intrinsic_dim()), (256, Some(8)));
    let c = parse("name = \"chessboard\"\nambient_dim = 64").unwrap();
    assert_eq!((c.dim(), c.intrinsic_dim()), (64, Some(2)));
    assert_eq!(parse("name = \"moons\"").unwrap().intrinsic_dim(), None);
    // Vectors cannot carry stripes.
    let bad = parse("name = \"mlp_manifold\"\nvector_dim = 32").unwrap();
    assert!(matches!(
        bad.validate(),
        Err(DataError::InvalidParameter { .. })
    ));
}
