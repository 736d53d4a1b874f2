"""Loading: election definitions and ballots from their files (docs/formats.md), CVR exports and
RCTab configurations (cvr.py). A definition is checked whole before anything is written; a malformed
ballot is stored as cast and counted as invalid with its reason, never dropped."""
