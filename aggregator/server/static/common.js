// Shared by /host and /overlay: the token from the URL fragment, the websocket protocol
// (aggregator/protocol.py), a local copy of the questions this role can see, and reconnection
// with backoff. Questions arrive as the role's allowlist (aggregator/roles.py: HostQuestion,
// OverlayQuestion), `text` already the wording to read. User text is never turned into HTML
// anywhere: pages use textContent only.
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

  // connect(role, name, onUpdate(questions, liveStatus), onStatus(text, ok))
  function connect(role, name, onUpdate, onStatus) {
    const questions = new Map();
    const { token, params } = takeToken();
    let socket = null;
    let delay = 500;
    let pendingSnapshot = null;
    let counter = 0;
    let refusal = null;   // the server's reason when it refused the hello (e.g. a wrong token)

    function open() {
      socket = new WebSocket(wsUrl());
      socket.onopen = function () {
        socket.send(JSON.stringify({ type: "hello", role: role, token: token, name: name }));
      };
      socket.onmessage = function (event) {
        let frame;
        try { frame = JSON.parse(event.data); } catch (e) { return; }
        if (frame.type === "welcome") {
          delay = 500;
          refusal = null;
          onStatus("", true);
        } else if (frame.type === "snapshot") {
          pendingSnapshot = pendingSnapshot || [];
          for (const q of frame.questions) pendingSnapshot.push(q);
          if (frame.done) {
            questions.clear();
            for (const q of pendingSnapshot) questions.set(q.id, q);
            pendingSnapshot = null;
            onUpdate(questions);
          }
        } else if (frame.type === "changed") {
          const q = frame.question;
          const old = questions.get(q.id);
          if (!old || old.version <= q.version) questions.set(q.id, q);
          if (pendingSnapshot === null) onUpdate(questions);
        } else if (frame.type === "error") {
          if (frame.id === undefined) refusal = String(frame.message || frame.code);
          onStatus(String(frame.message || frame.code), false);
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

    function command(op) {
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        onStatus("not connected: '" + op + "' was not sent", false);
        return;
      }
      counter += 1;
      socket.send(JSON.stringify({ type: "command", id: "p-" + counter, op: op,
                                   question: null, args: {} }));
    }

    open();
    return { command: command, params: params };
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

  return { connect: connect, split: split, wording: wording, setText: setText };
})();
