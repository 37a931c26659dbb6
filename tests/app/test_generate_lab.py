"""The Generate lab: streaming generation, the next-token chart, chapter 5's demos, the loss of
a continuation, side by side, bad input, and the model session's states."""

import pytest
import torch

from model.generate import generate
from model.tokenizer import get_tokenizer


@pytest.fixture
def area(qtbot, ctx):
    from studyapp.areas.generate.area import create_area

    widget = create_area(ctx)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.generate.chart.updated, timeout=10000):
        widget.generate.prompt.setPlainText("Every effort moves you")
        widget.generate.analyse_prompt()
    yield widget
    widget.shutdown()


def _greedy(entry, text, n):
    ids = torch.tensor([get_tokenizer().encode(text)])
    return generate(entry.model, ids, n)[0, ids.shape[1]:].tolist()


def test_prompt_shows_its_tokens_and_the_next_token_chart(area, ctx):
    panel = area.generate
    assert panel.ids == get_tokenizer().encode("Every effort moves you")
    assert panel.selected == panel.n_prompt - 1
    view = panel.last_view
    with torch.no_grad():
        logits = ctx.models.current.model(torch.tensor([panel.ids]))[0, -1]
    assert view.argmax == int(logits.argmax())
    assert "Next token after the prompt" in panel.chart.title.text()
    assert "argmax" in panel.path.text()


def test_greedy_generation_streams_the_models_tokens(qtbot, area, ctx):
    panel = area.generate
    panel.controls.set_values(greedy=True, max_new_tokens=8, top_k=0)
    seen = []
    panel.output.textChanged.connect(lambda: seen.append(len(panel.output.pieces)))
    with qtbot.waitSignal(panel.generation_finished, timeout=20000) as done:
        assert panel.start_generation()
        assert panel.stop_button.isEnabled() and not panel.generate_button.isEnabled()
    assert done.args == ["completed"]
    expected = _greedy(ctx.models.current, "Every effort moves you", 8)
    assert panel.ids[panel.n_prompt:] == expected
    assert panel.generated_text() == get_tokenizer().decode(expected)
    assert "Generated 8 tokens" in panel.status.text()
    assert not panel.stop_button.isEnabled() and panel.generate_button.isEnabled()
    # Each step's logits were kept: clicking a generated token shows its distribution at once.
    panel.select_position(panel.n_prompt + 2)
    assert panel.last_view.argmax == expected[3]
    assert "after token" in panel.chart.title.text()


def test_sampling_is_seeded_and_kv_cache_gives_the_same_tokens(qtbot, area):
    panel = area.generate
    results = []
    for cache in (True, False):
        panel.controls.set_values(greedy=False, temperature=1.4, top_k=30, top_p=0.95, seed=9,
                                  max_new_tokens=6, kv_cache=cache)
        with qtbot.waitSignal(panel.generation_finished, timeout=20000):
            panel.start_generation()
        results.append(panel.ids[panel.n_prompt:])
    assert results[0] == results[1] and len(results[0]) == 6


def test_stop_ends_a_long_generation(qtbot, area):
    panel = area.generate
    panel.controls.set_values(greedy=True, max_new_tokens=2000)
    with qtbot.waitSignal(panel.generation_finished, timeout=30000) as done:
        panel.start_generation()
        qtbot.waitUntil(lambda: len(panel.ids) > panel.n_prompt + 2, timeout=10000)
        panel.stop_button.click()
    assert done.args == ["stopped"]
    assert panel.n_prompt + 2 < len(panel.ids) < panel.n_prompt + 2000
    assert "Stopped after" in panel.status.text()


def test_chart_follows_temperature_and_top_k_live(area):
    panel = area.generate
    panel.controls.set_values(greedy=False, temperature=1.0, top_k=0)
    flat_before = panel.last_view.probs[0]
    panel.controls.temperature_slider.setValue(20)  # T = 0.2: sharper
    assert panel.controls.temperature.value() == pytest.approx(0.2)
    assert panel.last_view.temperature == pytest.approx(0.2)
    assert panel.last_view.probs[0] > flat_before
    panel.controls.top_k_slider.setValue(5)
    assert panel.controls.top_k.value() == 5
    assert len(panel.last_view.ids) == 5 and panel.last_view.kept == 5
    assert sum(panel.last_view.probs) == pytest.approx(1.0, abs=1e-6)
    assert len(panel.chart.labels) == 5


def test_the_latest_clicked_position_is_charted(qtbot, area):
    panel = area.generate
    for index in (0, 1, 2):  # quick clicks on tokens whose logits are not known yet
        panel.select_position(index)
    assert panel.logits_job.wait_idle(10000)
    assert panel.selected == 2 and 2 in panel._logits
    assert f"after token 3 of {len(panel.ids)}" in panel.chart.title.text()


