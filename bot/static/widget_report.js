// 通報 in the web chat widget: a photo button (uploads to /webhooks/rest/upload, then sends the
// reference as the next message) and a location button (the browser's position, sent only after
// the resident agrees here and in the browser's own prompt). Needs widget.js loaded first: it
// uses only `root.madoguchi.post(message, shown)` and `root.madoguchi.senderId()`.
(function () {
  "use strict";
  var root = document.getElementById("madoguchi-widget");
  var widget = root && root.madoguchi;
  var form = root && root.querySelector(".mdg-form");
  var log = root && root.querySelector(".mdg-log");
  if (!widget || !form || !log) return;
  var uploadUrl = root.dataset.upload || "/webhooks/rest/upload";
  var MAX_BYTES = 10 * 1024 * 1024;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function note(text, bad) {
    var box = el("div", "mdg-report-note" + (bad ? " bad" : ""), text);
    box.setAttribute("role", bad ? "alert" : "status");
    log.appendChild(box);
    log.scrollTop = log.scrollHeight;
  }

  var tools = el("div", "mdg-report-tools");
  var file = el("input");
  file.type = "file";
  file.accept = "image/jpeg,image/png,image/webp,image/gif";
  file.setAttribute("aria-label", "写真を選ぶ");
  var photo = el("button", "", "写真");
  photo.type = "button";
  photo.setAttribute("aria-label", "写真を送る");
  var place = el("button", "", "現在地");
  place.type = "button";
  place.setAttribute("aria-label", "現在地を送る");
  tools.appendChild(file);
  tools.appendChild(photo);
  tools.appendChild(place);
  form.insertBefore(tools, form.firstChild);

  photo.addEventListener("click", function () { file.click(); });
  file.addEventListener("change", function () {
    var chosen = file.files && file.files[0];
    file.value = "";
    if (!chosen) return;
    if (chosen.size > MAX_BYTES) { note("写真のサイズが大きすぎます（10MBまで）。", true); return; }
    note("写真を送信しています…");
    widget.senderId().then(function (sender) {
      var body = new FormData();
      body.append("sender", sender);
      body.append("file", chosen);
      return fetch(uploadUrl, { method: "POST", body: body });
    }).then(function (res) {
      return res.json().then(function (b) { return { ok: res.ok, body: b }; });
    }).then(function (r) {
      if (!r.ok) { note((r.body && r.body.error) || "写真を送れませんでした。", true); return; }
      widget.post('/report_photo{"photo":"' + r.body.photo + '"}', "（写真を送りました）");
    }).catch(function () { note("通信できませんでした。もう一度お試しください。", true); });
  });

  place.addEventListener("click", function () {
    if (!("geolocation" in navigator)) { note("このブラウザでは現在地を使えません。町名と番地を入力してください。", true); return; }
    var ask = el("div", "mdg-report-ask", "現在地（緯度・経度）を通報の場所として送ります。よろしいですか。");
    var yes = el("button", "", "送る");
    var no = el("button", "", "やめる");
    yes.type = no.type = "button";
    ask.appendChild(el("br"));
    ask.appendChild(yes);
    ask.appendChild(no);
    log.appendChild(ask);
    log.scrollTop = log.scrollHeight;
    no.addEventListener("click", function () { ask.remove(); });
    yes.addEventListener("click", function () {
      ask.remove();
      navigator.geolocation.getCurrentPosition(function (pos) {
        var lat = pos.coords.latitude.toFixed(6), lon = pos.coords.longitude.toFixed(6);
        widget.post('/report_location{"latitude":' + lat + ',"longitude":' + lon + "}", "（現在地を送りました）");
      }, function () {
        note("現在地を取得できませんでした。町名と番地を入力してください。", true);
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  });
})();
