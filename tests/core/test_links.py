"""The card-to-lab map: by question, then by keyword; every bundled card about a mechanism links."""

from types import SimpleNamespace

from studyapp.areas import AREAS
from studyapp.links import LinkMap, bundled_links


def test_every_link_in_the_data_file_names_a_real_area():
    keys = {area.key for area in AREAS}
    links = bundled_links()
    assert {link.area for link in links._by_question.values()} <= keys
    assert {link.area for _, link in links._keywords} <= keys


def test_question_match_ignores_case_spacing_and_punctuation():
    link = bundled_links().link_for("3 STEP process for self attention")
    assert link.area == "attention" and link.state == {"step": 2}


def test_keyword_fallback_for_new_cards():
    links = bundled_links()
    assert links.link_for("How does BPE handle an unknown word?").state["text"] == "Akwirw ier"
    assert links.link_for("What does the causal mask hide?").state == {"step": 3}
    assert links.link_for("Why does the loss fall slower later?").area == "training"
    assert links.link_for("Who wrote the book?") is None
    assert links.link_for("What is instruction fine-tuning?").area == "instruct"
    assert links.link_for("Why ignore_index -100?").state == {"tab": "batch"}
    assert links.link_for("A question", answer="uses multi-head attention").state == {"step": 5}


def test_cards_for_area():
    cards = [SimpleNamespace(question="what is tensor?", answer=""),
             SimpleNamespace(question="How is text tokenized?", answer=""),
             SimpleNamespace(question="Who wrote the book?", answer="")]
    links = LinkMap({"questions": {"what is tensor?": {"area": "embeddings"}},
                     "keywords": [{"words": ["tokeniz"], "area": "tokenizer"}]})
    assert links.cards_for_area(cards, "tokenizer") == [cards[1]]
    assert links.cards_for_area(cards, "embeddings") == [cards[0]]
