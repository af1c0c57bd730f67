"""Parts of the docs that are generated from code, so they cannot drift from it.

A generated part sits between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` in a
Markdown file; everything around it is written by hand. The modules that own the content offer a
command that rewrites it (`python -m pantao.kpis`, `python -m access.catalog`), and a test renders
it again and fails when the file differs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


class GeneratedDocError(RuntimeError):
    """A doc lacks the markers of a generated part; the message says which and where to put them."""


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- generated:{name} -->", f"<!-- /generated:{name} -->"


def generated_part(text: str, name: str, path: Path | str = "the document") -> str:
    """The text between the markers of part `name`, without the newlines next to them."""
    begin, end = _markers(name)
    if begin not in text or end not in text:
        raise GeneratedDocError(f"{path} has no generated part {name!r}: add the lines {begin} and {end} "
                                "where it belongs, then run its command again")
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n")


def replace_part(text: str, name: str, content: str, path: Path | str = "the document") -> str:
    generated_part(text, name, path)  # the markers are there
    begin, end = _markers(name)
    head, rest = text.split(begin, 1)
    return f"{head}{begin}\n{content.strip()}\n{end}{rest.split(end, 1)[1]}"


def write_part(path: Path, name: str, content: str) -> bool:
    """Put `content` into part `name` of the file at `path`; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    updated = replace_part(text, name, content, path)
    if updated != text:
        path.write_text(updated, encoding="utf-8")
    return updated != text


def command(prog: str, path: Path, name: str, render: Callable[[], str], argv: list[str] | None = None) -> None:
    """`python -m <module> [--check]`: rewrite part `name` of `path` with `render()`, or (--check)
    exit 1 when it differs. Run `pantao prepare --dbt-only` first when the part comes from dbt's yml."""
    parser = argparse.ArgumentParser(prog=prog, description=f"Rewrite the generated part {name!r} of {path}.")
    parser.add_argument("--check", action="store_true", help="only say whether it is current (exit 1 if not)")
    args = parser.parse_args(argv)
    content = render()
    if args.check:
        current = generated_part(path.read_text(encoding="utf-8"), name, path) == content.strip()
        print(f"{path}: {name} is {'current' if current else f'stale: run {prog}'}")
        raise SystemExit(0 if current else 1)
    print(f"{path}: {name} {'rewritten' if write_part(path, name, content) else 'already current'}")
