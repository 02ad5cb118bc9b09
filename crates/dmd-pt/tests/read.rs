//! Reads the fixtures written by real PyTorch (`tests/fixtures/make_fixtures.py`) and compares
//! every tensor, byte for byte, with the values PyTorch wrote beside them; then checks the
//! errors on broken, foreign and hostile files.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use dmd_pt::{DType, ErrorKind, PtError, StateDict, Value};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A tensor as PyTorch wrote it in `<stem>.expected.json`.
#[derive(Debug, Clone)]
struct Expected {
    name: String,
    dtype: String,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

/// Every tensor of `<stem>.expected.json`, in file order.
fn expected(stem: &str) -> Vec<Expected> {
    let text = std::fs::read_to_string(fixture(&format!("{stem}.expected.json"))).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    (json["tensors"].as_array().unwrap().iter())
        .map(|t| Expected {
            name: t["name"].as_str().unwrap().to_string(),
            dtype: t["dtype"].as_str().unwrap().to_string(),
            shape: (t["shape"].as_array().unwrap().iter())
                .map(|d| d.as_u64().unwrap() as usize)
                .collect(),
            bytes: hex(t["hex"].as_str().unwrap()),
        })
        .collect()
}

/// Asserts that `sd` holds exactly the expected tensors, in order, byte for byte.
fn assert_matches(sd: &StateDict, expected: &[Expected]) {
    let names: Vec<_> = sd.names().collect();
    let want: Vec<_> = expected.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, want);
    for ((name, t), e) in sd.tensors.iter().zip(expected) {
        assert_eq!(t.dtype.name(), e.dtype, "{name}");
        assert_eq!(t.shape, e.shape, "{name}");
        assert_eq!(t.data, e.bytes, "{name}");
        assert_eq!(t.data.len(), t.numel() * t.dtype.size(), "{name}");
    }
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    (bytes.chunks_exact(4))
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn module_state_dict_matches_pytorch() {
    let sd = dmd_pt::read_state_dict(&fixture("small.pt")).unwrap();
    let want = expected("small");
    assert_matches(&sd, &want);
    assert_eq!(sd.len(), 11);
    let w = sd.get("fc.weight").unwrap();
    assert_eq!((w.dtype, w.shape.as_slice()), (DType::F32, &[6, 4][..]));
    assert_eq!(w.to_f32().unwrap(), f32s(&want[0].bytes));
    let n = sd.get("bn.num_batches_tracked").unwrap();
    assert_eq!((n.dtype, n.shape.len()), (DType::I64, 0));
    assert_eq!(n.data, 5i64.to_le_bytes());
}

#[test]
fn protocol_4_and_parameters_read_the_same_tensors() {
    let small = dmd_pt::read_state_dict(&fixture("small.pt")).unwrap();
    let proto4 = dmd_pt::read_state_dict(&fixture("small_proto4.pt")).unwrap();
    let params = dmd_pt::read_state_dict(&fixture("params.pt")).unwrap();
    assert_eq!(proto4, small);
    assert_eq!(params, small);
}

#[test]
fn every_dtype_and_view_matches_pytorch() {
    let sd = dmd_pt::read_state_dict(&fixture("dtypes.pt")).unwrap();
    assert_matches(&sd, &expected("dtypes"));
    let get = |name| sd.get(name).unwrap();
    let scalar = get("scalar");
    assert!(scalar.shape.is_empty());
    assert_eq!(scalar.to_f32().unwrap(), [3.5]);
    let empty = get("empty");
    assert_eq!((empty.shape.as_slice(), empty.data.len()), (&[0, 3][..], 0));
    // grid = arange(12).reshape(3, 4) - 4, saved as grid.t() and grid[:, 1::2]
    let grid = |r: usize, c: usize| (r * 4 + c) as f32 - 4.0;
    let transposed: Vec<f32> = (0..4)
        .flat_map(|c| (0..3).map(move |r| grid(r, c)))
        .collect();
    assert_eq!(get("transposed").to_f32().unwrap(), transposed);
    let strided: Vec<f32> = (0..3).flat_map(|r| [1, 3].map(|c| grid(r, c))).collect();
    assert_eq!(get("strided").to_f32().unwrap(), strided);
    assert_eq!(
        get("expanded").to_f32().unwrap(),
        [1.5, -2.0, 1.5, -2.0, 1.5, -2.0]
    );
    // head = base[2:5] and tail = base[5:] share base = arange(10) * 0.5
    assert_eq!(get("head").to_f32().unwrap(), [1.0, 1.5, 2.0]);
    assert_eq!(get("tail").to_f32().unwrap(), [2.5, 3.0, 3.5, 4.0, 4.5]);
    assert_eq!(get("bool").data, [1, 0, 1, 0, 0, 1]);
    for half in ["f16", "bf16", "f64"] {
        let t = get(half);
        assert_eq!(t.to_f32().unwrap().len(), t.numel(), "{half}");
    }
    for int in ["i64", "i32", "i16", "i8", "u8", "bool"] {
        let err = get(int).to_f32().unwrap_err();
        assert!(matches!(err, ErrorKind::NotFloat(_)), "{int}: {err}");
    }
}

#[test]
fn nested_checkpoints_flatten_and_sub_dicts_can_be_picked() {
    let path = fixture("nested.pt");
    let want = expected("nested");
    assert_matches(&dmd_pt::read_state_dict(&path).unwrap(), &want);

    let ema = dmd_pt::read_state_dict_at(&path, &["ema"]).unwrap();
    let want_ema: Vec<_> = (want.iter())
        .filter_map(|e| {
            let name = e.name.strip_prefix("ema.")?.to_string();
            Some(Expected { name, ..e.clone() })
        })
        .collect();
    assert_eq!(want_ema.len(), 11);
    assert_matches(&ema, &want_ema);
    let model = dmd_pt::read_state_dict_at(&path, &["model"]).unwrap();
    assert_eq!(
        model,
        dmd_pt::read_state_dict(&fixture("small.pt")).unwrap()
    );

    let tree = dmd_pt::read(&path).unwrap();
    assert_eq!(tree.get("step"), Some(&Value::Int(7)));
    assert_eq!(tree.get("name"), Some(&Value::Str("x".into())));
    assert_eq!(tree.get("lr"), Some(&Value::Float(0.25)));
    assert_eq!(
        tree.get("flags"),
        Some(&Value::List(vec![Value::Bool(true), Value::None]))
    );
    assert_eq!(
        tree.lookup(&["sched", "milestones"]).unwrap(),
        &Value::List(vec![Value::Int(100), Value::Int(200)])
    );
    assert!(
        tree.lookup(&["model", "fc.weight"])
            .unwrap()
            .as_tensor()
            .is_some()
    );

    let err = dmd_pt::read_state_dict_at(&path, &["optimizer"]).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err.kind, ErrorKind::NoSuchKey { .. }), "{message}");
    assert!(message.contains("nested.pt"), "{message}");
    assert!(
        message.contains("model, ema, step, name, lr, flags, sched"),
        "{message}"
    );
    let err = tree.lookup(&["step", "x"]).unwrap_err().to_string();
    assert_eq!(
        err,
        "no entry `x` in `step`: it is a value of type int, not a dictionary"
    );
}

