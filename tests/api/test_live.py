"""Over a real socket (uvicorn): concurrent actions on one request are serialised by the row lock, and a
GET right after create always finds the request."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import select

from eobatch.api import create_app
from eobatch.store.ledger import discrepancies
from eobatch.store.models import LedgerEntry
from tests.api.conftest import new_caller
from tests.api.helpers import body, live_server, set_request


def test_concurrent_starts_reserve_once_and_reads_follow_writes(client, db, api_settings):
    caller = new_caller(client, db, api_settings, "racer")
    with (
        live_server(create_app(api_settings, db)) as base,
        httpx.Client(base_url=base, timeout=60, headers=caller.headers) as http,
    ):
        ids = []
        for _ in range(4):
            created = http.post("/api/v1/batch/process", json=body())
            assert created.status_code == 201
            ids.append(created.json()["id"])
            assert http.get(f"/api/v1/batch/process/{ids[-1]}").status_code == 200
        target = ids[0]
        set_request(db, target, status="ANALYSIS_DONE", cost_estimate={"low": 120.0, "high": 180.0})

        def start(_: int) -> int:
            return http.post(f"/api/v1/batch/process/{target}/start").status_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            codes = list(pool.map(start, range(12)))
        assert codes == [204] * 12
        assert http.get(f"/api/v1/batch/process/{target}").json()["status"] == "PROCESSING"
        me = http.get("/api/v1/accounts/me").json()
        assert me["balance"]["reserved"] == 180.0
    with db.session() as session:
        reserves = (
            session.execute(select(LedgerEntry).where(LedgerEntry.request_id == target, LedgerEntry.kind == "RESERVE"))
            .scalars()
            .all()
        )
        assert len(reserves) == 1
        assert discrepancies(session) == []
