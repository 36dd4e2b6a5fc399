// The home page map: every city of the network, coloured by its level.
"use strict";

(function () {
  const colours = { consortium: "#0b5394", pilot: "#38761d", sig: "#b45f06", prospect: "#767676" };
  const names = { consortium: "Consortium", pilot: "Pilot", sig: "Special Interest Group", prospect: "Prospect" };
  const cities = JSON.parse(document.getElementById("network-data").textContent);
  const map = icityMap("network-map");
  const markers = cities.map((city) => {
    const [lon, lat] = city.location.coordinates;
    const marker = L.circleMarker([lat, lon], {
      radius: city.level === "prospect" ? 5 : 8,
      color: "#fff", weight: 2, fillColor: colours[city.level], fillOpacity: 0.95,
      className: "city-marker level-" + city.level,
    });
    const popup = document.createElement("div");
    const link = document.createElement("a");
    link.href = "/cities/" + encodeURIComponent(city.id);
    link.textContent = city.name;
    popup.append(link, document.createElement("br"), names[city.level] + " · " + city.openedInformationSystems + " opened IS");
    marker.bindPopup(popup).bindTooltip(icityText(city.name));
    return marker.addTo(map);
  });
  const members = markers.filter((_, i) => cities[i].level !== "prospect");
  map.fitBounds(L.featureGroup(members.length ? members : markers).getBounds().pad(0.15));
  document.getElementById("network-map").dataset.cities = String(markers.length);
})();
