"""The Training lab (chapter 5): `core` prepares runs and reads their records without Qt, `area`
drives `model.train` from a job and plots the loss.
"""
