"""Studies: grids of runs (variants x datasets x seeds), run in parallel, aggregated over seeds, reported."""
