/* Scripts pages (tin bài): progressive enhancement only; every form works without this.
 * - the editor's spoken form (dạng đọc) follows the text as it is typed (debounced POST);
 * - "Nghe" renders the audio with fetch and puts a player in the page. */
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  function showWarnings(warnings) {
    var list = document.getElementById("spoken-warnings");
    if (!list) return;
    list.textContent = "";
    warnings.forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
    list.hidden = warnings.length === 0;
  }

  function liveSpoken(form) {
    var body = form.querySelector("#body");
    var out = document.getElementById("spoken");
    var url = form.getAttribute("data-spoken-url");
    if (!body || !out || !url || !window.fetch) return;
    var timer = null;
    var asked = 0;

    function ask() {
      var mine = ++asked;
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "Accept": "application/json",
          "X-CSRFToken": csrfToken(form)
        },
        body: JSON.stringify({ text: body.value })
      })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (mine !== asked) return; // an older answer arriving late
          out.textContent = typeof data.spoken === "string" ? data.spoken : (data.error || out.getAttribute("data-error"));
          showWarnings(data.warnings || []);
        })
        .catch(function () {
          if (mine === asked) out.textContent = out.getAttribute("data-error");
        });
    }

    body.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 400);
    });
    if (body.value && !out.textContent) ask();
  }

  function listen(form) {
    var status = document.getElementById("listen-status");
    var player = document.getElementById("listen-player");
    var button = form.querySelector('button[type="submit"]');
    if (!status || !player || !window.fetch || !window.FormData) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      status.textContent = status.getAttribute("data-busy");
      if (button) button.disabled = true;
      fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": csrfToken(form) },
        body: new FormData(form)
      })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.url) {
            var audio = document.createElement("audio");
            audio.controls = true;
            audio.id = "listen-audio";
            audio.src = data.url;
            audio.setAttribute("data-sha", data.sha256);
            player.textContent = "";
            player.appendChild(audio);
            status.textContent = data.voice || ""; // which voice spoke, and whose names
            audio.play().catch(function () { /* autoplay refused: the controls are there */ });
          } else {
            status.textContent = data.error || "";
          }
        })
        .catch(function () { form.submit(); }) // fall back to the page round trip
        .then(function () { if (button) button.disabled = false; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var editor = document.getElementById("script-editor");
    if (editor) liveSpoken(editor);
    var listenForm = document.getElementById("form-listen");
    if (listenForm) listen(listenForm);
  });
})();
