/* eobatch dashboard: sign in, requests, a request's tiles on a map (live), create with a preview.
   Plain browser JavaScript; Leaflet is served by eobatch from its npm install (no CDN). */
"use strict";

const TOKEN_KEY = "eobatch.token";
const main = document.getElementById("main");
const STATUS_TEXT = {
  PENDING: "Pending", SCHEDULED: "Scheduled", QUEUED: "Queued", PROCESSING: "Processing",
  PROCESSED: "Processed", FAILED: "Failed", CANCELED: "Canceled", CREATED: "Created",
  ANALYSING: "Analysing", ANALYSIS_DONE: "Analysis done", DONE: "Done", PARTIAL: "Partial", STOPPED: "Stopped",
};
const TILE_STATUSES = ["PENDING", "SCHEDULED", "QUEUED", "PROCESSING", "PROCESSED", "FAILED"];
const ACTION_TEXT = { analyse: "Analyse", start: "Start", cancel: "Cancel", restartpartial: "Restart failed tiles" };
const DEFAULT_EVALSCRIPT = `//VERSION=3
function setup() {
  return {
    input: ["B02", "B03", "B04", "dataMask"],
    output: { bands: 4, sampleType: "UINT8" }
  };
}
function evaluatePixel(s) {
  return [2.5 * 255 * s.B04, 2.5 * 255 * s.B03, 2.5 * 255 * s.B02, 255 * s.dataMask];
}`;
let config = { basemap: null };
let leave = () => {};  // what the current page must stop (event streams, timers) when we navigate away

// ------------------------------------------------------------------ helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
function statusColor(status) {
  const name = { QUEUED: "scheduled", CANCELLED: "canceled" }[status] || status.toLowerCase().replace("_", "-");
  return css(`--${name}`) || "#999";
}
function badge(status) {
  return el("span", { class: `badge s-${status}`, "data-status": status }, STATUS_TEXT[status] || status);
}
function pu(value) {
  if (value === null || value === undefined) return "–";
  return `${(Number(value) || 0).toLocaleString(undefined, { maximumFractionDigits: 2 })} PU`;
}
function seconds(value) {
  return value === null || value === undefined ? "–" : `${Number(value).toLocaleString(undefined, { maximumFractionDigits: 1 })} s`;
}
function bytes(value) {
  if (!value) return "–";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0, v = value;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i += 1; }
  return `${v.toLocaleString(undefined, { maximumFractionDigits: 1 })} ${units[i]}`;
}
const dateFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
});
function when(iso) {
  if (!iso) return "–";
  return el("time", { datetime: iso, title: iso }, dateFormat.format(new Date(iso)));
}
function age(iso) {
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}
function toast(message, bad = false) {
  const note = el("div", { class: bad ? "bad" : "" }, message);
  document.getElementById("toast").append(note);
  setTimeout(() => note.remove(), bad ? 9000 : 4000);
}

// ------------------------------------------------------------------ API

function token() {
  const saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
  return saved && saved.expires > Date.now() ? saved.token : null;
}
function authHeaders() { return { Authorization: `Bearer ${token()}` }; }

class ApiError extends Error {
  constructor(status, body) {
    const message = (body && body.error && body.error.message) || `HTTP ${status}`;
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = { ...authHeaders(), ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) { signOut(); throw new ApiError(401, null); }
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.blob();
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}
function postJson(path, body) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

/* Server-sent events read with fetch (EventSource cannot send the Authorization header). */
async function followEvents(requestId, after, onEvent, signal) {
  const query = after === null ? "" : `?after=${after}`;
  const response = await fetch(`/api/v1/batch/process/${requestId}/events${query}`, { headers: authHeaders(), signal });
  if (!response.ok) throw new ApiError(response.status, null);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let kind = "message", data = null;
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) kind = line.slice(6).trim();
        else if (line.startsWith("data:")) data = JSON.parse(line.slice(5));
      }
      if (data) onEvent(kind, data);
    }
  }
}

// ------------------------------------------------------------------ sign in

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.hash = "#/signin";
}

