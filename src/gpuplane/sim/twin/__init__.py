"""`gpuplane simulate`: scenario -> variants -> runs -> comparison and report.

1. `spec` (with `spec_workload`) is the scenario file's schema; `parse` validates the base and
   every variant merged onto it (`merge`) before anything runs.
2. `load` sets up each variant: its nodes and pools with `prices`, the admission setup from
   the queue manifests (`queueing.manifests`) under the variant's rules, failures and spot
   interruptions; `workloads` draws the one set of workloads every variant runs.
3. `run_variants` simulates every variant in parallel, `probe` measuring per pool and busy GPU.
4. `comparison` makes the table (terminal and JSON), `report` the self-contained HTML report
   with `figures`. The built-in scenarios are package data in `scenarios/`.
"""
