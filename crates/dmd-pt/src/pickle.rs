//! The pickle of a `torch.save` file: a small pickle virtual machine and the [`Value`] tree it
//! produces.
//!
//! Only the opcodes that state dicts and checkpoints use are implemented (protocols 2 to 5,
//! without out-of-band buffers), and only an allow-list of globals is accepted:
//! `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
//! `torch._utils._rebuild_parameter(_with_state)` and the `torch.*Storage` types of the
//! supported dtypes. Globals are never imported or called: each allowed one is a fixed Rust
//! action (build a dictionary, describe a tensor view), and anything else is an error that
//! names the opcode or the global. A file can therefore not run code, whatever it contains.
//!
//! Parsing first builds the object graph in arenas (so that memoised containers are shared
//! the way Python shares them, and nothing is recursive while parsing); the graph is then
//! turned into a [`Value`] tree, copying each tensor out of its storage. The conversion is
//! bounded in depth and in the number of nodes, so cyclic or exponentially shared graphs fail
//! cleanly instead of exhausting the stack or memory.

use std::collections::HashMap;
use std::rc::Rc;

use crate::archive::Archive;
use crate::error::ErrorKind;
use crate::tensor::{DType, RawTensor, View};

/// A value from the pickle: the tree `torch.load` would return, with tensors copied out of
/// their storages.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `bool`.
    Bool(bool),
    /// `int` that fits in 64 bits.
    Int(i64),
    /// `int` too large for 64 bits: its little-endian two's-complement bytes.
    BigInt(Vec<u8>),
    /// `float`.
    Float(f64),
    /// `str`.
    Str(String),
    /// `bytes`.
    Bytes(Vec<u8>),
    /// `list`.
    List(Vec<Value>),
    /// `tuple`.
    Tuple(Vec<Value>),
    /// `dict` or `collections.OrderedDict`, in insertion order. Keys are `str`, `int`, `bool`
    /// or `None`. Attributes of the dictionary (a state dict's `_metadata`) are dropped.
    Dict(Vec<(Value, Value)>),
    /// `torch.Tensor` or `torch.nn.Parameter`.
    Tensor(RawTensor),
}

impl Value {
    /// The entry under the string key `key`, if this is a dictionary that has one.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at a path of string keys through nested dictionaries (`&["ema"]`,
    /// `&["model", "encoder"]`); the empty path is the value itself.
    ///
    /// # Errors
    /// [`ErrorKind::NoSuchKey`], naming the missing key and listing the keys that exist.
    pub fn lookup(&self, path: &[&str]) -> Result<&Value, ErrorKind> {
        let mut value = self;
        for (depth, key) in path.iter().enumerate() {
            value = value.get(key).ok_or_else(|| ErrorKind::NoSuchKey {
                key: (*key).to_string(),
                at: match depth {
                    0 => "at the top level".into(),
                    _ => format!("in `{}`", path[..depth].join(".")),
                },
                found: match value {
                    Value::Dict(entries) => format!(
                        "its keys are {}",
                        (entries.iter())
                            .map(|(k, _)| key_name(k).unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    other => format!("it is a value of type {}, not a dictionary", other.kind()),
                },
            })?;
        }
        Ok(value)
    }

    /// The tensor, if this is one.
    pub fn as_tensor(&self) -> Option<&RawTensor> {
        match self {
            Value::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// The Python type's name (`dict`, `int`, `Tensor`, ...), for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
            Value::Tensor(_) => "Tensor",
        }
    }
}

/// A dictionary key as a name segment: strings as they are, the other key types as Python's
/// `str()` writes them; `None` for values that are not keys.
pub(crate) fn key_name(key: &Value) -> Option<String> {
    match key {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(true) => Some("True".into()),
        Value::Bool(false) => Some("False".into()),
        Value::None => Some("None".into()),
        _ => None,
    }
}

/// Deepest nesting of containers accepted when building the [`Value`] tree. State dicts nest
/// a few levels and checkpoints a few more; the bound keeps the recursive conversion well
/// inside a 2 MiB thread stack even in debug builds (about 0.5 MiB at this depth).
const MAX_DEPTH: usize = 64;

/// A global the allow-list accepts. It is never imported: each is a fixed action.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Global {
    /// `collections.OrderedDict`: called with no arguments, an empty dictionary.
    OrderedDict,
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
    /// backward_hooks[, metadata])`: a view into a storage.
    RebuildTensor,
    /// `torch._utils._rebuild_parameter(tensor, requires_grad, backward_hooks[, state])`:
    /// the tensor itself.
    RebuildParameter,
    /// `torch.FloatStorage` and the like: the storage type in a persistent id.
    Storage(DType),
}

impl Global {
    fn resolve(module: &str, name: &str) -> Result<Global, ErrorKind> {
        match (module, name) {
            ("collections", "OrderedDict") => Ok(Global::OrderedDict),
            ("torch._utils", "_rebuild_tensor_v2") => Ok(Global::RebuildTensor),
            ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => {
                Ok(Global::RebuildParameter)
            }
            ("torch", _) | ("torch.storage", "UntypedStorage") => DType::from_storage_type(name)
                .map(Global::Storage)
                .ok_or_else(|| unsupported_global(module, name)),
            _ => Err(unsupported_global(module, name)),
        }
    }

