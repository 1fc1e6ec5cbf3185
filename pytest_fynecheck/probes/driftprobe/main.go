// Command driftprobe reads what a Go binary carries without running it: its build
// info (debug/buildinfo, the same reader `go version -m` uses) and the file tables
// of its embed.FS variables, found by the file names the source side expects.
//
// The tables are found without symbols, so stripped (-s -w) binaries work: the
// compiler lays out `<pkg>.<var>.files` as a slice header {ptr, n, n} followed
// directly by n entries {name string, data string, hash [16]byte}; we find a name
// string, then a string header pointing at it, then walk back to that slice header.
//
// WebAssembly (GOOS=js GOARCH=wasm) has no build info block: Go's wasm linker writes
// only rodata, pclntab and data into the module's data section, not the .go.buildinfo
// section debug/buildinfo searches, so `go version -m app.wasm` says "unrecognized file
// format" (Go 1.26). The same facts are there in other forms: the runtime.modinfo string
// (between its two 16-byte sentinels, as cmd/go wrote it) and the Go version in the
// "producers" custom section. The data segments, laid out at their linear-memory
// offsets (zeros the linker omitted filled back in), are searched like ELF's rodata:
// a wasm pointer is 8 bytes, little-endian.
//
// Usage:
//
//	driftprobe inspect BINARY REQUEST.json [-symbols]   (JSON report on stdout;
//	                                                    -symbols names each table)
//	driftprobe bundle FILE.go                  (fyne bundle resources in FILE.go)
//
// Errors are one JSON object {"error": {"kind", "message"}} and exit status 2.
package main

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"errors"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"
)

type request struct {
	// Names per package, relative to the package directory as go:embed records them.
	Packages []struct {
		ImportPath string   `json:"import_path"`
		Names      []string `json:"names"`
	} `json:"packages"`
	// Files whose exact bytes are searched for when no table has their name
	// ([]byte/string embeds have no name in the binary).
	Contents []struct {
		ImportPath string `json:"import_path"`
		Name       string `json:"name"`
		Path       string `json:"path"`
	} `json:"contents"`
	// Files up to this size are returned in full, for diffs.
	DataMax int `json:"data_max"`
}

