"""The PyTorch eager baseline for LayerChop's healing step: transformers' LlamaForCausalLM (SDPA attention) of a
given shape, float32 master weights with bf16 autocast, AdamW (betas 0.9/0.95, weight decay 0.1), gradient
clipping at 1.0, one micro-batch of random tokens per step. Prints one JSON line with the tokens/s of the steps
after the first two (which include CUDA's warm-up), as run.sh measures LayerChop's.

  python torch_train.py --layers L --hidden H --heads A --kv-heads K --intermediate I --vocab V
                        --seq T --batch B --steps N [--tie]
"""
import argparse
import json
import time

import torch
import transformers

p = argparse.ArgumentParser()
for name in ("layers", "hidden", "heads", "kv-heads", "intermediate", "vocab", "seq", "batch", "steps"):
    p.add_argument("--" + name, type=int, required=True)
p.add_argument("--tie", action="store_true")
a = p.parse_args()

device = "cuda" if torch.cuda.is_available() else "cpu"
config = transformers.LlamaConfig(
    vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.intermediate, num_hidden_layers=a.layers,
    num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, max_position_embeddings=a.seq,
    tie_word_embeddings=a.tie)
torch.manual_seed(1)
model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="sdpa").to(device).train()
params = sum(p.numel() for p in model.parameters())
decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embed_tokens" not in n]
rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "embed_tokens" not in n)]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                              lr=1e-4, betas=(0.9, 0.95))
ids = torch.randint(0, a.vocab, (a.batch, a.seq + 1), device=device)


def sync():
    if device == "cuda":
        torch.cuda.synchronize()


times = []
for step in range(a.steps):
    sync()
    t0 = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(device_type=device, dtype=torch.bfloat16):
        logits = model(ids[:, :-1]).logits
    loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    loss.item()
    sync()
    times.append(time.perf_counter() - t0)

measured = times[2:] if len(times) > 3 else times
step_s = sum(measured) / len(measured)
print(json.dumps({
    "implementation": f"PyTorch {torch.__version__} eager, transformers {transformers.__version__} LlamaForCausalLM (sdpa), "
                      "fp32 weights + bf16 autocast, torch.optim.AdamW",
    "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
    "params": params, "batch": a.batch, "seq": a.seq, "steps": a.steps, "mean_step_ms": step_s * 1000,
    "tokens_per_s": a.batch * a.seq / step_s, "final_loss": float(loss),
    "peak_memory_gb": torch.cuda.max_memory_allocated() / 1e9 if device == "cuda" else None,
}))
