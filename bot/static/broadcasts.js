// Staff console, 一斉のお知らせ: compose a notice for a segment (live count and preview), approval
// by a second staff account (four-eyes), the delivery record, and each rule's uptake.
(function () {
  "use strict";
  var token = sessionStorage.getItem("madoguchi.staff") || "";
  var $ = function (id) { return document.getElementById(id); };
  var STATUS = { pending: "承認待ち", approved: "承認済み（配信待ち）", sent: "配信済み", rejected: "却下" };
  var SKIP = { no_consent: "同意なし", opted_out: "停止中", quiet_hours: "夜間", already_sent: "送信済み", no_channel: "連絡手段なし", weekly_limit: "週の上限", deceased: "死亡" };
  var timer = null;

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function when(iso) { return iso ? new Date(iso).toLocaleString("ja-JP", { timeZone: "Asia/Tokyo" }) : "—"; }

  function api(path, opts) {
    opts = opts || {};
    opts.headers = Object.assign({ "Authorization": "Bearer " + token, "Content-Type": "application/json" }, opts.headers || {});
    return fetch("/staff/api" + path, opts).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw new Error(b.error || b.detail || r.status); return b; });
    });
  }

  function segment() {
    var member = { include_self: true };
    if ($("b-min").value !== "") member.min_age = Number($("b-min").value);
    if ($("b-max").value !== "") member.max_age = Number($("b-max").value);
    if ($("b-care").checked) member.care_level = true;
    return { member: member, address_contains: $("b-address").value.trim() };
  }

  function refreshCount() {
    var text = $("b-text").value.trim();
    if (!text) { $("count").textContent = "本文を入力してください。"; $("preview").textContent = ""; return; }
    api("/broadcasts/preview", { method: "POST", body: JSON.stringify({ text: text, segment: segment() }) }).then(function (p) {
      var parts = Object.keys(p.skipped).map(function (k) { return (SKIP[k] || k) + " " + p.skipped[k] + "人"; });
      $("count").textContent = p.message + (parts.length ? "（対象外: " + parts.join("、") + "）" : "");
      $("count").dataset.reach = String(p.reach);
      $("preview").textContent = p.preview;
      $("compose-error").textContent = "";
    }).catch(function (e) { $("compose-error").textContent = e.message; });
  }

  function later() { clearTimeout(timer); timer = setTimeout(refreshCount, 300); }

  function loadList() {
    api("/broadcasts").then(function (rows) {
      var ul = $("broadcasts"); ul.textContent = "";
      if (!rows.length) ul.appendChild(el("li", "", "まだありません。"));
      rows.forEach(function (b) {
        var li = el("li", "broadcast " + b.status);
        li.dataset.id = String(b.id);
        li.appendChild(el("strong", "", b.title + " "));
        li.appendChild(el("span", "badge " + b.status, STATUS[b.status] || b.status));
        li.appendChild(el("p", "", b.text));
        li.appendChild(el("span", "reason", "作成: " + b.created_by + "（" + when(b.created_at) + "）" + (b.decided_by ? " / 判断: " + b.decided_by : "")));
        if (b.counts) {
          var skipped = Object.keys(b.counts.skipped).filter(function (k) { return b.counts.skipped[k]; })
            .map(function (k) { return (SKIP[k] || k) + " " + b.counts.skipped[k]; });
          li.appendChild(el("p", "log", "送信 " + b.counts.sent + "・失敗 " + b.counts.failed + (skipped.length ? "・対象外 " + skipped.join("、") : "")));
        }
        if (b.status === "pending") {
          var ok = el("button", "approve", "承認して配信"); ok.type = "button";
          ok.addEventListener("click", function () { decide(b.id, "approve"); });
          var no = el("button", "reject", "却下"); no.type = "button";
          no.addEventListener("click", function () { decide(b.id, "reject"); });
          li.appendChild(ok); li.appendChild(no);
        }
        ul.appendChild(li);
      });
      $("list-error").textContent = "";
    }).catch(function (e) { $("list-error").textContent = "接続できません: " + e.message; });
    api("/outreach/uptake").then(function (rows) {
      var body = $("uptake").querySelector("tbody"); body.textContent = "";
      rows.forEach(function (r) {
        var tr = el("tr");
        [r.rule, r.sent, r.opened, r.opted_out].forEach(function (v) { tr.appendChild(el("td", "", String(v))); });
        body.appendChild(tr);
      });
    }).catch(function () { /* shown by the list's error */ });
  }

  function decide(id, action) {
    api("/broadcasts/" + id + "/" + action, { method: "POST" }).then(loadList)
      .catch(function (e) { $("list-error").textContent = e.message; });
  }

  $("compose").addEventListener("input", later);
  $("compose").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = { title: $("b-title").value.trim(), text: $("b-text").value.trim(), segment: segment() };
    api("/broadcasts/compose", { method: "POST", body: JSON.stringify(body) }).then(function () {
      $("compose").reset(); $("count").textContent = "承認を依頼しました。"; $("preview").textContent = ""; loadList();
    }).catch(function (e) { $("compose-error").textContent = e.message; });
  });
  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem("madoguchi.staff", token);
    loadList();
  });
  if (token) { $("token").value = token; loadList(); }
})();
