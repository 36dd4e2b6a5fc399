// A Leaflet map on the offline basemap (world-atlas country outlines, served by the portal itself),
// plus the tile server of ICITY_MAP_TILES_URL when a deployment sets one.
"use strict";

window.icityMap = function (elementId, options) {
  const settings = JSON.parse(document.getElementById("map-settings").textContent);
  const map = L.map(elementId, Object.assign({ worldCopyJump: true }, options || {}));
  map.attributionControl.setPrefix(false);
  if (settings.tilesUrl) {
    L.tileLayer(settings.tilesUrl, { attribution: settings.tilesAttribution, maxZoom: 19 }).addTo(map);
  } else {
    map.attributionControl.addAttribution("Country outlines: Natural Earth (world-atlas)");
    fetch("/static/vendor/world-atlas/countries-50m.json")
      .then((response) => response.json())
      .then((world) => {
        const countries = topojson.feature(world, world.objects.countries);
        L.geoJSON(countries, {
          interactive: false,
          style: { color: "#8a9bb0", weight: 1, fillColor: "#eef2e6", fillOpacity: 1 },
        }).addTo(map).bringToBack();
      });
  }
  return map;
};

// [lat, lon] of a GeoJSON geometry's representative point (points, or the first coordinate of a shape).
window.icityLatLng = function (geometry) {
  let coordinates = geometry && geometry.coordinates;
  while (Array.isArray(coordinates) && Array.isArray(coordinates[0])) coordinates = coordinates[0];
  return coordinates ? [coordinates[1], coordinates[0]] : null;
};

// A tooltip or popup of text from the data: Leaflet puts a string in as HTML, a node as it is.
window.icityText = function (text) {
  const element = document.createElement("span");
  element.textContent = String(text);
  return element;
};
