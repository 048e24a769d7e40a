package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// parseDockerfile parses ../Dockerfile with BuildKit's own parser and
// instruction decoder, with BuildKit's parse-time lint rules (those of
// `docker build --check`) as errors.
func parseDockerfile(t *testing.T, text []byte) ([]instructions.Stage, error) {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(text))
	if err != nil {
		return nil, err
	}
	var problems []error
	for _, w := range res.Warnings {
		problems = append(problems, errors.New(w.Short))
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		problems = append(problems, errors.New(rule+" at line "+strconv.Itoa(line)+": "+msg))
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return nil, err
	}
	return stages, errors.Join(problems...)
}

func readDockerfile(t *testing.T) []instructions.Stage {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages, err := parseDockerfile(t, text)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	return stages
}

// goLine returns the go line of the service's go.mod ("1.26.0").
func goLine(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return v
		}
	}
	t.Fatal("go.mod has no go line")
	return ""
}

// dockerfileProblems checks a parsed Dockerfile: stages built from pinned
// bases, the build stage with the Go of goVersion (go.mod's go line) and a
// static, path-free binary of ./cmd/digits-api, the final stage distroless
// with a numeric non-root USER, an exec-form ENTRYPOINT of that binary, no
// RUN (no shell), EXPOSE of httpPort, and no ADD from the network.
func dockerfileProblems(stages []instructions.Stage, goVersion string, httpPort int) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(stages) < 2 {
		bad("%d stages; build and run in separate stages so that the toolchain stays out of the image", len(stages))
		return problems
	}
	names := map[string]bool{}
	for i, s := range stages {
		if !names[s.BaseName] {
			if err := checkPinned(s.BaseName); err != nil {
				bad("stage %d: %v", i, err)
			}
		}
		if s.Name != "" {
			names[s.Name] = true
		}
		for _, c := range s.Commands {
			if add, ok := c.(*instructions.AddCommand); ok {
				for _, src := range add.SourcePaths {
					if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
						bad("stage %d: ADD %s fetches from the network at build time, unpinned and unverified", i, src)
					}
				}
			}
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" && !names[cp.From] {
				bad("stage %d: COPY --from=%s names no earlier stage", i, cp.From)
			}
		}
	}

	build := stages[0]
	major, minor, _ := strings.Cut(goVersion, ".")
	minor, _, _ = strings.Cut(minor, ".")
	if want := "golang:" + major + "." + minor; build.BaseName != want && !strings.HasPrefix(build.BaseName, want+"-") && !strings.HasPrefix(build.BaseName, want+".") {
		bad("build stage FROM %s, want %s (go.mod's go line)", build.BaseName, want)
	}
	env := map[string]string{}
	var goBuild string
	for _, c := range build.Commands {
		switch c := c.(type) {
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env[kv.Key] = kv.Value
			}
		case *instructions.RunCommand:
			if cmd := strings.Join(c.CmdLine, " "); strings.Contains(cmd, "go build") {
				goBuild = cmd
			}
		}
	}
	if env["CGO_ENABLED"] != "0" && !strings.Contains(goBuild, "CGO_ENABLED=0") {
		bad("CGO_ENABLED=0 is not set: the binary would need a libc the final image does not have")
	}
	if !strings.Contains(goBuild, "-trimpath") {
		bad("go build without -trimpath: %q", goBuild)
	}
	out := flagValue(goBuild, "-o")
	// The service's main package, to be written once goai's API settles.
	if !strings.HasSuffix(goBuild, " ./cmd/digits-api") {
		bad("go build %q does not build ./cmd/digits-api", goBuild)
	}

	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") || !strings.HasSuffix(final.BaseName, ":nonroot") {
		bad("final stage FROM %s, want distroless static, nonroot", final.BaseName)
	}
	var user, entry, copied string
	var expose []string
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.EntrypointCommand:
			if c.PrependShell {
				bad("ENTRYPOINT in shell form needs /bin/sh, which the image does not have")
			}
			entry = strings.Join(c.CmdLine, " ")
		case *instructions.CopyCommand:
			if c.From == build.Name && slices.Contains(c.SourcePaths, out) {
				copied = c.DestPath
			}
		case *instructions.ExposeCommand:
			expose = append(expose, c.Ports...)
		case *instructions.RunCommand:
			bad("RUN in the final stage: there is no shell to run it")
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "0" || strings.Trim(uid, "0123456789") != "" {
		bad("final USER %q; want a numeric non-root UID, which the kubelet can check against runAsNonRoot", user)
	}
	if copied == "" || entry != copied {
		bad("ENTRYPOINT %q, binary built to %q and copied to %q", entry, out, copied)
	}
	if !slices.Equal(expose, []string{strconv.Itoa(httpPort)}) {
		bad("EXPOSE %v, the Deployment's http port is %d", expose, httpPort)
	}
	return problems
}

