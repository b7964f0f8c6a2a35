// moesim dashboard: small enhancements over server-rendered pages (every page works without
// them): file picking and drag-and-drop into the config box, extra key/value and filter rows,
// the wizard's steps, fields shown for the choices made, inline regex checks, and charts.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function readInto(file, textarea) {
    const reader = new FileReader();
    reader.onload = function () { textarea.value = reader.result; textarea.dispatchEvent(new Event("input")); };
    reader.readAsText(file);
  }

  function setUpFiles(root) {
    root.querySelectorAll("input[type=file][data-into]").forEach(function (input) {
      input.addEventListener("change", function () {
        if (input.files.length) readInto(input.files[0], document.getElementById(input.dataset.into));
      });
    });
    root.querySelectorAll("[data-drop-into]").forEach(function (zone) {
      const target = document.getElementById(zone.dataset.dropInto);
      zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("dragging"); });
      zone.addEventListener("dragleave", function () { zone.classList.remove("dragging"); });
      zone.addEventListener("drop", function (e) {
        e.preventDefault(); zone.classList.remove("dragging");
        if (e.dataTransfer.files.length) readInto(e.dataTransfer.files[0], target);
      });
    });
  }

  document.addEventListener("click", function (e) {
    const add = e.target.closest("[data-add-row]");
    if (add) {
      const rows = add.parentElement.querySelectorAll(".kv-row");
      const copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      add.before(copy);
      copy.querySelector("input").focus();
    }
    const addTr = e.target.closest("[data-add-tr]");
    if (addTr) {
      const body = document.querySelector('[data-rows="' + addTr.dataset.addTr + '"]');
      const copy = body.lastElementChild.cloneNode(true);
      copy.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      body.append(copy);
      copy.querySelector("select, input").focus();
    }
  });

  // Wizard steps: one step shown at a time; the buttons move between them.
  function setUpSteps(root) {
    root.querySelectorAll("[data-steps]").forEach(function (nav) {
      const buttons = nav.querySelectorAll("[data-step]");
      const panels = document.querySelectorAll("[data-step-panel]");
      function show(n) {
        panels.forEach(function (p) { p.hidden = p.dataset.stepPanel !== n; });
        buttons.forEach(function (b) {
          if (b.dataset.step === n) b.setAttribute("aria-current", "step"); else b.removeAttribute("aria-current");
        });
      }
      buttons.forEach(function (b) { b.addEventListener("click", function () { show(b.dataset.step); }); });
      // With errors, open the first step that has one.
      const firstError = document.querySelector("[data-step-panel] .field-error");
      show(firstError ? firstError.closest("[data-step-panel]").dataset.stepPanel : "1");
    });
  }

  // data-show-when="name=A|B": shown while the radio/select named ``name`` is A or B.
  function applyShowWhen() {
    document.querySelectorAll("[data-show-when]").forEach(function (el) {
      const [name, values] = el.dataset.showWhen.split("=");
      const form = el.closest("form") || document;
      const checked = form.querySelector('[name="' + name + '"]:checked') || form.querySelector('select[name="' + name + '"]');
      const current = checked ? checked.value : "";
      el.hidden = !values.split("|").includes(current);
    });
  }
  document.addEventListener("change", applyShowWhen);

  // Inline regex checks (the server checks again and has the last word).
  document.addEventListener("input", function (e) {
    const input = e.target;
    if (!input.dataset || !input.dataset.regex) return;
    let ok = true;
    try { ok = input.value === "" || new RegExp(input.dataset.regex).test(input.value); } catch (err) { ok = true; }
    let note = input.parentElement.querySelector(".regex-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "field-error regex-note"; note.setAttribute("aria-live", "polite");
      input.parentElement.append(note);
    }
    note.textContent = ok ? "" : input.dataset.regexText;
    input.setAttribute("aria-invalid", ok ? "false" : "true");
  });

  // Charts: <canvas data-chart='{"type", "labels", "datasets"}'>, redrawn after each swap.
  const palette = ["#1f5fd1", "#b42318", "#17804a", "#9a6700", "#6941c6", "#0e7490", "#c11574"];
  function drawCharts(root) {
    if (!window.Chart) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const spec = JSON.parse(canvas.dataset.chart);
      const old = window.Chart.getChart(canvas);
      if (old) old.destroy();
      new window.Chart(canvas, {
        type: spec.type,
        data: { labels: spec.labels, datasets: spec.datasets.map(function (d, i) {
          const colour = palette[i % palette.length];
          return Object.assign({ backgroundColor: colour, borderColor: colour }, d);
        }) },
        options: { animation: false, responsive: true, maintainAspectRatio: false,
                   plugins: { legend: { display: spec.datasets.length > 1 } },
                   scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    });
  }

  // A config's first error line is scrolled into view inside its listing.
  function showFirstError(root) {
    root.querySelectorAll("ol.json-lines").forEach(function (list) {
      const line = list.querySelector(".has-error");
      if (line) list.scrollTop = line.offsetTop - list.offsetTop - 40;
    });
  }

  function setUp(root) { setUpFiles(root); drawCharts(root); showFirstError(root); }
  document.addEventListener("DOMContentLoaded", function () {
    setUp(document); setUpSteps(document); applyShowWhen();
  });
  document.addEventListener("htmx:afterSwap", function (e) { setUp(e.detail.elt.parentElement || document); applyShowWhen(); });
})();
