"""The simulator core: a virtual clock and event heap that drive the admission engine.

`simulator` runs the loop (arrivals, completions, node and GPU failures, one admission cycle
per instant); `events` are what it pops; `records` what it remembers of each workload;
`generators` draw team workloads from a seed and `durations` job lengths from the Philly
trace; `metrics` (with `fairness`) measure a run; `invariants` are what must hold after every
event. It decides nothing itself: every decision is the brain's.
"""