func apiHTTPPort(t *testing.T) int {
	t.Helper()
	m := loadManifests(t)
	http, ok := containerPort(container(t, m.deployments[apiName], apiName), intstr.FromString("http"))
	if !ok {
		t.Fatal("the service's container has no http port")
	}
	return int(http.ContainerPort)
}

func TestDockerfile(t *testing.T) {
	for _, p := range dockerfileProblems(readDockerfile(t), goLine(t), apiHTTPPort(t)) {
		t.Error(p)
	}
}

// The checks have teeth: each breaks one rule of the real Dockerfile and
// is refused, by BuildKit's parser or by dockerfileProblems.
func TestDockerfileChecksRefuse(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	good := string(text)
	for _, tc := range []struct{ name, from, to, says string }{
		{"unknown instruction", "WORKDIR /src", "WORKDIRR /src", "unknown instruction"},
		{"lowercase AS", "trixie AS build", "trixie as build", "FromAsCasing"},
		{"one stage", "FROM gcr.io/distroless/static-debian13:nonroot\nCOPY --from=build /out/digits-api /digits-api\n", "", "stages"},
		{"unpinned base", "FROM golang:1.26-trixie AS", "FROM golang AS", "not pinned"},
		{"latest base", "static-debian13:nonroot", "static-debian13:latest", "distroless static, nonroot"},
		{"other Go", "golang:1.26-trixie AS", "golang:1.25-trixie AS", "go.mod's go line"},
		{"Go 1.260", "golang:1.26-trixie AS", "golang:1.260 AS", "go.mod's go line"},
		{"cgo", "ENV CGO_ENABLED=0 ", "ENV ", "CGO_ENABLED=0"},
		{"no trimpath", "-trimpath ", "", "-trimpath"},
		{"remote ADD", "COPY . .", "ADD https://example.com/src.tar.gz .", "fetches from the network"},
		{"root user", "USER 65532:65532", "USER 0", "non-root UID"},
		{"named user", "USER 65532:65532", "USER nonroot", "non-root UID"},
		{"no user", "USER 65532:65532\n", "", "non-root UID"},
		{"shell entrypoint", `ENTRYPOINT ["/digits-api"]`, "ENTRYPOINT /digits-api", "shell form"},
		{"wrong entrypoint", `ENTRYPOINT ["/digits-api"]`, `ENTRYPOINT ["/server"]`, "ENTRYPOINT"},
		{"RUN in the final stage", "EXPOSE 8080", "RUN ls\nEXPOSE 8080", "no shell"},
		{"wrong port", "EXPOSE 8080", "EXPOSE 9090", "EXPOSE [9090]"},
		{"COPY from nowhere", "--from=build", "--from=builder", "names no earlier stage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to := tc.from, tc.to
			if strings.Count(good, from) != 1 {
				t.Fatalf("%q is not in the Dockerfile exactly once", from)
			}
			text := strings.Replace(good, from, to, 1)
			stages, err := parseDockerfile(t, []byte(text))
			var problems []string
			if err != nil {
				problems = append(problems, err.Error())
			} else {
				problems = dockerfileProblems(stages, "1.26.0", 8080)
			}
			if !strings.Contains(strings.Join(problems, "\n"), tc.says) {
				t.Errorf("problems %q, want one saying %q", problems, tc.says)
			}
		})
	}
	for _, image := range []string{"golang", "golang:latest", "gcr.io/distroless/static", "registry:5000/app"} {
		if checkPinned(image) == nil {
			t.Errorf("checkPinned(%q) accepted an unpinned image", image)
		}
	}
	for _, image := range []string{"golang:1.26-trixie", "registry:5000/app:1.2", "golang@sha256:0123"} {
		if err := checkPinned(image); err != nil {
			t.Errorf("checkPinned(%q): %v", image, err)
		}
	}
}

