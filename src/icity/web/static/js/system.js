// The IS page map: its entities (only rendered for those who may read them); shapes are drawn as they are,
// points as markers. With the live stream (live.js) a marker moves or appears and flashes, and the
// entity's "Observed" cell in the table changes, with the visitor's rights.
"use strict";

(function () {
  const element = document.getElementById("system-map");
  if (!element) return;
  const points = JSON.parse(document.getElementById("system-points").textContent);
  const map = icityMap("system-map");
  const style = { radius: 6, color: "#fff", weight: 1, fillColor: "#0b5394", fillOpacity: 0.9, className: "entity-marker" };
  const flash = { fillColor: "#e69138", radius: 9 };
  const markers = new Map();

  function place(point, later) {
    let marker = markers.get(point.id);
    if (point.location && point.location.type !== "Point") {
      if (marker) marker.remove();
      marker = L.geoJSON(point.location, { style: { color: "#0b5394", weight: 2, fillOpacity: 0.1 } });
    } else {
      const latLng = icityLatLng(point.location);
      if (!latLng) return null;
      if (marker && marker.setLatLng) return marker.setLatLng(latLng);
      if (marker) marker.remove();
      marker = L.circleMarker(latLng, style);
    }
    marker.bindTooltip(icityText(point.id));
    if (!later) marker.addTo(map);
    markers.set(point.id, marker);
    element.dataset.entities = String(markers.size);
    return marker;
  }

  points.forEach((point) => place(point, true));  // added once the map has its view: a shape is clipped to it
  if (markers.size) map.fitBounds(L.featureGroup([...markers.values()]).getBounds().pad(0.2), { maxZoom: 15 });
  markers.forEach((marker) => marker.addTo(map));
  element.dataset.entities = String(markers.size);

  if (!window.iCityLive || !element.dataset.system) return;
  const stream = window.iCityLive.follow({ system: element.dataset.system, kind: "entity" }, (change) => {
    if (change.kind !== "entity") return;
    const marker = place({ id: change.id, location: (change.entity && change.entity.location) || change.location });  // a shape stays one
    if (marker && marker.setStyle && marker.setLatLng) {
      marker.setStyle(flash);
      setTimeout(() => marker.setStyle(style), 1500);
    }
    const observed = document.querySelector('[data-observed="' + CSS.escape(change.id) + '"]');
    if (observed && change.entity && change.entity.observedAt) {
      observed.textContent = change.entity.observedAt;
      observed.classList.remove("flash");
      void observed.offsetWidth;  // restart the animation
      observed.classList.add("flash");
    }
    element.dataset.changes = String(Number(element.dataset.changes || 0) + 1);
  });
  stream.addEventListener("open", () => { element.dataset.live = "open"; });
})();
