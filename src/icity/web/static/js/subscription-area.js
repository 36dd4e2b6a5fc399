// The subscription form's area: a box drawn on the map (two clicks at opposite corners) or the
// map's current view, written into the bounding-box field; a box typed there is drawn back.
"use strict";

(function () {
  const field = document.getElementById("sub-bbox");
  const drawButton = document.getElementById("area-draw");
  const citySelect = document.getElementById("sub-city");
  const map = icityMap("area-map");
  map.setView([46, 6], 4);
  let box = null;
  let firstCorner = null;
  const round = (value) => Number(value.toFixed(5));

  function show(bounds, write) {
    if (box) box.remove();
    box = L.rectangle(bounds, { color: "#0b5394", weight: 2, fillOpacity: 0.15, interactive: false }).addTo(map);
    if (write) {
      field.value = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].map(round).join(",");
    }
  }

  function fromField() {
    const parts = field.value.split(",").map(Number);
    if (parts.length !== 4 || parts.some(Number.isNaN)) return;
    const bounds = L.latLngBounds([parts[1], parts[0]], [parts[3], parts[2]]);
    show(bounds, false);
    map.fitBounds(bounds.pad(0.2));
  }

  drawButton.addEventListener("click", () => {
    firstCorner = null;
    drawButton.setAttribute("aria-pressed", "true");
    drawButton.textContent = "Click the first corner on the map";
    map.getContainer().style.cursor = "crosshair";
  });
  map.on("click", (event) => {
    if (drawButton.getAttribute("aria-pressed") !== "true") return;
    if (firstCorner === null) {
      firstCorner = event.latlng;
      drawButton.textContent = "Click the opposite corner";
      return;
    }
    show(L.latLngBounds(firstCorner, event.latlng), true);
    firstCorner = null;
    drawButton.setAttribute("aria-pressed", "false");
    drawButton.textContent = "Draw a box";
    map.getContainer().style.cursor = "";
  });
  document.getElementById("area-view").addEventListener("click", () => show(map.getBounds(), true));
  document.getElementById("area-clear").addEventListener("click", () => {
    if (box) box.remove();
    box = null;
    field.value = "";
  });
  field.addEventListener("change", fromField);
  citySelect.addEventListener("change", () => {
    const option = citySelect.selectedOptions[0];
    if (option && option.dataset.lat) map.setView([Number(option.dataset.lat), Number(option.dataset.lon)], 12);
  });
  drawButton.setAttribute("aria-pressed", "false");
  fromField();
})();
