"""What the dbt models' yml says about them, read from the manifest `pantao prepare` writes.

The yml beside each model is the one place for what a column means (its description) and for
what the code around the marts needs to know about it (`meta`: a KPI's label and unit, a
reporting view's export rules). Code reads that here, from `dbt_project/target/manifest.json`,
instead of keeping its own copy. Reading needs no database and runs no dbt; the parsed file is
kept per path and modification time, so a rebuilt manifest is picked up without a restart.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pantao.dbt_runner import DEFAULT_TARGET_DIR

DEFAULT_MANIFEST = DEFAULT_TARGET_DIR / "manifest.json"
PROJECT = "pantao"


class ManifestError(RuntimeError):
    """The manifest is missing or unreadable; the message names the file and the command that builds it."""


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    description: str
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelDoc:
    """One dbt model of this project: where it is built and what its yml says."""

    name: str
    schema: str
    alias: str
    description: str
    columns: tuple[ColumnDoc, ...]
    meta: Mapping[str, Any]
    yml_path: str  # the model's yml, relative to dbt_project/, for error messages

    @property
    def relation(self) -> str:
        """`schema.table`, the name PostgreSQL knows it by."""
        return f"{self.schema}.{self.alias}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _meta(node: Mapping[str, Any]) -> dict[str, Any]:
    """dbt keeps meta both at the top of a node and under its config; the yml's own is the union."""
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def _model(node: Mapping[str, Any]) -> ModelDoc:
    columns = tuple(
        ColumnDoc(name, (column.get("description") or "").strip(), _meta(column))
        for name, column in (node.get("columns") or {}).items()
    )
    patch = node.get("patch_path") or ""
    return ModelDoc(
        name=node["name"],
        schema=node.get("schema") or "",
        alias=node.get("alias") or node["name"],
        description=" ".join((node.get("description") or "").split()),
        columns=columns,
        meta=_meta(node),
        yml_path=patch.split("://", 1)[-1] or node.get("original_file_path", ""),
    )


@functools.lru_cache(maxsize=4)
def _read(path: Path, mtime_ns: int) -> dict[str, ModelDoc]:
    try:
        nodes = json.loads(path.read_text(encoding="utf-8"))["nodes"]
    except (OSError, ValueError, KeyError) as exc:
        raise ManifestError(f"cannot read the dbt manifest {path}: {exc}; rebuild it with "
                            "`pantao prepare --dbt-only`") from exc
    return {
        node["name"]: _model(node)
        for node in nodes.values()
        if node.get("resource_type") == "model" and node.get("package_name") == PROJECT
    }


def manifest_version(manifest_path: Path | None = None) -> tuple[Path, int]:
    """The manifest file and its modification time (what the caches here are keyed by)."""
    path = Path(manifest_path) if manifest_path is not None else DEFAULT_MANIFEST
    try:
        return path, path.stat().st_mtime_ns
    except FileNotFoundError:
        raise ManifestError(
            f"the dbt manifest {path} does not exist; build it with `pantao prepare --dbt-only` "
            "(needs no database), then try again"
        ) from None


def load_models(manifest_path: Path | None = None) -> dict[str, ModelDoc]:
    """The project's models by name, with their yml descriptions, columns (in yml order) and meta."""
    return _read(*manifest_version(manifest_path))
