// The host's reading view: the live question large, then the host list in order.
"use strict";

(function () {
  const $ = function (id) { return document.getElementById(id); };
  const T = window.Townhall;
  // The live question's type size: as large as fits its box (page.css caps the box so the
  // Next button always stays on screen), never below what can be read from a step away.
  const LIVE_MAX_PX = 56;
  const LIVE_MIN_PX = 18;
  let showAskers = false;
  let current = new Map();

  // "youtube · Sofia Rossi · asked by 3 · for Jan": who asked first, and how many asked it
  // (merged duplicates), so the host can say "three of you asked".
  function meta(q) {
    const name = q.author && q.author.name ? q.author.name : "";
    const count = q.asker_count || 0;
    const parts = [q.source];
    if (count > 1) parts.push(name, "asked by " + count);
    else parts.push(name ? "asked by " + name : "");
    if (q.assignee) parts.push("for " + q.assignee);
    return parts.filter(Boolean).join(" · ");
  }

  // With &askers=1: every asker's display name, the first one included.
  function askersLine(q) {
    if (!q || !showAskers) return "";
    const names = (q.askers || []).filter(Boolean);
    const unique = names.filter(function (name, i) { return names.indexOf(name) === i; });
    return unique.length > 1 ? "Asked by: " + unique.join(", ") : "";
  }

  function fitLive() {
    if ($("live-text").textContent) T.fit($("live-text"), $("live"), LIVE_MAX_PX, LIVE_MIN_PX);
  }

  function render(questions) {
    current = questions;
    const view = T.split(questions);
    $("live-empty").hidden = view.live !== null;
    T.setText($("live-text"), view.live ? T.wording(view.live) : "");
    T.setText($("live-meta"), view.live ? "#" + view.live.id + " · " + meta(view.live) : "");
    T.setText($("live-askers"), askersLine(view.live));
    const list = $("queue");
    list.replaceChildren();
    for (const q of view.queued.slice(0, 20)) {
      const item = document.createElement("li");
      const text = document.createElement("span");
      T.setText(text, T.wording(q));
      const small = document.createElement("small");
      T.setText(small, meta(q));
      item.append(text, small);
      list.append(item);
    }
    fitLive();
  }

  function status(text, ok) {
    T.setText($("status"), text);
    $("status").className = ok ? "status" : "status bad";
  }

  const link = T.connect("host", "host page", render, status);
  showAskers = link.params.get("askers") === "1";
  window.addEventListener("resize", function () { render(current); });
  // `live` names the question this page shows as live: a double click or a held key answers
  // that one only (the server refuses a `next` that no longer matches).
  function next() {
    const view = T.split(current);
    link.command("next", { live: view.live ? view.live.id : null });
  }
  $("next").addEventListener("click", next);
  document.addEventListener("keydown", function (event) {
    if (event.key === "n" || event.key === " ") {
      event.preventDefault();
      if (!event.repeat) next();
    }
  });
})();
