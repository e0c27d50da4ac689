"""Turn a GGUF model into the Hugging Face folder vLLM loads (executed by the vLLM venv).

Usage: ``python convert.py MODEL.gguf OUT_DIR``. transformers' GGUF loader
dequantizes the weights to float32; the GGUF quantization marker is dropped first,
because transformers refuses to ``save_pretrained`` a model that carries it. The chat
template lives in the GGUF metadata (``tokenizer.chat_template``), not in what the
tokenizer loader keeps, so it is copied into ``tokenizer_config.json`` by hand.

It runs under the separate vLLM virtualenv's Python (torch, transformers, gguf),
never the app's: it imports nothing from this project.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["chat_template", "convert"]


def chat_template(gguf_file: Path) -> str | None:
    """Return the chat template stored in a GGUF file's metadata, if any."""
    from gguf import GGUFReader

    field = GGUFReader(str(gguf_file)).fields.get("tokenizer.chat_template")
    if field is None:
        return None
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def _drop_gguf_marker(model: Any) -> None:
    for holder in (model, model.config):
        for name in ("quantization_config", "hf_quantizer"):
            if getattr(holder, name, None) is not None:
                setattr(holder, name, None)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if getattr(model, "is_quantized", False):
        model.is_quantized = False


def convert(gguf_file: Path, out: Path) -> None:
    """Write ``gguf_file`` as float32 safetensors plus tokenizer files into ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    _drop_gguf_marker(model)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    template = chat_template(gguf_file)
    if template:
        config_path = out / "tokenizer_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["chat_template"] = template
        config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n",
                               encoding="utf-8")
        (out / "chat_template.jinja").write_text(template, encoding="utf-8")


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
