"""The dashboard in a real headless Chromium (Debian's, driven by Playwright from PyPI) against a running
eobatch with its scheduler, on the real Sentinel-2 sample scenes: sign in, create a request from the form
after previewing its evalscript through the Process API, analyse and start it, watch its tiles change
colour on the map until DONE, open a tile's output preview, cancel one request and restart the failed
tile of another. Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from eobatch.client import Credentials, EobatchClient
from eobatch.service import Service, free_port
from eobatch.settings import Settings
from eobatch.store.accounts import create_account
from tests.api.test_events import REAL_COLLECTIONS, request_body

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts" / "dashboard"
CHROMIUM = "/usr/lib/chromium/chromium"  # Debian's chromium package (.ci/run installs it)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
PROCESSED_GREEN = "#1e8e3e"  # --processed in app.css
PENDING_GREY = "#8a94a6"  # --pending
PROCESSING_ORANGE = "#d97a00"  # --processing
WEST, SOUTH, EAST, NORTH = 14.5525, 45.8665, 14.5635, 45.8745  # AREA's bounds: two tiles of grid 1


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Service, str, str]]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("dashboard"),
        collections_file=REAL_COLLECTIONS,
        workers=1,
        poll_interval_s=0.05,
        events_poll_interval_s=0.1,
        max_tile_attempts=1,
    )
    service = Service(settings, port=free_port()).start_in_thread()
    with service.database.session() as session:
        _, client_id, secret = create_account(session, "dashboard-user", settings)
    try:
        yield service, client_id, secret
    finally:
        service.stop()


@pytest.fixture(scope="module")
def page(served) -> Iterator[Page]:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Ljubljana")
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


# records every fill colour a tile shape takes on the map, in order (the old value of each change, then the
# current one when the page asks), without reloading the page
WATCH_COLOURS = """() => {
  window.colourLog = [];
  const observer = new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.target.dataset.tile && m.oldValue !== m.target.getAttribute('fill')) {
        window.colourLog.push([m.target.dataset.tile, m.oldValue]);
      }
    }
  });
  observer.observe(document.querySelector('#map'), {subtree: true, attributes: true, attributeFilter: ['fill'],
                                                   attributeOldValue: true});
  Object.defineProperty(window, 'colourChanges', {get: () => {
    const current = [...document.querySelectorAll('#map path[data-tile]')]
      .map(p => [p.dataset.tile, p.getAttribute('fill')]);
    return window.colourLog.concat(current);
  }});
}"""


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def map_tiles(page: Page) -> dict[str, tuple[str, str]]:
    """{tile id: (status, fill colour)} of the tile shapes drawn on the map."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#map path[data-tile]')]
            .map(p => [p.dataset.tile, [p.dataset.status, p.getAttribute('fill')]]))"""
    )


def sign_in(page: Page, base: str, client_id: str, secret: str, *, wrong_first: bool = False) -> None:
    page.goto(base + "/#/signin")
    expect(page.get_by_role("heading", name="Sign in to eobatch")).to_be_visible()
    page.get_by_label("Client ID").fill(client_id)
    if wrong_first:
        page.get_by_label("Client secret").fill("wrong secret")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("Invalid client credentials")
    page.get_by_label("Client secret").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Batch requests")).to_be_visible()
    expect(page.locator("#account")).to_contain_text("dashboard-user")


def test_the_dashboard_end_to_end(served, page):
    service, client_id, secret = served
    base = service.url
    page.goto(base + "/")  # not signed in: the page asks for credentials
    expect(page.get_by_role("heading", name="Sign in to eobatch")).to_be_visible()
    sign_in(page, base, client_id, secret, wrong_first=True)
    shot(page, "01-requests-empty")

    # create a request from the form, the area typed as bounds
    page.get_by_role("link", name="New request").first.click()
    expect(page.get_by_role("heading", name="New batch request")).to_be_visible()
    page.get_by_label("Description").fill("browser test request")
    page.get_by_label("Collection").select_option("sentinel-2-l1c")
    page.get_by_label("From (UTC day)").fill("2015-07-01")
    page.get_by_label("To (UTC day, inclusive)").fill("2015-09-30")
    page.get_by_label("Maximum cloud cover (%)").fill("50")
    for side, value in zip(("west", "south", "east", "north"), (WEST, SOUTH, EAST, NORTH), strict=True):
        page.get_by_label(f"{side} (degrees)").fill(str(value))
    page.get_by_role("button", name="Use these bounds").click()
    expect(page.locator("#create-map path.leaflet-interactive")).to_have_count(1)
    page.get_by_role("button", name="Preview").click()  # the Process API on a window of the area
    preview_image = page.locator("#preview-image")
    expect(preview_image).to_be_visible(timeout=120_000)
    page.wait_for_function("() => document.querySelector('#preview-image').naturalWidth === 256")
    expect(page.locator("#create-map .leaflet-image-layer")).to_have_count(1)
    page.get_by_label("Grid", exact=True).select_option("1")
    page.get_by_label("Resolution").select_option("20")
    shot(page, "02-create-form")
    page.get_by_role("button", name="Create request").click()

    # the request page: analyse, then start, and watch the tiles turn from grey to green
    expect(page.get_by_role("heading", name="browser test request")).to_be_visible()
    heading = page.locator("h1 .badge")
    expect(heading).to_have_text("Created")
    expect(page.locator("button[data-action=start]")).to_be_enabled()
    expect(page.locator("button[data-action=restartpartial]")).to_be_disabled()
    page.get_by_role("button", name="Analyse", exact=True).click()
    expect(heading).to_have_text("Analysis done", timeout=120_000)
    expect(page.locator("#map path[data-tile]")).to_have_count(2)
    before = map_tiles(page)
    assert {status for status, _ in before.values()} == {"PENDING"}
    assert {fill for _, fill in before.values()} == {PENDING_GREY}
    expect(page.locator("[data-field=charged]")).to_have_text("0 PU")
    shot(page, "03-analysed")
    page.evaluate(WATCH_COLOURS)
    page.get_by_role("button", name="Start", exact=True).click()
    expect(heading).to_have_text("Done", timeout=180_000)
    after = map_tiles(page)
    changes = page.evaluate("() => window.colourChanges")
    for tile_id in before:  # each tile's colour changed live, in order, through its transitions
        fills = [fill for tile, fill in changes if tile == tile_id]
        assert fills[0] == PENDING_GREY and fills[-1] == PROCESSED_GREEN
        assert PROCESSING_ORANGE in fills and fills.index(PROCESSING_ORANGE) < len(fills) - 1
    assert set(after) == set(before)
    assert {status for status, _ in after.values()} == {"PROCESSED"}
    assert {fill for _, fill in after.values()} == {PROCESSED_GREEN}
    charged = page.locator("[data-field=charged]").inner_text()
    assert charged.endswith(" PU") and float(charged.split()[0].replace(",", "")) > 0
    expect(page.locator("button[data-action=cancel]")).to_be_disabled()
    shot(page, "04-done")

    # a tile's panel and its output preview drawn on the map from the written COG
    page.locator("[data-tile-row] button").first.click()
    panel = page.locator("#tile-panel")
    expect(panel).to_contain_text("Processed")
    expect(panel).to_contain_text("Scenes used")
    expect(panel.locator("code").first).to_contain_text(".tif")
    page.get_by_role("button", name="Show output preview").click()
    preview = page.locator(".output-preview img")
    expect(preview.first).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.output-preview img')].some(i => i.complete && i.naturalWidth === 256)"
    )
    shot(page, "05-tile-preview")

    # the list shows the request with its figures
    page.get_by_role("link", name="Requests").first.click()
    row = page.locator("tr[data-request]").first
    expect(row).to_contain_text("browser test request")
    expect(row).to_contain_text("Done")
    expect(row).to_contain_text("2 processed")
    expect(row.locator("progress")).to_have_attribute("value", "2")


def test_cancel_one_request_and_restart_the_failed_tile_of_another(served, page):
    service, client_id, secret = served
    base = service.url
    client = EobatchClient(base, Credentials(client_id, secret))
    # one request to cancel from the page
    to_cancel = client.create(request_body(None) | {"description": "to cancel"})["id"]
    # another whose first tile cannot be written (a folder where its file goes): it ends PARTIAL
    partial_body = request_body(None) | {"description": "partial request"}
    partial = client.create(partial_body)["id"]
    client.action(partial, "analyse")
    assert client.wait_events(partial, until=("ANALYSIS_DONE",))["status"] == "ANALYSIS_DONE"
    first = next(iter(client.tiles(partial)))
    blocker = service.settings.buckets_dir / "results" / partial / first["name"] / "default.tif"
    blocker.mkdir(parents=True)
    client.action(partial, "start")
    assert client.wait_events(partial)["status"] == "PARTIAL"

    sign_in(page, base, client_id, secret)
    page.goto(f"{base}/#/requests/{to_cancel}")
    heading = page.locator("h1 .badge")
    expect(heading).to_have_text("Created")
    page.get_by_role("button", name="Cancel", exact=True).focus()
    page.keyboard.press("Enter")  # actions are reachable from the keyboard
    expect(heading).to_have_text("Canceled")
    expect(page.locator("button[data-action=analyse]")).to_be_disabled()
    shot(page, "06-canceled")

    page.goto(f"{base}/#/requests/{partial}")
    expect(heading).to_have_text("Partial")
    failed = page.locator(f"#map path[data-tile='{first['id']}']")
    expect(failed).to_have_attribute("data-status", "FAILED")
    page.locator(f"[data-tile-row='{first['id']}'] button").click()
    expect(page.locator("#tile-panel .error")).not_to_have_text("none")
    shot(page, "07-partial")
    blocker.rmdir()
    page.get_by_role("button", name="Restart failed tiles").click()
    expect(heading).to_have_text("Done", timeout=180_000)
    expect(failed).to_have_attribute("data-status", "PROCESSED")
    assert {status for status, _ in map_tiles(page).values()} == {"PROCESSED"}
    shot(page, "08-restarted")
    client.close()
