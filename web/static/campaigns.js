/*
 * campaigns.js — the campaign form, progressive enhancement only: shows the cadence
 * fields of the chosen mode (times per week, or a fixed weekly pattern) and hides the
 * other's, and the fields of the chosen kind (announcements or a relay). Without
 * JavaScript all are shown and the radio buttons decide.
 */
(function () {
  "use strict";

  function init() {
    var form = document.getElementById("campaign-form");
    if (!form) return;
    var radios = form.querySelectorAll('input[name="mode"]');
    var parts = form.querySelectorAll("#cadence [data-mode]");

    function sync() {
      var mode = "times";
      radios.forEach(function (r) { if (r.checked) mode = r.value; });
      parts.forEach(function (part) { part.hidden = part.getAttribute("data-mode") !== mode; });
    }

    radios.forEach(function (r) { r.addEventListener("change", sync); });
    sync();

    // the campaign's kind (Tin bài / Tiếp âm) shows its own fields only
    var kinds = form.querySelectorAll('input[name="kind"]');
    var kindParts = form.querySelectorAll("[data-kind]");
    function syncKind() {
      var kind = null;
      kinds.forEach(function (r) { if (r.checked) kind = r.value; });
      if (kind === null) return; // editing: the page shows the campaign's kind only
      kindParts.forEach(function (part) { part.hidden = part.getAttribute("data-kind") !== kind; });
    }
    kinds.forEach(function (r) { r.addEventListener("change", syncKind); });
    syncKind();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
