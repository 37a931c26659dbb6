"""The Embeddings lab's tabs on the embedding space (chapter 2, sections 2.1 and 2.8): the
token vectors projected to two dimensions with PCA (optionally with the most frequent tokens
of The Verdict), and the positional embeddings of every position as a heatmap and a
projection. The numbers come from `core` (no Qt); pyqtgraph only for the position colours."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from studyapp.areas.embeddings import core
from studyapp.areas.embeddings.text_tabs import DIVERGING
from studyapp.shell import style
from studyapp.widgets.heatmap import HeatmapWidget
from studyapp.widgets.projection_plot import PointGroup, ProjectionPlot

FREQUENT_N = 100
FREQUENT_TIP = (f"Add the {FREQUENT_N} most frequent tokens of The Verdict, the story chapter 2 "
                "tokenizes (section 2.2), to the projection of token embeddings (section 2.7)")


class SpaceTabs:
    """Part of `EmbeddingsLab`: builds the projection and positions tabs on the lab's `tabs`
    and draws them from the lab's `embeddings` and `source`."""

    def _build_space_tabs(self) -> None:
        # Projection
        proj_tab = QWidget()
        self.add_frequent = QCheckBox(f"Add the {FREQUENT_N} most frequent tokens of The "
                                      "Verdict")
        self.add_frequent.setToolTip(FREQUENT_TIP)
        self.add_frequent.toggled.connect(lambda _c: self._mark_dirty(3))
        self.projection = ProjectionPlot(title="Token embeddings projected to 2-D (PCA)")
        proj_layout = QVBoxLayout(proj_tab)
        proj_layout.addWidget(self.add_frequent)
        proj_layout.addWidget(self.projection, 1)
        self.tabs.addTab(proj_tab, "Projection")

        # Positions
        pos_tab = QWidget()
        self.positions_map = HeatmapWidget(title="Positional embeddings, every position",
                                           colormap=DIVERGING, symmetric=True,
                                           row_axis_title="position",
                                           col_axis_title="dimension")
        self.positions_plot = ProjectionPlot(title="Positional embeddings projected to 2-D")
        self.positions_caption = QLabel()
        self.positions_caption.setWordWrap(True)
        pos_row = QHBoxLayout()
        pos_row.addWidget(self.positions_map, 3)
        pos_row.addWidget(self.positions_plot, 2)
        pos_layout = QVBoxLayout(pos_tab)
        pos_layout.addWidget(self.positions_caption)
        pos_layout.addLayout(pos_row, 1)
        self.tabs.addTab(pos_tab, "Positions")

    def _frequent_ids(self) -> list[int]:
        if self._frequent is None:
            from model.resources import read_the_verdict

            self._frequent = core.frequent_tokens(read_the_verdict(), FREQUENT_N)
        return self._frequent

    def _render_projection(self) -> None:
        e, s = self.embeddings, self.source
        text_ids = core.unique_in_order(e.ids)
        extra: list[int] = []
        if self.add_frequent.isChecked():
            if s.gpt2_vocab:
                seen = set(text_ids)
                extra = [t for t in self._frequent_ids() if t not in seen and t < s.vocab_size]
                self.add_frequent.setToolTip(FREQUENT_TIP)
            else:
                self.add_frequent.setToolTip(FREQUENT_TIP + ". Needs GPT-2's vocabulary "
                                             "(50,257 tokens)")
        all_ids = text_ids + extra
        vectors = s.tok_weight[all_ids].float().numpy()
        proj = core.pca_2d(vectors)
        pts = proj.points
        groups = []
        if extra:
            groups.append(PointGroup("The Verdict", pts[len(text_ids):],
                                     [s.label(t) for t in extra], "point_muted", size=6,
                                     label_color="point_label_muted"))
        groups.append(PointGroup("text", pts[:len(text_ids)], [s.label(t) for t in text_ids],
                                 "point", size=10))
        ex1, ex2 = proj.explained
        self.projection.set_groups(
            groups, title=f"Token embeddings of {len(text_ids)} distinct token(s)"
                          + (f" and {len(extra)} frequent tokens" if extra else "")
                          + " projected to 2-D (PCA)",
            x_label=f"PC 1 ({ex1:.0%} of the variance)",
            y_label=f"PC 2 ({ex2:.0%})")
        if len(all_ids) < 3:
            self.projection.hover_label.setText("With fewer than 3 tokens the projection is a "
                                                "line or a point.")

    def _render_positions(self) -> None:
        s = self.source
        key = id(s.pos_weight)
        cached = self._positions_cache.get("key")
        if cached != key:
            pos = s.pos_weight.float().numpy()
            self._positions_cache = {"key": key, "matrix": pos, "pca": core.pca_2d(pos)}
        pos = self._positions_cache["matrix"]
        proj = self._positions_cache["pca"]
        n, d = pos.shape
        self.positions_map.set_matrix(pos, [str(i) for i in range(n)], None,
                                      title=f"Positional embeddings of all {n:,} positions "
                                            f"({n:,} x {d})")
        untrained = self.model_radio.isChecked() and self.ctx.models.current is not None \
            and self.ctx.models.current.source == "untrained"
        self.positions_caption.setText(
            "Row p is the vector added to whatever token sits at position p. "
            + ("These are random (untrained); after training, neighbouring positions get "
               "similar vectors and the projection traces a smooth path."
               if untrained or self.demo_radio.isChecked() else
               "Trained positions vary smoothly: neighbouring positions have similar vectors, "
               "so the projection traces a path in order."))
        import pyqtgraph as pg

        cmap = pg.colormap.get(style.colours().heat_map)
        colors = [c.name() for c in cmap.getLookupTable(nPts=max(n, 2), mode="qcolor")[:n]]
        every = max(1, n // 16)
        ex1, ex2 = proj.explained
        self.positions_plot.set_groups(
            [PointGroup("position", proj.points, [str(i) for i in range(n)], colors, size=6,
                        label_every=every, connect=True)],
            title=f"Positions 0 to {n - 1} projected to 2-D (PCA), in order",
            x_label=f"PC 1 ({ex1:.0%})", y_label=f"PC 2 ({ex2:.0%})")