/// Asserts that reading `path` fails with a message that names the file and contains `text`.
fn assert_fails(path: &Path, text: &str) -> PtError {
    let err = dmd_pt::read(path).unwrap_err();
    let message = err.to_string();
    let file = path.file_name().unwrap().to_str().unwrap();
    assert!(message.contains(file), "{message}");
    assert!(message.contains(text), "{message}");
    err
}

#[test]
fn the_legacy_format_says_how_to_re_save() {
    let err = assert_fails(
        &fixture("legacy.pt"),
        "torch.save(..., _use_new_zipfile_serialization=True)",
    );
    assert!(matches!(err.kind, ErrorKind::Legacy));
}

#[test]
fn non_zip_truncated_and_missing_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.pt");
    std::fs::write(&text, "hello").unwrap();
    assert!(matches!(
        assert_fails(&text, "not a zip").kind,
        ErrorKind::NotZip
    ));
    let empty = dir.path().join("empty.pt");
    std::fs::write(&empty, "").unwrap();
    assert!(matches!(
        assert_fails(&empty, "not a zip").kind,
        ErrorKind::NotZip
    ));

    let bytes = std::fs::read(fixture("small.pt")).unwrap();
    let truncated = dir.path().join("truncated.pt");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = assert_fails(&truncated, "corrupt or truncated zip");
    assert!(matches!(err.kind, ErrorKind::Zip(_)));

    let missing = dir.path().join("missing.pt");
    assert!(matches!(assert_fails(&missing, "").kind, ErrorKind::Io(_)));
}

/// Maps an archive entry's name and bytes to new bytes, or `None` to drop the entry.
type Edit<'a> = dyn Fn(&str, Vec<u8>) -> Option<Vec<u8>> + 'a;

/// Copies the archive `src` to `dst`, entry by entry, through `edit`.
fn rewrite(src: &Path, dst: &Path, edit: &Edit<'_>) {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    let options =
        zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if let Some(bytes) = edit(&name, bytes) {
            out.start_file(name, options).unwrap();
            out.write_all(&bytes).unwrap();
        }
    }
    out.finish().unwrap();
}

