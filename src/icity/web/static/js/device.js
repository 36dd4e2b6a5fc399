// A device's page under /manage: a chart per numeric attribute of the entity it reports into; live,
// its status turns "reporting", its latest values change and each chart gains the point pushed —
// a device never heard before gets its values and charts (the portal's live stream, /live/events).
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("device-data").textContent);
  const charts = new Map();
  const label = (time) => time.slice(0, 16).replace("T", " ");
  const hidden = new Set(["id", "type", "location", "observedAt", "modifiedAt", "createdAt", "city", "informationSystem"]);

  function draw(canvas, points) {
    if (typeof Chart === "undefined") return;
    charts.set(canvas.dataset.attribute, new Chart(canvas, {
      type: "line",
      data: {
        labels: points.map((p) => label(p.t)),
        datasets: [{ label: canvas.dataset.attribute, data: points.map((p) => p.v), borderColor: "#0b5394",
                     backgroundColor: "rgba(11, 83, 148, 0.15)", fill: true, pointRadius: 2, tension: 0.2 }],
      },
      options: { animation: false, maintainAspectRatio: false, scales: { x: { ticks: { maxTicksLimit: 8 } } } },
    }));
  }
  for (const canvas of document.querySelectorAll("canvas[data-attribute]")) draw(canvas, data.charts[canvas.dataset.attribute] || []);

  function newChart(name) {  // an attribute first heard live
    const section = document.getElementById("charts");
    const index = section.querySelectorAll("canvas").length + 1;
    const title = document.createElement("h3");
    title.id = "chart-" + index + "-title";
    title.textContent = name;
    const box = document.createElement("div");
    box.className = "chart-box";
    const canvas = document.createElement("canvas");
    canvas.id = "chart-" + index;
    canvas.dataset.attribute = name;
    canvas.dataset.points = "0";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "The latest values of " + name);
    box.append(canvas);
    section.append(title, box);
    section.hidden = false;
    draw(canvas, []);
    return charts.get(name);
  }

  function showValue(name, value) {
    const list = document.getElementById("latest-values");
    let shown = list.querySelector('dd[data-attribute="' + CSS.escape(name) + '"]');
    if (!shown) {
      const term = document.createElement("dt");
      term.textContent = name;
      shown = document.createElement("dd");
      shown.dataset.attribute = name;
      list.append(term, shown);
    }
    shown.textContent = typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  function changed(change) {
    if (change.id !== data.entity || !change.entity) return;
    const observedAt = change.entity.observedAt;
    const status = document.querySelector("#device-status [data-testid=device-status]");
    status.className = "badge device-reporting";
    status.textContent = "reporting";
    document.querySelector("[data-testid=no-values]").hidden = true;
    if (observedAt) {
      const time = document.createElement("time");
      time.dateTime = observedAt;
      time.textContent = label(observedAt) + " UTC";
      document.getElementById("device-last-seen").replaceChildren(time);
      document.getElementById("entity-observed").replaceChildren(time.cloneNode(true));
      document.getElementById("entity-observed-line").hidden = false;
    }
    const names = change.changed && change.changed.length ? change.changed : Object.keys(change.entity);
    for (const name of names) {
      if (hidden.has(name) || !(name in change.entity)) continue;
      const value = change.entity[name];
      showValue(name, value);
      if (typeof value !== "number" || !observedAt) continue;
      const chart = charts.get(name) || newChart(name);
      if (!chart) continue;
      chart.data.labels.push(label(observedAt));
      chart.data.datasets[0].data.push(value);
      chart.update();
      chart.canvas.dataset.points = String(chart.data.labels.length);
    }
  }
  if (window.iCityLive && data.entity) window.iCityLive.follow({ system: data.system, kind: "entity" }, changed);
})();
