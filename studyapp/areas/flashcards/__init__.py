"""The Flashcards area: the learner's notes reviewed with spaced repetition.

`area` composes the review, browse and stats panels over `studyapp.notes` and `studyapp.review`,
which hold the Qt-free deck logic.
"""
