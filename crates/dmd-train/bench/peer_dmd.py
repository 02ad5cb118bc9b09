"""PyTorch peer of `cargo run --release -p dmd-train --example bench_dmd`.

One DMD2-style iteration on the paper's toy MLP (dim 4, 5x384 SiLU, 32-dim Fourier embedding) at
batch 512, or on the CPU-profile ADM UNet (the `Unet` of dmd-nets' peer_step.py, 32x32x1) at
batch 32, EDM preconditioning, update ratio 5, the way DMD2's EDM path does it:
generator forward (with grad only on generator iterations); on those iterations the DM gradient
(teacher and fake denoisers under no_grad, sigma index U{20..980} of the ascending 1000-point
Karras grid, normalised by the per-sample mean |x - D_real|), surrogate 0.5*mse(x, x - g),
AdamW step with clip 10; then every iteration the fake-score DSM step on the detached samples
(index U{0..999}, weight 1/sigma^2 + 1/0.5^2), AdamW with clip 10. Prints one JSON object.

Usage: python peer_dmd.py [ITERATIONS [mlp|unet-cpu|unet-paper [DEVICE [BATCH [f32|bf16]]]]]
unet-paper is the paper's MNIST UNet (C = 64, 31M parameters) at batch 32; DEVICE is cpu or
cuda; bf16 runs every network's forward pass under torch.autocast(dtype=bfloat16).
"""
import copy
import importlib.util
import os
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SD = 0.5


class Mlp(nn.Module):
    def __init__(self, dim=4, hidden=384, layers=5, fourier_dim=32):
        super().__init__()
        self.register_buffer("freqs", torch.randn(fourier_dim // 2) * 16)
        dims = [dim + fourier_dim] + [hidden] * layers
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.out = nn.Linear(hidden, dim)

    def forward(self, x, c_noise):
        a = 2 * math.pi * c_noise[:, None] * self.freqs[None]
        h = torch.cat([x, a.cos(), a.sin()], 1)
        for layer in self.layers:
            h = F.silu(layer(h))
        return self.out(h)


class Precond(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, sigma):
        s = sigma.reshape((-1,) + (1,) * (x.dim() - 1))
        c_skip = SD**2 / (s**2 + SD**2)
        c_out = s * SD / (s**2 + SD**2).sqrt()
        c_in = 1 / (SD**2 + s**2).sqrt()
        return c_skip * x + c_out * self.net(c_in * x, sigma.log() / 4)


def karras(n=1000, smin=0.002, smax=80.0, rho=7.0):
    i = torch.arange(n, dtype=torch.float64)
    s = (smax ** (1 / rho) + i / (n - 1) * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
    return s.flip(0).float()  # ascending


def peer_unet(paper=False):
    """The UNets of dmd-nets' peer_step.py (`UnetConfig::cpu_small`, or `UnetConfig::mnist`)."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "dmd-nets", "bench", "peer_step.py")
    spec = importlib.util.spec_from_file_location("peer_step", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Unet() if not paper else mod.paper_unet()


def main():
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    model = sys.argv[2] if len(sys.argv) > 2 else "mlp"
    torch.manual_seed(0)
    if model == "mlp":
        net, B, shape, warmup = Mlp(), 512, (4,), 20
    elif model == "unet-cpu":
        net, B, shape, warmup = peer_unet(), 32, (1, 32, 32), 3
    elif model == "unet-paper":
        net, B, shape, warmup = peer_unet(paper=True), 32, (1, 32, 32), 3
    else:
        raise SystemExit(f"model must be mlp, unet-cpu or unet-paper, not {model!r}")
    device = sys.argv[3] if len(sys.argv) > 3 else "cpu"
    if device not in ("cpu", "cuda"):
        raise SystemExit(f"device must be cpu or cuda, not {device!r}")
    dev = torch.device(device)
    if device == "cuda":
        torch.backends.cudnn.benchmark = True
    B = int(sys.argv[4]) if len(sys.argv) > 4 else B
    precision = sys.argv[5] if len(sys.argv) > 5 else "f32"
    if precision not in ("f32", "bf16"):
        raise SystemExit(f"precision must be f32 or bf16, not {precision!r}")
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16")
    net = net.to(dev)
    # Dropout off in every network, as in DMD2 and dmd-train's default (`distill.dropout = false`).
    teacher = Precond(net).eval().requires_grad_(False)
    gen = copy.deepcopy(teacher).requires_grad_(True)
    fake = copy.deepcopy(teacher).requires_grad_(True)
    opt_g = torch.optim.AdamW(gen.parameters(), lr=2e-6, weight_decay=0.01)
    opt_f = torch.optim.AdamW(fake.parameters(), lr=2e-6, weight_decay=0.01)
    grid = karras().to(dev)
    view = (-1,) + (1,) * len(shape)
    dims = tuple(range(1, len(shape) + 1))

    def step(k):
        gen_step = k % 5 == 0
        z = torch.randn((B,) + shape, device=dev)
        sig_max = torch.full((B,), 80.0, device=dev)
        with torch.set_grad_enabled(gen_step), autocast:
            x = gen(z * 80.0, sig_max).float()
        if gen_step:
            idx = torch.randint(20, 981, (B,), device=dev)
            sigma = grid[idx]
            with torch.no_grad(), autocast:
                xt = x + sigma.reshape(view) * torch.randn_like(x)
                p_real = x - teacher(xt, sigma).float()
                p_fake = x - fake(xt, sigma).float()
                w = p_real.abs().mean(dim=dims, keepdim=True)
                g = torch.nan_to_num((p_real - p_fake) / w)
            loss = 0.5 * F.mse_loss(x, (x - g).detach())
            opt_g.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(gen.parameters(), 10.0)
            opt_g.step()
            loss.item()
        xd = x.detach()
        idx = torch.randint(0, 1000, (B,), device=dev)
        sigma = grid[idx]
        xt = xd + sigma.reshape(view) * torch.randn_like(xd)
        weight = 1 / sigma.reshape(view) ** 2 + 1 / SD**2
        with autocast:
            f = fake(xt, sigma).float()
        floss = (weight * (f - xd) ** 2).mean()
        opt_f.zero_grad()
        floss.backward()
        torch.nn.utils.clip_grad_norm_(fake.parameters(), 10.0)
        opt_f.step()
        floss.item()

    for k in range(warmup):
        step(k)
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for k in range(warmup, warmup + iters):
        step(k)
    if device == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    # FLOPs per iteration, averaged over one update cycle (one generator iteration and four
    # fake-score-only ones), counted by PyTorch's FlopCounterMode on 5 extra, untimed iterations.
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        for k in range(0, 5):
            step(k)
    flops = counter.get_total_flops() / 5
    print(json.dumps({
        "bench": "dmd_iteration", "impl": "python-pytorch", "torch": torch.__version__,
        "model": model, "params": sum(q.numel() for q in teacher.parameters()), "batch": B,
        "update_ratio": 5, "flops_per_step": flops,
        "iterations": iters, "seconds": secs, "it_per_s": iters / secs,
        "threads": torch.get_num_threads(), "device": device, "bf16": precision == "bf16",
    }))


if __name__ == "__main__":
    main()
