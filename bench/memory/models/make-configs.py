"""Writes config.json files of the common models (their published shapes), for `layerchop plan`: no weights."""
import json, os, sys

LLAMA3_ROPE = {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
               "original_max_position_embeddings": 8192, "rope_type": "llama3"}
MODELS = {
    # name: layers, hidden, heads, kv heads, intermediate, vocab, tied, rope scaling factor
    "llama-3.2-1b": (16, 2048, 32, 8, 8192, 128256, True, LLAMA3_ROPE),
    "llama-3.2-3b": (28, 3072, 24, 8, 8192, 128256, True, LLAMA3_ROPE),
    "llama-3.1-8b": (32, 4096, 32, 8, 14336, 128256, False, {**LLAMA3_ROPE, "factor": 8.0}),
}
out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
for name, (layers, hidden, heads, kv, inter, vocab, tied, rope) in MODELS.items():
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
        "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": heads,
        "num_key_value_heads": kv, "head_dim": hidden // heads, "vocab_size": vocab,
        "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "rope_scaling": rope,
        "tie_word_embeddings": tied, "torch_dtype": "bfloat16", "bos_token_id": 128000, "eos_token_id": 128001,
        "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
