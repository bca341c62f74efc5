/*
 * unitpicker.js — the unit tree picker (chọn đơn vị hành chính), progressive enhancement.
 *
 * Contract (used by the campaigns form and the emergency page):
 *
 *   <label for="targets">…</label>
 *   <input id="targets" name="targets" value="42, 18073" data-unit-picker
 *          data-picker-url="/units/search.json"            (optional; this is the default)
 *          data-label-search="…" data-label-remove="…" data-label-expand="…"
 *          data-label-add="…" data-label-empty="…" data-label-more="…"
 *          data-label-tree="…">                            (optional translated labels)
 *   <link rel="stylesheet" href="/static/unitpicker.css">  (in the page's head block)
 *
 * The input holds unit codes separated by commas and is what the form submits; with
 * data-unit-single it holds one (choosing another replaces it: a user's scope). Without
 * JavaScript it stays a plain text field (the server accepts codes, and names too).
 * With JavaScript the input is hidden and replaced, in place, by:
 *   - the chosen units as removable chips  (.unit-chips, each li[data-code], button.remove)
 *   - a search box, role=combobox          (input.unit-search)
 *   - a result list, role=listbox          (ul.unit-results, li[role=option][data-code])
 *     keyboard: ArrowDown/ArrowUp move, Enter chooses, Escape closes
 *   - a browsable tree                     (details.unit-tree > ul, li[data-code]; the
 *     button.expand of a unit with children loads its children)
 * Every change writes the codes back into the input ("42, 18073") and fires a
 * "change" event on it. The data come from GET /units/search.json (see
 * broadcaster/webapp/units.py): ?q=text searches, ?parent=CODE lists children, neither
 * gives the top of the user's scope; the server answers only units inside the scope.
 */
