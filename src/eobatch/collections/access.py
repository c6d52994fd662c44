"""A collection's `access:` configuration turned into a `StoreAccess`: credentials looked up in the
environment or a file (errors name the variable or file, never a value), the signer built."""

from __future__ import annotations

import configparser
import json
import os
from pathlib import Path

import yaml

from eobatch.collections.config import AccessConfig, CredentialsConfig, SignerConfig
from eobatch.errors import BadRequest
from eobatch.settings import Settings
from eobatch.storage.access import KeyPair, StoreAccess, output_store_access
from eobatch.storage.signers import TokenSigner, load_signer


def build_access(type_: str, config: AccessConfig, settings: Settings | None, environ=None) -> StoreAccess:
    """The `StoreAccess` of collection `type_`; BadRequest for missing variables, files or signers."""
    if config.output_store:
        base = output_store_access(settings or Settings())
        return StoreAccess(
            endpoint=base.endpoint,
            region=base.region,
            credentials=base.credentials,
            unsigned=base.unsigned,
            local_buckets=base.local_buckets,
            headers=dict(config.headers),
            gdal_options=_gdal(config),
        )
    keys = _credentials(type_, config.credentials, os.environ if environ is None else environ)
    return StoreAccess(
        endpoint=config.endpoint,
        region=config.region,
        credentials=keys,
        unsigned=config.unsigned,
        requester_pays=config.requester_pays,
        headers=dict(config.headers),
        signer=_signer(type_, config.signer),
        gdal_options=_gdal(config),
    )


def _gdal(config: AccessConfig) -> dict[str, str]:
    def text(value) -> str:
        if isinstance(value, bool):
            return "YES" if value else "NO"
        return str(value)

    return {key: text(value) for key, value in config.gdal.items()}


def _credentials(type_: str, config: CredentialsConfig | None, environ) -> KeyPair | None:
    if config is None:
        return None
    if config.file is None:
        values = {}
        for role, name in (("access key", config.access_key_env), ("secret key", config.secret_key_env)):
            if not environ.get(name):
                raise BadRequest(f"Collection {type_}: the {role} variable {name} is not set")
            values[role] = environ[name]
        token = environ.get(config.session_token_env) if config.session_token_env else None
        return KeyPair(values["access key"], values["secret key"], token or None)
    return _credentials_file(type_, Path(config.file).expanduser(), config.profile)


def _credentials_file(type_: str, path: Path, profile: str) -> KeyPair:
    """Keys from an AWS shared-credentials INI file (`[profile]` with aws_access_key_id ...) or from a
    JSON / YAML mapping with access_key_id and secret_access_key (optionally session_token)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadRequest(f"Collection {type_}: cannot read credentials file {path}: {exc.strerror}") from exc
    values: dict | None = None
    if path.suffix.lower() in (".json", ".yaml", ".yml"):
        try:
            values = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError):
            values = None
        keys = ("access_key_id", "secret_access_key", "session_token")
    else:
        parser = configparser.ConfigParser()
        try:
            parser.read_string(text)
            values = dict(parser[profile]) if parser.has_section(profile) else None
        except configparser.Error:
            values = None
        keys = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
    if not isinstance(values, dict) or not values.get(keys[0]) or not values.get(keys[1]):
        where = f"profile [{profile}] of " if keys[0].startswith("aws_") else ""
        raise BadRequest(f"Collection {type_}: {where}credentials file {path} has no {keys[0]} and {keys[1]}")
    return KeyPair(str(values[keys[0]]), str(values[keys[1]]), values.get(keys[2]) or None)


def _signer(type_: str, config: SignerConfig | None):
    if config is None:
        return None
    if config.kind == "token":
        return TokenSigner(str(config.token_url), headers=dict(config.headers))
    try:
        return load_signer(str(config.factory), config.options)
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"Collection {type_}: {exc}") from exc
