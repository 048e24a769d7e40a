// Command train retrains the example digit classifier and writes its
// weights to examples/models/digits/weights.bin. The result is the same on
// every run, so the committed file can be checked.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/goai-dev/goai/examples/models/digits"
)

func main() {
	out := flag.String("out", "examples/models/digits/weights.bin", "where to write the weights")
	steps := flag.Int("steps", 200000, "training steps")
	flag.Parse()
	net := digits.Train(1, *steps, 0.6, 0.01)
	fmt.Printf("accuracy on 10000 noisy glyphs: %.4f\n", digits.Accuracy(net, 2, 10000, 0.6))
	if err := os.WriteFile(*out, net.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
