"""The run directory: its layout and saved config (layout), the metrics and events logs (log), the lock that
keeps one writer (lock), checkpoints (checkpoints) and the saved random streams (rng_state)."""
