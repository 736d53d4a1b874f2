"""The beat schedule and the "advance elections" logic."""
