"""FreePBX call data (CDRs, queue_log, operator directory) landed into PostgreSQL's raw schema."""

from ingestion.pbx.landing import PbxFileGapError, PbxLandingResult, StreamCounts, land_pbx
from ingestion.pbx.schema import ensure_pbx_tables

__all__ = ["PbxFileGapError", "PbxLandingResult", "StreamCounts", "ensure_pbx_tables", "land_pbx"]
