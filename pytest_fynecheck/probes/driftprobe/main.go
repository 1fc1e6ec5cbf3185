// Command driftprobe reads what a Go binary carries without running it: its build
// info (debug/buildinfo, the same reader `go version -m` uses) and the file tables
// of its embed.FS variables, found by the file names the source side expects.
//
// The tables are found without symbols, so stripped (-s -w) binaries work: the
// compiler lays out `<pkg>.<var>.files` as a slice header {ptr, n, n} followed
// directly by n entries {name string, data string, hash [16]byte}; we find a name
// string, then a string header pointing at it, then walk back to that slice header.
//
// Usage:
//
//	driftprobe inspect BINARY REQUEST.json     (JSON report on stdout)
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
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"runtime"
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
	// Files whose exact bytes are searched for ([]byte/string embeds have no name).
	Contents []string `json:"contents"`
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

// segment is loaded memory as the file holds it: virtual address and bytes.
type segment struct {
	addr uint64
	data []byte
}

type image struct {
	format  string
	order   binary.ByteOrder
	ptr     int
	segs    []segment
	symbols map[uint64]string // address -> name, only for `.files` symbols
	hasSyms bool
}

func load(raw []byte) (*image, error) {
	r := bytes.NewReader(raw)
	switch {
	case bytes.HasPrefix(raw, []byte("\x7fELF")):
		f, err := elf.NewFile(r)
		if err != nil {
			return nil, err
		}
		im := &image{format: "elf", order: f.ByteOrder, ptr: 4}
		if f.Class == elf.ELFCLASS64 {
			im.ptr = 8
		}
		for _, p := range f.Progs {
			if p.Type != elf.PT_LOAD || p.Filesz == 0 {
				continue
			}
			end := p.Off + p.Filesz
			if end > uint64(len(raw)) {
				return nil, fmt.Errorf("segment at file offset %d runs past the end of the file (%d bytes): truncated", p.Off, len(raw))
			}
			im.segs = append(im.segs, segment{p.Vaddr, raw[p.Off:end]})
		}
		if syms, err := f.Symbols(); err == nil {
			im.hasSyms = len(syms) > 0
			im.symbols = map[uint64]string{}
			for _, s := range syms {
				if strings.HasSuffix(s.Name, ".files") {
					im.symbols[s.Value] = s.Name
				}
			}
		}
		return im, nil
	case bytes.HasPrefix(raw, []byte("MZ")):
		f, err := pe.NewFile(r)
		if err != nil {
			return nil, err
		}
		im := &image{format: "pe", order: binary.LittleEndian, ptr: 4}
		var base uint64
		switch oh := f.OptionalHeader.(type) {
		case *pe.OptionalHeader64:
			im.ptr, base = 8, oh.ImageBase
		case *pe.OptionalHeader32:
			base = uint64(oh.ImageBase)
		}
		for _, s := range f.Sections {
			n := s.Size
			if s.VirtualSize < n {
				n = s.VirtualSize
			}
			end := uint64(s.Offset) + uint64(n)
			if n == 0 || end > uint64(len(raw)) {
				continue
			}
			im.segs = append(im.segs, segment{base + uint64(s.VirtualAddress), raw[s.Offset:end]})
		}
		im.symbols = map[uint64]string{}
		for _, s := range f.Symbols {
			im.hasSyms = true
			if strings.HasSuffix(s.Name, ".files") && int(s.SectionNumber) >= 1 && int(s.SectionNumber) <= len(f.Sections) {
				sec := f.Sections[s.SectionNumber-1]
				im.symbols[base+uint64(sec.VirtualAddress)+uint64(s.Value)] = s.Name
			}
		}
		return im, nil
	default:
		f, err := macho.NewFile(r)
		if err != nil {
			return nil, err
		}
		im := &image{format: "macho", order: f.ByteOrder, ptr: 4}
		if f.Magic == macho.Magic64 {
			im.ptr = 8
		}
		for _, l := range f.Loads {
			s, ok := l.(*macho.Segment)
			if !ok || s.Filesz == 0 {
				continue
			}
			end := s.Offset + s.Filesz
			if end > uint64(len(raw)) {
				return nil, fmt.Errorf("segment %s runs past the end of the file: truncated", s.Name)
			}
			im.segs = append(im.segs, segment{s.Addr, raw[s.Offset:end]})
		}
		if f.Symtab != nil {
			im.symbols = map[uint64]string{}
			for _, s := range f.Symtab.Syms {
				im.hasSyms = true
				if strings.HasSuffix(s.Name, ".files") {
					im.symbols[s.Value] = strings.TrimPrefix(s.Name, "_")
				}
			}
		}
		return im, nil
	}
}

