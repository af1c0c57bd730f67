"""`pantao simulate --publish` without KAFKA_BOOTSTRAP_SERVERS publishes to the local stack's broker."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from app.simulate import simulate
from ingestion.kafka.broker import watermarks
from pantao.settings import Settings
from pantao.stack import LocalStack


def test_publish_without_a_bootstrap_setting_uses_the_running_embedded_broker(tmp_path: Path, database_url: str):
    data_dir = tmp_path / "data"
    stack = LocalStack(data_dir)
    bootstrap = stack.up(postgres=False, kafka=True)["kafka"]["bootstrap"]  # `pantao stack up`, broker only
    try:
        env = {"PANTAO_DATA_DIR": str(data_dir), "DATABASE_URL": database_url, "KAFKA_BOOTSTRAP_SERVERS": ""}
        result = CliRunner().invoke(simulate, ["--days", "1", "--restaurants", "1", "--scale", "0.1", "--start",
                                               "2026-03-02", "--out", str(tmp_path / "sim"), "--publish"], env=env)
        assert result.exit_code == 0, result.output
        assert f"published to {bootstrap} (the embedded broker" in result.output
        expected = json.loads((tmp_path / "sim" / "truth.json").read_text())["counts"]["messages_total"]
        ends = watermarks(Settings(data_dir=data_dir), bootstrap,
                          [(topic, p) for topic in ("orders", "customers", "feedback") for p in range(3)])
        published = {topic: sum(ends[(topic, p)][1] for p in range(3)) for topic in ("orders", "customers", "feedback")}
        assert published == expected
        assert LocalStack(data_dir).kafka().pid() is not None  # the same broker, still running
    finally:
        stack.down()
