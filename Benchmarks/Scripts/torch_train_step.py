#!/usr/bin/env python3
"""Times one CLIP training step of the `tiny` preset in PyTorch + open_clip (reference for TrainStepRatios).

The model is open_clip's `CLIP` with LaCLIP's `tiny` configuration: vision image 32, patch 4, width 192, 6 layers,
head width 64 (3 heads), MLP ratio 4; text context 32, vocab 49408, width 192, 3 heads, 6 layers; embed dim 128;
GELU (quick_gelu=False). fp32 on the CPU, torch.set_num_threads(threads). One step is: zero grads, forward
(encode_image / encode_text normalised, logit_scale.exp()), open_clip's `ClipLoss`, backward, AdamW (lr 5e-4,
betas (0.9, 0.98), eps 1e-6, weight decay 0.1 on matrices and none on gains, biases, norms, 1-D embeddings and
logit_scale, as open_clip's training script groups them), then logit_scale clamped to [0, ln 100].

Inputs are random: images [B, 3, 32, 32] and token ids [B, 32] (start token, random ids, the end-of-text token
49407 at a random position, zeros after it). The multi-text variant (LaCLIP-MT) encodes 4·B texts in one batch and
takes the mean of the 4 ClipLosses between the images and each block of B texts. Each configuration gets a fresh
model, built after freed memory went back to the system (gc.collect, glibc malloc_trim(0)); its baseline RSS is
VmRSS right after the model and the optimizer are built (AdamW allocates its moments at the first step, as LaNN's
Adam does), its peak RSS is VmHWM of /proc/self/status at the end of the timed steps, reset through
/proc/self/clear_refs right after the baseline, so peak minus baseline is what the steps add.

Inference (after the timed CLIP steps, on the same model, `model.eval()` under `torch.no_grad()`): encode_image on
B random images and encode_text on B random token rows (both normalised, as the step's forward), one warm-up call
each, then --inference-reps calls of each alternating; median ms, images/s and texts/s.

Prints one JSON object on stdout: per configuration the median ms/step, the raw times, the baseline and peak RSS,
and for the CLIP configuration an "inference" object.

Used by `.build/release/TrainStepRatios` (Benchmarks/Sources/TrainStepRatios) through LACLIP_REFERENCE_PYTHON; a
reference only, never a runtime dependency of the package. Needs `pip install torch open-clip-torch`.

Usage: python torch_train_step.py [--batches 64,128] [--threads 2] [--warmup 3] [--steps 7] [--steps-128 5]
                                  [--kinds clip,multitext] [--inference-reps 5]
"""
import argparse
import ctypes
import gc
import json
import math
import statistics
import sys
import time

CONTEXT = 32
VOCAB = 49408
START, END = 49406, 49407
VERSIONS = 4


def status_bytes(field):
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def release_freed_memory():
    """Collects garbage and hands glibc's free arena pages back to the system (as TrainStepRatios does)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def tiny_clip(torch):
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    return CLIP(
        embed_dim=128,
        vision_cfg=CLIPVisionCfg(layers=6, width=192, head_width=64, mlp_ratio=4.0, patch_size=4, image_size=32),
        text_cfg=CLIPTextCfg(context_length=CONTEXT, vocab_size=VOCAB, width=192, heads=3, layers=6),
        quick_gelu=False,
    )


def adamw(model, torch):
    """open_clip's training-script grouping: no decay on gains, biases, norms, 1-D tensors and logit_scale."""
    def exclude(name, p):
        return p.ndim < 2 or "bn" in name or "ln" in name or "bias" in name or "logit_scale" in name

    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in named if exclude(n, p)], "weight_decay": 0.0},
        {"params": [p for n, p in named if not exclude(n, p)], "weight_decay": 0.1},
    ]
    return torch.optim.AdamW(groups, lr=5e-4, betas=(0.9, 0.98), eps=1e-6)


def random_tokens(rows, generator, torch):
    tokens = torch.zeros(rows, CONTEXT, dtype=torch.long)
    ends = torch.randint(1, CONTEXT, (rows,), generator=generator)
    body = torch.randint(1, START, (rows, CONTEXT), generator=generator)
    positions = torch.arange(CONTEXT).unsqueeze(0)
    tokens = torch.where(positions < ends.unsqueeze(1), body, tokens)
    tokens[:, 0] = START
    tokens[torch.arange(rows), ends] = END
    return tokens


