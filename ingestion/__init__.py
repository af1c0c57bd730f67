"""Ingestion: land Kafka topics and FreePBX call data into the `raw` schema of PostgreSQL.

`ingestion.kafka` lands the `orders`, `customers` and `feedback` topics exactly once (rows and
consumed offsets commit in one transaction), admitting only what `ingestion.contract` accepts;
`ingestion.pbx` lands the PBX's CDRs, queue_log and operator directory. Both quarantine bad
records in `raw.rejected_records`.
Submodules are imported on use so that `pantao --help` stays fast.
"""
