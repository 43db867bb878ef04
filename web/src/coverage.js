// The coordinator's map: hexagons coloured by unmet hours (the gap), unfilled needs, service
// areas, metrics, a legend and a list of the cells by gap (the map's text alternative), and the
// cell panel (cells.js). Every figure comes from the API with the coordinator's bearer token;
// the page holds none.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("config").textContent);
  const $ = (id) => document.getElementById(id);
  const map = L.map("map", { center: config.centre, zoom: config.zoom });
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { maxZoom: 19, attribution: config.tile_attribution }).addTo(map);
  } else {
    map.attributionControl.addAttribution("no base map set (CODELIVER_MAP_TILE_URL)");
  }
  L.control.scale({ imperial: false }).addTo(map);

  // Unmet hours, viridis (colour-blind safe, sequential; darker is a larger gap), and three
  // kinds of cell told apart by pattern as well as colour. The words are the legend's.
  const GAP_STEPS = [
    [16, "#440154", "short by 16 h or more"],
    [8, "#3b528b", "short by 8 to 16 h"],
    [4, "#21918c", "short by 4 to 8 h"],
    [2, "#5ec962", "short by 2 to 4 h"],
    [0, "#fde725", "short by under 2 h"],
  ];
  const KINDS = {
    "no-gap": "needs here, no gap: enough volunteers' time could go to them",
    suppressed: `hidden: fewer than ${config.k_min} clients (hatched)`,
    "no-data": "no unfilled needs this week (outline only)",
  };
  const kindOf = (p) => {
    if (p.suppressed) return "suppressed";
    if (!p.needs) return "no-data";
    return p.gap_hours > 0 ? "gap" : "no-gap";
  };
  const fillOf = (p) => GAP_STEPS.find(([floor]) => p.gap_hours >= floor)[1];
  const gapWords = (p) => {
    const kind = kindOf(p);
    if (kind === "gap") return `short by ${p.gap_hours} h`;
    if (kind === "suppressed") return `hidden (fewer than ${config.k_min} clients)`;
    return kind === "no-gap" ? "no gap" : "no unfilled needs";
  };
  const describe = (p) => {
    const reach = `${p.volunteers} volunteers in reach (${p.on_duty} on duty)`;
    if (p.suppressed) return `${reach}; figures hidden: fewer than ${config.k_min} clients`;
    if (!p.needs) return `No unfilled needs this week; ${reach}`;
    return `${p.needs} needs, ${p.open_slots} open slots: ${p.demand_hours} h wanted; ` +
      `${p.supply_hours} h of volunteers' time could go to them; unmet ${p.gap_hours} h. ${reach}`;
  };
  function legend() {
    const swatch = (cls, fill) => {
      const s = document.createElement("span");
      s.className = `swatch ${cls}`;
      s.setAttribute("aria-hidden", "true");
      if (fill) s.style.background = fill;
      return s;
    };
    const items = [
      ...GAP_STEPS.map(([, fill, text]) => [swatch("gap", fill), text]),
      ...Object.entries(KINDS).map(([kind, text]) => [swatch(kind), text]),
    ];
    $("legend-items").replaceChildren(...items.map(([s, text]) => {
      const li = document.createElement("li");
      li.append(s, text);
      return li;
    }));
  }
  legend();

  const centreOf = (f) => {
    const ring = f.geometry.coordinates[0].slice(0, -1);
    const sum = ring.reduce(([x, y], [lon, lat]) => [x + lon, y + lat], [0, 0]);
    return `${(sum[1] / ring.length).toFixed(3)}, ${(sum[0] / ring.length).toFixed(3)}`;
  };
  const hexes = L.geoJSON(null, {
    style: (f) => {
      const p = f.properties;
      const kind = kindOf(p);
      return {
        className: `hex hex-${kind}` + (p.needs || p.suppressed ? " hex-demand" : ""),
        color: kind === "no-data" ? "#8a8a8a" : "#1a1a1a",
        weight: kind === "no-data" ? 0.5 : 1.2,
        fillColor: kind === "gap" ? fillOf(p) : "#ffffff",
        fillOpacity: kind === "no-data" ? 0 : 0.7,
      };
    },
    onEachFeature: (f, layer) => {
      layer.bindTooltip(describe(f.properties));
      if (f.properties.needs || f.properties.suppressed) {
        layer.on("click", () => openCell(f.properties.cell, centreOf(f), null));
      }
    },
  }).addTo(map);
  const needs = L.geoJSON(null, {
    pointToLayer: (f, latlng) => L.circleMarker(latlng, {
      className: "need", radius: 4 + Math.min(10, f.properties.needs), color: "#222", weight: 1,
      fillColor: "#f4a582", fillOpacity: 0.9, interactive: false,
    }),
  }).addTo(map);
  const areas = L.geoJSON(null, {
    style: () => ({ className: "area", color: "#2166ac", weight: 2, fill: false, dashArray: "4" }),
    onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name),
  }).addTo(map);
  L.control.layers(null, { "Coverage": hexes, "Unfilled needs": needs, "Service areas": areas })
    .addTo(map);

  // The bearer token: a hosted sign-in's provider (called before every request, so an
  // expiring ID token is refreshed first), else the development token box.
  let tokenSource = null;
  const pasted = () => ($("token") ? $("token").value.trim() : "");
  const signedIn = () => Boolean(tokenSource || pasted());
  // Bumped on sign-out: answers to requests made before it are dropped, never drawn.
  let session = 0;
  class SignedOut extends Error { constructor() { super("signed out"); this.name = "SignedOut"; } }
  class Refused extends Error {
    constructor(status, problem) {
      super(problem.detail || `${status}`);
      this.status = status;
      this.problem = problem;
    }
  }
  async function api(path, options) {
    const { params, method, body } = options || {};
    const started = session;
    const query = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v));
    const token = tokenSource ? await tokenSource() : pasted();
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(query.size ? `${path}?${query}` : path, {
      method: method || "GET", headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (started !== session) throw new SignedOut();
    if (!response.ok) throw new Refused(response.status, answer);
    return answer;
  }
  const get = (path, params) => api(path, { params });
  const announce = (text) => {
    $("announce").textContent = "";
    setTimeout(() => { $("announce").textContent = text; }, 50);
  };
  const isoDay = (value) => (value ? new Date(value + "T00:00:00Z").toISOString() : "");
  const bbox = () => {
    const b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
  };
  function filters() {
    return { programme: $("programme").value, at: isoDay($("at").value) };
  }

  const panel = window.CodeliverCells({
    api, filters, $, announce, afterAction: () => loadLayers(),
  });
  function openCell(cell, label, trigger) {
    panel.show(cell, label, trigger).catch((error) => {
      if (error instanceof SignedOut) return;
      $("status").textContent = panel.problemWords(error);
      announce($("status").textContent);
    });
  }

  async function loadProgrammes() {
    const page = await get("/v1/programmes", { limit: 200 });
    const select = $("programme");
    select.length = 1;
    for (const p of page.items) select.add(new Option(p.name, p.id));
  }
  async function loadAreas() {
    const page = await get("/v1/service-areas", { limit: 200 });
    areas.clearLayers();
    areas.addData({
      type: "FeatureCollection",
      features: page.items.map((a) => ({ type: "Feature", geometry: a.boundary, properties: a })),
    });
  }
  // The text alternative: every cell with needs (or hidden ones), largest gap first.
  function listCells(features) {
    const rank = (p) => (p.suppressed ? -1 : p.gap_hours);
    const listed = features.filter((f) => f.properties.needs || f.properties.suppressed)
      .sort((a, b) => rank(b.properties) - rank(a.properties));
    const rows = listed.map((f) => {
      const p = f.properties;
      const label = centreOf(f);
      const tr = document.createElement("tr");
      tr.className = `cell-row cell-${kindOf(p)}`;
      tr.dataset.cell = p.cell;
      const button = document.createElement("button");
      button.type = "button";
      button.id = `cell-${p.cell}`;
      button.textContent = `Cell at ${label}`;
      button.addEventListener("click", () => openCell(p.cell, label, button));
      const first = document.createElement("th");
      first.scope = "row";
      first.append(button);
      const gap = document.createElement("td");
      gap.textContent = gapWords(p);
      const count = document.createElement("td");
      count.textContent = p.suppressed ? "-" : `${p.needs} (${p.demand_hours} h wanted)`;
      tr.append(first, gap, count);
      return tr;
    });
    $("cells").querySelector("tbody").replaceChildren(...rows);
    $("cells").hidden = !rows.length;
    $("cells-empty").hidden = Boolean(rows.length);
    $("cells-empty").textContent = "No cell in view has unfilled needs this week.";
  }
  async function loadLayers() {
    const f = filters();
    const cells = await get("/v1/coverage/hexes", { ...f, bbox: bbox(), resolution: $("resolution").value });
    const points = await get("/v1/coverage/needs", { ...f, bbox: bbox() });
    hexes.clearLayers();
    hexes.addData(cells);
    needs.clearLayers();
    needs.addData(points);
    listCells(cells.features);
    document.body.dataset.hexes = String(cells.features.length);
    document.body.dataset.supplyAsOf = cells.supply_as_of;
    document.body.dataset.demandHexes = String(cells.features.filter((c) => c.properties.needs).length);
  }
  async function loadMetrics() {
    const report = await get("/v1/metrics/summary", {
      programme: $("programme").value, from: isoDay($("from").value), to: isoDay($("to").value),
    });
    const m = report.overall;
    const pct = (v) => (v === null ? "-" : `${Math.round(v * 100)}%`);
    const dur = (p) => (p.p50 === null ? "-" : `${Math.round(p.p50 / 60)} / ${Math.round(p.p90 / 60)} min`);
    const rows = [
      ["Needs", m.needs], ["Fill rate", pct(m.fill_rate)],
      ["First offer p50/p90", dur(m.time_to_first_offer_s)],
      ["Accept p50/p90", dur(m.time_to_accept_s)], ["Fill p50/p90", dur(m.time_to_fill_s)],
      ["Alerts per filled slot", m.alerts_per_filled_slot ?? "-"],
      ["On duty offered", pct(m.on_duty_offered_share)], ["Offers Gini", m.offers_gini ?? "-"],
      ["No-show rate", pct(m.no_show_rate)], ["Completed hours", m.completed_hours],
      ["Outcomes recorded", m.outcomes_recorded],
    ];
    const dl = document.createElement("dl");
    for (const [k, v] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = String(v);
      dl.append(dt, dd);
    }
    $("metrics").replaceChildren(dl);
  }
  async function refresh(what) {
    document.body.dataset.state = "loading";
    $("signed-out-note").hidden = true;
    $("status").textContent = "Loading...";
    try {
      if (what === "all") await Promise.all([loadProgrammes(), loadAreas()]);
      await Promise.all([loadLayers(), loadMetrics()]);
      const asOf = new Date(document.body.dataset.supplyAsOf);
      $("status").textContent = `${document.body.dataset.hexes} cells; volunteers as of ` +
        asOf.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      document.body.dataset.state = "ready";
    } catch (error) {
      if (error instanceof SignedOut) return;
      $("status").textContent = error.message;
      document.body.dataset.state = "error";
    }
  }

  function clearData() {
    session += 1;
    for (const layer of [hexes, needs, areas]) layer.clearLayers();
    panel.reset();
    $("programme").length = 1;
    $("metrics").innerHTML = "";
    $("cells").hidden = true;
    $("cells").querySelector("tbody").replaceChildren();
    $("cells-empty").hidden = false;
    $("cells-empty").textContent = "Sign in to list the cells.";
    $("signed-out-note").hidden = false;
    document.body.dataset.hexes = "0";
    document.body.dataset.demandHexes = "0";
    $("status").textContent = "Signed out";
    document.body.dataset.state = "signed-out";
  }

  for (const id of ["programme", "at", "resolution", "from", "to"]) {
    $(id).addEventListener("change", () => {
      if (!signedIn()) return;
      panel.close();
      refresh("filters");
    });
  }
  map.on("moveend", () => { if (signedIn()) refresh("layers"); });
  // A hosted sign-in (dist/signin.js: Firebase Auth) hands over a token provider, an async
  // function returning a fresh ID token (a plain token string works too), and signs out.
  window.codeliverSignIn = (source) => {
    tokenSource = typeof source === "function" ? source : async () => source;
    refresh("all");
  };
  window.codeliverSignOut = () => {
    tokenSource = null;
    sessionStorage.removeItem("codeliver-token");
    if ($("token")) $("token").value = "";
    clearData();
  };
  clearData();
  if ($("token")) {  // development only: the page shows the box when the dev issuer is on
    $("token").value = sessionStorage.getItem("codeliver-token") || "";
    $("signin").addEventListener("click", () => {
      tokenSource = null;  // the pasted token wins over an earlier hosted sign-in
      sessionStorage.setItem("codeliver-token", pasted());
      refresh("all");
    });
    if (pasted()) refresh("all");
  }
})();
