// The reload oracle's probe app, copied into every churned tree as probe.go. main.go
// (rewritten by the churn) lists the tree's packages; each package embeds its own
// sources, and this file embeds the root's sources and assets/. At start the binary
// hashes those embedded copies: what the compiler was given, not what is on disk now.
package main

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

//go:embed *.go assets
var rootFS embed.FS

// hashTree: sha256 over "path\0sha256(content)\n" for every embedded file, sorted by
// tree-relative path (the kit computes the same from its model of the tree).
func hashTree() (string, int) {
	lines := []string{}
	add := func(prefix string, fsys embed.FS) {
		_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fsys.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			lines = append(lines, prefix+p+"\x00"+hex.EncodeToString(sum[:])+"\n")
			return nil
		})
	}
	add("", rootFS)
	for name, fsys := range packages {
		add(name+"/", fsys)
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "")))
	return hex.EncodeToString(sum[:]), len(lines)
}

type announcement struct {
	Pid     int    `json:"pid"`
	Hash    string `json:"hash"`
	Files   int    `json:"files"`
	Port    string `json:"port"`
	Started int64  `json:"started_ns"`
}

func main() {
	dir := os.Getenv("FYNECHECK_RELOAD_DIR")
	port := os.Getenv("FYNECHECK_PROBE_PORT")
	hash, files := hashTree()
	a := announcement{Pid: os.Getpid(), Hash: hash, Files: files, Port: port,
		Started: time.Now().UnixNano()}
	fmt.Printf("fynecheck-probe pid=%d hash=%s port=%s\n", a.Pid, hash, port)
	if dir == "" {
		fmt.Fprintln(os.Stderr, "fynecheck-probe: FYNECHECK_RELOAD_DIR is not set")
		os.Exit(2)
	}
	// The announcement is locked while this process lives: the kernel drops the lock
	// when it dies, however it dies, so liveness needs no pid (pids differ in containers).
	final := filepath.Join(dir, "probes", fmt.Sprintf("%d-%d.json", a.Pid, a.Started))
	f, err := os.OpenFile(final+".tmp", os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fynecheck-probe:", err)
		os.Exit(2)
	}
	if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		fmt.Fprintln(os.Stderr, "fynecheck-probe: flock:", err)
		os.Exit(2)
	}
	data, _ := json.Marshal(a)
	_, _ = f.Write(append(data, '\n'))
	_ = os.Rename(final+".tmp", final)
	// Like a real server, the app holds its port while it runs. A short retry lets a
	// reloader that has just signalled the old process finish stopping it. The outcome
	// goes beside the announcement: NAME.bound, or NAME.err and exit.
	var ln net.Listener
	for i := 0; i < 20; i++ {
		if ln, err = net.Listen("tcp", "127.0.0.1:"+port); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		_ = os.WriteFile(final+".err", []byte(err.Error()), 0o644)
		fmt.Fprintln(os.Stderr, "fynecheck-probe: listen:", err)
		os.Exit(1)
	}
	_ = os.WriteFile(final+".bound", []byte(ln.Addr().String()), 0o644)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = fmt.Fprintf(c, "%d %s\n", a.Pid, hash)
			_ = c.Close()
		}
	}()
	// The kit's stop switch (a file, so it works across containers), and no orphan
	// outlives its sandbox.
	for {
		time.Sleep(200 * time.Millisecond)
		runtime.KeepAlive(f) // its finalizer would close the fd, and drop the lock
		if _, err := os.Stat(filepath.Join(dir, "stop")); err == nil {
			os.Exit(0)
		}
		if _, err := os.Stat(dir); err != nil {
			os.Exit(0)
		}
	}
}
