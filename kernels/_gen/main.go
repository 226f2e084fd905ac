// Command _gen writes the amd64 assembly of package kernels with avo.
//
// It is its own module so that avo never becomes a dependency of gale.
// Run it through `go generate` in kernels/ (see gen_amd64.go there); the
// generated files are committed.
package main

import (
	"flag"
	"fmt"
	"go/format"
	"os"

	. "github.com/mmcloughlin/avo/build"
)

// tabOut is where the Go dispatch tables of the matrix-product
// microkernels go; avo only writes the assembly and the stubs.
var tabOut = flag.String("tab", "", "Go file for the microkernel tables")

func main() {
	flag.IntVar(&prefetchAhead, "pf", prefetchAhead, "matvec L1 prefetch distance (bytes, 0: none)")
	flag.IntVar(&prefetchFar, "pf2", prefetchFar, "matvec L2 prefetch distance (bytes, 0: none)")
	flag.IntVar(&mmAhead, "ahead", mmAhead, "column groups the mmW kernels fill ahead")
	flag.Parse()
	ConstraintExpr("amd64,!noasm")
	genMatVec()
	genMatMul()
	genTranspose()
	genWidenPanel()
	genElem()
	genReduce()
	Generate()
	if *tabOut != "" {
		src, err := format.Source([]byte(mmTables()))
		if err == nil {
			err = os.WriteFile(*tabOut, src, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
