"""The reporting views as dbt builds them (dbt_project/models/reporting/): names, comments, columns
and export rules, read from the dbt manifest.

Each view's yml is the one place for all of it: dbt comments the view and its columns from it
(persist_docs), docs/analysts.md quotes it, and `pantao export` takes its allow-list of views,
columns, date filter, sort order and --segment/--restaurant/--channel columns from the model's
`meta.export` (explained in rpt_customers.yml).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pantao.manifest import ManifestError, ModelDoc, load_models

SCHEMA = "reporting"
FILTERS = ("segment", "restaurant", "channel")


@dataclass(frozen=True)
class Column:
    name: str
    comment: str


@dataclass(frozen=True)
class ReportingView:
    name: str  # the view in schema `reporting`
    model: str  # the dbt model that builds it
    comment: str
    columns: tuple[Column, ...]
    # export: a row's business-date column, or the [first, last] date columns of the span it covers
    period: tuple[str, ...]
    # export: the sort order of a file, the view's natural key (cheap to sort, deterministic)
    order_by: tuple[str, ...]
    # export: filter name -> column of this view
    filters: Mapping[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def date_column(self) -> str | None:
        """The business-date column when a row belongs to one day (None when it spans days)."""
        return self.period[0] if len(self.period) == 1 else None


def _invalid(model: ModelDoc, problem: str) -> ManifestError:
    return ManifestError(
        f"reporting view {model.alias} (dbt_project/{model.yml_path}): {problem}. Fix meta.export there "
        "(its fields are explained in rpt_customers.yml), then run `pantao prepare --dbt-only`."
    )


def _columns_of(model: ModelDoc, spec: Mapping[str, Any], key: str) -> tuple[str, ...]:
    names = tuple(spec.get(key) or ())
    unknown = [n for n in names if n not in model.column_names]
    if unknown:
        raise _invalid(model, f"meta.export.{key} names {', '.join(unknown)}, not columns of the view")
    return names


def _view(model: ModelDoc) -> ReportingView:
    spec = model.meta.get("export")
    if not isinstance(spec, Mapping):
        raise _invalid(model, "no meta.export")
    period = _columns_of(model, spec, "period")
    if len(period) not in (1, 2):
        raise _invalid(model, f"meta.export.period has {len(period)} columns, not one date or a [first, last] span")
    filters = dict(spec.get("filters") or {})
    unknown = [f for f in filters if f not in FILTERS]
    if unknown:
        raise _invalid(model, f"meta.export.filters has {', '.join(unknown)}; pantao export offers {', '.join(FILTERS)}")
    missing = [column for column in filters.values() if column not in model.column_names]
    if missing:
        raise _invalid(model, f"meta.export.filters names {', '.join(missing)}, not columns of the view")
    order_by = _columns_of(model, spec, "order_by")
    if not order_by:
        raise _invalid(model, "meta.export.order_by is empty; name the view's natural key")
    return ReportingView(
        name=model.alias, model=model.name, comment=model.description,
        columns=tuple(Column(c.name, " ".join(c.description.split())) for c in model.columns),
        period=period, order_by=order_by, filters=filters,
    )


def reporting_views(manifest_path: Path | None = None) -> tuple[ReportingView, ...]:
    """Every reporting view, in the order analysts see them listed (meta.export.position)."""
    models = [m for m in load_models(manifest_path).values() if m.schema == SCHEMA]
    if not models:
        raise ManifestError("the dbt manifest has no reporting models; is it from an older checkout? "
                            "Run `pantao prepare --dbt-only`")
    ordered = sorted(models, key=lambda m: ((m.meta.get("export") or {}).get("position", 999), m.alias))
    return tuple(_view(m) for m in ordered)


def view_names(manifest_path: Path | None = None) -> tuple[str, ...]:
    return tuple(v.name for v in reporting_views(manifest_path))


def view_by_name(name: str, manifest_path: Path | None = None) -> ReportingView:
    for view in reporting_views(manifest_path):
        if view.name == name:
            return view
    raise KeyError(name)


def daily_extract_views(manifest_path: Path | None = None) -> tuple[str, ...]:
    """The views with one row per fact per business day: what a day's CSV extract covers."""
    return tuple(v.name for v in reporting_views(manifest_path) if v.date_column is not None)


# -- docs/analysts.md -------------------------------------------------------------------------
ANALYSTS_DOC = Path(__file__).resolve().parent.parent / "docs" / "analysts.md"
DOC_PART = "reporting-views"


def markdown(views: tuple[ReportingView, ...]) -> str:
    """The views, column by column, as docs/analysts.md shows them: the database's COMMENTs, word for word."""
    parts = []
    for view in views:
        rows = "\n".join(f"| `{c.name}` | {c.comment.replace('|', chr(92) + '|')} |" for c in view.columns)
        parts.append(f"### `reporting.{view.name}`\n\n{view.comment}\n\n| column | meaning |\n|---|---|\n{rows}")
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    """`python -m access.catalog [--check]`: the views' sections of docs/analysts.md from their yml."""
    from pantao.generated_docs import command

    command("python -m access.catalog", ANALYSTS_DOC, DOC_PART, lambda: markdown(reporting_views()), argv)


if __name__ == "__main__":
    main()
