#!/usr/bin/env python3
"""Checks that a dmd-nets checkpoint is readable from Python with numpy + safetensors.

Usage: check_safetensors.py CHECKPOINT [DUMP_DIR]
  CHECKPOINT  a file written by `cargo run -p dmd-nets --example write_checkpoint -- CHECKPOINT`
  DUMP_DIR    the tensor dump written next to it (default: CHECKPOINT.dump), holding one
              `<name>.npy` per tensor and `config.json`.

Verifies: every tensor in the dump is in the checkpoint with the same dtype, shape and bits (and
no extra ones); the metadata has format `dmd-nets/1`; its `config` entry parses as JSON, has a
`kind` tag and equals the dump's config.json. Prints a JSON summary; exit status 1 on any mismatch.
Needs: pip install safetensors numpy
"""
import json
import os
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    ckpt = sys.argv[1]
    dump = sys.argv[2] if len(sys.argv) == 3 else ckpt + ".dump"
    problems = []

    with safe_open(ckpt, framework="numpy") as f:
        meta = f.metadata() or {}
    if meta.get("format") != "dmd-nets/1":
        problems.append(f"metadata format is {meta.get('format')!r}, expected 'dmd-nets/1'")
    try:
        config = json.loads(meta["config"])
    except (KeyError, json.JSONDecodeError) as e:
        problems.append(f"metadata config missing or not JSON: {e}")
        config = None
    if config is not None:
        if config.get("kind") not in ("mlp", "unet"):
            problems.append(f"config kind {config.get('kind')!r} is not mlp/unet")
        with open(os.path.join(dump, "config.json")) as g:
            expected = json.load(g)
        if config != expected:
            problems.append(f"metadata config {config} != dump config {expected}")

    tensors = load_file(ckpt)
    names = sorted(n[: -len(".npy")] for n in os.listdir(dump) if n.endswith(".npy"))
    extra = sorted(set(tensors) - set(names))
    if extra:
        problems.append(f"tensors in the checkpoint but not the dump: {extra[:5]}")
    n_values = 0
    for name in names:
        ref = np.load(os.path.join(dump, name + ".npy"))
        got = tensors.get(name)
        if got is None:
            problems.append(f"tensor {name} missing from the checkpoint")
            continue
        n_values += got.size
        if got.dtype != ref.dtype or got.shape != ref.shape:
            problems.append(f"{name}: {got.dtype}{got.shape} vs dump {ref.dtype}{ref.shape}")
        elif not np.array_equal(got.view(np.uint32), ref.view(np.uint32)):
            problems.append(f"{name}: values differ")

    print(json.dumps({
        "checkpoint": ckpt,
        "tensors": len(tensors),
        "values": int(n_values),
        "config_kind": None if config is None else config.get("kind"),
        "ok": not problems,
        "problems": problems,
    }, indent=2))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
