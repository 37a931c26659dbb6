"""The Classify lab: chapter 6's fine-tuning for classification and appendix E's LoRA.

A pretrained GPT gets a new output head that predicts a class from the last token; the lab
prepares labelled texts as the book does (balance, split 70/10/20, pad with <|endoftext|>),
fine-tunes the chosen parts (or LoRA matrices) with live loss and accuracy curves, and shows
the accuracy before and after, the confusion matrix, the texts it gets wrong, and what it
answers for a typed text at every token, padding included.
"""
