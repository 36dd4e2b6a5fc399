// The IS page map: its entities (only rendered for those who may read them).
"use strict";

(function () {
  const element = document.getElementById("system-map");
  if (!element) return;
  const points = JSON.parse(document.getElementById("system-points").textContent);
  const map = icityMap("system-map");
  const markers = points.map((point) => icityLatLng(point.location)).filter(Boolean).map((latLng, i) =>
    L.circleMarker(latLng, { radius: 6, color: "#fff", weight: 1, fillColor: "#0b5394", fillOpacity: 0.9, className: "entity-marker" })
      .bindTooltip(points[i].id).addTo(map));
  map.fitBounds(L.featureGroup(markers).getBounds().pad(0.2), { maxZoom: 15 });
  element.dataset.entities = String(markers.length);
})();