function signInPage() {
  const error = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "card signin", "aria-labelledby": "signin-title" },
    el("h1", { id: "signin-title" }, "Sign in to eobatch"),
    el("p", { class: "hint" }, "Use the client credentials of your account (eobatch accounts create NAME)."),
    el("label", { for: "client-id" }, "Client ID"),
    el("input", { id: "client-id", name: "client_id", autocomplete: "username", required: true }),
    el("label", { for: "client-secret" }, "Client secret"),
    el("input", { id: "client-secret", name: "client_secret", type: "password", autocomplete: "current-password", required: true }),
    el("p", {}, el("button", { type: "submit" }, "Sign in")),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: form.client_id.value.trim(),
      client_secret: form.client_secret.value,
    });
    const response = await fetch("/oauth/token", { method: "POST", body });
    const answer = await response.json();
    if (!response.ok) {
      error.textContent = (answer.error && answer.error.message) || answer.error_description || "Sign-in failed";
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify({
      token: answer.access_token, expires: Date.now() + (answer.expires_in - 30) * 1000,
    }));
    location.hash = "#/requests";
  });
  main.replaceChildren(form);
  form.client_id.focus();
}

// ------------------------------------------------------------------ request list

function tileSummary(counts) {
  const parts = TILE_STATUSES.filter((s) => counts[s]).map((s) => `${counts[s]} ${STATUS_TEXT[s].toLowerCase()}`);
  return parts.length ? parts.join(" · ") : "no tiles yet";
}
function progressOf(summary) {
  const counts = summary.tiles || {};
  const finished = (counts.PROCESSED || 0) + (counts.FAILED || 0);
  const total = summary.tileCount || 0;
  return { finished, total };
}

async function requestsPage() {
  const title = el("h1", {}, "Batch requests");
  const body = el("tbody");
  const account = el("p", { class: "hint" });
  const table = el("table", { "aria-describedby": "requests-caption" },
    el("caption", { id: "requests-caption", class: "hint", style: "text-align:left" }, "Newest first; refreshed every 5 s."),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, "Request"), el("th", { scope: "col" }, "Status"),
      el("th", { scope: "col" }, "Progress"), el("th", { scope: "col" }, "Tiles by status"),
      el("th", { scope: "col", class: "num" }, "Estimated"), el("th", { scope: "col", class: "num" }, "Reserved"),
      el("th", { scope: "col", class: "num" }, "Charged"), el("th", { scope: "col" }, "Age"))),
    body);
  main.replaceChildren(title, account, el("p", {}, el("a", { class: "button", href: "#/create" }, "New request")), table);
  async function refresh() {
    const data = await api("/api/v1/dashboard/requests");
    const a = data.account;
    document.getElementById("account").textContent = `${a.name}: ${pu(a.availablePU)} available`;
    account.textContent = `Account ${a.name}: ${pu(a.availablePU)} available, ${pu(a.reservedPU)} reserved, ${pu(a.spentPU)} spent.`;
    body.replaceChildren(...(data.requests.length ? data.requests.map((r) => {
      const { finished, total } = progressOf(r);
      return el("tr", { "data-request": r.id },
        el("td", {}, el("a", { href: `#/requests/${r.id}` }, r.description || r.id),
          el("div", { class: "hint" }, el("code", {}, r.id))),
        el("td", {}, badge(r.status)),
        el("td", {}, el("progress", { max: total || 1, value: finished, "aria-label": `${finished} of ${total} tiles finished` }),
          ` ${finished} / ${total}`),
        el("td", {}, tileSummary(r.tiles)),
        el("td", { class: "num" }, pu(r.valueEstimate)),
        el("td", { class: "num" }, pu(r.reservedPU)),
        el("td", { class: "num" }, pu(r.chargedPU)),
        el("td", {}, el("span", { title: new Date(r.created).toString() }, age(r.created))));
    }) : [el("tr", {}, el("td", { colspan: 8 }, "No requests yet."))]));
  }
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 5000);
  leave = () => clearInterval(timer);
}

// ------------------------------------------------------------------ maps

function makeMap(node) {
  const map = L.map(node, { zoomControl: true, attributionControl: true });
  if (config.basemap) L.tileLayer(config.basemap.url, { attribution: config.basemap.attribution, maxZoom: 19 }).addTo(map);
  map.setView([20, 0], 2);
  return map;
}

/* Map tiles fetched with the account's token (an <img src> could not send it). */
const AuthorisedTiles = L.TileLayer.extend({
  createTile(coords, done) {
    const img = document.createElement("img");
    img.alt = "";
    fetch(this.getTileUrl(coords), { headers: authHeaders() })
      .then((r) => (r.ok ? r.blob() : null))
      .then((blob) => {
        if (!blob) { done(null, img); return; }
        img.onload = () => { URL.revokeObjectURL(img.src); done(null, img); };
        img.src = URL.createObjectURL(blob);
      })
      .catch((error) => done(error, img));
    return img;
  },
});

