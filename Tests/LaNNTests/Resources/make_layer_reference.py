#!/usr/bin/env python3
"""Builds layer_reference.safetensors for LayerReferenceTests: forward outputs and gradients of open_clip's
`ResidualAttentionBlock` and of torch's `MultiheadAttention`, `LayerNorm`, `Linear` and `Embedding`.

Reference data only: the Swift package never depends on Python. To regenerate:

    pip install torch numpy safetensors open-clip-torch
    python3 Tests/LaNNTests/Resources/make_layer_reference.py

Everything runs in float64 on the CPU with one thread and fixed seeds. Every parameter is overwritten with
random values (PyTorch's defaults give zero biases and unit LayerNorm gains, which would hide mistakes in
their gradients). Each case backpropagates `sum(y * w)` for a fixed random `w`.

Layout of the file (every tensor F64 unless noted):

- The block's state dict under PyTorch's own keys (`ln_1.weight`, `attn.in_proj_weight`, ...). open_clip's
  block also has `ls_1` and `ls_2`, but with `ls_init_value=None` they are `nn.Identity` and have no keys;
  the MLP's activation (`mlp.gelu`) has none either. These are the only keys without a `/`, so the test
  loads exactly them with a strict `loadStateDict`. The metadata entry `block_state_dict_keys` lists them
  in state_dict order (safetensors itself sorts keys); `mha_state_dict_keys`, `ln_state_dict_keys`,
  `linear_state_dict_keys` and `embedding_state_dict_keys` do the same for the other modules.
- `input/x` [2, 5, 12], `input/w` [2, 5, 12] (output weight), `input/causal_mask` [5, 5] (open_clip's text
  mask: -inf above the diagonal, 0 elsewhere).
- `block_<act>_<mask>/y` and `block_<act>_<mask>/grad.input`, `block_<act>_<mask>/grad.<param key>` for
  act in {gelu, quickgelu} and mask in {nomask, causal}. Both activations share the same parameters.
- `mha/<key>` (a standalone nn.MultiheadAttention(12, 3, batch_first=True) state dict) and
  `mha_<mask>/y`, `mha_<mask>/grad.input`, `mha_<mask>/grad.<key>`.
- `ln/<key>`, `ln/y`, `ln/grad.input`, `ln/grad.<key>`: nn.LayerNorm(12) on `input/x`.
- `linear/<key>`, `linear/w_out` [2, 5, 7], `linear/y`, `linear/grad.input`, `linear/grad.<key>`:
  nn.Linear(12, 7) on `input/x`.
- `embedding/weight` [9, 12], `embedding/indices` [2, 5] (I64, with repeats), `embedding/y`,
  `embedding/grad.weight`: nn.Embedding(9, 12), backpropagating `sum(y * input/w)`.
"""

import os

import torch
from safetensors.torch import save_file
from torch import nn

import open_clip.transformer as oct

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "layer_reference.safetensors")

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
torch.manual_seed(20240611)

D, HEADS, B, L = 12, 3, 2, 5

QuickGELU = getattr(oct, "QuickGELU", None)
if QuickGELU is None:  # Older open_clip versions: the same definition.
    class QuickGELU(nn.Module):
        def forward(self, x):
            return x * torch.sigmoid(1.702 * x)


