"""Prometheus metrics for the pipeline and the contact centre, plus the Prometheus and Grafana
configuration that reads them (`monitoring/prometheus/`, `monitoring/grafana/`).

The exporter holds no state of its own worth keeping: every scrape reads the truth from
PostgreSQL (and the broker's end offsets), so a restarted exporter reports the same numbers.
"""
