// Streams a job run's log into <pre data-log-src="..."> with EventSource.
(function () {
  var pre = document.querySelector("pre[data-log-src]");
  if (!pre || !window.EventSource) { return; }
  var status = document.getElementById("run-status");
  pre.textContent = "";
  var es = new EventSource(pre.getAttribute("data-log-src"));
  es.onmessage = function (ev) {
    var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.appendChild(document.createTextNode(ev.data + "\n"));
    if (atBottom) { pre.scrollTop = pre.scrollHeight; }
  };
  es.addEventListener("end", function (ev) {
    es.close();
    if (status) { status.textContent = ev.data; status.className = "status-" + ev.data; }
    pre.setAttribute("data-done", ev.data);
    // "The job was started." is no longer true once it has ended.
    var flash = document.getElementById("flash");
    if (flash) {
      flash.textContent = "The job finished: " + ev.data + ".";
      flash.className = ev.data === "succeeded" ? "msg ok" : "msg err";
    }
  });
  es.onerror = function () {
    if (es.readyState === EventSource.CLOSED && status) { status.textContent = "log stream closed"; }
  };
})();
// "Select all" for the bulk assess checkboxes on the Vulnerabilities list.
(function () {
  var all = document.getElementById("select-all");
  if (!all) { return; }
  all.addEventListener("change", function () {
    var boxes = document.querySelectorAll("input.pick");
    for (var i = 0; i < boxes.length; i++) { if (!boxes[i].disabled) { boxes[i].checked = all.checked; } }
  });
})();
// Sortable and exportable tables: every table in <main> with a header and
// at least two body rows (unless data-static) gets column headers that sort
// it (buttons: keyboard usable, aria-sort says the order) and buttons that
// export the rows shown as CSV or JSON. Severity cells sort by rating and
// score; numbers as numbers; a cell's data-sort attribute overrides.
(function () {
  var ranks = { MALICIOUS: 7, CRITICAL: 6, HIGH: 5, MEDIUM: 4, LOW: 3, NONE: 2, UNKNOWN: 1 };
  function key(cell) {
    if (!cell) { return ""; }
    var k = cell.getAttribute("data-sort");
    if (k !== null) { return isNaN(parseFloat(k)) ? k : parseFloat(k); }
    var t = cell.textContent.trim();
    var m = t.match(/^(MALICIOUS|CRITICAL|HIGH|MEDIUM|LOW|NONE|UNKNOWN)\b\s*([\d.]+)?/);
    if (m) { return ranks[m[1]] * 100 + (m[2] ? parseFloat(m[2]) : 0); }
    if (/^-?[\d.,]+%?$/.test(t)) { return parseFloat(t.replace(/,/g, "")); }
    return t.toLowerCase();
  }
  function text(cell) { return cell ? cell.textContent.replace(/\s+/g, " ").trim() : ""; }
  function headers(t) {
    var row = t.tHead.rows[t.tHead.rows.length - 1];
    return Array.prototype.map.call(row.cells, function (c) { return text(c).replace(/[↕↑↓]/g, "").trim(); });
  }
  function dataRows(t) {
    var n = t.tHead.rows[t.tHead.rows.length - 1].cells.length;
    return Array.prototype.filter.call(t.tBodies[0].rows, function (r) { return r.cells.length === n; });
  }
  function sortBy(t, th, ci) {
    var asc = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = t.tBodies[0];
    var rows = dataRows(t);
    rows.sort(function (a, b) {
      var x = key(a.cells[ci]), y = key(b.cells[ci]);
      var c = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function download(name, type, content) {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([content], { type: type }));
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }
  function exportTable(t, kind) {
    var hs = headers(t);
    var rows = dataRows(t).map(function (r) { return Array.prototype.map.call(r.cells, text); });
    var name = (t.id || "table") + "." + kind.toLowerCase();
    if (kind === "CSV") {
      var q = function (v) { return /[",\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; };
      download(name, "text/csv", [hs].concat(rows).map(function (r) { return r.map(q).join(","); }).join("\n") + "\n");
    } else {
      download(name, "application/json", JSON.stringify(rows.map(function (r) {
        var o = {};
        hs.forEach(function (h, i) { if (h) { o[h] = r[i]; } });
        return o;
      }), null, 2) + "\n");
    }
  }
  Array.prototype.forEach.call(document.querySelectorAll("main table"), function (t) {
    if (t.hasAttribute("data-static") || !t.tHead || !t.tBodies.length || dataRows(t).length < 2) { return; }
    t.setAttribute("data-sortable", "");
    Array.prototype.forEach.call(t.tHead.rows[t.tHead.rows.length - 1].cells, function (th, ci) {
      var label = th.textContent.trim();
      if (label === "" || th.querySelector("input")) { return; }
      var b = document.createElement("button");
      b.type = "button";
      b.className = "sort";
      b.textContent = label;
      b.title = "Sort by " + label.toLowerCase();
      th.textContent = "";
      th.appendChild(b);
      b.addEventListener("click", function () { sortBy(t, th, ci); });
    });
    var tools = document.createElement("div");
    tools.className = "table-tools";
    ["CSV", "JSON"].forEach(function (kind) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = "Export " + kind;
      b.setAttribute("aria-label", "Export " + (t.id || "this table") + " as " + kind);
      b.addEventListener("click", function () { exportTable(t, kind); });
      tools.appendChild(b);
    });
    t.parentNode.insertBefore(tools, t);
  });
})();
