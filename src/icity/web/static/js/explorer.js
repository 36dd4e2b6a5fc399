// The data explorer: entities on a map; selecting one shows its attributes and a chart of one
// attribute's history, read from the API (/api/v1/entities/{id}/history) with the same rules as any client.
"use strict";

(function () {
  const entities = JSON.parse(document.getElementById("explorer-entities").textContent);
  const numeric = JSON.parse(document.getElementById("explorer-numeric").textContent);
  const byId = new Map(entities.map((entity) => [entity.id, entity]));
  const ranges = { "24h": [1, "1h"], "7d": [7, "3h"], "30d": [30, "1d"] };
  const hidden = new Set(["id", "type", "city", "informationSystem", "location"]);
  const map = icityMap("explorer-map", { preferCanvas: true });  // up to a thousand markers
  const attributeSelect = document.getElementById("history-attribute");
  const rangeSelect = document.getElementById("history-range");
  const status = document.getElementById("history-status");
  let chart = null;
  let selected = null;

  const markers = [];
  for (const entity of entities) {
    const latLng = icityLatLng(entity.location);
    if (!latLng) continue;
    const marker = L.circleMarker(latLng, { radius: 6, color: "#fff", weight: 1, fillColor: "#0b5394", fillOpacity: 0.9 })
      .bindTooltip(icityText(entity.name || entity.id))
      .on("click", () => select(entity.id))
      .addTo(map);
    marker.entityId = entity.id;
    markers.push(marker);
  }
  if (markers.length) map.fitBounds(L.featureGroup(markers).getBounds().pad(0.1), { maxZoom: 15 });
  else map.setView([48, 8], 4);
  document.getElementById("explorer-map").dataset.entities = String(markers.length);

  function show(value) {
    return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
  }

  function select(entityId) {
    const entity = byId.get(entityId);
    if (!entity) return;
    selected = entity;
    document.getElementById("entity-hint").hidden = true;
    document.getElementById("entity-details").hidden = false;
    document.getElementById("entity-title").textContent = entity.name || entity.id;
    const list = document.getElementById("entity-attributes");
    list.replaceChildren();
    for (const [name, value] of Object.entries(entity)) {
      if (hidden.has(name) || value === null) continue;
      const term = document.createElement("dt");
      term.textContent = name;
      const detail = document.createElement("dd");
      detail.textContent = show(value);
      list.append(term, detail);
    }
    const chartable = (numeric[entity.type] || []).filter((name) => typeof entity[name] === "number");
    attributeSelect.replaceChildren(...chartable.map((name) => new Option(name, name)));
    if (chartable.length) drawHistory();
    else {
      status.textContent = "This entity has no numeric attribute to chart.";
      if (chart) { chart.destroy(); chart = null; }
    }
  }

  async function drawHistory() {
    const attribute = attributeSelect.value;
    const [days, interval] = ranges[rangeSelect.value];
    const end = selected.observedAt ? new Date(selected.observedAt) : new Date();
    end.setTime(end.getTime() + 1000);  // include the latest observation
    const start = new Date(end.getTime() - days * 86400000);
    const query = new URLSearchParams({
      attribute, aggregate: "avg", interval, from: start.toISOString(), to: end.toISOString(),
    });
    status.textContent = "Loading the history of " + attribute + "…";
    const response = await fetch("/api/v1/entities/" + encodeURIComponent(selected.id) + "/history?" + query,
      { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const body = await response.json();
    if (!response.ok) { status.textContent = body.detail; return; }
    const points = body.buckets.map((bucket) => ({ x: bucket.start, y: bucket.value }));
    status.textContent = points.length
      ? points.length + " averages of " + attribute + " (" + interval + " each)"
      : "No history of " + attribute + " in this range.";
    const data = {
      labels: points.map((p) => p.x.slice(0, 16).replace("T", " ")),
      datasets: [{ label: attribute + " (avg per " + interval + ")", data: points.map((p) => p.y),
                   borderColor: "#0b5394", backgroundColor: "rgba(11, 83, 148, 0.15)", fill: true, pointRadius: 0, tension: 0.2 }],
    };
    if (chart) chart.destroy();
    chart = new Chart(document.getElementById("history-chart"), {
      type: "line", data,
      options: { animation: false, maintainAspectRatio: false, scales: { x: { ticks: { maxTicksLimit: 8 } } } },
    });
    document.getElementById("history-chart").dataset.points = String(points.length);
  }

  attributeSelect.addEventListener("change", drawHistory);
  rangeSelect.addEventListener("change", drawHistory);
  document.getElementById("entity-list").addEventListener("click", (event) => {
    const id = event.target.dataset && event.target.dataset.entity;
    if (id) select(id);
  });
  const fromAddress = decodeURIComponent(location.hash.slice(1));
  if (fromAddress && byId.has(fromAddress)) select(fromAddress);
})();
