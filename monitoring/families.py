"""Metric families built from catalog entries, so a collector cannot serve a name or label set
the catalog does not declare."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from monitoring.catalog import MetricSpec


class Families:
    """One scrape's metric families, one per spec."""

    def __init__(self, specs: Iterable[MetricSpec]) -> None:
        self._families: dict[str, Metric] = {}
        for spec in specs:
            family_type = CounterMetricFamily if spec.kind == "counter" else GaugeMetricFamily
            self._families[spec.name] = family_type(spec.name, spec.help, labels=list(spec.labels))

    def add(self, name: str, value: float, *labels: object) -> None:
        self._families[name].add_metric([str(label) for label in labels], float(value))

    def __iter__(self) -> Iterator[Metric]:
        return iter(self._families.values())
