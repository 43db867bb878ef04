// The pin on the client's home ("Add a client", "Change the client's details"): a click on
// the map fills the latitude and longitude fields, and typed ones move the pin. The fields
// are the form; without JavaScript (or Leaflet) they are all there is, and the map stays
// hidden. Leaflet is npm's, served by the app, as on the coordinator's map page.
(function () {
  "use strict";
  const box = document.getElementById("pin-map");
  if (!box || typeof L === "undefined") return;
  const config = JSON.parse(box.dataset.pin);
  const lat = document.getElementById("lat");
  const lon = document.getElementById("lon");
  const status = document.getElementById("pin-status");
  box.hidden = false;
  box.style.height = "22rem";
  box.style.background = "#eef2f3";
  const map = L.map(box, { center: config.centre, zoom: config.zoom });
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { maxZoom: 19, attribution: config.tile_attribution }).addTo(map);
  } else {
    map.attributionControl.addAttribution("no base map set (CODELIVER_MAP_TILE_URL)");
  }
  L.control.scale({ imperial: false }).addTo(map);
  let pin = null;

  function place(point, pan) {
    if (pin) {
      pin.setLatLng(point);
    } else {
      pin = L.circleMarker(point, { radius: 9, color: "#0b0c0c", weight: 3, fillColor: "#d4351c", fillOpacity: 0.9 }).addTo(map);
    }
    if (pan) map.panTo(point);
  }

  function fromFields() {
    const a = Number(lat.value);
    const b = Number(lon.value);
    if (lat.value && lon.value && Math.abs(a) <= 90 && Math.abs(b) <= 180) place([a, b], true);
  }

  map.on("click", function (event) {
    lat.value = event.latlng.lat.toFixed(6);
    lon.value = event.latlng.lng.toFixed(6);
    place(event.latlng, false);
    // the page's words, in its language: "Pin put at latitude {lat}, longitude {lon}."
    const words = status.dataset.placed || "Pin put at latitude {lat}, longitude {lon}.";
    status.textContent = words.replace("{lat}", lat.value).replace("{lon}", lon.value);
  });
  lat.addEventListener("change", fromFields);
  lon.addEventListener("change", fromFields);
  fromFields();
})();
