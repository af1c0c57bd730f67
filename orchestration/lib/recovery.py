"""Runs left behind by a process that died: marked failed, their concurrency slots freed.

A run worker killed with SIGKILL, or cut off from a PostgreSQL that went away, never writes its
end: the run stays STARTING or STARTED and keeps its `pantao_dbt` pool slot, and every later
`pantao run` would refuse to start. The daemon's run monitoring (dagster.yaml) catches daemon-
launched runs within minutes; `pantao run` does not wait for it. Before it starts, it looks at the
runs in progress, and those whose worker process is gone (the pid `pantao run` tags its runs with,
or the one the run worker logged when it started) it marks failed — which the failure sensor
reports — and frees their slots. A worker on another host, or one not yet known, is left to run
monitoring.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

import dagster as dg
import psutil

log = logging.getLogger(__name__)

WORKER_TAG = "pantao/worker"
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
# A pid whose process started this much after the run's record was written is a reused pid.
PID_REUSE_MARGIN_SECONDS = 2.0


@dataclass(frozen=True)
class Worker:
    host: str
    pid: int
    started_at: float | None  # the process's start time (epoch seconds), when known

    def tag(self) -> str:
        return f"{self.host}:{self.pid}:{self.started_at or ''}"


def this_worker() -> Worker:
    """The current process, as `pantao run` tags its runs with it."""
    return Worker(socket.gethostname(), os.getpid(), psutil.Process().create_time())


def parse_worker_tag(value: str) -> Worker | None:
    """A `host:pid:start` tag back into a Worker; None when it is not one."""
    host, _, rest = value.rpartition(":")
    host, _, pid = host.rpartition(":")
    try:
        return Worker(host, int(pid), float(rest) if rest else None)
    except ValueError:
        return None


def logged_worker(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Worker | None:
    """The pid the run worker logged ("Started process for run (pid: N)") on this host, if any."""
    records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records
    for record in reversed(records):
        event = record.event_log_entry.dagster_event
        data = event.event_specific_data if event is not None else None
        pid = (getattr(data, "metadata", None) or {}).get("pid")
        if pid is not None and str(getattr(pid, "value", pid)).isdigit():
            return Worker(socket.gethostname(), int(str(getattr(pid, "value", pid))), None)
    return None


def worker_of(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Worker | None:
    tagged = run.tags.get(WORKER_TAG)
    return (parse_worker_tag(tagged) if tagged else None) or logged_worker(instance, run)


def worker_is_gone(worker: Worker, run_created_at: float | None) -> bool:
    """True when the worker's process is no longer there; False when it is, or cannot be told
    from here (another host)."""
    if worker.host != socket.gethostname():
        return False
    try:
        started = psutil.Process(worker.pid).create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return True
    except psutil.AccessDenied:
        return False
    if psutil.Process(worker.pid).status() == psutil.STATUS_ZOMBIE:
        return True
    if worker.started_at is not None:
        return abs(started - worker.started_at) > 0.5  # another process now has that pid
    return run_created_at is not None and started > run_created_at + PID_REUSE_MARGIN_SECONDS


def recover_dead_runs(instance: dg.DagsterInstance, runs: list[dg.DagsterRun]) -> list[str]:
    """Mark failed each run in progress whose worker is gone and free its slots; one line for each."""
    found = []
    records = {record.dagster_run.run_id: record for record in
               instance.get_run_records(dg.RunsFilter(run_ids=[run.run_id for run in runs]))} if runs else {}
    for run in runs:
        worker = worker_of(instance, run)
        record = records.get(run.run_id)
        created = record.create_timestamp.timestamp() if record is not None else None
        if worker is None or not worker_is_gone(worker, created):
            continue
        message = (f"its worker process (pid {worker.pid}) is gone; marked failed by `pantao run`, "
                   "its concurrency slots freed")
        if run.status == dg.DagsterRunStatus.CANCELING:
            instance.report_run_canceled(run, message=message)
        else:
            instance.report_run_failed(run, message=message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        status = run.status.value
        found.append(f"run {run.run_id} ({run.job_name}) was left {status} by a process that died "
                     f"(pid {worker.pid}): marked failed, its slots freed")
        log.warning(found[-1])
    return found


def free_slots_of_ended_runs(instance: dg.DagsterInstance) -> list[str]:
    """Free the concurrency slots still claimed by runs that ended (or no longer exist)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    freed = []
    for key in sorted(storage.get_concurrency_keys()):
        info = storage.get_concurrency_info(key)
        holders = {slot.run_id for slot in info.claimed_slots} | {step.run_id for step in info.pending_steps}
        for run_id in sorted(holders):
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
                freed.append(f"pool {key}: freed the slot of run {run_id}, which "
                             + ("no longer exists" if run is None else f"ended {run.status.value}"))
                log.warning(freed[-1])
    return freed
