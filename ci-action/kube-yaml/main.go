// Command kube-yaml is kubectl's YAML reader (sigs.k8s.io/yaml over go-yaml v2) compiled to
// WebAssembly (GOOS=wasip1, reactor), so `tollgate check` converts documents that use the
// constructs where JavaScript YAML readers differ with the very code kubectl runs.
//
// Protocol: the host asks input_buffer(n) for n bytes, writes one YAML document there and
// calls convert(), which returns the length of the JSON written at output_buffer(), or
// -(length+1) when the document is refused (the message is then at output_buffer()).
package main

import (
	"fmt"
	"unsafe"

	"sigs.k8s.io/yaml"
)

var input, output []byte

//go:wasmexport input_buffer
func inputBuffer(size int32) unsafe.Pointer {
	input = make([]byte, size+1)
	input = input[:size]
	return unsafe.Pointer(unsafe.SliceData(input[:cap(input)]))
}

//go:wasmexport output_buffer
func outputBuffer() unsafe.Pointer {
	if cap(output) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.SliceData(output))
}

//go:wasmexport convert
func convert() (n int32) {
	defer func() {
		if p := recover(); p != nil {
			output = []byte(fmt.Sprint("panic: ", p))
			n = -int32(len(output)) - 1
		}
	}()
	// The same conversion YAMLOrJSONDecoder applies to each YAML document: YAMLToJSON is
	// Unmarshal into a json.Unmarshaler (runtime.RawExtension) minus the byte copy.
	json, err := yaml.YAMLToJSON(input)
	if err != nil {
		output = []byte(err.Error())
		return -int32(len(output)) - 1
	}
	output = json
	return int32(len(output))
}

func main() {}
