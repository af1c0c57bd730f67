"""The KPI registry: each KPI's label (ru/en), unit, format, direction, group and description.

A KPI is defined once, in the yml of the mart that computes it: the column's `meta.kpi`
(dbt_project/models/marts/kpis/daily_kpis.yml explains the fields) and its description. A column
of the same name in another mart or reporting view is the same KPI at another grain (the
restaurant's `orders_count`, the operator's `occupancy`). Reports, the bot, the metrics exporter,
the dashboards and docs/metrics.md read the registry from the dbt manifest through this module,
so a new KPI or a new label is one yml edit and `pantao prepare --dbt-only`.

    >>> kpis = load_kpis()
    >>> kpis["orders_count"].label("ru"), kpis["orders_count"].unit
    ('Заказы', 'count')
    >>> [k.name for k in model_kpis("restaurant_daily_kpis")][:2]
    ['orders_count', 'cancelled_orders_count']
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pantao.manifest import ManifestError, ModelDoc, load_models, manifest_version

LANGUAGES = ("ru", "en")
UNITS = ("count", "rub", "share", "seconds", "score", "calls_per_hour")
# format -> decimals when the yml gives none
FORMATS: dict[str, int] = {"integer": 0, "money": 0, "percent": 1, "seconds": 0, "hours": 1, "number": 2}
GROUPS = ("orders", "customers", "calls", "operators", "ratings")
# The layers whose columns are KPIs: the marts compute them, the reporting views show them.
KPI_SCHEMAS = ("marts", "reporting")


class KpiRegistryError(ManifestError):
    """A KPI's yml is incomplete or contradicts another; the message names the file and the field."""


@dataclass(frozen=True)
class Kpi:
    name: str
    model: str  # the mart whose yml defines it
    unit: str
    format: str
    decimals: int
    higher_is_better: bool | None  # None: neither direction is good news in itself
    group: str
    description: str
    labels: Mapping[str, str]
    gauge: str | None = None  # the Prometheus gauge the exporter serves it as
    relations: tuple[str, ...] = field(default=())  # every mart and view with this column, `schema.table`

    def label(self, lang: str) -> str:
        if lang not in self.labels:
            raise ValueError(f"KPI {self.name}: no label in {lang!r}; the registry has {', '.join(self.labels)}")
        return self.labels[lang]


def _fail(model: ModelDoc, column: str, problem: str) -> KpiRegistryError:
    return KpiRegistryError(
        f"KPI registry: {model.name}.{column} in dbt_project/{model.yml_path}: {problem}. "
        "Fix the column's meta.kpi there (its fields are explained at the top of daily_kpis.yml), "
        "then run `pantao prepare --dbt-only`."
    )


