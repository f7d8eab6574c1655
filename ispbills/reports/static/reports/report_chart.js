// A report's chart (bills vs payments): one line per money column over the days, from the
// json_script data the page carries (no inline script, so the CSP holds).
(function () {
  var COLOURS = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1"];
  function draw() {
    var canvas = document.getElementById("report-chart");
    var source = document.getElementById("report-chart-data");
    if (!canvas || !source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (series, index) {
          return {
            label: series.label,
            data: series.data.map(Number),
            borderColor: COLOURS[index % COLOURS.length],
            backgroundColor: COLOURS[index % COLOURS.length],
            tension: 0.2,
          };
        }),
      },
      options: { responsive: true, scales: { y: { beginAtZero: true } } },
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
