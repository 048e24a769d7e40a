// Package quickstart runs the README's quickstart as a new user would:
// in a fresh module beside a checkout of goai, every command and file
// exactly as the README gives them, once with buf and once with protoc.
//
// The README marks each step with an HTML comment, invisible when
// rendered, before its fenced block:
//
//	<!-- quickstart: file PATH -->   the block is the content of PATH
//	<!-- quickstart: run -->         the block is shell commands, run with bash -e
//	<!-- quickstart: buf -->         like run, for the buf path only
//	<!-- quickstart: protoc -->      like run, for the protoc path only
//	<!-- quickstart: edit PATH: OLD => NEW -->  replace OLD by NEW in the file PATH
//	<!-- quickstart: fails [buf|protoc] -->  the block's one line is what the last
//	                                 command (of that path only) prints, and it fails
//
// Steps apply in README order. The checkout is at ../goai, relative to the
// user's module, as the README tells users to put it.
package quickstart

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// step is one marked block of the README.
type step struct {
	kind string // file, run, buf, protoc, edit, fails
	arg  string // the file path, or the edit's "OLD => NEW"
	body string // the fenced block's content
	line int    // the README line of the marker
}

var marker = regexp.MustCompile(`^<!-- quickstart: (\w+)\s*(.*?)\s*-->$`)

// readSteps returns the marked steps of the README at path, in order.
func readSteps(t *testing.T, path string) []step {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []step
	sc := bufio.NewScanner(f)
	n := 0
	var pending *step
	var inBlock bool
	var body strings.Builder
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case inBlock && strings.HasPrefix(line, "```"):
			inBlock = false
			pending.body = body.String()
			steps = append(steps, *pending)
			pending = nil
		case inBlock:
			body.WriteString(line)
			body.WriteByte('\n')
		case pending != nil && strings.HasPrefix(line, "```"):
			inBlock = true
			body.Reset()
		default:
			if m := marker.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				pending = &step{kind: m[1], arg: m[2], line: n}
				if pending.kind == "edit" {
					steps = append(steps, *pending)
					pending = nil
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if pending != nil || inBlock {
		t.Fatalf("README.md:%d: quickstart marker without a complete fenced block", pending.line)
	}
	return steps
}

func TestQuickstartWithBuf(t *testing.T)    { runQuickstart(t, "buf") }
func TestQuickstartWithProtoc(t *testing.T) { runQuickstart(t, "protoc") }

func runQuickstart(t *testing.T, path string) {
	if testing.Short() {
		t.Skip("builds a fresh module and its tools")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tools := toolPath(t, repo, path)
	steps := readSteps(t, filepath.Join(repo, "README.md"))
	if len(steps) == 0 {
		t.Fatal("README.md has no quickstart steps")
	}

	root := t.TempDir()
	if err := os.Symlink(repo, filepath.Join(root, "goai")); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(root, "app")
	if err := os.Mkdir(app, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"PATH="+tools+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GOWORK=off",
	)

	// The steps of this path, in order: the other path's commands left out.
	mine := steps[:0:0]
	for _, s := range steps {
		if (s.kind == "buf" || s.kind == "protoc") && s.kind != path || s.kind == "fails" && s.arg != "" && s.arg != path {
			continue
		}
		mine = append(mine, s)
	}
	var lastFile string
	var lastOut string
	var lastErr error
	for i, s := range mine {
		where := fmt.Sprintf("README.md:%d", s.line)
		switch s.kind {
		case "file":
			lastFile = filepath.Join(app, filepath.FromSlash(s.arg))
			if err := os.MkdirAll(filepath.Dir(lastFile), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(lastFile, []byte(s.body), 0o644); err != nil {
				t.Fatal(err)
			}
		case "edit":
			file, edit, ok1 := strings.Cut(s.arg, ": ")
			old, repl, ok2 := strings.Cut(edit, " => ")
			if !ok1 || !ok2 {
				t.Fatalf("%s: edit %q needs PATH: OLD => NEW", where, s.arg)
			}
			lastFile = filepath.Join(app, filepath.FromSlash(file))
			b, err := os.ReadFile(lastFile)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(old)) {
				t.Fatalf("%s: %s does not contain %q", where, lastFile, old)
			}
			b = bytes.Replace(b, []byte(old), []byte(repl), 1)
			if err := os.WriteFile(lastFile, b, 0o644); err != nil {
				t.Fatal(err)
			}
		case "run", "buf", "protoc":
			lastOut, lastErr = runShell(app, env, s.body)
			if lastErr != nil && (i+1 == len(mine) || mine[i+1].kind != "fails") {
				t.Fatalf("%s: %v\n%s", where, lastErr, lastOut)
			}
		case "fails":
			if lastErr == nil {
				t.Fatalf("%s: the step before succeeded; the README says it fails with:\n%s", where, s.body)
			}
			want := strings.TrimSpace(s.body)
			if !strings.Contains(lastOut, want) {
				t.Errorf("%s: the README says the output holds\n\t%s\nbut it was:\n%s", where, want, lastOut)
			}
		default:
			t.Fatalf("%s: unknown quickstart step %q", where, s.kind)
		}
	}
}

func runShell(dir string, env []string, script string) (string, error) {
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// toolPath returns a directory holding what the README assumes a user has
// installed for path: buf, or protoc. buf comes from the repository's
// bin/, which `make tools` builds from pinned versions.
func toolPath(t *testing.T, repo, path string) string {
	t.Helper()
	dir := t.TempDir()
	switch path {
	case "buf":
		buf := filepath.Join(repo, "bin", "buf")
		if _, err := os.Stat(buf); err != nil {
			t.Skipf("%s is missing; `make tools` builds it", buf)
		}
		if err := os.Symlink(buf, filepath.Join(dir, "buf")); err != nil {
			t.Fatal(err)
		}
	case "protoc":
		if _, err := exec.LookPath("protoc"); err != nil {
			if os.Getenv("GOAI_REQUIRE_PROTOC") != "" {
				t.Fatal("protoc not found; install Debian's protobuf-compiler (make protoc)")
			}
			t.Skip("protoc not found; `make protoc` installs it")
		}
	}
	return dir
}
