// The IS page map: its entities (only rendered for those who may read them).
"use strict";

(function () {
  const element = document.getElementById("system-map");
  if (!element) return;
  const points = JSON.parse(document.getElementById("system-points").textContent);
  const map = icityMap("system-map");
  const placed = points.map((point) => [point, icityLatLng(point.location)]).filter(([, latLng]) => latLng);
  const markers = placed.map(([point, latLng]) =>
    L.circleMarker(latLng, { radius: 6, color: "#fff", weight: 1, fillColor: "#0b5394", fillOpacity: 0.9, className: "entity-marker" })
      .bindTooltip(icityText(point.id)).addTo(map));
  map.fitBounds(L.featureGroup(markers).getBounds().pad(0.2), { maxZoom: 15 });
  element.dataset.entities = String(markers.length);
})();
