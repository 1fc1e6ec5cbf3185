// Command watcher is pytest-fynecheck's reference implementation of the watcher
// protocol v1: it watches ROOT recursively with fsnotify and prints one JSON line
// per event on stdout.
//
// fsnotify is not recursive, so every new directory is watched first and scanned
// second: files created in it before the watch existed are reported as creates
// (possibly twice, which the protocol allows).
//
// It is also the kit's built-in `fsnotify` adapter, built against the fsnotify version a
// project requires; so it keeps to the API every fsnotify since v1.4 has (Op&, not Has).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

type line struct {
	Ready bool   `json:"ready,omitempty"`
	Op    string `json:"op,omitempty"`
	Path  string `json:"path,omitempty"`
	Error string `json:"error,omitempty"`
}

// One write per line: a reader never sees half a line, and nothing waits in a buffer.
func emit(l line) {
	b, _ := json.Marshal(l)
	os.Stdout.Write(append(b, '\n'))
}

var ops = []struct {
	op   fsnotify.Op
	name string
}{
	{fsnotify.Create, "create"},
	{fsnotify.Write, "write"},
	{fsnotify.Remove, "remove"},
	{fsnotify.Rename, "rename"},
	{fsnotify.Chmod, "chmod"},
}

// watchTree watches dir and everything below it. With announce, it reports what it
// finds as creates, because those entries appeared before their directory was watched.
func watchTree(w *fsnotify.Watcher, dir string, announce bool) {
	if err := w.Add(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return // already gone: its removal is reported by the parent's watch
		}
		emit(line{Error: fmt.Sprintf("cannot watch %s: %v", dir, err)})
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			emit(line{Error: fmt.Sprintf("cannot scan %s: %v", dir, err)})
		}
		return
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if announce {
			emit(line{Op: "create", Path: p})
		}
		// DirEntry types come from lstat: a symlink to a directory is not followed.
		if e.IsDir() {
			watchTree(w, p, announce)
		}
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: watcher ROOT")
		os.Exit(2)
	}
	root, err := filepath.Abs(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fsnotify:", err)
		os.Exit(1)
	}
	defer w.Close()
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		fmt.Fprintf(os.Stderr, "not a directory: %s\n", root)
		os.Exit(2)
	}
	watchTree(w, root, false)
	emit(line{Ready: true})

	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			for _, o := range ops {
				if ev.Op&o.op != 0 {
					emit(line{Op: o.name, Path: ev.Name})
				}
			}
			if ev.Op&fsnotify.Create != 0 {
				if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
					watchTree(w, ev.Name, true)
				}
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				emit(line{Error: "inotify queue overflow: events were lost"})
			} else {
				emit(line{Error: err.Error()})
			}
		}
	}
}
