"""Layer: the Go oracles, the one cached Go build, the one C-probe compiler."""
