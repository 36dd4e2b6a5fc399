// A Leaflet map on the offline basemap (world-atlas country outlines, served by the portal itself),
// plus the tile server of ICITY_MAP_TILES_URL when a deployment sets one. Offline, a map at city scale
// also draws the GIS layers of the city that the page lists (#map-layers: the GIS information systems
// the visitor may read), fetched from the API with the visitor's rights, under the markers.
"use strict";

window.icityMap = function (elementId, options) {
  const settings = JSON.parse(document.getElementById("map-settings").textContent);
  const map = L.map(elementId, Object.assign({ worldCopyJump: true, maxZoom: 18 }, options || {}));  // a known maxZoom: clustering needs one without tiles
  map.attributionControl.setPrefix(false);
  if (settings.tilesUrl) {
    L.tileLayer(settings.tilesUrl, { attribution: settings.tilesAttribution, maxZoom: 19 }).addTo(map);
  } else {
    map.attributionControl.addAttribution("Country outlines: Natural Earth (world-atlas)");
    map.createPane("basemap").style.zIndex = 200;  // where tiles would be: under everything else
    fetch("/static/vendor/world-atlas/countries-50m.json")
      .then((response) => response.json())
      .then((world) => {
        const countries = topojson.feature(world, world.objects.countries);
        L.geoJSON(countries, {
          pane: "basemap",
          renderer: L.svg({ pane: "basemap" }),  // a canvas in a pane of its own fails before its first redraw
          interactive: false,
          style: { color: "#8a9bb0", weight: 1, fillColor: "#eef2e6", fillOpacity: 1 },
        }).addTo(map);
      });
    drawGisLayers(map, document.getElementById(elementId));
  }
  return map;
};

// The city's own cartography: district outlines and streets, in a pane between the basemap and the markers.
const GIS_STYLES = {
  Polygon: { color: "#9c8f7a", weight: 1.5, fillColor: "#f7f1e3", fillOpacity: 0.85, dashArray: "4 3" },
  LineString: { color: "#b9aa92", weight: 3, opacity: 0.9 },
};

function drawGisLayers(map, element) {
  const source = document.getElementById("map-layers");
  const layers = source ? JSON.parse(source.textContent) : [];
  if (!layers.length) return;
  map.createPane("gis").style.zIndex = 350;  // over the basemap (tiles 200), under the markers (overlay 400)
  const renderer = L.svg({ pane: "gis" });  // its own, even on a canvas map: a few hundred shapes at most
  let drawn = 0;
  for (const layer of layers) {
    const query = new URLSearchParams({ informationSystem: layer.id, limit: "1000" });
    fetch("/api/v1/entities?" + query, { headers: { Accept: "application/geo+json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : { features: [] }))
      .then((collection) => {
        L.geoJSON(collection, {
          pane: "gis",
          renderer,
          interactive: false,
          style: (feature) => GIS_STYLES[feature.geometry.type.replace("Multi", "")] || GIS_STYLES.LineString,
        }).addTo(map);
        drawn += collection.features.length;
        element.dataset.gisFeatures = String(drawn);
      });
    map.attributionControl.addAttribution(icityText(layer.name).outerHTML);  // a name, not HTML
  }
}

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
