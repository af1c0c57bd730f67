"""Landing assets: each Kafka stream and the FreePBX data, written into the `raw` schema.

Each asset's key is the raw table it writes (`raw/<table>`), the same key the dbt sources map
to, so the UI shows lineage from these tables to every report.
"""


import dagster as dg

from orchestration.lib.metadata import result_metadata
from orchestration.lib.resources import PantaoResource

KAFKA_STREAMS = ("orders", "customers", "feedback")
# raw table -> the stream name ingestion.pbx reports its counts under
PBX_TABLES = {"pbx_cdr": "cdr", "pbx_queue_log": "queue_log", "pbx_extensions": "extensions"}
GROUP = "landing"


def _kafka_landing_asset(stream: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", stream],
        group_name=GROUP,
        kinds={"kafka", "postgres"},
        description=f"The `{stream}` Kafka topic landed into raw.{stream}, drained to the high watermarks "
                    "seen at the start of the run; offsets commit with the rows, so a rerun never duplicates.",
    )
    def land(context: dg.AssetExecutionContext, pantao: PantaoResource) -> dg.MaterializeResult:
        from ingestion.kafka import land_topics

        settings = pantao.settings()
        endpoints = pantao.endpoints(need_kafka=True)
        result = land_topics(settings, endpoints.database_url, endpoints.kafka_bootstrap, streams=(stream,))
        context.log.info("landed %s: %s rows, %s rejected", stream, result.landed, result.rejected)
        return dg.MaterializeResult(metadata=result_metadata(result.streams.get(stream)))

    return land


kafka_assets = [_kafka_landing_asset(stream) for stream in KAFKA_STREAMS]


@dg.multi_asset(
    name="raw_pbx",
    specs=[
        dg.AssetSpec(["raw", table], group_name=GROUP, kinds={"freepbx", "postgres"},
                     description=f"FreePBX data landed into raw.{table} (source: PBX_SOURCE = files, db or api).")
        for table in PBX_TABLES
    ],
)
def pbx_assets(context: dg.AssetExecutionContext, pantao: PantaoResource):
    """All three PBX tables in one step: the CDR, the queue_log and the operator directory are
    read from the same source (files, the PBX's database or its API) in one pass."""
    from ingestion.pbx import land_pbx

    settings = pantao.settings()
    result = land_pbx(settings, pantao.database_url())
    context.log.info("landed PBX data from %s: %s rows, %s rejected", result.source, result.landed, result.rejected)
    for table, stream in PBX_TABLES.items():
        counts = result_metadata(result.streams.get(stream))
        yield dg.MaterializeResult(asset_key=["raw", table], metadata={"source": result.source, **counts})


landing_assets = [*kafka_assets, pbx_assets]
