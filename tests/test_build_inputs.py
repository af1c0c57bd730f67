"""The hourly build is skipped only when nothing it reads changed since the published build
(pantao/build_inputs.py): on a real PostgreSQL, with transactions open across the check, and through
`run_dbt` on a built warehouse."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pantao import build_inputs
from pantao.dbt_runner import DBT_PROJECT_DIR, DEFAULT_TARGET_DIR, DbtError, run_dbt
from pantao.wap import SHADOWED_SCHEMAS
from tests.pipeline import PLANTED_SIM, simulated_warehouse_copy

MANIFEST = DEFAULT_TARGET_DIR / "manifest.json"
TZ = "Europe/Moscow"


@pytest.fixture
def sources_db(fresh_database_url) -> Iterator[tuple[str, build_inputs.BuildInputs]]:
    """An empty database holding a table for every dbt source (the mechanism, not the models)."""
    inputs = build_inputs.BuildInputs.of(["run", "--vars", "{}"], TZ, MANIFEST, DBT_PROJECT_DIR)
    assert inputs is not None and {"raw.orders", "raw.pbx_cdr", "reports.daily_report"} <= set(inputs.sources)
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        conn.execute("create schema marts")  # a published schema (its oid is part of the record)
        for name in inputs.sources:
            conn.execute(f"create schema if not exists {name.split('.')[0]}")
            conn.execute(f"create table {name} (id int, note text)")
    yield fresh_database_url, inputs


@pytest.fixture
def published_db(sources_db) -> tuple[str, build_inputs.BuildInputs]:
    """`sources_db` tracked, with a build published from it: the next check finds it current."""
    url, inputs = sources_db
    _check(url, inputs)
    _published(url, inputs)
    return url, inputs


def _check(url: str, inputs: build_inputs.BuildInputs) -> build_inputs.Check:
    with psycopg.connect(url, autocommit=True) as conn:
        return build_inputs.check(conn, inputs, SHADOWED_SCHEMAS)


def _publish(url: str, result: build_inputs.Check | None) -> None:
    """What ShadowBuild.publish does with the check, in a transaction of its own (no schemas to swap here)."""
    with psycopg.connect(url) as conn:
        build_inputs.record(conn, result, SHADOWED_SCHEMAS)


def _published(url, inputs) -> build_inputs.Check:
    """A check then its publish, as a build does; asserts the next check finds the build current."""
    _publish(url, _check(url, inputs))
    after = _check(url, inputs)
    assert after.current and "nothing has changed" in after.current, after.reason
    return after


def test_the_first_check_builds_and_a_published_build_is_then_current(sources_db):
    url, inputs = sources_db
    first = _check(url, inputs)
    # the triggers were only now added: what happened before them is unknown
    assert first.current is None and "change tracking was added" in first.reason
    second = _check(url, inputs)
    assert second.current is None and second.reason == "no full build has been published with its inputs yet"
    _published(url, inputs)
    with psycopg.connect(url) as conn:
        triggers = dict(conn.execute("select tgrelid::regclass::text, count(*) filter (where tgenabled = 'A')"
                                     " from pg_trigger where tgname like 'pantao_note_source_%' group by 1").fetchall())
    # insert/update/delete (the PBX tables' inserts apart), and truncate; enabled always
    assert triggers == {name: len(build_inputs.triggers_of(name)) for name in inputs.sources}
    assert triggers["raw.pbx_cdr"] == 3 and triggers["raw.orders"] == triggers["raw.pbx_extensions"] == 2


@pytest.mark.parametrize("write", [
    "insert into raw.orders values (1, 'landed')",
    "update raw.feedback set note = 'changed'",
    "delete from raw.pbx_queue_log",
    "truncate raw.pbx_cdr",
    "update raw.pbx_extensions set note = 'renamed'",
    "delete from reports.daily_report",
    "truncate reports.daily_report",
    "insert into reports.daily_report values (2, 'a report version')",
], ids=["bulk-insert", "bulk-update", "bulk-delete", "bulk-truncate", "update", "delete", "truncate", "insert"])
def test_every_kind_of_write_to_a_source_makes_the_next_check_build(sources_db, write):
    url, inputs = sources_db
    with psycopg.connect(url, autocommit=True) as conn:  # a row in each small source
        conn.execute("insert into raw.pbx_extensions values (1, 'Ivanova')")
        conn.execute("insert into reports.daily_report values (1, 'the first version')")
    _check(url, inputs)
    _published(url, inputs)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(write)
    table = write.replace("insert into ", "").replace("update ", "").replace("delete from ", "").replace(
        "truncate ", "").split()[0]
    result = _check(url, inputs)
    assert result.current is None and result.reason == f"rows written to {table}"
    # the build that follows sees the write; once published, the next check is current again
    _published(url, inputs)


def test_a_landing_still_open_when_the_build_began_is_seen_by_the_next_check(published_db):
    url, inputs = published_db
    with psycopg.connect(url) as landing:
        landing.execute("insert into raw.customers values (7, 'in flight')")
        # the build starts (its snapshot) while the landing is open: its rows are not in the build
        during = _check(url, inputs)
        assert during.current, during.reason  # nothing committed yet: current
        # it builds anyway (forced) and publishes what it saw
        _publish(url, during)
        landing.commit()
    after = _check(url, inputs)
    assert after.current is None and after.reason == "rows written to raw.customers"


def test_a_rolled_back_landing_changes_nothing(published_db):
    url, inputs = published_db
    with psycopg.connect(url) as landing:
        landing.execute("insert into raw.orders values (1, 'never committed')")
        landing.rollback()
    assert _check(url, inputs).current


def test_a_source_columns_change_and_a_partial_publish_make_it_build(published_db):
    url, inputs = published_db
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("alter table raw.pbx_queue_log rename column note to event")
    result = _check(url, inputs)
    assert result.current is None and result.reason == "changed since the published build: source columns"
    _published(url, inputs)
    # a partial build publishes without a record: the next full one runs
    _publish(url, None)
    assert _check(url, inputs).reason == "no full build has been published with its inputs yet"


def test_another_business_date_or_other_vars_make_it_build(published_db):
    url, inputs = published_db
    # UTC+14 and UTC-11 (25 hours apart) are never on the same date: the same inputs on another business date
    east = dataclasses.replace(inputs, timezone="Pacific/Kiritimati")
    west = dataclasses.replace(inputs, timezone="Pacific/Pago_Pago")
    _published(url, east)
    result = _check(url, west)
    now = dt.datetime.now(dt.UTC)
    west_date, east_date = ((now + dt.timedelta(hours=hours)).date() for hours in (-11, 14))
    assert result.current is None and result.reason == (
        f"changed since the published build: business date {west_date} (the published build's {east_date})")
    _published(url, inputs)
    other_vars = build_inputs.BuildInputs.of(["run", "--vars", '{"segment_recent_days": 31}'], TZ, MANIFEST,
                                             DBT_PROJECT_DIR)
    assert _check(url, other_vars).reason == "changed since the published build: command and vars"


def test_a_new_customer_key_salt_makes_it_build_and_the_record_holds_no_salt(published_db):
    """The marts store each customer's key (macros/customer_key.sql): a new salt must rekey them."""
    url, inputs = published_db
    salt = secrets.token_bytes(32)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema access")
        conn.execute("create table access.install_secret (name text primary key, secret bytea not null)")
        conn.execute("insert into access.install_secret values ('customer_key_salt', %s)", (salt,))
    assert _check(url, inputs).reason == "changed since the published build: customer key salt"
    _published(url, inputs)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("update access.install_secret set secret = %s", (secrets.token_bytes(32),))
        [recorded] = conn.execute("select inputs::text from raw.published_build").fetchone()
    assert salt.hex() not in recorded and hashlib.sha256(salt).hexdigest() not in recorded
    assert _check(url, inputs).reason == "changed since the published build: customer key salt"


