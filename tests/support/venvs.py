"""Throwaway virtualenvs for client compatibility tests (the real sentinelhub-py, isolated from eobatch's
own dependencies). They live under `.eobatch/test-venvs/` (gitignored) and are built once, on first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENVS = REPO / ".eobatch" / "test-venvs"


def venv_python(name: str, *requirements: str) -> Path:
    """The interpreter of virtualenv `name`, creating it with `requirements` when missing or different."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    wanted = "\n".join(requirements)
    if not (marker.exists() and marker.read_text() == wanted and python.exists()):
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements], check=True
        )
        marker.write_text(wanted)
    return python
