"""Render bi/datasets.py and bi/dashboards.py into Superset's import bundle (the v1 "assets" format).

The bundle is a mapping of file name -> YAML text (JSON is YAML): `metadata.yaml`, one database,
one dataset per reporting view, the charts and the three dashboards. Every object's uuid is
derived from a stable key, so importing again updates the same objects instead of adding new
ones (idempotent provisioning). Pure functions: tested without Superset.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from bi.dashboards import DASHBOARDS, Chart, Dashboard, Filter
from bi.datasets import DATASETS, Dataset, Metric, calculated_columns
from bi.labels import UNITS, column_label, kpi_label

NAMESPACE = uuid.UUID("5b7c1f0e-8a52-4d1e-9b0e-70616e74616f")  # pantao's; never change it
DATABASE_NAME = "pantao"
DATABASE_FILE = f"databases/{DATABASE_NAME}.yaml"
# Where Superset connects: the credentials are a placeholder, replaced for each signed-in person
# by bi.superset_security.connection_for_person; without a person the connection fails closed.
PLACEHOLDER_LOGIN = "nobody"


@dataclass(frozen=True)
class ViewColumn:
    name: str
    type: str  # PostgreSQL type name, e.g. date, bigint, numeric, text
    comment: str | None


def stable_uuid(kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def _dump(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True)


def _superset_type(pg_type: str) -> str:
    return {"date": "DATE", "timestamp with time zone": "TIMESTAMP WITH TIME ZONE", "boolean": "BOOLEAN",
            "integer": "INTEGER", "bigint": "BIGINT", "numeric": "NUMERIC", "double precision": "DOUBLE PRECISION",
            "text": "TEXT"}.get(pg_type, pg_type.upper())


def database_doc(host: str, port: str, dbname: str) -> dict:
    return {
        "database_name": DATABASE_NAME,
        "sqlalchemy_uri": f"postgresql+psycopg2://{PLACEHOLDER_LOGIN}@{host}:{port}/{dbname}",
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "impersonate_user": False,
        # per-person cache keys: a result computed for one person is never served to another
        "extra": {"per_user_caching": True, "schemas_allowed_for_file_upload": [], "allows_virtual_table_explore": True},
        "uuid": stable_uuid("database", DATABASE_NAME),
        "version": "1.0.0",
    }


def metric_label(metric: Metric, lang: str) -> str:
    label = metric.label[lang] if metric.label else kpi_label(metric.name, lang)
    return f"{label}, {UNITS[metric.unit][lang]}" if metric.unit else label


def dataset_doc(spec: Dataset, columns: list[ViewColumn], lang: str) -> dict:
    names = {c.name for c in columns}
    missing = {spec.time_column} - names - {None}
    if missing:
        raise ValueError(f"reporting.{spec.view} has no column {missing.pop()}; is the reporting layer current?")
    docs = [{
        "column_name": c.name,
        "verbose_name": column_label(c.name, lang),
        "description": c.comment,
        "type": _superset_type(c.type),
        "is_dttm": c.type.startswith(("date", "timestamp")),
        "groupby": True,
        "filterable": True,
        "expression": None,
        "is_active": True,
        "extra": {},
    } for c in columns]
    docs += [{
        "column_name": calc.name,
        "verbose_name": column_label(calc.name, lang),
        "description": None,
        "type": calc.type,
        "is_dttm": False,
        "groupby": True,
        "filterable": True,
        "expression": calc.expression,
        "is_active": True,
        "extra": {},
    } for calc in calculated_columns(spec.view, lang)]
    metrics = [{
        "metric_name": m.name,
        "verbose_name": metric_label(m, lang),
        "metric_type": None,
        "expression": m.expression,
        "description": m.description or None,
        "d3format": m.d3format,
        "extra": {},
        "warning_text": None,
    } for m in spec.metrics]
    return {
        "table_name": spec.view,
        "schema": "reporting",
        "main_dttm_col": spec.time_column,
        "description": None,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "sql": None,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": {},
        "uuid": stable_uuid("dataset", spec.view),
        "columns": docs,
        "metrics": metrics,
        "version": "1.0.0",
        "database_uuid": stable_uuid("database", DATABASE_NAME),
    }


def _time_filter(column: str | None) -> list[dict]:
    if column is None:
        return []
    return [{"clause": "WHERE", "comparator": "No filter", "expressionType": "SIMPLE",
             "operator": "TEMPORAL_RANGE", "subject": column}]


def _format(spec: Dataset, metric: str) -> str:
    return next(m.d3format for m in spec.metrics if m.name == metric)


def chart_params(chart: Chart, spec: Dataset) -> dict:
    """Superset's form data for one chart (the same keys its chart editor saves)."""
    fmt = _format(spec, chart.metrics[0])
    common = {"viz_type": _viz_type(chart), "adhoc_filters": _time_filter(spec.time_column),
              "time_range": chart.time_range, "extra_form_data": {}, "annotation_layers": [],
              "dashboards": []}
    if chart.viz == "big_number_total":
        return {**common, "metric": chart.metrics[0], "y_axis_format": fmt, "header_font_size": 0.3,
                "subheader_font_size": 0.15, "time_format": "%d.%m.%Y"}
    if chart.viz == "pie":
        return {**common, "metric": chart.metrics[0], "groupby": list(chart.groupby), "number_format": fmt,
                "label_type": "percent", "show_labels": True, "labels_outside": False, "show_legend": True,
                "legendOrientation": "right",
                "legendType": "plain",
                "sort_by_metric": True, "row_limit": 100, "innerRadius": 30, "outerRadius": 70, "donut": True}
    if chart.viz == "table":
        temporal = [c for c in chart.groupby if c == spec.time_column]
        return {**common, "query_mode": "aggregate", "groupby": list(chart.groupby), "metrics": list(chart.metrics),
                "timeseries_limit_metric": chart.sort_by, "order_desc": True, "row_limit": 1000,
                "server_page_length": 20, "show_cell_bars": True, "include_search": False,
                "table_timestamp_format": "%d.%m.%Y", "time_grain_sqla": chart.time_grain,
                "temporal_columns_lookup": {c: True for c in temporal}, "percent_metrics": [],
                "order_by_cols": [], "all_columns": [], "allow_render_html": False}
    temporal = chart.x_axis == spec.time_column
    params = {**common, "x_axis": chart.x_axis, "metrics": list(chart.metrics), "groupby": list(chart.groupby),
              "y_axis_format": fmt, "show_legend": len(chart.metrics) > 1 or bool(chart.groupby),
              "legendOrientation": "top", "legendType": "scroll", "rich_tooltip": True, "row_limit": 10000,
              "truncate_metric": True, "show_empty_columns": True, "x_axis_sort_asc": True,
              "x_axis_sort_series": "name", "x_axis_sort_series_ascending": True, "order_desc": True,
              "color_scheme": "supersetColors", "only_total": True, "markerEnabled": True, "markerSize": 6,
              "x_axis_title_margin": 15, "y_axis_title_margin": 15, "y_axis_bounds": [None, None]}
    if temporal:
        params |= {"time_grain_sqla": chart.time_grain, "x_axis_time_format": "%d.%m",
                   "tooltipTimeFormat": "%d.%m.%Y"}
    else:
        params |= {"xAxisLabelInterval": 0}  # every category named: a hidden restaurant or hour misleads
    if chart.viz == "stacked_bar":
        params |= {"stack": "Stack"}
    if chart.viz == "hbar":
        params |= {"orientation": "horizontal", "x_axis_sort_asc": False}
    return params


