"""The `eobatch` command: run the service, the scheduler or the demo, manage accounts, and act as a client."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from eobatch.client import ApiError, Credentials, EobatchClient
from eobatch.settings import Settings

app = typer.Typer(help="eobatch: a self-hostable Sentinel Hub Batch Processing API.", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts, OAuth clients and processing units.", no_args_is_help=True)
grids_app = typer.Typer(help="Tiling grids.", invoke_without_command=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(grids_app, name="grids")
collections_app = typer.Typer(
    help="Data collections: index your own COGs; list, show and delete your batch collections.", no_args_is_help=True
)
app.add_typer(collections_app, name="collections")
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (EOBATCH_DATA_DIR)")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
FINAL = {"DONE", "PARTIAL", "FAILED", "CANCELED", "STOPPED"}


def load_settings(data_dir: Path | None = None, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)


def credentials_path(settings: Settings) -> Path:
    """Where earlier versions saved one account's credentials (still read as a last resort)."""
    return settings.data_dir / "credentials.json"


DEFAULT_URL = "http://127.0.0.1:8080"


def make_client(settings: Settings, url: str | None, account: str | None = None) -> EobatchClient:
    """A client with credentials from, in order: EOBATCH_CLIENT_ID/EOBATCH_CLIENT_SECRET; the account named by
    --account or EOBATCH_ACCOUNT, else the default one, in the per-user credentials file
    (`eobatch.credentials`); the data folder's credentials.json. The server: --url, EOBATCH_URL, the saved
    account's url, http://127.0.0.1:8080."""
    from eobatch.credentials import CredentialStore

    client_id, secret = os.environ.get("EOBATCH_CLIENT_ID"), os.environ.get("EOBATCH_CLIENT_SECRET")
    store = CredentialStore.load()
    try:
        saved = store.get(account or os.environ.get("EOBATCH_ACCOUNT") or None)
    except KeyError as error:
        fail_with(str(error.args[0]), 2)
    if client_id and secret:
        creds = Credentials(client_id, secret)
    elif saved is not None:
        creds = saved.credentials
    elif credentials_path(settings).exists():
        creds = Credentials.load(credentials_path(settings))
    else:
        fail_with(
            f"No credentials: run `eobatch accounts create NAME` (saved in {store.path}) or set "
            "EOBATCH_CLIENT_ID and EOBATCH_CLIENT_SECRET.",
            2,
        )
    base = url or os.environ.get("EOBATCH_URL") or (saved.url if saved else None) or DEFAULT_URL
    return EobatchClient(base, creds)


def emit(data: Any, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(data, default=str))
    else:
        out.print(data)


def fail(error: Exception) -> NoReturn:
    fail_with(str(error), 1)


def fail_with(message: str, code: int) -> NoReturn:
    """One line on stderr, then exit with `code`."""
    console.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(code)


# --- service -------------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8080,
    data_dir: DataDir = None,
    collections: Annotated[Path | None, typer.Option("--collections", help="Collections file (YAML/TOML)")] = None,
    no_scheduler: Annotated[bool, typer.Option("--no-scheduler", help="API only")] = False,
) -> None:
    """Serve the API (and, by default, the scheduler) on embedded defaults."""
    from eobatch.observability.logs import configure_logging
    from eobatch.service import Service

    settings = load_settings(data_dir, collections_file=collections)
    configure_logging(settings.log_level, settings.log_format)
    service = Service(settings, host=host, port=port, run_scheduler=not no_scheduler)
    console.print(f"eobatch serving on {service.url} (data in {settings.data_dir.resolve()})")
    service.serve_forever()


@app.command()
def scheduler(data_dir: DataDir = None) -> None:
    """Run the scheduler alone, next to one or more API servers sharing the database."""
    from eobatch.engine import Scheduler, make_executor
    from eobatch.observability.logs import configure_logging
    from eobatch.store.db import Database

    settings = load_settings(data_dir)
    configure_logging(settings.log_level, settings.log_format)
    database = Database(settings.resolved_database_url())
    database.migrate()
    Scheduler(settings, database, make_executor(settings)).run_forever()


# --- accounts ------------------------------------------------------------------------------------


