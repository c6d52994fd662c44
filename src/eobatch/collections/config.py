"""The collections file (YAML or TOML): parsing, `${VAR}` expansion, relative paths, validation.

```yaml
collections:
  sentinel-2-l1c:                 # the request's input.data[].type
    preset: sentinel-2-l1c        # built-in bands; optional
    source: {kind: static, href: ../data/collection.json}   # relative to this file's folder
```
See docs/collections.md for every key.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from eobatch.errors import BadRequest, Violation

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
TYPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StaticSourceConfig(_Strict):
    kind: Literal["static"]
    href: str = Field(description="Catalog, Collection or ItemCollection JSON: path, http(s):// or s3://")
    collection: str | None = Field(default=None, description="Keep only this collection of the catalog")


class StacApiSourceConfig(_Strict):
    kind: Literal["stac-api"]
    url: str
    collection: str
    headers: dict[str, str] = Field(default_factory=dict, description="Sent to the API (not to assets)")
    max_items: int = Field(default=50_000, gt=0, description="More matching items is an error, never a cut")
    page_size: int = Field(default=500, gt=0, le=10_000, description="Items per result page")


DEMO_LEVELS = ("sentinel-2-l2a", "sentinel-2-l1c", "sentinel-1-grd", "landsat-ot-l1", "landsat-ot-l2", "dem")
DemoLevel = Literal["sentinel-2-l2a", "sentinel-2-l1c", "sentinel-1-grd", "landsat-ot-l1", "landsat-ot-l2", "dem"]
PresetName = Literal["sentinel-2-l1c", "sentinel-2-l2a", "sentinel-1-grd", "landsat-ot-l1", "landsat-ot-l2", "dem"]
BackCoefficient = Literal["BETA0", "SIGMA0_ELLIPSOID", "GAMMA0_ELLIPSOID", "GAMMA0_TERRAIN"]


class DemoSourceConfig(_Strict):
    kind: Literal["demo"]
    level: DemoLevel | None = None


SourceConfig = Annotated[StaticSourceConfig | StacApiSourceConfig | DemoSourceConfig, Field(discriminator="kind")]


class BandConfig(_Strict):
    asset_keys: list[str] | None = None
    resolution: float | None = Field(default=None, gt=0)
    scale: float | None = None
    offset: float | None = None
    nodata: float | None = None
    unit: str | None = None


class HarmonizeConfig(_Strict):
    baseline_property: str | None = None
    min_baseline: str = "04.00"
    offset: float = -1000.0
    offset_applied_property: str | None = Field(default=None, description="true: the provider removed the offset")


class CredentialsConfig(_Strict):
    """Where the archive's S3 keys are: environment variable names, or a file. Never the keys themselves."""

    access_key_env: str | None = None
    secret_key_env: str | None = None
    session_token_env: str | None = None
    file: str | None = Field(default=None, description="AWS shared-credentials INI file, or JSON/YAML with the keys")
    profile: str = "default"

    @model_validator(mode="after")
    def _one_kind(self) -> CredentialsConfig:
        by_env = self.access_key_env is not None or self.secret_key_env is not None
        if by_env == (self.file is not None):
            raise ValueError("give either access_key_env and secret_key_env, or file")
        if by_env and not (self.access_key_env and self.secret_key_env):
            raise ValueError("access_key_env and secret_key_env go together")
        return self


class SignerConfig(_Strict):
    """`token`: a Planetary Computer-style token endpoint; `python`: `factory: module:callable`."""

    kind: Literal["token", "python"]
    token_url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    factory: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> SignerConfig:
        if self.kind == "token" and not self.token_url:
            raise ValueError("a token signer needs token_url")
        if self.kind == "python" and not self.factory:
            raise ValueError("a python signer needs factory (module:callable)")
        return self


