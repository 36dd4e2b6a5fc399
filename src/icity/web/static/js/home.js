// The home page map: every city of the network, coloured by its level. Cities that would share a spot
// (Barcelona, Cornellà and Viladecans at the scale of Europe) gather under a count badge that zooms in
// until they part (leaflet.markercluster); the first view fits every city.
"use strict";

(function () {
  const colours = { consortium: "#0b5394", pilot: "#38761d", sig: "#b45f06", prospect: "#767676" };
  const names = { consortium: "Consortium", pilot: "Pilot", sig: "Special Interest Group", prospect: "Prospect" };
  const cities = JSON.parse(document.getElementById("network-data").textContent);
  const map = icityMap("network-map");
  const clusters = L.markerClusterGroup({
    maxClusterRadius: 24,
    showCoverageOnHover: false,
    iconCreateFunction(cluster) {
      const badge = document.createElement("span");
      const count = document.createElement("span");
      count.textContent = String(cluster.getChildCount());
      const hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = " cities: " + cluster.getAllChildMarkers().map((m) => m.cityName).join(", ") + " (zoom in)";
      badge.append(count, hidden);
      return L.divIcon({ html: badge.innerHTML, className: "city-cluster", iconSize: L.point(30, 30) });
    },
  });
  const markers = cities.map((city) => {
    const [lon, lat] = city.location.coordinates;
    const marker = L.circleMarker([lat, lon], {
      radius: city.level === "prospect" ? 5 : 8,
      color: "#fff", weight: 2, fillColor: colours[city.level], fillOpacity: 0.95,
      className: "city-marker level-" + city.level + " city-" + city.id,
    });
    marker.cityName = city.name;
    const popup = document.createElement("div");
    const link = document.createElement("a");
    link.href = "/cities/" + encodeURIComponent(city.id);
    link.textContent = city.name;
    popup.append(link, document.createElement("br"), names[city.level] + " · " + city.openedInformationSystems + " opened IS");
    marker.bindPopup(popup).bindTooltip(icityText(city.name));
    clusters.addLayer(marker);
    return marker;
  });
  map.addLayer(clusters);
  if (markers.length) map.fitBounds(L.latLngBounds(markers.map((m) => m.getLatLng())).pad(0.1));
  document.getElementById("network-map").dataset.cities = String(markers.length);
})();
