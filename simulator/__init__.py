"""Deterministic simulator of a fast-food chain and its contact centre, and the KPI oracle (truth.json).

It writes the real source formats (Kafka JSON events, FreePBX Master.csv / queue_log / CDR rows)
and computes the expected KPIs from its own objects, sharing no code with the pipeline.
"""

from simulator.config import SimConfig
from simulator.generate import generate
from simulator.kafka import publish_to_kafka
from simulator.model import Simulation
from simulator.truth import compute_truth
from simulator.writer import OutputPaths, write_outputs

__all__ = ["OutputPaths", "SimConfig", "Simulation", "compute_truth", "generate", "publish_to_kafka",
           "write_outputs"]