    fn name(self) -> String {
        match self {
            Global::OrderedDict => "collections.OrderedDict".into(),
            Global::RebuildTensor => "torch._utils._rebuild_tensor_v2".into(),
            Global::RebuildParameter => "torch._utils._rebuild_parameter".into(),
            Global::Storage(dtype) => format!("the torch storage type of {dtype}"),
        }
    }
}

fn unsupported_global(module: &str, name: &str) -> ErrorKind {
    ErrorKind::UnsupportedGlobal {
        module: module.into(),
        name: name.into(),
    }
}

/// A storage named by a persistent id: `('storage', <type>, key, location, numel)`.
#[derive(Debug, Clone)]
struct StorageRef {
    key: Rc<str>,
    dtype: DType,
    numel: u64,
}

/// An object on the VM's stack or in its memo. Containers live in the [`Heap`] and are
/// referred to by index, so an object never owns another one.
#[derive(Debug, Clone)]
enum Obj {
    None,
    Bool(bool),
    Int(i64),
    BigInt(Rc<[u8]>),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(usize),
    List(usize),
    Dict(usize),
    Global(Global),
    Storage(StorageRef),
    Tensor(Rc<View>),
}

impl Obj {
    fn kind(&self) -> &'static str {
        match self {
            Obj::None => "None",
            Obj::Bool(_) => "bool",
            Obj::Int(_) | Obj::BigInt(_) => "int",
            Obj::Float(_) => "float",
            Obj::Str(_) => "str",
            Obj::Bytes(_) => "bytes",
            Obj::Tuple(_) => "tuple",
            Obj::List(_) => "list",
            Obj::Dict(_) => "dict",
            Obj::Global(_) => "global",
            Obj::Storage(_) => "storage",
            Obj::Tensor(_) => "Tensor",
        }
    }
}

/// A dictionary key, hashed so that setting an existing key replaces its value as in Python.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Key {
    None,
    Int(i64),
    Str(Rc<str>),
}

/// A dictionary under construction: entries in insertion order, and where each key is.
#[derive(Debug, Default)]
struct Dict {
    entries: Vec<(Obj, Obj)>,
    index: HashMap<Key, usize>,
}

/// Every container the pickle built, by index.
#[derive(Debug, Default)]
struct Heap {
    tuples: Vec<Vec<Obj>>,
    lists: Vec<Vec<Obj>>,
    dicts: Vec<Dict>,
}

/// A parsed pickle: its root object and the containers it refers to.
#[derive(Debug)]
pub(crate) struct Pickled {
    root: Obj,
    heap: Heap,
    /// Nodes the conversion to [`Value`] may create: a bound proportional to the pickle's
    /// size, generous for real files, that stops exponentially shared graphs.
    node_budget: usize,
}

/// Runs the pickle `data` (a `data.pkl`) and returns the object it builds.
pub(crate) fn parse(data: &[u8]) -> Result<Pickled, ErrorKind> {
    let mut vm = Vm {
        data,
        pos: 0,
        op_start: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        heap: Heap::default(),
    };
    let root = vm.run()?;
    Ok(Pickled {
        root,
        heap: vm.heap,
        node_budget: data.len().saturating_mul(16).saturating_add(1024),
    })
}

