// Staff console: lists escalated conversations, shows the whole context, take over / reply / hand back,
// and (for a linked resident, with a stated reason that the server audits) the resident's 360° profile.
(function () {
  "use strict";
  var token = sessionStorage.getItem("madoguchi.staff") || "";
  var current = null;
  var resident = null; // the linked resident of the open conversation
  var profileFor = null; // the conversation the shown profile was read for
  var $ = function (id) { return document.getElementById(id); };

  var csrf = null; // signed in with a password: the session's CSRF token, sent on every change
  function api(path, opts) {
    opts = opts || {};
    var auth = token ? { "Authorization": "Bearer " + token } : {};
    if (csrf) auth["X-CSRF-Token"] = csrf;
    opts.headers = Object.assign(auth, { "Content-Type": "application/json" }, opts.headers || {});
    opts.credentials = "same-origin";
    return fetch("/staff/api" + path, opts).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw new Error(b.detail || b.error || r.status); return b; });
    });
  }

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }

  // Staff read Japanese, not internal codes.
  var STATUS = { pending_handoff: "待機中", human: "対応中", bot: "ボット対応中" };
  var REASON = { requested: "職員希望", stuck: "対応困難", sensitive: "緊急（DV・虐待）" };
  function statusText(s) { return STATUS[s] || s; }
  function reasonText(r) { return r ? (REASON[r] || r) : ""; }

  function loadList() {
    if (typeof loadCallbacks === "function") loadCallbacks();
    if (typeof loadVisits === "function") loadVisits();
    api("/conversations").then(function (rows) {
      var ul = $("conversations"); ul.textContent = "";
      if (!rows.length) ul.appendChild(el("li", "none", "なし"));
      rows.forEach(function (c) { // the server lists urgent (DV・虐待) chats first
        var li = el("li", (c.id === current ? "active " : "") + (c.urgent ? "urgent" : ""));
        if (c.urgent) li.appendChild(el("span", "badge urgent", "緊急"));
        li.appendChild(el("span", "badge " + (c.status === "human" ? "human" : "pending"), statusText(c.status)));
        li.appendChild(el("span", "badge dept", c.department_name || c.department || ""));
        li.appendChild(el("span", "who", " " + (c.title || c.channel))); // never the sender
        li.appendChild(el("span", "reason", (c.reason ? "理由: " + reasonText(c.reason) + " · " : "") +
          "待ち " + (c.waiting_minutes || 0) + "分"));
        li.addEventListener("click", function () { open(c.id); });
        ul.appendChild(li);
      });
    }).catch(function (e) { $("title").textContent = "接続できません: " + e.message; });
  }

  function open(id) {
    current = id;
    api("/conversations/" + encodeURIComponent(id)).then(function (c) {
      $("title").textContent = c.title || c.channel;
      department = c.department;
      renderPacket(c);
      var last = c.handoffs.length ? c.handoffs[c.handoffs.length - 1].reason : null;
      $("status").textContent = "状態: " + statusText(c.status) + (last ? "（理由: " + reasonText(last) + "）" : "");
      $("status").className = "status" + (last === "sensitive" ? " urgent" : "");
      $("state").textContent = "";
      var ol = $("messages"); ol.textContent = "";
      c.messages.forEach(function (m) {
        var li = el("li", m.author === "staff" ? "staff" : m.direction, m.text);
        if (m.buttons && m.buttons.length) li.appendChild(el("span", "choices", "選択肢：" + m.buttons.join("／")));
        li.appendChild(el("small", "", (m.author === "resident" ? "住民" : m.author === "staff" ? "職員" : "ボット") + " · " + when(m.at)));
        ol.appendChild(li);
      });
      ol.scrollTop = ol.scrollHeight;
      $("take").disabled = c.status !== "pending_handoff";
      $("release").disabled = c.status === "bot";
      $("reply-text").disabled = $("send").disabled = c.status !== "human";
      $("close").disabled = c.status === "bot";
      $("transfer").disabled = c.status === "bot";
      var notes = $("notes"); notes.textContent = "";
      (c.notes || []).forEach(function (n) { notes.appendChild(el("li", "", "メモ：" + n.text + "（" + n.staff_id + " · " + when(n.at) + "）")); });
      (c.history || []).forEach(function (a) {
        notes.appendChild(el("li", "history", "履歴：" + label(ACTION, a.action) + (a.text && a.action !== "reply" ? "「" + a.text + "」" : "") + "（" + a.staff_id + " · " + when(a.at) + "）"));
      });
      loadCanned();
      showProfileButton(c);
      loadList();
    });
  }

  // ---- 住民情報 (360° profile): read only on request, with a reason; cleared when leaving the chat
  var RELATION = { head: "世帯主", spouse: "配偶者", child: "子", father: "父", mother: "母", grandfather: "祖父",
    grandmother: "祖母", grandchild: "孫", sibling: "兄弟姉妹", other: "その他" };
  var SCOPE = { suggestions: "関連サービスのご案内" };
  var CONSENT = { given: "同意あり", declined: "同意なし", withdrawn: "撤回", asked: "確認中（未回答）" };
  var KIND = { inquiry: "問い合わせ", reservation: "予約", request: "申請", handoff: "職員対応", suggestion: "ご案内の利用" };
  var CHANNEL = { web: "Web", line: "LINE" };
  var BOOKING = { confirmed: "予約中", cancelled: "取消" };
  var OFFER = { offered: "案内済み", accepted: "利用", declined: "辞退" };

  function label(map, key) { return key ? (map[key] || key) : "—"; }
  function day(iso) { return iso ? iso.slice(0, 10).replace(/-/g, "/") : "—"; }
  function dateOf(iso) { // a timestamp's date in Japan
    return iso ? new Date(iso).toLocaleDateString("ja-JP", { timeZone: "Asia/Tokyo", year: "numeric",
      month: "2-digit", day: "2-digit" }) : "—";
  }
  function when(iso) {
    if (!iso) return "—";
    return new Date(iso).toLocaleString("ja-JP", { timeZone: "Asia/Tokyo", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit" });
  }

  function showProfileButton(c) {
    if (c.id !== profileFor) closeProfile();
    resident = c.resident_id || null;
    $("profile-open").hidden = !resident;
    if (!resident) $("profile-ask").hidden = true;
  }

  function closeProfile() {
    profileFor = null;
    $("profile").hidden = true;
    $("profile-body").textContent = "";
    $("profile-ask").hidden = true;
    $("profile-error").textContent = "";
  }

  function table(title, heads, rows, wrap) { // wrap: the index of the column that may wrap
    var section = el("section", "profile-part");
    section.appendChild(el("h3", "", title));
    if (!rows.length) { section.appendChild(el("p", "none", "なし")); return section; }
    var t = el("table"), tr = el("tr");
    heads.forEach(function (h) { tr.appendChild(el("th", "", h)); });
    t.appendChild(el("thead")).appendChild(tr);
    var body = t.appendChild(el("tbody"));
    rows.forEach(function (cells) {
      var row = el("tr");
      cells.forEach(function (v, n) {
        row.appendChild(el("td", n === wrap ? "wrap" : "", v === null || v === undefined ? "—" : String(v)));
      });
      body.appendChild(row);
    });
    section.appendChild(t);
    return section;
  }

  function renderProfile(p) {
    var body = $("profile-body"); body.textContent = "";
    body.appendChild(table("世帯", ["氏名", "年齢", "続柄", "介護"], p.members.map(function (m) {
      return [m.name + (m.is_self ? "（本人）" : ""), m.death_date ? "死亡 " + day(m.death_date) : m.age + "歳",
        label(RELATION, m.relation_to_head), m.care_level || "—"];
    }), 0));
    body.appendChild(table("同意", ["内容", "状態", "日付"], p.consents.map(function (c) {
      return [label(SCOPE, c.scope), label(CONSENT, c.status), dateOf(c.updated_at)];
    }), 0));
    body.appendChild(table("最近のやりとり", ["日時", "種別", "内容・担当", "経路"], p.interactions.map(function (i) {
      var what = [i.intent_title, i.department_name].filter(Boolean).join("／") || i.intent || "—";
      if (i.reservation_number) what += "（" + i.reservation_number + "）";
      return [when(i.at), label(KIND, i.kind), what, label(CHANNEL, i.channel)];
    }), 2));
    body.appendChild(table("予約", ["受付番号", "内容", "利用日", "状態"], p.reservations.map(function (r) {
      return [r.number, r.title || r.kind, day(r.date) + (r.start_time ? " " + r.start_time : ""), label(BOOKING, r.status)];
    }), 1));
    body.appendChild(table("ご案内", ["日時", "案内", "結果"], p.suggestions.map(function (s) {
      return [when(s.offered_at), s.title || s.rule, label(OFFER, s.status)];
    }), 1));
    body.appendChild(el("p", "note", day(p.as_of) + " 時点"));
  }

  function readProfile(reason) {
    var forConversation = current, who = resident;
    api("/residents/" + encodeURIComponent(who) + "/profile", { method: "POST", body: JSON.stringify({
      staff_id: $("staff-id").value || "staff", reason: reason, conversation_id: forConversation }) })
      .then(function (p) {
        if (current !== forConversation) return; // the staff member moved on meanwhile
        profileFor = forConversation;
        $("profile-ask").hidden = true;
        $("profile-reason").value = "";
        renderProfile(p);
        $("profile").hidden = false;
      }).catch(function (e) { $("profile-error").textContent = "表示できません: " + e.message; });
  }

  function act(path, body) {
    if (!current) return;
    api("/conversations/" + encodeURIComponent(current) + path, { method: "POST", body: JSON.stringify(body || {}) })
      .then(function () { open(current); }).catch(function (e) { alert(e.message); });
  }

  // The token goes in the socket's first frame, never in its URL (URLs end up in access logs), with
  // "after": the id of the last update seen, so a reconnect catches up on what it missed.
  var socket = null, lastId = null, retry = 1000;
  function listen() {
    if (socket) { socket.onclose = null; socket.close(); }
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = socket = new WebSocket(proto + location.host + "/staff/ws");
    ws.onopen = function () { // a token, or a session's CSRF token (the cookie goes with the handshake)
      ws.send(JSON.stringify(token ? { type: "auth", token: token, after: lastId } : { type: "auth", csrf: csrf, after: lastId }));
    };
    ws.onmessage = function (ev) {
      var m = JSON.parse(ev.data);
      retry = 1000;
      if (m.type === "ready") return;
      if (typeof m.id === "number" && (lastId === null || m.id > lastId)) lastId = m.id;
      if (m.conversation_id === current) open(current); else loadList();
    };
    ws.onclose = function (ev) { // 1008: token or session refused
      if (ev.code === 1008) { if (!token && csrf) startPolling(); return; }
      setTimeout(listen, retry); retry = Math.min(retry * 2, 30000);
    };
  }

  // A personal account is shown by name, and its staff id is the account's own (the field is not used).
  function whoAmI() {
    api("/me").then(function (me) {
      var personal = !me.shared;
      $("signed-in").textContent = personal ? "ログイン中：" + me.name : "";
      $("signed-in").hidden = !personal;
      $("staff-id-label").hidden = $("staff-id").disabled = personal;
    }).catch(function () { $("signed-in").hidden = true; });
  }

  // ---- 予約の検索・取消し: a resident calls with their number; staff cancel it with a reason
  var KIND_TITLE = { bulky_waste: "粗大ごみ収集", childcare_temporary: "一時預かり", facility_booking: "施設の予約",
    care_consultation: "介護の相談", counter_visit: "窓口予約" };
  function showBooking(r) {
    var box = $("booking"); box.textContent = "";
    var d = r.details || {};
    var place = [d.facility, d.room, d.center, d.town, d.department_name].filter(Boolean).join(" ");
    var lines = [["受付番号", r.number], ["内容", label(KIND_TITLE, r.kind) + (place ? "（" + place + "）" : "")],
      ["利用日", day(r.date) + (r.start_time ? " " + r.start_time + (r.end_time ? "〜" + r.end_time : "") : "")],
      ["状態", label(BOOKING, r.status)]];
    if (d.cancellation) lines.push(["取消し", d.cancellation.by + "：" + d.cancellation.reason]);
    var dl = el("dl");
    lines.forEach(function (l) { dl.appendChild(el("dt", "", l[0])); dl.appendChild(el("dd", "", l[1])); });
    box.appendChild(dl);
    if (r.status !== "confirmed") return;
    var form = el("form", "booking-cancel");
    var reason = el("input"); reason.id = "booking-reason"; reason.placeholder = "取消しの理由（例：電話で連絡）";
    reason.maxLength = 120; reason.required = true;
    var button = el("button", "", "この予約を取り消す"); button.id = "booking-cancel";
    form.appendChild(reason); form.appendChild(button);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault(); if (!reason.value.trim()) return;
      api("/reservations/" + encodeURIComponent(r.number) + "/cancel", { method: "POST",
        body: JSON.stringify({ reason: reason.value.trim(), staff_id: $("staff-id").value || "staff" }) })
        .then(showBooking).catch(function (e) { box.appendChild(el("p", "error", "取り消せませんでした: " + e.message)); });
    });
    box.appendChild(form);
  }
  $("booking-find").addEventListener("submit", function (ev) {
    ev.preventDefault(); var n = $("booking-number").value.trim(); if (!n) return;
    api("/reservations/" + encodeURIComponent(n)).then(showBooking).catch(function (e) {
      $("booking").textContent = e.message === "no reservation with this number" ? "この受付番号の予約はありません。" : "検索できません: " + e.message;
    });
  });

  // ---- the hand-off packet: what staff read first, so they never re-ask
  var department = null;
  function renderPacket(c) {
    var p = c.packet || {}, box = $("packet"); box.textContent = "";
    var dl = el("dl"); box.appendChild(dl);
    function row(k, v) { if (v) { dl.appendChild(el("dt", "", k)); dl.appendChild(el("dd", "", v)); } }
    row("担当", c.department_name);
    row("ご質問", p.question || "—");
    row("手続き", p.procedure ? p.procedure.title : "—");
    if (p.nlu) row("AIの判定", (p.nlu.label || p.nlu.intent) + "（確信度 " + Math.round((p.nlu.confidence || 0) * 100) + "%）");
    if (p.form) {
      row("入力済み", p.form.filled.map(function (f) { return f.label + "：" + f.value; }).join("、") || "なし");
      row("未入力", p.form.missing.map(function (f) { return f.label; }).join("、") || "なし");
    }
    if (p.form && p.form.missing.length && c.status === "human") { // staff fill a slot for the resident
      var fill = el("form", "fill"), sel = el("select"), input = el("input"), go = el("button", "", "代理入力");
      p.form.missing.forEach(function (f) { var o = el("option", "", f.label); o.value = f.slot; sel.appendChild(o); });
      input.placeholder = "値（住民から聞いた内容）"; input.maxLength = 200; sel.id = "fill-slot"; input.id = "fill-value";
      fill.appendChild(sel); fill.appendChild(input); fill.appendChild(go);
      fill.addEventListener("submit", function (ev) {
        ev.preventDefault(); if (!input.value.trim()) return; act("/form", { slot: sel.value, value: input.value.trim() });
      });
      box.appendChild(fill);
    }
    if (p.visits && p.visits.length) row("窓口予約", p.visits.map(function (v) {
      return v.number + " " + day(v.date) + " " + v.start_time + "〜" + v.end_time + "（" + label(BOOKING, v.status) + "）"; }).join("、"));
    if (p.suggestions && p.suggestions.length) row("ご案内", p.suggestions.map(function (s) { return s.rule + "（" + label(OFFER, s.status) + "）"; }).join("、"));
  }
  function loadCanned() {
    if (!department) return;
    api("/canned?department=" + encodeURIComponent(department)).then(function (rows) {
      var sel = $("canned"); sel.textContent = ""; sel.appendChild(el("option", "", "定型文"));
      rows.forEach(function (r) { var o = el("option", "", r.title); o.value = r.text; sel.appendChild(o); });
    }).catch(function () {});
  }
  function loadDepartments() {
    api("/departments").then(function (rows) {
      var sel = $("transfer-to"); sel.textContent = "";
      rows.forEach(function (d) { var o = el("option", "", d.name + (d.open_now ? "" : "（時間外）")); o.value = d.id; sel.appendChild(o); });
    }).catch(function () {});
  }
  var ACTION = { take: "引き継ぎ", release: "ボットに戻す", reply: "返信", transfer: "転送", close: "終了", fill: "代理入力", callback_close: "折り返し完了" };
  var OUTCOME = { reached: "連絡済み", no_answer: "不在", solved: "解決", visit: "来庁予約", referred: "他機関へ案内" };
  function loadCallbacks() {
    api("/callbacks").then(function (rows) {
      var ul = $("callbacks"); ul.textContent = "";
      if (!rows.length) ul.appendChild(el("li", "none", "なし"));
      rows.forEach(function (t) {
        var li = el("li", "callback");
        li.appendChild(el("span", "badge dept", t.department_name));
        li.appendChild(el("strong", "", " " + t.number + " " + t.name + " " + t.phone));
        li.appendChild(el("span", "reason", t.window + " · " + t.topic + " · " + when(t.created_at)));
        var sel = el("select"); Object.keys(OUTCOME).forEach(function (k) { var o = el("option", "", OUTCOME[k]); o.value = k; sel.appendChild(o); });
        var b = el("button", "", "完了"); b.type = "button";
        b.addEventListener("click", function () {
          api("/callbacks/" + t.id + "/close", { method: "POST", body: JSON.stringify({ outcome: sel.value }) }).then(loadCallbacks)
            .catch(function (e) { alert(e.message); });
        });
        li.appendChild(sel); li.appendChild(b); ul.appendChild(li);
      });
    }).catch(function () {});
  }

  // ---- 窓口予約: upcoming counter visits booked in chat, of the departments this account works
  function loadVisits() {
    var today = new Date(Date.now() + 9 * 3600 * 1000).toISOString().slice(0, 10); // Japan's date
    api("/reservations?kind=counter_visit&status=confirmed&date_from=" + today).then(function (rows) {
      var ul = $("visits"); ul.textContent = "";
      if (!rows.length) ul.appendChild(el("li", "none", "なし"));
      rows.slice(0, 30).forEach(function (r) {
        var li = el("li", "callback visit");
        li.appendChild(el("span", "badge dept", (r.details || {}).department_name || r.resource));
        li.appendChild(el("strong", "", " " + r.number));
        li.appendChild(el("span", "reason", day(r.date) + " " + r.start_time + "〜" + r.end_time +
          ((r.details || {}).topic ? " · " + r.details.topic : "")));
        li.addEventListener("click", function () { $("booking-number").value = r.number; showBooking(r);
          if (r.conversation_id) open(r.conversation_id); });
        ul.appendChild(li);
      });
    }).catch(function () {});
  }

  function connect() { whoAmI(); loadList(); loadCallbacks(); loadDepartments(); listen(); }

  // Password (or OIDC) sign-in: a server-side session in an httpOnly cookie; live updates over the
  // same WebSocket, authenticated by the session (polling only if the socket is refused)
  var polling = null;
  function startPolling() {
    if (!polling) polling = setInterval(function () { if (current) open(current); else loadList(); }, 10000);
  }
  function connectSession() {
    whoAmI(); loadList(); loadDepartments();
    api("/me").then(function (me) { $("logout").textContent = (me.name || "") + "：ログアウト"; }).catch(function () {});
    $("logout").hidden = false; $("password-login").hidden = true; $("login").hidden = true;
    if (typeof WebSocket === "function") listen(); else startPolling();
  }
  $("password-login").addEventListener("submit", function (ev) {
    ev.preventDefault(); $("login-error").textContent = "";
    fetch("/staff/login", { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id: $("login-id").value.trim(), password: $("login-password").value }) })
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw new Error(r.status === 429 ? "ロック中です。しばらくしてからお試しください。" : "IDまたはパスワードが違います。"); return b; }); })
      .then(function (b) { csrf = b.csrf; token = ""; $("login-password").value = ""; connectSession(); })
      .catch(function (e) { $("login-error").textContent = e.message; });
  });
  $("logout").addEventListener("click", function () {
    fetch("/staff/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf || "" } })
      .then(function () { location.reload(); });
  });
  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault(); token = $("token").value; sessionStorage.setItem("madoguchi.staff", token); connect();
  });
  $("take").addEventListener("click", function () { act("/take", { staff_id: $("staff-id").value || "staff" }); });
  $("release").addEventListener("click", function () { act("/release", { staff_id: $("staff-id").value || "staff" }); });
  $("reply").addEventListener("submit", function (ev) {
    ev.preventDefault(); var t = $("reply-text").value.trim(); if (!t) return; $("reply-text").value = ""; act("/messages", { text: t });
  });
  $("canned").addEventListener("change", function () { if (this.value) { $("reply-text").value = this.value; $("reply-text").focus(); } });
  $("close-form").addEventListener("submit", function (ev) { ev.preventDefault(); act("/close", { outcome: $("outcome").value }); });
  $("transfer-form").addEventListener("submit", function (ev) {
    ev.preventDefault(); act("/transfer", { department: $("transfer-to").value, note: $("transfer-note").value.trim() }); $("transfer-note").value = "";
  });
  $("note-form").addEventListener("submit", function (ev) {
    ev.preventDefault(); var t = $("note-text").value.trim(); if (!t) return; $("note-text").value = ""; act("/notes", { note: t });
  });
  // Keyboard: T take, R reply, H hand back (not while typing)
  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target && ev.target.tagName) || "";
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var k = ev.key.toLowerCase();
    if (k === "t" && !$("take").disabled) { ev.preventDefault(); $("take").click(); }
    else if (k === "r" && !$("reply-text").disabled) { ev.preventDefault(); $("reply-text").focus(); }
    else if (k === "h" && !$("release").disabled) { ev.preventDefault(); $("release").click(); }
  });
  $("profile-open").addEventListener("click", function () {
    $("profile-error").textContent = ""; $("profile-ask").hidden = false; $("profile-reason").focus();
  });
  $("profile-cancel").addEventListener("click", function () { $("profile-ask").hidden = true; });
  $("profile-close").addEventListener("click", closeProfile);
  $("profile-ask").addEventListener("submit", function (ev) {
    ev.preventDefault(); var reason = $("profile-reason").value.trim();
    if (!reason) { $("profile-error").textContent = "閲覧の理由を入力してください。"; return; }
    readProfile(reason);
  });
  // the municipality's identity provider (OIDC), when the server has it configured
  fetch("/staff/oidc/status", { credentials: "same-origin" }).then(function (r) { return r.json(); })
    .then(function (s) { $("oidc-login").hidden = !s.enabled; }).catch(function () {});
  if (token) { $("token").value = token; connect(); }
  else { // a password session from before a reload?
    api("/me").then(function (me) { if (me.csrf) { csrf = me.csrf; connectSession(); } }).catch(function () {});
  }
})();
