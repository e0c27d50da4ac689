import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from blockbuster import BlockingError, blockbuster_ctx
from langchain_core.tools import BaseTool

import tools.knowledge as knowledge
from backends.errors import GraphConfigError
from tools.base import tool_info
from tools.knowledge import KnowledgeArgs, make_knowledge_search
from tools.passages import Passage, chunk_text
from tools.runner import run_tool

DOCS = {
    "cooking/sourdough.md": """# Sourdough bread

A sourdough starter is flour and water fermented by wild yeast.
Feed the starter every day.

## Baking

Bake the loaf in a Dutch oven at 250 degrees for the first twenty minutes.
""",
    "garden.md": """# Vegetable garden

Tomatoes need full sun, deep watering and a stake to climb.

## Pests

Aphids on the tomato leaves go away with soapy water.
""",
    "astronomy.txt": """Jupiter is the largest planet of the solar system.

Its Great Red Spot is a storm larger than Earth.
""",
    "bikes/repair.md": """# Bicycle repair

To fix a flat tyre, remove the wheel, find the puncture and patch the inner tube.
""",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    notes = tmp_path / "notes"
    for name, text in DOCS.items():
        (notes / name).parent.mkdir(parents=True, exist_ok=True)
        (notes / name).write_text(text)
    return notes


@pytest.fixture
def search(folder: Path) -> BaseTool:
    return make_knowledge_search(folder)


async def ask(tool: BaseTool, query: str, top_k: int = 3) -> str:
    result: str = await tool.ainvoke({"query": query, "top_k": top_k})
    return result


def first_source(answer: str) -> str:
    return answer.split("\n")[0].split(", ")[0].removeprefix("[1] ")


@pytest.mark.parametrize(
    ("query", "source"),
    [
        ("how do I feed a sourdough starter", "cooking/sourdough.md"),
        ("tomatoes sun watering", "garden.md"),
        ("largest planet", "astronomy.txt"),
        ("patch a flat tyre puncture", "bikes/repair.md"),
        ("aphids", "garden.md"),
    ],
)
async def test_ranks_the_right_document_first(search: BaseTool, query: str, source: str) -> None:
    assert first_source(await ask(search, query)) == source


async def test_returns_source_lines_section_score_and_snippet(search: BaseTool) -> None:
    answer = await ask(search, "Dutch oven bake", top_k=1)
    header, *body = answer.split("\n")
    assert header.startswith(
        '[1] cooking/sourdough.md, lines 6-8, section "Sourdough bread > Baking"'
    )
    assert header.endswith(")") and "(score " in header
    score = float(header.rsplit("(score ", 1)[1].rstrip(")"))
    assert score > 0 and header.rsplit("(score ", 1)[1] == f"{score:.2f})"
    assert "Bake the loaf in a Dutch oven" in "\n".join(body)
    assert "[2]" not in answer


async def test_top_k_limits_the_passages(search: BaseTool) -> None:
    answer = await ask(search, "tomato water starter flour", top_k=2)
    assert "[1] " in answer and "[2] " in answer and "[3] " not in answer


async def test_editing_a_file_rebuilds_the_index(folder: Path, search: BaseTool) -> None:
    assert (await ask(search, "comet")).startswith("no passages matched 'comet'")
    path = folder / "astronomy.txt"
    path.write_text("Halley's comet returns every 76 years.\n")
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    answer = await ask(search, "comet")
    assert first_source(answer) == "astronomy.txt"
    assert "Halley's comet" in answer
    assert "Jupiter" not in await ask(search, "largest planet")


async def test_new_and_deleted_files_are_seen(folder: Path, search: BaseTool) -> None:
    await ask(search, "tomatoes")
    (folder / "bikes" / "chain.md").write_text("Oil the chain every month.\n")
    assert first_source(await ask(search, "oil chain")) == "bikes/chain.md"
    (folder / "garden.md").unlink()
    assert "garden.md" not in await ask(search, "tomatoes aphids")


async def test_index_is_reused_while_nothing_changes(
    search: BaseTool, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[int] = []
    original = knowledge._Knowledge._build

    def counting(self: Any, fingerprint: Any) -> Any:
        builds.append(1)
        return original(self, fingerprint)

    monkeypatch.setattr(knowledge._Knowledge, "_build", counting)
    await ask(search, "tomatoes")
    await ask(search, "planet")
    assert len(builds) == 1


async def test_searches_off_the_event_loop(
    search: BaseTool, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    original = knowledge._Knowledge.search

    def recording(self: Any, query: str, top_k: int) -> str:
        threads.append(threading.get_ident())
        result: str = original(self, query, top_k)
        return result

    monkeypatch.setattr(knowledge._Knowledge, "search", recording)
    await ask(search, "tomatoes")
    assert threads and threads[0] != threading.get_ident()


async def test_search_passes_langgraph_devs_blocking_io_detector(folder: Path) -> None:
    search = make_knowledge_search(folder)
    with blockbuster_ctx():  # what `langgraph dev` runs: blocking calls in the loop raise
        assert first_source(await ask(search, "largest planet")) == "astronomy.txt"
        with pytest.raises(BlockingError):  # the detector is live
            os.stat(folder)
    (folder / "comets.md").write_text("Halley's comet returns every 76 years.\n")
    with blockbuster_ctx():  # the rebuild too
        assert first_source(await ask(search, "comet")) == "comets.md"


async def test_concurrent_first_searches_agree(search: BaseTool) -> None:
    answers = await asyncio.gather(*(ask(search, "sourdough starter") for _ in range(4)))
    assert len(set(answers)) == 1
    assert first_source(answers[0]) == "cooking/sourdough.md"


async def test_ties_are_ordered_by_path_then_position(tmp_path: Path) -> None:
    same = "Kettle descaling with vinegar."
    (tmp_path / "c").mkdir()
    for name in ("b.md", "c/a.md", "a.md"):
        (tmp_path / name).write_text(f"## One\n\n{same}\n\n## Two\n\n{same}\n")
    answer = await ask(make_knowledge_search(tmp_path), "kettle", top_k=5)
    headers = [line for line in answer.splitlines() if line.startswith("[")]
    assert len({header.rsplit("(score ", 1)[1] for header in headers}) == 1  # a true tie
    assert [header.split(" (score")[0] for header in headers] == [
        '[1] a.md, lines 1-3, section "One"',
        '[2] a.md, lines 5-7, section "Two"',
        '[3] b.md, lines 1-3, section "One"',
        '[4] b.md, lines 5-7, section "Two"',
        '[5] c/a.md, lines 1-3, section "One"',
    ]


async def test_no_match_and_stopword_queries_say_so(search: BaseTool) -> None:
    assert await ask(search, "quantum chromodynamics") == (
        "no passages matched 'quantum chromodynamics' in 4 files; try other keywords"
    )
    assert "no searchable words" in await ask(search, "the of and")


async def test_empty_folder_says_so(tmp_path: Path) -> None:
    answer = await ask(make_knowledge_search(tmp_path), "anything")
    assert answer == "no passages matched 'anything': the knowledge folder has no notes"


async def test_skips_hidden_binary_other_suffixes_and_links_out(
    folder: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("Password zebra-horse-battery.\n")
    (folder / "linked.md").symlink_to(secret)
    (folder / "outside").symlink_to(tmp_path, target_is_directory=True)
    (folder / ".private.md").write_text("zebra\n")
    (folder / "data.csv").write_text("zebra\n")
    (folder / "blob.md").write_bytes(b"zebra\x00\x01")
    os.mkfifo(folder / "pipe.md")
    answer = await asyncio.wait_for(ask(make_knowledge_search(folder), "zebra"), timeout=20)
    assert answer.startswith("no passages matched 'zebra' in 5 files (1 unreadable")


async def test_notes_of_only_stopwords_say_so(tmp_path: Path) -> None:
    (tmp_path / "empty.md").write_text("The and of.\n")
    answer = await ask(make_knowledge_search(tmp_path), "anything")
    assert answer == "no passages matched 'anything': the notes hold no searchable words"


def test_chunks_follow_headings_and_keep_line_ranges() -> None:
    text = "# Title\n\nIntro line.\n\n## Part\n\nBody one.\n\nBody two.\n"
    assert chunk_text(text, "doc.md") == [
        Passage("doc.md", 0, 1, 3, "Title", "# Title\n\nIntro line."),
        Passage("doc.md", 1, 5, 9, "Title > Part", "## Part\n\nBody one.\n\nBody two."),
    ]


def test_chunks_respect_the_size_and_ignore_hashes_in_code_and_text() -> None:
    paragraphs = "\n\n".join(f"Paragraph {i} " + "word " * 30 for i in range(10))
    passages = chunk_text(paragraphs, "long.md", chunk_chars=400)
    assert len(passages) > 1
    assert all(len(p.text) <= 400 for p in passages)
    assert " ".join(p.text for p in passages).count("Paragraph") == 10
    code = "# Real\n\n```sh\n# comment, not a heading\n```\n"
    assert {p.heading for p in chunk_text(code, "code.md")} == {"Real"}
    assert chunk_text("# not a heading\n", "notes.txt")[0].heading == ""
    assert chunk_text("x" * 1000, "one-line.md", chunk_chars=300)[-1].text == "x" * 100


def test_missing_folder_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(GraphConfigError, match="does not exist"):
        make_knowledge_search(tmp_path / "missing")


async def test_tool_metadata_and_argument_bounds(search: BaseTool) -> None:
    info = tool_info(search)
    assert (info.risk, info.network) == ("safe", False)
    assert search.args_schema is KnowledgeArgs
    tools = {"knowledge_search": search}
    for args, field in [
        ({"query": ""}, "query"),
        ({"query": "x" * 301}, "query"),
        ({"query": "x", "top_k": 0}, "top_k"),
        ({"query": "x", "top_k": 11}, "top_k"),
        ({"query": "x", "k": 3}, "k"),
    ]:
        result = await run_tool("knowledge_search", args, tools=tools)
        assert result["status"] == "error"
        assert field in result["output"]
    ok = await run_tool("knowledge_search", {"query": "planet"}, tools=tools)
    assert ok["status"] == "ok"
    assert first_source(ok["output"]) == "astronomy.txt"
