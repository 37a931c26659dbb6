"""Data the app ships: the notes deck, the GPT-2 vocabulary, The Verdict, the bundled checkpoint.

Installed as the package ``studyapp.resources`` (see pyproject.toml) so that
``importlib.resources.files("studyapp.resources")`` finds it after a plain ``pip install .``.
"""
