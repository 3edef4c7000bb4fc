"""PyTorch eager reference for `cargo bench -p tinycats-models --bench train_step`.

The same TinyDiT (facebookresearch/DiT `models.py` with learn_sigma=False, x-prediction and
the velocity loss of tinycats' flow matching), the same shapes, AdamW and clipping, timed the
same way, in fp32 and (on a CPU with AMX or AVX-512 BF16, as the Rust benchmark decides) in
bf16 under `torch.autocast("cpu", dtype=torch.bfloat16)`. Run on the same machine right after the Rust benchmark:

    PYTHONPATH=.tinycats/torch:.tinycats/pydeps python3 bench/dit_reference.py [filter]
"""

import json
import math
import pathlib
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = [
    ("p8-w256-d8", 8, 256, 8, 4),
    ("tiny: p8-w256-d6", 8, 256, 6, 4),
    ("p8-w192-d6", 8, 192, 6, 3),
    ("p4-w256-d8", 4, 256, 8, 4),
]
BATCH, SAMPLE_BATCH, SIZE, CLASSES, T_EPS = 32, 13, 64, 13, 0.05


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(d, 6 * d))

    def attn(self, x):
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.proj(o.transpose(1, 2).reshape(n, t, d))

    def forward(self, x, c):
        sm, cm, gm, sp, cp, gp = self.ada(c).chunk(6, dim=1)
        d = x.shape[-1]
        x = x + gm.unsqueeze(1) * self.attn(modulate(F.layer_norm(x, (d,), eps=1e-6), sm, cm))
        h = modulate(F.layer_norm(x, (d,), eps=1e-6), sp, cp)
        return x + gp.unsqueeze(1) * self.fc2(F.gelu(self.fc1(h), approximate="tanh"))


class TinyDiT(nn.Module):
    def __init__(self, p, d, depth, heads):
        super().__init__()
        self.p, self.d = p, d
        grid = SIZE // p
        self.x_embedder = nn.Conv2d(3, d, p, stride=p)
        self.pos_embed = nn.Parameter(torch.randn(1, grid * grid, d) * 0.02, requires_grad=False)
        self.t_mlp = nn.Sequential(nn.Linear(256, d), nn.SiLU(), nn.Linear(d, d))
        self.y_table = nn.Embedding(CLASSES + 1, d)
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(depth)])
        self.final_ada = nn.Sequential(nn.SiLU(), nn.Linear(d, 2 * d))
        self.final = nn.Linear(d, p * p * 3)

    def net(self, x, t, y):
        n = x.shape[0]
        h = self.x_embedder(x).flatten(2).transpose(1, 2) + self.pos_embed
        half = 128
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        args = (t * 1000.0)[:, None] * freqs[None]
        c = self.t_mlp(torch.cat([torch.cos(args), torch.sin(args)], dim=-1)) + self.y_table(y)
        for b in self.blocks:
            h = b(h, c)
        shift, scale = self.final_ada(c).chunk(2, dim=1)
        h = self.final(modulate(F.layer_norm(h, (self.d,), eps=1e-6), shift, scale))
        g, p = SIZE // self.p, self.p
        h = torch.einsum("nhwpqc->nchpwq", h.reshape(n, g, g, p, p, 3))
        return h.reshape(n, 3, SIZE, SIZE)

    def velocity(self, x, t, y):
        return (self.net(x, t, y) - x) / (1 - t).clamp_min(T_EPS).view(-1, 1, 1, 1)


def forward_flops(p, d, depth):
    t = (SIZE / p) ** 2
    pc = p * p * 3
    block = 2 * t * d * 12 * d + 4 * t * t * d + 2 * d * 6 * d
    return depth * block + 2 * t * pc * d * 2 + 2 * (256 * d + d * d) + 2 * d * 2 * d


def bf16_unit():
    """AMX or AVX-512 BF16 from the kernel's CPU flags, as `Bf16Unit::detect` reads them."""
    try:
        flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
    except (OSError, StopIteration):
        return None
    return "AMX" if "amx_bf16" in flags else "AVX-512 BF16" if "avx512_bf16" in flags else None


def matmul_peak(dtype=torch.float32):
    a, b = torch.randn(1024, 1024, dtype=dtype), torch.randn(1024, 1024, dtype=dtype)
    a @ b
    best = 0.0
    for _ in range(10):
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * 1024**3 / (time.perf_counter() - t) / 1e9)
    return best


