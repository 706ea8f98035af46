#!/usr/bin/env python3
"""Times forward+backward of one transformer ResidualAttentionBlock in PyTorch (reference for BlockRatios).

The block is open_clip's ResidualAttentionBlock(192, 3) (pre-LayerNorm nn.MultiheadAttention with
batch_first=True, MLP 192 -> 768 -> 192 with exact GELU) when open_clip is importable, else an equivalent
nn.Module with the same layers. fp32 on the CPU, torch.set_num_threads(threads). The input x [64, 65, 192]
requires its gradient; the backward is y.backward(w) with a fixed w of y's shape (the gradient of
sum(y * w)), exactly what the Swift side does. Gradients are set to None before each pass, outside the timed
region. Prints one JSON object on stdout: median_ms and the raw times, plus versions.

Used by `.build/release/BlockRatios` (Benchmarks/Sources/BlockRatios) through LACLIP_REFERENCE_PYTHON; a
reference only, never a runtime dependency of the package. Needs `pip install torch` (open-clip-torch optional).

Usage: python torch_block.py [--batch 64] [--tokens 65] [--width 192] [--heads 3] [--threads 2]
                             [--warmup 5] [--reps 21]
"""
import argparse
import json
import statistics
import sys
import time
from collections import OrderedDict


def build_block(width, heads, torch):
    nn = torch.nn
    try:
        from open_clip.transformer import ResidualAttentionBlock

        return ResidualAttentionBlock(width, heads), "open_clip.transformer.ResidualAttentionBlock"
    except Exception:  # open_clip missing or incompatible: the same block written out.
        pass

    class Block(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.ln_1 = nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, h, batch_first=True)
            self.ln_2 = nn.LayerNorm(d)
            self.mlp = nn.Sequential(OrderedDict([
                ("c_fc", nn.Linear(d, 4 * d)), ("gelu", nn.GELU()), ("c_proj", nn.Linear(4 * d, d))]))

        def forward(self, x):
            h = self.ln_1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.ln_2(x))

    return Block(width, heads), "equivalent nn.Module (open_clip not importable)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=65)
    parser.add_argument("--width", type=int, default=192)
    parser.add_argument("--heads", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--reps", type=int, default=21)
    args = parser.parse_args()

    try:
        import torch
    except ImportError as error:
        print(json.dumps({"error": f"torch not available: {error}"}))
        return 2

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    block, kind = build_block(args.width, args.heads, torch)
    block = block.float().train()
    x = torch.randn(args.batch, args.tokens, args.width, dtype=torch.float32, requires_grad=True)
    w = torch.randn(args.batch, args.tokens, args.width, dtype=torch.float32)

    def step():
        block.zero_grad(set_to_none=True)
        x.grad = None
        start = time.perf_counter_ns()
        y = block(x)
        y.backward(w)
        return (time.perf_counter_ns() - start) / 1e6

    for _ in range(args.warmup):
        step()
    times = [step() for _ in range(args.reps)]
    print(json.dumps({
        "median_ms": statistics.median(times),
        "times_ms": [round(t, 3) for t in times],
        "module": kind,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "shape": [args.batch, args.tokens, args.width],
        "heads": args.heads,
        "warmup": args.warmup,
        "reps": args.reps,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
