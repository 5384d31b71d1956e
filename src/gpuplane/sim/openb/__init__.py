"""`gpuplane replay openb`: the FGD paper's experiment on the Alibaba openb trace.

`reader` reads the node and pod lists into brain objects; `replay` runs one (trace, policy,
seed) through gpuplane's scheduler as a pure function; `run_replays` runs many over local
cores; `results` bins them the way the paper's authors published theirs (and reads those);
`plots` draws allocation against arrived workload. `source` replays the trace in time as
workloads for the simulator core (used by twin scenarios with a `trace`).
"""