func flagValue(cmd, flag string) string {
	fields := strings.Fields(cmd)
	for i, f := range fields {
		if f == flag && i+1 < len(fields) {
			return fields[i+1]
		}
	}
	return ""
}

// The build context is the repository root, trimmed by
// Dockerfile.dockerignore. Nothing the Go build of the service's module
// reads may be ignored: every Go file and embedded file of every package
// it builds, from this module and from goai's, and both go.mod and go.sum
// files. The repository's history and the generated deployment files stay
// out.
func TestDockerignore(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "Dockerfile.dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	needed := append([]string{"go.mod", "go.sum", "examples/service/go.mod", "examples/service/go.sum"}, replacedModFiles(t)...)
	for _, p := range buildFiles(t) {
		rel, err := filepath.Rel(root, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // the standard library and the module cache
		}
		needed = append(needed, filepath.ToSlash(rel))
	}
	if !slices.Contains(needed, "examples/models/digits/weights.bin") || !slices.Contains(needed, "examples/service/httpapi/handler.go") {
		t.Fatalf("the build's file list %v misses files it must read; the check would prove nothing", needed)
	}
	for _, p := range needed {
		if ignored, err := pm.MatchesOrParentMatches(p); err != nil || ignored {
			t.Errorf("Dockerfile.dockerignore leaves %s out of the build context (%v)", p, err)
		}
	}
	for _, p := range []string{".git", ".git/config", "bin/buf", "examples/service/model_repository/digits/1/model.onnx",
		"examples/service/deploy/triton.yaml", "examples/service/compose/routing/routing.json", "README.md"} {
		if ignored, err := pm.MatchesOrParentMatches(p); err != nil || !ignored {
			t.Errorf("Dockerfile.dockerignore sends %s in the build context (%v)", p, err)
		}
	}
}

// buildFiles lists, with `go list`, the Go and embedded files of every
// package that building the module's packages reads.
func buildFiles(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,GoFiles,EmbedFiles,Standard", "./...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var files []string
	dec := json.NewDecoder(bufio.NewReader(bytes.NewReader(out)))
	for {
		var p struct {
			Dir                 string
			GoFiles, EmbedFiles []string
			Standard            bool
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Standard {
			continue
		}
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			files = append(files, filepath.Join(p.Dir, f))
		}
	}
	return files
}

// replacedModFiles returns the go.mod and go.sum files, relative to the
// repository root, of the modules the service's go.mod replaces with
// directories of the repository: `go mod download` reads them.
func replacedModFiles(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "mod", "edit", "-json")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod edit -json: %v", err)
	}
	var mod struct {
		Replace []struct{ New struct{ Path string } }
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, r := range mod.Replace {
		if !strings.HasPrefix(r.New.Path, ".") {
			continue
		}
		dir := filepath.ToSlash(filepath.Clean(filepath.Join("examples/service", r.New.Path)))
		for _, f := range []string{"go.mod", "go.sum"} {
			if dir == "." {
				files = append(files, f)
			} else {
				files = append(files, dir+"/"+f)
			}
		}
	}
	return files
}

// The image's module stage copies the go.mod and go.sum of every module
// the service's go.mod replaces with a directory before `go mod
// download`, which fails without them.
func TestDockerfileCopiesReplacedModules(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	download := strings.Index(string(data), "go mod download")
	if download < 0 {
		t.Fatal("the Dockerfile runs no go mod download")
	}
	before := string(data[:download])
	for _, f := range replacedModFiles(t) {
		if !strings.Contains(before, " "+f+" ") && !strings.Contains(before, " "+f+"\n") {
			t.Errorf("the Dockerfile does not copy %s before go mod download", f)
		}
	}
}
