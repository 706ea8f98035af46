"""Reference data for LaCLIP's model and loss tests, generated with open_clip (random init, no downloads).

Writes:
  clip_reference.safetensors  - a small open_clip CLIP's state_dict (F32), input images and tokens, and the
                                reference image/text embeddings (normalised and not)
  loss_reference.json         - open_clip ClipLoss / SigLipLoss values on random normalised features

Run: python make_clip_reference.py   (needs torch, open-clip-torch, safetensors, numpy from PyPI)
"""
import json
import math
from pathlib import Path

import numpy as np
import torch
import open_clip
from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg
from open_clip.loss import ClipLoss, SigLipLoss
from safetensors.torch import save_file

here = Path(__file__).parent
torch.manual_seed(0)
torch.set_num_threads(1)

# A small model with every part of the real architecture: patch conv without bias, class token,
# positional embeddings, ln_pre/ln_post, causal text transformer, argmax pooling, projections.
model = CLIP(
    embed_dim=16,
    vision_cfg=CLIPVisionCfg(layers=2, width=32, head_width=16, mlp_ratio=4.0, patch_size=8, image_size=32),
    text_cfg=CLIPTextCfg(context_length=12, vocab_size=600, width=32, heads=2, layers=2),
    quick_gelu=False,
)
model.eval()
# Make every parameter non-trivial (LayerNorm gains/biases too) so a wrong key mapping would show.
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith(".bias") or "ln" in name:
            p.add_(0.1 * torch.randn_like(p))
    model.logit_scale.fill_(math.log(1 / 0.07))

images = torch.randn(3, 3, 32, 32)
tokens = torch.zeros(4, 12, dtype=torch.long)
rows = [[49406 % 600, 5, 17, 599], [3, 9, 9, 11, 599, 0], [599], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 599]]
for i, row in enumerate(rows):
    tokens[i, : len(row)] = torch.tensor(row[:12])

with torch.no_grad():
    image_features = model.encode_image(images)
    text_features = model.encode_text(tokens)
    image_normalized = model.encode_image(images, normalize=True)
    text_normalized = model.encode_text(tokens, normalize=True)

tensors = {f"model.{k}": v.detach().float().contiguous() for k, v in model.state_dict().items()}
tensors.update({
    "input.images": images.float().contiguous(),
    "input.tokens": tokens.to(torch.int64).contiguous(),
    "output.image_features": image_features.float().contiguous(),
    "output.text_features": text_features.float().contiguous(),
    "output.image_normalized": image_normalized.float().contiguous(),
    "output.text_normalized": text_normalized.float().contiguous(),
})
save_file(tensors, str(here / "clip_reference.safetensors"), metadata={"generator": "make_clip_reference.py", "open_clip": open_clip.__version__})

# Losses on random normalised features (float64).
g = torch.Generator().manual_seed(1)
cases = []
for batch, dim, scale in [(4, 8, 1 / 0.07), (7, 5, 3.0), (1, 6, 100.0)]:
    image = torch.nn.functional.normalize(torch.randn(batch, dim, generator=g, dtype=torch.float64), dim=-1)
    text = torch.nn.functional.normalize(torch.randn(batch, dim, generator=g, dtype=torch.float64), dim=-1)
    s = torch.tensor(scale, dtype=torch.float64)
    clip_value = ClipLoss()(image, text, s).item()
    bias = torch.tensor(-10.0 + batch, dtype=torch.float64)
    siglip_value = SigLipLoss()(image, text, s, bias).item()
    cases.append({
        "image": image.tolist(), "text": text.tolist(), "scale": scale, "bias": bias.item(),
        "clip_loss": clip_value, "siglip_loss": siglip_value,
    })
(here / "loss_reference.json").write_text(json.dumps({"generator": "make_clip_reference.py", "cases": cases}, indent=1))
print("wrote", here / "clip_reference.safetensors", "and loss_reference.json")
