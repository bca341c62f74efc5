/*
 * campaigns.js — the campaign form, progressive enhancement only: shows the cadence
 * fields of the chosen mode (times per week, or a fixed weekly pattern) and hides the
 * other's. Without JavaScript both are shown and the radio button decides.
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
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
