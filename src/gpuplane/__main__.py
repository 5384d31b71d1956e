"""`python -m gpuplane` runs the CLI."""

from gpuplane.cli import main

main()
