// The customer page's usage chart: daily upload and download (MB) from the json_script data.
(function () {
  function showTabOfHash() {
    var tab = location.hash && document.querySelector('[data-bs-target="' + location.hash + '"]');
    if (tab && window.bootstrap) window.bootstrap.Tab.getOrCreateInstance(tab).show();
  }
  function draw() {
    showTabOfHash();
    var canvas = document.getElementById("usage-chart");
    var source = document.getElementById("usage-data");
    if (!canvas || !source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var names = document.getElementById("usage-labels").dataset;
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: names.upload, data: data.upload, backgroundColor: "#fd7e14" },
          { label: names.download, data: data.download, backgroundColor: "#0d6efd" },
        ],
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