type fileOut struct {
	Name   string `json:"name"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
	Data   string `json:"data,omitempty"` // base64
}

type tableOut struct {
	ImportPath string    `json:"import_path"`
	Symbol     string    `json:"symbol,omitempty"`
	Addr       string    `json:"addr"`
	Files      []fileOut `json:"files"`
}

type report struct {
	Format    string          `json:"format"`
	PtrSize   int             `json:"ptr_size"`
	Symbols   bool            `json:"symbols"`
	ProbeGo   string          `json:"probe_go"`
	BuildInfo json.RawMessage `json:"buildinfo"`
	Tables    []tableOut      `json:"tables"`
	Contents  map[string]bool `json:"contents"`
}

type failure struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

func fail(kind, format string, args ...any) {
	out, _ := json.Marshal(map[string]failure{"error": {kind, fmt.Sprintf(format, args...)}})
	os.Stdout.Write(append(out, '\n'))
	os.Exit(2)
}

// segment is memory as the file holds it: virtual address, file offset, size.
// Only the sections we search are read in full; other bytes are read on demand,
// so a 30 MB binary costs a few MB of I/O.
type segment struct {
	addr, off, size uint64
	data            []byte // nil until read
}

type image struct {
	r      io.ReaderAt
	format string
	order  binary.ByteOrder
	ptr    int
	segs   []segment // every loaded segment: resolves addresses
	// Where to search, fastest first: read-only data (Go puts strings and embed
	// tables there), then any other non-code data.
	tiers   [2][]segment
	syms    func() map[uint64]string // `.files` symbols by address; read only when asked
	hasSyms bool
}

func (im *image) seg(addr, off, size uint64, read bool) (segment, error) {
	s := segment{addr: addr, off: off, size: size}
	if read {
		s.data = make([]byte, size)
		if _, err := im.r.ReadAt(s.data, int64(off)); err != nil {
			return s, fmt.Errorf("reading %d bytes at file offset %d: %v (truncated?)", size, off, err)
		}
	}
	return s, nil
}

func load(r io.ReaderAt, fileSize uint64, magic []byte) (*image, error) {
	im := &image{r: r, syms: func() map[uint64]string { return nil }}
	past := func(off, size uint64) error {
		if off+size > fileSize {
			return fmt.Errorf("data at file offset %d..%d runs past the end of the file (%d bytes): truncated", off, off+size, fileSize)
		}
		return nil
	}
	tier := func(name string, addr, off, size uint64) error {
		if past(off, size) != nil || (!readOnly[name] && skipped(name)) {
			return nil
		}
		s, err := im.seg(addr, off, size, true)
		if err != nil {
			return err
		}
		im.addTier(name, s)
		return nil
	}
	switch {
	case isWasm(magic):
		w, err := readWasm(r, fileSize)
		if err != nil {
			return nil, err
		}
		im.format, im.order, im.ptr = "wasm", binary.LittleEndian, 8
		if w.mem.size > 0 {
			im.segs = []segment{w.mem}
			im.tiers[0] = []segment{w.mem}
		}
	case bytes.HasPrefix(magic, []byte("\x7fELF")):
		f, err := elf.NewFile(r)
		if err != nil {
			return nil, err
		}
		im.format, im.order, im.ptr = "elf", f.ByteOrder, 4
		if f.Class == elf.ELFCLASS64 {
			im.ptr = 8
		}
		for _, p := range f.Progs {
			if p.Type != elf.PT_LOAD || p.Filesz == 0 {
				continue
			}
			if err := past(p.Off, p.Filesz); err != nil {
				return nil, err
			}
			s, _ := im.seg(p.Vaddr, p.Off, p.Filesz, false)
			im.segs = append(im.segs, s)
		}
		for _, s := range f.Sections {
			if s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_ALLOC == 0 || s.Flags&elf.SHF_EXECINSTR != 0 {
				continue
			}
			if err := tier(s.Name, s.Addr, s.Offset, s.Size); err != nil {
				return nil, err
			}
		}
		im.hasSyms = f.Section(".symtab") != nil
		im.syms = func() map[uint64]string {
			out := map[uint64]string{}
			syms, _ := f.Symbols()
			for _, s := range syms {
				if strings.HasSuffix(s.Name, ".files") {
					out[s.Value] = s.Name
				}
			}
			return out
		}
	case bytes.HasPrefix(magic, []byte("MZ")):
		f, err := pe.NewFile(r)
		if err != nil {
			return nil, err
		}
		im.format, im.order, im.ptr = "pe", binary.LittleEndian, 4
		var base uint64
		switch oh := f.OptionalHeader.(type) {
		case *pe.OptionalHeader64:
			im.ptr, base = 8, oh.ImageBase
		case *pe.OptionalHeader32:
			base = uint64(oh.ImageBase)
		}
		for _, s := range f.Sections {
			n := uint64(min(s.Size, s.VirtualSize))
			if n == 0 {
				continue
			}
			if err := past(uint64(s.Offset), n); err != nil {
				return nil, err
			}
			addr := base + uint64(s.VirtualAddress)
			seg, _ := im.seg(addr, uint64(s.Offset), n, false)
			im.segs = append(im.segs, seg)
			if s.Characteristics&pe.IMAGE_SCN_MEM_EXECUTE == 0 {
				if err := tier(s.Name, addr, uint64(s.Offset), n); err != nil {
					return nil, err
				}
			}
		}
		im.hasSyms = len(f.Symbols) > 0
		im.syms = func() map[uint64]string {
			out := map[uint64]string{}
			for _, s := range f.Symbols {
				if strings.HasSuffix(s.Name, ".files") && int(s.SectionNumber) >= 1 && int(s.SectionNumber) <= len(f.Sections) {
					sec := f.Sections[s.SectionNumber-1]
					out[base+uint64(sec.VirtualAddress)+uint64(s.Value)] = s.Name
				}
			}
			return out
		}
	default:
		f, err := macho.NewFile(r)
		if err != nil {
			return nil, err
		}
		im.format, im.order, im.ptr = "macho", f.ByteOrder, 4
		if f.Magic == macho.Magic64 {
			im.ptr = 8
		}
		for _, l := range f.Loads {
			s, ok := l.(*macho.Segment)
			if !ok || s.Filesz == 0 {
				continue
			}
			if err := past(s.Offset, s.Filesz); err != nil {
				return nil, err
			}
			seg, _ := im.seg(s.Addr, s.Offset, s.Filesz, false)
			im.segs = append(im.segs, seg)
		}
		for _, s := range f.Sections {
			const pureInstructions = 0x80000000 // S_ATTR_PURE_INSTRUCTIONS: code
			if s.Offset == 0 || s.Flags&pureInstructions != 0 {
				continue
			}
			if err := tier(s.Name, s.Addr, uint64(s.Offset), s.Size); err != nil {
				return nil, err
			}
		}
		im.hasSyms = f.Symtab != nil && len(f.Symtab.Syms) > 0
		im.syms = func() map[uint64]string {
			out := map[uint64]string{}
			if f.Symtab != nil {
				for _, s := range f.Symtab.Syms {
					if strings.HasSuffix(s.Name, ".files") {
						out[s.Value] = strings.TrimPrefix(s.Name, "_")
					}
				}
			}
			return out
		}
	}
	return im, nil
}

// readOnly names the sections Go's linker fills with strings and read-only symbols.
var readOnly = map[string]bool{".rodata": true, ".data.rel.ro": true, ".rdata": true, "__rodata": true, "__data_rel_ro": true}

// skipped sections hold no embed data: code tables, symbol and debug info.
func skipped(name string) bool {
	for _, p := range []string{".gopclntab", "__gopclntab", ".typelink", "__typelink", ".itablink", "__itablink", ".eh_frame", ".note", ".debug", "__debug", ".zdebug", ".symtab", ".go.buildinfo", "__go_buildinfo"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func (im *image) addTier(name string, s segment) {
	switch {
	case readOnly[name]:
		im.tiers[0] = append(im.tiers[0], s)
	case !skipped(name):
		im.tiers[1] = append(im.tiers[1], s)
	}
}

// searchTiers falls back to every loaded segment when the file has no sections
// (e.g. section headers stripped by sstrip).
func (im *image) searchTiers() [][]segment {
	if len(im.tiers[0])+len(im.tiers[1]) == 0 {
		for i, s := range im.segs {
			if s.data == nil {
				im.segs[i], _ = im.seg(s.addr, s.off, s.size, true)
			}
		}
		return [][]segment{im.segs}
	}
	return im.tiers[:]
}

// bytesAt returns n bytes at virtual address a, or nil when the file does not hold them.
func (im *image) bytesAt(a, n uint64) []byte {
	for _, tier := range im.tiers {
		for _, s := range tier {
			if a >= s.addr && a-s.addr <= s.size && n <= s.size-(a-s.addr) {
				return s.data[a-s.addr : a-s.addr+n]
			}
		}
	}
	for _, s := range im.segs {
		if a >= s.addr && a-s.addr <= s.size && n <= s.size-(a-s.addr) {
			if s.data != nil {
				return s.data[a-s.addr : a-s.addr+n]
			}
			buf := make([]byte, n)
			if _, err := im.r.ReadAt(buf, int64(s.off+(a-s.addr))); err != nil {
				return nil
			}
			return buf
		}
	}
	return nil
}

func (im *image) word(a uint64) (uint64, bool) {
	b := im.bytesAt(a, uint64(im.ptr))
	if b == nil {
		return 0, false
	}
	if im.ptr == 8 {
		return im.order.Uint64(b), true
	}
	return uint64(im.order.Uint32(b)), true
}

func (im *image) putWord(b []byte, v uint64) []byte {
	w := make([]byte, im.ptr)
	if im.ptr == 8 {
		im.order.PutUint64(w, v)
	} else {
		im.order.PutUint32(w, uint32(v))
	}
	return append(b, w...)
}

// maxName bounds what we accept as an embedded file name while walking a table.
const maxName = 4096

func (im *image) entrySize() uint64 { return uint64(4*im.ptr + 16) }

// entryName reads the name of the table entry at a, if it looks like one.
func (im *image) entryName(a uint64) (string, bool) {
	p, ok1 := im.word(a)
	n, ok2 := im.word(a + uint64(im.ptr))
	if !ok1 || !ok2 || n == 0 || n > maxName {
		return "", false
	}
	b := im.bytesAt(p, n)
	if b == nil || !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return "", false
	}
	return string(b), true
}

// tableFor finds the embed.FS file table containing an entry named name.
func (im *image) tableFor(name string) (uint64, uint64, bool) {
	for _, tier := range im.searchTiers() {
		if h, n, ok := im.tableIn(tier, name); ok {
			return h, n, true
		}
	}
	return 0, 0, false
}

func (im *image) tableIn(tier []segment, name string) (uint64, uint64, bool) {
	needle := []byte(name)
	var hits []uint64
	for _, s := range tier {
		for off := 0; len(hits) < 64; {
			i := bytes.Index(s.data[off:], needle)
			if i < 0 {
				break
			}
			hits = append(hits, s.addr+uint64(off+i))
			off += i + 1
		}
	}
	es := im.entrySize()
	for _, a := range hits {
		hdr := im.putWord(im.putWord(nil, a), uint64(len(name)))
		for _, s := range tier {
			for off := 0; ; {
				i := bytes.Index(s.data[off:], hdr)
				if i < 0 {
					break
				}
				entry := s.addr + uint64(off+i)
				off += i + 1
				// Walk back over entries to the slice header {ptr to first entry, n, n}.
				for k := uint64(0); k < 1<<16; k++ {
					first := entry - k*es
					h := first - uint64(3*im.ptr)
					p, ok1 := im.word(h)
					n, ok2 := im.word(h + uint64(im.ptr))
					c, ok3 := im.word(h + uint64(2*im.ptr))
					if ok1 && ok2 && ok3 && p == first && n == c && n > k && im.bytesAt(first, n*es) != nil {
						return h, n, true
					}
					if _, ok := im.entryName(first - es); !ok {
						break
					}
				}
			}
		}
	}
	return 0, 0, false
}

func (im *image) readTable(h, n uint64, dataMax int) ([]fileOut, error) {
	var files []fileOut
	es := im.entrySize()
	first := h + uint64(3*im.ptr)
	for i := uint64(0); i < n; i++ {
		e := first + i*es
		name, ok := im.entryName(e)
		if !ok {
			return nil, fmt.Errorf("entry %d of the table at %#x has no readable name", i, h)
		}
		if strings.HasSuffix(name, "/") {
			continue // a directory entry
		}
		p, _ := im.word(e + uint64(2*im.ptr))
		size, _ := im.word(e + uint64(3*im.ptr))
		var data []byte
		if size > 0 {
			data = im.bytesAt(p, size)
			if data == nil {
				return nil, fmt.Errorf("%s: its %d bytes at %#x are not in the file", name, size, p)
			}
		}
		sum := sha256.Sum256(data)
		f := fileOut{Name: name, Size: len(data), SHA256: hex.EncodeToString(sum[:])}
		if len(data) <= dataMax {
			f.Data = base64.StdEncoding.EncodeToString(data)
		}
		files = append(files, f)
	}
	return files, nil
}

func (im *image) contains(b []byte) bool {
	for _, tier := range im.searchTiers() {
		for _, s := range tier {
			if bytes.Contains(s.data, b) {
				return true
			}
		}
	}
	return false
}

func inspect(path, reqPath string, withSymbols bool) {
	f, err := os.Open(path)
	if err != nil {
		fail("unreadable", "%v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		fail("unreadable", "%v", err)
	}
	var req request
	if b, err := os.ReadFile(reqPath); err != nil || json.Unmarshal(b, &req) != nil {
		fail("usage", "cannot read the request %s", reqPath)
	}
	magic := make([]byte, 4)
	if _, err := f.ReadAt(magic, 0); err != nil || !(bytes.HasPrefix(magic, []byte("\x7fELF")) || bytes.HasPrefix(magic, []byte("MZ")) || isMachO(magic) || isWasm(magic)) {
		fail("not-executable", "%s is not an ELF, PE, Mach-O or WebAssembly executable", path)
	}
	var bi *debug.BuildInfo
	if isWasm(magic) {
		bi, err = wasmBuildInfo(f, uint64(st.Size()))
	} else {
		bi, err = buildinfo.Read(f)
	}
	if err != nil {
		kind := "corrupt"
		if strings.Contains(err.Error(), "not a Go executable") && !hasBuildInfoMagic(path) {
			kind = "not-go"
		}
		fail(kind, "%s: %v", path, err)
	}
	if newer(bi.GoVersion, runtime.Version()) {
		fail("newer-go", "%s was built with %s, newer than this host's Go (%s), whose readers may not know its format", path, bi.GoVersion, runtime.Version())
	}
	im, err := load(f, uint64(st.Size()), magic)
	if err != nil {
		fail("corrupt", "%s: %v", path, err)
	}
	symbols := map[uint64]string{}
	if withSymbols {
		symbols = im.syms()
	}
	biJSON, _ := json.Marshal(bi)
	rep := report{Format: im.format, PtrSize: im.ptr, Symbols: im.hasSyms, ProbeGo: runtime.Version(),
		BuildInfo: biJSON, Tables: []tableOut{}, Contents: map[string]bool{}}
	seen := map[uint64]bool{}
	named := map[string]bool{} // import path + "\x00" + name, found in a table
	for _, pkg := range req.Packages {
		covered := map[string]bool{}
		for _, name := range pkg.Names {
			if covered[name] {
				continue
			}
			h, n, ok := im.tableFor(name)
			if !ok || seen[h] {
				continue
			}
			seen[h] = true
			files, err := im.readTable(h, n, req.DataMax)
			if err != nil {
				fail("corrupt", "%s: %v", path, err)
			}
			for _, f := range files {
				covered[f.Name] = true
				named[pkg.ImportPath+"\x00"+f.Name] = true
			}
			rep.Tables = append(rep.Tables, tableOut{pkg.ImportPath, symbols[h], fmt.Sprintf("%#x", h), files})
		}
	}
	for _, c := range req.Contents {
		if named[c.ImportPath+"\x00"+c.Name] {
			continue
		}
		if b, err := os.ReadFile(c.Path); err == nil {
			rep.Contents[c.Path] = len(b) > 0 && im.contains(b)
		}
	}
	out, _ := json.Marshal(rep)
	os.Stdout.Write(append(out, '\n'))
}

// hasBuildInfoMagic tells a damaged build info block from none at all; Go aligns
// the block to 16 bytes in the file, as debug/buildinfo's own search assumes.
func hasBuildInfoMagic(path string) bool {
	raw, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	magic := []byte("\xff Go buildinf:")
	for off := 0; ; {
		i := bytes.Index(raw[off:], magic)
		if i < 0 {
			return false
		}
		if (off+i)%16 == 0 {
			return true
		}
		off += i + 1
	}
}

func isWasm(magic []byte) bool { return bytes.Equal(magic, []byte("\x00asm")) }

// wasmModule is what the probe reads of a WebAssembly module: linear memory as its
// data segments initialise it, and the Go version its producers section names.
type wasmModule struct {
	mem       segment
	goVersion string
}

var errNotWasm = errors.New("not a WebAssembly module")

// cmd/go wraps runtime.modinfo in these (cmd/go/internal/modload.ModInfoData).
var (
	modinfoStart, _ = hex.DecodeString("3077af0c9274080241e1c107e6d618e6")
	modinfoEnd, _   = hex.DecodeString("f932433186182072008242104116d8f2")
)

func wasmBuildInfo(r io.ReaderAt, size uint64) (*debug.BuildInfo, error) {
	w, err := readWasm(r, size)
	if err != nil {
		return nil, err
	}
	data := w.mem.data
	for off := 0; ; {
		i := bytes.Index(data[off:], modinfoStart)
		if i < 0 {
			return nil, fmt.Errorf("not a Go executable: no runtime.modinfo in its data segments (built without modules?)")
		}
		start := off + i + len(modinfoStart)
		off = start
		j := bytes.Index(data[start:], modinfoEnd)
		if j < 0 {
			continue
		}
		bi, err := debug.ParseBuildInfo(string(data[start : start+j]))
		if err != nil {
			continue
		}
		if w.goVersion == "" {
			return nil, fmt.Errorf("its producers section names no Go version")
		}
		bi.GoVersion = w.goVersion
		return bi, nil
	}
}

func readWasm(r io.ReaderAt, size uint64) (*wasmModule, error) {
	raw := make([]byte, size)
	if _, err := r.ReadAt(raw, 0); err != nil && err != io.EOF {
		return nil, err
	}
	if len(raw) < 8 || !isWasm(raw[:4]) {
		return nil, errNotWasm
	}
	rd := &wasmReader{b: raw, pos: 8}
	w := &wasmModule{}
	type piece struct {
		addr uint64
		data []byte
	}
	var pieces []piece
	for rd.pos < len(rd.b) && rd.err == nil {
		id := rd.byte()
		n := int(rd.uleb())
		if rd.err != nil || n > len(rd.b)-rd.pos {
			return nil, fmt.Errorf("section %d at file offset %d runs past the end of the file (%d bytes): truncated", id, rd.pos, size)
		}
		sec := &wasmReader{b: rd.b[:rd.pos+n], pos: rd.pos}
		rd.pos += n
		switch id {
		case 0: // custom
			if sec.name() == "producers" {
				for fields := sec.uleb(); fields > 0 && sec.err == nil; fields-- {
					field := sec.name()
					for vals := sec.uleb(); vals > 0 && sec.err == nil; vals-- {
						lang, version := sec.name(), sec.name()
						if field == "language" && lang == "Go" {
							w.goVersion = version
						}
					}
				}
			}
		case 11: // data
			for count := sec.uleb(); count > 0 && sec.err == nil; count-- {
				flags := sec.uleb()
				if flags == 2 {
					sec.uleb() // memory index
				}
				var addr uint64
				if flags != 1 { // active: an i32.const offset expression
					if op := sec.byte(); op != 0x41 {
						return nil, fmt.Errorf("a data segment's offset is not an i32.const (opcode %#x)", op)
					}
					addr = uint64(uint32(sec.sleb()))
					if sec.byte() != 0x0b {
						return nil, fmt.Errorf("a data segment's offset expression does not end")
					}
				}
				data := sec.bytes(int(sec.uleb()))
				if flags != 1 && sec.err == nil {
					pieces = append(pieces, piece{addr, data})
				}
			}
		}
		if sec.err != nil {
			return nil, fmt.Errorf("section %d: %v", id, sec.err)
		}
	}
	if rd.err != nil {
		return nil, rd.err
	}
	if len(pieces) == 0 {
		return w, nil
	}
	lo, hi := pieces[0].addr, uint64(0)
	for _, p := range pieces {
		lo, hi = min(lo, p.addr), max(hi, p.addr+uint64(len(p.data)))
	}
	mem := make([]byte, hi-lo)
	for _, p := range pieces {
		copy(mem[p.addr-lo:], p.data)
	}
	w.mem = segment{addr: lo, size: hi - lo, data: mem}
	return w, nil
}

// wasmReader reads the WebAssembly binary format's LEB128 numbers and names.
type wasmReader struct {
	b   []byte
	pos int
	err error
}

func (r *wasmReader) byte() byte {
	if r.pos >= len(r.b) {
		r.err = io.ErrUnexpectedEOF
		return 0
	}
	r.pos++
	return r.b[r.pos-1]
}

func (r *wasmReader) uleb() uint64 {
	var v uint64
	for shift := 0; shift < 64 && r.err == nil; shift += 7 {
		c := r.byte()
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	return v
}

func (r *wasmReader) sleb() int64 {
	var v int64
	shift := 0
	for r.err == nil {
		c := r.byte()
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
	return v
}

func (r *wasmReader) bytes(n int) []byte {
	if n < 0 || n > len(r.b)-r.pos {
		r.err = io.ErrUnexpectedEOF
		return nil
	}
	r.pos += n
	return r.b[r.pos-n : r.pos]
}

func (r *wasmReader) name() string { return string(r.bytes(int(r.uleb()))) }

func isMachO(magic []byte) bool {
	raw := magic
	m := binary.LittleEndian.Uint32(raw[:4])
	return m == macho.Magic32 || m == macho.Magic64 || binary.BigEndian.Uint32(raw[:4]) == macho.Magic64
}

// newer reports whether Go version a (e.g. "go1.27.1") is newer than b.
func newer(a, b string) bool {
	pa, pb := goVersion(a), goVersion(b)
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] > pb[i]
		}
	}
	return false
}

func goVersion(v string) [3]int {
	var out [3]int
	v = strings.TrimPrefix(v, "go")
	for i, part := range strings.SplitN(v, ".", 3) {
		end := 0
		for end < len(part) && part[end] >= '0' && part[end] <= '9' {
			end++
		}
		out[i], _ = strconv.Atoi(part[:end])
	}
	return out
}

type resource struct {
	Var       string `json:"var"`
	Name      string `json:"name"`
	Kind      string `json:"kind"` // "bytes" (old style) or "embed"
	EmbedPath string `json:"embed_path,omitempty"`
	Size      int    `json:"size"`
	SHA256    string `json:"sha256,omitempty"`
}

// bundle lists the fyne.StaticResource values a `fyne bundle` output declares.
func bundle(path string) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
	if err != nil {
		fail("parse", "%v", err)
	}
	embeds := map[string]string{} // var name -> //go:embed path
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			doc := vs.Doc
			if doc == nil && len(g.Specs) == 1 {
				doc = g.Doc
			}
			if doc == nil {
				continue
			}
			for _, c := range doc.List {
				if p, ok := strings.CutPrefix(c.Text, "//go:embed "); ok {
					for _, n := range vs.Names {
						embeds[n.Name] = strings.TrimSpace(p)
					}
				}
			}
		}
	}
	out := []resource{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, v := range vs.Values {
			lit := staticResource(v)
			if lit == nil || i >= len(vs.Names) {
				continue
			}
			r := resource{Var: vs.Names[i].Name}
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, _ := kv.Key.(*ast.Ident)
				if key == nil {
					continue
				}
				switch key.Name {
				case "StaticName":
					if bl, ok := kv.Value.(*ast.BasicLit); ok {
						r.Name, _ = strconv.Unquote(bl.Value)
					}
				case "StaticContent":
					if data, ok := literalBytes(kv.Value); ok {
						sum := sha256.Sum256(data)
						r.Kind, r.Size, r.SHA256 = "bytes", len(data), hex.EncodeToString(sum[:])
					} else if id, ok := kv.Value.(*ast.Ident); ok && embeds[id.Name] != "" {
						r.Kind, r.EmbedPath = "embed", embeds[id.Name]
					}
				}
			}
			out = append(out, r)
		}
		return true
	})
	b, _ := json.Marshal(map[string]any{"resources": out})
	os.Stdout.Write(append(b, '\n'))
}

func staticResource(e ast.Expr) *ast.CompositeLit {
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		e = u.X
	}
	lit, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil
	}
	if sel, ok := lit.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "StaticResource" {
		return lit
	}
	return nil
}

// literalBytes evaluates []byte("...") and []byte{1, 2, ...}, the two old bundle styles.
func literalBytes(e ast.Expr) ([]byte, bool) {
	switch v := e.(type) {
	case *ast.CallExpr:
		if len(v.Args) == 1 {
			if bl, ok := v.Args[0].(*ast.BasicLit); ok && bl.Kind == token.STRING {
				s, err := strconv.Unquote(bl.Value)
				return []byte(s), err == nil
			}
		}
	case *ast.CompositeLit:
		out := make([]byte, 0, len(v.Elts))
		for _, el := range v.Elts {
			bl, ok := el.(*ast.BasicLit)
			if !ok {
				return nil, false
			}
			n, err := strconv.ParseUint(bl.Value, 0, 8)
			if err != nil {
				c, err2 := strconv.Unquote(bl.Value)
				if err2 != nil || len(c) != 1 {
					return nil, false
				}
				n = uint64(c[0])
			}
			out = append(out, byte(n))
		}
		return out, true
	}
	return nil, false
}

func main() {
	if len(os.Args) < 3 {
		fail("usage", "usage: driftprobe inspect BINARY REQUEST.json | driftprobe bundle FILE.go")
	}
	switch os.Args[1] {
	case "inspect":
		if len(os.Args) < 4 || len(os.Args) > 5 || (len(os.Args) == 5 && os.Args[4] != "-symbols") {
			fail("usage", "usage: driftprobe inspect BINARY REQUEST.json [-symbols]")
		}
		inspect(os.Args[2], os.Args[3], len(os.Args) == 5)
	case "bundle":
		bundle(os.Args[2])
	default:
		fail("usage", "unknown command %q", os.Args[1])
	}
}