(function () {
  "use strict";

  var DEFAULTS = {
    search: "Tìm đơn vị theo tên (có dấu hay không đều được)",
    remove: "Bỏ",
    expand: "Mở",
    add: "Chọn",
    empty: "Không tìm thấy đơn vị nào.",
    more: "Còn nữa; gõ thêm để thu hẹp.",
    tree: "Duyệt cây đơn vị",
  };
  var counter = 0;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    if (text) node.textContent = text;
    return node;
  }

  function codesOf(value) {
    return value
      .split(/[,;\n]+/)
      .map(function (part) { return part.trim(); })
      .filter(function (part) { return part.length > 0; });
  }

  function describe(unit) {
    return unit.parent_name ? unit.name + " — " + unit.parent_name : unit.name;
  }

  function Picker(input) {
    var n = ++counter;
    this.input = input;
    this.url = input.getAttribute("data-picker-url") || "/units/search.json";
    this.labels = {};
    for (var key in DEFAULTS) {
      this.labels[key] = input.getAttribute("data-label-" + key) || DEFAULTS[key];
    }
    this.names = {}; // code -> label, learnt from the server's answers
    this.active = -1;
    this.results = [];
    this.timer = null;

    this.box = el("div", { class: "unit-picker", "data-test": "unit-picker" });
    this.chips = el("ul", { class: "unit-chips", "aria-live": "polite" });
    this.search = el("input", {
      type: "search",
      class: "unit-search",
      id: (input.id || "unit-picker-" + n) + "-search",
      role: "combobox",
      "aria-autocomplete": "list",
      "aria-expanded": "false",
      "aria-controls": "unit-results-" + n,
      autocomplete: "off",
      placeholder: this.labels.search,
      "aria-label": this.labels.search,
    });
    this.list = el("ul", { class: "unit-results", id: "unit-results-" + n, role: "listbox" });
    this.list.hidden = true;
    this.note = el("p", { class: "hint unit-note" });
    this.tree = el("details", { class: "unit-tree" });
    this.tree.appendChild(el("summary", {}, this.labels.tree));
    this.treeRoot = el("ul", { class: "unit-branch" });
    this.tree.appendChild(this.treeRoot);

    [this.chips, this.search, this.list, this.note, this.tree].forEach(function (part) {
      this.box.appendChild(part);
    }, this);
    input.parentNode.insertBefore(this.box, input.nextSibling);
    // The typed field stays the one the form submits; its label now names the search box.
    var label = input.id && document.querySelector('label[for="' + input.id + '"]');
    if (label) label.setAttribute("for", this.search.id);
    var described = input.getAttribute("aria-describedby");
    if (described) this.search.setAttribute("aria-describedby", described);
    if (input.getAttribute("aria-invalid")) this.search.setAttribute("aria-invalid", "true");
    input.type = "hidden";

    this.bind();
    this.renderChips();
    this.resolveNames();
  }

  Picker.prototype.codes = function () {
    return codesOf(this.input.value);
  };

  Picker.prototype.setCodes = function (codes) {
    this.input.value = codes.join(", ");
    this.input.dispatchEvent(new Event("change", { bubbles: true }));
    this.renderChips();
  };

  Picker.prototype.add = function (unit) {
    this.names[unit.code] = describe(unit);
    var codes = this.input.hasAttribute("data-unit-single") ? [] : this.codes();
    if (codes.indexOf(unit.code) < 0) codes.push(unit.code);
    this.setCodes(codes);
  };

  Picker.prototype.remove = function (code) {
    this.setCodes(this.codes().filter(function (c) { return c !== code; }));
    this.search.focus();
  };

  Picker.prototype.renderChips = function () {
    var self = this;
    this.chips.textContent = "";
    this.codes().forEach(function (code) {
      var li = el("li", { class: "unit-chip", "data-code": code });
      li.appendChild(el("span", {}, (self.names[code] || code) + " (" + code + ")"));
      var button = el("button", {
        type: "button",
        class: "remove link",
        "aria-label": self.labels.remove + " " + (self.names[code] || code),
      }, "×");
      button.addEventListener("click", function () { self.remove(code); });
      li.appendChild(button);
      self.chips.appendChild(li);
    });
  };

  Picker.prototype.fetch = function (params) {
    var query = Object.keys(params)
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); })
      .join("&");
    return window
      .fetch(this.url + (query ? "?" + query : ""), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error || String(response.status));
          return body;
        });
      });
  };

  Picker.prototype.resolveNames = function () {
    var self = this;
    this.codes().forEach(function (code) {
      if (self.names[code]) return;
      self.fetch({ q: code }).then(function (body) {
        body.units.forEach(function (unit) {
          if (unit.code === code) self.names[code] = describe(unit);
        });
        self.renderChips();
      }).catch(function () {});
    });
  };

  Picker.prototype.bind = function () {
    var self = this;
    this.search.addEventListener("input", function () {
      window.clearTimeout(self.timer);
      self.timer = window.setTimeout(function () { self.lookup(); }, 200);
    });
    this.search.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (self.list.hidden) { self.lookup(); return; }
        var step = event.key === "ArrowDown" ? 1 : -1;
        self.highlight((self.active + step + self.results.length) % Math.max(self.results.length, 1));
      } else if (event.key === "Enter") {
        if (!self.list.hidden && self.active >= 0) {
          event.preventDefault(); // choose, do not submit the form
          self.choose(self.active);
        } else if (self.search.value.trim()) {
          event.preventDefault();
          self.lookup();
        }
      } else if (event.key === "Escape") {
        if (!self.list.hidden) event.preventDefault();
        self.close();
      }
    });
    this.search.addEventListener("blur", function () {
      window.setTimeout(function () { self.close(); }, 150);
    });
    this.tree.addEventListener("toggle", function () {
      if (self.tree.open && !self.treeRoot.childElementCount) self.branch(self.treeRoot, null);
    });
  };

  Picker.prototype.lookup = function () {
    var self = this;
    var q = this.search.value.trim();
    if (!q) { this.close(); return; }
    this.fetch({ q: q }).then(function (body) {
      if (self.search.value.trim() !== q) return; // a later keystroke wins
      self.show(body.units, body.more);
    }).catch(function (error) {
      self.note.textContent = error.message;
    });
  };

  Picker.prototype.show = function (units, more) {
    var self = this;
    this.results = units;
    this.active = -1;
    this.list.textContent = "";
    units.forEach(function (unit, i) {
      var li = el("li", {
        role: "option",
        id: self.list.id + "-" + i,
        "data-code": unit.code,
        "aria-selected": "false",
      }, describe(unit) + " (" + unit.code + ")");
      li.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep the focus in the search box
        self.choose(i);
      });
      self.list.appendChild(li);
    });
    this.note.textContent = units.length ? (more ? this.labels.more : "") : this.labels.empty;
    this.list.hidden = units.length === 0;
    this.search.setAttribute("aria-expanded", units.length ? "true" : "false");
    if (units.length) this.highlight(0);
  };

  Picker.prototype.highlight = function (i) {
    var items = this.list.children;
    for (var k = 0; k < items.length; k++) {
      items[k].setAttribute("aria-selected", k === i ? "true" : "false");
      items[k].classList.toggle("active", k === i);
    }
    this.active = i;
    if (items[i]) {
      this.search.setAttribute("aria-activedescendant", items[i].id);
      if (items[i].scrollIntoView) items[i].scrollIntoView({ block: "nearest" });
    }
  };

  Picker.prototype.choose = function (i) {
    var unit = this.results[i];
    if (!unit) return;
    this.add(unit);
    this.search.value = "";
    this.close();
  };

  Picker.prototype.close = function () {
    this.list.hidden = true;
    this.active = -1;
    this.search.setAttribute("aria-expanded", "false");
    this.search.removeAttribute("aria-activedescendant");
  };

  // One level of the tree: the top of the scope (parent null) or a unit's children.
  Picker.prototype.branch = function (ul, parent) {
    var self = this;
    this.fetch(parent ? { parent: parent } : {}).then(function (body) {
      ul.textContent = "";
      body.units.forEach(function (unit) {
        var li = el("li", { "data-code": unit.code });
        if (unit.has_children) {
          var expand = el("button", {
            type: "button",
            class: "expand link",
            "aria-expanded": "false",
            "aria-label": self.labels.expand + " " + unit.name,
          }, "▸");
          var children = el("ul", { class: "unit-branch" });
          children.hidden = true;
          expand.addEventListener("click", function () {
            var open = expand.getAttribute("aria-expanded") !== "true";
            expand.setAttribute("aria-expanded", open ? "true" : "false");
            expand.textContent = open ? "▾" : "▸";
            children.hidden = !open;
            if (open && !children.childElementCount) self.branch(children, unit.code);
          });
          li.appendChild(expand);
          li.appendChild(document.createTextNode(" "));
          li.appendChild(el("span", {}, unit.name + " (" + unit.code + ")"));
          li.appendChild(document.createTextNode(" "));
          li.appendChild(self.addButton(unit));
          li.appendChild(children);
        } else {
          li.appendChild(el("span", {}, unit.name + " (" + unit.code + ")"));
          li.appendChild(document.createTextNode(" "));
          li.appendChild(self.addButton(unit));
        }
        ul.appendChild(li);
      });
      if (body.more) ul.appendChild(el("li", { class: "hint" }, self.labels.more));
    }).catch(function (error) {
      ul.textContent = "";
      ul.appendChild(el("li", { class: "field-error" }, error.message));
    });
  };

  Picker.prototype.addButton = function (unit) {
    var self = this;
    var button = el("button", {
      type: "button",
      class: "add secondary",
      "data-code": unit.code,
      "aria-label": this.labels.add + " " + unit.name,
    }, this.labels.add);
    button.addEventListener("click", function () { self.add(unit); });
    return button;
  };

  function init(root) {
    (root || document).querySelectorAll("input[data-unit-picker]").forEach(function (input) {
      if (!input.unitPicker) input.unitPicker = new Picker(input);
    });
  }

  window.UnitPicker = { init: init };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(); });
  } else {
    init();
  }
})();
