// Emergency pages, progressive enhancement only (every page works without this file):
// - the watch page refreshes its totals and station table every 5 s from its JSON;
// - the send form says how many stations the chosen units hold on its button;
// - "Xem cách đọc" and "Nghe thử" answer in place (without this file the page comes back).
(function () {
  "use strict";

  var BADGE = { waiting: "pending", picked_up: "planned", playing: "running", active: "running", done: "aired", expired: "ended" };

  function badge(status) { return BADGE[status] || status; }

  function cell(label, text) {
    var td = document.createElement("td");
    td.setAttribute("data-label", label);
    td.textContent = text === null || text === undefined || text === "" ? "—" : String(text);
    return td;
  }

  function labels(table) {
    return Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
  }

  function setText(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }

  function number(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  }

  function render(watch, data) {
    var table = document.getElementById("emergency-deliveries");
    if (!table) { return; }
    var names = labels(table);
    var tbody = table.querySelector("tbody");
    var rows = document.createDocumentFragment();
    data.stations.forEach(function (d) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-station", d.code);
      tr.setAttribute("data-status", d.status);
      var code = document.createElement("td");
      code.setAttribute("data-label", names[0]);
      var link = document.createElement("a");
      link.href = "/stations/" + encodeURIComponent(d.code);
      link.textContent = d.code;
      code.appendChild(link);
      tr.appendChild(code);
      tr.appendChild(cell(names[1], d.name));
      var status = document.createElement("td");
      status.setAttribute("data-label", names[2]);
      var span = document.createElement("span");
      span.className = "badge " + badge(d.status);
      span.textContent = d.status_label;
      status.appendChild(span);
      tr.appendChild(status);
      tr.appendChild(cell(names[3], d.connected ? watch.getAttribute("data-connected-label") : null));
      tr.appendChild(cell(names[4], d.picked_up_at));
      tr.appendChild(cell(names[5], d.playing_at));
      tr.appendChild(cell(names[6], d.aired_at));
      tr.appendChild(cell(names[7], d.seconds_to_air === null ? null : number(d.seconds_to_air)));
      rows.appendChild(tr);
    });
    tbody.replaceChildren(rows);
    setText("total-connected", number(data.totals.connected));
    setText("total-picked-up", number(data.totals.picked_up));
    setText("total-aired", number(data.totals.aired));
    var state = document.getElementById("emergency-state");
    if (state) {
      state.textContent = data.emergency.state_label;
      state.className = "badge " + badge(data.emergency.state);
    }
    setText("emergency-refreshed", new Date().toLocaleTimeString());
    watch.setAttribute("data-state", data.emergency.state);
  }

  function watch() {
    var section = document.getElementById("emergency-watch");
    if (!section || !window.fetch) { return; }
    var url = section.getAttribute("data-json-url");
    function tick() {
      if (document.hidden) { return; }
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) { render(section, data); } })
        .catch(function () { /* the reload link still works */ });
    }
    window.setInterval(tick, 5000);
  }

  function reach() {
    var form = document.getElementById("emergency-form");
    var button = document.getElementById("emergency-send");
    var units = document.getElementById("units");
    if (!form || !button || !units || !window.fetch) { return; }
    var url = form.getAttribute("data-reach-url");
    var timer = null;
    function update() {
      fetch(url + "?units=" + encodeURIComponent(units.value), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          button.textContent = data.stations
            ? button.getAttribute("data-label-some").replace("__N__", number(data.stations))
            : button.getAttribute("data-label-unknown");
          var hint = document.getElementById("emergency-connected");
          if (hint) {
            hint.textContent = data.stations
              ? hint.getAttribute("data-label").replace("__K__", number(data.connected))
                  .replace("__N__", number(data.stations))
              : "";
          }
        })
        .catch(function () {});
    }
    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 400);
    }
    units.addEventListener("input", later);
    units.addEventListener("change", later);
  }

  function show(id, value) {
    var el = document.getElementById(id);
    if (!el) { return; }
    el.textContent = value || "";
    el.hidden = !value;
  }

  function shown(answer) {
    show("spoken", answer.spoken);
    show("spoken-names", answer.names);
    var list = document.getElementById("spoken-warnings");
    if (list) {
      var items = document.createDocumentFragment();
      (answer.warnings || []).forEach(function (w) {
        var li = document.createElement("li");
        li.textContent = w;
        items.appendChild(li);
      });
      list.replaceChildren(items);
      list.hidden = !(answer.warnings || []).length;
    }
    var player = document.getElementById("listen-player");
    if (player && answer.audio_url) {
      var audio = document.createElement("audio");
      audio.controls = true;
      audio.id = "listen-audio";
      audio.src = answer.audio_url;
      player.replaceChildren(audio);
      audio.play().catch(function () { /* autoplay refused: the controls are there */ });
    }
  }

  function heard() {
    var form = document.getElementById("emergency-form");
    var status = document.getElementById("listen-status");
    if (!form || !status || !window.fetch || !window.FormData) { return; }
    function roundTrip(action) { // the page itself shows errors beside their fields
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "action";
      input.value = action;
      form.appendChild(input);
      form.submit();
    }
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      var action = button && button.value;
      if (action !== "preview" && action !== "listen") { return; }
      event.preventDefault();
      var data = new FormData(form);
      data.set("action", action);
      status.textContent = action === "listen" ? status.getAttribute("data-busy") : "";
      button.disabled = true;
      fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        body: data
      })
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          var errors = answer.errors || {};
          var others = Object.keys(errors).filter(function (k) { return k !== "listen"; });
          if (others.length) { roundTrip(action); return; }
          shown(answer);
          status.textContent = errors.listen || answer.voice || ""; // which voice spoke
        })
        .catch(function () { roundTrip(action); })
        .then(function () { button.disabled = false; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { watch(); reach(); heard(); });
})();
