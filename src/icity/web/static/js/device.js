// A device's page under /manage: a chart per numeric attribute of the entity it reports into; live,
// its latest values change, its status turns "reporting" and each chart gains the point pushed
// (the portal's live stream, /live/events, when the page has it).
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("device-data").textContent);
  const charts = new Map();
  const label = (time) => time.slice(0, 16).replace("T", " ");
  if (typeof Chart !== "undefined") {
    for (const canvas of document.querySelectorAll("canvas[data-attribute]")) {
      const points = data.charts[canvas.dataset.attribute] || [];
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
  }

  function changed(change) {
    if (change.id !== data.entity || !change.entity) return;
    const observedAt = change.entity.observedAt;
    const status = document.querySelector("#device-status [data-testid=device-status]");
    status.className = "badge device-reporting";
    status.textContent = "reporting";
    if (observedAt) {
      const time = document.createElement("time");
      time.dateTime = observedAt;
      time.textContent = label(observedAt) + " UTC";
      document.getElementById("device-last-seen").replaceChildren(time);
      const observed = document.getElementById("entity-observed");
      if (observed) observed.replaceChildren(time.cloneNode(true));
    }
    for (const name of change.changed || Object.keys(change.entity)) {
      const value = change.entity[name];
      const shown = document.querySelector('#latest-values dd[data-attribute="' + CSS.escape(name) + '"]');
      if (shown) shown.textContent = typeof value === "object" ? JSON.stringify(value) : String(value);
      const chart = charts.get(name);
      if (chart && typeof value === "number" && observedAt) {
        chart.data.labels.push(label(observedAt));
        chart.data.datasets[0].data.push(value);
        chart.update();
        chart.canvas.dataset.points = String(chart.data.labels.length);
      }
    }
  }
  if (window.iCityLive && data.entity) window.iCityLive.follow({ system: data.system, kind: "entity" }, changed);
})();