// ------------------------------------------------------------------ request page

async function requestPage(requestId) {
  const data = await api(`/api/v1/dashboard/requests/${requestId}`);
  let summary = data.request;
  const tiles = new Map(data.tiles.map((t) => [t.id, t]));
  const heading = el("h1", {});
  const statusLine = el("p", {});
  const actions = el("div", { class: "actions", role: "group", "aria-label": "Request actions" });
  const cost = el("dl", { class: "facts" });
  const tilePanel = el("div", { class: "card", id: "tile-panel" }, el("h2", {}, "Tile"), el("p", { class: "hint" }, "Select a tile on the map or in the list."));
  const tileRows = el("tbody");
  const legend = el("div", { class: "legend", "aria-label": "Tile status colours" },
    ...TILE_STATUSES.filter((s) => s !== "QUEUED").map((s) => badge(s)));
  const mapNode = el("div", { class: "map", id: "map", role: "region", "aria-label": "Map of the request's tiles" });
  main.replaceChildren(
    el("p", {}, el("a", { href: "#/requests" }, "← All requests")),
    heading, statusLine, actions,
    el("div", { class: "layout" },
      el("div", {}, mapNode, legend,
        el("div", { class: "card" }, el("h2", {}, "Tiles"),
          el("div", { class: "tiles-table" }, el("table", {},
            el("thead", {}, el("tr", {}, el("th", {}, "Tile"), el("th", {}, "Status"), el("th", { class: "num" }, "Attempts"),
              el("th", { class: "num" }, "Duration"))), tileRows)))),
      el("div", {}, el("div", { class: "card" }, el("h2", {}, "Cost"), cost), tilePanel,
        el("div", { class: "card" }, el("h2", {}, "Evalscript"), el("pre", { class: "hint", style: "white-space:pre-wrap" }, data.evalscript || "")))));
  const map = makeMap(mapNode);
  const layers = new Map();
  let preview = null;
  let selected = null;
  let fitted = false;
  let areaBounds = null;
  if (data.area) {
    const area = L.geoJSON(data.area, { style: { color: "#14213d", weight: 2, dashArray: "6 4", fill: false } }).addTo(map);
    areaBounds = area.getBounds();
    map.fitBounds(areaBounds, { padding: [20, 20] });
  }

  function styleFor(tile) {
    const chosen = selected === tile.id;
    return { color: chosen ? "#000" : statusColor(tile.status), weight: chosen ? 3 : 1.5, fillColor: statusColor(tile.status), fillOpacity: preview ? 0.05 : 0.45 };
  }
  function drawTile(tile) {
    let layer = layers.get(tile.id);
    if (!layer) {
      layer = L.geoJSON(tile.geometry, { style: () => styleFor(tile) }).addTo(map);
      layer.on("click", () => selectTile(tile.id));
      layers.set(tile.id, layer);
    }
    layer.setStyle(styleFor(tiles.get(tile.id)));
    layer.unbindTooltip().bindTooltip(`${tile.name}: ${STATUS_TEXT[tile.status] || tile.status}`);
    layer.eachLayer((l) => { if (l.getElement && l.getElement()) { l.getElement().setAttribute("data-tile", tile.id); l.getElement().setAttribute("data-status", tile.status); } });
  }
  function tileRow(tile) {
    return el("tr", { "data-tile-row": tile.id },
      el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => selectTile(tile.id) }, tile.name)),
      el("td", {}, badge(tile.status)),
      el("td", { class: "num" }, tile.attempts),
      el("td", { class: "num" }, seconds(tile.durationS)));
  }
  function renderTiles() {
    for (const tile of tiles.values()) drawTile(tile);
    tileRows.replaceChildren(...[...tiles.values()].map(tileRow));
    if (layers.size && !fitted) {
      fitted = true;
      map.fitBounds(L.featureGroup([...layers.values()]).getBounds(), { padding: [20, 20] });
    }
  }
  function renderSummary() {
    heading.replaceChildren(summary.description || "Batch request", " ", badge(summary.status));
    const counts = {};
    for (const t of tiles.values()) counts[t.status] = (counts[t.status] || 0) + 1;
    const finished = (counts.PROCESSED || 0) + (counts.FAILED || 0);
    statusLine.replaceChildren(el("code", {}, summary.id), ` · created `, when(summary.created),
      ` · ${finished} of ${summary.tileCount || tiles.size} tiles finished (${tileSummary(counts)})`,
      ...(summary.error ? [el("div", { class: "error" }, summary.error)] : []));
    actions.replaceChildren(...Object.entries(ACTION_TEXT).map(([name, text]) => {
      const allowed = summary.actions.includes(name);
      return el("button", {
        type: "button", "data-action": name, disabled: !allowed,
        title: allowed ? `${text} this request` : `${text} is not possible while the request is ${STATUS_TEXT[summary.status]}`,
        class: name === "cancel" ? "secondary" : "", onclick: () => act(name),
      }, text);
    }));
    const est = summary.costEstimate || {};
    cost.replaceChildren(
      el("dt", {}, "Estimated"), el("dd", {}, pu(summary.valueEstimate), est.high ? ` (charged at most ${pu(est.high)})` : ""),
      el("dt", {}, "Reserved"), el("dd", { "data-field": "reserved" }, pu(summary.reservedPU)),
      el("dt", {}, "Charged"), el("dd", { "data-field": "charged" }, pu(summary.chargedPU)),
      el("dt", {}, "Tiles"), el("dd", {}, `${summary.tileCount} on grid ${summary.gridId} at ${summary.resolution} ${summary.gridId === 3 ? "°" : "m"}`));
  }
  function selectTile(tileId) {
    selected = tileId;
    const tile = tiles.get(tileId);
    for (const t of tiles.values()) drawTile(t);
    const outputs = tile.outputs.length ? el("ul", {}, tile.outputs.map((o) => el("li", {}, el("code", {}, o)))) : "none yet";
    const canPreview = tile.outputs.some((o) => /\.tiff?$/i.test(o));
    tilePanel.replaceChildren(el("h2", {}, `Tile ${tile.name}`),
      el("dl", { class: "facts" },
        el("dt", {}, "Status"), el("dd", {}, badge(tile.status)),
        el("dt", {}, "Attempts"), el("dd", {}, tile.attempts),
        el("dt", {}, "Duration"), el("dd", {}, seconds(tile.durationS)),
        el("dt", {}, "Scenes used"), el("dd", {}, tile.sceneCount ?? "–"),
        el("dt", {}, "Size"), el("dd", {}, `${tile.widthPx} × ${tile.heightPx} px, EPSG:${tile.epsg}`),
        el("dt", {}, "Written"), el("dd", {}, bytes(tile.bytesWritten)),
        el("dt", {}, "Charged"), el("dd", {}, pu(tile.chargedPU)),
        el("dt", {}, "Error"), el("dd", { class: tile.error ? "error" : "" }, tile.error || "none"),
        el("dt", {}, "Outputs"), el("dd", {}, outputs)),
      el("div", { class: "actions" },
        el("button", { type: "button", id: "show-preview", disabled: !canPreview, onclick: () => showPreview(tile) }, "Show output preview"),
        preview ? el("button", { type: "button", class: "secondary", onclick: hidePreview }, "Hide preview") : null));
  }
  function showPreview(tile) {
    hidePreview();
    const bounds = L.geoJSON(tile.geometry).getBounds();
    preview = new AuthorisedTiles(`/api/v1/dashboard/requests/${summary.id}/tiles/${tile.id}/preview/{z}/{x}/{y}.png`, { bounds, maxZoom: 22, className: "output-preview" });
    preview.addTo(map);
    const focus = areaBounds && areaBounds.intersects(bounds)
      ? L.latLngBounds(
        [Math.max(bounds.getSouth(), areaBounds.getSouth()), Math.max(bounds.getWest(), areaBounds.getWest())],
        [Math.min(bounds.getNorth(), areaBounds.getNorth()), Math.min(bounds.getEast(), areaBounds.getEast())])
      : bounds;
    map.fitBounds(focus, { padding: [20, 20] });
    for (const t of tiles.values()) drawTile(t);
    selectTile(tile.id);
  }
  function hidePreview() {
    if (preview) { map.removeLayer(preview); preview = null; }
    for (const t of tiles.values()) drawTile(t);
  }

  async function reload() {
    const fresh = await api(`/api/v1/dashboard/requests/${summary.id}`);
    summary = fresh.request;
    for (const t of fresh.tiles) tiles.set(t.id, { ...(tiles.get(t.id) || {}), ...t });
    renderTiles();
    renderSummary();
    if (selected !== null && tiles.has(selected)) selectTile(selected);
  }
  let lastEvent = null;
  let stream = null;
  function follow() {
    if (stream) stream.abort();
    stream = new AbortController();
    const mine = stream;
    followEvents(summary.id, lastEvent, onEvent, stream.signal).catch(() => {}).finally(() => {
      if (mine === stream && !mine.signal.aborted) setTimeout(() => { if (mine === stream) reloadAndFollow(); }, 3000);
    });
  }
  function reloadAndFollow() { reload().then(follow).catch(() => {}); }
  function onEvent(kind, event) {
    if (kind === "snapshot") lastEvent = event.eventId;
    else if (event.id) lastEvent = event.id;
    if (kind === "tile") {
      const tile = tiles.get(event.tileId);
      if (tile) {
        Object.assign(tile, { status: event.status, attempts: event.attempts, error: event.error || null });
        drawTile(tile);
        const row = tileRows.querySelector(`[data-tile-row="${event.tileId}"]`);
        if (row) row.replaceWith(tileRow(tile));
        renderSummary();
        if (selected === tile.id) selectTile(tile.id);
      }
    } else if (kind === "pu") {
      Object.assign(summary, { chargedPU: event.chargedPU, reservedPU: event.reservedPU });
      renderSummary();
    } else if (kind === "status") {
      reload().catch(() => {});
    } else if (kind === "end") {
      stream = null;
      reload().catch(() => {});
    }
  }
  async function act(name) {
    try {
      await api(`/api/v1/batch/process/${summary.id}/${name}`, { method: "POST" });
      toast(`${ACTION_TEXT[name]}: accepted`);
    } catch (error) {
      toast(`${ACTION_TEXT[name]} failed: ${error.message}`, true);
    }
    await reload();
    follow();
  }
  renderTiles();
  renderSummary();
  follow();
  leave = () => { if (stream) stream.abort(); stream = null; map.remove(); };
}

