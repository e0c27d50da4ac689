"""A real vLLM server on this machine: checks, its own virtualenv, the model, start and stop.

``setup`` prepares (CPU and memory checks, the virtualenv, the GGUF converted to an
HF folder), ``server`` starts, waits for and stops ``vllm serve`` (``VLLMServer``,
``serve``), ``process_group`` measures and ends its process group. ``convert.py`` and
``launch.py`` are scripts that the vLLM virtualenv's Python runs by path: they import
nothing from this project.
"""

__all__: list[str] = []