@accounts_app.command("create")
def accounts_create(
    name: str,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
    url: Annotated[str | None, typer.Option("--url", help="Server URL to save with the credentials")] = None,
    make_default: Annotated[bool, typer.Option("--default", help="Make it the default account")] = False,
) -> None:
    """Create an account with an OAuth client; prints the client id and secret (shown once) and saves them
    under NAME in the per-user credentials file (the first saved account is the default)."""
    from eobatch.credentials import CredentialStore, SavedAccount
    from eobatch.errors import EobatchError
    from eobatch.store.accounts import create_account
    from eobatch.store.db import Database

    settings = load_settings(data_dir)
    database = Database(settings.resolved_database_url())
    database.migrate()
    try:
        with database.session() as session:
            account, client_id, secret = create_account(session, name, settings)
            account_id = account.id
    except EobatchError as error:
        fail_with(error.message, 1)
    finally:
        database.dispose()
    store = CredentialStore.load()
    store.add(SavedAccount(name, Credentials(client_id, secret), url), make_default=make_default)
    console.print(f"credentials saved as {name!r} in {store.path} (default account: {store.default})")
    result = {"account_id": account_id, "client_id": client_id, "client_secret": secret}
    if as_json:
        emit({"client_id": client_id, "client_secret": secret, "account_id": account_id}, True)
    else:
        for key, value in result.items():
            out.print(f"{key}: {value}")


@accounts_app.command("topup")
def accounts_topup(name: str, amount: float, data_dir: DataDir = None) -> None:
    """Add processing units to an account."""
    from eobatch.store import accounts, ledger
    from eobatch.store.db import Database

    settings = load_settings(data_dir)
    database = Database(settings.resolved_database_url())
    with database.session() as session:
        account = accounts.find_account(session, name)
        if account is None:
            fail(ValueError(f"no account named {name!r}"))
        ledger.grant(session, account.id, amount, kind="TOPUP")
        balance = ledger.balance(session, account.id)
    out.print(f"{name}: available {balance.available:.2f} PU, reserved {balance.reserved:.2f} PU")