def _viz_type(chart: Chart) -> str:
    return {"bar": "echarts_timeseries_bar", "hbar": "echarts_timeseries_bar", "stacked_bar": "echarts_timeseries_bar",
            "line": "echarts_timeseries_line"}.get(chart.viz, chart.viz)


def chart_doc(chart: Chart, lang: str) -> dict:
    spec = next(d for d in DATASETS if d.view == chart.dataset)
    unknown = set(chart.metrics) - {m.name for m in spec.metrics}
    if unknown:
        raise ValueError(f"chart {chart.key} uses metrics {sorted(unknown)} that dataset {spec.view} does not define")
    return {
        "slice_name": chart.title[lang],
        "description": chart.description[lang] if chart.description else None,
        "viz_type": _viz_type(chart),
        "params": chart_params(chart, spec),
        "query_context": None,
        "cache_timeout": None,
        "certified_by": None,
        "certification_details": None,
        "uuid": stable_uuid("chart", chart.key),
        "version": "1.0.0",
        "dataset_uuid": stable_uuid("dataset", spec.view),
    }


def chart_number(dashboard: Dashboard, chart: Chart) -> int:
    """The chart's id inside the bundle (Superset remaps it to the real id on import)."""
    return dashboard.charts.index(chart) + 1


def _filter_doc(dashboard: Dashboard, flt: Filter, lang: str) -> dict:
    excluded = [chart_number(dashboard, c) for c in dashboard.charts if c.key in flt.excluded]
    unknown = set(flt.excluded) - {c.key for c in dashboard.charts}
    if unknown:
        raise ValueError(f"filter {flt.key} of {dashboard.key} excludes unknown charts {sorted(unknown)}")
    if flt.kind == "filter_time":
        targets: list[dict] = [{}]
        control: dict = {"enableEmptyFilter": False}
    else:
        targets = [{"column": {"name": flt.column}, "datasetUuid": stable_uuid("dataset", str(flt.dataset))}]
        control = {"enableEmptyFilter": False, "multiSelect": True, "defaultToFirstItem": False,
                   "inverseSelection": False, "searchAllOptions": False}
    return {
        "id": f"NATIVE_FILTER-{dashboard.key}-{flt.key}",
        "name": flt.title[lang],
        "filterType": flt.kind,
        "type": "NATIVE_FILTER",
        "targets": targets,
        "controlValues": control,
        "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
        "cascadeParentIds": [],
        "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded},
        # recomputed from the real chart ids after import (superset_apply), which Superset's importer does not do
        "chartsInScope": [chart_number(dashboard, c) for c in dashboard.charts if c.key not in flt.excluded],
        "tabsInScope": [],
        "description": "",
    }


