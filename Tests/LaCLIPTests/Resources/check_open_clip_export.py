"""Checks that a model exported by `laclip export` / `OpenCLIPInterop.export` loads in open_clip and computes the
same embeddings as the Swift model.

Usage: python check_open_clip_export.py DIR NAME
  DIR/NAME.json, DIR/NAME.safetensors   the exported model config and state dict
  DIR/io.safetensors                    inputs (images, tokens) and the Swift model's embeddings
Exits 0 when open_clip.create_model(NAME, pretrained=...) loads the weights strictly and every embedding agrees
to 1e-4; prints the largest differences. Needs torch, open-clip-torch and safetensors from PyPI (reference only).
"""
import sys
from pathlib import Path

import open_clip
import torch
from safetensors.torch import load_file

folder, name = Path(sys.argv[1]), sys.argv[2]
open_clip.add_model_config(str(folder / f"{name}.json"))
model = open_clip.create_model(name, pretrained=str(folder / f"{name}.safetensors"))
model.eval()
io = load_file(str(folder / "io.safetensors"))
with torch.no_grad():
    images = model.encode_image(io["images"])
    texts = model.encode_text(io["tokens"].long())
worst = 0.0
for key, ours in (("image_features", images), ("text_features", texts)):
    difference = (ours - io[key]).abs().max().item()
    scale = io[key].abs().max().item()
    print(f"{key}: max |open_clip - swift| = {difference:.3e} (max |value| {scale:.3e})")
    worst = max(worst, difference / max(scale, 1e-12))
print(f"logit_scale: open_clip {model.logit_scale.item():.6f}, swift {io['logit_scale'].item():.6f}")
ok = worst < 1e-4 and abs(model.logit_scale.item() - io["logit_scale"].item()) < 1e-6
print("OK" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