def main():
    flt = sys.argv[1] if len(sys.argv) > 1 else None
    steps = int(__import__("os").environ.get("TINYCATS_BENCH_STEPS", "5"))
    torch.manual_seed(0)
    unit = bf16_unit()
    precisions = [("fp32", torch.float32, matmul_peak())]
    if unit:
        precisions.append(("bf16", torch.bfloat16, matmul_peak(torch.bfloat16)))
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, bf16 unit: {unit or 'none'}")
    for name, _, peak in precisions:
        print(f"{name} matmul peak (1024², best of 10): {peak:.1f} GFLOP/s")
    print(f"| shape | precision | params | train s/step (B={BATCH}) | train img/s | % peak | sample ms/img/NFE (B={SAMPLE_BATCH}) | % peak |")
    print("|---|---|---|---|---|---|---|---|")
    one_cat, breakdown = [], []
    for (label, p, d, depth, heads), (precision, dtype, peak) in (
        (s, q) for s in SHAPES for q in precisions
    ):
        if flt and flt not in label:
            continue
        autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16)
        model = TinyDiT(p, d, depth, heads)
        params = sum(q.numel() for q in model.parameters() if q.requires_grad)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0, foreach=False)
        x1 = torch.randn(BATCH, 3, SIZE, SIZE)
        y = torch.randint(0, CLASSES, (BATCH,))
        times, phases = [], [[], [], [], []]
        for i in range(steps + 1):
            t0 = time.perf_counter()
            opt.zero_grad()
            x0 = torch.randn_like(x1)
            t = torch.sigmoid(torch.randn(BATCH))
            tb = t.view(-1, 1, 1, 1)
            xt = tb * x1 + (1 - tb) * x0
            with autocast():
                loss = (model.velocity(xt, t, y) - (x1 - x0)).float().square().mean()
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            t3 = time.perf_counter()
            opt.step()
            t4 = time.perf_counter()
            if i > 0:
                times.append(t4 - t0)
                for p_, (a, b) in zip(phases, [(t0, t1), (t1, t2), (t2, t3), (t3, t4)]):
                    p_.append((b - a) * 1e3)
        step_s = sorted(times)[len(times) // 2]
        fwd, bwd, clip, adamw = (sorted(p_)[len(p_) // 2] for p_ in phases)
        breakdown.append(
            f"{label}, {precision}: forward and loss {fwd:.0f} ms, backward {bwd:.0f} ms, gradient clipping "
            f"{clip:.0f} ms, AdamW {adamw:.0f} ms (medians)"
        )
        train_gflops = 3 * forward_flops(p, d, depth) * BATCH / step_s / 1e9

        noise = torch.randn(SAMPLE_BATCH, 3, SIZE, SIZE)
        ys = torch.arange(SAMPLE_BATCH)
        with torch.no_grad(), autocast():
            model.velocity(noise, torch.zeros(SAMPLE_BATCH), ys)
            t0 = time.perf_counter()
            x = noise
            for k in range(10):
                x = x + 0.1 * model.velocity(x, torch.full((SAMPLE_BATCH,), k / 10), ys)
            nfe_ms = (time.perf_counter() - t0) * 1e3 / (10 * SAMPLE_BATCH)
        sample_gflops = forward_flops(p, d, depth) / (nfe_ms / 1e3) / 1e9
        print(
            f"| {label} | {precision} | {params / 1e6:.2f} M | {step_s:.3f} | {BATCH / step_s:.1f} | "
            f"{100 * train_gflops / peak:.0f} % | {nfe_ms:.2f} | {100 * sample_gflops / peak:.0f} % |"
        )
        if label.startswith("tiny") and precision == "fp32":
            load_bundled(model)  # the bundled generator is a `tiny`
            one_cat.append((label, one_cat_ms(model)))
    for line in breakdown:
        print(f"step phases, {line}")
    for label, ms in one_cat:
        print(f"one cat ({label}, bundled weights): 20 Euler steps, guidance 4, batch 2 per call: {ms:.1f} ms per image (median of 5)")


BUNDLED = pathlib.Path(__file__).resolve().parent.parent / "assets/generator/model.safetensors"


def dit_name(name):
    """This module's parameter name → the name in DiT's `models.py` (and the safetensors)."""
    for ours, theirs in [
        ("x_embedder.", "x_embedder.proj."),
        ("t_mlp.", "t_embedder.mlp."),
        ("y_table.", "y_embedder.embedding_table."),
        ("final_ada.", "final_layer.adaLN_modulation."),
        ("final.", "final_layer.linear."),
    ]:
        if name.startswith(ours):
            return theirs + name[len(ours):]
    for ours, theirs in [(".qkv.", ".attn.qkv."), (".proj.", ".attn.proj."), (".fc1.", ".mlp.fc1."),
                         (".fc2.", ".mlp.fc2."), (".ada.", ".adaLN_modulation.")]:
        name = name.replace(ours, theirs)
    return name


def load_bundled(model):
    """The bundled generator's weights (a safetensors file: an 8-byte header length, a JSON
    header, then the raw little-endian tensors), so that the one-cat loop samples what the
    Rust benchmark and `tinycats sample` sample."""
    data = BUNDLED.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    state = {}
    for name in model.state_dict():
        entry = header[dit_name(name)]
        assert entry["dtype"] == "F32", entry
        start, end = entry["data_offsets"]
        state[name] = torch.frombuffer(bytearray(body[start:end]), dtype=torch.float32).reshape(entry["shape"])
    model.load_state_dict(state, strict=True)


def one_cat_ms(model, steps=20, guidance=4.0):
    """One image as `tinycats sample` makes it: each Euler step one call on a batch of two
    (the breed and the null class), mixed by classifier-free guidance."""
    y = torch.tensor([10, CLASSES])
    times = []
    with torch.no_grad():
        for i in range(6):
            t0 = time.perf_counter()
            x = torch.randn(1, 3, SIZE, SIZE)
            for k in range(steps):
                t = torch.full((2,), k / steps)
                v = model.velocity(torch.cat([x, x]), t, y)
                x = x + (v[1:] + guidance * (v[:1] - v[1:])) / steps
            if i > 0:
                times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times)[len(times) // 2]


if __name__ == "__main__":
    main()
