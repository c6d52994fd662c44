"""The scheduler: one loop that picks up user actions, runs analyses, dispatches tiles to an executor,
records their outcomes, finalises requests, recovers work of dead schedulers and deletes stale requests.

Each turn of the loop (`tick`) is a handful of short transactions through `store.work`; nothing is
held in memory that the database does not also know, so a scheduler may die at any point and another
(or the same, restarted) picks the work up once the leases expire. See docs/engine.md.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError

from eobatch.domain.states import TileStatus
from eobatch.engine import fairness
from eobatch.engine.analysis import analyse_request
from eobatch.engine.execution import Attempt
from eobatch.engine.executors import Executor
from eobatch.engine.request_collection import load_batch_inputs, register_in_collection
from eobatch.engine.request_stac import write_stac_for
from eobatch.engine.retry import RetryPolicy
from eobatch.engine.sandbox import SandboxStopped
from eobatch.engine.tasks import TaskBuilder, TileSpec, build_tile_task
from eobatch.errors import EobatchError
from eobatch.observability.metrics import STORAGE_RETRIES, TILE_DURATION, TILE_OUTCOMES
from eobatch.settings import Settings
from eobatch.store import work
from eobatch.store.db import Database
from eobatch.store.models import utcnow

log = logging.getLogger("eobatch.engine")

Analyse = Callable[[work.RequestSnapshot, Settings], work.AnalysisResult]


@dataclass
class _InFlight:
    request_id: str
    account_id: str
    attempt: int
    status: TileStatus


def _outcome(attempt: Attempt, backoff_s: float) -> work.TileOutcome:
    if not attempt.ok:
        return work.TileOutcome(
            ok=False,
            duration_s=attempt.duration_s,
            error=attempt.error,
            retryable=attempt.retryable,
            backoff_s=0.0 if attempt.worker_lost else backoff_s,
        )
    r = attempt.result
    return work.TileOutcome(
        ok=True,
        duration_s=attempt.duration_s,
        bytes_written=int(getattr(r, "bytes_written", 0) or 0),
        outputs=tuple(getattr(r, "outputs", ()) or ()),
        scene_count=getattr(r, "scene_count", None),
        no_data=bool(getattr(r, "no_data", False)),
        cost_pu=float(getattr(r, "cost_pu", 0.0) or 0.0),
        evaluation=getattr(r, "evaluation", None),
        scene_ids=list(getattr(r, "scene_ids", None) or []),
    )


def owner_is_dead(owner: str) -> bool:
    """Whether a scheduler id (`host-pid-suffix`, see `Scheduler.id`) names a process of this host
    that no longer exists: its lease can be taken over at once instead of waiting for it to expire."""
    parts = owner.rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit() or parts[0] != socket.gethostname()[:24]:
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _observe(pk: int, info: _InFlight, attempt: Attempt, status: TileStatus | None) -> None:
    """Metrics and one structured log line per tile attempt: outcome, duration, reason."""
    outcome = "processed" if attempt.ok else "lost" if attempt.worker_lost else "failed"
    TILE_DURATION.labels(outcome).observe(attempt.duration_s)
    TILE_OUTCOMES.labels(outcome).inc()
    if attempt.storage_retries:
        STORAGE_RETRIES.inc(attempt.storage_retries)
    fields = {
        "event": "tile_attempt",
        "tile": pk,
        "request_id": info.request_id,
        "account_id": info.account_id,
        "attempt": info.attempt,
        "outcome": outcome,
        "status": status.value if status else None,
        "duration_s": round(attempt.duration_s, 3),
        "reason": attempt.error,
    }
    if attempt.ok:
        log.info("tile %d processed in %.2f s", pk, attempt.duration_s, extra=fields)
    else:
        log.warning("tile %d attempt %d %s: %s", pk, info.attempt, fields["status"], attempt.error, extra=fields)


TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected


def _transient(exc: DBAPIError) -> bool:
    """A database error that the same work, tried again, will not hit (the loop then simply goes on)."""
    return exc.connection_invalidated or getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES


class Scheduler:
    """`Scheduler(settings, database, executor)`; timings default from `settings` and may be overridden.

    `lease_s`: how long a lease (scheduler, tile, analysis) lives without a heartbeat
    (default `settings.tile_heartbeat_timeout_s`); heartbeats come every `lease_s / 3`.
    `queue_extra`: tiles kept QUEUED beyond the executor's capacity (default: `executor.queue_depth`).
    """

    SURVEY_INTERVAL_S = 0.1  # user actions, settling, analyses: at most 10 times a second, whatever the poll

    def __init__(
        self,
        settings: Settings,
        database: Database,
        executor: Executor,
        *,
        task_builder: TaskBuilder = build_tile_task,
        analyse: Analyse = analyse_request,
        name: str | None = None,
        lease_s: float | None = None,
        poll_interval_s: float | None = None,
        retry: RetryPolicy | None = None,
        queue_extra: int | None = None,
        cleanup_interval_s: float | None = None,
    ):
        self.settings = settings
        self.database = database
        self.executor = executor
        self.task_builder = task_builder
        self.analyse = analyse
        self.id = name or f"{socket.gethostname()[:24]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.lease_s = lease_s if lease_s is not None else settings.tile_heartbeat_timeout_s
        self.poll_interval_s = poll_interval_s if poll_interval_s is not None else settings.poll_interval_s
        self.retry = retry or RetryPolicy(max_attempts=settings.max_tile_attempts)
        self.queue_extra = queue_extra
        self.cleanup_interval_s = cleanup_interval_s if cleanup_interval_s is not None else settings.cleanup_interval_s
        self._singleton = database.is_sqlite
        self._inflight: dict[int, _InFlight] = {}
        self._requests: dict[str, work.RequestSnapshot] = {}
        self._analyses: dict[str, Future] = {}
        self._analysis_pool: ThreadPoolExecutor | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._round_robin = 0
        from eobatch.artifacts.execution import ExecutionDbUploads

        self._execution_uploads = ExecutionDbUploads(settings.execution_db_interval_s)
        self._next_heartbeat = self._next_recovery = self._next_cleanup = self._next_survey = 0.0
        # when the last dispatch found no PENDING tile: none is looked for again before this (the next
        # survey), unless this scheduler recorded an outcome, finished an analysis or recovered tiles
        self._next_dispatch = 0.0

    # ------------------------------------------------------------------ life cycle

    def prepare(self) -> None:
        """Take the scheduler lease (Conflict if another SQLite scheduler lives), start the executor,
        and recover what a dead scheduler left behind. Called by every way of running; idempotent."""
        if self._started:
            return
        now = utcnow()
        with work.unit(self.database) as s:
            work.acquire_scheduler_lease(
                s, self.id, now, self.lease_s, singleton=self._singleton, owner_is_dead=owner_is_dead
            )
        executor_started = False
        try:
            self.executor.start()
            executor_started = True
            with work.unit(self.database) as s:
                tiles = work.recover_tiles(s, self.id, now, self.retry.max_attempts, every_foreign=self._singleton)
                analyses = work.recover_analyses(s, self.id, now, every_foreign=self._singleton)
        except BaseException:
            if executor_started:
                self.executor.shutdown(0)
            with work.unit(self.database) as s:
                work.drop_scheduler_lease(s, self.id)
            raise
        if tiles or analyses:
            log.info("scheduler %s recovered %d tiles and %d analyses", self.id, tiles, analyses)
        self._analysis_pool = ThreadPoolExecutor(
            max(self.settings.max_concurrent_analyses, 1), thread_name_prefix="eobatch-analysis"
        )
        self._started = True
        self._next_heartbeat = time.monotonic() + self.lease_s / 3

    def start(self) -> None:
        """Run the loop in a background thread (inside `eobatch serve`); raises at once if it cannot start."""
        self.prepare()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"eobatch-scheduler-{self.id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop, let running tiles finish and record them, give back the rest, release leases."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._shutdown()

    def run_forever(self) -> None:
        """`eobatch scheduler`: run in this thread until SIGTERM or SIGINT."""
        self.prepare()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self._stop.set())
        try:
            self._loop()
        finally:
            self._shutdown()

    def run_until_idle(self, timeout: float) -> bool:
        """Work in this thread until nothing is left to do; TimeoutError (with a summary) after `timeout` s."""
        self.prepare()
        deadline = time.monotonic() + timeout
        while True:
            try:
                busy = self.tick()
            except DBAPIError as exc:
                if not _transient(exc):
                    raise
                log.warning("scheduler %s: transient database error, trying again: %s", self.id, exc.orig)
                busy = False
            if not busy and self._idle():
                return True
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"scheduler {self.id} not idle after {timeout} s: {len(self._inflight)} "
                    f"tiles in flight, {len(self._analyses)} analyses running"
                )
            if not busy:
                time.sleep(self.poll_interval_s)

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                busy = self.tick()
                failures = 0
            except Exception:
                failures += 1
                log.exception("scheduler %s: a turn of the loop failed (%d in a row)", self.id, failures)
                busy = False
                self._stop.wait(min(self.poll_interval_s * 2**failures, 10.0))
            if not busy:
                self._stop.wait(self.poll_interval_s)

    def _shutdown(self) -> None:
        if not self._started:
            return
        now = utcnow()
        withdrawn = [pk for pk in list(self._inflight) if self.executor.cancel(pk)]
        for pk in withdrawn:
            self._inflight.pop(pk, None)
        running = len(self._inflight)
        if running:
            log.info(
                "scheduler %s stopping: %d tiles put back, %d running tiles get %g s to finish",
                self.id,
                len(withdrawn),
                running,
                self.settings.shutdown_grace_s,
            )
        self.executor.shutdown(self.settings.shutdown_grace_s)
        self._collect(utcnow())
        with work.unit(self.database) as s:
            work.release_tiles(s, self.id, now, withdrawn)
            work.release_tiles(s, self.id, now)  # anything still ours
            work.drop_scheduler_lease(s, self.id)
        self._inflight.clear()
        if self._analysis_pool is not None:  # running analyses finish (their check is time-limited)
            self._analysis_pool.shutdown(wait=True, cancel_futures=True)
        self._finish_analyses(utcnow())
        self._started = False

    def _idle(self) -> bool:
        if self._inflight or self._analyses:
            return False
        with self.database.session() as s:
            return work.active_requests(s) == 0

    # ------------------------------------------------------------------ one turn

    def tick(self) -> bool:
        """One turn of the loop; True when it did something (the loop then goes on without sleeping)."""
        self.prepare()
        clock = time.monotonic()
        now = utcnow()
        busy = False
        if clock >= self._next_heartbeat:
            self._heartbeat(now)
            self._next_heartbeat = clock + self.lease_s / 3
        if clock >= self._next_recovery:
            busy |= self._recover(now)
            self._next_recovery = clock + self.lease_s / 2
        busy |= self._collect(now)
        self._mark_running(now)
        busy |= self._finish_analyses(now)
        if clock >= self._next_survey:  # user actions, finished requests, new analyses: a few times a second
            self._withdraw_halted(now)
            busy |= self._settle(now)
            busy |= self._start_analyses(now)
            self._next_survey = clock + max(self.poll_interval_s, self.SURVEY_INTERVAL_S)
        if clock >= self._next_dispatch:
            busy |= self._dispatch(now)
        if clock >= self._next_cleanup:
            self.cleanup(now)
            self._next_cleanup = clock + self.cleanup_interval_s
        return busy

    def _heartbeat(self, now: datetime) -> None:
        with work.unit(self.database) as s:
            if not work.renew_scheduler_lease(s, self.id, now, self.lease_s, singleton=self._singleton):
                work.acquire_scheduler_lease(
                    s, self.id, now, self.lease_s, singleton=self._singleton, owner_is_dead=owner_is_dead
                )
            work.heartbeat_tiles(s, self.id, list(self._inflight), now, self.lease_s)
            work.heartbeat_analyses(s, self.id, list(self._analyses), now, self.lease_s)

    def _recover(self, now: datetime) -> bool:
        with work.unit(self.database) as s:
            n = work.recover_tiles(s, self.id, now, self.retry.max_attempts)
            m = work.recover_analyses(s, self.id, now)
        if n or m:
            log.warning("scheduler %s: recovered %d tiles and %d analyses with expired leases", self.id, n, m)
            self._next_dispatch = 0.0
        return bool(n or m)

    # ------------------------------------------------------------------ tiles

    def _collect(self, now: datetime) -> bool:
        finished = self.executor.collect()
        if not finished:
            return False
        self._next_dispatch = 0.0  # a retry may be PENDING again
        order = sorted(
            finished, key=lambda kv: (self._inflight[kv[0]].request_id if kv[0] in self._inflight else "", kv[0])
        )
        cancelled: dict[str, list[int]] = {}
        for pk, a in order:
            if a.cancelled:
                cancelled.setdefault(f"withdrawn: {a.error or 'cancelled before it ran'}", []).append(pk)
        infos = {pk: self._inflight.pop(pk, None) for pk, _ in finished}
        # if this transaction fails, the tiles are no longer heartbeated: their leases expire and
        # recovery puts them back to PENDING
        with work.unit(self.database) as s:
            for note, pks in cancelled.items():
                work.release_tiles(s, self.id, now, pks, note=note)
            for pk, attempt in order:
                info = infos[pk]
                if attempt.cancelled or info is None:
                    continue
                outcome = _outcome(attempt, self.retry.backoff(info.attempt))
                status = work.record_outcome(
                    s, self.id, pk, outcome, now, self.retry.max_attempts, request_id=info.request_id
                )
                _observe(pk, info, attempt, status)
        requests = {i.request_id for i in infos.values() if i is not None}
        for request_id in sorted(requests):
            self._upload_execution_db(request_id, final=False)
        if requests - {i.request_id for i in self._inflight.values()}:
            self._next_survey = 0.0  # nothing of such a request left in flight here: settle it this turn
        return True

    def _mark_running(self, now: datetime) -> None:
        started = [
            pk
            for pk in self.executor.running()
            if pk in self._inflight and self._inflight[pk].status is not TileStatus.PROCESSING
        ]
        if not started:
            return
        with work.unit(self.database) as s:
            work.mark_tiles(s, self.id, started, TileStatus.PROCESSING, now)
        for pk in started:
            self._inflight[pk].status = TileStatus.PROCESSING

    def _withdraw_halted(self, now: datetime) -> None:
        """On CANCEL or STOP, take back our tiles that have not started; running ones finish."""
        if not self._inflight:
            return
        request_ids = sorted({i.request_id for i in self._inflight.values()})
        with self.database.session() as s:
            halted = set(work.halted_requests(s, request_ids))
        if not halted:
            return
        withdrawn = [
            pk
            for pk, i in list(self._inflight.items())
            if i.request_id in halted and i.status is not TileStatus.PROCESSING and self.executor.cancel(pk)
        ]
        if withdrawn:
            with work.unit(self.database) as s:
                work.release_tiles(s, self.id, now, withdrawn, note="withdrawn: request canceled or stopped")
            for pk in withdrawn:
                self._inflight.pop(pk, None)

    def _capacity(self) -> int:
        extra = self.executor.queue_depth if self.queue_extra is None else self.queue_extra
        return self.executor.capacity + extra

    def _dispatch(self, now: datetime) -> bool:
        """Claim, submit and mark QUEUED in one transaction (rolled back, tiles stay PENDING, if it fails).

        Slots are filled in batches (half the queue at a time) to spare transactions, unless idle.
        """
        free = self._capacity() - len(self._inflight)
        if free <= 0 or (self._inflight and free < max(1, self.executor.queue_depth // 2)):
            return False
        submitted: list[int] = []
        try:
            with work.unit(self.database) as s:
                accounts = work.accounts_with_pending_tiles(s, now)
                if not accounts:  # looked for again at the next survey, or after something here changed
                    self._next_dispatch = time.monotonic() + max(self.poll_interval_s, self.SURVEY_INTERVAL_S)
                    return False
                shares = fairness.share_slots(
                    accounts,
                    work.tiles_in_flight_by_account(s),
                    self.settings.max_tiles_in_flight_per_account,
                    free,
                    self._round_robin,
                )
                self._round_robin += 1
                claimed = [
                    t for a, n in shares.items() for t in work.claim_pending_tiles(s, self.id, a, n, now, self.lease_s)
                ]
                for request_id in {t.request_id for t in claimed} - set(self._requests):
                    self._requests[request_id] = work.load_request(s, request_id)
                    load_batch_inputs(s, self._requests[request_id])
                broken = []
                for tile in claimed:
                    try:
                        payload = self.task_builder(TileSpec(self._requests[tile.request_id], tile), self.settings)
                    except Exception as exc:
                        message = exc.message if isinstance(exc, EobatchError) else f"{type(exc).__name__}: {exc}"
                        broken.append((tile, f"could not prepare the tile task: {message}"))
                        continue
                    self._inflight[tile.pk] = _InFlight(
                        tile.request_id, tile.account_id, tile.attempt, TileStatus.QUEUED
                    )
                    self.executor.submit(tile.pk, payload)
                    submitted.append(tile.pk)
                work.mark_tiles(s, self.id, submitted, TileStatus.QUEUED, now)
                for tile, message in broken:
                    work.record_outcome(
                        s,
                        self.id,
                        tile.pk,
                        work.TileOutcome(ok=False, duration_s=0.0, error=message, retryable=False),
                        now,
                        self.retry.max_attempts,
                    )
        except BaseException:
            for pk in submitted:  # the claim was rolled back: these tiles are PENDING again
                self.executor.cancel(pk)
                self._inflight.pop(pk, None)
            raise
        return bool(claimed)

    def _settle(self, now: datetime) -> bool:
        with self.database.session() as s:
            candidates = work.requests_to_settle(s)
        settled = False
        for request_id in candidates:
            with work.unit(self.database) as s:
                status = work.settle_request(s, request_id, now)
                if status is not None:  # the batch collection's tiles, with the final status
                    register_in_collection(s, request_id, status.value)
            if status is not None:
                settled = True
                self._upload_execution_db(request_id, final=True)
                write_stac_for(self.database, self.settings, request_id, status.value)
                self._requests.pop(request_id, None)
                log.info(
                    "request %s finished: %s",
                    request_id,
                    status.value,
                    extra={"event": "request_finished", "request_id": request_id, "status": status.value},
                )
        return settled

    def _upload_execution_db(self, request_id: str, *, final: bool) -> None:
        """v2 requests: upload execution-<id>.sqlite when due (at most once per
        `settings.execution_db_interval_s` while processing, always when `final`). A failed upload is
        logged and tried again at the next chance; it never stops the loop."""
        request = self._requests.get(request_id)
        if request is None:
            with self.database.session() as s:
                request = work.load_request(s, request_id)
        if request is None or not request.is_v2 or not self._execution_uploads.due(request_id, final=final):
            return
        from eobatch.engine.v2_outputs import upload_execution_db

        try:
            with self.database.session() as s:
                rows = work.execution_rows(s, request_id)
            upload_execution_db(self._execution_uploads, request, self.settings, lambda: rows, final=final)
        except Exception as exc:
            log.warning("request %s: could not upload its execution database: %s", request_id, exc)

    # ------------------------------------------------------------------ analyses

    def _start_analyses(self, now: datetime) -> bool:
        room = self.settings.max_concurrent_analyses - len(self._analyses)
        if room <= 0:
            return False
        with self.database.session() as s:  # most turns find none: spare them the write lock
            if not work.analyses_waiting(s, now):
                return False
        with work.unit(self.database) as s:
            room = min(room, self.settings.max_concurrent_analyses - work.analyses_running(s, now))
            claimed = work.claim_analyses(s, self.id, room, now, self.lease_s)
        pool = self._analysis_pool
        for request in claimed:
            if pool is None:  # stopping: the leases expire and the analyses are claimed again
                break
            with self.database.session() as s:
                load_batch_inputs(s, request)
            self._analyses[request.id] = pool.submit(self.analyse, request, self.settings)
        return bool(claimed)

    def _finish_analyses(self, now: datetime) -> bool:
        done = [(rid, f) for rid, f in self._analyses.items() if f.done()]
        if done:
            self._next_dispatch = 0.0
        for request_id, future in done:
            del self._analyses[request_id]
            result, error = None, None
            if future.cancelled():
                continue  # the lease expires and another scheduler analyses it again
            exc = future.exception()
            if isinstance(exc, SandboxStopped):  # not the request's fault: analysed again
                self._release_analysis(request_id)
                continue
            if exc is None:
                result = future.result()
            elif isinstance(exc, EobatchError):
                error = exc.message
            else:
                log.error("analysis of %s crashed", request_id, exc_info=exc)
                error = f"The analysis failed unexpectedly: {type(exc).__name__}: {exc}"
            try:
                with work.unit(self.database) as s:
                    status = work.finish_analysis(s, self.id, request_id, now, result, error)
            except Exception:
                log.exception("storing the analysis of %s failed; it will be analysed again", request_id)
                self._release_analysis(request_id)
                continue
            outcome = status.value if status else "lease lost"
            log.info(
                "analysis of %s done: %s",
                request_id,
                outcome,
                extra={"event": "analysis_done", "request_id": request_id, "status": outcome, "error": error},
            )
        return bool(done)

    def _release_analysis(self, request_id: str) -> None:
        """Best effort: drop the lease now; if even that fails, it expires (it is no longer renewed)."""
        try:
            with work.unit(self.database) as s:
                work.release_analysis(s, self.id, request_id)
        except Exception:
            log.exception("could not release the analysis lease of %s; it will expire", request_id)

    # ------------------------------------------------------------------ cleanup

    def cleanup(self, now: datetime | None = None) -> int:
        """Delete stale requests (ages from `settings.cleanup_*`), logging each with its reason; returns how many."""
        ages = work.CleanupAges(
            self.settings.cleanup_failed_after_s,
            self.settings.cleanup_unstarted_after_s,
            self.settings.cleanup_finished_after_s,
            self.settings.cleanup_stopped_after_s,
        )
        with work.unit(self.database) as s:
            deleted = work.delete_stale_requests(s, now or utcnow(), ages)
        for deletion in deleted:
            log.info(
                "cleanup deleted request %s: %s",
                deletion.request_id,
                deletion.reason,
                extra={"event": "cleanup", "request_id": deletion.request_id, "reason": deletion.reason},
            )
        return len(deleted)

    def snapshot(self) -> dict[str, Any]:
        """What this scheduler holds right now (for logs and tests)."""
        return {"id": self.id, "tiles_in_flight": len(self._inflight), "analyses": sorted(self._analyses)}
