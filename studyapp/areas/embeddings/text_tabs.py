"""The Embeddings lab's tabs on the text's own tokens (chapter 2, sections 2.1, 2.7 and 2.8):
the token, positional and input embeddings as heatmaps (with the weight matrix in the book
demo), the cosine similarity between the tokens, and a token's nearest neighbours in the whole
vocabulary. The numbers come from `core` (no Qt)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QHeaderView, QLabel,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from studyapp.areas.embeddings import core
from studyapp.widgets.heatmap import HeatmapWidget

DIVERGING = "diverging"  # the palette's map for signed values, centred on zero


class TextTabs:
    """Part of `EmbeddingsLab`: builds the first three tabs on the lab's `tabs` and draws them
    from the lab's `embeddings` and `source`."""

    def _build_text_tabs(self) -> None:
        # Embeddings: weights (demo only), token, positional, input
        self.weights_map = HeatmapWidget(title="Embedding weight matrix", colormap=DIVERGING,
                                         symmetric=True, row_axis_title="token ID",
                                         col_axis_title="dimension")
        self.token_map = HeatmapWidget(title="Token embeddings", colormap=DIVERGING,
                                       symmetric=True, col_axis_title="dimension")
        self.pos_map = HeatmapWidget(title="Positional embeddings", colormap=DIVERGING,
                                     symmetric=True, col_axis_title="dimension")
        self.input_map = HeatmapWidget(title="Input embeddings",
                                       colormap=DIVERGING, symmetric=True,
                                       col_axis_title="dimension")
        emb_tab = QWidget()
        emb_layout = QVBoxLayout(emb_tab)
        emb_layout.setContentsMargins(4, 4, 4, 4)
        grid = QGridLayout()
        self._emb_grid = grid
        self._emb_caption = QLabel()
        self._emb_caption.setWordWrap(True)
        emb_layout.addWidget(self._emb_caption)
        emb_layout.addLayout(grid, 1)
        self.tabs.addTab(emb_tab, "Embeddings")

        # Cosine similarity
        cos_tab = QWidget()
        self.cosine_of = QComboBox()
        self.cosine_of.addItems(["token embeddings", "input embeddings"])
        self.cosine_of.setToolTip("Compare the token embeddings (chapter 2, section 2.7) or "
                                  "the input embeddings, token + position (section 2.8)")
        self.cosine_of.currentIndexChanged.connect(lambda _i: self._mark_dirty(1))
        self.cosine_map = HeatmapWidget(title="Cosine similarity", colormap=DIVERGING,
                                        symmetric=True, value_format="{:.3f}")
        self.cosine_map.set_levels(-1.0, 1.0)
        self.cosine_map.clicked.connect(self._on_cosine_clicked)
        cos_help = QLabel("of the text's tokens (1: same direction, 0: unrelated, "
                          "-1: opposite). Click a cell to see its row token's neighbours.")
        cos_help.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Cosine similarity between the"))
        top.addWidget(self.cosine_of)
        top.addWidget(cos_help, 1)
        cos_layout = QVBoxLayout(cos_tab)
        cos_layout.addLayout(top)
        cos_layout.addWidget(self.cosine_map, 1)
        self.tabs.addTab(cos_tab, "Cosine similarity")

        # Nearest neighbours
        nn_tab = QWidget()
        self.nn_token = QComboBox()
        self.nn_token.setMinimumWidth(180)
        self.nn_token.setToolTip("A token of your text: its nearest neighbours by cosine "
                                 "similarity among all rows of the token embedding matrix "
                                 "(chapter 2, section 2.7)")
        self.nn_token.currentIndexChanged.connect(lambda _i: self._render_neighbours())
        self.nn_table = QTableWidget(0, 4)
        self.nn_table.setHorizontalHeaderLabels(["rank", "token", "ID", "cosine"])
        self.nn_table.verticalHeader().setVisible(False)
        self.nn_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.nn_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.nn_note = QLabel()
        self.nn_note.setWordWrap(True)
        nn_top = QHBoxLayout()
        nn_top.addWidget(QLabel("Token:"))
        nn_top.addWidget(self.nn_token)
        nn_top.addWidget(self.nn_note, 1)
        nn_layout = QVBoxLayout(nn_tab)
        nn_layout.addLayout(nn_top)
        nn_layout.addWidget(self.nn_table, 1)
        self.tabs.addTab(nn_tab, "Nearest neighbours")

    def _render_embeddings(self) -> None:
        e, s = self.embeddings, self.source
        t, d = e.token.shape
        if self.demo_radio.isChecked():
            weights = s.tok_weight.numpy()
            if weights.shape[0] <= 2048:
                self.weights_map.set_matrix(
                    weights, [str(i) for i in range(weights.shape[0])], None,
                    title=f"Embedding weight matrix ({weights.shape[0]} x {d})")
            else:
                self.weights_map.show_message(
                    f"The weight matrix has {weights.shape[0]:,} rows, too many to draw; the "
                    "token embeddings are its rows for the IDs.")
        self.token_map.set_matrix(e.token, e.labels, None,
                                  title=f"Token embeddings ({t} x {d})")
        self.pos_map.set_matrix(e.positional, [str(i) for i in range(t)], None,
                                title=f"Positional embeddings ({t} x {d})")
        self.input_map.set_matrix(e.input, e.labels, None,
                                  title=f"Input embeddings ({t} x {d})")
        if self.demo_radio.isChecked():
            caption = (f"Book demo: torch.manual_seed(123), then torch.nn.Embedding"
                       f"({s.vocab_size}, {d}) for tokens and torch.nn.Embedding"
                       f"({s.context_length}, {d}) for positions. Row i of the weight matrix "
                       "is the vector of token ID i; the token embeddings are the rows the IDs "
                       "pick; input = token + positional.")
        else:
            caption = (f"Each of the {t} token(s) is a row of {d} numbers looked up in "
                       f"{s.name}'s tok_emb; pos_emb adds one vector per position; their sum "
                       "is what the first transformer block receives. Hover for values.")
        self._emb_caption.setText(caption)

    def _render_cosine(self) -> None:
        e = self.embeddings
        use_input = self.cosine_of.currentIndex() == 1
        matrix = core.cosine_matrix(e.input if use_input else e.token)
        kind = "input" if use_input else "token"
        self.cosine_map.set_matrix(matrix, e.labels, e.labels,
                                   title=f"Cosine similarity of the {kind} embeddings "
                                         f"({len(e.ids)} x {len(e.ids)})")

    def _render_neighbours(self) -> None:
        e, s = self.embeddings, self.source
        if e is None or s is None:
            return
        row = max(0, self.nn_token.currentIndex())
        if row >= len(e.ids):
            return
        token_id = e.ids[row]
        key = id(s.tok_weight)
        if self._norms_cache is None or self._norms_cache[0] != key:
            self._norms_cache = (key, core.row_norms(s))
        neighbours = core.nearest_neighbours(s, token_id, k=10, norms=self._norms_cache[1])
        self.nn_table.setRowCount(len(neighbours))
        for r, n in enumerate(neighbours):
            for c, value in enumerate((str(r + 1), n.label, str(n.id), f"{n.cosine:.4f}")):
                item = QTableWidgetItem(value)
                if c != 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.nn_table.setItem(r, c, item)
        trained = "" if self.model_radio.isChecked() and \
            (self.ctx.models.current and self.ctx.models.current.source != "untrained") else \
            " These vectors are random (untrained), so the neighbours are arbitrary; a trained " \
            "model puts related tokens close together."
        self.nn_note.setText(
            f"The {len(neighbours)} tokens of the whole vocabulary ({s.vocab_size:,}) whose "
            f"vectors point most nearly the same way as {s.label(token_id)!r} "
            f"(ID {token_id}).{trained}")
