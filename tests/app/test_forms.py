"""The form builders lay widgets out as written: order, stretch factors, margins, scrolling."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from studyapp.widgets.forms import STRETCH, column, row, scrolled


def test_a_column_holds_widgets_layouts_and_stretches_in_order(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    title, plot, left, right = QLabel("t"), QLabel("p"), QLabel("l"), QLabel("r")
    inner = row(left, STRETCH, right)
    layout = column(title, (plot, 2), inner, parent=host, margins=4, spacing=3)
    assert host.layout() is layout
    assert [layout.itemAt(i).widget() or layout.itemAt(i).layout() for i in range(3)] == [
        title, plot, inner]
    assert [layout.stretch(i) for i in range(3)] == [0, 2, 0]
    assert layout.contentsMargins().left() == 4 and layout.contentsMargins().bottom() == 4
    assert layout.spacing() == 3
    assert inner.itemAt(1).spacerItem() is not None and inner.stretch(1) == 1
    wide = column(QLabel("x"), margins=(0, 1, 2, 3)).contentsMargins()
    assert (wide.left(), wide.top(), wide.right(), wide.bottom()) == (0, 1, 2, 3)


def test_a_column_refuses_what_it_cannot_lay_out():
    with pytest.raises(TypeError, match="not a widget"):
        column("a label's text")


def test_scrolled_resizes_its_widget_and_can_keep_to_the_width(qtbot):
    content = QLabel("content")
    scroll = scrolled(content, horizontal=False)
    qtbot.addWidget(scroll)
    assert scroll.widget() is content and scroll.widgetResizable()
    assert scroll.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    assert scrolled(QLabel()).horizontalScrollBarPolicy() != Qt.ScrollBarPolicy.ScrollBarAlwaysOff
