"""A real SeaweedFS `weed mini` S3 endpoint for tests (infra-notes.md §1.1).

Free ports for every listener, `GOMEMLIMIT=256MiB`, credentials from the environment (so a wrong
secret is rejected), polled until the first PUT succeeds; SIGKILL and rmtree at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

WEED = Path(sys.executable).parent / "weed"
ACCESS_KEY = "testkey"
SECRET_KEY = "testsecret"
BUCKET = "tiles"


@dataclass
class Seaweed:
    endpoint: str  # http://127.0.0.1:PORT
    access_key: str
    secret_key: str
    bucket: str
    process: subprocess.Popen
    data_dir: Path
    command: list[str] | None = None
    env: dict[str, str] | None = None

    @property
    def host_port(self) -> str:
        return self.endpoint.removeprefix("http://")

    def client(self, secret: str | None = None):
        """A boto3 S3 client on this endpoint (a different `secret` for negative tests)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret or self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def pause(self) -> None:
        """An outage: SIGKILL the server, keeping its data (and ports) for `resume`."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def resume(self, timeout_s: float = 30.0) -> None:
        """Start the server again on the same folder and ports; returns once a PUT works."""
        assert self.command is not None and self.env is not None
        with open(self.data_dir / "weed.log", "ab") as log:  # the server keeps its own copy of the handle
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir
            )
        _wait_until_ready(self, timeout_s)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def _free_ports(n: int) -> list[int]:
    sockets, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def start_seaweed(timeout_s: float = 30.0, identities: list[dict] | None = None) -> Seaweed:
    """Start `weed mini` on free loopback ports and wait until a PUT works. `identities` are extra
    SeaweedFS S3 identities (name, credentials, actions such as "Read:bucket"; name "anonymous"
    for unsigned requests) beside the admin key pair."""
    data_dir = Path(tempfile.mkdtemp(prefix="eobatch-weed-"))
    p = _free_ports(10)
    extra = []
    if identities:
        admin = {
            "name": "admin",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        (data_dir / "s3.json").write_text(json.dumps({"identities": [admin, *identities]}))
        extra = [f"-s3.config={data_dir / 's3.json'}"]
    env = os.environ | {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "S3_BUCKET": BUCKET,
        "GOMEMLIMIT": "256MiB",
    }
    cmd = [
        str(WEED), "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-s3.port={p[0]}", f"-master.port={p[1]}", f"-volume.port={p[2]}", f"-filer.port={p[3]}",
        f"-admin.port={p[4]}", f"-s3.port.grpc={p[5]}", f"-master.port.grpc={p[6]}",
        f"-volume.port.grpc={p[7]}", f"-filer.port.grpc={p[8]}", f"-admin.port.grpc={p[9]}", *extra,
    ]  # fmt: skip
    with open(data_dir / "weed.log", "wb") as log:  # the server keeps its own copy of the handle
        process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir)
    weed = Seaweed(f"http://127.0.0.1:{p[0]}", ACCESS_KEY, SECRET_KEY, BUCKET, process, data_dir, cmd, env)
    try:
        _wait_until_ready(weed, timeout_s)
    except RuntimeError:
        weed.stop()
        raise
    return weed


def _wait_until_ready(weed: Seaweed, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if weed.process.poll() is not None:
            break
        try:
            weed.client().put_object(Bucket=weed.bucket, Key="_ready", Body=b"ok")
            return
        except Exception as exc:  # not up yet
            last_error = exc
            time.sleep(0.1)
    output = (weed.data_dir / "weed.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"weed mini did not accept a PUT within {timeout_s} s: {last_error}\n{output}")
