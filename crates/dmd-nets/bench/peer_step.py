#!/usr/bin/env python3
"""PyTorch peer of `cargo run --release -p dmd-train --example bench_step`: the same EDM teacher
training step (noise draw, loss forward, backward, AdamW) on the same networks, for a Rust/Python
throughput ratio measured with the same torch build.

Usage: peer_step.py --model mlp|unet-cpu|unet-paper [--iters N] [--warmup W]
                    [--loss reference|fused] [--threads T] [--device cpu|cuda] [--batch B] [--bf16]
  mlp         toy MLP on R^4: Fourier(32) ++ x -> 5 x Linear(384)+SiLU -> Linear(4), batch 512
  unet-cpu    ADM UNet 32x32x1, C=32, mult [1,2,2], 1 block/level, attention at 8x8, batch 32
  unet-paper  the paper's MNIST UNet, C=64, mult [1,2,3,4], 3 blocks/level, attention at
              32/16/8 (31,118,593 parameters), batch 512
  --bf16    the network's forward pass under torch.autocast(dtype=bfloat16)
  --loss reference (default) is edm's EDMLoss: lambda * (D(y + sigma n; sigma) - y)^2;
         fused is the effective-target form ||F(c_in x) - (y - c_skip x)/c_out||^2.
Prints one JSON line with it_per_s. Needs torch (2.13.0 for a like-for-like comparison).
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

SIGMA_DATA = 0.5


class Fourier(nn.Module):
    def __init__(self, channels, scale=16.0):
        super().__init__()
        self.register_buffer("freqs", torch.randn(channels // 2) * scale)

    def forward(self, c):
        x = c.outer(2 * math.pi * self.freqs)
        return torch.cat([x.cos(), x.sin()], dim=1)


class Mlp(nn.Module):
    def __init__(self, dim=4, hidden=384, layers=5, fourier=32):
        super().__init__()
        self.map_noise = Fourier(fourier)
        d = dim + fourier
        self.layers = nn.ModuleList()
        for _ in range(layers):
            self.layers.append(nn.Linear(d, hidden))
            d = hidden
        self.out = nn.Linear(hidden, dim)

    def forward(self, x, c_noise):
        h = torch.cat([x.reshape(x.shape[0], -1), self.map_noise(c_noise)], dim=1)
        for layer in self.layers:
            h = F.silu(layer(h))
        return self.out(h).reshape(x.shape)


def groups(c):
    return min(32, max(1, c // 4))


def zero_(m):
    nn.init.zeros_(m.weight)
    nn.init.zeros_(m.bias)
    return m


class Block(nn.Module):
    def __init__(self, cin, cout, emb, resample=None, attention=False, dropout=0.1):
        super().__init__()
        self.cin, self.cout, self.resample, self.dropout = cin, cout, resample, dropout
        self.norm0 = nn.GroupNorm(groups(cin), cin, eps=1e-5)
        self.conv0 = nn.Conv2d(cin, cout, 3, padding=1)
        self.affine = nn.Linear(emb, 2 * cout)
        self.norm1 = nn.GroupNorm(groups(cout), cout, eps=1e-5)
        self.conv1 = zero_(nn.Conv2d(cout, cout, 3, padding=1))
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.heads = max(1, cout // 64) if attention else 0
        if attention:
            self.norm2 = nn.GroupNorm(groups(cout), cout, eps=1e-5)
            self.qkv = nn.Conv2d(cout, 3 * cout, 1)
            self.proj = zero_(nn.Conv2d(cout, cout, 1))

    def rs(self, x):
        if self.resample == "down":
            return F.avg_pool2d(x, 2)
        if self.resample == "up":
            return F.interpolate(x, scale_factor=2, mode="nearest")
        return x

    def forward(self, x, emb):
        h = self.conv0(self.rs(F.silu(self.norm0(x))))
        scale, shift = self.affine(emb).unsqueeze(2).unsqueeze(3).chunk(2, dim=1)
        h = F.silu(torch.addcmul(shift, self.norm1(h), scale + 1))
        h = self.conv1(F.dropout(h, self.dropout, self.training))
        x = h + (self.skip(self.rs(x)) if self.skip is not None else self.rs(x))
        if self.heads:
            b, c, hh, ww = x.shape
            qkv = self.qkv(self.norm2(x)).reshape(b * self.heads, c // self.heads, 3, hh * ww)
            q, k, v = (t.transpose(1, 2) for t in qkv.unbind(2))
            a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, c, hh, ww)
            x = self.proj(a) + x
        return x


class Unet(nn.Module):
    def __init__(self, res=32, cin=1, mc=32, mult=(1, 2, 2), blocks=1, attn=(8,), dropout=0.1):
        super().__init__()
        e = 4 * mc
        half = mc // 2
        self.register_buffer("freqs", (1e-4) ** (torch.arange(half) / half))
        self.map_layer0 = nn.Linear(mc, e)
        self.map_layer1 = nn.Linear(e, e)
        self.enc_conv = nn.Conv2d(cin, mc * mult[0], 3, padding=1)
        cout = mc * mult[0]
        skips = [cout]
        self.enc = nn.ModuleList()
        for level, m in enumerate(mult):
            r = res >> level
            if level > 0:
                self.enc.append(Block(cout, cout, e, "down", False, dropout))
                skips.append(cout)
            for _ in range(blocks):
                self.enc.append(Block(cout, mc * m, e, None, r in attn, dropout))
                cout = mc * m
                skips.append(cout)
        self.dec = nn.ModuleList()
        for level, m in reversed(list(enumerate(mult))):
            r = res >> level
            if level == len(mult) - 1:
                self.dec.append(Block(cout, cout, e, None, True, dropout))
                self.dec.append(Block(cout, cout, e, None, False, dropout))
            else:
                self.dec.append(Block(cout, cout, e, "up", False, dropout))
            for _ in range(blocks + 1):
                self.dec.append(Block(cout + skips.pop(), mc * m, e, None, r in attn, dropout))
                cout = mc * m
        self.out_norm = nn.GroupNorm(groups(cout), cout, eps=1e-5)
        self.out_conv = zero_(nn.Conv2d(cout, cin, 3, padding=1))

    def forward(self, x, c_noise):
        t = c_noise.outer(self.freqs)
        emb = F.silu(self.map_layer1(F.silu(self.map_layer0(torch.cat([t.cos(), t.sin()], 1)))))
        h = self.enc_conv(x)
        skips = [h]
        for b in self.enc:
            h = b(h, emb)
            skips.append(h)
        for b in self.dec:
            if h.shape[1] != b.cin:
                h = torch.cat([h, skips.pop()], 1)
            h = b(h, emb)
        return self.out_conv(F.silu(self.out_norm(h)))


def paper_unet():
    """The paper's MNIST UNet (`UnetConfig::mnist`: C = 64, mult 1-2-3-4, 3 blocks, attention at
    32, 16 and 8; 31,118,593 parameters)."""
    return Unet(mc=64, mult=(1, 2, 3, 4), blocks=3, attn=(32, 16, 8), dropout=0.10)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["mlp", "unet-cpu", "unet-paper"], default="mlp")
    p.add_argument("--iters", type=int, default=0)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--loss", choices=["reference", "fused"], default="reference")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--batch", type=int, default=0)
    p.add_argument("--bf16", action="store_true", help="forward passes under torch.autocast(bfloat16)")
    a = p.parse_args()
    dev = torch.device(a.device)
    if a.device == "cuda":
        torch.backends.cudnn.benchmark = True
    if a.threads:
        torch.set_num_threads(a.threads)
    mlp = a.model == "mlp"
    iters = a.iters or (200 if mlp else 20)
    warmup = a.warmup or (20 if mlp else 3)
    torch.manual_seed(0)
    net = Mlp() if mlp else paper_unet() if a.model == "unet-paper" else Unet()
    net = net.to(dev)
    net.train()
    batch = a.batch or (512 if mlp or a.model == "unet-paper" else 32)
    shape = (batch, 4) if mlp else (batch, 1, 32, 32)
    view = (-1,) + (1,) * (len(shape) - 1)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.01)
    y = torch.randn(shape, device=dev) * 0.5
    autocast = torch.autocast(a.device, dtype=torch.bfloat16, enabled=a.bf16)
    sd = SIGMA_DATA

    def step():
        sigma = (torch.randn(batch, device=dev) * 1.2 - 1.2).exp()
        n = torch.randn(shape, device=dev)
        s = sigma.reshape(view)
        c_skip = sd**2 / (s**2 + sd**2)
        c_out = s * sd / (s**2 + sd**2).sqrt()
        c_in = 1 / (sd**2 + s**2).sqrt()
        c_noise = sigma.log() / 4
        x = y + n * s
        with autocast:
            f = net(c_in * x, c_noise).float()
        if a.loss == "reference":
            d = c_skip * x + c_out * f
            weight = (s**2 + sd**2) / (s * sd) ** 2
            loss = (weight * (d - y) ** 2).reshape(batch, -1).sum(1).mean()
        else:
            target = (y - c_skip * x) / c_out
            loss = ((f - target) ** 2).reshape(batch, -1).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    if a.device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    last = 0.0
    for _ in range(iters):
        last = step().item()
    if a.device == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    params = sum(q.numel() for q in net.parameters())
    # FLOPs of one step (forward + backward matmuls, convolutions, attention), counted by
    # PyTorch's FlopCounterMode on one extra, untimed step.
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    print(json.dumps({
        "impl": "python-torch", "torch": torch.__version__, "model": a.model, "loss": a.loss,
        "params": params, "batch": batch, "iters": iters, "threads": torch.get_num_threads(),
        "device": a.device, "bf16": a.bf16,
        "seconds": round(secs, 4), "it_per_s": round(iters / secs, 3), "last_loss": round(last, 5),
        "flops_per_step": flops,
    }))


if __name__ == "__main__":
    main()
