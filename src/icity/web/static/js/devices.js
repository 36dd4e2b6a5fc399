// An IS's devices under /manage: on a map coloured by status; live, a device heard turns "reporting"
// in the table and on the map (the portal's live stream, /live/events, when the page has it).
"use strict";

(function () {
  const colours = { reporting: "#2e7d32", silent: "#b5420e", "never-heard": "#5f6b7a" };
  const system = JSON.parse(document.getElementById("live-system").textContent);
  const markers = new Map();
  const element = document.getElementById("devices-map");
  if (element) {
    const points = JSON.parse(document.getElementById("device-points").textContent);
    const map = icityMap("devices-map");
    for (const point of points) {
      const latLng = icityLatLng(point.location);
      if (!latLng) continue;
      const marker = L.circleMarker(latLng, { radius: 7, color: "#fff", weight: 1, fillColor: colours[point.status], fillOpacity: 0.9 })
        .bindTooltip(icityText(point.id + " — " + point.status.replace("-", " "))).addTo(map);
      markers.set(point.id, marker);
    }
    if (markers.size) map.fitBounds(L.featureGroup([...markers.values()]).getBounds().pad(0.2), { maxZoom: 15 });
    element.dataset.devices = String(markers.size);
  }

  // a change of an entity: the devices reporting into it were heard at its observedAt
  function heard(change) {
    const observedAt = change.entity && change.entity.observedAt;
    for (const row of document.querySelectorAll("tr[data-entity]")) {
      if (row.dataset.entity !== change.id) continue;
      const badge = row.querySelector("[data-testid=device-status]");
      badge.className = "badge device-reporting";
      badge.textContent = "reporting";
      if (observedAt) {
        const time = document.createElement("time");
        time.dateTime = observedAt;
        time.textContent = observedAt.slice(0, 16).replace("T", " ") + " UTC";
        row.querySelector("[data-testid=last-seen]").replaceChildren(time);
      }
      const marker = markers.get(row.dataset.device);
      if (marker) marker.setStyle({ fillColor: colours.reporting });
    }
  }
  if (window.iCityLive) window.iCityLive.follow({ system, kind: "entity" }, heard);
})();