def _choice(model: ModelDoc, column: str, spec: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = spec.get(key)
    if value not in allowed:
        raise _fail(model, column, f"meta.kpi.{key} is {value!r}, not one of {', '.join(allowed)}")
    return value


def _kpi(model: ModelDoc, column: str, description: str, spec: Mapping[str, Any]) -> Kpi:
    labels = spec.get("label") or {}
    missing = [lang for lang in LANGUAGES if not (isinstance(labels, Mapping) and labels.get(lang))]
    if missing:
        raise _fail(model, column, f"meta.kpi.label has no {' and '.join(missing)} text")
    better = spec.get("higher_is_better", "absent")
    if better not in (True, False, None):
        raise _fail(model, column, f"meta.kpi.higher_is_better is {better!r}, not true, false or null")
    fmt = _choice(model, column, spec, "format", tuple(FORMATS))
    decimals = spec.get("decimals", FORMATS[fmt])
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 4:
        raise _fail(model, column, f"meta.kpi.decimals is {decimals!r}, not a whole number from 0 to 4")
    if not description:
        raise _fail(model, column, "the column has no description")
    return Kpi(
        name=column, model=model.name, unit=_choice(model, column, spec, "unit", UNITS), format=fmt,
        decimals=decimals, higher_is_better=better, group=_choice(model, column, spec, "group", GROUPS),
        description=description, labels={lang: str(labels[lang]) for lang in LANGUAGES},
        gauge=spec.get("gauge"),
    )


def _registry(models: Mapping[str, ModelDoc]) -> dict[str, Kpi]:
    kpis: dict[str, Kpi] = {}
    for model in models.values():
        if model.schema != "marts":
            continue
        for column in model.columns:
            spec = column.meta.get("kpi")
            if spec is None:
                continue
            if column.name in kpis:
                raise _fail(model, column.name, f"the KPI is already defined in {kpis[column.name].model}'s yml; "
                                                "define it once and let other marts reuse the name")
            kpis[column.name] = _kpi(model, column.name, column.description, spec)
    # a stable order, whatever order dbt wrote the manifest in: by group, then defining mart and column
    position = {(m.name, c): i for m in models.values() for i, c in enumerate(m.column_names)}
    kpis = dict(sorted(kpis.items(), key=lambda item: (
        GROUPS.index(item[1].group), item[1].model, position[(item[1].model, item[0])])))
    relations: dict[str, list[str]] = {name: [] for name in kpis}
    for model in sorted(models.values(), key=lambda m: (KPI_SCHEMAS.index(m.schema) if m.schema in KPI_SCHEMAS
                                                         else len(KPI_SCHEMAS), m.alias)):
        if model.schema in KPI_SCHEMAS:
            for name in model.column_names:
                if name in relations:
                    relations[name].append(model.relation)
    return {name: _with_relations(kpi, relations[name]) for name, kpi in kpis.items()}


def _with_relations(kpi: Kpi, relations: list[str]) -> Kpi:
    defining = f"marts.{kpi.model}"
    ordered = [defining] + [r for r in relations if r != defining]
    return Kpi(**{**kpi.__dict__, "relations": tuple(ordered)})


@functools.lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int) -> dict[str, Kpi]:
    return _registry(load_models(path))


def load_kpis(manifest_path: Path | None = None) -> dict[str, Kpi]:
    """Every KPI by name (the column name in the marts), by group (orders, customers, calls,
    operators, ratings), then defining mart and column order.

    Read once per manifest version: a rebuilt manifest is read again, an unchanged one is not.
    The dict is shared by every caller: read it, do not change it.
    """
    return _load(*manifest_version(manifest_path))


def model_kpis(model: str, manifest_path: Path | None = None) -> tuple[Kpi, ...]:
    """The KPIs that are columns of `model` (a mart or a reporting model), in its column order."""
    models = load_models(manifest_path)
    if model not in models:
        raise ManifestError(f"no dbt model {model!r} in the manifest; the KPI marts are "
                            f"{', '.join(sorted(m.name for m in models.values() if m.schema == 'marts'))}")
    kpis = load_kpis(manifest_path)
    return tuple(kpis[name] for name in models[model].column_names if name in kpis)


# -- docs/metrics.md --------------------------------------------------------------------------
METRICS_DOC = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
DOC_PART = "kpi-registry"
_BETTER = {True: "higher", False: "lower", None: "neither"}


def markdown_table(kpis: Mapping[str, Kpi]) -> str:
    """The registry as the Markdown table of docs/metrics.md."""
    rows = ["| KPI | label (ru / en) | unit | shown as | better | group | Prometheus | in | description |",
            "|---|---|---|---|---|---|---|---|---|"]
    for kpi in kpis.values():
        shown = kpi.format if kpi.decimals == FORMATS[kpi.format] else f"{kpi.format}, {kpi.decimals} decimal{'' if kpi.decimals == 1 else 's'}"
        cells = [f"`{kpi.name}`", f"{kpi.labels['ru']} / {kpi.labels['en']}", kpi.unit, shown,
                 _BETTER[kpi.higher_is_better], kpi.group, f"`{kpi.gauge}`" if kpi.gauge else "—",
                 ", ".join(f"`{r}`" for r in kpi.relations), kpi.description.replace("|", "\\|")]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    """`python -m pantao.kpis [--check]`: the KPI table of docs/metrics.md from the registry."""
    from pantao.generated_docs import command

    command("python -m pantao.kpis", METRICS_DOC, DOC_PART, lambda: markdown_table(load_kpis()), argv)


if __name__ == "__main__":
    main()
