// Draws the charts of the course and student pages with Chart.js (static/vendor/chartjs/), from
// the figures the page carries in JSON <script> elements (Django's json_script): the Content
// Security Policy allows no inline script. Each chart's table beside it is what a screen reader
// reads; the canvas is hidden from it.
(function () {
  "use strict";
  const css = getComputedStyle(document.documentElement);
  const colour = (name) => css.getPropertyValue("--" + name).trim();
  const percent = (value) => value + "%";

  // The attendance threshold as a dashed line across the chart. Chart.js draws none of its own
  // (its annotation plugin would be a second library to ship for one line).
  const thresholdLine = {
    id: "thresholdLine",
    afterDatasetsDraw(chart, _args, options) {
      if (options.value === undefined || options.value === null) return;
      const { ctx, chartArea } = chart;
      const across = chart.options.indexAxis === "y";
      const at = (across ? chart.scales.x : chart.scales.y).getPixelForValue(options.value);
      ctx.save();
      ctx.strokeStyle = colour("ink");
      ctx.lineWidth = 2;
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      if (across) {
        ctx.moveTo(at, chartArea.top);
        ctx.lineTo(at, chartArea.bottom);
      } else {
        ctx.moveTo(chartArea.left, at);
        ctx.lineTo(chartArea.right, at);
      }
      ctx.stroke();
      ctx.restore();
    },
  };

  const percentAxis = { min: 0, max: 100, ticks: { callback: percent } };

  const kinds = {
    // Each week's sessions of the course's students, stacked by status.
    weeks: (data) => ({
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map((series) => ({
          label: series.name,
          data: series.counts,
          backgroundColor: colour(series.status),
        })),
      },
      options: {
        scales: {
          x: { stacked: true, title: { display: true, text: data.axis } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        },
      },
    }),
    // A bar per student, red below the threshold; the threshold's line across. The percentage is
    // in the name too: a bar of 0% is no bar at all.
    students: (data) => ({
      type: "bar",
      data: {
        // Two lines, name then percentage: a phone's chart has no room for both on one.
        labels: data.labels.map((name, at) => [name, data.values[at] === null ? "–" : percent(data.values[at])]),
        datasets: [
          {
            data: data.values,
            backgroundColor: data.below.map((below) => colour(below ? "absent" : "present")),
          },
        ],
      },
      options: {
        indexAxis: "y",
        scales: { x: percentAxis },
        plugins: { legend: { display: false }, thresholdLine: { value: data.threshold } },
      },
    }),
    // A student's percentage week by week.
    trend: (data) => ({
      type: "line",
      data: {
        labels: data.labels,
        datasets: [{ data: data.values, borderColor: colour("brand"), backgroundColor: colour("brand") }],
      },
      options: {
        scales: { x: { title: { display: true, text: data.axis } }, y: percentAxis },
        plugins: { legend: { display: false }, thresholdLine: { value: data.threshold } },
      },
    }),
  };

  Chart.register(thresholdLine);
  Chart.defaults.color = colour("ink");
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  // Room above the top line, so that a point at 100% is not cut in half by the chart's edge.
  Chart.defaults.layout.padding = { top: 8 };

  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const data = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
    const box = canvas.parentElement;
    // A bar per student: the box grows with the class, so that every name has room.
    if (box.dataset.bars) box.style.height = 4 + 2.6 * Number(box.dataset.bars) + "rem";
    new Chart(canvas, kinds[canvas.dataset.kind](data));
  });
})();
