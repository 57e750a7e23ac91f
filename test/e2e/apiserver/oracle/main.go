// Command oracle reads manifest files exactly as `kubectl apply -f` does and prints the
// objects kubectl would send, so tests can compare tollgate's reading with kubectl's own.
//
// It uses cli-runtime's file visitors (the directory walk by extension, the UTF-16/UTF-8
// BOM handling, the YAML-or-JSON stream decoder over sigs.k8s.io/yaml, the metadata
// validation of the unstructured decoder) and its list flattening, without a cluster.
//
// Usage: oracle [-R] [PATH...]; with no PATH, one path per line is read from stdin.
// For every path one JSON line is printed:
//
//	{"path": "...", "objects": [{"source": "...", "object": {...}}], "errors": ["..."]}
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured/unstructuredscheme"
	"k8s.io/cli-runtime/pkg/resource"
)

type object struct {
	Source string         `json:"source"`
	Object map[string]any `json:"object"`
}

type result struct {
	Path    string   `json:"path"`
	Objects []object `json:"objects"`
	Errors  []string `json:"errors"`
}

func main() {
	recursive := flag.Bool("R", false, "walk directories recursively, as kubectl -R")
	flag.Parse()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	emit := func(path string) {
		if err := enc.Encode(read(path, *recursive)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// Flush per path so a caller can stream paths and read answers.
		_ = out.Flush()
	}
	if flag.NArg() > 0 {
		for _, path := range flag.Args() {
			emit(path)
		}
		return
	}
	lines := bufio.NewScanner(os.Stdin)
	lines.Buffer(make([]byte, 64*1024), 1<<20)
	for lines.Scan() {
		if path := lines.Text(); path != "" {
			emit(path)
		}
	}
}

// read visits one path as `kubectl apply -f PATH` does (continue-on-error, flattened lists).
func read(path string, recursive bool) (r result) {
	r = result{Path: path, Objects: []object{}, Errors: []string{}}
	defer func() {
		if p := recover(); p != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("panic: %v", p))
		}
	}()
	builder := resource.NewLocalBuilder().Unstructured()
	mapper := builder.Mapper()
	visitors, err := resource.ExpandPathsToFileVisitors(mapper, path, recursive, resource.FileExtensions, nil)
	if err != nil {
		r.Errors = append(r.Errors, err.Error())
	}
	// The typer Builder.Unstructured() installs.
	typer := unstructuredscheme.NewUnstructuredObjectTyper()
	// visitByPaths flattens, and Do() flattens again; the second pass sees no lists.
	visitor := resource.NewFlattenListVisitor(resource.NewFlattenListVisitor(resource.EagerVisitorList(visitors), typer, mapper), typer, mapper)
	err = visitor.Visit(func(info *resource.Info, err error) error {
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
			return nil
		}
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			r.Errors = append(r.Errors, fmt.Sprintf("unexpected object type %T", info.Object))
			return nil
		}
		r.Objects = append(r.Objects, object{Source: info.Source, Object: u.Object})
		return nil
	})
	if err != nil {
		r.Errors = append(r.Errors, err.Error())
	}
	return r
}
