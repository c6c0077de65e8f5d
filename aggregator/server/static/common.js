// Shared by /host and /overlay: the token from the URL fragment, the websocket protocol
// (aggregator/protocol.py), a local copy of the questions this role can see, reconnection with
// backoff, the page's connection state, and fitting a text into its box. Questions arrive as
// the role's allowlist (aggregator/roles.py: HostQuestion, OverlayQuestion), `text` already the
// wording to read. User text is never turned into HTML anywhere: pages use textContent only.
//
// The page's state is on <body data-state=...>, so the CSS decides what each state shows:
//   connecting  no snapshot yet (an empty list would read as "nothing is live", which is false)
//   refused     the server refused the hello (wrong or missing token): nothing else is shown
//   ready       a snapshot arrived; later drops keep the last view and say "reconnecting"
"use strict";

window.Townhall = (function () {
  const RESUME_KEY = "townhall-token";

  // The token travels in the fragment (#token=T), which browsers never send to the server.
  // It is kept in sessionStorage so a reload still works, and removed from the address bar.
  function takeToken() {
    const params = new URLSearchParams(window.location.hash.slice(1));
    let token = params.get("token");
    if (token !== null) {
      try { sessionStorage.setItem(RESUME_KEY, token); } catch (e) { /* storage disabled */ }
      history.replaceState(null, "", window.location.pathname + window.location.search);
    } else {
      try { token = sessionStorage.getItem(RESUME_KEY); } catch (e) { token = null; }
    }
    return { token: token || "", params: params };
  }

  function wsUrl() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + "/ws";
  }

  // The page's connection state (see the top of this file) and the words of the full-page
  // notice (#gate) that stands in for the content while it is not "ready".
  const GATE = {
    connecting: ["connecting…", ""],
    refused: ["refused: wrong or missing token",
              "Open the page with the #token=… URL that `townhall tokens` printed for this " +
              "role. The page tries again every 15 seconds."],
  };

  function setState(state) {
    document.body.dataset.state = state;
    const gate = document.getElementById("gate");
    if (!gate) return;
    const words = GATE[state] || ["", ""];
    setText(gate.querySelector(".gate-title"), words[0]);
    setText(gate.querySelector(".gate-detail"), words[1]);
  }

  // connect(role, name, onUpdate(questions), onStatus(text, ok))
  function connect(role, name, onUpdate, onStatus) {
    const questions = new Map();
    const { token, params } = takeToken();
    let socket = null;
    let delay = 500;
    let pendingSnapshot = null;
    let counter = 0;
    let ready = false;    // a whole snapshot arrived at least once
    let refusal = null;   // the server's reason when it refused the hello (e.g. a wrong token)

    setState("connecting");

    function open() {
      socket = new WebSocket(wsUrl());
      socket.onopen = function () {
        socket.send(JSON.stringify({ type: "hello", role: role, token: token, name: name }));
      };
      socket.onmessage = function (event) {
        let frame;
        try { frame = JSON.parse(event.data); } catch (e) { return; }
        if (frame === null || typeof frame !== "object") return;
        if (frame.type === "welcome") {
          delay = 500;
          refusal = null;
          if (!ready) setState("connecting");
          onStatus("", true);
        } else if (frame.type === "snapshot") {
          pendingSnapshot = pendingSnapshot || [];
          for (const q of frame.questions || []) pendingSnapshot.push(q);
          if (frame.done) {
            questions.clear();
            for (const q of pendingSnapshot) questions.set(q.id, q);
            pendingSnapshot = null;
            ready = true;
            setState("ready");
            onUpdate(questions);
          }
        } else if (frame.type === "changed") {
          const q = frame.question;
          if (!q) return;
          const old = questions.get(q.id);
          if (!old || old.version <= q.version) questions.set(q.id, q);
          if (pendingSnapshot === null && ready) onUpdate(questions);
        } else if (frame.type === "error") {
          const text = String(frame.message || frame.code);
          if (frame.id === undefined) {   // the hello itself was refused
            refusal = text;
            if (frame.code === "forbidden") {
              ready = false;
              setState("refused");
            }
          }
          onStatus(text, false);
        }
      };
      socket.onclose = function () {
        socket = null;
        pendingSnapshot = null;
        if (refusal !== null) delay = 15000;   // a wrong token will not fix itself quickly
        onStatus(refusal !== null ? "refused: " + refusal + " (retrying)"
                                  : "connection lost; reconnecting", false);
        const wait = delay / 2 + Math.random() * delay / 2;   // full jitter on the upper half
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(open, wait);
      };
    }

    function command(op, args) {
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        onStatus("not connected: '" + op + "' was not sent", false);
        return;
      }
      counter += 1;
      socket.send(JSON.stringify({ type: "command", id: "p-" + counter, op: op,
                                   question: null, args: args || {} }));
    }

    open();
    return { command: command, params: params };
  }

  // The largest font size (whole pixels, from `max` down to `min`) at which `box` shows all of
  // its content without scrolling, set on `element` (the text inside `box`). Binary search: a
  // handful of layouts, however long the text. Returns the size chosen; at `min` the text may
  // still overflow, and the caller's CSS decides what then happens (scroll, never push the
  // controls below it off screen).
  function fit(element, box, max, min) {
    let low = min;
    let high = max;
    element.style.fontSize = max + "px";
    if (box.scrollHeight <= box.clientHeight + 1) return max;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      element.style.fontSize = middle + "px";
      if (box.scrollHeight <= box.clientHeight + 1) low = middle; else high = middle;
    }
    element.style.fontSize = low + "px";
    return low;
  }

  // The live question and the host list (queued, by rank) from the local copy.
  function split(questions) {
    let live = null;
    const queued = [];
    for (const q of questions.values()) {
      if (q.status === "live") live = q;
      else if (q.status === "queued") queued.push(q);
    }
    queued.sort(function (a, b) { return (a.rank || 0) - (b.rank || 0); });
    return { live: live, queued: queued };
  }

  function wording(q) { return q.text; }

  function setText(element, text) { element.textContent = text == null ? "" : String(text); }

  return { connect: connect, split: split, wording: wording, setText: setText, fit: fit,
           setState: setState };
})();
