"""The app's areas, in the order the sidebar shows them, as plain data (no Qt).

Each area is a folder here: a Qt-free `core` module (what the area computes) and view modules,
one of which (`area`) exposes `create_area(ctx)` returning a `studyapp.shell.area.AreaWidget`.
The shell imports an area's view only when the area is first shown; everything the shell needs
before that (the sidebar, the View menu, the F1 shortcut list) is read from here.

Areas never import each other: they meet through the shell's navigator and the card links.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Area:
    key: str  # used by navigation, settings, card links and screenshot file names
    title: str
    chapter: str  # where in the book the area lives: the sidebar tooltip and the lab's header
    shortcuts: tuple[tuple[str, str], ...] = ()  # (keys, what they do) inside the area

    @property
    def module(self) -> str:
        """The view module exposing `create_area(ctx)`."""
        return f"studyapp.areas.{self.key}.area"


AREAS: tuple[Area, ...] = (
    Area("flashcards", "Flashcards", "Your chapter notes, reviewed with spaced repetition",
         (("Space / Enter", "show the answer; on the answer: Good"),
          ("1 2 3 4", "grade Again / Hard / Good / Easy"),
          ("Ctrl+Z", "undo the last grade (several levels)"),
          ("-", "bury the card until tomorrow"), ("@", "suspend the card"),
          ("E", "edit the card in your notes editor"))),
    Area("tokenizer", "Tokenizer", "Chapter 2: tokenizing text, BPE"),
    Area("embeddings", "Embeddings", "Chapter 2: token and positional embeddings"),
    Area("attention", "Attention", "Chapter 3: attention mechanisms"),
    Area("architecture", "Architecture", "Chapter 4: implementing a GPT model"),
    Area("generate", "Generate", "Chapters 4 and 5: generating text",
         (("Ctrl+Enter", "generate from the prompt"), ("Esc", "stop generating"))),
    Area("training", "Training", "Chapter 5: pretraining on unlabeled data"),
    Area("classify", "Classify", "Chapter 6 and appendix E: fine-tuning for classification, LoRA"),
    Area("instruct", "Instruct", "Chapter 7: fine-tuning to follow instructions",
         (("Ctrl+Enter", "Try it: respond to the instruction"),)),
)


def area_by_key(key: str) -> Area:
    for area in AREAS:
        if area.key == key:
            return area
    raise KeyError(key)
