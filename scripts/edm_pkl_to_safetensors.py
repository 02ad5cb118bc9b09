"""Converts an EDM network pickle (NVlabs/edm `network-snapshot-*.pkl`, e.g. the released
`edm-imagenet-64x64-cond-adm.pkl`) to a safetensors state dict in EDM's names that
`dmd import` reads, with the network config dmd-nets needs in the file's metadata.

Usage (needs your EDM checkout on PYTHONPATH, since the pickle refers to its classes, and
torch; safetensors is not needed):

    PYTHONPATH=/path/to/edm python scripts/edm_pkl_to_safetensors.py \
        edm-imagenet-64x64-cond-adm.pkl edm-imagenet64.safetensors
    dmd import edm-imagenet64.safetensors -o data/imagenet64/teacher.safetensors

Only `EDMPrecond` around a `DhariwalUNet` (EDM's ADM network) is converted: that is the
architecture dmd-nets implements. The `ema` network of the pickle is taken, as EDM's own
generate.py does. Loading a pickle runs code named in it: only convert files you trust.
"""
import json
import pickle
import struct
import sys

import numpy as np


def net_config(net):
    """dmd-nets' NetConfig (JSON) of an EDMPrecond(DhariwalUNet), from its init kwargs."""
    kw = net.init_kwargs
    if kw.get("model_type", "DhariwalUNet") != "DhariwalUNet":
        sys.exit(f"model_type {kw.get('model_type')!r}: only DhariwalUNet (ADM) is supported")
    m = net.model
    return {
        "kind": "unet",
        "img_resolution": int(kw["img_resolution"]),
        "in_channels": int(kw["img_channels"]),
        "model_channels": int(kw.get("model_channels", 192)),
        "channel_mult": [int(c) for c in kw.get("channel_mult", [1, 2, 3, 4])],
        "num_blocks": int(kw.get("num_blocks", 3)),
        "attn_resolutions": [int(r) for r in kw.get("attn_resolutions", [32, 16, 8])],
        "num_classes": int(kw.get("label_dim", 0)),
        "dropout": float(kw.get("dropout", getattr(m, "dropout", 0.1))),
    }


def write_safetensors(path, tensors, metadata):
    """The safetensors format: an 8-byte header length, a JSON header, then the raw bytes."""
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr, dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        blobs.append(arr.tobytes())
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        net = pickle.load(f)["ema"]
    state = {k: v.detach().float().cpu().numpy() for k, v in net.state_dict().items()}
    config = net_config(net)
    write_safetensors(dst, state, {
        "config": json.dumps(config),
        "sigma_data": str(float(getattr(net, "sigma_data", 0.5))),
        "source": src,
    })
    print(f"wrote {dst}: {len(state)} tensors; network {json.dumps(config)}")


if __name__ == "__main__":
    main()