def test_bad_input_gets_messages_not_tracebacks(qtbot, area, ctx):
    panel = area.generate
    panel.controls.set_values(greedy=False, temperature=-0.5)
    assert not panel.start_generation()
    assert "Temperature must be 0 or more" in panel.notice.text()
    assert "Temperature" in panel.chart.message.text()
    panel.controls.set_values(temperature=1.0, top_k=99999, max_new_tokens=0)
    assert "not smaller than the vocabulary" in panel.notice.text()
    assert not panel.start_generation()  # nothing to generate, said so
    assert "nothing is generated" in panel.notice.text()
    assert panel.ids == get_tokenizer().encode("Every effort moves you")
    with qtbot.waitSignal(panel.chart.updated, timeout=10000):
        panel.prompt.setPlainText("")
        panel.analyse_prompt()
    assert panel.ids == [50256] and "<|endoftext|>" in panel.notice.text()
    with qtbot.waitSignal(panel.chart.updated, timeout=10000):
        panel.prompt.setPlainText("word" + " word" * 99)  # 100 tokens, context 64
        panel.analyse_prompt()
    assert len(panel.ids) == 64 and "only the last 64" in panel.notice.text()


def test_waits_for_a_model_and_rerenders_when_it_changes(qtbot, tmp_path, tiny_entry):
    from studyapp.shell.app import build_context
    from studyapp.areas.generate.area import create_area
    from studyapp.models.entry import untrained_entry

    ctx = build_context(tmp_path)
    area = create_area(ctx)
    qtbot.addWidget(area)
    panel = area.generate
    assert "Loading model" in panel.model_line.text()
    assert not panel.generate_button.isEnabled()
    assert "Loading model" in panel.chart.message.text()
    assert "Loading model" in area.loss.summary.text()
    with qtbot.waitSignal(panel.chart.updated, timeout=10000):
        ctx.models.add(tiny_entry)
    assert panel.generate_button.isEnabled() and "untrained tiny" in panel.model_line.text()
    other = untrained_entry("tiny", seed=7)
    with qtbot.waitSignal(panel.chart.updated, timeout=10000):
        ctx.models.add(other)
    with torch.no_grad():
        expected = other.model(torch.tensor([panel.ids]))[0, -1].argmax()
    assert panel.last_view.argmax == int(expected)
    area.shutdown()


def test_apply_state_file_actions_and_screenshot(qtbot, area, ctx, tmp_path):
    with qtbot.waitSignal(area.generate.chart.updated, timeout=10000):
        area.apply_state({"prompt": "I really like", "temperature": 0.7, "top_k": 3})
    panel = area.generate
    assert panel.ids == get_tokenizer().encode("I really like")
    assert not panel.controls.greedy.isChecked() and panel.last_view.top_k == 3
    assert area.current_panel() is panel
    area.apply_state({"tab": "models"})
    assert area.current_panel() is area.models
    actions = area.file_actions()
    assert any("Open" in a.text() and "model" in a.text() for a in actions)
    area.prepare_screenshot()
    assert len(panel.ids) == panel.n_prompt + 20
    assert area.grab().save(str(tmp_path / "generate.png"))


def test_chapter5_demos_show_the_books_numbers(qtbot, area):
    demos = area.demos
    with qtbot.waitSignal(demos.computed, timeout=20000):  # computed when first shown
        area.show_tab("demos")
        area.show()
    table = demos.temperature_table
    column = [table.item(r, 2).text() for r in range(9)]  # counts at T = 1
    assert column == ["73", "0", "0", "582", "2", "0", "0", "343", "0"]
    assert table.horizontalHeaderItem(1).text().replace("\n", " ") == "p T = 1"
    demos.k.setValue(3)
    probs = [demos.top_k_table.item(r, 2).text() for r in range(9)]
    assert probs == ["0.0615", "0.0000", "0.0000", "0.5775", "0.0000", "0.0000", "0.0000",
                     "0.3610", "0.0000"]
    assert demos.top_k_table.item(1, 1).text() == "-inf"
    with qtbot.waitSignal(demos.computed, timeout=20000):
        demos.custom_t.setValue(0.5)
    assert demos.rows[3].temperature == 0.5 and sum(demos.rows[3].counts) == 1000
    assert table.horizontalHeaderItem(7).text() == "p\nT = 0.5\n(yours)"
    area.hide()


def test_loss_of_a_continuation(qtbot, area, ctx):
    from model.chapter5 import continuation_loss

    loss = area.loss
    loss.prompt.setText("every")
    loss.target.setText(" effort moves you")
    with qtbot.waitSignal(loss.done, timeout=20000):
        assert loss.compute()
    (_name, result), = loss.result
    expected = continuation_loss(ctx.models.current.model, [16833], [3626, 6100, 345])
    assert result.probas == pytest.approx(expected.probas)
    assert loss.table.rowCount() == 3
    assert f"{expected.cross_entropy:.4f}" in loss.summary.text()
    assert f"{expected.perplexity:,.4f}" in loss.summary.text()
    loss.target.setText("")
    assert not loss.compute() and "continuation is empty" in loss.summary.text()


def test_side_by_side_runs_two_models(qtbot, area, ctx):
    from studyapp.models.entry import untrained_entry

    other = untrained_entry("tiny", seed=1)
    ctx.models.add(other, make_current=False)
    compare = area.compare
    compare.select(ctx.models.current, other)
    compare.prompt.setPlainText("Every effort moves you")
    compare.controls.set_values(greedy=True, max_new_tokens=5)
    with qtbot.waitSignal(compare.done, timeout=20000):
        assert compare.start()
    tok = get_tokenizer()
    left, right = compare.texts()
    assert left == tok.decode(_greedy(ctx.models.current, "Every effort moves you", 5))
    assert right == tok.decode(_greedy(other, "Every effort moves you", 5))
    assert left != right