@accounts_app.command("list")
def accounts_list(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """List accounts with their balances."""
    from eobatch.store import accounts, ledger
    from eobatch.store.db import Database

    settings = load_settings(data_dir)
    database = Database(settings.resolved_database_url())
    database.migrate()
    rows = []
    with database.session() as session:
        for account in accounts.list_accounts(session):
            b = ledger.balance(session, account.id)
            rows.append(
                {
                    "id": account.id,
                    "name": account.name,
                    "available": b.available,
                    "reserved": b.reserved,
                    "spent": b.spent,
                }
            )
    if as_json:
        emit(rows, True)
        return
    table = Table("name", "id", "available PU", "reserved PU", "spent PU")
    for r in rows:
        table.add_row(r["name"], r["id"], f"{r['available']:.2f}", f"{r['reserved']:.2f}", f"{r['spent']:.2f}")
    out.print(table)


# --- client commands -----------------------------------------------------------------------------

UrlOpt = Annotated[str | None, typer.Option("--url", help="Server URL (EOBATCH_URL)")]
AccountOpt = Annotated[
    str | None, typer.Option("--account", help="Saved credentials to use (EOBATCH_ACCOUNT; default: the default one)")
]
#: exit codes of `submit --wait` by final status (anything else that goes wrong exits 1, usage errors 2)
EXIT_CODES = {"DONE": 0, "ANALYSIS_DONE": 0, "FAILED": 1, "PARTIAL": 3, "CANCELED": 4, "STOPPED": 4}


@app.command()
def submit(
    file: Path,
    analyse_only: Annotated[bool, typer.Option("--analyse-only", help="Analyse, do not start")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the end, with a progress bar")] = False,
    url: UrlOpt = None,
    account: AccountOpt = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a batch request from a JSON file, then analyse or start it.

    With --wait the exit code tells how it ended: 0 DONE (or analysed), 1 FAILED, 3 PARTIAL,
    4 CANCELED or STOPPED."""
    client = make_client(load_settings(data_dir), url, account)
    try:
        created = client.create(json.loads(file.read_text()))
        request_id = created["id"]
        client.action(request_id, "analyse" if analyse_only else "start")
        if wait:
            final = wait_for(client, request_id, analyse_only=analyse_only, quiet=as_json)
        else:
            final = client.get(request_id)
    except ApiError as error:
        fail(error)
    emit(final if as_json else summary(final), as_json)
    if wait:
        code = EXIT_CODES.get(final["status"], 1)
        if code:
            console.print(f"[red]request {request_id} ended {final['status']}[/red]")
        raise typer.Exit(code)


@app.command()
def status(
    request_id: str, url: UrlOpt = None, account: AccountOpt = None, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """Show a batch request: a readable summary, or the full object with --json."""
    client = make_client(load_settings(data_dir), url, account)
    try:
        request = client.get(request_id)
        counts = tile_counts(client, request_id) if not as_json else {}
    except ApiError as error:
        fail(error)
    emit(request if as_json else summary(request, counts), as_json)


def tile_counts(client: EobatchClient, request_id: str) -> dict[str, int]:
    """How many of the request's tiles are in each status."""
    counts: dict[str, int] = {}
    for tile in client.tiles(request_id):
        counts[tile["status"]] = counts.get(tile["status"], 0) + 1
    return counts


def summary(request: dict[str, Any], tile_statuses: dict[str, int] | None = None) -> str:
    """A request as a few `key: value` lines for people."""
    lines = [f"request:     {request['id']}", f"status:      {request['status']}"]
    if request.get("description"):
        lines.append(f"description: {request['description']}")
    lines.append(f"created:     {request.get('created')}")
    tiles_line = f"tiles:       {request.get('tileCount') or 0}"
    if tile_statuses:
        tiles_line += " (" + ", ".join(f"{n} {s}" for s, n in sorted(tile_statuses.items())) + ")"
    lines.append(tiles_line)
    estimate = request.get("costEstimate") or {}
    if estimate.get("expected") is not None:
        lines.append(
            f"estimate:    {estimate['expected']:.2f} PU expected "
            f"({estimate.get('low', 0):.2f}-{estimate.get('high', 0):.2f})"
        )
    lines.append(f"charged:     {request.get('chargedPU') or 0:.2f} PU")
    if request.get("error"):
        lines.append(f"error:       {request['error']}")
    return "\n".join(lines)


@app.command()
def tiles(
    request_id: str,
    status_filter: Annotated[str | None, typer.Option("--status", help="Only tiles in this status")] = None,
    url: UrlOpt = None,
    account: AccountOpt = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """List the tiles of a batch request."""
    client = make_client(load_settings(data_dir), url, account)
    try:
        rows = list(client.tiles(request_id, status_filter))
    except ApiError as error:
        fail(error)
    if as_json:
        emit(rows, True)
        return
    table = Table("id", "name", "status", "cost", "error")
    for t in rows:
        table.add_row(str(t["id"]), t["name"], t["status"], f"{t.get('cost') or 0:.3f}", t.get("error") or "")
    out.print(table)


@app.command()
def cancel(request_id: str, url: UrlOpt = None, account: AccountOpt = None, data_dir: DataDir = None) -> None:
    """Cancel a batch request."""
    _act(request_id, "cancel", url, account, data_dir)


@app.command()
def restart(request_id: str, url: UrlOpt = None, account: AccountOpt = None, data_dir: DataDir = None) -> None:
    """Reprocess the failed tiles of a PARTIAL request."""
    _act(request_id, "restartpartial", url, account, data_dir)


def _act(request_id: str, action: str, url: str | None, account: str | None, data_dir: Path | None) -> None:
    client = make_client(load_settings(data_dir), url, account)
    try:
        client.action(request_id, action)
        out.print(f"{request_id}: {client.get(request_id)['status']}")
    except ApiError as error:
        fail(error)


@grids_app.callback()
def grids(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the tiling grids."""
    if ctx.invoked_subcommand is not None:
        return
    from eobatch import grids as g

    rows = [g.as_wire(grid) for grid in g.list_grids()]
    if as_json:
        emit(rows, True)
        return
    table = Table("id", "name", "tile size", "resolutions", "unit")
    for r in rows:
        p = r["properties"]
        table.add_row(
            str(r["id"]), r["name"], f"{p['tileWidth']:g}", ", ".join(f"{x:g}" for x in p["resolutions"]), p["unit"]
        )
    out.print(table)


@grids_app.command("export")
def grids_export(
    grid: Annotated[int, typer.Option("--grid", help="Grid id")],
    aoi: Annotated[Path, typer.Option("--aoi", help="GeoJSON geometry, Feature(Collection) or bounds object")],
    fmt: Annotated[str, typer.Option("--format", help="gpkg | geojson | shp")] = "gpkg",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write")] = None,
) -> None:
    """Export the tiles of a grid that cover an area, as GeoPackage, GeoJSON or zipped Shapefile."""
    from eobatch import grids as g
    from eobatch.errors import EobatchError

    try:
        bounds = bounds_from_file(aoi)
        tiles_ = g.tiles_for_area(grid, g.area_from_bounds(bounds))
        data = g.export_tiles(tiles_, fmt)
    except (EobatchError, ValueError) as error:
        fail(error)
    suffix = {"gpkg": ".gpkg", "geojson": ".geojson", "shp": ".zip"}[fmt]
    target = output or Path(f"tiling-grid-{grid}{suffix}")
    target.write_bytes(data)
    out.print(f"{len(tiles_)} tiles written to {target}")


@collections_app.command("list")
def collections_list(
    url: UrlOpt = None, account: AccountOpt = None, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """List your batch collections (the ones `output.createCollection` made or POST /collections)."""
    client = make_client(load_settings(data_dir), url, account)
    try:
        rows = list(client.collections())
    except ApiError as error:
        fail(error)
    if as_json:
        emit(rows, True)
        return
    table = Table("id", "name", "bucket", "bands", "tiles", "created")
    for c in rows:
        bands = ", ".join((c.get("additionalData") or {}).get("bands") or {})
        table.add_row(c["id"], c["name"], c["s3Bucket"], bands, str(c.get("tileCount", 0)), c.get("created") or "")
    out.print(table)


@collections_app.command("show")
def collections_show(
    collection_id: str,
    url: UrlOpt = None,
    account: AccountOpt = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a batch collection: its bands, bucket, tile count and the input type that reads it."""
    client = make_client(load_settings(data_dir), url, account)
    try:
        c = client.collection(collection_id)
    except ApiError as error:
        fail(error)
    if as_json:
        emit(c, True)
        return
    bands = (c.get("additionalData") or {}).get("bands") or {}
    lines = [
        f"collection:  {c['id']}",
        f"name:        {c['name']}",
        f"bucket:      {c['s3Bucket']}",
        f"input type:  {c.get('type')}",
        f"tiles:       {c.get('tileCount', 0)}",
        f"created:     {c.get('created')}",
    ]
    for name, band in bands.items():
        lines.append(
            f"band:        {name} ({band.get('sampleFormat')}{band.get('bitDepth')}, noData {band.get('noData')})"
        )
    out.print("\n".join(lines), markup=False)


@collections_app.command("delete")
def collections_delete(
    collection_id: str, url: UrlOpt = None, account: AccountOpt = None, data_dir: DataDir = None
) -> None:
    """Delete a batch collection (its files stay where they are; refused while a request uses it)."""
    client = make_client(load_settings(data_dir), url, account)
    try:
        client.delete_collection(collection_id)
    except ApiError as error:
        fail(error)
    out.print(f"batch collection {collection_id} deleted")


@collections_app.command("index")
def collections_index(
    root: Annotated[str, typer.Argument(help="Folder or s3://bucket/prefix holding the COGs")],
    collection_id: Annotated[str, typer.Option("--id", help="Collection id")] = "byoc",
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Where collection.json goes (default ROOT)")
    ] = None,
    when: Annotated[str | None, typer.Option("--datetime", help="Acquisition time for items without a date")] = None,
    endpoint: Annotated[str | None, typer.Option("--endpoint", help="S3 endpoint URL (default AWS)")] = None,
    region: Annotated[str | None, typer.Option("--region", help="S3 region")] = None,
    access_key_env: Annotated[str | None, typer.Option("--access-key-env", help="Variable with the key id")] = None,
    secret_key_env: Annotated[str | None, typer.Option("--secret-key-env", help="Variable with the secret")] = None,
    unsigned: Annotated[bool, typer.Option("--unsigned", help="Anonymous S3 requests")] = False,
) -> None:
    """Build a static STAC collection (projection extension) from a folder or S3 prefix of COGs."""
    import datetime as dt

    from eobatch.collections.access import build_access
    from eobatch.collections.config import AccessConfig
    from eobatch.collections.indexer import build_collection, write_collection
    from eobatch.errors import EobatchError

    try:
        credentials = None
        if access_key_env or secret_key_env:
            credentials = {"access_key_env": access_key_env, "secret_key_env": secret_key_env}
        config = AccessConfig.model_validate(
            {"endpoint": endpoint, "region": region, "unsigned": unsigned, "credentials": credentials}
        )
        access = build_access(collection_id, config, None)
        default = dt.datetime.fromisoformat(when.replace("Z", "+00:00")) if when else None
        if default is not None and default.tzinfo is None:
            default = default.replace(tzinfo=dt.UTC)
        collection = build_collection(root, collection_id, access, default)
        href = write_collection(collection, output or root, access)
    except (EobatchError, ValueError) as error:
        fail(error)
    items = list(collection.get_items())
    out.print(f"{len(items)} items, {sum(len(i.assets) for i in items)} assets: {href}")
    entry = {"source": {"kind": "static", "href": href}}
    if endpoint or region or unsigned or credentials:
        entry["access"] = config.model_dump(exclude_defaults=True)
    out.print("collections file entry (add bands or a preset):")
    out.print(yaml.safe_dump({"collections": {f"byoc-{collection_id}": entry}}, sort_keys=False), markup=False)


def bounds_from_file(path: Path) -> dict:
    """Read an area from a GeoJSON geometry, Feature, FeatureCollection or request bounds object."""
    from eobatch.grids.export import bounds_from_geojson

    return bounds_from_geojson(json.loads(path.read_text()))


# --- waiting and the demo ------------------------------------------------------------------------


def wait_for(
    client: EobatchClient,
    request_id: str,
    *,
    analyse_only: bool = False,
    quiet: bool = False,
    timeout: float = 3600.0,
) -> dict:
    """Follow a request's event stream until its analysis (or its processing) ends, with a progress bar."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[extra]}"),
        TimeElapsedColumn(),
    )
    until = FINAL | {"ANALYSIS_DONE"} if analyse_only else FINAL
    with Progress(*columns, console=console, disable=quiet, transient=False) as progress:
        bar = progress.add_task("analysing", total=None, extra="")
        finished = {"PROCESSED": 0, "FAILED": 0}

        def show(kind: str, data: dict) -> None:
            if kind == "snapshot":
                for status in finished:
                    finished[status] = int((data.get("tiles") or {}).get(status, 0))
            elif kind == "tile" and data.get("status") in finished:
                finished[data["status"]] += 1
            if kind in ("snapshot", "status") and data.get("status"):
                total = data.get("tileCount") or progress.tasks[0].total
                progress.update(bar, description=data["status"].lower(), total=total)
            if kind == "status" and data.get("status") == "PROCESSING":
                progress.update(bar, total=client.get(request_id).get("tileCount") or 0)
            done, failed = finished["PROCESSED"], finished["FAILED"]
            progress.update(bar, completed=done + failed, extra=f"processed {done}, failed {failed}")

        request = client.wait_events(request_id, until=until, on_event=show, timeout=timeout)
        progress.update(bar, description=request["status"].lower())
    return request


def find_example(name: str) -> Path:
    for base in (Path.cwd() / "examples", Path(__file__).resolve().parents[2] / "examples"):
        if (base / name).exists():
            return base / name
    raise FileNotFoundError(f"examples/{name} not found")


@app.command("demo-archive")
def demo_archive(
    data_dir: DataDir = None,
    levels: Annotated[
        list[str] | None, typer.Option("--level", help="Demo level(s) to generate (default: all)")
    ] = None,
) -> None:
    """Generate the synthetic demo archive (every collection, or the --level ones) and print its folder."""
    from eobatch.collections.demo.archive import LEVELS, ensure_demo_archive

    settings = load_settings(data_dir)
    try:
        with console.status("generating the demo archive ..."):
            root = ensure_demo_archive(settings, tuple(levels or LEVELS))
    except (ValueError, OSError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    print(root)


DEMO_ACCOUNT = "demo"


@app.command()
def demo(
    data_dir: DataDir = None,
    request_file: Annotated[Path | None, typer.Option("--request", help="Batch request JSON")] = None,
) -> None:
    """Run a real batch request end to end on embedded defaults, with progress, and show the outputs."""
    from eobatch.collections import ensure_demo_archive
    from eobatch.service import Service, free_port
    from eobatch.store.accounts import add_client, create_account, find_account

    settings = load_settings(data_dir)
    started = time.monotonic()
    console.rule("eobatch demo")
    console.print(f"data folder: {settings.data_dir.resolve()}")
    with console.status("preparing the built-in demo collection (synthetic Sentinel-2 L1C/L2A) ..."):
        archive = ensure_demo_archive(settings)
    console.print(f"demo collection: {archive}")
    service = Service(settings, port=free_port()).start_in_thread()
    console.print(
        f"service: {service.url} (SQLite {settings.resolved_database_url()}, {settings.workers} local workers)"
    )
    try:
        with service.database.session() as session:
            # one demo account per data folder: the demo's bucket belongs to the account that first wrote to it
            account = find_account(session, DEMO_ACCOUNT)
            if account is None:
                account, client_id, secret = create_account(session, DEMO_ACCOUNT, settings)
            else:
                client_id, secret = add_client(session, account.id)
            name = account.name
        console.print(f"account: {name} (client id {client_id})")
        client = EobatchClient(service.url, Credentials(client_id, secret))
        body = json.loads((request_file or find_example("demo-request.json")).read_text())
        created = client.create(body)
        request_id = created["id"]
        console.print(
            f"created request {request_id}: status {created['status']}, estimated tiles {created['tileCount']}"
        )
        client.action(request_id, "analyse")
        analysed = wait_for(client, request_id, analyse_only=True)
        if analysed["status"] != "ANALYSIS_DONE":
            fail(RuntimeError(f"analysis ended {analysed['status']}: {analysed.get('error')}"))
        estimate = analysed.get("costEstimate") or {}
        console.print(
            f"analysed: {analysed['tileCount']} tiles of {analysed['tileWidthPx']} x "
            f"{analysed['tileHeightPx']} px, valueEstimate {analysed['valueEstimate']:.2f} PU "
            f"(expected charge {estimate.get('expected', 0):.2f} PU)"
        )
        client.action(request_id, "start")
        final = wait_for(client, request_id)
        report(client, final, settings, time.monotonic() - started)
        if final["status"] != "DONE":
            raise typer.Exit(1)
    finally:
        service.stop()


def report(client: EobatchClient, request: dict, settings: Settings, elapsed: float) -> None:
    tiles_ = list(client.tiles(request["id"]))
    by_zone: dict[str, int] = {}
    for tile in tiles_:
        code = tile["origin"]["crs"]["properties"]["name"].rsplit(":", 1)[-1]
        by_zone[f"EPSG:{code}"] = by_zone.get(f"EPSG:{code}", 0) + 1
    console.rule(f"request {request['id']}: {request['status']}")
    out.print(f"status: {request['status']}")
    out.print(f"tiles: {len(tiles_)} ({', '.join(f'{n} in {z}' for z, n in sorted(by_zone.items()))})")
    out.print(
        f"PU charged: {request.get('chargedPU', 0):.2f} (valueEstimate before the batch discount: "
        f"{request.get('valueEstimate') or 0:.2f})"
    )
    paths: list[str] = []
    for tile in tiles_:
        paths.extend(tile.get("outputs") or [])
    out.print(f"outputs ({len(paths)} files):")
    for path in sorted(paths):
        out.print(f"  {local_path(path, settings)}")
    out.print(f"finished in {elapsed:.1f} s")


def local_path(url: str, settings: Settings) -> str:
    if url.startswith("s3://") and not settings.s3_endpoint:
        return str((settings.buckets_dir / url.removeprefix("s3://")).resolve())
    return url


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