def call_ms(call):
    """The wall time of one call in ms."""
    start = time.perf_counter_ns()
    call()
    return (time.perf_counter_ns() - start) / 1e6


def measure_inference(model, batch, reps, generator, torch):
    """encode_image / encode_text without autograd at the step's batch: median ms, images/s and texts/s."""
    images = torch.randn(batch, 3, 32, 32, generator=generator)
    tokens = random_tokens(batch, generator, torch)
    model.eval()
    with torch.no_grad():
        model.encode_image(images, normalize=True)
        model.encode_text(tokens, normalize=True)
        image_times, text_times = [], []
        for _ in range(reps):
            image_times.append(call_ms(lambda: model.encode_image(images, normalize=True)))
            text_times.append(call_ms(lambda: model.encode_text(tokens, normalize=True)))
    model.train()
    image_ms, text_ms = statistics.median(image_times), statistics.median(text_times)
    return {
        "batch": batch,
        "reps": reps,
        "image_ms": image_ms,
        "text_ms": text_ms,
        "images_per_s": batch / (image_ms / 1e3),
        "texts_per_s": batch / (text_ms / 1e3),
    }


def measure(kind, batch, warmup, steps, inference_reps, torch):
    from open_clip.loss import ClipLoss

    release_freed_memory()
    torch.manual_seed(0)
    model = tiny_clip(torch).float().train()
    optimizer = adamw(model, torch)
    baseline = status_bytes("VmRSS")
    resettable = reset_peak_rss()
    loss_fn = ClipLoss()
    generator = torch.Generator().manual_seed(1)
    texts_per_step = batch * (VERSIONS if kind == "multitext" else 1)
    max_scale = math.log(100)

    def step():
        images = torch.randn(batch, 3, 32, 32, generator=generator)
        tokens = random_tokens(texts_per_step, generator, torch)
        start = time.perf_counter_ns()
        optimizer.zero_grad(set_to_none=True)
        image_features = model.encode_image(images, normalize=True)
        text_features = model.encode_text(tokens, normalize=True)
        scale = model.logit_scale.exp()
        if kind == "multitext":
            losses = [loss_fn(image_features, text_features[v * batch:(v + 1) * batch], scale) for v in range(VERSIONS)]
            loss = sum(losses) / VERSIONS
        else:
            loss = loss_fn(image_features, text_features, scale)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, max_scale)
        elapsed = (time.perf_counter_ns() - start) / 1e6
        return elapsed, float(loss.detach())

    for _ in range(warmup):
        step()
    results = [step() for _ in range(steps)]
    times = [t for t, _ in results]
    row = {
        "kind": kind,
        "batch": batch,
        "texts": texts_per_step,
        "median_ms": statistics.median(times),
        "times_ms": [round(t, 2) for t in times],
        "images_per_s": batch / (statistics.median(times) / 1e3),
        "peak_rss_bytes": status_bytes("VmHWM"),
        "baseline_rss_bytes": baseline,
        "peak_rss_reset": resettable,
        "losses": [round(l, 4) for _, l in results],
    }
    if kind == "clip" and inference_reps > 0:
        row["inference"] = measure_inference(model, batch, inference_reps, generator, torch)
    del model, optimizer
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="64,128")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=7, help="timed steps at batch <= 64")
    parser.add_argument("--steps-128", type=int, default=5, help="timed steps at larger batches")
    parser.add_argument("--kinds", default="clip,multitext")
    parser.add_argument("--inference-reps", type=int, default=5, help="timed encode_image/encode_text calls (0: none)")
    args = parser.parse_args()

    try:
        import torch
        import open_clip
    except ImportError as error:
        print(json.dumps({"error": f"torch not available: {error}"}))
        return 2

    torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batches.split(",") if b]
    kinds = [k for k in args.kinds.split(",") if k]
    rows = []
    for batch in batches:
        steps = args.steps if batch <= 64 else args.steps_128
        for kind in kinds:
            rows.append(measure(kind, batch, args.warmup, steps, args.inference_reps, torch))
            print(f"torch_train_step: {kind} batch {batch}: {rows[-1]['median_ms']:.1f} ms", file=sys.stderr)
    print(json.dumps({
        "results": rows,
        "torch": torch.__version__,
        "open_clip": open_clip.__version__,
        "threads": torch.get_num_threads(),
        "warmup": args.warmup,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
