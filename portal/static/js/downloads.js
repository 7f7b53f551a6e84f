// My downloads: move the progress bars by polling the page's status URL (no inline script: the CSP
// allows only files from the portal itself). Without this file the page still works: the refresh link.
(function () {
  "use strict";
  var POLL_MS = 2000;

  function rowFor(id) { return document.getElementById("job-" + id); }

  function update(job) {
    var row = rowFor(job.id);
    if (!row) { return false; }
    if (job.finished && row.getAttribute("data-finished") === "no") { return true; }  // the page must change
    var bar = document.getElementById("job-" + job.id + "-bar");
    if (bar) { bar.max = job.total || 1; bar.value = job.done; bar.textContent = job.percent + "%"; }
    var count = row.querySelector("[data-count]");
    if (count) { count.textContent = job.count_text; }
    var left = row.querySelector("[data-time-left]");
    if (left) { left.textContent = job.time_left; }
    var state = row.querySelector("[data-state]");
    if (state && !job.finished) { state.textContent = job.state_label; }
    return false;
  }

  function poll(table) {
    var request = new XMLHttpRequest();
    request.open("GET", table.getAttribute("data-status-url"));
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      var data;
      try { data = JSON.parse(request.responseText); } catch (e) { return; }  // signed out: stop quietly
      var reload = false, running = false;
      (data.jobs || []).forEach(function (job) {
        if (update(job)) { reload = true; }
        if (!job.finished) { running = true; }
        if (!rowFor(job.id)) { reload = true; }  // started in another tab
      });
      if (reload) { window.location.reload(); return; }
      if (running) { window.setTimeout(function () { poll(table); }, POLL_MS); }
    };
    request.send();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.querySelector("table[data-status-url]");
    if (table && table.querySelector("tr[data-finished='no']")) {
      window.setTimeout(function () { poll(table); }, POLL_MS);
    }
  });
}());
