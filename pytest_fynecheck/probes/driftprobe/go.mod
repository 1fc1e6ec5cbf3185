module fynecheck.local/driftprobe

go 1.21
