// The OBS overlay: the live question alone, faded in and out; empty when nothing is live.
"use strict";

(function () {
  const T = window.Townhall;
  const card = document.getElementById("card");
  const text = document.getElementById("text");
  const who = document.getElementById("who");
  const FADE_MS = 400;   // keep in step with overlay.css
  let shownKey = null;
  let timer = null;

  function show(live) {
    const key = live ? live.id + ":" + T.wording(live) : null;
    if (key === shownKey) return;
    shownKey = key;
    window.clearTimeout(timer);
    card.classList.remove("visible");
    timer = window.setTimeout(function () {
      T.setText(text, live ? T.wording(live) : "");
      T.setText(who, live && live.author ? live.author.name : "");
      card.dataset.question = live ? String(live.id) : "";
      if (live) card.classList.add("visible");
    }, card.dataset.question ? FADE_MS : 0);
  }

  T.connect("overlay", "overlay", function (questions) { show(T.split(questions).live); },
            function () { /* the overlay shows nothing but the question */ });
})();
