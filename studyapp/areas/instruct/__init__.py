"""The Instruct lab (chapter 7): fine-tuning the GPT to follow instructions.

`core` is the Qt-free glue between the lab and `model.instruct` (data choice, the recipe as
data, the rows the views show); `area` builds the lab from its views: `data_view` (the data,
its split and one formatted entry), `batch_view` (a real batch cell by cell), `recipe_view`,
`responses_view` (before and after, the book's responses, ROUGE-L, the opt-in Ollama judge) and
`try_view` (an instruction of your own).
"""