/// `haystack` with the one occurrence of `from` replaced by `to`.
fn replace_once(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at: Vec<_> = (0..haystack.len().saturating_sub(from.len()))
        .filter(|&i| haystack[i..].starts_with(from))
        .collect();
    assert_eq!(at.len(), 1, "pattern must occur once");
    [&haystack[..at[0]], to, &haystack[at[0] + from.len()..]].concat()
}

#[test]
fn broken_archives_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let small = fixture("small.pt");
    let case = |name: &str, edit: &Edit<'_>| {
        let path = dir.path().join(name);
        rewrite(&small, &path, edit);
        path
    };

    let no_pickle = case("no_pickle.pt", &|n, b| {
        (!n.ends_with("data.pkl")).then_some(b)
    });
    assert!(matches!(
        assert_fails(&no_pickle, "data.pkl").kind,
        ErrorKind::MissingDataPkl
    ));

    let big = case("big.pt", &|n, b| {
        Some(if n.ends_with("byteorder") {
            b"big".to_vec()
        } else {
            b
        })
    });
    let err = assert_fails(&big, "byte order");
    assert!(matches!(err.kind, ErrorKind::ByteOrder(ref o) if o == "big"));

    let no_storage = case("no_storage.pt", &|n, b| {
        (!n.ends_with("data/3")).then_some(b)
    });
    let err = assert_fails(&no_storage, "storage `3`");
    assert!(matches!(err.kind, ErrorKind::MissingStorage { ref key } if key == "3"));

    let short = case("short.pt", &|n, mut b| {
        if n.ends_with("data/0") {
            b.truncate(10);
        }
        Some(b)
    });
    assert!(matches!(
        assert_fails(&short, "storage `0` holds 10 bytes").kind,
        ErrorKind::ShortStorage {
            expected: 96,
            actual: 10,
            ..
        }
    ));

    // fc.weight is rebuilt with (storage, offset 0, size (6, 4), ...): move it 5 elements on.
    let past = case("past.pt", &|n, b| {
        Some(if n.ends_with("data.pkl") {
            replace_once(&b, b"QK\x00K\x06K\x04\x86", b"QK\x05K\x06K\x04\x86")
        } else {
            b
        })
    });
    let err = assert_fails(
        &past,
        "tensor `fc.weight` (offset 5, shape [6, 4], stride [4, 1])",
    );
    assert!(matches!(err.kind, ErrorKind::ViewOutOfBounds { .. }));

    let cut = case("cut.pt", &|n, b| {
        Some(if n.ends_with("data.pkl") {
            b[..b.len() / 2].to_vec()
        } else {
            b
        })
    });
    assert!(matches!(
        assert_fails(&cut, "ends early").kind,
        ErrorKind::Pickle { .. }
    ));
}

#[test]
fn a_pickle_that_would_run_code_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil.pt");
    // pickle.dumps of an object whose __reduce__ returns (os.system, ('touch pwned',)).
    let evil = b"\x80\x02cposix\nsystem\nq\x00X\x0b\x00\x00\x00touch pwnedq\x01\x85q\x02Rq\x03.";
    rewrite(&fixture("small.pt"), &path, &|n, b| {
        Some(if n.ends_with("data.pkl") {
            evil.to_vec()
        } else {
            b
        })
    });
    let err = assert_fails(&path, "unsupported global posix.system");
    assert!(matches!(err.kind, ErrorKind::UnsupportedGlobal { .. }));
    assert!(!dir.path().join("pwned").exists());
}

#[test]
fn hostile_object_graphs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let with_pickle = |name: &str, pickle: Vec<u8>| {
        let path = dir.path().join(name);
        rewrite(&fixture("small.pt"), &path, &|n, b| {
            Some(if n.ends_with("data.pkl") {
                pickle.clone()
            } else {
                b
            })
        });
        path
    };
    // a list that contains itself: l = []; l.append(l)
    let cycle = with_pickle("cycle.pt", b"\x80\x02]q\x00h\x00a.".to_vec());
    assert_fails(&cycle, "nested more than");
    // 10,000 nested 1-tuples
    let deep = [&b"\x80\x02N"[..], &[0x85; 10_000], b"."].concat();
    assert_fails(&with_pickle("deep.pt", deep), "nested more than");
    // x = None; 64 times x = (x, x): 2^64 leaves from 200 bytes
    let doubling = [&b"\x80\x02N"[..], &b"q\x00h\x00\x86".repeat(64), b"."].concat();
    assert_fails(&with_pickle("doubling.pt", doubling), "far more values");
}
