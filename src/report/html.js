(function () {
  "use strict";
  var body = document.body;
  window.onerror = function (message, source, line, column) {
    var entry = String(message) + " at " + line + ":" + column;
    body.dataset.errors = body.dataset.errors ? body.dataset.errors + " | " + entry : entry;
  };

  var findings = Array.prototype.slice.call(document.querySelectorAll(".finding"));
  var text = findings.map(function (f) { return f.textContent.toLowerCase(); });
  var cells = Array.prototype.slice.call(document.querySelectorAll("svg .cell"));
  var kpis = Array.prototype.slice.call(document.querySelectorAll(".kpi"));
  var controls = {
    status: document.getElementById("f-status"),
    severity: document.getElementById("f-severity"),
    check: document.getElementById("f-check"),
    subscription: document.getElementById("f-subscription"),
    text: document.getElementById("f-text")
  };
  var count = document.getElementById("f-count");
  var empty = document.getElementById("f-empty");

  function matches(f, i, query) {
    var status = controls.status.value;
    if (status === "attention") {
      if (f.dataset.settled === "true") { return false; }
    } else if (status && f.dataset.status !== status) {
      return false;
    }
    if (controls.severity.value && f.dataset.severity !== controls.severity.value) { return false; }
    if (controls.check.value && f.dataset.check !== controls.check.value) { return false; }
    if (controls.subscription.value && f.dataset.subscription !== controls.subscription.value) { return false; }
    return !query || text[i].indexOf(query) !== -1;
  }

  function apply() {
    var query = controls.text.value.trim().toLowerCase();
    var shown = 0;
    findings.forEach(function (f, i) {
      var ok = matches(f, i, query);
      f.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = "Showing " + shown + " of " + findings.length + " findings";
    empty.hidden = shown !== 0;
    cells.forEach(function (c) {
      var selected = c.dataset.subscription === controls.subscription.value &&
        c.dataset.check === controls.check.value;
      c.classList.toggle("selected", selected);
    });
    kpis.forEach(function (k) {
      k.classList.toggle("active", k.dataset.status === controls.status.value);
    });
  }

  function show(filters) {
    Object.keys(controls).forEach(function (key) {
      if (key !== "text") { controls[key].value = filters[key] || ""; }
    });
    controls.text.value = "";
    apply();
    document.getElementById("findings").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  Object.keys(controls).forEach(function (key) {
    controls[key].addEventListener(key === "text" ? "input" : "change", apply);
  });
  document.getElementById("f-reset").addEventListener("click", function () { show({}); });
  cells.forEach(function (c) {
    var open = function () {
      show({ subscription: c.dataset.subscription, check: c.dataset.check });
    };
    c.addEventListener("click", open);
    c.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); }
    });
  });
  kpis.forEach(function (k) {
    k.addEventListener("click", function () { show({ status: k.dataset.status }); });
  });

  // A link can preset the filters: report.html#status=fail&subscription=<id>&check=AKS-020&q=text
  var preset = {};
  window.location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
    var at = pair.indexOf("=");
    if (at > 0) {
      try {
        preset[decodeURIComponent(pair.slice(0, at))] = decodeURIComponent(pair.slice(at + 1));
      } catch (e) {
        // A malformed link only loses its filter.
      }
    }
  });
  ["status", "severity", "check", "subscription"].forEach(function (key) {
    if (preset[key]) { controls[key].value = preset[key]; }
  });
  if (preset.q) { controls.text.value = preset.q; }

  apply();
  body.dataset.ready = "true";
})();