class AccessConfig(_Strict):
    """How this collection's catalog documents and assets are read (docs/collections.md "Access")."""

    endpoint: str | None = Field(default=None, description="S3 endpoint URL for s3:// hrefs; default AWS")
    region: str | None = None
    credentials: CredentialsConfig | None = None
    unsigned: bool = False
    requester_pays: bool = False
    headers: dict[str, str] = Field(default_factory=dict, description="Sent with every http(s) read")
    signer: SignerConfig | None = None
    gdal: dict[str, str | int | float | bool] = Field(default_factory=dict, description="GDAL config overrides")
    output_store: bool = Field(default=False, description="Read s3:// hrefs from the service's own output store")

    @model_validator(mode="after")
    def _consistent(self) -> AccessConfig:
        if self.unsigned and self.credentials is not None:
            raise ValueError("unsigned access takes no credentials")
        if self.output_store and (self.endpoint or self.credentials or self.unsigned or self.requester_pays):
            raise ValueError("output_store uses the service's own store settings; drop endpoint/credentials/flags")
        return self


class CollectionConfig(_Strict):
    title: str = ""
    preset: PresetName | None = None
    stored_coefficient: BackCoefficient = Field(
        default="BETA0", description="Sentinel-1: the backscatter coefficient the assets hold (linear power)"
    )
    source: SourceConfig
    access: AccessConfig = Field(default_factory=AccessConfig)
    harmonize: Literal["none", "sentinel-2"] | HarmonizeConfig = "none"
    defaults: BandConfig = Field(default_factory=BandConfig, description="Applied to bands given here")
    bands: dict[str, BandConfig] = Field(default_factory=dict)
    exclude_bands: list[str] = Field(default_factory=list)


class CollectionsFile(_Strict):
    collections: dict[Annotated[str, Field(pattern=TYPE_PATTERN)], CollectionConfig]


def expand_vars(value: Any, environ: dict[str, str] | None = None) -> Any:
    """`${VAR}` and `${VAR:-default}` replaced in every string; BadRequest for an unset VAR."""
    env = os.environ if environ is None else environ
    if isinstance(value, dict):
        return {k: expand_vars(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_vars(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise BadRequest(
            f"Environment variable {name} used in the collections file is not set; set it or write ${{{name}:-default}}"
        )

    return _VAR.sub(replace, value)


def _parse_text(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        return yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise BadRequest(f"Collections file {path} is not valid {path.suffix[1:].upper()}: {exc}") from exc


def _absolute_href(href: str, folder: Path) -> str:
    if "://" in href:
        return href
    path = Path(href).expanduser()
    return str(path if path.is_absolute() else (folder / path).resolve())


def load_collections_file(path: str | Path, environ: dict[str, str] | None = None) -> CollectionsFile:
    """The parsed, validated file; static hrefs are made absolute against the file's folder."""
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml", ".toml"):
        raise BadRequest(f"Collections file {path} must end in .yaml, .yml or .toml")
    try:
        raw = expand_vars(_parse_text(path), environ)
    except OSError as exc:
        raise BadRequest(f"Cannot read collections file {path}: {exc}") from exc
    try:
        parsed = CollectionsFile.model_validate(raw)
    except ValidationError as exc:
        violations = [Violation(".".join(str(p) for p in error["loc"]), error["msg"]) for error in exc.errors()]
        details = "; ".join(f"{v.parameter}: {v.violation}" for v in violations)
        raise BadRequest(f"Collections file {path} is invalid: {details}", violations) from exc
    folder = path.resolve().parent
    fixed = {}
    for type_, entry in parsed.collections.items():
        if isinstance(entry.source, StaticSourceConfig):
            source = entry.source.model_copy(update={"href": _absolute_href(entry.source.href, folder)})
            entry = entry.model_copy(update={"source": source})
        credentials = entry.access.credentials
        if credentials is not None and credentials.file:
            credentials = credentials.model_copy(update={"file": _absolute_href(credentials.file, folder)})
            entry = entry.model_copy(update={"access": entry.access.model_copy(update={"credentials": credentials})})
        fixed[type_] = entry
    return CollectionsFile(collections=fixed)
