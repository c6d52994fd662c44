"""`eobatch collections list|show|delete` against a served instance (real processes, real HTTP)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from tests.cli.test_cli import data_dir, run, server  # noqa: F401 (fixtures)


def test_list_show_and_delete_batch_collections(server: str, data_dir: Path):  # noqa: F811
    creds = json.loads(run("accounts", "create", "cli-collections", "--json", data_dir=data_dir).stdout)
    token = httpx.post(
        server + "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    ).json()["access_token"]
    made = httpx.post(
        server + "/api/v1/batch/collections",
        json={"name": "cli collection", "s3Bucket": "demo-outputs"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert made.status_code == 201, made.text
    collection_id = made.json()["data"]["id"]
    env = {"EOBATCH_CLIENT_ID": creds["client_id"], "EOBATCH_CLIENT_SECRET": creds["client_secret"]}
    args = ("--url", server)
    os.environ.update(env)
    try:
        listed = json.loads(run("collections", "list", "--json", *args, data_dir=data_dir).stdout)
        assert [c["id"] for c in listed] == [collection_id]
        table = run("collections", "list", *args, data_dir=data_dir, COLUMNS="200").stdout
        assert "cli collection" in table and "demo-outputs" in table
        shown = run("collections", "show", collection_id, *args, data_dir=data_dir).stdout
        assert f"batch-{collection_id}" in shown and "cli collection" in shown
        deleted = run("collections", "delete", collection_id, *args, data_dir=data_dir)
        assert "deleted" in deleted.stdout
        missing = run("collections", "show", collection_id, *args, data_dir=data_dir, check=False)
        assert missing.returncode == 1 and "not found" in missing.stderr
        assert json.loads(run("collections", "list", "--json", *args, data_dir=data_dir).stdout) == []
    finally:
        for key in env:
            os.environ.pop(key)
