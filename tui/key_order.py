"""Keys reach the widget that has focus when the previous key is done, in the order typed.

Why this exists: Textual hands each key from the terminal to the widget focused *at arrival*, by
posting it to that widget's message queue. A key that moves focus or opens a dialog (tab, `n`)
only does so once it has travelled up to the binding that handles it, several queues later. A
burst of typing (a fast typist, a paste, tmux `send-keys`) is already queued behind it by then:
text typed right after tab in a dialog landed in the first field, and letters typed right after
`n` ran as moderator keys on the list. Here every key waits until the one before it has been
handled, the screen it opened is mounted and the focus it moved has settled.

How "handled" is known without timing: a probe message is posted right behind the key to the same
widget. Message queues are first in, first out and a key bubbles up through the same parents the
probe does, so when the probe reaches the app, the key has been handled (or stopped) everywhere.
A second step covers a key that opened a screen (the probe goes through the new screen, which
handles it only after composing and mounting) and deferred focus (`Widget.focus()` queues a
callback on the app; one queued after it runs after it).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from textual import events, on
from textual.app import App
from textual.message import Message

#: seconds a key may take to settle before the next one goes anyway (a lost probe, e.g. its
#: widget was removed, must not freeze the keyboard); far above the normal, sub-millisecond path
SETTLE_LIMIT = 0.5


class KeyProbe(Message):
    """Follows a key through the widgets; reaching the app means the key was handled."""

    def __init__(self, done: asyncio.Event) -> None:
        super().__init__()
        self.done = done


class DeliverKey(Message, bubble=False):
    """Hands a held key back to the app's own task, where keys are normally handled."""

    def __init__(self, key: events.Key, done: asyncio.Event) -> None:
        super().__init__()
        self.key = key
        self.done = done


class OrderedKeys(App[Any]):
    """An App whose keys are delivered one at a time, each after the previous one settled."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._typed: deque[events.Key] = deque()
        self._key_waiting = asyncio.Event()
        self._key_feeder_started = False

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._typed.append(event)
            self._key_waiting.set()
            if not self._key_feeder_started:  # a worker: cancelled with the app
                self._key_feeder_started = True
                self.run_worker(self._feed_keys(), name="ordered keys", group="keys",
                                exit_on_error=False)
            return
        await super().on_event(event)

    async def _feed_keys(self) -> None:
        """One key at a time: deliver it, wait for its probe, then the screen and focus."""
        while True:
            await self._key_waiting.wait()
            self._key_waiting.clear()
            while self._typed:
                handled, settled = asyncio.Event(), asyncio.Event()
                self.post_message(DeliverKey(self._typed.popleft(), handled))
                if await self._within_limit(handled):
                    screen = self.screen
                    if screen.is_mounted:
                        self.call_later(settled.set)  # after focus callbacks queued so far
                    else:  # a screen the key opened: its probe passes once it is mounted
                        screen.post_message(KeyProbe(settled))
                    await self._within_limit(settled)

    @staticmethod
    async def _within_limit(event: asyncio.Event) -> bool:
        try:
            await asyncio.wait_for(event.wait(), SETTLE_LIMIT)
        except TimeoutError:
            return False
        return True

    @on(DeliverKey)
    async def _deliver_key(self, message: DeliverKey) -> None:
        # Textual's own handling of a key from the terminal (priority bindings, then the
        # focused widget), with a probe posted right behind it to the same widget.
        await super().on_event(message.key)
        (self.focused or self.screen).post_message(KeyProbe(message.done))

    @on(KeyProbe)
    def _key_probe(self, message: KeyProbe) -> None:
        message.done.set()
