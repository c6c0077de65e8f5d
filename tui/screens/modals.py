"""The small modal screens: text prompts, choices with free text, confirmation, new question.

Each returns its answer through `dismiss()` (None when cancelled with escape). Every label that
can carry user or config text is a `Content` object or has markup off.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, TextArea
from textual.widgets.option_list import Option


class Prompt(ModalScreen):
    """Shared frame: a title, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal_cancel")]
    DEFAULT_CLASSES = "prompt"

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def title_label(self) -> Label:
        return Label(Content(self.title_text), markup=False, classes="prompt-title")

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextPrompt(Prompt):
    """One line (Input, enter submits) or several (TextArea, ctrl+s submits)."""

    BINDINGS = [Binding("ctrl+s", "submit", "Save", id="modal_submit")]

    def __init__(self, title: str, value: str = "", *, placeholder: str = "",
                 multiline: bool = False) -> None:
        super().__init__(title)
        self.value, self.placeholder, self.multiline = value, placeholder, multiline

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt-box"):
            yield self.title_label()
            if self.multiline:
                yield TextArea(self.value, id="prompt-text", soft_wrap=True)
                yield Label("ctrl+s saves, escape cancels", classes="prompt-hint")
            else:
                yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
                yield Label("enter saves, escape cancels", classes="prompt-hint")

    def on_mount(self) -> None:
        self.query_one("#prompt-text" if self.multiline else "#prompt-input").focus()

    @on(Input.Submitted, "#prompt-input")
    def action_submit(self) -> None:
        if self.multiline:
            self.dismiss(self.query_one("#prompt-text", TextArea).text)
        else:
            self.dismiss(self.query_one("#prompt-input", Input).value)


class ChoicePrompt(Prompt):
    """Pick from a list (enter), or type a free answer below it (tab, type, enter)."""

    def __init__(self, title: str, choices: Sequence[tuple[str, str]], *,
                 free_text: str | None = None) -> None:
        super().__init__(title)
        self.choices = list(choices)
        self.free_text = free_text

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt-box"):
            yield self.title_label()
            yield OptionList(*[Option(Content(label), id=f"choice-{i}")
                               for i, (_value, label) in enumerate(self.choices)],
                             markup=False, id="prompt-choices")
            if self.free_text is not None:
                yield Input(placeholder=self.free_text, id="prompt-input")
            yield Label("enter picks, tab to type, escape cancels", classes="prompt-hint")

    def on_mount(self) -> None:
        if self.choices:
            self.query_one(OptionList).focus()
        elif self.free_text is not None:
            self.query_one(Input).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index][0])

    @on(Input.Submitted, "#prompt-input")
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())


class ConfirmPrompt(Prompt):
    """Yes or no; y / n keys, enter on a button."""

    BINDINGS = [Binding("y", "answer(True)", "Yes", id="modal_yes"),
                Binding("n", "answer(False)", "No", id="modal_no")]

    def __init__(self, title: str, message: str) -> None:
        super().__init__(title)
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt-box"):
            yield self.title_label()
            yield Label(Content(self.message), markup=False, id="confirm-message")
            with Horizontal(classes="prompt-buttons"):
                yield Button("Yes (y)", variant="error", id="confirm-yes")
                yield Button("No (n)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")


class NewQuestionPrompt(Prompt):
    """A manual question: its text and (optionally) who asked it."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt-box"):
            yield self.title_label()
            yield Input(placeholder="the question", id="new-text")
            yield Label("Who asked? (left empty: “From the room”)", classes="prompt-hint")
            yield Input(placeholder="From the room", id="new-author")
            yield Label("enter saves, tab to the next field, escape cancels",
                        classes="prompt-hint")

    def on_mount(self) -> None:
        self.query_one("#new-text", Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        text = self.query_one("#new-text", Input).value.strip()
        if not text:
            self.notify("A question needs text.", severity="warning", markup=False)
            self.query_one("#new-text", Input).focus()
            return
        self.dismiss((text, self.query_one("#new-author", Input).value.strip()))


class PrivatePrompt(Prompt):
    """A private message (sent to the host alone) about to reach the host's screen.

    Shows the full wording, since that is what the host will read, and answers "confirm" (send
    as is), "edit" (reword it first) or None (cancel). The default button is cancel: a private
    message goes public only by a deliberate key.
    """

    BINDINGS = [Binding("y", "answer('confirm')", "Send as is", id="private_confirm"),
                Binding("e", "answer('edit')", "Edit first", id="private_edit"),
                Binding("n", "cancel", "Cancel", id="private_cancel")]

    def __init__(self, title: str, wording: str, asker: str) -> None:
        super().__init__(title)
        self.wording = wording
        self.asker = asker

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt-box"):
            yield self.title_label()
            yield Label(Content.assemble(("Private message from ", "bold"), self.asker,
                                         (": the host will see this wording (the asker "
                                          "stays hidden):", "bold")),
                        markup=False, classes="private-intro")
            with VerticalScroll(id="private-wording"):
                yield Label(Content(self.wording), markup=False)
            with Horizontal(classes="prompt-buttons"):
                yield Button("Send as is (y)", variant="warning", id="private-confirm")
                yield Button("Edit first (e)", variant="primary", id="private-edit")
                yield Button("Cancel (n)", id="private-cancel")

    def on_mount(self) -> None:
        self.query_one("#private-cancel", Button).focus()

    def action_answer(self, choice: str) -> None:
        self.dismiss(choice)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss({"private-confirm": "confirm", "private-edit": "edit"}.get(
            event.button.id or ""))