def dashboard_position(dashboard: Dashboard, lang: str) -> dict:
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": dashboard.title[lang]}},
    }
    for n, row in enumerate(dashboard.rows, start=1):
        row_id = f"ROW-{dashboard.key}-{n}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {"type": "ROW", "id": row_id, "children": [], "parents": ["ROOT_ID", "GRID_ID"],
                            "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        for chart in row:
            chart_id = f"CHART-{chart.key}"
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "type": "CHART", "id": chart_id, "children": [], "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {"width": chart.width, "height": chart.height, "chartId": chart_number(dashboard, chart),
                         "uuid": stable_uuid("chart", chart.key), "sliceName": chart.title[lang]},
            }
        if sum(c.width for c in row) > 12:
            raise ValueError(f"row {n} of dashboard {dashboard.key} is wider than the 12-column grid")
    return position


def dashboard_doc(dashboard: Dashboard, lang: str) -> dict:
    return {
        "dashboard_title": dashboard.title[lang],
        "description": None,
        "css": "",
        "slug": dashboard.slug,
        "certified_by": "",
        "certification_details": "",
        "published": True,
        "uuid": stable_uuid("dashboard", dashboard.key),
        "position": dashboard_position(dashboard, lang),
        "metadata": {
            "native_filter_configuration": [_filter_doc(dashboard, f, lang) for f in dashboard.filters],
            "color_scheme": "supersetColors",
            "cross_filters_enabled": False,
            "refresh_frequency": 0,
            "timed_refresh_immune_slices": [],
            "expanded_slices": {},
            "default_filters": "{}",
            "label_colors": {},
            "shared_label_colors": [],
            "chart_configuration": {},
            "global_chart_configuration": {},
        },
        "version": "1.0.0",
    }


def build_bundle(columns: dict[str, list[ViewColumn]], location: dict[str, str], lang: str) -> dict[str, str]:
    """The whole import bundle. `columns`: each reporting view's columns as PostgreSQL describes them."""
    missing = [d.view for d in DATASETS if d.view not in columns]
    if missing:
        raise ValueError(f"the warehouse has no reporting view(s) {', '.join(missing)}: "
                         "run the pipeline (or `pantao dbt build`) before `pantao bi up`")
    files = {"metadata.yaml": _dump({"version": "1.0.0", "type": "assets", "timestamp": "2026-01-01T00:00:00+00:00"}),
             DATABASE_FILE: _dump(database_doc(location["host"], location["port"], location["dbname"]))}
    for spec in DATASETS:
        files[f"datasets/{DATABASE_NAME}/{spec.view}.yaml"] = _dump(dataset_doc(spec, columns[spec.view], lang))
    for dashboard in DASHBOARDS:
        for chart in dashboard.charts:
            files[f"charts/{chart.key}.yaml"] = _dump(chart_doc(chart, lang))
        files[f"dashboards/{dashboard.key}.yaml"] = _dump(dashboard_doc(dashboard, lang))
    return files
