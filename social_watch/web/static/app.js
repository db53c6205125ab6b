/* social-watch web inbox: live queue, thread view, composer, keyboard. No dependencies. */
(() => {
  "use strict";
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";
  const page = document.body.dataset.page;
  const me = document.body.dataset.agent || "";
  const hook = (name, root = document) => root.querySelector(`[data-testid="${name}"]`);
  const part = (name, root = document) => root.querySelector(`[data-part="${name}"]`);

  // --- messages ---------------------------------------------------------------------
  function flash(message, actions = []) {
    const box = hook("flash");
    if (!box) return;
    box.replaceChildren();
    if (!message) return;
    const text = document.createElement("span");
    text.textContent = message;
    box.append(text);
    for (const [label, run] of actions) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.addEventListener("click", () => { flash(""); run(); });
      box.append(" ", b);
    }
  }

  function explain(res) {
    if (res.status === 401) return "Your session has ended: log in again in another tab (what you typed is kept).";
    if (res.status === 0) return "The server cannot be reached; nothing was changed. Try again.";
    return (res.data && res.data.error) || `The server answered ${res.status}.`;
  }

  async function post(path, body) {
    try {
      const r = await fetch(path, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body || {}),
        keepalive: !!(body && body.state === "left"),
      });
      let data = {};
      try { data = await r.json(); } catch (e) { data = {}; }
      return { ok: r.ok, status: r.status, data };
    } catch (e) {
      return { ok: false, status: 0, data: {} };
    }
  }

  function randomKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- time left ----------------------------------------------------------------------
  function left(seconds) {
    const s = Math.abs(Math.round(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const span = h ? `${h} h ${String(m).padStart(2, "0")} min` : m ? `${m} min` : `${sec} s`;
    return seconds >= 0 ? `${span} left` : `${span} over`;
  }
  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll("[data-due]")) {
      const due = Date.parse(el.dataset.due);
      if (!Number.isNaN(due)) el.textContent = left((due - now) / 1000);
    }
  }

  // --- live events --------------------------------------------------------------------
  function listen(handlers) {
    if (!window.EventSource) return;
    const source = new EventSource("/events");
    for (const [name, run] of Object.entries(handlers)) {
      source.addEventListener(name, (e) => {
        let data = {};
        try { data = JSON.parse(e.data); } catch (err) { data = {}; }
        run(data);
      });
    }
    window.addEventListener("pagehide", () => source.close());
  }

  // Runs ``work`` at most once at a time; a call while it runs runs it once more after.
  function coalesce(work, delay = 80) {
    let running = false, again = false, timer = null;
    const run = async () => {
      timer = null;
      if (running) { again = true; return; }
      running = true;
      try { await work(); } finally {
        running = false;
        if (again) { again = false; schedule(); }
      }
    };
    const schedule = () => { if (!timer) timer = setTimeout(run, delay); };
    return schedule;
  }

  // --- the inbox ----------------------------------------------------------------------
  function inbox() {
    const wrap = document.querySelector(".queue-wrap");
    const query = wrap.dataset.query || "";
    const shortcuts = hook("shortcuts");
    let selected = null;
    const rows = () => Array.from(document.querySelectorAll('[data-testid="item-row"]'));
    const rowOf = (id) => document.querySelector(`[data-testid="item-row"][data-item-id="${id}"]`);

    function select(row) {
      for (const r of rows()) r.setAttribute("aria-selected", "false");
      if (!row) { selected = null; return; }
      row.setAttribute("aria-selected", "true");
      selected = row.dataset.itemId;
      row.scrollIntoView({ block: "nearest" });
    }

    const refresh = coalesce(async () => {
      const params = new URLSearchParams(query);
      if (selected) params.set("keep", selected);
      let r;
      try { r = await fetch(`/inbox/list?${params}`, { credentials: "same-origin" }); } catch (e) { return; }
      if (r.status === 401 || r.redirected) { flash("Your session has ended: reload the page to log in."); return; }
      if (!r.ok) return;
      wrap.innerHTML = await r.text();  // rendered and escaped by the server
      if (selected) {
        const row = rowOf(selected);
        if (row) row.setAttribute("aria-selected", "true"); else selected = null;
      }
      tick();
    });

    async function act(action, body) {
      if (!selected) { flash("Pick an item first (j / k)."); return; }
      const id = selected;
      const res = await post(`/api/items/${id}/${action}`, body);
      if (!res.ok) { flash(explain(res)); } else {
        flash("");
        if (action === "claim") {
          const holder = hook("holder", rowOf(id) || document.createElement("div"));
          const name = hook("me");
          if (holder && name) holder.textContent = name.textContent;
        }
      }
      refresh();
    }

    document.addEventListener("keydown", (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target;
      if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) {
        if (e.key === "Escape") t.blur();
        return;
      }
      const list = rows();
      const at = list.findIndex((r) => r.dataset.itemId === selected);
      switch (e.key) {
        case "j": select(list[Math.min(at + 1, list.length - 1)] || null); break;
        case "k": select(list[Math.max(at - 1, 0)] || null); break;
        case "c": act("claim"); break;
        case "d": act("done"); break;
        case "r": if (selected) location.href = `/items/${selected}?focus=reply`; break;
        case "e": if (selected) location.href = `/items/${selected}?focus=email`; break;
        case "x": if (selected) location.href = `/items/${selected}?focus=dismiss`; break;
        case "/": { const s = hook("search"); if (s) s.focus(); break; }
        case "?": if (shortcuts) shortcuts.hidden = !shortcuts.hidden; break;
        case "Escape": if (shortcuts) shortcuts.hidden = true; break;
        default: return;
      }
      e.preventDefault();
    });
    wrap.addEventListener("click", (e) => {
      const row = e.target.closest('[data-testid="item-row"]');
      if (row && !e.target.closest("a")) select(row);
    });

    listen({ queue: refresh, presence: refresh });
    setInterval(tick, 1000);
    setInterval(refresh, 30000);  // SLA words move with time even when nothing is written
    tick();
  }

  // --- the thread view ----------------------------------------------------------------
  function thread() {
    const root = document.querySelector(".thread-page");
    const id = root.dataset.itemId;
    const draftKey = `sw-draft-${id}`;
    const composer = hook("composer");
    const counter = hook("counter");
    const send = hook("send");
    const status = hook("outbox-status");
    const presenceLine = hook("presence");
    const others = new Map();
    // newest: the message this page drew (what a reply says it saw); announced: the
    // newest one the live refresh has flashed about, so the flash is shown once
    const newest = Number(root.dataset.newest || 0);
    let announced = newest;
    let lastOutbox = null, sending = null, overrides = [], replyKey = null, typedAt = 0, saidTyping = 0;

    function setBusy(busy) { send.disabled = busy; }

    // "08 Dec 01:57 UTC", as the server draws the history (app.py's time filter)
    const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    function shortTime(iso) {
      const d = new Date(iso);
      if (isNaN(d)) return iso;
      const two = (n) => String(n).padStart(2, "0");
      return `${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
    }

    function showState(s) {
      hook("holder").textContent = s.holder_name || "";
      const st = part("status");
      if (st) st.textContent = (s.status || "").replace(/_/g, " ");
      const word = s.outbox_word + (s.outbox_error ? `: ${s.outbox_error}` : "");
      if (sending !== null || s.outbox) status.textContent = word;
      if (sending !== null && s.outbox && !["pending", "sending"].includes(s.outbox)) {
        if (s.outbox === "sent") {
          composer.value = "";
          localStorage.removeItem(draftKey);
          replyKey = null;
          overrides = [];
          updateCount();
        }
        sending = null;
        setBusy(false);
      }
      lastOutbox = s.outbox;
      const list = hook("history");
      list.replaceChildren(...s.history.map((h) => {
        const li = document.createElement("li");
        if (h.note) li.className = "note";
        const when = document.createElement("span");
        when.className = "muted";
        when.textContent = shortTime(h.at);
        const who = document.createElement("b");
        who.textContent = h.who;
        li.append(when, " ", who, ` ${h.action}`);
        if (h.extra) li.append(`: ${h.extra}`);
        return li;
      }));
      if (s.newest > announced) {
        announced = s.newest;  // the guard still refuses a reply until the page shows it
        flash("The customer wrote again.", [["Show it", () => location.reload()]]);
      }
      const mine = s.claimed_by === me;
      hook("claim").disabled = mine;
      hook("release").disabled = !s.claimed_by;
    }

    const refresh = coalesce(async () => {
      let r;
      try { r = await fetch(`/items/${id}/live`, { credentials: "same-origin" }); } catch (e) { return; }
      if (!r.ok || r.redirected) return;
      showState(await r.json());
      if (sending !== null) setTimeout(refresh, 1500);  // a backstop while a reply is out
    });

    function showPresence() {
      const words = [];
      for (const p of others.values()) words.push(`${p.name} ${p.state === "typing" ? "is replying…" : "is viewing"}`);
      presenceLine.textContent = words.join(", ");
    }

    async function act(action, body, done) {
      const res = await post(`/api/items/${id}/${action}`, body);
      if (!res.ok) flash(explain(res)); else { flash(done ? done(res.data) : ""); }
      refresh();
      return res;
    }

    // the composer
    const updateCount = coalesce(async () => {
      const text = composer.value;
      if (text.trim()) localStorage.setItem(draftKey, text); else localStorage.removeItem(draftKey);
      const res = await post(`/api/items/${id}/preview`, { text });
      if (!res.ok) { counter.textContent = explain(res); return; }
      const { count, limit, over } = res.data;
      counter.textContent = over > 0 ? `${over} over` : limit ? `${count} / ${limit}` : `${count}`;
      counter.classList.toggle("over", over > 0);
    }, 150);

    function sayPresence(state) { post(`/api/items/${id}/presence`, { state }); }

    composer.addEventListener("input", () => {
      replyKey = null;  // a changed text is a new reply
      updateCount();
      typedAt = Date.now();
      if (Date.now() - saidTyping > 3000) { saidTyping = Date.now(); sayPresence("typing"); }
    });

    async function sendReply() {
      if (sending !== null) return;
      const text = composer.value;
      if (!text.trim()) { flash("Write the reply first."); return; }
      setBusy(true);
      sending = "…";
      if (!replyKey) replyKey = randomKey();
      status.textContent = "sending…";
      const res = await post(`/api/items/${id}/reply`, { text, key: replyKey, seen: newest, override: overrides });
      if (res.ok) {
        sending = res.data.outbox_id;
        flash("");
        if (res.data.status === "sent") { sending = "…"; }
        refresh();
        return;
      }
      sending = null;
      setBusy(false);
      status.textContent = "";
      const guard = res.data && res.data.guard;
      if (res.status === 409 && guard && guard !== "claimed") {
        const ways = [["Send anyway", () => { overrides.push(guard); replyKey = null; sendReply(); }]];
        if (guard === "sensitive" || guard === "personal_data") ways.unshift(["Move to e-mail instead", emailPreview]);
        if (guard === "stale") ways.unshift(["Show the new message", () => location.reload()]);
        flash(explain(res), ways);
      } else {
        flash(explain(res));
      }
    }
    send.addEventListener("click", sendReply);

    hook("template").addEventListener("change", async (e) => {
      const name = e.target.value;
      if (!name) return;
      const res = await post(`/api/items/${id}/preview`, { template: name });
      if (!res.ok) { flash(explain(res)); return; }
      composer.value = res.data.body;
      composer.focus();
      updateCount();
    });

    // actions
    hook("claim").addEventListener("click", () => act("claim", {}, () => "You have claimed it."));
    hook("release").addEventListener("click", () => act("release"));
    hook("done").addEventListener("click", () => act("done", {}, () => "Marked done."));
    hook("dismiss").addEventListener("click", () =>
      act("dismiss", { reason: part("reason").value }, () => "Dismissed."));
    hook("assign").addEventListener("click", () =>
      act("assign", { agent: part("assignee").value }, (d) => `Assigned to ${part("assignee").selectedOptions[0].textContent}.`));
    hook("label").addEventListener("click", () =>
      act("label", { sentiment: part("sentiment").value }, () => "Labelled."));
    hook("tags").addEventListener("click", () => {
      const words = part("tags").value.split(/\s+/).filter(Boolean);
      const add = words.filter((w) => !w.startsWith("-")).map((w) => w.replace(/^\+/, ""));
      const remove = words.filter((w) => w.startsWith("-")).map((w) => w.slice(1));
      act("tags", { add, remove }, () => { part("tags").value = ""; return "Tags changed."; });
    });
    hook("add-note").addEventListener("click", async () => {
      const box = hook("note-text");
      if (!box.value.trim()) { flash("Write the note first."); return; }
      const res = await act("note", { text: box.value });
      if (res.ok) box.value = "";
    });

    const emailBox = part("email");
    let previewed = null;  // the reference the preview showed: the one that goes out
    async function emailPreview() {
      const res = await post(`/api/items/${id}/to-email`, { dry_run: true, override: overrides });
      if (!res.ok) { flash(explain(res)); return; }
      previewed = res.data.reference || null;
      part("email-text").textContent = res.data.email || "";
      part("email-note").textContent = res.data.public_reply ? res.data.public_reply.text : "(none: this network is read-only)";
      emailBox.hidden = false;
      part("email-confirm").focus();
    }
    hook("to-email").addEventListener("click", emailPreview);
    part("email-cancel").addEventListener("click", () => { emailBox.hidden = true; });
    part("email-confirm").addEventListener("click", async () => {
      const res = await act("to-email", { override: overrides, reference: previewed }, (d) => `Moved to e-mail (reference ${d.reference}).`);
      if (res.ok) emailBox.hidden = true;
    });

    // presence
    listen({
      queue: refresh,
      presence: (p) => {
        if (String(p.id) !== id || p.agent === me) return;
        if (p.state === "left") others.delete(p.agent); else others.set(p.agent, p);
        showPresence();
      },
    });
    sayPresence("viewing");
    setInterval(() => sayPresence(Date.now() - typedAt < 10000 ? "typing" : "viewing"), 15000);
    window.addEventListener("pagehide", () => sayPresence("left"));

    const kept = localStorage.getItem(draftKey);
    if (kept) { composer.value = kept; updateCount(); }
    const focus = root.dataset.focus;
    if (focus === "reply") composer.focus();
    if (focus === "email") emailPreview();
    if (focus === "dismiss") part("reason").focus();
    setInterval(tick, 1000);
    tick();
    refresh();
  }

  if (page === "inbox") inbox();
  if (page === "item") thread();
})();
