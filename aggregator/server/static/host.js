// The host's reading view: the live question large, then the host list in order.
"use strict";

(function () {
  const $ = function (id) { return document.getElementById(id); };
  const T = window.Townhall;
  let showAskers = false;

  function meta(q) {
    const parts = [q.source, q.author && q.author.name ? "asked by " + q.author.name : ""];
    if (q.assignee) parts.push("for " + q.assignee);
    return parts.filter(Boolean).join(" · ");
  }

  function render(questions) {
    const view = T.split(questions);
    $("live-empty").hidden = view.live !== null;
    T.setText($("live-text"), view.live ? T.wording(view.live) : "");
    T.setText($("live-meta"), view.live ? "#" + view.live.id + " · " + meta(view.live) : "");
    const askers = view.live && showAskers ? (view.live.askers || []).filter(Boolean) : [];
    const unique = askers.filter(function (name, i) { return askers.indexOf(name) === i; });
    T.setText($("live-askers"), unique.length > 1 ? "Also asked by: " + unique.join(", ")
              : (view.live && view.live.asker_count > 1
                 ? "Asked by " + view.live.asker_count + " people" : ""));
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
  }

  function status(text, ok) {
    T.setText($("status"), text);
    $("status").className = ok ? "status" : "status bad";
  }

  const link = T.connect("host", "host page", render, status);
  showAskers = link.params.get("askers") === "1";
  $("next").addEventListener("click", function () { link.command("next"); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "n" || event.key === " ") {
      event.preventDefault();
      link.command("next");
    }
  });
})();
