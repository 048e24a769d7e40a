// Command modelrepo writes the Triton model repository of the deployment
// example: the digits network exported to ONNX as versions 1 and 2, and
// its config.pbtxt, into a directory (Docker Compose mounts it) and into
// a Kubernetes ConfigMap (the Triton Deployment mounts that). Run it from
// examples/service:
//
//	go run ./cmd/modelrepo
//
// The output is the same on every run (on amd64; see digits.Train), so the
// committed files are checked by modelrepo's tests.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"

	"github.com/goai-dev/goai/examples/service/modelrepo"
)

func main() {
	dir := flag.String("dir", "model_repository", "directory to write the model repository into")
	cm := flag.String("configmap", "deploy/triton-model-repository.yaml", "file to write the repository's ConfigMap into")
	flag.Parse()
	files, err := modelrepo.Files(modelrepo.Versions)
	if err != nil {
		log.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		p := filepath.Join(*dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, files[f], 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s (%d bytes)\n", p, len(files[f]))
	}
	if err := os.WriteFile(*cm, modelrepo.ConfigMap(files), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Println(*cm)
}
