// madoguchi web chat widget: talks to the Rasa-compatible REST channel and listens on a
// WebSocket for later messages (staff replies). No build step, no dependencies.
(function () {
  "use strict";
  var root = document.getElementById("madoguchi-widget");
  if (!root) return;
  var endpoint = root.dataset.endpoint || "/webhooks/rest/webhook";
  var title = root.dataset.title || "チャット窓口";
  var SENDER_KEY = "madoguchi.sender";

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
        try { localStorage.setItem(SENDER_KEY, sender); } catch (e) { /* keep for this page only */ }
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

  function scroll() { log.scrollTop = log.scrollHeight; }

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
        btn.addEventListener("click", function () { post(b.payload, b.title); });
      }
      box.appendChild(btn);
    });
    container.appendChild(box);
  }

  function renderBot(m) {
    var custom = m.custom || {};
    var who = custom.sender === "staff" ? "mdg-staff" : "mdg-bot";
    var box = el("div", "mdg-msg " + who);
    box.dataset.role = custom.sender === "staff" ? "staff" : "bot";
    if (custom.sender === "staff") box.appendChild(el("span", "mdg-who", "職員"));
    box.appendChild(document.createTextNode(m.text || ""));
    if (custom.card) {
      var card = el("div", "mdg-card");
      card.appendChild(el("strong", "", custom.card.title));
      if (custom.card.lines && custom.card.lines.length) {
        var ul = el("ul");
        custom.card.lines.forEach(function (line) { ul.appendChild(el("li", "", line)); });
        card.appendChild(ul);
      }
      renderButtons(card, custom.card.buttons);
      box.appendChild(card);
    }
    renderButtons(box, m.buttons);
    log.appendChild(box);
    scroll();
  }

  function showMine(text) {
    var box = el("div", "mdg-msg mdg-me", text);
    box.dataset.role = "me";
    log.appendChild(box);
    scroll();
  }

  function showError(text) {
    log.appendChild(el("div", "mdg-error", text));
    scroll();
  }

  function post(message, shown) {
    if (shown !== false) showMine(shown || message);
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
      if (!r.ok) { showError(r.body && r.body.error ? "送信できませんでした：" + r.body.error : "送信できませんでした。"); return; }
      r.body.forEach(renderBot);
    }).catch(function () {
      showError("通信できませんでした。電波の良いところでもう一度お試しください。");
    }).finally(function () { send.disabled = false; input.focus(); });
  }

  var socket = null;
  function listen() {
    if (socket || !sender || !("WebSocket" in window)) return;
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(proto + location.host + "/webhooks/rest/ws?sender=" + encodeURIComponent(sender));
    socket.onmessage = function (ev) { try { renderBot(JSON.parse(ev.data)); } catch (e) { /* ignore */ } };
    socket.onclose = function () { socket = null; setTimeout(function () { if (!panel.hidden) listen(); }, 3000); };
  }

  // 通報 (bot/static/widget_report.js): its photo and location buttons send through this widget
  root.madoguchi = { post: post, senderId: senderId };

  launcher.addEventListener("click", function () {
    panel.hidden = false;
    launcher.hidden = true;
    listen();
    if (!log.childElementCount) post("/greet", false);
    input.focus();
  });
  close.addEventListener("click", function () { panel.hidden = true; launcher.hidden = false; });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    post(text);
  });
})();
