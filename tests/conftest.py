"""Test-suite environment: real data from ../shared/data, Jupyter state in a temp dir."""