impl Pickled {
    /// The object as a [`Value`] tree, each tensor copied out of its storage in `archive`.
    pub(crate) fn into_value(self, archive: &mut Archive) -> Result<Value, ErrorKind> {
        let mut convert = Convert {
            heap: &self.heap,
            archive,
            nodes_left: self.node_budget,
        };
        convert.value(&self.root, "", 0)
    }
}

/// The conversion of the object graph into a [`Value`] tree.
struct Convert<'a> {
    heap: &'a Heap,
    archive: &'a mut Archive,
    nodes_left: usize,
}

impl Convert<'_> {
    /// The items of a tuple or list, named `<at>.<index>`.
    fn items(&mut self, items: &[Obj], at: &str, depth: usize) -> Result<Vec<Value>, ErrorKind> {
        (items.iter().enumerate())
            .map(|(i, item)| self.value(item, &child(at, &i.to_string()), depth + 1))
            .collect()
    }

    /// `obj` as a value; `at` is its dotted path (for tensor names and errors).
    fn value(&mut self, obj: &Obj, at: &str, depth: usize) -> Result<Value, ErrorKind> {
        let fail = |message: String| ErrorKind::Value {
            at: at.to_string(),
            message,
        };
        if depth > MAX_DEPTH {
            return Err(fail(format!(
                "containers nested more than {MAX_DEPTH} deep (or a cycle)"
            )));
        }
        self.nodes_left = self.nodes_left.checked_sub(1).ok_or_else(|| {
            fail("the object graph expands to far more values than the pickle holds".into())
        })?;
        let heap = self.heap;
        Ok(match obj {
            Obj::None => Value::None,
            Obj::Bool(b) => Value::Bool(*b),
            Obj::Int(i) => Value::Int(*i),
            Obj::BigInt(b) => Value::BigInt(b.to_vec()),
            Obj::Float(f) => Value::Float(*f),
            Obj::Str(s) => Value::Str(s.to_string()),
            Obj::Bytes(b) => Value::Bytes(b.to_vec()),
            Obj::Tuple(id) => Value::Tuple(self.items(&heap.tuples[*id], at, depth)?),
            Obj::List(id) => Value::List(self.items(&heap.lists[*id], at, depth)?),
            Obj::Dict(id) => {
                let mut entries = Vec::with_capacity(heap.dicts[*id].entries.len());
                for (k, v) in &heap.dicts[*id].entries {
                    let key = self.value(k, at, depth + 1)?;
                    let name = key_name(&key).unwrap_or_default();
                    let value = self.value(v, &child(at, &name), depth + 1)?;
                    entries.push((key, value));
                }
                Value::Dict(entries)
            }
            Obj::Tensor(view) => {
                let storage = self
                    .archive
                    .storage(&view.key, view.numel, view.dtype.size())?;
                Value::Tensor(view.materialise(at, storage)?)
            }
            Obj::Global(g) => return Err(fail(format!("{} is not a value", g.name()))),
            Obj::Storage(s) => {
                return Err(fail(format!(
                    "a bare storage (`{}`) outside a tensor is not supported",
                    s.key
                )));
            }
        })
    }
}

/// The dotted path of the child `segment` of the value at `at`.
fn child(at: &str, segment: &str) -> String {
    match at {
        "" => segment.to_string(),
        _ => format!("{at}.{segment}"),
    }
}

/// The pickle machine's state.
struct Vm<'a> {
    data: &'a [u8],
    /// Next byte to read.
    pos: usize,
    /// Offset of the opcode being run, for errors.
    op_start: usize,
    stack: Vec<Obj>,
    /// Stack lengths at each MARK.
    marks: Vec<usize>,
    memo: HashMap<u32, Obj>,
    heap: Heap,
}

