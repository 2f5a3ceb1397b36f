// madoguchi web chat widget: talks to the Rasa-compatible REST channel and listens on a
// WebSocket for later messages (staff replies). No build step, no dependencies.
//
// Live delivery by cursor (CONTRACTS §3): the socket's first frame is {sender, after}; every frame
// is a transcript message with an "id". The widget shows each id once (REST answers carry ids
// too), remembers the last one, and reconnects with backoff sending it as "after", so nothing is
// missed. History on reload: sessionStorage keeps the id this tab's chat started after, so a
// reload asks for everything since then (a new visit starts with an empty window).
//
// Old answers cannot be pressed: when a new run of bot (or staff) messages starts, the buttons of
// every earlier message are disabled (links stay). A long card is shown from its heading: the
// view scrolls to the heading instead of to the bottom, past it.
(function () {
  "use strict";
  var root = document.getElementById("madoguchi-widget");
  if (!root) return;
  var endpoint = root.dataset.endpoint || "/webhooks/rest/webhook";
  var title = root.dataset.title || "チャット窓口";
  var SENDER_KEY = "madoguchi.sender";
  var LAST_KEY = "madoguchi.last"; // localStorage: the highest message id this browser has shown
  var SINCE_KEY = "madoguchi.since"; // sessionStorage: this tab's chat shows the messages after it
  var OPEN_KEY = "madoguchi.open";
  function stored(store, key) { try { return window[store].getItem(key); } catch (e) { return null; } }
  function store(where, key, value) { try { window[where].setItem(key, value); } catch (e) { /* private mode */ } }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // The conversation id is a token the server issues (POST /webhooks/rest/session): only such an
  // id can later be linked to a resident, so the widget never makes one up.
  var sessionUrl = root.dataset.session || "/webhooks/rest/session";
  var sender = null;
  try { sender = localStorage.getItem(SENDER_KEY); } catch (e) { /* private mode */ }
  if (sender && sender.indexOf("w-") !== 0) sender = null; // an id from an older widget version
  var senderReady = null;

  function senderId() {
    if (sender) return Promise.resolve(sender);
    if (!senderReady) {
      senderReady = fetch(sessionUrl, { method: "POST" }).then(function (res) {
        if (!res.ok) throw new Error("session " + res.status);
        return res.json();
      }).then(function (body) {
        sender = body.sender;
        store("localStorage", SENDER_KEY, sender);
        store("localStorage", LAST_KEY, "0");
        store("sessionStorage", SINCE_KEY, "0");
        return sender;
      }).catch(function (err) { senderReady = null; throw err; });
    }
    return senderReady;
  }

  var launcher = el("button", "mdg-launcher", title);
  launcher.setAttribute("aria-controls", "mdg-panel");
  var panel = el("section", "mdg-panel");
  panel.id = "mdg-panel";
  panel.hidden = true;
  panel.setAttribute("aria-label", title);
  var head = el("div", "mdg-head");
  head.appendChild(el("span", "", title));
  var close = el("button", "", "×");
  close.setAttribute("aria-label", "閉じる");
  head.appendChild(close);
  var log = el("div", "mdg-log");
  log.setAttribute("aria-live", "polite");
  var form = el("form", "mdg-form");
  var input = el("input");
  input.type = "text";
  input.placeholder = "ご用件を入力してください";
  input.setAttribute("aria-label", "メッセージ");
  input.maxLength = 2000;
  var send = el("button", "", "送信");
  send.type = "submit";
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(head);
  panel.appendChild(log);
  panel.appendChild(form);
  root.appendChild(launcher);
  root.appendChild(panel);

  var anchor = null; // the heading the view keeps in sight while the current run of answers lasts
  var lastRole = null; // "me", "bot" or "staff": the role of the last message shown

  function scroll() {
    if (!anchor) { log.scrollTop = log.scrollHeight; return; }
    log.scrollTop += anchor.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
  }

  function disableOldButtons() { // a new run of answers: what was asked before cannot be answered now
    var old = log.querySelectorAll(".mdg-buttons button");
    for (var i = 0; i < old.length; i++) {
      old[i].disabled = true;
      old[i].setAttribute("aria-disabled", "true");
    }
  }

  function place(box, role, heading) { // appends a message and scrolls: to the heading of a long card
    if (role !== lastRole) anchor = null;
    log.appendChild(box);
    lastRole = role;
    if (!anchor && box.offsetHeight > log.clientHeight * 0.6) { // long: keep its start (and heading) in view
      var below = heading ? heading.getBoundingClientRect().top - box.getBoundingClientRect().top : 0;
      anchor = below > log.clientHeight * 0.4 ? heading : box;
    }
    scroll();
  }

  function renderButtons(container, buttons) {
    if (!buttons || !buttons.length) return;
    var box = el("div", "mdg-buttons");
    buttons.forEach(function (b) {
      var btn;
      if (b.url) {
        btn = el("a", "", b.title);
        btn.href = b.url;
        btn.target = "_blank";
        btn.rel = "noopener";
      } else {
        btn = el("button", "", b.title);
        btn.type = "button";
        titles[b.payload] = b.title;
        btn.addEventListener("click", function () { post(b.payload, b.title); });
      }
      box.appendChild(btn);
    });
    container.appendChild(box);
  }

  var seen = {}; // message ids shown
  var lastId = 0; // the highest id shown: the socket's cursor
  var titles = {}; // button payload -> title, to show a pressed button as its title
  var echoes = []; // texts sent from this tab, shown at once, whose transcript frame is still to come

  function note(id) {
    if (typeof id !== "number") return true;
    if (seen[id]) return false;
    seen[id] = true;
    if (id > lastId) { lastId = id; store("localStorage", LAST_KEY, String(id)); }
    return true;
  }

  function show(m) { // one message of the conversation, from a REST answer or the socket
    if (!note(m.id)) return;
    var custom = m.custom || {};
    if (custom.sender !== "resident") { renderBot(m); return; }
    var echo = echoes.indexOf(m.text);
    if (echo >= 0) { echoes.splice(echo, 1); return; } // already shown when it was sent
    if (/^\/[A-Za-z_]/.test(m.text || "")) { // a button's payload: its title, or nothing (the greeting)
      if (titles[m.text]) showMine(titles[m.text]);
      return;
    }
    showMine(m.text);
  }

  function renderBot(m) {
    var custom = m.custom || {};
    var role = custom.sender === "staff" ? "staff" : "bot";
    if (role !== lastRole) disableOldButtons();
    var who = custom.sender === "staff" ? "mdg-staff" : "mdg-bot";
    var box = el("div", "mdg-msg " + who);
    box.dataset.role = custom.sender === "staff" ? "staff" : "bot";
    if (custom.sender === "staff") box.appendChild(el("span", "mdg-who", "職員"));
    box.appendChild(document.createTextNode(m.text || ""));
    var heading = null;
    if (custom.card) {
      var card = el("div", "mdg-card");
      heading = card.appendChild(el("strong", "", custom.card.title));
      if (custom.card.lines && custom.card.lines.length) {
        var ul = el("ul");
        custom.card.lines.forEach(function (line) { ul.appendChild(el("li", "", line)); });
        card.appendChild(ul);
      }
      renderButtons(card, custom.card.buttons);
      box.appendChild(card);
    }
    renderButtons(box, m.buttons);
    place(box, role, heading);
  }

  function showMine(text) {
    var box = el("div", "mdg-msg mdg-me", text);
    box.dataset.role = "me";
    place(box, "me", null);
  }

  function showError(text) {
    log.appendChild(el("div", "mdg-error", text));
    scroll();
  }

  function post(message, shown) {
    if (shown !== false) showMine(shown || message);
    echoes.push(message);
    send.disabled = true;
    return senderId().then(function (id) {
      listen();
      return fetch(endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: id, message: message })
      });
    }).then(function (res) {
      return res.json().then(function (body) { return { ok: res.ok, body: body }; });
    }).then(function (r) {
      if (!r.ok) { echoes.splice(echoes.indexOf(message), 1); showError(r.body && r.body.error ? "送信できませんでした：" + r.body.error : "送信できませんでした。"); return; }
      r.body.forEach(show);
    }).catch(function () {
      showError("通信できませんでした。電波の良いところでもう一度お試しください。");
    }).finally(function () { send.disabled = false; input.focus(); });
  }

  var socket = null;
  var retry = 1000;
  function listen() {
    if (socket || !sender || !("WebSocket" in window)) return;
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var since = stored("sessionStorage", SINCE_KEY);
    if (since === null) { // this tab's first chat: only what comes after what this browser has seen
      since = stored("localStorage", LAST_KEY);
      store("sessionStorage", SINCE_KEY, since === null ? "" : since);
    }
    var after = lastId || (since ? Number(since) : null); // null: nothing old, only new ones
    var ws = socket = new WebSocket(proto + location.host + "/webhooks/rest/ws");
    ws.onopen = function () { ws.send(JSON.stringify({ sender: sender, after: after })); };
    ws.onmessage = function (ev) {
      retry = 1000;
      try { show(JSON.parse(ev.data)); } catch (e) { /* ignore */ }
    };
    ws.onclose = function () {
      socket = null;
      setTimeout(function () { if (!panel.hidden) listen(); }, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  // 通報 (bot/static/widget_report.js): its photo and location buttons send through this widget
  root.madoguchi = { post: post, senderId: senderId };

  function openPanel() {
    panel.hidden = false;
    launcher.hidden = true;
    store("sessionStorage", OPEN_KEY, "1");
    // a chat this tab already had comes back over the socket; only a new one is greeted
    var greet = !log.childElementCount && !stored("sessionStorage", SINCE_KEY);
    listen();
    if (greet) post("/greet", false);
    input.focus();
  }
  launcher.addEventListener("click", openPanel);
  close.addEventListener("click", function () {
    panel.hidden = true; launcher.hidden = false; store("sessionStorage", OPEN_KEY, "");
  });
  if (sender && stored("sessionStorage", OPEN_KEY)) openPanel(); // a reload keeps the chat open
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    post(text);
  });
})();
