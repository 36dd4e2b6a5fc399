// The developer dashboard's usage chart: calls per day, one line per app and information system.
// Data come from the page (#usage-data); Chart.js from the vendored npm package.
(function () {
  "use strict";
  var source = document.getElementById("usage-data");
  var canvas = document.getElementById("usage-chart");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  var usage = JSON.parse(source.textContent);
  // distinct hues, readable on white
  var colours = ["#1f5fa8", "#b5420e", "#2e7d32", "#6a1b9a", "#00838f", "#8d6e00", "#ad1457", "#37474f"];
  new Chart(canvas, {
    type: "line",
    data: {
      labels: usage.days,
      datasets: usage.series.map(function (series, i) {
        var colour = colours[i % colours.length];
        return { label: series.label, data: series.calls, borderColor: colour, backgroundColor: colour, tension: 0.2 };
      }),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true, title: { display: true, text: "calls" } } },
    },
  });
})();