impl<'a> Vm<'a> {
    fn run(&mut self) -> Result<Obj, ErrorKind> {
        loop {
            self.op_start = self.pos;
            let op = self.u8()?;
            match op {
                // PROTO
                0x80 => {
                    let version = self.u8()?;
                    if version > 5 {
                        return Err(
                            self.error(format!("pickle protocol {version} is not supported"))
                        );
                    }
                }
                // FRAME: a length prefix for buffered reading; the whole pickle is in memory.
                0x95 => {
                    self.take(8)?;
                }
                // STOP
                b'.' => return self.pop(),
                // MARK
                b'(' => self.marks.push(self.stack.len()),
                // NONE, NEWTRUE, NEWFALSE
                b'N' => self.stack.push(Obj::None),
                0x88 => self.stack.push(Obj::Bool(true)),
                0x89 => self.stack.push(Obj::Bool(false)),
                // BININT, BININT1, BININT2
                b'J' => {
                    let v = i32::from_le_bytes(self.array()?);
                    self.stack.push(Obj::Int(v.into()));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Obj::Int(v.into()));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.array()?);
                    self.stack.push(Obj::Int(v.into()));
                }
                // LONG1: little-endian two's complement of n bytes
                0x8a => {
                    let n = self.u8()?;
                    let bytes = self.take(n.into())?;
                    self.stack.push(long(bytes));
                }
                // BINFLOAT: big-endian f64
                b'G' => {
                    let v = f64::from_be_bytes(self.array()?);
                    self.stack.push(Obj::Float(v));
                }
                // SHORT_BINUNICODE, BINUNICODE, BINUNICODE8
                0x8c => {
                    let n = self.u8()?.into();
                    self.push_str(n)?;
                }
                b'X' => {
                    let n = u32::from_le_bytes(self.array()?).into();
                    self.push_str(n)?;
                }
                0x8d => {
                    let n = u64::from_le_bytes(self.array()?);
                    self.push_str(n)?;
                }
                // SHORT_BINSTRING, BINSTRING: Python 2 `str`, read as text when it is UTF-8
                // (Python's default decodes it as ASCII).
                b'U' | b'T' => {
                    let n = match op {
                        b'U' => self.u8()?.into(),
                        _ => u64::try_from(i32::from_le_bytes(self.array()?))
                            .map_err(|_| self.error("negative string length".into()))?,
                    };
                    let bytes = self.take(n)?;
                    self.stack.push(match std::str::from_utf8(bytes) {
                        Ok(s) => Obj::Str(s.into()),
                        Err(_) => Obj::Bytes(bytes.into()),
                    });
                }
                // SHORT_BINBYTES, BINBYTES, BINBYTES8
                b'C' | b'B' | 0x8e => {
                    let n = match op {
                        b'C' => self.u8()?.into(),
                        b'B' => u32::from_le_bytes(self.array()?).into(),
                        _ => u64::from_le_bytes(self.array()?),
                    };
                    let bytes = self.take(n)?;
                    self.stack.push(Obj::Bytes(bytes.into()));
                }
                // EMPTY_TUPLE, TUPLE, TUPLE1, TUPLE2, TUPLE3
                b')' => self.push_tuple(Vec::new()),
                b't' => {
                    let items = self.pop_mark()?;
                    self.push_tuple(items);
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let start = self
                        .stack
                        .len()
                        .checked_sub(n)
                        .ok_or_else(|| self.error("stack underflow".into()))?;
                    let items = self.stack.split_off(start);
                    self.push_tuple(items);
                }
                // EMPTY_LIST, EMPTY_DICT
                b']' => {
                    self.heap.lists.push(Vec::new());
                    self.stack.push(Obj::List(self.heap.lists.len() - 1));
                }
                b'}' => {
                    let dict = self.new_dict();
                    self.stack.push(dict);
                }
                // APPEND, APPENDS
                b'a' => {
                    let item = self.pop()?;
                    let list = self.top_list()?;
                    self.heap.lists[list].push(item);
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let list = self.top_list()?;
                    self.heap.lists[list].extend(items);
                }
                // SETITEM, SETITEMS
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.set_item(key, value)?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err(self.error("SETITEMS with an odd number of items".into()));
                    }
                    let mut items = items.into_iter();
                    while let (Some(key), Some(value)) = (items.next(), items.next()) {
                        self.set_item(key, value)?;
                    }
                }
                // BINPUT, LONG_BINPUT, MEMOIZE
                b'q' => {
                    let i = self.u8()?.into();
                    self.put(i)?;
                }
                b'r' => {
                    let i = u32::from_le_bytes(self.array()?);
                    self.put(i)?;
                }
                0x94 => {
                    let i = u32::try_from(self.memo.len())
                        .map_err(|_| self.error("memo full".into()))?;
                    self.put(i)?;
                }
                // BINGET, LONG_BINGET
                b'h' => {
                    let i = self.u8()?.into();
                    self.get(i)?;
                }
                b'j' => {
                    let i = u32::from_le_bytes(self.array()?);
                    self.get(i)?;
                }
                // GLOBAL: "module\nname\n"
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Obj::Global(Global::resolve(module, name)?));
                }
                // STACK_GLOBAL
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Obj::Str(module), Obj::Str(name)) = (&module, &name) else {
                        return Err(self.error(format!(
                            "STACK_GLOBAL with a {} and a {} instead of two strings",
                            module.kind(),
                            name.kind()
                        )));
                    };
                    self.stack.push(Obj::Global(Global::resolve(module, name)?));
                }
                // REDUCE: callable(*args); NEWOBJ: cls.__new__(cls, *args)
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let result = self.call(op, callable, args)?;
                    self.stack.push(result);
                }
                // BUILD: sets attributes (a state dict's `_metadata`), which are dropped.
                b'b' => {
                    self.pop()?;
                    if !matches!(self.stack.last(), Some(Obj::Dict(_))) {
                        let target = self.stack.last().map_or("nothing", Obj::kind);
                        return Err(self.error(format!("BUILD on a {target}")));
                    }
                }
                // BINPERSID: ('storage', storage type, key, location, numel)
                b'Q' => {
                    let pid = self.pop()?;
                    let storage = self.storage_ref(&pid)?;
                    self.stack.push(Obj::Storage(storage));
                }
                _ => {
                    return Err(ErrorKind::UnsupportedOpcode {
                        opcode: op,
                        name: opcode_name(op),
                        offset: self.op_start,
                    });
                }
            }
        }
    }

    fn error(&self, message: String) -> ErrorKind {
        ErrorKind::Pickle {
            offset: self.op_start,
            message,
        }
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], ErrorKind> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| self.error("the pickle ends early (truncated data.pkl?)".into()))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ErrorKind> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N as u64)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, ErrorKind> {
        Ok(self.array::<1>()?[0])
    }

    /// A `\n`-terminated line of text (the operands of GLOBAL).
    fn line(&mut self) -> Result<&'a str, ErrorKind> {
        let data = self.data;
        let rest = &data[self.pos..];
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.error("unterminated GLOBAL operand".into()))?;
        self.pos += len + 1;
        std::str::from_utf8(&rest[..len])
            .map_err(|_| self.error("GLOBAL operand is not UTF-8".into()))
    }

    fn push_str(&mut self, n: u64) -> Result<(), ErrorKind> {
        let bytes = self.take(n)?;
        let s = std::str::from_utf8(bytes)
            .map_err(|_| self.error("string is not valid UTF-8".into()))?
            .into();
        self.stack.push(Obj::Str(s));
        Ok(())
    }

    fn push_tuple(&mut self, items: Vec<Obj>) {
        self.heap.tuples.push(items);
        self.stack.push(Obj::Tuple(self.heap.tuples.len() - 1));
    }

    fn new_dict(&mut self) -> Obj {
        self.heap.dicts.push(Dict::default());
        Obj::Dict(self.heap.dicts.len() - 1)
    }

    fn pop(&mut self) -> Result<Obj, ErrorKind> {
        self.stack
            .pop()
            .ok_or_else(|| self.error("stack underflow".into()))
    }

    /// The objects pushed since the last MARK.
    fn pop_mark(&mut self) -> Result<Vec<Obj>, ErrorKind> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.error("no MARK to pop to".into()))?;
        if mark > self.stack.len() {
            return Err(self.error("stack underflow below the MARK".into()));
        }
        Ok(self.stack.split_off(mark))
    }

    fn top_list(&self) -> Result<usize, ErrorKind> {
        match self.stack.last() {
            Some(Obj::List(id)) => Ok(*id),
            other => Err(self.error(format!(
                "APPEND to a {}",
                other.map_or("nothing", Obj::kind)
            ))),
        }
    }

    fn set_item(&mut self, key: Obj, value: Obj) -> Result<(), ErrorKind> {
        let Some(&Obj::Dict(id)) = self.stack.last() else {
            let target = self.stack.last().map_or("nothing", Obj::kind);
            return Err(self.error(format!("SETITEM on a {target}")));
        };
        let hashed = match &key {
            Obj::None => Key::None,
            Obj::Bool(b) => Key::Int((*b).into()),
            Obj::Int(i) => Key::Int(*i),
            Obj::Str(s) => Key::Str(s.clone()),
            other => {
                return Err(self.error(format!(
                    "dictionary keys of type {} are not supported",
                    other.kind()
                )));
            }
        };
        let dict = &mut self.heap.dicts[id];
        match dict.index.get(&hashed) {
            Some(&i) => dict.entries[i].1 = value,
            None => {
                dict.index.insert(hashed, dict.entries.len());
                dict.entries.push((key, value));
            }
        }
        Ok(())
    }

    fn put(&mut self, i: u32) -> Result<(), ErrorKind> {
        let top = self
            .stack
            .last()
            .ok_or_else(|| self.error("memoising an empty stack".into()))?
            .clone();
        self.memo.insert(i, top);
        Ok(())
    }

    fn get(&mut self, i: u32) -> Result<(), ErrorKind> {
        let obj = self
            .memo
            .get(&i)
            .ok_or_else(|| self.error(format!("memo entry {i} was never stored")))?
            .clone();
        self.stack.push(obj);
        Ok(())
    }

    /// REDUCE (`op` `R`) or NEWOBJ of an allowed global.
    fn call(&mut self, op: u8, callable: Obj, args: Obj) -> Result<Obj, ErrorKind> {
        let Obj::Global(global) = callable else {
            return Err(self.error(format!("calling a {}", callable.kind())));
        };
        let Obj::Tuple(args) = args else {
            return Err(self.error(format!("arguments are a {}, not a tuple", args.kind())));
        };
        let args = &self.heap.tuples[args];
        let bad_args = |what: &str| self.error(format!("{} called with {what}", global.name()));
        match global {
            Global::OrderedDict if args.is_empty() => Ok(self.new_dict()),
            Global::OrderedDict => Err(bad_args("arguments")),
            _ if op != b'R' => Err(self.error(format!("NEWOBJ of {}", global.name()))),
            Global::RebuildTensor => {
                let (Some(Obj::Storage(storage)), Some(offset), Some(shape), Some(stride), 6..=7) = (
                    args.first(),
                    args.get(1),
                    args.get(2),
                    args.get(3),
                    args.len(),
                ) else {
                    return Err(bad_args(
                        "arguments other than (storage, offset, size, stride, requires_grad, backward_hooks[, metadata])",
                    ));
                };
                let offset = self
                    .index(offset)
                    .ok_or_else(|| bad_args("a bad storage offset"))?;
                let shape = self.indices(shape).ok_or_else(|| bad_args("a bad size"))?;
                let stride = self
                    .indices(stride)
                    .ok_or_else(|| bad_args("a bad stride"))?;
                if shape.len() != stride.len() {
                    return Err(bad_args("size and stride of different lengths"));
                }
                Ok(Obj::Tensor(Rc::new(View {
                    key: storage.key.to_string(),
                    dtype: storage.dtype,
                    numel: storage.numel,
                    offset,
                    shape,
                    stride,
                })))
            }
            Global::RebuildParameter => match (args.first(), args.len()) {
                (Some(tensor @ Obj::Tensor(_)), 3..=4) => Ok(tensor.clone()),
                _ => Err(bad_args(
                    "arguments other than (tensor, requires_grad, backward_hooks[, state])",
                )),
            },
            Global::Storage(_) => Err(self.error(format!("calling {}", global.name()))),
        }
    }

    /// A non-negative int as an index.
    fn index(&self, obj: &Obj) -> Option<usize> {
        match obj {
            Obj::Int(i) => usize::try_from(*i).ok(),
            _ => None,
        }
    }

    /// A tuple of non-negative ints (a size or a stride).
    fn indices(&self, obj: &Obj) -> Option<Vec<usize>> {
        match obj {
            Obj::Tuple(id) => self.heap.tuples[*id]
                .iter()
                .map(|o| self.index(o))
                .collect(),
            _ => None,
        }
    }

    fn storage_ref(&self, pid: &Obj) -> Result<StorageRef, ErrorKind> {
        let items = match pid {
            Obj::Tuple(id) => self.heap.tuples[*id].as_slice(),
            _ => &[],
        };
        match items {
            [
                Obj::Str(tag),
                Obj::Global(Global::Storage(dtype)),
                Obj::Str(key),
                Obj::Str(_location),
                Obj::Int(numel),
            ] if &**tag == "storage" => Ok(StorageRef {
                key: key.clone(),
                dtype: *dtype,
                numel: u64::try_from(*numel)
                    .map_err(|_| self.error("negative storage size".into()))?,
            }),
            _ => Err(self.error(format!(
                "persistent id is a {}, not ('storage', <storage type>, key, location, numel)",
                pid.kind()
            ))),
        }
    }
}

