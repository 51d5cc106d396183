(function () {
  "use strict";
  var body = document.body;
  window.onerror = function (message, source, line, column) {
    var entry = String(message) + " at " + line + ":" + column;
    body.dataset.errors = body.dataset.errors ? body.dataset.errors + " | " + entry : entry;
  };

  // The report's data (see html.rs: `Data`, `Row`). Status and severity numbers index these
  // lists, which are html.rs's STATUSES and SEVERITIES.
  var STATUSES = ["pass", "warn", "fail", "not_applicable", "unknown", "waived"];
  var LABELS = ["pass", "warn", "fail", "not applicable", "unknown", "waived"];
  var SEVERITIES = ["info", "low", "medium", "high"];
  // Lower is worse: fail, unknown, warn, waived, pass, not applicable.
  var URGENCY = [4, 2, 0, 5, 1, 3];
  var SETTLED = [true, false, false, true, false, true];
  var PAGE = 100;
  var GRID_PAGE = 25;
  var SVG = "http://www.w3.org/2000/svg";

  var data = JSON.parse(document.getElementById("lz-data").textContent);
  var rows = data.findings;
  var subs = data.subscriptions;
  var checks = data.checks;
  var subIndex = {};
  subs.forEach(function (s, i) { subIndex[s[0]] = i; });
  var checkIndex = {};
  checks.forEach(function (c, i) { checkIndex[c[0]] = i; });

  function num(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function subName(i) { return subs[i][1] || subs[i][0]; }
  function resourceOf(r) { return r[4] & 1 ? "/subscriptions/" + subs[r[3]][0] + r[5] : r[5]; }
  function labelOf(r) {
    if (r[4] & 2) { return "(subscription)"; }
    var id = resourceOf(r).replace(/\/+$/, "");
    return id.slice(id.lastIndexOf("/") + 1);
  }

  // Elements, with data only ever as text or attribute values.
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    appendTo(node, attrs, children);
    return node;
  }
  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVG, tag);
    appendTo(node, attrs, children);
    return node;
  }
  function appendTo(node, attrs, children) {
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
  }

  // ---- Findings: filtered over all rows, drawn one page at a time.
  var controls = {
    status: document.getElementById("f-status"),
    severity: document.getElementById("f-severity"),
    check: document.getElementById("f-check"),
    subscription: document.getElementById("f-subscription"),
    text: document.getElementById("f-text")
  };
  var list = document.getElementById("f-list");
  var count = document.getElementById("f-count");
  var empty = document.getElementById("f-empty");
  var pageLabel = document.getElementById("f-page");
  var prev = document.getElementById("f-prev");
  var next = document.getElementById("f-next");
  var kpis = Array.prototype.slice.call(document.querySelectorAll(".kpi"));
  var matching = [];
  var page = 0;

  // Lower-cased text to search, built on the first search: each table entry once, and the
  // resource of a row when it is first looked at.
  var search = null;
  function searchText() {
    if (search) { return search; }
    var lower = function (s) { return String(s === null || s === undefined ? "" : s).toLowerCase(); };
    search = {
      messages: data.messages.map(lower),
      evidence: data.evidence.map(function (list) {
        return lower(list.map(function (e) {
          return [e.property, JSON.stringify(e.observed), e.expected, e.resource || "", e.note || ""].join(" ");
        }).join(" "));
      }),
      subs: subs.map(function (s) { return lower(s[1] + " " + s[0]); }),
      checks: checks.map(function (c) { return lower(c[0] + " " + c[1]); }),
      resources: new Array(rows.length)
    };
    return search;
  }
  function hasText(r, i, query) {
    var t = searchText();
    if (t.resources[i] === undefined) { t.resources[i] = resourceOf(r).toLowerCase(); }
    return t.resources[i].indexOf(query) !== -1 ||
      t.messages[r[6]].indexOf(query) !== -1 ||
      t.checks[r[2]].indexOf(query) !== -1 ||
      t.subs[r[3]].indexOf(query) !== -1 ||
      t.evidence[r[7]].indexOf(query) !== -1 ||
      LABELS[r[0]].indexOf(query) !== -1 ||
      SEVERITIES[r[1]] === query ||
      (r[9] !== null && r[9].join(" ").toLowerCase().indexOf(query) !== -1);
  }

  function filter() {
    var status = controls.status.value;
    var statusAt = STATUSES.indexOf(status);
    var severityAt = SEVERITIES.indexOf(controls.severity.value);
    var checkAt = controls.check.value ? checkIndex[controls.check.value] : -1;
    var subAt = controls.subscription.value ? subIndex[controls.subscription.value] : -1;
    if (checkAt === undefined) { checkAt = -2; }
    if (subAt === undefined) { subAt = -2; }
    var query = controls.text.value.trim().toLowerCase();
    var out = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (status === "attention") {
        if (SETTLED[r[0]]) { continue; }
      } else if (status && r[0] !== statusAt) {
        continue;
      }
      if (controls.severity.value && r[1] !== severityAt) { continue; }
      if (checkAt !== -1 && r[2] !== checkAt) { continue; }
      if (subAt !== -1 && r[3] !== subAt) { continue; }
      if (query && !hasText(r, i, query)) { continue; }
      out.push(i);
    }
    return out;
  }

  function evidenceTable(list) {
    var tbody = el("tbody");
    list.forEach(function (e) {
      var observed;
      if (e.observed === null) {
        observed = el("em", {}, ["absent"]);
      } else if (typeof e.observed === "object") {
        observed = el("pre", {}, [JSON.stringify(e.observed, null, 2)]);
      } else {
        observed = el("code", {}, [JSON.stringify(e.observed)]);
      }
      var property = [el("code", {}, [e.property])];
      if (e.resource) {
        property.push(el("br"), el("small", {}, ["on ", el("code", {}, [e.resource])]));
      }
      if (e.note) { property.push(el("br"), el("small", {}, [e.note])); }
      tbody.appendChild(el("tr", {}, [el("td", {}, property), el("td", {}, [observed]), el("td", {}, [e.expected])]));
    });
    return el("div", {}, [
      el("h4", {}, ["Evidence"]),
      el("table", { "class": "evidence" }, [
        el("thead", {}, [el("tr", {}, [el("th", {}, ["Property"]), el("th", {}, ["Observed"]), el("th", {}, ["Expected"])])]),
        tbody
      ])
    ]);
  }

  function article(r) {
    var status = STATUSES[r[0]];
    var severity = SEVERITIES[r[1]];
    var check = checks[r[2]];
    var resource = resourceOf(r);
    var parts = [el("div", {}, [el("h4", {}, ["Resource"]), el("code", {}, [resource])])];
    if (r[9] !== null) {
      var w = r[9];
      parts.push(el("div", { "class": "waiver" }, [
        el("strong", {}, ["Waived"]), " (really " + w[0] + ") until " + w[2] + ": " + w[1] + " ",
        el("small", {}, ["— " + w[3] + " at ", el("code", {}, [w[4]])])
      ]));
    }
    if (data.evidence[r[7]].length) { parts.push(evidenceTable(data.evidence[r[7]])); }
    if (r[8] >= 0) {
      var fix = document.getElementById("fix-" + r[8]);
      parts.push(el("div", {}, [el("h4", {}, ["Remediation"]), fix.content.cloneNode(true)]));
    }
    return el("article", {
      "class": "finding s-" + status,
      "data-status": status,
      "data-settled": String(SETTLED[r[0]]),
      "data-severity": severity,
      "data-check": check[0],
      "data-subscription": subs[r[3]][0]
    }, [
      el("header", {}, [
        el("span", { "class": "pill" }, [LABELS[r[0]]]),
        el("span", { "class": "sev sev-" + severity }, [severity]),
        el("a", { "class": "check", href: "#check-" + check[0] }, [check[0]]),
        el("span", { "class": "title" }, [check[1]])
      ]),
      el("div", { "class": "where" }, [el("span", { title: resource }, [labelOf(r)]), " · " + subName(r[3])]),
      el("p", { "class": "msg" }, [data.messages[r[6]]]),
      el("details", {}, [el("summary", {}, ["Evidence and remediation"]), el("div", { "class": "body" }, parts)])
    ]);
  }

  function drawFindings() {
    var pages = Math.max(1, Math.ceil(matching.length / PAGE));
    page = Math.min(Math.max(page, 0), pages - 1);
    var from = page * PAGE;
    var to = Math.min(from + PAGE, matching.length);
    var fragment = document.createDocumentFragment();
    for (var i = from; i < to; i++) { fragment.appendChild(article(rows[matching[i]])); }
    list.replaceChildren(fragment);
    if (matching.length === 0) {
      count.textContent = "Showing 0 of " + num(rows.length) + " findings";
    } else {
      count.textContent = "Showing " + num(from + 1) + "–" + num(to) + " of " + num(matching.length) +
        (matching.length === rows.length ? " findings" : " matching findings (" + num(rows.length) + " in total)");
    }
    empty.hidden = matching.length !== 0;
    pageLabel.textContent = "Page " + num(page + 1) + " of " + num(pages);
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
    prev.parentNode.hidden = pages <= 1;
  }

  function apply() {
    matching = filter();
    page = 0;
    drawFindings();
    kpis.forEach(function (k) {
      k.classList.toggle("active", k.dataset.status === controls.status.value);
    });
    markSelected();
  }

  function show(filters) {
    Object.keys(controls).forEach(function (key) {
      if (key !== "text") { controls[key].value = filters[key] || ""; }
    });
    controls.text.value = "";
    apply();
    document.getElementById("findings").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function debounced(run) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(run, 150);
    };
  }

  Object.keys(controls).forEach(function (key) {
    if (key === "text") {
      controls.text.addEventListener("input", debounced(apply));
    } else {
      controls[key].addEventListener("change", apply);
    }
  });
  document.getElementById("f-reset").addEventListener("click", function () { show({}); });
  prev.addEventListener("click", function () { page -= 1; drawFindings(); });
  next.addEventListener("click", function () { page += 1; drawFindings(); });
  kpis.forEach(function (k) {
    k.addEventListener("click", function () { show({ status: k.dataset.status }); });
  });

  // ---- The grid: per subscription and check, finding counts by status; one page of rows.
  var C = checks.length;
  var cellCounts = new Uint32Array(subs.length * C * STATUSES.length);
  var fails = new Uint32Array(subs.length);
  var unknowns = new Uint32Array(subs.length);
  rows.forEach(function (r) {
    cellCounts[(r[3] * C + r[2]) * STATUSES.length + r[0]] += 1;
    if (r[0] === 2) { fails[r[3]] += 1; }
    if (r[0] === 4) { unknowns[r[3]] += 1; }
  });
  var grid = document.getElementById("grid");
  var gridOrder = document.getElementById("g-order");
  var gridText = document.getElementById("g-text");
  var gridRange = document.getElementById("g-range");
  var gridPrev = document.getElementById("g-prev");
  var gridNext = document.getElementById("g-next");
  var gridRows = [];
  var gridPage = 0;

  // The geometry of the static grid it replaces: cells shrink as checks are added, down to a
  // minimum; past that the card scrolls sideways.
  var longest = 0;
  subs.forEach(function (s, i) { longest = Math.max(longest, subName(i).length); });
  var labelChars = Math.min(Math.max(longest, 12), 30);
  var labelW = 7.2 * labelChars + 16;
  var pitch = Math.floor(Math.min(Math.max((1200 - labelW - 70) / Math.max(C, 1), 17), 33));
  var cell = Math.floor(pitch * 0.84);
  var headH = 74;
  var rowH = Math.max(cell + 12, 34);

  function ellipsis(s, max) { return s.length <= max ? s : s.slice(0, max - 1) + "…"; }

  function cellState(sub, check) {
    var base = (sub * C + check) * STATUSES.length;
    var worst = -1;
    var parts = [];
    [2, 4, 1, 5, 0, 3].forEach(function (s) {
      var n = cellCounts[base + s];
      if (n > 0) {
        if (worst === -1) { worst = s; }
        parts.push(n + " " + LABELS[s]);
      }
    });
    return worst === -1 ? ["none", "no finding"] : [STATUSES[worst], parts.join(", ")];
  }

  function chooseGridRows() {
    var query = gridText.value.trim().toLowerCase();
    var out = [];
    for (var i = 0; i < subs.length; i++) {
      if (!query || (subs[i][1] + " " + subs[i][0]).toLowerCase().indexOf(query) !== -1) { out.push(i); }
    }
    if (gridOrder.value === "worst") {
      out.sort(function (a, b) { return (fails[b] - fails[a]) || (unknowns[b] - unknowns[a]) || (a - b); });
    }
    gridRows = out;
    gridPage = 0;
    drawGrid();
  }

  function drawGrid() {
    var pages = Math.max(1, Math.ceil(gridRows.length / GRID_PAGE));
    gridPage = Math.min(Math.max(gridPage, 0), pages - 1);
    var shown = gridRows.slice(gridPage * GRID_PAGE, (gridPage + 1) * GRID_PAGE);
    var width = Math.ceil(labelW + pitch * C + 70);
    var height = headH + rowH * shown.length + 6;
    grid.setAttribute("viewBox", "0 0 " + width + " " + height);
    grid.setAttribute("width", width);
    grid.setAttribute("height", height);
    var fragment = document.createDocumentFragment();
    checks.forEach(function (c, i) {
      var x = labelW + pitch * i + cell / 2;
      fragment.appendChild(svg("text", { "class": "col", transform: "translate(" + x + " " + (headH - 8) + ") rotate(-55)" },
        [c[0], svg("title", {}, [c[0] + ": " + c[1]])]));
    });
    shown.forEach(function (s, r) {
      var y = headH + rowH * r;
      var id = subs[s][0];
      var row = svg("g", { "class": "row", "data-subscription": id }, [
        svg("text", { "class": "label", x: 0, y: y + 14 }, [ellipsis(subName(s), labelChars), svg("title", {}, [subName(s)])]),
        svg("text", { "class": "mono", x: 0, y: y + 28 }, [id.slice(0, 8)])
      ]);
      var any = false;
      checks.forEach(function (c, i) {
        var state = cellState(s, i);
        any = any || state[0] !== "none";
        row.appendChild(svg("rect", {
          "class": "cell f-" + state[0], x: labelW + pitch * i, y: y + 3, width: cell, height: cell, rx: 3,
          tabindex: 0, role: "button", "data-subscription": id, "data-check": c[0], "data-status": state[0]
        }, [svg("title", {}, [subName(s) + " · " + c[0] + " " + c[1] + ": " + state[1]])]));
      });
      var x = labelW + pitch * C + 8;
      if (fails[s] > 0) {
        row.appendChild(svg("text", { "class": "fail-count", x: x, y: y + 7 + cell / 2 }, [fails[s] + " fail"]));
      } else if (any) {
        row.appendChild(svg("text", { "class": "ok-count", x: x, y: y + 7 + cell / 2 }, ["no fails"]));
      }
      fragment.appendChild(row);
    });
    grid.replaceChildren(fragment);
    var from = gridRows.length ? gridPage * GRID_PAGE + 1 : 0;
    gridRange.textContent = "Subscriptions " + num(from) + "–" + num(from + shown.length - (shown.length ? 1 : 0)) +
      " of " + num(gridRows.length) + (gridRows.length === subs.length ? "" : " matching");
    gridPrev.disabled = gridPage === 0;
    gridNext.disabled = gridPage >= pages - 1;
    markSelected();
  }

  function markSelected() {
    Array.prototype.forEach.call(grid.querySelectorAll(".cell"), function (c) {
      c.classList.toggle("selected", c.dataset.subscription === controls.subscription.value &&
        c.dataset.check === controls.check.value);
    });
  }

  function openCell(target) {
    if (target && target.classList && target.classList.contains("cell")) {
      show({ subscription: target.dataset.subscription, check: target.dataset.check });
    }
  }
  grid.addEventListener("click", function (e) { openCell(e.target.closest ? e.target.closest(".cell") : e.target); });
  grid.addEventListener("keydown", function (e) {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openCell(e.target); }
  });
  gridOrder.addEventListener("change", chooseGridRows);
  gridText.addEventListener("input", debounced(chooseGridRows));
  gridPrev.addEventListener("click", function () { gridPage -= 1; drawGrid(); });
  gridNext.addEventListener("click", function () { gridPage += 1; drawGrid(); });

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

  chooseGridRows();
  apply();
  body.dataset.ready = "true";
})();
