/*
 * stationpicker.js — the station picker's name box (a scope too large for a list),
 * progressive enhancement only: as a name is typed, the stations whose commune or own
 * name holds it are offered in a <datalist> (GET data-suggest-url?q=…, see
 * broadcaster/webapp/units.py). Choosing one puts its full name ("Đài truyền thanh
 * phường Thành Sen, Hà Tĩnh") in the box, which the server resolves to one station.
 * Without JavaScript the box still takes a typed name; the list form needs no script.
 *
 *   <input type="text" name="station_name" data-station-picker list="station-suggestions"
 *          data-suggest-url="/units/stations.json">
 *   <datalist id="station-suggestions">…</datalist>   (the server's candidates, if any)
 */
(function () {
  "use strict";

  function Suggest(input) {
    this.input = input;
    this.url = input.getAttribute("data-suggest-url");
    this.timer = null;
    this.asked = "";
    // the page's own datalist (the candidates of an ambiguous name), else a new one
    this.list = document.getElementById(input.getAttribute("list") || "");
    if (!this.list) {
      this.list = document.createElement("datalist");
      this.list.id = (input.id || "station") + "-suggestions";
      input.parentNode.insertBefore(this.list, input.nextSibling);
      input.setAttribute("list", this.list.id);
    }
    var self = this;
    input.addEventListener("input", function () {
      window.clearTimeout(self.timer);
      self.timer = window.setTimeout(function () { self.lookup(); }, 200);
    });
  }

  Suggest.prototype.lookup = function () {
    var self = this;
    var q = this.input.value.trim();
    if (q.length < 2 || q === this.asked) return;
    this.asked = q;
    window
      .fetch(this.url + "?q=" + encodeURIComponent(q), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
      .then(function (response) { return response.ok ? response.json() : { stations: [] }; })
      .then(function (body) {
        if (self.input.value.trim() !== q) return; // a later keystroke wins
        self.list.textContent = "";
        body.stations.forEach(function (station) {
          var option = document.createElement("option");
          option.value = station.label;
          self.list.appendChild(option);
        });
      })
      .catch(function () { /* no suggestions: the typed name still works */ });
  };

  function init() {
    document
      .querySelectorAll('input[type="text"][data-station-picker][data-suggest-url]')
      .forEach(function (input) {
        if (!input.stationSuggest) input.stationSuggest = new Suggest(input);
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
