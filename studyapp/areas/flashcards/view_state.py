"""Flashcards: what the learner chose to study, saved at exit and restored, and the payloads
other areas send (show a card, review these cards) (Qt).

`ViewState` is a part of `FlashcardsArea` (its base class): it reads and sets the area's tab,
section filter, Study all and Shuffle, and asks the area to show cards.
"""

from __future__ import annotations

from studyapp.areas.flashcards.deck_bar import KEYS_FILTER


class ViewState:
    """`save_state` / `apply_state` of the Flashcards area."""

    TABS = ("review", "browse", "stats")
    VIEW_KEYS = ("section", "study_all")

    def save_state(self) -> dict:
        """What the learner chose to study (not the card shown): the payload `apply_state`
        takes back at the next start."""
        section = self.filter_box.currentData()
        return {"tab": self.TABS[max(0, self.tabs.currentIndex())],
                # a "review these cards" filter comes from a lab; it is not kept
                "section": section if isinstance(section, str) and section != KEYS_FILTER
                else None,
                "study_all": self.cram_check.isChecked(),
                "shuffle": self.shuffle_check.isChecked()}

    def _apply_view(self, payload: dict) -> None:
        if "section" in payload:
            section = payload["section"]
            index = 0 if section is None else (
                self.filter_box.findData(section) if isinstance(section, str) else -1)
            if index >= 0:  # a section no longer in the notes is ignored
                self.filter_box.setCurrentIndex(index)
        if isinstance(payload.get("study_all"), bool):
            self.cram_check.setChecked(payload["study_all"])

    def apply_state(self, payload: dict) -> None:
        """{"tab": "review"|"browse"|"stats"}, {"section": name or None (all)}, {"study_all":
        bool}, {"shuffle": bool} (what `save_state` gives); {"card_key": key} shows a card;
        {"review_keys": [...], "label": s} reviews just those cards. Unknown values are
        ignored."""
        if not isinstance(payload, dict):
            return
        if isinstance(payload.get("shuffle"), bool):
            self.shuffle_check.setChecked(payload["shuffle"])
        view = {k: payload[k] for k in self.VIEW_KEYS if k in payload}
        if view:
            if self.session is None:  # a big notes file is still being read
                self._pending_view = view
            else:
                self._apply_view(view)
        if "tab" in payload:
            self.tabs.setCurrentIndex(self.TABS.index(payload["tab"])
                                      if payload["tab"] in self.TABS else 0)
        if payload.get("review_keys") is not None and self.session is not None:
            keys = {k for k in payload["review_keys"] if k in self.session.cards}
            label = payload.get("label") or "Selected cards"
            self._key_filter = (label, keys)
            self._fill_filter()
            self.filter_box.setCurrentIndex(self.filter_box.findData(KEYS_FILTER))
            if self.session.counts().total == 0 and keys:
                self.cram_check.setChecked(True)
                self._say(f"None of the {label.lower()} is due: studying them without "
                          "changing their schedule (Study all). Untick it to go back.")
            self.tabs.setCurrentWidget(self.review)
        if payload.get("card_key"):
            self.show_card(payload["card_key"])