def test_the_project_digest_follows_every_model_and_macro_file(tmp_path):
    for name in ("dbt_project.yml", "models/a.sql", "macros/m.sql"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("select 1", encoding="utf-8")
    before = build_inputs.project_digest(tmp_path)
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "run_results.json").write_text("{}", encoding="utf-8")  # dbt's output: not an input
    assert build_inputs.project_digest(tmp_path) == before
    (tmp_path / "macros" / "m.sql").write_text("select 2", encoding="utf-8")
    assert build_inputs.project_digest(tmp_path) != before


def _schema_oid(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("select oid from pg_namespace where nspname = 'marts'").fetchone()[0]


@pytest.mark.slow
def test_the_hourly_run_skips_dbt_until_a_row_lands(new_database, kafka_bootstrap, tmp_path_factory):
    with simulated_warehouse_copy(new_database, "skip", tmp_path_factory, kafka_bootstrap, PLANTED_SIM,
                                  dbt_args=["run"]) as warehouse:
        url, settings, target = warehouse.database_url, warehouse.settings, warehouse.dbt_target_dir

        def hourly() -> tuple[str, dict[str, float]]:
            seconds: dict[str, float] = {}
            return run_dbt(["run"], settings, url, target_dir=target, wap_seconds=seconds, skip_if_current=True), seconds

        said, seconds = hourly()
        if not seconds.get("skipped"):  # the business date turned since the template was built: that was a build
            said, seconds = hourly()
        assert seconds == {"skipped": 1.0} and said.startswith("nothing has changed since the build published")
        live = _schema_oid(url)
        assert hourly()[1] == {"skipped": 1.0} and _schema_oid(url) == live  # nothing published, nothing copied
        with psycopg.connect(url) as conn:
            sold = conn.execute("select count(*) from marts.orders").fetchone()[0]
            # one order lands late: a copy of a landed message under a new order id
            conn.execute("""insert into raw.orders (kafka_topic, kafka_partition, kafka_offset, kafka_key, payload)
                            select kafka_topic, kafka_partition, kafka_offset + 1000000, 'ORD-LATE-SKIP',
                                   jsonb_set(jsonb_set(payload::jsonb, '{order_id}', '"ORD-LATE-SKIP"'),
                                             '{event_id}', to_jsonb(gen_random_uuid()::text))::text
                            from raw.orders where payload::jsonb ->> 'event_type' = 'order_created' limit 1""")
        said, seconds = hourly()
        assert not seconds.get("skipped") and seconds["publish"] > 0, said
        assert _schema_oid(url) != live
        with psycopg.connect(url) as conn:
            assert conn.execute("select count(*) from marts.orders").fetchone()[0] == sold + 1
            assert conn.execute("select count(*) from marts.orders where order_id = 'ORD-LATE-SKIP'").fetchone()[0] == 1
        # published with its inputs: the next hour skips again; a forced (non-hourly) run still builds
        assert hourly()[1] == {"skipped": 1.0}
        built: dict[str, float] = {}
        run_dbt(["run"], settings, url, target_dir=target, wap_seconds=built)
        assert not built.get("skipped") and built["publish"] > 0


def test_without_a_manifest_the_project_files_name_the_sources(tmp_path):
    inputs = build_inputs.BuildInputs.of(["run"], TZ, tmp_path / "absent.json", DBT_PROJECT_DIR)
    assert inputs is not None and set(inputs.sources) == build_inputs.manifest_sources(MANIFEST)


def test_a_login_that_may_not_track_changes_builds_every_time(sources_db):
    url, inputs = sources_db
    role = f"t_noddl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"create role {role} login password 'pw-{role}'")
        conn.execute(f"grant usage on schema raw, reports to {role}")
    try:
        login = make_conninfo(url, user=role, password=f"pw-{role}")
        # before the notes exist: the login may not create them
        result = _check(login, inputs)
        assert result.current is None and result.reason.startswith("the sources' changes cannot be checked (")
        assert "permission denied" in result.reason
        _publish(login, result)  # no error in the publish's transaction
        # once the owner has published with them: the login may not read them
        _check(url, inputs)
        _published(url, inputs)
        result = _check(login, inputs)
        assert result.current is None and "permission denied" in result.reason
        # a publish by that login fails rather than leave the owner's record describing another build
        with pytest.raises(psycopg.errors.InsufficientPrivilege), psycopg.connect(login) as conn:
            build_inputs.record(conn, result, SHADOWED_SCHEMAS)
        assert _check(url, inputs).current  # the owner's record stands
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"drop owned by {role}")
            conn.execute(f"drop role {role}")


