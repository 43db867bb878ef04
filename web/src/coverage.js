// The coordinator's map: hexagons coloured by gap, unfilled needs, service areas, metrics.
// Every figure comes from the API with the coordinator's bearer token; the page holds none.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("config").textContent);
  const $ = (id) => document.getElementById(id);
  const map = L.map("map", { center: config.centre, zoom: config.zoom });
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { maxZoom: 19, attribution: config.tile_attribution }).addTo(map);
  }
  const GAP_STEPS = [
    [8, "#b2182b", "short by 8 h or more"],
    [2, "#ef8a62", "short by 2-8 h"],
    [0, "#fddbc7", "short by up to 2 h"],
    [-8, "#d1e5f0", "covered"],
    [-Infinity, "#67a9cf", "well covered"],
  ];
  const colour = (p) => {
    if (p.suppressed) return "#bbbbbb";
    for (const [floor, fill] of GAP_STEPS) if (p.gap_hours >= floor) return fill;
    return "#67a9cf";
  };
  const hexes = L.geoJSON(null, {
    style: (f) => ({
      className: "hex" + (f.properties.needs ? " hex-demand" : ""),
      color: "#555", weight: 0.5, fillColor: colour(f.properties), fillOpacity: 0.6,
    }),
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindTooltip(p.suppressed
        ? `${p.volunteers} volunteers reach here; demand hidden (fewer than ${config.k_min} clients)`
        : `${p.volunteers} volunteers (${p.on_duty} on duty), ${p.supply_hours} h available<br>` +
          `${p.needs} needs, ${p.open_slots} open slots, ${p.demand_hours} h; gap ${p.gap_hours} h`);
    },
  }).addTo(map);
  const needs = L.geoJSON(null, {
    pointToLayer: (f, latlng) => L.circleMarker(latlng, {
      className: "need", radius: 4 + Math.min(10, f.properties.needs), color: "#222", weight: 1,
      fillColor: "#f4a582", fillOpacity: 0.9,
    }).bindTooltip(`${f.properties.needs} unfilled needs nearby`),
  }).addTo(map);
  const areas = L.geoJSON(null, {
    style: () => ({ className: "area", color: "#2166ac", weight: 2, fill: false, dashArray: "4" }),
    onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name),
  }).addTo(map);
  L.control.layers(null, { "Coverage": hexes, "Unfilled needs": needs, "Service areas": areas })
    .addTo(map);
  const legend = L.control({ position: "bottomright" });
  legend.onAdd = () => {
    const div = L.DomUtil.create("div", "legend");
    div.innerHTML = "<b>Gap (demand - supply)</b><br>" + GAP_STEPS.map(
      ([, fill, text]) => `<i style="background:${fill}"></i>${text}`).join("<br>") +
      '<br><i style="background:#bbbbbb"></i>hidden (privacy)';
    return div;
  };
  legend.addTo(map);

  // The bearer token: a hosted sign-in's provider (called before every request, so an
  // expiring ID token is refreshed first), else the development token box.
  let tokenSource = null;
  const pasted = () => ($("token") ? $("token").value.trim() : "");
  const signedIn = () => Boolean(tokenSource || pasted());
  // Bumped on sign-out: answers to requests made before it are dropped, never drawn.
  let session = 0;
  class SignedOut extends Error {}
  async function api(path, params) {
    const started = session;
    const query = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v));
    const token = tokenSource ? await tokenSource() : pasted();
    const response = await fetch(`${path}?${query}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      if (started !== session) throw new SignedOut();
      throw new Error(problem.detail || `${response.status} ${response.statusText}`);
    }
    const body = await response.json();
    if (started !== session) throw new SignedOut();
    return body;
  }
  const isoDay = (value) => (value ? new Date(value + "T00:00:00Z").toISOString() : "");
  const bbox = () => {
    const b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
  };
  function filters() {
    return { programme: $("programme").value, at: isoDay($("at").value) };
  }

  async function loadProgrammes() {
    const page = await api("/v1/programmes", { limit: 200 });
    const select = $("programme");
    select.length = 1;
    for (const p of page.items) select.add(new Option(p.name, p.id));
  }
  async function loadAreas() {
    const page = await api("/v1/service-areas", { limit: 200 });
    areas.clearLayers();
    areas.addData({
      type: "FeatureCollection",
      features: page.items.map((a) => ({ type: "Feature", geometry: a.boundary, properties: a })),
    });
  }
  async function loadLayers() {
    const f = filters();
    const cells = await api("/v1/coverage/hexes", { ...f, bbox: bbox(), resolution: $("resolution").value });
    hexes.clearLayers();
    hexes.addData(cells);
    needs.clearLayers();
    needs.addData(await api("/v1/coverage/needs", { ...f, bbox: bbox() }));
    document.body.dataset.hexes = String(cells.features.length);
    document.body.dataset.supplyAsOf = cells.supply_as_of;
    document.body.dataset.demandHexes = String(cells.features.filter((c) => c.properties.needs).length);
  }
  async function loadMetrics() {
    const report = await api("/v1/metrics/summary", {
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
    $("metrics").innerHTML = "<dl>" + rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("") + "</dl>";
  }
  async function refresh(what) {
    document.body.dataset.state = "loading";
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
    $("programme").length = 1;
    $("metrics").innerHTML = "";
    document.body.dataset.hexes = "0";
    document.body.dataset.demandHexes = "0";
    $("status").textContent = "Signed out";
    document.body.dataset.state = "signed-out";
  }

  for (const id of ["programme", "at", "resolution", "from", "to"]) {
    $(id).addEventListener("change", () => { if (signedIn()) refresh("filters"); });
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
