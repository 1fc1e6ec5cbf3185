module pytest-fynecheck/probes/watcher

go 1.21

require github.com/fsnotify/fsnotify v1.9.0

require golang.org/x/sys v0.13.0 // indirect