@pytest.mark.parametrize("table, read_again, changed", [
    # the operator directory, upserted whole on each landing (ingestion/pbx/store.py): per row written
    ("raw.pbx_extensions",
     "insert into raw.pbx_extensions values (1, 'Ivanova') on conflict (id) do update set note = excluded.note"
     " where raw.pbx_extensions.note is distinct from excluded.note",
     "insert into raw.pbx_extensions values (1, 'Petrova') on conflict (id) do update set note = excluded.note"
     " where raw.pbx_extensions.note is distinct from excluded.note"),
    # a PBX batch (insert … select … on conflict do nothing): per statement that inserted rows
    ("raw.pbx_queue_log",
     "insert into raw.pbx_queue_log select * from (values (1, 'ENTERQUEUE')) v on conflict do nothing",
     "insert into raw.pbx_queue_log select * from (values (1, 'ENTERQUEUE'), (2, 'CONNECT')) v on conflict do nothing"),
], ids=["directory-upsert", "pbx-batch"])
def test_a_source_read_again_unchanged_notes_nothing_and_a_change_does(sources_db, table, read_again, changed):
    url, inputs = sources_db
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"alter table {table} add primary key (id)")
        conn.execute(f"insert into {table} values (1, 'Ivanova')" if "extensions" in table
                     else f"insert into {table} values (1, 'ENTERQUEUE')")
    _check(url, inputs)
    _published(url, inputs)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(read_again)
    assert _check(url, inputs).current
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(changed)
    assert _check(url, inputs).reason == f"rows written to {table}"


