"""Your text through the blocks: per-block statistics of the learner's text as small plots, the
block number on the x-axis (chapter 4, sections 4.2 to 4.5, on the loaded model).

One plot per entry of `core.STAT_PLOTS`: the residual stream's size, LayerNorm inputs and
outputs (variance and mean), the attention and feed-forward outputs against their shortcuts,
and the fraction of GELU inputs below zero.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from studyapp.areas.architecture import core
from studyapp.areas.architecture.plots import LinePlot


class BlocksTab(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.info = QLabel("Per-block statistics of your text appear here.")
        self.info.setWordWrap(True)
        self.plots: dict[str, LinePlot] = {}
        holder = QWidget()
        grid = QGridLayout(holder)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(6)
        for i, spec in enumerate(core.STAT_PLOTS):
            plot = LinePlot(spec.title, "block (0: the embeddings)" if spec.from_embeddings
                            else "block", spec.y_label, tip=spec.tip, log_y=spec.log_y,
                            integer_x=True)
            plot.setToolTip(spec.tip)
            plot.setMinimumHeight(190)
            self.plots[spec.key] = plot
            grid.addWidget(plot, i // 2, i % 2)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(holder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.info)
        layout.addWidget(scroll, 1)

    def set_run(self, run: core.BlocksRun | None) -> None:
        if run is None:
            return
        for spec in core.STAT_PLOTS:
            x, series = core.stat_series(run, spec)
            self.plots[spec.key].set_series(x, series)
        self.info.setText(f"{core.run_summary(run)}: each value is averaged over the tokens. "
                          "Hover a plot for its values; the tooltips say where the book "
                          "explains each quantity.")

    def show_message(self, text: str) -> None:
        for plot in self.plots.values():
            plot.show_message(text)
