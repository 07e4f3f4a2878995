// postdeck preview: the calendar of one or more campaigns' plans. Reads its data from the
// <script type="application/json" id="postdeck-data"> element and builds every element with
// createElement/textContent: campaign text is never parsed as HTML. Only the visible month or week
// is rendered, so a calendar of many thousands of deliveries stays quick.
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("postdeck-data").textContent);
  const cards = data.cards;
  const MONTH_CAP = 8; // cards shown per day in the month view before "+N more"
  const WEEK_CAP = 40;
  const NAMES = {
    twitter: "X", linkedin: "LinkedIn", instagram: "Instagram", facebook: "Facebook", tiktok: "TikTok",
    threads: "Threads", bluesky: "Bluesky", youtube: "YouTube", pinterest: "Pinterest",
  };
  const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const $ = (id) => document.getElementById(id);

  // el("p", {class: "x"}, "text", child): strings become text nodes (Node.append), never markup.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  // ---- days, as UTC dates so that the viewer's own timezone never moves a day ----------------
  const parseDay = (day) => new Date(Date.UTC(+day.slice(0, 4), +day.slice(5, 7) - 1, +day.slice(8, 10)));
  const dayOf = (date) => date.toISOString().slice(0, 10);
  const addDays = (date, n) => new Date(date.getTime() + n * 86400000);
  const monday = (date) => addDays(date, -((date.getUTCDay() + 6) % 7));
  const monthName = (date) => date.toLocaleDateString("en", { month: "long", year: "numeric", timeZone: "UTC" });
  const longDay = (date) =>
    date.toLocaleDateString("en", { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });

  // ---- the index: cards by day, in time order ----------------------------------------------
  const byDay = new Map();
  for (const card of cards) {
    if (!byDay.has(card.day)) byDay.set(card.day, []);
    byDay.get(card.day).push(card);
  }
  for (const list of byDay.values()) list.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id - b.id));
  const days = [...byDay.keys()].sort();

  // ---- filters -----------------------------------------------------------------------------
  const FACETS = [
    ["campaign", "Campaign", (c) => String(c.campaign), (v) => data.campaigns[+v].name],
    ["platform", "Platform", (c) => c.platform, (v) => NAMES[v] || v],
    ["action", "Plan action", (c) => c.action, (v) => v],
    ["status", "Ledger status", (c) => c.status, (v) => (v === "none" ? "not in the ledger" : v)],
  ];
  const hidden = Object.fromEntries(FACETS.map(([name]) => [name, new Set()]));
  // What each plan action and ledger status means (model.py's legend: every one, on a card or not).
  const MEANING = {
    action: Object.fromEntries(data.legend.actions.map((a) => [a.value, a.text])),
    status: Object.fromEntries(data.legend.statuses.map((s) => [s.value, s.text])),
  };
  const visible = (card) => FACETS.every(([name, , value]) => !hidden[name].has(value(card)));

  function buildFilters() {
    const form = $("filters");
    form.addEventListener("submit", (event) => event.preventDefault());
    for (const [name, legend, value, label] of FACETS) {
      const values = [...new Set(cards.map(value))].sort();
      const set = el("fieldset", { class: "facet" }, el("legend", {}, legend));
      for (const v of values) {
        const box = el("input", { type: "checkbox", name, value: v, checked: true });
        box.addEventListener("change", () => {
          if (box.checked) hidden[name].delete(v);
          else hidden[name].add(v);
          render();
        });
        const swatch = name === "platform" ? el("span", { class: `swatch p-${v}`, "aria-hidden": "true" }) : null;
        set.append(el("label", { title: MEANING[name]?.[v] }, box, swatch, label(v)));
      }
      form.append(set);
    }
  }

  function buildLegend() {
    const dl = document.querySelector("#legend dl");
    const entries = [
      ...data.legend.actions.map((a) => [`a-${a.value}`, a.value, a.text]),
      ...data.legend.statuses.map((s) => [`s-${s.value}`, s.value === "none" ? "not in the ledger" : s.value, s.text]),
    ];
    for (const [cls, name, text] of entries) dl.append(el("dt", {}, el("span", { class: `badge ${cls}` }, name)), el("dd", {}, text));
  }

  // ---- state, kept in the URL's fragment (#view=week&date=2030-03-02) -----------------------
  const state = { view: "month", date: null, expanded: new Set() };

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    if (params.get("view") === "week" || params.get("view") === "month") state.view = params.get("view");
    const date = params.get("date");
    if (date && /^\d{4}-\d{2}-\d{2}$/.test(date)) state.date = parseDay(date);
  }

  function writeHash() {
    const hash = `#view=${state.view}&date=${dayOf(state.date)}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  function firstDay() {
    const today = data.made_at.slice(0, 10);
    return parseDay(days.find((d) => d >= today) || days[0] || today);
  }

  // ---- rendering ---------------------------------------------------------------------------
  function cardButton(card) {
    const campaign = data.campaigns[card.campaign];
    const caption = data.captions[card.caption];
    const when = card.at === null && !card.sent_at ? "now" : card.time;
    const local = card.at === null ? "" : localTime(card.at);
    const button = el(
      "button",
      {
        type: "button",
        class: `card p-${card.platform} a-${card.action} s-${card.status}`,
        "data-id": card.id,
        "data-day": card.day,
        "data-platform": card.platform,
        "data-action": card.action,
        "data-status": card.status,
        "aria-haspopup": "dialog",
      },
      el("span", { class: "when" }, el("time", { datetime: card.at || "" }, when)),
      local && local !== card.time ? el("span", { class: "local", title: "your local time" }, `(${local} yours)`) : null,
      el("span", { class: "platform" }, NAMES[card.platform] || card.platform),
      el("span", { class: `badge a-${card.action}` }, card.action),
      card.status !== "none" ? el("span", { class: `badge s-${card.status}` }, card.status) : null,
      card.findings.length ? el("span", { class: "badge findings", title: "validation findings" }, `⚠ ${card.findings.length}`) : null,
      el("span", { class: "snippet" }, caption.length > 70 ? caption.slice(0, 70) + "…" : caption),
    );
    button.title = `${campaign.name} · ${card.batch}`;
    button.addEventListener("click", () => openDetail(card, button));
    return button;
  }

  function dayCards(day, cap) {
    const list = (byDay.get(day) || []).filter(visible);
    const ul = el("ul", { class: "cards" });
    const limit = state.expanded.has(day) ? list.length : cap;
    for (const card of list.slice(0, limit)) ul.append(el("li", {}, cardButton(card)));
    if (list.length > limit) {
      const more = el("button", { type: "button", class: "more" }, `+${list.length - limit} more`);
      more.addEventListener("click", () => {
        state.expanded.add(day);
        render();
      });
      ul.append(el("li", {}, more));
    }
    return [ul, list.length];
  }

  function renderMonth(root) {
    const first = new Date(Date.UTC(state.date.getUTCFullYear(), state.date.getUTCMonth(), 1));
    const month = first.getUTCMonth();
    $("period").textContent = monthName(first);
    const table = el("table", { class: "month" }, el("caption", { class: "sr-only" }, `Deliveries in ${monthName(first)}`));
    table.append(el("thead", {}, el("tr", {}, ...WEEKDAYS.map((d) => el("th", { scope: "col" }, d)))));
    const body = el("tbody");
    let shown = 0;
    for (let start = monday(first); start.getUTCMonth() === month || start < first; start = addDays(start, 7)) {
      const row = el("tr");
      for (let i = 0; i < 7; i++) {
        const date = addDays(start, i);
        const day = dayOf(date);
        const [ul, count] = dayCards(day, MONTH_CAP);
        shown += date.getUTCMonth() === month ? count : 0;
        const cell = el(
          "td",
          { "data-day": day, class: date.getUTCMonth() === month ? "day" : "day other" },
          el("h3", { class: "daynum" }, el("time", { datetime: day }, String(date.getUTCDate()))),
        );
        if (count) cell.append(ul);
        row.append(cell);
      }
      body.append(row);
    }
    table.append(body);
    root.append(table);
    return shown;
  }

  function renderWeek(root) {
    const start = monday(state.date);
    $("period").textContent = `Week of ${longDay(start)} ${start.getUTCFullYear()}`;
    const list = el("ol", { class: "week" });
    let shown = 0;
    for (let i = 0; i < 7; i++) {
      const date = addDays(start, i);
      const day = dayOf(date);
      const [ul, count] = dayCards(day, WEEK_CAP);
      shown += count;
      list.append(
        el("li", { class: "day", "data-day": day }, el("h3", {}, el("time", { datetime: day }, longDay(date))), count ? ul : el("p", { class: "none" }, "—")),
      );
    }
    root.append(list);
    return shown;
  }

  function render() {
    const root = $("calendar");
    root.replaceChildren();
    const shown = state.view === "month" ? renderMonth(root) : renderWeek(root);
    $("view-month").setAttribute("aria-pressed", String(state.view === "month"));
    $("view-week").setAttribute("aria-pressed", String(state.view === "week"));
    const total = cards.filter(visible).length;
    $("shown").textContent = `${shown} deliveries in this ${state.view}; ${total} of ${cards.length} match the filters.`;
    writeHash();
  }

  function move(step) {
    if (state.view === "week") state.date = addDays(state.date, 7 * step);
    else state.date = new Date(Date.UTC(state.date.getUTCFullYear(), state.date.getUTCMonth() + step, 1));
    render();
  }

  // ---- the detail dialog -------------------------------------------------------------------
  let opener = null;

  function localTime(iso, withDay) {
    const options = withDay
      ? { weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" }
      : { hour: "2-digit", minute: "2-digit", hour12: false };
    return new Date(iso).toLocaleString(undefined, options);
  }

  function safeLink(url, text) {
    // Only web links become links: a javascript: or data: URL from a provider is shown as text.
    return /^https?:\/\//i.test(url) ? el("a", { href: url, rel: "noopener noreferrer" }, text) : el("span", {}, url);
  }

  function row(dl, term, ...value) {
    dl.append(el("dt", {}, term), el("dd", {}, ...value));
  }

  function openDetail(card, button) {
    opener = button;
    const campaign = data.campaigns[card.campaign];
    const caption = data.captions[card.caption];
    const body = $("detail-body");
    body.replaceChildren();
    $("detail-title").textContent = `${NAMES[card.platform] || card.platform} · ${card.batch}`;
    const facts = el("dl", { class: "facts" });
    row(facts, "Campaign", campaign.name);
    row(
      facts,
      "When",
      card.at === null
        ? card.sent_at
          ? `as soon as publishing ran: sent ${card.day} ${card.time} (${campaign.timezone})`
          : "as soon as publishing runs"
        : `${card.day} ${card.time} (${campaign.timezone})`,
      card.at === null ? null : el("br"),
      card.at === null ? null : el("span", { class: "local" }, `your time: ${localTime(card.at, true)}`),
    );
    row(facts, "Plan", el("span", { class: `badge a-${card.action}` }, card.action), card.reason ? ` — ${card.reason}` : "");
    const status = [el("span", { class: `badge s-${card.status}` }, card.status === "none" ? "not in the ledger" : card.status)];
    if (card.url) status.push(" ", safeLink(card.url, "view the post"));
    if (card.error) status.push(el("span", { class: "error" }, ` — ${card.error}`));
    row(facts, data.run ? "After the run" : "Ledger", ...status);
    if (card.run) row(facts, "This run", card.run.outcome, card.run.note ? ` — ${card.run.note}` : "");
    row(facts, "Key", el("code", {}, card.key));
    body.append(facts);

    const text = el("section", { "aria-label": "Caption" }, el("h3", {}, "Caption"));
    text.append(el("p", { class: "caption", dir: "auto" }, caption));
    if (card.length) {
      const { length, limit, unit, fits } = card.length;
      text.append(el("p", { class: fits ? "count" : "count over" }, `${length} / ${limit} ${unit} on ${NAMES[card.platform] || card.platform}`));
    }
    body.append(text);

    if (card.diff) {
      const diff = el("section", { class: "diff", "aria-label": "Caption change" }, el("h3", {}, "Caption change"));
      const side = (title, parts) =>
        el("figure", {}, el("figcaption", {}, title), el("p", { class: "caption", dir: "auto" }, ...parts.map(([kind, t]) => (kind === "same" ? t : el(kind, {}, t)))));
      diff.append(el("div", { class: "sides" }, side("Before (in the ledger)", card.diff.old), side("After (this commit)", card.diff.new)));
      body.append(diff);
    }

    const cutList = el("ul", { class: "cuts" });
    for (const cut of data.cuts[card.caption]) {
      const fits = cut.length <= cut.limit;
      const shown = fits ? [caption] : [caption.slice(0, cut.keep), el("mark", { class: "cut", title: `${cut.name} cuts here` }, caption.slice(cut.keep))];
      cutList.append(
        el("li", { "data-platform": cut.platform }, el("strong", {}, `${cut.name}: `), `${cut.length} / ${cut.limit} ${cut.unit_name}`, fits ? " — fits" : " — cut at the mark", cut.links ? el("p", { class: "links" }, cut.links) : null, fits ? null : el("p", { class: "caption", dir: "auto" }, ...shown)),
      );
    }
    body.append(el("section", { "aria-label": "Where networks cut" }, el("h3", {}, "Where X, Bluesky and Threads cut"), cutList));

    if (card.media.length) {
      const media = el("section", { "aria-label": "Media" }, el("h3", {}, "Media"));
      for (const item of card.media) {
        // A video without a poster: its kind, duration (if known) and why there is no picture.
        const shown = item.thumb
          ? el("img", { src: item.thumb, alt: item.alt, loading: "lazy" })
          : el("div", { class: "placeholder", role: "img", "aria-label": item.alt }, el("strong", {}, item.kind), item.duration ? el("span", {}, item.duration) : null, item.note ? el("span", { class: "note" }, item.note) : null);
        const caption = [item.name, item.crop, item.duration].filter(Boolean).join(" · ");
        media.append(el("figure", { class: "thumb" }, shown, el("figcaption", {}, caption)));
      }
      body.append(media);
    }

    const options = Object.entries(card.options);
    if (options.length) {
      const dl = el("dl", { class: "options" });
      for (const [name, value] of options) row(dl, name, value);
      body.append(el("section", { "aria-label": "Options" }, el("h3", {}, `${NAMES[card.platform] || card.platform} options`), dl));
    }

    if (card.findings.length) {
      const ul = el("ul", { class: "findings" });
      for (const f of card.findings) ul.append(el("li", { class: f.severity }, `${f.severity}: ${f.text}`));
      body.append(el("section", { "aria-label": "Validation findings" }, el("h3", {}, "Validation findings"), ul));
    }
    $("detail").showModal();
    $("detail-close").focus();
  }

  // ---- keyboard: ←/→ between cards, PageUp/PageDown (or p/n) between periods, m/w the view ----
  function onKey(event) {
    if ($("detail").open || event.target.matches("input, textarea, select") || event.altKey || event.ctrlKey || event.metaKey) return;
    const all = [...document.querySelectorAll("#calendar .card")];
    const at = all.indexOf(document.activeElement);
    const keys = {
      ArrowRight: () => all[Math.min(at + 1, all.length - 1)]?.focus(),
      ArrowLeft: () => all[Math.max(at - 1, 0)]?.focus(),
      PageDown: () => move(1),
      PageUp: () => move(-1),
      n: () => move(1),
      p: () => move(-1),
      m: () => setView("month"),
      w: () => setView("week"),
    };
    if (keys[event.key]) {
      event.preventDefault();
      keys[event.key]();
    }
  }

  function setView(view) {
    state.view = view;
    render();
  }

  function summary() {
    const parts = data.campaigns.map((c) => {
      const counts = Object.entries(c.summary).map(([action, n]) => `${n} ${action}`).join(", ") || "nothing to do";
      return `${c.name} (${c.timezone}): ${counts}`;
    });
    $("summary").textContent = parts.join(" · ");
    if (data.run) {
      // The site of one publish run (the flow writes it): its statuses are what that run came to.
      const note = data.run.dry_run ? " A dry run: nothing was sent." : " Statuses as the run left them.";
      $("summary").before(el("p", { class: "run" }, data.run.title, note));
    }
    const loose = data.campaigns.flatMap((c) => c.findings);
    if (loose.length) {
      const ul = el("ul", { class: "findings" });
      for (const f of loose) ul.append(el("li", { class: f.severity }, `${f.severity}: ${f.text}`));
      $("loose").append(el("h2", {}, "Findings about no single delivery"), ul);
    }
  }

  // Served by `postdeck preview --serve`: reload when the site was rebuilt. Never from file://.
  function watch() {
    if (!location.protocol.startsWith("http")) return;
    setInterval(async () => {
      try {
        const reply = await fetch("version.json", { cache: "no-store" });
        if (reply.ok && (await reply.json()).build !== data.build) location.reload();
      } catch (_) {
        // the server is restarting: try again next time
      }
    }, 1000);
  }

  readHash();
  state.date = state.date || firstDay();
  buildFilters();
  buildLegend();
  summary();
  $("prev").addEventListener("click", () => move(-1));
  $("next").addEventListener("click", () => move(1));
  $("first").addEventListener("click", () => {
    state.date = firstDay();
    render();
  });
  $("view-month").addEventListener("click", () => setView("month"));
  $("view-week").addEventListener("click", () => setView("week"));
  $("detail-close").addEventListener("click", () => $("detail").close());
  $("detail").addEventListener("close", () => opener && opener.isConnected && opener.focus());
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", () => {
    readHash(); // a link or an edited address: go where it says
    render();
  });
  render();
  watch();
})();
