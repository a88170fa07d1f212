"""Training: one step of the objective and its hooks (step, hooks), the loop around it (trainer), how it runs
on the hardware (execution: precision, compilation; distributed: torchrun), what it watches (monitor, health),
the learning-rate schedule and optimizers, the fixed-noise pictures (snapshots), stop signals, and starting or
resuming a run directory (start)."""
