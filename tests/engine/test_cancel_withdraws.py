"""CANCEL withdraws the tiles handed to the local pool but not started: only the tile being processed
at that moment runs to the end and is charged."""

from __future__ import annotations

import threading

from eobatch.domain.states import UserAction
from eobatch.store.actions import apply_action
from eobatch.store.models import BatchRequest
from tests.engine.factory import make_account, make_request
from tests.engine.helpers import check_invariants, local_scheduler, request_row, tile_charges, tile_statuses, wait_for


def test_cancel_withdraws_queued_tiles_and_charges_only_the_running_one(database, engine_settings, out_dir):
    account = make_account(database)
    request_id = make_request(database, account, 6, output={"dir": str(out_dir), "sleep_s": 3.0})
    scheduler = local_scheduler(engine_settings, database, workers=1, queue_extra=3)
    started = out_dir / request_id / "started.log"
    runner = threading.Thread(target=scheduler.run_until_idle, args=(120,))
    try:
        runner.start()
        wait_for(lambda: started.exists() and started.read_text().strip(), 120, "the first tile to start")
        with database.session() as s:
            apply_action(s, s.get(BatchRequest, request_id), UserAction.CANCEL)
        runner.join()
    finally:
        scheduler.stop()
    assert len(started.read_text().split()) == 1  # nothing else started after the cancel
    assert request_row(database, request_id).status == "CANCELED"
    assert tile_statuses(database, request_id)["PROCESSED"] == 1
    assert sum(tile_charges(database, request_id).values()) == 1
    check_invariants(database)
