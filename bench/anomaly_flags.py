"""How often the anomaly flags fire on ordinary days, and whether they catch a planted anomaly.

Not a speed benchmark: the calibration behind the band's settings (docs/metrics.md, "Anomaly
flags"). The simulator computes the flags from its own daily figures (simulator/anomalies.py, the
same rules the reports apply); this counts them on the days with three weeks of history, apart
from the planted day, and checks that day's expected flags. Baseline in the same run: a band
without the floors (median ± 3 × 1.4826 × MAD only), what the settings improve on.

    .venv/bin/python -m bench.anomaly_flags            # 8 restaurants at full scale, 50 days
    .venv/bin/python -m bench.anomaly_flags --restaurants 2 --scale 0.15 --days 36
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics

from simulator import SimConfig, compute_truth, generate
from simulator import anomalies as rules


def _without_floors(kpi: str, history: list[float]):
    if len(history) < rules.MIN_HISTORY:
        return None
    median = statistics.median(history)
    spread = rules.MAD_TO_SIGMA * statistics.median(abs(v - median) for v in history)
    return median, median - rules.WIDTH * spread, median + rules.WIDTH * spread


def measure(truth: dict) -> tuple[float, int, bool]:
    """(flags per ordinary day, KPIs per day, every planted flag present)."""
    days = sorted(truth["daily"])
    ordinary = [d for d in days[rules.MIN_HISTORY * 7:] if d != truth["planted_anomaly"]["day"]]
    flags = rules.flag_anomalies({d: truth["daily"][d]["chain"] for d in days})
    per_day = sum(len(flags.get(d, {})) for d in ordinary) / len(ordinary)
    planted = truth["planted_anomaly"]
    caught = all(flags.get(planted["day"], {}).get(k, {}).get("direction") == v for k, v in planted["kpis"].items())
    return per_day, len(truth["daily"][days[0]]["chain"]), caught


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=50)
    parser.add_argument("--restaurants", type=int, default=8)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    for seed in (int(s) for s in args.seeds.split(",")):
        config = SimConfig(days=args.days, restaurants=args.restaurants, seed=seed, scale=args.scale,
                           start=dt.date(2026, 9, 28), understaffed_day=-1)
        truth = compute_truth(generate(config))
        per_day, kpis, caught = measure(truth)
        original = rules.usual_band
        rules.usual_band = _without_floors
        try:
            baseline, _, baseline_caught = measure(truth)
        finally:
            rules.usual_band = original
        print(f"seed {seed}: {per_day:.2f} flags per ordinary day over {kpis} KPIs "
              f"({per_day / kpis:.2%} of KPI-days), planted caught: {caught}; "
              f"baseline without floors: {baseline:.2f} ({baseline / kpis:.2%}), caught: {baseline_caught}")


if __name__ == "__main__":
    main()