/// LONG1's operand: little-endian two's complement.
fn long(bytes: &[u8]) -> Obj {
    if bytes.len() <= 8 {
        let fill = if bytes.last().is_some_and(|&b| b & 0x80 != 0) {
            0xff
        } else {
            0
        };
        let mut le = [fill; 8];
        le[..bytes.len()].copy_from_slice(bytes);
        Obj::Int(i64::from_le_bytes(le))
    } else {
        Obj::BigInt(bytes.into())
    }
}

/// Names (as in Python's `pickletools`) of the opcodes this reader does not implement.
fn opcode_name(op: u8) -> &'static str {
    match op {
        b'I' => "INT",
        b'L' => "LONG",
        0x8b => "LONG4",
        b'S' => "STRING",
        b'V' => "UNICODE",
        b'F' => "FLOAT",
        b'l' => "LIST",
        b'd' => "DICT",
        b'i' => "INST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'g' => "GET",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'P' => "PERSID",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(data: &[u8]) -> ErrorKind {
        parse(data).expect_err("the pickle should be refused")
    }

    #[test]
    fn code_execution_globals_are_refused() {
        // pickle.dumps of os.system('true') via __reduce__, protocol 2
        let err =
            parse_err(b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.");
        assert!(
            matches!(&err, ErrorKind::UnsupportedGlobal { module, name } if module == "os" && name == "system"),
            "{err}"
        );
        // the same with protocol 4's STACK_GLOBAL
        let err = parse_err(b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R.");
        assert!(err.to_string().contains("builtins.eval"), "{err}");
        // torch names outside the allow-list too
        let err = parse_err(b"\x80\x02ctorch\nload\n.");
        assert!(err.to_string().contains("torch.load"), "{err}");
    }

    #[test]
    fn unsupported_opcodes_are_named() {
        let err = parse_err(b"\x80\x02I1\n.");
        assert!(
            matches!(
                err,
                ErrorKind::UnsupportedOpcode {
                    opcode: b'I',
                    name: "INT",
                    offset: 2
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn malformed_pickles_fail_cleanly() {
        for bad in [
            &b""[..],
            b"\x80\x02",
            b"\x80\x02X\xff\xff\xff\xff",
            b"\x80\x02u.",
            b"\x80\x02(K\x01u.",
            b"\x80\x02h\x05.",
            b"\x80\x02K\x01K\x02s.",
            b"\x80\x02cos\nsystem",
        ] {
            parse(bad).expect_err("a malformed pickle should be refused");
        }
    }

    #[test]
    fn memoised_containers_are_shared_and_keys_replace() {
        // d = {}; d['a'] = 1; d['a'] = 2; [d, d] with the dict memoised before its items
        let p =
            parse(b"\x80\x02]q\x00(}q\x01(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00aK\x02uh\x01e.")
                .unwrap();
        let Obj::List(list) = p.root else {
            panic!("{:?}", p.root)
        };
        let items = &p.heap.lists[list];
        assert_eq!(items.len(), 2);
        let (Obj::Dict(a), Obj::Dict(b)) = (&items[0], &items[1]) else {
            panic!()
        };
        assert_eq!(a, b);
        assert_eq!(p.heap.dicts[*a].entries.len(), 1);
        assert!(matches!(p.heap.dicts[*a].entries[0].1, Obj::Int(2)));
    }

    #[test]
    fn long1_is_twos_complement() {
        assert!(matches!(long(&[]), Obj::Int(0)));
        assert!(matches!(long(&[0xff]), Obj::Int(-1)));
        assert!(matches!(long(&[0x00, 0x80]), Obj::Int(-32768)));
        assert!(matches!(long(&[0xff, 0x00]), Obj::Int(255)));
        assert!(matches!(long(&[1; 9]), Obj::BigInt(_)));
    }
}