def randomize(module):
    """Overwrites every parameter with random values; LayerNorm gains around 1."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("weight") and p.dim() == 1:  # LayerNorm gain
                p.copy_(1 + 0.3 * torch.randn_like(p))
            else:
                p.copy_(0.4 * torch.randn_like(p))


def contiguous(t):
    return t.detach().clone().contiguous()


tensors = {}
x = torch.randn(B, L, D)
w = torch.randn(B, L, D)
causal_mask = torch.empty(L, L).fill_(float("-inf")).triu_(1)  # open_clip's build_causal_mask
tensors["input/x"] = x
tensors["input/w"] = w
tensors["input/causal_mask"] = causal_mask


def run(module, prefix, call, weight=w):
    """Runs `call(module, x)` with x requiring grad, backprops sum(y * weight), stores y and gradients."""
    module.zero_grad(set_to_none=True)
    xi = x.clone().requires_grad_(True)
    y = call(module, xi)
    (y * weight).sum().backward()
    tensors[f"{prefix}/y"] = contiguous(y)
    tensors[f"{prefix}/grad.input"] = contiguous(xi.grad)
    for name, p in module.named_parameters():
        tensors[f"{prefix}/grad.{name}"] = contiguous(p.grad)


# open_clip's ResidualAttentionBlock: GELU (default) and QuickGELU with the same parameters.
block = oct.ResidualAttentionBlock(d_model=D, n_head=HEADS, mlp_ratio=4.0)
randomize(block)
block_quick = oct.ResidualAttentionBlock(d_model=D, n_head=HEADS, mlp_ratio=4.0, act_layer=QuickGELU)
block_quick.load_state_dict(block.state_dict())
state = block.state_dict()
assert list(state.keys()) == [n for n, _ in block.named_parameters()], "state_dict has buffers or extra keys"
for key, value in state.items():
    tensors[key] = contiguous(value)
for act, module in (("gelu", block), ("quickgelu", block_quick)):
    module.train()  # no dropout anywhere; train mode keeps MultiheadAttention off its inference fast path
    run(module, f"block_{act}_nomask", lambda m, xi: m(xi))
    run(module, f"block_{act}_causal", lambda m, xi: m(xi, attn_mask=causal_mask))

# torch.nn.MultiheadAttention alone (batch first, as open_clip builds it).
mha = nn.MultiheadAttention(D, HEADS, batch_first=True)
randomize(mha)
for key, value in mha.state_dict().items():
    tensors[f"mha/{key}"] = contiguous(value)
run(mha, "mha_nomask", lambda m, xi: m(xi, xi, xi, need_weights=False)[0])
run(mha, "mha_causal", lambda m, xi: m(xi, xi, xi, need_weights=False, attn_mask=causal_mask)[0])

# torch.nn.LayerNorm.
ln = nn.LayerNorm(D)
randomize(ln)
for key, value in ln.state_dict().items():
    tensors[f"ln/{key}"] = contiguous(value)
run(ln, "ln", lambda m, xi: m(xi))

# torch.nn.Linear (12 -> 7) with its own output weight.
linear = nn.Linear(D, 7)
randomize(linear)
for key, value in linear.state_dict().items():
    tensors[f"linear/{key}"] = contiguous(value)
w_out = torch.randn(B, L, 7)
tensors["linear/w_out"] = w_out
run(linear, "linear", lambda m, xi: m(xi), weight=w_out)

# torch.nn.Embedding (9 entries), with repeated indices so gradients accumulate.
embedding = nn.Embedding(9, D)
randomize(embedding)
indices = torch.tensor([[0, 3, 3, 8, 1], [8, 2, 3, 0, 5]], dtype=torch.int64)
tensors["embedding/weight"] = contiguous(embedding.weight)
tensors["embedding/indices"] = indices
y = embedding(indices)
(y * w).sum().backward()
tensors["embedding/y"] = contiguous(y)
tensors["embedding/grad.weight"] = contiguous(embedding.weight.grad)

save_file(
    tensors,
    OUTPUT,
    metadata={
        "block_state_dict_keys": ",".join(state.keys()),
        "mha_state_dict_keys": ",".join(mha.state_dict().keys()),
        "ln_state_dict_keys": ",".join(ln.state_dict().keys()),
        "linear_state_dict_keys": ",".join(linear.state_dict().keys()),
        "embedding_state_dict_keys": ",".join(embedding.state_dict().keys()),
        "generator": "make_layer_reference.py",
        "torch": torch.__version__,
        "open_clip": __import__("open_clip").__version__,
    },
)
print(f"wrote {OUTPUT}: {len(tensors)} tensors, {os.path.getsize(OUTPUT)} bytes")
print("block state_dict keys:", list(state.keys()))
