// The dashboard's own script: charts, confirmations, copy buttons. No inline script is
// allowed by the pages' policy, so every behaviour hangs on data-* attributes.
(function () {
  "use strict";

  var PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

  function drawCharts(root) {
    if (typeof window.Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.rendered) return;
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      var spec = JSON.parse(source.textContent);
      var box = canvas.parentElement;
      if (box && box.dataset.height) box.style.height = box.dataset.height + "px";
      var datasets = (spec.datasets || []).map(function (d, i) {
        var colour = d.color || PALETTE[i % PALETTE.length];
        var filled = spec.type === "bar" || spec.type === "doughnut" || spec.type === "pie";
        var out = Object.assign({ borderColor: colour, backgroundColor: colour, borderWidth: filled ? 0 : 2, tension: 0.2 }, d);
        if ((spec.type === "doughnut" || spec.type === "pie") && !d.backgroundColor) {
          out.backgroundColor = (d.data || []).map(function (_, j) { return PALETTE[j % PALETTE.length]; });
        }
        delete out.color;
        return out;
      });
      var options = Object.assign({
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: datasets.length > 1 || spec.type === "doughnut" } }
      }, spec.options || {});
      var chart = new window.Chart(canvas, { type: spec.type || "bar", data: { labels: spec.labels || [], datasets: datasets }, options: options });
      var points = datasets.reduce(function (n, d) { return n + (d.data || []).length; }, 0);
      canvas.dataset.rendered = "1";
      canvas.dataset.points = String(points);
      canvas._chart = chart;
    });
  }

  // A question before a change that cannot be undone: data-confirm on the form, or on
  // the button that submits it. Asked once, before htmx or the browser sends anything.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var button = event.submitter;
    var question = form.dataset.confirm || (button && button.dataset ? button.dataset.confirm : "");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // htmx swaps nothing on an error answer: say it where the person is looking.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail && event.detail.xhr;
    var main = document.getElementById("main");
    if (!main) return;
    var note = document.getElementById("request-error") || document.createElement("p");
    note.id = "request-error";
    note.className = "error";
    note.setAttribute("role", "alert");
    var status = xhr ? xhr.status : 0;
    note.textContent = status === 403
      ? "This was refused: your role cannot do it, or the page is out of date. Reload the page and try again."
      : "This did not work (the server answered " + status + "). Reload the page and try again.";
    main.insertBefore(note, main.firstChild);
  });

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var target = document.getElementById(button.dataset.copy);
    if (!target) return;
    var text = target.value !== undefined ? target.value : target.textContent;
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { target.select && target.select(); });
    } else if (target.select) {
      target.select();
      document.execCommand("copy");
      done();
    }
  });

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
})();
