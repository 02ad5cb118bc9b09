//! [`StateDict`]: the tensors of a [`Value`] tree under dotted names.

use std::collections::HashSet;

use crate::error::ErrorKind;
use crate::pickle::{Value, key_name};
use crate::tensor::RawTensor;

/// Named tensors in file order, as `module.state_dict()` lists them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateDict {
    /// `(dotted name, tensor)` pairs; names are unique.
    pub tensors: Vec<(String, RawTensor)>,
}

impl StateDict {
    /// The tensor named `name`.
    pub fn get(&self, name: &str) -> Option<&RawTensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.iter().map(|(n, _)| n.as_str())
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether there are no tensors.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }
}

/// Every tensor in `value`, depth first in file order, named by its key path joined with dots
/// (`model.fc.weight`; list and tuple items by their index, `buffers.0`; a tensor at the root
/// is named `""`). Other leaves (numbers, strings, `None`, ...) are skipped.
///
/// # Errors
/// [`ErrorKind::DuplicateName`] when two paths join to the same name (keys `a.b` and `a` → `b`).
pub fn flatten(value: &Value) -> Result<StateDict, ErrorKind> {
    let mut out = StateDict::default();
    let mut seen = HashSet::new();
    collect(value, String::new(), &mut out, &mut seen)?;
    Ok(out)
}

fn collect(
    value: &Value,
    name: String,
    out: &mut StateDict,
    seen: &mut HashSet<String>,
) -> Result<(), ErrorKind> {
    let child = |segment: String| match name.as_str() {
        "" => segment,
        _ => format!("{name}.{segment}"),
    };
    match value {
        Value::Tensor(t) => {
            if !seen.insert(name.clone()) {
                return Err(ErrorKind::DuplicateName(name));
            }
            out.tensors.push((name, t.clone()));
        }
        Value::Dict(entries) => {
            for (k, v) in entries {
                collect(v, child(key_name(k).unwrap_or_default()), out, seen)?;
            }
        }
        Value::List(items) | Value::Tuple(items) => {
            for (i, v) in items.iter().enumerate() {
                collect(v, child(i.to_string()), out, seen)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::DType;

    fn tensor(x: u8) -> Value {
        Value::Tensor(RawTensor {
            dtype: DType::U8,
            shape: vec![1],
            data: vec![x],
        })
    }

    #[test]
    fn nested_keys_join_with_dots_and_clashes_are_refused() {
        let tree = Value::Dict(vec![
            (Value::Str("step".into()), Value::Int(3)),
            (
                Value::Str("model".into()),
                Value::Dict(vec![(Value::Str("w".into()), tensor(1))]),
            ),
            (Value::Int(0), Value::List(vec![Value::None, tensor(2)])),
        ]);
        let sd = flatten(&tree).unwrap();
        assert_eq!(sd.names().collect::<Vec<_>>(), ["model.w", "0.1"]);
        assert_eq!(sd.get("0.1").unwrap().data, [2]);

        let clash = Value::Dict(vec![
            (Value::Str("a.b".into()), tensor(1)),
            (
                Value::Str("a".into()),
                Value::Dict(vec![(Value::Str("b".into()), tensor(2))]),
            ),
        ]);
        let err = flatten(&clash).unwrap_err();
        assert!(
            matches!(err, ErrorKind::DuplicateName(ref n) if n == "a.b"),
            "{err}"
        );
    }
}
