// The data explorer: entities on a map; selecting one shows its attributes (with their units) and a chart
// of one attribute's history (the model's main measure first), read from the API
// (/api/v1/entities/{id}/history) with the same rules as any client. With the live stream (live.js), markers
// move or appear, a changed value flashes and the chart gains its point, with the visitor's rights.
"use strict";

(function () {
  const entities = JSON.parse(document.getElementById("explorer-entities").textContent);
  const specs = JSON.parse(document.getElementById("explorer-specs").textContent);
  const chosen = JSON.parse(document.getElementById("explorer-chosen").textContent);
  const byId = new Map(entities.map((entity) => [entity.id, entity]));
  const ranges = { "24h": [1, "1h"], "7d": [7, "3h"], "30d": [30, "1d"] };
  const hidden = new Set(["id", "type", "city", "informationSystem", "location"]);
  const mapElement = document.getElementById("explorer-map");
  const map = icityMap("explorer-map", { preferCanvas: true });  // up to a thousand markers
  const attributeSelect = document.getElementById("history-attribute");
  const rangeSelect = document.getElementById("history-range");
  const status = document.getElementById("history-status");
  const canvas = document.getElementById("history-chart");
  const markerStyle = { radius: 6, color: "#fff", weight: 1, fillColor: "#0b5394", fillOpacity: 0.9 };
  const flashStyle = { fillColor: "#e69138", radius: 9 };
  let chart = null;
  let selected = null;

  // how the IS of an entity serves its model: numeric attributes (preferred first), main measure, units
  function specOf(entity) {
    const bySystem = specs[entity.informationSystem] || {};
    return bySystem[entity.type] || { attributes: [], main: null, units: {} };
  }

  function withUnit(name, units) {
    return units[name] ? name + " (" + units[name] + ")" : name;
  }

  const markers = new Map();
  const shapeStyle = { color: "#0b5394", weight: 2, fillOpacity: 0.05 };
  function place(entity, later) {
    const geometry = entity.location;
    let marker = markers.get(entity.id);
    if (geometry && geometry.type !== "Point") {  // a street, an area: drawn as it is
      if (marker) marker.remove();
      marker = L.geoJSON(geometry, { style: shapeStyle });
      marker.shape = true;
    } else {
      const latLng = icityLatLng(geometry);
      if (!latLng) return null;
      if (marker && !marker.shape) return marker.setLatLng(latLng);
      if (marker) marker.remove();
      marker = L.circleMarker(latLng, markerStyle);
    }
    marker.bindTooltip(icityText(entity.name || entity.id)).on("click", () => select(entity.id));
    if (!later) marker.addTo(map);
    markers.set(entity.id, marker);
    mapElement.dataset.entities = String(markers.size);
    return marker;
  }
  const isShape = (entity) => Boolean(entity.location && entity.location.type !== "Point");
  // the view first (a shape is clipped to it), then the shapes, then the points: on top, and clickable
  entities.forEach((entity) => place(entity, true));
  if (markers.size) map.fitBounds(L.featureGroup([...markers.values()]).getBounds().pad(0.1), { maxZoom: 15 });
  else map.setView([48, 8], 4);
  entities.filter(isShape).forEach((entity) => markers.get(entity.id).addTo(map));
  entities.filter((entity) => !isShape(entity) && markers.has(entity.id)).forEach((entity) => markers.get(entity.id).addTo(map));
  mapElement.dataset.entities = String(markers.size);

  function show(value) {
    return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
  }

  function listAttributes(entity, changed) {
    const units = specOf(entity).units;
    const list = document.getElementById("entity-attributes");
    list.replaceChildren();
    for (const [name, value] of Object.entries(entity)) {
      if (hidden.has(name) || value === null) continue;
      const term = document.createElement("dt");
      term.textContent = name;
      const detail = document.createElement("dd");
      detail.dataset.attribute = name;
      detail.textContent = show(value);
      if (units[name]) {
        const unit = document.createElement("span");
        unit.className = "unit";
        unit.textContent = " " + units[name];
        detail.append(unit);
      }
      if (changed.has(name)) detail.classList.add("flash");
      list.append(term, detail);
    }
  }

  function select(entityId) {
    const entity = byId.get(entityId);
    if (!entity) return;
    selected = entity;
    document.getElementById("entity-hint").hidden = true;
    document.getElementById("entity-details").hidden = false;
    document.getElementById("entity-title").textContent = entity.name || entity.id;
    listAttributes(entity, new Set());
    const spec = specOf(entity);
    const chartable = spec.attributes.filter((name) => typeof entity[name] === "number");
    attributeSelect.replaceChildren(...chartable.map((name) => new Option(withUnit(name, spec.units), name)));
    if (chartable.length) {
      attributeSelect.value = chartable.includes(spec.main) ? spec.main : chartable[0];
      drawHistory();
    } else {
      status.textContent = "This entity has no numeric attribute to chart.";
      if (chart) { chart.destroy(); chart = null; }
    }
  }

  async function drawHistory() {
    const attribute = attributeSelect.value;
    const unit = specOf(selected).units[attribute] || "";
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
      ? points.length + " averages of " + withUnit(attribute, { [attribute]: unit }) + " (" + interval + " each)"
      : "No history of " + attribute + " in this range.";
    const data = {
      labels: points.map((p) => p.x.slice(0, 16).replace("T", " ")),
      datasets: [{ label: withUnit(attribute, { [attribute]: unit }) + ", avg per " + interval, data: points.map((p) => p.y),
                   borderColor: "#0b5394", backgroundColor: "rgba(11, 83, 148, 0.15)", fill: true, pointRadius: 0, tension: 0.2 }],
    };
    if (chart) chart.destroy();
    chart = new Chart(canvas, {
      type: "line", data,
      options: {
        animation: false, maintainAspectRatio: false,
        scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { title: { display: Boolean(unit), text: unit } } },
      },
    });
    canvas.dataset.attribute = attribute;
    canvas.dataset.points = String(points.length);
  }

  // A change from the live stream: the marker moves or appears (and flashes), the selected entity's
  // changed values flash, and the charted attribute gains its point.
  function onChange(change) {
    if (change.kind !== "entity" || !change.entity) return;
    if (chosen.city && change.city !== chosen.city) return;
    const entity = Object.assign({ id: change.id, type: change.type, city: change.city,
                                   informationSystem: change.informationSystem, location: change.location }, change.entity);
    byId.set(entity.id, entity);
    const marker = place(entity);
    if (marker && !marker.shape) {
      marker.setStyle(flashStyle);
      setTimeout(() => marker.setStyle(markerStyle), 1500);
    }
    mapElement.dataset.changes = String(Number(mapElement.dataset.changes || 0) + 1);
    if (!selected || selected.id !== entity.id) return;
    selected = entity;
    const changed = new Set(change.changed || []);
    listAttributes(entity, changed);
    const attribute = attributeSelect.value;
    if (chart && changed.has(attribute) && typeof entity[attribute] === "number") {
      const when = entity.observedAt || new Date().toISOString();
      chart.data.labels.push(when.slice(0, 16).replace("T", " "));
      chart.data.datasets[0].data.push(entity[attribute]);
      chart.update();
      canvas.dataset.points = String(chart.data.datasets[0].data.length);
    }
  }

  attributeSelect.addEventListener("change", drawHistory);
  rangeSelect.addEventListener("change", drawHistory);
  document.getElementById("entity-list").addEventListener("click", (event) => {
    const id = event.target.dataset && event.target.dataset.entity;
    if (id) select(id);
  });
  const fromAddress = decodeURIComponent(location.hash.slice(1));
  if (fromAddress && byId.has(fromAddress)) select(fromAddress);
  if (window.iCityLive) {
    const params = { kind: "entity" };
    if (chosen.type) params.type = chosen.type;
    const stream = window.iCityLive.follow(params, onChange);
    stream.addEventListener("open", () => { mapElement.dataset.live = "open"; });
  }
})();
