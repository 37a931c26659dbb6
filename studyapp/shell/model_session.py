"""Which model the labs use (Qt signals over `studyapp.models.entry`).

Labs receive the session in their constructor, read `current` (None while loading) and subscribe
to `current_changed`. Classifiers (chapter 6) are listed apart, in `classifiers`: they cannot
generate text, so none is ever `current`. Loading the bundled model runs on a worker so the window paints first.

Given the app's settings, the session remembers the model file the labs were left on (a
checkpoint trained in the Training lab, a book `.pth`, GPT-2 weights) and loads it again at the
next start; the bundled model is the default and the fallback.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, SignalInstance

from studyapp.models.entry import ClassifierEntry, ModelEntry
from studyapp.models.loading import load_start_entries
from studyapp.shell.jobs import JobThread


class _Listing:
    """Entries in the order they came, each once, handed out as a tuple (a snapshot the caller
    cannot change); `changed` is emitted after each change."""

    def __init__(self, changed: SignalInstance):
        self.items: tuple = ()
        self._changed = changed

    def add(self, entry) -> None:
        if entry not in self.items:
            self.items += (entry,)
            self._changed.emit()

    def remove(self, entry) -> None:
        if entry in self.items:
            i = self.items.index(entry)
            self.items = self.items[:i] + self.items[i + 1:]
            self._changed.emit()


class ModelSession(QObject):
    current_changed = Signal(object)  # ModelEntry
    entries_changed = Signal()
    classifiers_changed = Signal()
    loading_changed = Signal(bool, str)  # loading?, message
    notice = Signal(str)  # something the user should read (e.g. bundled model missing)

    REMEMBERED = "models/in_labs"  # settings key: the file of the model in the labs
    REMEMBERED_HEADS = "models/in_labs_heads"

    def __init__(self, settings=None, parent=None):
        super().__init__(parent)
        self._settings = settings
        self._models = _Listing(self.entries_changed)  # ModelEntry, never a classifier
        self._classifiers = _Listing(self.classifiers_changed)  # ClassifierEntry
        self._current: ModelEntry | None = None
        self._loader: JobThread | None = None
        self._tokenizer = None

    @property
    def current(self) -> ModelEntry | None:
        return self._current

    @property
    def entries(self) -> tuple[ModelEntry, ...]:
        return self._models.items

    @property
    def classifiers(self) -> tuple[ClassifierEntry, ...]:
        return self._classifiers.items

    def add_classifier(self, entry: ClassifierEntry) -> None:
        if not isinstance(entry, ClassifierEntry):
            raise TypeError("add_classifier takes a ClassifierEntry")
        self._classifiers.add(entry)

    def remove_classifier(self, entry: ClassifierEntry) -> None:
        self._classifiers.remove(entry)

    @property
    def is_loading(self) -> bool:
        return self._loader is not None

    @property
    def tokenizer(self):
        """GPT-2's tokenizer (cached; cheap after the first call)."""
        if self._tokenizer is None:
            from model.tokenizer import get_tokenizer

            self._tokenizer = get_tokenizer()
        return self._tokenizer

    def add(self, entry: ModelEntry, make_current: bool = True) -> None:
        if isinstance(entry, ClassifierEntry):
            raise ValueError(f"{entry.name} is a classifier; use add_classifier")
        self._models.add(entry)
        if make_current:
            self.set_current(entry)

    def remove(self, entry: ModelEntry) -> None:
        if entry is self._current:
            raise ValueError("the model in use cannot be removed; switch to another first")
        self._models.remove(entry)

    def set_current(self, entry: ModelEntry) -> None:
        if isinstance(entry, ClassifierEntry):
            raise ValueError(f"{entry.name} is a classifier: it predicts classes, not the next "
                             "token, so the labs cannot use it; it stays in the Classify lab")
        self._models.add(entry)
        self._current = entry
        self._remember(entry)
        self.current_changed.emit(entry)

    def _remember(self, entry: ModelEntry) -> None:
        if self._settings is None:
            return
        path = entry.file_path
        if path is None:
            self._settings.remove(self.REMEMBERED)
            self._settings.remove(self.REMEMBERED_HEADS)
        else:
            self._settings.set(self.REMEMBERED, path)
            self._settings.set(self.REMEMBERED_HEADS, int(entry.config.n_heads))

    def start_loading(self) -> None:
        """Load torch, the tokenizer, the bundled model and the remembered one (if any) in the
        background."""
        if self._loader is not None or self._current is not None:
            return
        remembered = heads = None
        if self._settings is not None:
            remembered = self._settings.get(self.REMEMBERED, "") or None
            heads = self._settings.get(self.REMEMBERED_HEADS, 0) or None

        def job(token):
            yield load_start_entries(remembered, heads)

        self._loader = JobThread(job, name="model-loader", parent=self)
        self._loader.record.connect(self._on_loaded)
        self._loader.failed.connect(self._on_failed)
        self._loader.finished.connect(self._on_finished)
        self.loading_changed.emit(True, "Loading the model...")
        self._loader.start()

    def _on_loaded(self, result) -> None:
        entries, problem = result
        if problem:
            self.notice.emit(problem)
        for entry in entries[:-1]:
            self.add(entry, make_current=False)
        self.add(entries[-1], make_current=True)

    def _on_failed(self, message: str) -> None:
        self.notice.emit(f"The model could not be loaded: {message}")

    def _on_finished(self, _reason: str) -> None:
        self._loader = None
        self.loading_changed.emit(False, "")
