#!/usr/bin/python3
"""Reference log-likelihoods for tiny Mistral, Qwen2 and Qwen3 models, computed independently of LayerChop.

Written from the rules of Hugging Face transformers (modeling_mistral/qwen2/qwen3.py, masking_utils.py) with
plain PyTorch ops; run with Debian's python3-torch (PyTorch 1.13, CPU):

    /usr/bin/python3 tests/reference/make_model_reference.py > tests/Engine.Tests/Modeling/model-reference.json

Weights are not stored: every tensor is filled from its name by the formula in `weight` (LayerChop's test fills
its model the same way), so the fixture holds only configs, token ids and the expected numbers.
"""
import json
import math

import torch

torch.set_default_dtype(torch.float32)


def weight(name, shape):
    """0.3 sin(0.37 (i + 1) + name_offset) for matrices and embeddings, 1 + 0.1 sin(...) for norm weights,
    0.05 sin(...) for biases; i runs over the tensor in row-major order."""
    offset = (sum((k + 1) * ord(ch) for k, ch in enumerate(name)) % 1000) / 100.0
    n = 1
    for d in shape:
        n *= d
    i = torch.arange(n, dtype=torch.float64)
    wave = torch.sin(0.37 * (i + 1) + offset)
    if name.endswith("norm.weight"):
        values = 1 + 0.1 * wave
    elif name.endswith(".bias"):
        values = 0.05 * wave
    else:
        values = 0.3 * wave
    return values.to(torch.float32).reshape(shape)


def layer_windows(c):
    """Per layer, the sliding window or None (transformers' config classes and modeling files)."""
    n = c["num_hidden_layers"]
    t = c["model_type"]
    if t == "llama":
        return [None] * n
    window = c.get("sliding_window", 4096)                 # the config classes' default
    if t in ("qwen2", "qwen3") and not c.get("use_sliding_window", False):
        window = None
    if t == "mistral":                                     # MistralConfig ignores layer_types
        return [window] * n
    if "layer_types" in c:
        return [window if lt == "sliding_attention" else None for lt in c["layer_types"]]
    full = c.get("max_window_layers", 28)
    return [window if (window is not None and i >= full) else None for i in range(n)]


def rms_norm(x, w, eps):
    xf = x.float()
    xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return w * xf.to(x.dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def log_probs(c, ids, ignore_windows=False):
    """Per-token log-probabilities of ids[1:] given the tokens before (one sequence, no cache)."""
    hidden, heads, kv = c["hidden_size"], c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
    head_dim = c.get("head_dim") or (128 if c["model_type"] == "qwen3" else hidden // heads)
    eps = c["rms_norm_eps"]
    t = c["model_type"]
    qkv_bias = t == "qwen2" or c.get("attention_bias", False)
    o_bias = t != "qwen2" and c.get("attention_bias", False)
    qk_norm = t == "qwen3"
    W = lambda name, *shape: weight(name, list(shape))

    T = len(ids)
    x = W("model.embed_tokens.weight", c["vocab_size"], hidden)[torch.tensor(ids)]       # (T, C)
    inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    angles = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((angles, angles), dim=-1)
    cos, sin = emb.cos(), emb.sin()                                                       # (T, D)
    q_idx = torch.arange(T).unsqueeze(1)
    k_idx = torch.arange(T).unsqueeze(0)
    windows = [None] * c["num_hidden_layers"] if ignore_windows else layer_windows(c)

    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, W(p + "input_layernorm.weight", hidden), eps)
        def proj(name, out_features, bias):
            y = h @ W(p + f"self_attn.{name}.weight", out_features, hidden).T
            return y + W(p + f"self_attn.{name}.bias", out_features) if bias else y
        q = proj("q_proj", heads * head_dim, qkv_bias).view(T, heads, head_dim)
        k = proj("k_proj", kv * head_dim, qkv_bias).view(T, kv, head_dim)
        v = proj("v_proj", kv * head_dim, qkv_bias).view(T, kv, head_dim)
        if qk_norm:
            q = rms_norm(q, W(p + "self_attn.q_norm.weight", head_dim), eps)
            k = rms_norm(k, W(p + "self_attn.k_norm.weight", head_dim), eps)
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)                # (H, T, D)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv, dim=0)
        v = v.repeat_interleave(heads // kv, dim=0)
        allowed = k_idx <= q_idx                                                          # causal
        if windows[l] is not None:
            allowed = allowed & (k_idx > q_idx - windows[l])                              # sliding_window_overlay
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(head_dim)
        scores = scores.masked_fill(~allowed, float("-inf"))
        y = (scores.softmax(-1) @ v).transpose(0, 1).reshape(T, heads * head_dim)
        y = y @ W(p + "self_attn.o_proj.weight", hidden, heads * head_dim).T
        if o_bias:
            y = y + W(p + "self_attn.o_proj.bias", hidden)
        x = x + y
        h = rms_norm(x, W(p + "post_attention_layernorm.weight", hidden), eps)
        inter = c["intermediate_size"]
        gate = h @ W(p + "mlp.gate_proj.weight", inter, hidden).T
        up = h @ W(p + "mlp.up_proj.weight", inter, hidden).T
        x = x + (torch.nn.functional.silu(gate) * up) @ W(p + "mlp.down_proj.weight", hidden, inter).T

    x = rms_norm(x, W("model.norm.weight", hidden), eps)
    head = W("model.embed_tokens.weight", c["vocab_size"], hidden) if c.get("tie_word_embeddings") else W("lm_head.weight", c["vocab_size"], hidden)
    logp = torch.log_softmax((x @ head.T).double(), dim=-1)
    return [logp[i, ids[i + 1]].item() for i in range(T - 1)]


BASE = {"hidden_act": "silu", "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 64}
CASES = [
    ("mistral_window_5", dict(BASE, model_type="mistral", hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                              num_attention_heads=4, num_key_value_heads=2, vocab_size=40, sliding_window=5)),
    ("qwen2_window_4_after_layer_1", dict(BASE, model_type="qwen2", hidden_size=16, intermediate_size=24, num_hidden_layers=3,
                                          num_attention_heads=4, num_key_value_heads=1, vocab_size=40, use_sliding_window=True,
                                          sliding_window=4, max_window_layers=1, tie_word_embeddings=True)),
    ("qwen3_head_dim_8", dict(BASE, model_type="qwen3", hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                              num_attention_heads=4, num_key_value_heads=2, head_dim=8, vocab_size=40, tie_word_embeddings=True,
                              attention_bias=False, rope_theta=1000000.0)),
    ("qwen3_layer_types_window_3", dict(BASE, model_type="qwen3", hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                        num_attention_heads=2, num_key_value_heads=1, head_dim=8, vocab_size=40,
                                        use_sliding_window=True, sliding_window=3, max_window_layers=2,
                                        layer_types=["sliding_attention", "full_attention"])),
]

ids = [(7 * i + 3) % 40 for i in range(24)]
out = {"generator": "tests/reference/make_model_reference.py", "torch": torch.__version__, "tokens": ids, "cases": []}
for name, config in CASES:
    lp = log_probs(config, ids)
    full = log_probs(config, ids, ignore_windows=True)
    out["cases"].append({
        "name": name,
        "config": config,
        "log_probs": lp,
        "perplexity": math.exp(-sum(lp) / len(lp)),
        "perplexity_if_windows_were_ignored": math.exp(-sum(full) / len(full)),
    })
print(json.dumps(out, indent=1))
