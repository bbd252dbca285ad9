// Command rssmap tells which pages of a running Go program's own binary are
// resident, and to whom they belong: it reads /proc/PID/maps and
// /proc/PID/pagemap (root, or the process's owner with CAP_SYS_ADMIN) and
// attributes each present page of the executable's mappings to its ELF
// section and, for .text and the data sections, to the Go package and the
// module owning most bytes of that page. Anonymous mappings (heap, stacks,
// bss) are summed apart. .gopclntab has no symbols and is shown whole.
//
//	go run ./bench/cmd/rssmap -pid $(pgrep -n dienstweg) [-top 40]
//
// Linux maps file pages around each fault ("fault-around", 64 KiB by
// default), so one touched byte makes up to 16 pages resident; -windows
// tells how many 64 KiB windows of each mapping are touched.
//
// Used to attribute the agent's file-backed RSS (docs/performance.md).
package main

import (
	"bufio"
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strconv"
	"strings"
)

const pageSize = 4096

type mapping struct {
	start, end, off uint64
	path            string
}

type symbol struct {
	addr, size uint64
	name       string
}

func main() {
	pid := flag.Int("pid", 0, "process to inspect")
	top := flag.Int("top", 40, "packages to list")
	flag.Parse()
	if *pid == 0 {
		log.Fatal("rssmap: -pid is required")
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", *pid))
	if err != nil {
		log.Fatalf("rssmap: finding the executable: %v", err)
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	maps, err := readMaps(*pid)
	if err != nil {
		log.Fatalf("rssmap: %v", err)
	}
	present, err := presentPages(*pid, maps)
	if err != nil {
		log.Fatalf("rssmap: %v", err)
	}
	f, err := elf.Open(fmt.Sprintf("/proc/%d/exe", *pid))
	if err != nil {
		log.Fatalf("rssmap: opening the executable: %v", err)
	}
	syms := symbols(f)
	mods := modules(fmt.Sprintf("/proc/%d/exe", *pid))

	bySection := map[string]int{}
	byPackage := map[string]int{}
	byModule := map[string]int{}
	anon := map[string]int{}
	for _, m := range maps {
		for va := m.start; va < m.end; va += pageSize {
			if !present[va] {
				continue
			}
			if m.path != exe {
				name := m.path
				if name == "" {
					name = "[anon]"
				}
				anon[name]++
				continue
			}
			sec := sectionOf(f, va)
			bySection[sec]++
			switch sec {
			case ".text", ".noptrdata", ".data":
				p := ownerOf(syms, va, va+pageSize)
				byPackage[sec+" "+p]++
				byModule[moduleOf(mods, p)]++
			}
		}
	}
	fmt.Printf("executable %s\n", exe)
	printCounts("resident pages of the executable, by section", bySection, 0)
	printCounts("other mappings", anon, 0)
	printCounts("resident pages of .text and data by module (owner of most of the page; .rodata mixes all packages' types and strings)", byModule, 0)
	printCounts("... by package", byPackage, *top)
	windows(*pid, exe, maps, present)
}

// windows prints, per mapping of the executable, how many 64 KiB windows
// hold a resident page and how many of those are resident in full.
func windows(pid int, exe string, maps []mapping, present map[uint64]bool) {
	fmt.Printf("\n64 KiB windows of the executable (touched / fully resident / all)\n")
	for _, m := range maps {
		if m.path != exe {
			continue
		}
		type count struct{ present, all int }
		w := map[uint64]*count{}
		for va := m.start; va < m.end; va += pageSize {
			c := w[va>>16]
			if c == nil {
				c = &count{}
				w[va>>16] = c
			}
			c.all++
			if present[va] {
				c.present++
			}
		}
		touched, full := 0, 0
		for _, c := range w {
			if c.present > 0 {
				touched++
			}
			if c.present == c.all {
				full++
			}
		}
		fmt.Printf("  %x-%x: %d / %d / %d\n", m.start, m.end, touched, full, len(w))
	}
}

// modules lists the module paths the binary was built from, main first.
func modules(path string) []string {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil
	}
	out := []string{bi.Main.Path}
	for _, d := range bi.Deps {
		out = append(out, d.Path)
	}
	return out
}

// moduleOf names the module of package p: the longest module path that is
// a prefix of it, "std" for the standard library (no dot in the first
// element), or p itself.
func moduleOf(mods []string, p string) string {
	if p == "go:" || p == "type:" {
		return p + " (type descriptors, func data: all packages)"
	}
	best := ""
	for _, m := range mods {
		if (p == m || strings.HasPrefix(p, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	if best != "" {
		return best
	}
	first, _, _ := strings.Cut(p, "/")
	if !strings.Contains(first, ".") {
		return "std"
	}
	return p
}

func readMaps(pid int) ([]mapping, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("reading maps: %w", err)
	}
	defer f.Close()
	var out []mapping
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		lo, hi, _ := strings.Cut(fields[0], "-")
		start, _ := strconv.ParseUint(lo, 16, 64)
		end, _ := strconv.ParseUint(hi, 16, 64)
		off, _ := strconv.ParseUint(fields[2], 16, 64)
		m := mapping{start: start, end: end, off: off}
		if len(fields) >= 6 {
			m.path = strings.Join(fields[5:], " ")
		}
		out = append(out, m)
	}
	return out, s.Err()
}

// presentPages reads bit 63 of each page's pagemap entry: the page is in
// the process's page tables, which is what VmRSS counts.
func presentPages(pid int, maps []mapping) (map[uint64]bool, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return nil, fmt.Errorf("opening pagemap: %w", err)
	}
	defer f.Close()
	out := map[uint64]bool{}
	for _, m := range maps {
		if m.path == "[vsyscall]" {
			continue
		}
		n := (m.end - m.start) / pageSize
		buf := make([]byte, 8*n)
		if _, err := f.ReadAt(buf, int64(m.start/pageSize*8)); err != nil && err != io.EOF {
			return nil, fmt.Errorf("reading pagemap at %#x: %w", m.start, err)
		}
		for i := uint64(0); i < n; i++ {
			if binary.LittleEndian.Uint64(buf[8*i:])&(1<<63) != 0 {
				out[m.start+i*pageSize] = true
			}
		}
	}
	return out, nil
}

func symbols(f *elf.File) []symbol {
	all, err := f.Symbols()
	if err != nil {
		log.Fatalf("rssmap: reading symbols (build without -s): %v", err)
	}
	var out []symbol
	for _, s := range all {
		if s.Value == 0 {
			continue
		}
		out = append(out, symbol{s.Value, s.Size, s.Name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].addr < out[j].addr })
	return out
}

func sectionOf(f *elf.File, va uint64) string {
	for _, s := range f.Sections {
		if s.Addr != 0 && va+pageSize > s.Addr && va < s.Addr+s.Size {
			return s.Name
		}
	}
	return "(between sections)"
}

// ownerOf names the package whose symbols cover most bytes of [lo, hi).
func ownerOf(syms []symbol, lo, hi uint64) string {
	i := sort.Search(len(syms), func(i int) bool { return syms[i].addr+max(syms[i].size, 1) > lo })
	bytes := map[string]uint64{}
	for ; i < len(syms) && syms[i].addr < hi; i++ {
		a, b := max(syms[i].addr, lo), min(syms[i].addr+syms[i].size, hi)
		if b > a {
			bytes[packageOf(syms[i].name)] += b - a
		}
	}
	best, most := "(no symbol)", uint64(0)
	for p, n := range bytes {
		if n > most || n == most && p < best {
			best, most = p, n
		}
	}
	return best
}

// packageOf cuts a Go symbol name to its package path: up to the first dot
// after the last slash ("go:" and "type:" symbols keep their prefix).
func packageOf(name string) string {
	name, _, _ = strings.Cut(name, "[") // generic instances
	for _, pre := range []string{"go:", "type:"} {
		if strings.HasPrefix(name, pre) {
			return pre
		}
	}
	slash := strings.LastIndex(name, "/")
	if dot := strings.Index(name[slash+1:], "."); dot >= 0 {
		return name[:slash+1+dot]
	}
	return name
}

func printCounts(title string, counts map[string]int, top int) {
	type kv struct {
		k string
		v int
	}
	var list []kv
	total := 0
	for k, v := range counts {
		list = append(list, kv{k, v})
		total += v
	}
	sort.Slice(list, func(i, j int) bool { return list[i].v > list[j].v || list[i].v == list[j].v && list[i].k < list[j].k })
	fmt.Printf("\n%s: %d pages, %.1f MiB\n", title, total, float64(total)*pageSize/(1<<20))
	for i, e := range list {
		if top > 0 && i >= top {
			break
		}
		fmt.Printf("  %8.0f KiB  %s\n", float64(e.v)*pageSize/1024, e.k)
	}
}
