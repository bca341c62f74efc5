/*
 * reports.js — the compliance report's filters, progressive enhancement only: shows the
 * period fields of the chosen kind (the month list for a month, the quarter list for a
 * quarter, the two days for a custom range…) and hides the others. Without JavaScript
 * every field is shown, each saying which kind it is for, and the kind decides.
 */
(function () {
  "use strict";

  function init() {
    var form = document.getElementById("report-filters");
    if (!form) return;
    var kind = form.querySelector("#kind");
    var parts = form.querySelectorAll("[data-for-kinds]");
    if (!kind) return;

    function sync() {
      parts.forEach(function (part) {
        var kinds = part.getAttribute("data-for-kinds").split(" ");
        part.hidden = kinds.indexOf(kind.value) < 0;
      });
    }

    kind.addEventListener("change", sync);
    sync();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
