/* Recordings (bản ghi âm): upload with a progress bar, record with the microphone, and the
 * approver's "heard it" box. Progressive enhancement only: the upload form posts without
 * this; the microphone needs it (MediaRecorder, no plug-in). No third-party code.
 * - upload: the form is sent with XMLHttpRequest (upload progress), the answer is JSON;
 * - microphone: start/stop, elapsed time, a level meter, listen back, then send the blob
 *   through the same form and route as a file;
 * - script page: the approve box for a recording opens once the player reached its end. */
(function () {
  "use strict";

  function text(el, name) {
    return (el && el.getAttribute(name)) || "";
  }

  function show(el, on) {
    if (el) el.hidden = !on;
  }

  // ---- sending the form (a chosen file, or the microphone's blob) ----

  function showErrors(form, data) {
    var errors = (data && data.errors) || {};
    form.querySelectorAll("[data-error-of]").forEach(function (span) {
      var name = span.getAttribute("data-error-of");
      var input = form.querySelector('[name="' + name + '"]');
      span.textContent = errors[name] || "";
      span.hidden = !errors[name];
      if (input) {
        if (errors[name]) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      }
    });
    var top = document.getElementById("recording-errors");
    if (top) {
      top.textContent = (data && data.error) || "";
      top.hidden = !top.textContent;
    }
  }

  function busy(form, on) {
    form.querySelectorAll("button").forEach(function (b) {
      if (on) {
        b.setAttribute("data-was-disabled", b.disabled ? "1" : "");
        b.disabled = true;
      } else {
        b.disabled = b.getAttribute("data-was-disabled") === "1";
      }
    });
  }

  function send(form, body) {
    var box = document.getElementById("upload-progress-box");
    var bar = document.getElementById("upload-progress");
    var status = document.getElementById("upload-status");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    show(box, true);
    bar.value = 0;
    bar.removeAttribute("data-done");
    status.textContent = text(form, "data-sending");
    busy(form, true);
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
    });
    xhr.upload.addEventListener("load", function () {
      bar.value = 100;
      bar.setAttribute("data-done", "1");
      status.textContent = text(form, "data-mastering");
    });
    xhr.addEventListener("load", function () {
      var data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300 && data && data.url) {
        window.location.assign(data.url);
        return;
      }
      busy(form, false);
      show(box, false);
      // a JSON refusal names its fields; any other answer (a proxy's page, 403) by its code
      showErrors(form, data || { error: text(form, "data-refused").replace("{status}", xhr.status) });
    });
    xhr.addEventListener("error", function () {
      busy(form, false);
      show(box, false);
      showErrors(form, { error: text(form, "data-failed") });
    });
    xhr.send(body);
  }

  function tooBig(form, size) {
    var max = parseInt(text(form, "data-max-bytes"), 10);
    if (max && size > max) {
      showErrors(form, { error: text(form, "data-too-big"), errors: { recording: text(form, "data-too-big") } });
      return true;
    }
    return false;
  }

  function uploads(form) {
    if (!window.FormData || !window.XMLHttpRequest) return;
    form.addEventListener("submit", function (event) {
      var file = form.querySelector("#recording");
      event.preventDefault();
      if (file && file.files && file.files[0] && tooBig(form, file.files[0].size)) return;
      send(form, new FormData(form));
    });
  }

  // ---- the microphone ----

  function pickType() {
    var types = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus", "audio/webm", "audio/mp4"];
    for (var i = 0; i < types.length; i++) {
      if (window.MediaRecorder.isTypeSupported && window.MediaRecorder.isTypeSupported(types[i])) return types[i];
    }
    return "";
  }

  function extensionOf(type) {
    if (type.indexOf("ogg") >= 0) return "ogg";
    if (type.indexOf("mp4") >= 0) return "m4a";
    return "webm";
  }

  function clock(seconds) {
    var m = Math.floor(seconds / 60);
    var s = Math.floor(seconds % 60);
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function recorder(form, box) {
    var missing = document.getElementById("recorder-missing");
    if (window.isSecureContext === false) {
      missing.textContent = text(box, "data-insecure");
      show(missing, true);
      return;
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) {
      missing.textContent = text(box, "data-no-mic");
      show(missing, true);
      return;
    }
    show(box, true);
    var start = document.getElementById("rec-start");
    var stop = document.getElementById("rec-stop");
    var time = document.getElementById("rec-time");
    var level = document.getElementById("rec-level");
    var status = document.getElementById("rec-status");
    var review = document.getElementById("rec-review");
    var preview = document.getElementById("rec-preview");
    var sendButton = document.getElementById("rec-send");
    var discard = document.getElementById("rec-discard");
    var media = null, stream = null, chunks = [], blob = null, url = null;
    var began = 0, ticker = null, audioContext = null, analyser = null, samples = null, frame = null;

    function forget() {
      if (url) URL.revokeObjectURL(url);
      url = null;
      blob = null;
      preview.removeAttribute("src");
      show(review, false);
    }

    function meter() {
      if (!analyser) return;
      analyser.getFloatTimeDomainData(samples);
      var peak = 0;
      for (var i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]));
      level.value = peak;
      frame = window.requestAnimationFrame(meter);
    }

    function release() {
      clearInterval(ticker);
      if (frame) window.cancelAnimationFrame(frame);
      frame = null;
      level.value = 0;
      if (audioContext) audioContext.close().catch(function () {});
      audioContext = null;
      analyser = null;
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
    }

    function failed(error) {
      release();
      start.disabled = false;
      stop.disabled = true;
      var name = error && error.name;
      if (name === "NotAllowedError" || name === "SecurityError") status.textContent = text(box, "data-denied");
      else if (name === "NotFoundError" || name === "OverconstrainedError") status.textContent = text(box, "data-not-found");
      else status.textContent = text(box, "data-failed").replace("{why}", (error && (error.message || error.name)) || "?");
    }

    start.addEventListener("click", function () {
      forget();
      start.disabled = true;
      navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: true } })
        .then(function (got) {
          stream = got;
          var type = pickType();
          media = type ? new MediaRecorder(stream, { mimeType: type }) : new MediaRecorder(stream);
          chunks = [];
          media.addEventListener("dataavailable", function (event) {
            if (event.data && event.data.size) chunks.push(event.data);
          });
          media.addEventListener("stop", function () {
            var kind = media.mimeType || type || "audio/webm";
            release();
            blob = new Blob(chunks, { type: kind });
            blob.extension = extensionOf(kind);
            start.disabled = false;
            stop.disabled = true;
            if (!blob.size) {
              status.textContent = text(box, "data-empty");
              return;
            }
            url = URL.createObjectURL(blob);
            preview.src = url;
            show(review, true);
            status.textContent = text(box, "data-ready");
          });
          media.addEventListener("error", function (event) { failed(event.error); });
          try {
            var AudioCtx = window.AudioContext || window.webkitAudioContext;
            if (AudioCtx) {
              audioContext = new AudioCtx();
              analyser = audioContext.createAnalyser();
              analyser.fftSize = 1024;
              samples = new Float32Array(analyser.fftSize);
              audioContext.createMediaStreamSource(stream).connect(analyser);
              meter();
            }
          } catch (e) { analyser = null; } // the meter is optional
          media.start(1000);
          began = Date.now();
          time.textContent = clock(0);
          ticker = setInterval(function () { time.textContent = clock((Date.now() - began) / 1000); }, 250);
          stop.disabled = false;
          status.textContent = text(box, "data-recording");
        })
        .catch(failed);
    });

    stop.addEventListener("click", function () {
      stop.disabled = true;
      if (media && media.state !== "inactive") media.stop();
    });

    discard.addEventListener("click", function () {
      forget();
      status.textContent = "";
      time.textContent = clock(0);
    });

    sendButton.addEventListener("click", function () {
      if (!blob) return;
      if (tooBig(form, blob.size)) return;
      var body = new FormData(form);
      body.delete("recording");
      body.append("recording", blob, "ghi-am." + blob.extension);
      send(form, body);
    });
  }

  // ---- the script's page: the approver has heard the recording to its end ----

  function heardBox() {
    var box = document.getElementById("heard");
    var audio = box && document.querySelector('audio[data-recording][data-version="' + box.getAttribute("data-version") + '"]');
    if (!box || !audio || box.checked) return;
    box.disabled = true;
    var hint = document.getElementById("heard-hint");
    show(hint, true);
    audio.addEventListener("ended", function () {
      box.disabled = false;
      show(hint, false);
    });
    audio.addEventListener("error", function () {
      if (hint) hint.textContent = text(hint, "data-broken");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("recording-form");
    if (form) {
      uploads(form);
      var box = document.getElementById("recorder");
      if (box) recorder(form, box);
    }
    heardBox();
  });
})();
