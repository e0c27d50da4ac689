"""The tools a graph may offer to a model, keyed by the name the model calls.

Folder and host settings come from the ``[tools]`` table of ``backends.toml``:
file tools exist only when ``files_root`` is set, ``knowledge_search`` only when
``knowledge_dir`` is, and ``fetch_url`` reaches private hosts only if listed.
"""

from pathlib import Path

from langchain_core.tools import BaseTool

from backends.reload import startup_config
from tools.calculator import calculator
from tools.clock import datetime_tool
from tools.dates import calendar_tool
from tools.fetch import make_fetch_url
from tools.files import make_file_tools
from tools.knowledge import make_knowledge_search
from tools.netguard import NetPolicy
from tools.search import web_search
from tools.units import unit_convert

__all__ = ["TOOLS"]

_settings = startup_config().tools

TOOLS: dict[str, BaseTool] = {
    tool.name: tool
    for tool in (
        calculator,
        datetime_tool,
        calendar_tool,
        unit_convert,
        web_search,
        make_fetch_url(NetPolicy(allow_hosts=frozenset(_settings.fetch_allow_hosts))),
        *(make_file_tools(Path(_settings.files_root)) if _settings.files_root else ()),
        *([make_knowledge_search(Path(_settings.knowledge_dir))]
          if _settings.knowledge_dir else ()),
    )
}