def test_writes_with_triggers_disabled_or_replicated_are_still_seen(published_db):
    url, inputs = published_db
    with psycopg.connect(url, autocommit=True) as conn:
        # a replication apply or a restore runs as replica: the triggers fire always
        conn.execute("set session_replication_role = replica")
        conn.execute("insert into raw.orders values (1, 'replicated')")
    assert _check(url, inputs).reason == "rows written to raw.orders"
    _published(url, inputs)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("alter table raw.feedback disable trigger all")
    # disabled triggers are not tracking: made again, and what happened meanwhile is unknown
    assert _check(url, inputs).reason == "change tracking was added to raw.feedback just now"
    _published(url, inputs)


def test_a_published_schema_replaced_outside_a_build_or_a_record_from_another_cluster_builds(published_db):
    url, inputs = published_db
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema marts")
        conn.execute("create schema marts")  # a restore, a hand-made schema: not what was published
    assert _check(url, inputs).reason == "changed since the published build: published schemas"
    _published(url, inputs)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("update raw.published_build set snapshot = '4000000000:4000000000:'")
    assert _check(url, inputs).reason == "the published build's record comes from another database cluster"


def test_a_dbt_command_that_writes_the_live_schemas_forgets_the_record(published_db, make_settings):
    url, inputs = published_db
    with pytest.raises(DbtError):  # the macro does not exist; the record is forgotten before dbt starts
        run_dbt(["run-operation", "no_such_macro_here"], make_settings(database_url=url), url)
    assert _check(url, inputs).reason == "no full build has been published with its inputs yet"


def test_the_project_files_declare_the_sources_a_new_model_may_read(tmp_path):
    (tmp_path / "models" / "a").mkdir(parents=True)
    (tmp_path / "models" / "a" / "__sources.yml").write_text(
        "version: 2\nsources:\n  - name: kafka\n    schema: raw\n    tables:\n      - name: orders\n"
        "      - name: late\n        identifier: late_orders\n  - name: reports\n    tables:\n      - name: daily\n",
        encoding="utf-8")
    assert build_inputs.project_sources(tmp_path) == {"raw.orders", "raw.late_orders", "reports.daily"}
    (tmp_path / "models" / "a" / "__sources.yml").write_text(
        "sources:\n  - name: k\n    schema: \"{{ env_var('S') }}\"\n    tables: [{name: t}]\n", encoding="utf-8")
    assert build_inputs.project_sources(tmp_path) is None  # cannot be listed: no check, the build runs