// bytesAt returns n bytes at virtual address a, or nil when they are not loaded.
func (im *image) bytesAt(a, n uint64) []byte {
	for _, s := range im.segs {
		if a >= s.addr && a-s.addr <= uint64(len(s.data)) && n <= uint64(len(s.data))-(a-s.addr) {
			return s.data[a-s.addr : a-s.addr+n]
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
	needle := []byte(name)
	var hits []uint64
	for _, s := range im.segs {
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
		for _, s := range im.segs {
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
	for _, s := range im.segs {
		if bytes.Contains(s.data, b) {
			return true
		}
	}
	return false
}

func inspect(path, reqPath string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		fail("unreadable", "%v", err)
	}
	var req request
	if b, err := os.ReadFile(reqPath); err != nil || json.Unmarshal(b, &req) != nil {
		fail("usage", "cannot read the request %s", reqPath)
	}
	if len(raw) < 4 || !(bytes.HasPrefix(raw, []byte("\x7fELF")) || bytes.HasPrefix(raw, []byte("MZ")) || isMachO(raw)) {
		fail("not-executable", "%s is not an ELF, PE or Mach-O executable", path)
	}
	bi, err := buildinfo.Read(bytes.NewReader(raw))
	if err != nil {
		kind := "corrupt"
		if strings.Contains(err.Error(), "not a Go executable") && !hasBuildInfoMagic(raw) {
			kind = "not-go"
		}
		fail(kind, "%s: %v", path, err)
	}
	if newer(bi.GoVersion, runtime.Version()) {
		fail("newer-go", "%s was built with %s, newer than this host's Go (%s), whose readers may not know its format", path, bi.GoVersion, runtime.Version())
	}
	im, err := load(raw)
	if err != nil {
		fail("corrupt", "%s: %v", path, err)
	}
	biJSON, _ := json.Marshal(bi)
	rep := report{Format: im.format, PtrSize: im.ptr, Symbols: im.hasSyms, ProbeGo: runtime.Version(),
		BuildInfo: biJSON, Tables: []tableOut{}, Contents: map[string]bool{}}
	seen := map[uint64]bool{}
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
			}
			rep.Tables = append(rep.Tables, tableOut{pkg.ImportPath, im.symbols[h], fmt.Sprintf("%#x", h), files})
		}
	}
	for _, c := range req.Contents {
		b, err := os.ReadFile(c)
		if err == nil {
			rep.Contents[c] = len(b) > 0 && im.contains(b)
		}
	}
	out, _ := json.Marshal(rep)
	os.Stdout.Write(append(out, '\n'))
}

// hasBuildInfoMagic tells a damaged build info block from none at all; Go aligns
// the block to 16 bytes in the file, as debug/buildinfo's own search assumes.
func hasBuildInfoMagic(raw []byte) bool {
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

func isMachO(raw []byte) bool {
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
		if len(os.Args) != 4 {
			fail("usage", "usage: driftprobe inspect BINARY REQUEST.json")
		}
		inspect(os.Args[2], os.Args[3])
	case "bundle":
		bundle(os.Args[2])
	default:
		fail("usage", "unknown command %q", os.Args[1])
	}
}
