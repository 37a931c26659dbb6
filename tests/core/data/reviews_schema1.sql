-- A review database written by studyapp with schema 1 (before cards kept their answers
-- and earlier questions): deck 'deck' of the BASE fixture in notes_fixtures.py, three
-- cards graded. Made with sqlite3's iterdump; loaded by test_review_history.py.
BEGIN TRANSACTION;
CREATE TABLE cards (
    deck_id INTEGER NOT NULL REFERENCES decks(id),
    key TEXT NOT NULL,
    section TEXT NOT NULL,
    section_key TEXT NOT NULL,
    question TEXT NOT NULL,
    ord INTEGER NOT NULL,
    present INTEGER NOT NULL DEFAULT 1,
    open_question INTEGER NOT NULL DEFAULT 0,
    added INTEGER NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    step INTEGER,
    stability REAL,
    difficulty REAL,
    due INTEGER,
    last_review INTEGER,
    reps INTEGER NOT NULL DEFAULT 0,
    lapses INTEGER NOT NULL DEFAULT 0,
    suspended INTEGER NOT NULL DEFAULT 0,
    buried_until INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deck_id, key)
) WITHOUT ROWID;
INSERT INTO "cards" VALUES(1,'272d38ca6746592e3e27','Chapter 2: text as numbers','chapter 2','Why do we need a tokenizer',3,1,0,1741600000000,0,NULL,NULL,NULL,NULL,NULL,0,0,0,0);
INSERT INTO "cards" VALUES(1,'2f30507de15835fae4b3','Chapter 3: attention','chapter 3','why is it called scaled dot product attention',6,1,0,1741600000000,0,NULL,NULL,NULL,NULL,NULL,0,0,0,0);
INSERT INTO "cards" VALUES(1,'696d73f302790b47c283','Chapter 1: what language models are','chapter 1','Stages of buiding and using a model',0,1,0,1741600000000,1,1,2.3065,2.11810397045901588342e+00,1741600660000,1741600060000,1,0,0,0);
INSERT INTO "cards" VALUES(1,'741ff62cef836a900bde','Chapter 1: what language models are','chapter 1','What is an LLM',1,1,0,1741600000000,1,0,0.212,6.4133,1741600180000,1741600120000,1,0,0,0);
INSERT INTO "cards" VALUES(1,'c275c9098b6c8f5e5fa2','Chapter 2: text as numbers','chapter 2','what does one hot encoding mean',4,1,0,1741600000000,0,NULL,NULL,NULL,NULL,NULL,0,0,0,0);
INSERT INTO "cards" VALUES(1,'d14ca46ddcdb762f6417','Maths concepts','maths concepts','what is tensor',8,1,0,1741600000000,0,NULL,NULL,NULL,NULL,NULL,0,0,0,0);
INSERT INTO "cards" VALUES(1,'d190d14e74de6d318f94','Chapter 3: attention','chapter 3','What is self attention',5,1,0,1741600000000,0,NULL,NULL,NULL,NULL,NULL,0,0,0,0);
INSERT INTO "cards" VALUES(1,'e011f117a232597db1ee','Chapter 1: what language models are','chapter 1','Explain backpropagation simply',2,1,0,1741600000000,2,NULL,8.2956,1.0,1742118580000,1741600180000,1,0,0,0);
INSERT INTO "cards" VALUES(1,'ffbddff01ad401d27ad4','Chapter 3: attention','chapter 3','3 step process for self-attention ?',7,1,1,1741600000000,0,NULL,NULL,NULL,NULL,NULL,0,0,0,0);
CREATE TABLE deck_paths (
    path TEXT PRIMARY KEY,
    deck_id INTEGER NOT NULL REFERENCES decks(id),
    last_opened INTEGER NOT NULL
);
INSERT INTO "deck_paths" VALUES('/notes/deck.md',1,1741600000000);
CREATE TABLE decks (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created INTEGER NOT NULL
);
INSERT INTO "decks" VALUES(1,'deck',1741600000000);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('schema','1');
CREATE TABLE revlog (
    id INTEGER PRIMARY KEY,
    deck_id INTEGER NOT NULL,
    card_key TEXT NOT NULL,
    ts INTEGER NOT NULL,
    rating INTEGER NOT NULL,
    state_before INTEGER NOT NULL,
    state_after INTEGER NOT NULL,
    interval_before REAL NOT NULL,
    interval_after REAL NOT NULL,
    stability_before REAL,
    stability_after REAL,
    difficulty_before REAL,
    difficulty_after REAL,
    due_before INTEGER,
    due_after INTEGER,
    duration_ms INTEGER
);
INSERT INTO "revlog" VALUES(1,1,'696d73f302790b47c283',1741600060000,3,0,1,0.0,6.94444444444444405895e-03,NULL,2.3065,NULL,2.11810397045901588342e+00,NULL,1741600660000,2000);
INSERT INTO "revlog" VALUES(2,1,'741ff62cef836a900bde',1741600120000,1,0,1,0.0,6.94444444444444470947e-04,NULL,0.212,NULL,6.4133,NULL,1741600180000,2000);
INSERT INTO "revlog" VALUES(3,1,'e011f117a232597db1ee',1741600180000,4,0,2,0.0,6.0,NULL,8.2956,NULL,1.0,NULL,1742118580000,2000);
CREATE INDEX revlog_deck_stats
    ON revlog (deck_id, ts, state_before, rating, duration_ms);
CREATE INDEX revlog_card ON revlog (deck_id, card_key, ts);
COMMIT;
