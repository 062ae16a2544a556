"""Reference logits from Hugging Face transformers, for LayerChop's parity checks.

  python parity_models.py build OUT_DIR --size fixture|small
      Builds random Llama (grouped-query attention, llama3 rope scaling), Mistral and Qwen2 (q/k/v biases,
      tied embeddings) models with transformers, saves each as a model folder OUT_DIR/<name>/ and writes
      OUT_DIR/<name>/reference.safetensors beside it: input_ids (B, T), logits (float32 run) and logits_bf16
      (the same model run in bfloat16, on CUDA when there is one). `fixture` models are a few kilobytes, meant
      to be committed under tests/Engine.Tests/Parity/fixtures/ so CI checks parity on CPU; `small` ones are
      bigger, for the device run.
  python parity_models.py reference DIR
      Loads a model folder (one `layerchop chop` wrote, say) with transformers and writes DIR/reference.safetensors.

`layerchop-bench parity DIR` then runs LayerChop on the same inputs and compares (src/Engine/Checkpoints/ReferenceLogits.cs
says what the file holds and which tolerances apply).
"""
import json
import math
import sys

import torch
import transformers
from safetensors.torch import save_file

V5 = int(transformers.__version__.split(".")[0]) >= 5
DTYPE = "dtype" if V5 else "torch_dtype"            # transformers 5 renamed the argument

SIZES = {
    # hidden, heads, kv heads, intermediate, layers, vocab, batch, seq
    "fixture": dict(hidden=16, heads=2, kv=1, inter=32, layers=2, vocab=64, batch=2, seq=12),
    "small": dict(hidden=256, heads=8, kv=2, inter=512, layers=4, vocab=1024, batch=4, seq=64),
}


def configs(s):
    common = dict(vocab_size=s["vocab"], hidden_size=s["hidden"], intermediate_size=s["inter"],
                  num_hidden_layers=s["layers"], num_attention_heads=s["heads"], num_key_value_heads=s["kv"],
                  max_position_embeddings=256, rms_norm_eps=1e-5)
    # llama3 scaling with a short original context, so the head's frequencies fall in all three bands
    # (kept, smoothed, divided by the factor).
    llama3 = dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                  original_max_position_embeddings=16)
    if V5:
        llama_rope = dict(rope_parameters=dict(rope_theta=500000.0, **llama3))
        plain_rope = lambda theta: dict(rope_parameters=dict(rope_type="default", rope_theta=theta))
    else:
        llama_rope = dict(rope_theta=500000.0, rope_scaling=llama3)
        plain_rope = lambda theta: dict(rope_theta=theta)
    return {
        "llama-gqa-llama3rope": transformers.LlamaConfig(**common, **llama_rope, tie_word_embeddings=False),
        "mistral-gqa": transformers.MistralConfig(**common, **plain_rope(10000.0), sliding_window=None,
                                                  tie_word_embeddings=False),
        "qwen2-bias-tied": transformers.Qwen2Config(**common, **plain_rope(1000000.0), use_sliding_window=False,
                                                    tie_word_embeddings=True),
    }


def randomize(model, seed):
    """Weights of unit-scale activations (the library's 0.02 init gives near-zero logits that hide errors)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))


def write_reference(model, folder, ids):
    model = model.to("cpu", torch.float32).eval()
    with torch.no_grad():
        logits = model(ids).logits.float()
        device = "cuda" if torch.cuda.is_available() else "cpu"
        low = model.to(device, torch.bfloat16)
        logits_bf16 = low(ids.to(device)).logits.float().cpu()
    source = f"transformers {transformers.__version__} {type(model).__name__} (bf16 on {device})"
    save_file({"input_ids": ids.contiguous(), "logits": logits.contiguous(), "logits_bf16": logits_bf16.contiguous()},
              f"{folder}/reference.safetensors", metadata={"source": source})
    return dict(folder=folder, source=source, shape=list(logits.shape),
                bf16_max_abs_error=float((logits_bf16 - logits).abs().max()), max_abs_logit=float(logits.abs().max()))


def build(out, size):
    s = SIZES[size]
    results = []
    for i, (name, config) in enumerate(configs(s).items()):
        torch.manual_seed(i)
        model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager", **{DTYPE: torch.float32})
        randomize(model, seed=100 + i)
        folder = f"{out}/{name}"
        model.save_pretrained(folder)
        ids = torch.randint(0, s["vocab"], (s["batch"], s["seq"]), generator=torch.Generator().manual_seed(i))
        results.append(dict(name=name, **write_reference(model, folder, ids)))
    return results


def reference(folder):
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", **{DTYPE: torch.float32})
    ids = torch.randint(0, model.config.vocab_size, (2, 16), generator=torch.Generator().manual_seed(7))
    return write_reference(model, folder, ids)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "build":
        size = sys.argv[sys.argv.index("--size") + 1] if "--size" in sys.argv else "fixture"
        print(json.dumps(build(sys.argv[2], size)))
    elif len(sys.argv) == 3 and sys.argv[1] == "reference":
        print(json.dumps(reference(sys.argv[2])))
    else:
        sys.exit("usage: parity_models.py build OUT_DIR [--size fixture|small] | reference DIR")
