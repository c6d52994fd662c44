"""The CLI's saved credentials: one file per user, found from any directory, holding several accounts by name.

Location: `$EOBATCH_CONFIG_DIR/credentials.json`, else `$XDG_CONFIG_HOME/eobatch/credentials.json`, else
`~/.config/eobatch/credentials.json` (mode 0600). Content:
`{"default": "alice", "accounts": {"alice": {"client_id", "client_secret", "url"?}, ...}}`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from eobatch.client import Credentials


def config_dir() -> Path:
    """The per-user configuration folder of eobatch."""
    if os.environ.get("EOBATCH_CONFIG_DIR"):
        return Path(os.environ["EOBATCH_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "eobatch"


def credentials_file() -> Path:
    return config_dir() / "credentials.json"


@dataclass(frozen=True)
class SavedAccount:
    name: str
    credentials: Credentials
    url: str | None = None


@dataclass
class CredentialStore:
    """The accounts saved in one credentials file; `default` is used when none is named."""

    path: Path
    default: str | None = None
    accounts: dict[str, SavedAccount] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> CredentialStore:
        path = path or credentials_file()
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text())
        accounts = {
            name: SavedAccount(name, Credentials(entry["client_id"], entry["client_secret"]), entry.get("url"))
            for name, entry in (data.get("accounts") or {}).items()
        }
        return cls(path, data.get("default"), accounts)

    def add(self, account: SavedAccount, *, make_default: bool = False) -> None:
        """Save `account` under its name (replacing one of the same name); the first saved becomes the default."""
        self.accounts[account.name] = account
        if make_default or self.default not in self.accounts:
            self.default = account.name
        self._write()

    def get(self, name: str | None = None) -> SavedAccount | None:
        """The named account, or the default one; None when there is none. KeyError for an unknown name."""
        if name is None:
            return self.accounts.get(self.default or "")
        if name not in self.accounts:
            known = ", ".join(sorted(self.accounts)) or "none"
            raise KeyError(f"no saved credentials for account {name!r} in {self.path} (saved: {known})")
        return self.accounts[name]

    def _write(self) -> None:
        data = {
            "default": self.default,
            "accounts": {
                a.name: {"client_id": a.credentials.client_id, "client_secret": a.credentials.client_secret}
                | ({"url": a.url} if a.url else {})
                for a in self.accounts.values()
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_suffix(".tmp")
        staging.touch(mode=0o600)
        staging.chmod(0o600)
        staging.write_text(json.dumps(data, indent=2))
        staging.replace(self.path)
