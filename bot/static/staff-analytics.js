// 分析 (supervisors): counts and server-drawn SVG charts; CSV download. Token or password session.
(function () {
  "use strict";
  var token = sessionStorage.getItem("madoguchi.staff") || "";
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function get(path) {
    var headers = token ? { "Authorization": "Bearer " + token } : {};
    return fetch(path, { headers: headers, credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(r.status === 403 ? "分析は管理者（supervisor）のみ表示できます。" : "表示できません（" + r.status + "）");
      return r;
    });
  }
  function show() {
    $("error").textContent = "";
    get("/staff/api/analytics?days=" + $("days").value).then(function (r) { return r.json(); }).then(function (f) {
      var rates = $("rates"); rates.textContent = "";
      [["判定できなかった割合", Math.round(f.fallback_rate * 1000) / 10 + "%"], ["職員へ引き継いだ割合", Math.round(f.handoff_rate * 1000) / 10 + "%"],
        ["ご案内の利用", f.suggestions.accepted + " / " + f.suggestions.offered]].forEach(function (p) {
        rates.appendChild(el("dt", "", p[0])); rates.appendChild(el("dd", "", p[1]));
      });
      var box = $("charts"); box.textContent = "";
      Object.keys(f.charts).forEach(function (k) {
        var img = el("img", "chart"); img.alt = k; img.setAttribute("data-chart", k);
        img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(f.charts[k]);
        box.appendChild(img);
      });
      var body = $("unanswered").tBodies[0]; body.textContent = "";
      f.unanswered.forEach(function (u) { var tr = el("tr"); tr.appendChild(el("td", "", u.question)); tr.appendChild(el("td", "", String(u.count))); body.appendChild(tr); });
      var dep = $("departments").tBodies[0]; dep.textContent = "";
      f.departments.forEach(function (d) {
        var tr = el("tr");
        [d.name, d.handoffs, d.mean_wait_minutes === null ? "—" : d.mean_wait_minutes, d.callbacks].forEach(function (v) { tr.appendChild(el("td", "", String(v))); });
        dep.appendChild(tr);
      });
    }).catch(function (e) { $("error").textContent = e.message; });
  }
  $("csv").addEventListener("click", function () {
    get("/staff/api/analytics.csv?days=" + $("days").value).then(function (r) { return r.blob(); }).then(function (b) {
      var a = el("a"); a.href = URL.createObjectURL(b); a.download = "madoguchi-analytics.csv"; document.body.appendChild(a); a.click(); a.remove();
    }).catch(function (e) { $("error").textContent = e.message; });
  });
  $("login").addEventListener("submit", function (ev) { ev.preventDefault(); token = $("token").value; sessionStorage.setItem("madoguchi.staff", token); show(); });
  $("days").addEventListener("change", show);
  if (token) $("token").value = token;
  show();
})();
