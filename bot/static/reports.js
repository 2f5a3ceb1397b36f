// Staff console, 通報: the reports of the signed-in staff's departments, their photo, place (a link
// that opens the coordinates in a map application; no map tiles are loaded here), history and
// possible duplicates, and status changes that the resident is told about on their channel.
(function () {
  "use strict";
  var token = sessionStorage.getItem("madoguchi.staff") || "";
  var current = null;
  var photoUrl = null;
  var categories = {};
  var $ = function (id) { return document.getElementById(id); };
  var STATUS = { received: "受付", in_progress: "対応中", done: "完了", not_ours: "対象外" };
  var KIND = { status: "状態", note: "メモ", photo: "写真", photo_removed: "写真の削除（保存期間）" };

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function when(iso) { return iso ? new Date(iso).toLocaleString("ja-JP", { timeZone: "Asia/Tokyo" }) : "—"; }

  function api(path, opts) {
    opts = opts || {};
    opts.headers = Object.assign({ "Authorization": "Bearer " + token, "Content-Type": "application/json" }, opts.headers || {});
    return fetch("/staff/api" + path, opts).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw new Error(b.error || b.detail || r.status); return b; });
    });
  }

  function loadCategories() {
    return api("/reports/categories").then(function (rows) {
      var select = $("f-category");
      rows.forEach(function (c) {
        categories[c.id] = c.name;
        if (!select.querySelector("option[value='" + c.id + "']")) { var o = el("option", "", c.name); o.value = c.id; select.appendChild(o); }
      });
    });
  }

  function loadList() {
    var q = [];
    if ($("f-status").value) q.push("status=" + encodeURIComponent($("f-status").value));
    if ($("f-category").value) q.push("category=" + encodeURIComponent($("f-category").value));
    api("/reports" + (q.length ? "?" + q.join("&") : "")).then(function (rows) {
      $("list-error").textContent = "";
      var ul = $("reports"); ul.textContent = "";
      if (!rows.length) ul.appendChild(el("li", "", "該当する通報はありません。"));
      rows.forEach(function (r) {
        var li = el("li", r.number === current ? "active" : "");
        li.dataset.number = r.number;
        li.appendChild(el("span", "badge " + r.status, STATUS[r.status] || r.status));
        li.appendChild(el("span", "who", " " + r.number + " " + (categories[r.category] || r.category)));
        li.appendChild(el("span", "reason", (r.address || "場所不明") + " · " + when(r.created_at)));
        li.addEventListener("click", function () { open(r.number); });
        ul.appendChild(li);
      });
    }).catch(function (e) { $("list-error").textContent = "接続できません: " + e.message; });
  }

  function row(dl, name, value) { dl.appendChild(el("dt", "", name)); var dd = el("dd"); if (value instanceof Node) dd.appendChild(value); else dd.textContent = value || "—"; dl.appendChild(dd); }

  function place(r) {
    if (r.latitude === null || r.longitude === null) return r.address || "—";
    var box = el("span", "", (r.address || "") + "（" + r.latitude.toFixed(6) + ", " + r.longitude.toFixed(6) + "） ");
    var map = el("a", "", "地図アプリで開く");
    map.href = r.map_url; map.target = "_blank"; map.rel = "noopener noreferrer";
    var geo = el("a", "", "スマートフォンの地図で開く");
    geo.href = "geo:" + r.latitude + "," + r.longitude;
    box.appendChild(map); box.appendChild(document.createTextNode(" / ")); box.appendChild(geo);
    return box;
  }

  function showPhoto(r) {
    if (photoUrl) { URL.revokeObjectURL(photoUrl); photoUrl = null; }
    $("photo").hidden = true;
    if (!r.photo_url) return;
    fetch(r.photo_url, { headers: { "Authorization": "Bearer " + token } }).then(function (res) {
      if (!res.ok) throw new Error(res.status); return res.blob();
    }).then(function (blob) {
      photoUrl = URL.createObjectURL(blob); $("photo").src = photoUrl; $("photo").hidden = false;
    }).catch(function () { /* no photo shown */ });
  }

  function open(number) {
    current = number;
    $("detail-error").textContent = "";
    api("/reports/" + encodeURIComponent(number)).then(function (r) {
      $("title").textContent = "受付番号 " + r.number;
      var dl = el("dl");
      row(dl, "状態", STATUS[r.status] || r.status);
      row(dl, "種類", r.category_name);
      row(dl, "担当", r.department_name);
      row(dl, "場所", place(r));
      row(dl, "内容", r.description);
      row(dl, "受付", when(r.created_at) + "（" + (r.channel === "line" ? "LINE" : "Web") + "）");
      $("report").textContent = ""; $("report").appendChild(dl);
      showPhoto(r);
      var dups = $("duplicates"); dups.textContent = "";
      $("dup-title").hidden = !r.possible_duplicates.length;
      r.possible_duplicates.forEach(function (d) {
        var li = el("li"); var a = el("a", "", d.number); a.href = "#"; a.addEventListener("click", function (ev) { ev.preventDefault(); open(d.number); });
        li.appendChild(a); li.appendChild(document.createTextNode(" " + (STATUS[d.status] || d.status) + " · " + (d.address || "") + " · " + when(d.created_at)));
        dups.appendChild(li);
      });
      var ol = $("history"); ol.textContent = "";
      r.history.forEach(function (h) {
        var text = when(h.at) + " " + (KIND[h.kind] || h.kind) + (h.status ? "：" + (STATUS[h.status] || h.status) : "") + (h.note ? " — " + h.note : "") + (h.staff_id ? "（" + h.staff_id + "）" : "");
        ol.appendChild(el("li", "", text));
      });
      $("new-status").value = r.status;
      $("status-form").hidden = $("note-form").hidden = false;
      loadList();
    }).catch(function (e) { $("detail-error").textContent = "表示できません: " + e.message; });
  }

  $("status-form").addEventListener("submit", function (ev) {
    ev.preventDefault(); if (!current) return;
    var body = { status: $("new-status").value, note: $("status-note").value.trim() };
    api("/reports/" + encodeURIComponent(current) + "/status", { method: "POST", body: JSON.stringify(body) }).then(function (r) {
      $("status-note").value = "";
      $("detail-error").textContent = r.notified ? "" : "住民の会話が見つからないため、お知らせは送られませんでした。";
      open(current);
    }).catch(function (e) { $("detail-error").textContent = "更新できません: " + e.message; });
  });
  $("note-form").addEventListener("submit", function (ev) {
    ev.preventDefault(); var text = $("note-text").value.trim(); if (!current || !text) return;
    api("/reports/" + encodeURIComponent(current) + "/notes", { method: "POST", body: JSON.stringify({ note: text }) }).then(function () {
      $("note-text").value = ""; open(current);
    }).catch(function (e) { $("detail-error").textContent = "追加できません: " + e.message; });
  });
  $("f-status").addEventListener("change", loadList);
  $("f-category").addEventListener("change", loadList);

  function connect() { loadCategories().then(loadList).catch(function (e) { $("list-error").textContent = "接続できません: " + e.message; }); }
  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault(); token = $("token").value; sessionStorage.setItem("madoguchi.staff", token); connect();
  });
  if (token) { $("token").value = token; connect(); }
  setInterval(function () { if (token && !document.hidden) loadList(); }, 30000); // new reports arrive by themselves
})();
