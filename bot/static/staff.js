// Staff console: lists escalated conversations, shows the whole context, take over / reply / hand back.
(function () {
  "use strict";
  var token = sessionStorage.getItem("madoguchi.staff") || "";
  var current = null;
  var $ = function (id) { return document.getElementById(id); };

  function api(path, opts) {
    opts = opts || {};
    opts.headers = Object.assign({ "Authorization": "Bearer " + token, "Content-Type": "application/json" }, opts.headers || {});
    return fetch("/staff/api" + path, opts).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw new Error(b.detail || b.error || r.status); return b; });
    });
  }

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }

  function loadList() {
    api("/conversations").then(function (rows) {
      var ul = $("conversations"); ul.textContent = "";
      rows.forEach(function (c) {
        var li = el("li", c.id === current ? "active" : "");
        li.appendChild(el("span", "badge " + (c.status === "human" ? "human" : ""), c.status === "human" ? "対応中" : "待ち"));
        li.appendChild(document.createTextNode(" " + c.channel + " " + c.id.slice(-8)));
        li.addEventListener("click", function () { open(c.id); });
        ul.appendChild(li);
      });
    }).catch(function (e) { $("title").textContent = "接続できません: " + e.message; });
  }

  function open(id) {
    current = id;
    api("/conversations/" + encodeURIComponent(id)).then(function (c) {
      $("title").textContent = c.channel + " / " + c.id;
      $("status").textContent = "状態: " + c.status + (c.handoffs.length ? "（理由: " + c.handoffs[c.handoffs.length - 1].reason + "）" : "");
      var form = c.state && c.state.active_form;
      $("state").textContent = form ? "入力中の手続き: " + form.name + " " + JSON.stringify(form.slots) : "";
      var ol = $("messages"); ol.textContent = "";
      c.messages.forEach(function (m) {
        var li = el("li", m.author === "staff" ? "staff" : m.direction, m.text);
        li.appendChild(el("small", "", (m.author === "resident" ? "住民" : m.author === "staff" ? "職員" : "ボット") + (m.intent ? " · " + m.intent : "") + " · " + (m.at || "").slice(11, 19)));
        ol.appendChild(li);
      });
      ol.scrollTop = ol.scrollHeight;
      $("take").disabled = c.status !== "pending_handoff";
      $("release").disabled = c.status === "bot";
      $("reply-text").disabled = $("send").disabled = c.status !== "human";
      loadList();
    });
  }

  function act(path, body) {
    if (!current) return;
    api("/conversations/" + encodeURIComponent(current) + path, { method: "POST", body: JSON.stringify(body || {}) })
      .then(function () { open(current); }).catch(function (e) { alert(e.message); });
  }

  function listen() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(proto + location.host + "/staff/ws?token=" + encodeURIComponent(token));
    ws.onmessage = function (ev) {
      var m = JSON.parse(ev.data);
      if (m.conversation_id === current) open(current); else loadList();
    };
    ws.onclose = function () { setTimeout(listen, 3000); };
  }

  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault(); token = $("token").value; sessionStorage.setItem("madoguchi.staff", token); loadList(); listen();
  });
  $("take").addEventListener("click", function () { act("/take", { staff_id: $("staff-id").value || "staff" }); });
  $("release").addEventListener("click", function () { act("/release", { staff_id: $("staff-id").value || "staff" }); });
  $("reply").addEventListener("submit", function (ev) {
    ev.preventDefault(); var t = $("reply-text").value.trim(); if (!t) return; $("reply-text").value = ""; act("/messages", { text: t });
  });
  if (token) { $("token").value = token; loadList(); listen(); }
})();
