"""Prescribe: turn a diagnosis into action. `changes` says which config keys the findings want
changed and why, the config writers apply them to a copy of the user's file (never the file
itself), and `whatif` re-forecasts the run under a changed schedule with its compute cost."""
