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
