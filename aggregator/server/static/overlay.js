// The OBS overlay: the live question alone, faded in and out; empty when nothing is live.
"use strict";

(function () {
  const T = window.Townhall;
  const card = document.getElementById("card");
  const text = document.getElementById("text");
  const who = document.getElementById("who");
  const FADE_MS = 400;   // keep in step with overlay.css
  // The type shrinks from 46 px (readable on a 1080p stream) to fit the card, down to 22 px.
  const TEXT_MAX_PX = 46;
  const TEXT_MIN_PX = 22;
  // A question read on stream is a few sentences; anything longer (a whole email) is shortened
  // at a word, with an ellipsis, so what remains still fits at a readable size. A moderator
  // who wants all of it on screen edits the wording; the host page shows it whole.
  const MAX_CHARS = 600;
  let shownKey = null;
  let timer = null;

  function shortened(words) {
    if (words.length <= MAX_CHARS) return words;
    const cut = words.slice(0, MAX_CHARS);
    const space = cut.search(/\s\S*$/);
    return (space > MAX_CHARS * 0.8 ? cut.slice(0, space) : cut).trimEnd() + "…";
  }

  function layout() {
    if (text.textContent) T.fit(text, card, TEXT_MAX_PX, TEXT_MIN_PX);
  }

  function show(live) {
    const key = live ? live.id + ":" + T.wording(live) : null;
    if (key === shownKey) return;
    shownKey = key;
    window.clearTimeout(timer);
    card.classList.remove("visible");
    timer = window.setTimeout(function () {
      T.setText(text, live ? shortened(String(T.wording(live))) : "");
      T.setText(who, live && live.author ? live.author.name : "");
      card.dataset.question = live ? String(live.id) : "";
      layout();
      if (live) card.classList.add("visible");
    }, card.dataset.question ? FADE_MS : 0);
  }

  window.addEventListener("resize", layout);
  T.connect("overlay", "overlay", function (questions) { show(T.split(questions).live); },
            function () { /* the overlay shows nothing but the question */ });
})();