// ------------------------------------------------------------------ create page

function bboxOf(geometry) {
  const layer = L.geoJSON(geometry);
  const b = layer.getBounds();
  return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
}

async function createPage() {
  const [collections, grids] = await Promise.all([
    api("/api/v1/catalog/1.0.0/collections").then((c) => c.collections),
    api("/api/v1/batch/tilinggrids").then((g) => g.data),
  ]);
  let area = null;
  const error = el("p", { class: "error", role: "alert" });
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 30 * 86400000);
  const form = el("form", { "aria-labelledby": "create-title" });
  const mapNode = el("div", { class: "map", id: "create-map", role: "region", "aria-label": "Area of interest map; drag with the rectangle tool to draw" });
  const previewBox = el("div", { id: "preview-box" }, el("p", { class: "hint" }, "No preview yet."));
  const gridSelect = el("select", { id: "grid", name: "grid" }, grids.map((g) => el("option", { value: g.id }, `${g.id}: ${g.name}`)));
  const resolutionSelect = el("select", { id: "resolution", name: "resolution" });
  function fillResolutions() {
    const grid = grids.find((g) => String(g.id) === gridSelect.value);
    const unit = grid.properties.unit === "DEGREE" ? "°" : "m";
    resolutionSelect.replaceChildren(...grid.properties.resolutions.map((r) => el("option", { value: r }, `${r} ${unit}`)));
  }
  gridSelect.addEventListener("change", fillResolutions);
  const bboxInputs = ["west", "south", "east", "north"].map((side) =>
    el("input", { id: `bbox-${side}`, name: side, type: "number", step: "any", "aria-label": `${side} (degrees)`, placeholder: side }));
  const drawButton = el("button", { type: "button", class: "secondary", id: "draw" }, "Draw a rectangle on the map");
  form.append(
    el("h1", { id: "create-title" }, "New batch request"),
    el("div", { class: "layout" },
      el("div", {},
        el("div", { class: "card" },
          el("label", { for: "description" }, "Description"),
          el("input", { id: "description", name: "description", style: "width:100%", value: "dashboard request" }),
          el("div", { class: "grid2" },
            el("div", {}, el("label", { for: "collection" }, "Collection"),
              el("select", { id: "collection", name: "collection" }, collections.map((c) => el("option", { value: c.id }, c.title || c.id)))),
            el("div", {}, el("label", { for: "maxcc" }, "Maximum cloud cover (%)"),
              el("input", { id: "maxcc", name: "maxcc", type: "number", min: 0, max: 100, value: 100 }))),
          el("div", { class: "grid2" },
            el("div", {}, el("label", { for: "from" }, "From (UTC day)"), el("input", { id: "from", name: "from", type: "date", value: monthAgo.toISOString().slice(0, 10) })),
            el("div", {}, el("label", { for: "to" }, "To (UTC day, inclusive)"), el("input", { id: "to", name: "to", type: "date", value: today.toISOString().slice(0, 10) }))),
          el("label", { for: "evalscript" }, "Evalscript"),
          el("textarea", { id: "evalscript", name: "evalscript", class: "code", spellcheck: "false" }, DEFAULT_EVALSCRIPT)),
        el("div", { class: "card" },
          el("h2", {}, "Area"),
          el("p", { class: "hint" }, "Draw a rectangle, type its bounds in degrees (WGS84), or upload a GeoJSON file."),
          mapNode,
          el("div", { class: "actions" }, drawButton),
          el("label", { for: "geojson" }, "Upload a GeoJSON file (Polygon or MultiPolygon, WGS84)"),
          el("input", { id: "geojson", type: "file", accept: ".geojson,.json,application/geo+json,application/json" }),
          el("p", { class: "hint" }, "Or bounds: west, south, east, north (degrees):"),
          el("div", { class: "grid4" }, bboxInputs),
          el("p", {}, el("button", { type: "button", class: "secondary", id: "use-bbox" }, "Use these bounds")))),
      el("div", {},
        el("div", { class: "card" },
          el("h2", {}, "Tiling grid"),
          el("label", { for: "grid" }, "Grid"), gridSelect,
          el("label", { for: "resolution" }, "Resolution"), resolutionSelect,
          el("label", { for: "path" }, "Output path"),
          el("input", { id: "path", name: "path", style: "width:100%", value: "s3://results/<requestId>/<tileName>/<outputId>.<format>" })),
        el("div", { class: "card" },
          el("h2", {}, "Preview"),
          el("p", { class: "hint" }, "Runs the evalscript through the Process API on a small window at the centre of the area (charged in PU)."),
          el("button", { type: "button", class: "secondary", id: "preview" }, "Preview"),
          previewBox),
        el("div", { class: "card" },
          el("button", { type: "submit", id: "submit" }, "Create request"), error))));
  main.replaceChildren(form);
  fillResolutions();
  gridSelect.value = String(grids.find((g) => g.id === 1) ? 1 : grids[0].id);
  fillResolutions();
  const map = makeMap(mapNode);
  let areaLayer = null;
  let previewLayer = null;
  function setArea(geometry) {
    area = geometry;
    if (areaLayer) map.removeLayer(areaLayer);
    areaLayer = L.geoJSON(geometry, { style: { color: "#1f5fbf", weight: 2 } }).addTo(map);
    map.fitBounds(areaLayer.getBounds(), { padding: [20, 20] });
    bboxOf(geometry).forEach((v, i) => { bboxInputs[i].value = v.toFixed(5); });
  }
  document.getElementById("use-bbox").addEventListener("click", () => {
    const [w, s, e, n] = bboxInputs.map((i) => Number(i.value));
    if (!(w < e && s < n)) { toast("Bounds need west < east and south < north", true); return; }
    setArea({ type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] });
  });
  document.getElementById("geojson").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    try {
      const parsed = JSON.parse(await file.text());
      const geometry = parsed.type === "FeatureCollection" ? parsed.features[0].geometry : parsed.type === "Feature" ? parsed.geometry : parsed;
      if (!["Polygon", "MultiPolygon"].includes(geometry.type)) throw new Error("a Polygon or MultiPolygon is needed");
      setArea(geometry);
    } catch (e) { toast(`GeoJSON not usable: ${e.message}`, true); }
  });
  drawButton.addEventListener("click", () => {
    map.dragging.disable();
    mapNode.style.cursor = "crosshair";
    toast("Press and drag on the map to draw the area");
    let start = null, rectangle = null;
    const down = (e) => { start = e.latlng; rectangle = L.rectangle([start, start], { color: "#1f5fbf" }).addTo(map); };
    const move = (e) => { if (start) rectangle.setBounds(L.latLngBounds(start, e.latlng)); };
    const up = (e) => {
      map.off("mousedown", down).off("mousemove", move).off("mouseup", up);
      map.dragging.enable();
      mapNode.style.cursor = "";
      if (!start) return;
      const b = L.latLngBounds(start, e.latlng);
      map.removeLayer(rectangle);
      setArea({ type: "Polygon", coordinates: [[[b.getWest(), b.getSouth()], [b.getEast(), b.getSouth()], [b.getEast(), b.getNorth()], [b.getWest(), b.getNorth()], [b.getWest(), b.getSouth()]]] });
    };
    map.on("mousedown", down).on("mousemove", move).on("mouseup", up);
  });

  function dataInput() {
    return [{
      type: form.collection.value,
      dataFilter: {
        timeRange: { from: `${form.from.value}T00:00:00Z`, to: `${form.to.value}T23:59:59Z` },
        maxCloudCoverage: Number(form.maxcc.value),
      },
    }];
  }
  document.getElementById("preview").addEventListener("click", async () => {
    if (!area) { toast("Choose an area first", true); return; }
    const [w, s, e, n] = bboxOf(area);
    const cx = (w + e) / 2, cy = (s + n) / 2;
    const half = Math.min((e - w) / 2, (n - s) / 2, 0.02);
    const window = [cx - half, cy - half, cx + half, cy + half];
    previewBox.replaceChildren(el("p", { class: "hint" }, "Rendering…"));
    try {
      const image = await api("/api/v1/process", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "image/png" },
        body: JSON.stringify({
          input: { bounds: { bbox: window, properties: { crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84" } }, data: dataInput() },
          output: { width: 256, height: 256, responses: [{ identifier: "default", format: { type: "image/png" } }] },
          evalscript: form.evalscript.value,
        }),
      });
      const url = URL.createObjectURL(image);
      previewBox.replaceChildren(el("img", { src: url, id: "preview-image", class: "preview-img", alt: "Process API preview of the evalscript on the centre of the area", width: 256, height: 256 }),
        el("p", { class: "hint" }, `Window ${window.map((v) => v.toFixed(4)).join(", ")} (degrees), 256 × 256 px.`));
      if (previewLayer) map.removeLayer(previewLayer);
      previewLayer = L.imageOverlay(url, [[window[1], window[0]], [window[3], window[2]]]).addTo(map);
    } catch (error) {
      previewBox.replaceChildren(el("p", { class: "error", role: "alert" }, `Preview failed: ${error.message}`));
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!area) { error.textContent = "Choose an area: draw it, type its bounds or upload a GeoJSON file."; return; }
    const body = {
      processRequest: {
        input: { bounds: { geometry: area, properties: { crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84" } }, data: dataInput() },
        output: { responses: [{ identifier: "default", format: { type: "image/tiff" } }] },
        evalscript: form.evalscript.value,
      },
      tilingGrid: { id: Number(gridSelect.value), resolution: Number(resolutionSelect.value) },
      output: { defaultTilePath: form.path.value },
      description: form.description.value,
    };
    try {
      const created = await postJson("/api/v1/batch/process", body);
      toast(`Request ${created.id} created`);
      location.hash = `#/requests/${created.id}`;
    } catch (e) { error.textContent = e.message; }
  });
  leave = () => map.remove();
}

// ------------------------------------------------------------------ router

async function route() {
  leave();
  leave = () => {};
  const hash = location.hash || "#/requests";
  const signedIn = Boolean(token());
  document.getElementById("nav").hidden = !signedIn;
  if (!signedIn && hash !== "#/signin") { location.hash = "#/signin"; return; }
  try {
    if (hash === "#/signin") signInPage();
    else if (hash === "#/create") await createPage();
    else if (hash.startsWith("#/requests/")) await requestPage(decodeURIComponent(hash.slice(11)));
    else await requestsPage();
  } catch (error) {
    if (error.status !== 401) main.replaceChildren(el("p", { class: "error", role: "alert" }, error.message));
  }
  main.focus({ preventScroll: true });
}

document.getElementById("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
fetch("/api/v1/dashboard/config").then((r) => r.json()).then((c) => { config = c; }).catch(() => {}).finally(route);
