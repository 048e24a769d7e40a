// Package benchserver is the model server of goai's client benchmarks,
// run in a process of its own so that what a benchmark measures in its
// own process (CPU time from getrusage, allocations from the Go runtime)
// is the client's alone: an in-process server mixes its work into both.
//
// [Serve] runs the server: it listens on 127.0.0.1, over gRPC and over
// REST (the Open Inference Protocol's HTTP form), writes both addresses
// on a line, and then answers one command per line ("cpu": its own CPU
// time so far, in nanoseconds) until its input ends, when it stops. The
// bench tests start it with [Start], re-running their own test binary;
// bench/cmd/benchserver runs it by hand.
package benchserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/wirecodec"
	"github.com/goai-dev/goai/tensor"
)

// Models are the identity models the server serves: FP32 tensors of 16
// floats (a feature vector), 784 floats (an MNIST image) and 150528
// floats (a 3×224×224 ImageNet image), each echoed as OUTPUT0.
var Models = []struct {
	Name  string
	Shape []int64
}{
	{"identity_16", []int64{16}},
	{"identity_784", []int64{784}},
	{"identity_150528", []int64{3, 224, 224}},
}

// TokensModel is the decoupled model the streaming benchmark calls:
// asked for COUNT tokens (INT64 [1]), it answers with that many
// responses, TOKEN (INT64 [1]) 0, 1, ... each.
const TokensModel = "tokens"

func tokens() inferencetest.Model {
	return inferencetest.Model{
		Name:    TokensModel,
		Inputs:  []inferencetest.TensorSpec{{Name: "COUNT", DType: tensor.Int64, Shape: []int64{1}}},
		Outputs: []inferencetest.TensorSpec{{Name: "TOKEN", DType: tensor.Int64, Shape: []int64{1}}},
		Stream: func(ctx context.Context, req *inferencetest.Request, send func([]tensor.Tensor, bool) error) error {
			n, err := tensor.DecodeInt64(nil, req.Inputs[0].Raw)
			if err != nil {
				return err
			}
			var raw [8]byte
			for i := range n[0] {
				out := tensor.Tensor{Name: "TOKEN", DType: tensor.Int64, Shape: []int64{1}, Raw: tensor.AppendInt64(raw[:0], []int64{i})}
				if err := send([]tensor.Tensor{out}, i == n[0]-1); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// EnvVar, set to "1" in a test binary's environment, makes [MaybeServe]
// run the server instead of the tests.
const EnvVar = "GOAI_BENCHSERVER"

// MaybeServe runs [Serve] on standard input and output and exits, when
// [EnvVar] is set; otherwise it returns at once. A bench test binary calls
// it first thing in TestMain, so that [Start] can run it as the server.
func MaybeServe() {
	if os.Getenv(EnvVar) != "1" {
		return
	}
	if err := Serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Serve serves [Models] on 127.0.0.1 with goai's wire codec over gRPC and
// over REST, the server spending as little as it can per call, writes
// "addr host:port http://host:port" (gRPC, then REST) to out, then
// answers the commands of in until it ends.
func Serve(in io.Reader, out io.Writer) error {
	srv := inferencetest.New(inferencetest.WithGRPCServerOptions(wirecodec.ServerOption()), inferencetest.WithRecordLimit(0))
	for _, m := range Models {
		if err := srv.Register(inferencetest.Identity(m.Name, tensor.FP32, m.Shape...)); err != nil {
			return err
		}
	}
	if err := srv.Register(tokens()); err != nil {
		return err
	}
	if err := srv.StartTCP(); err != nil {
		return err
	}
	defer srv.Stop()
	if _, err := fmt.Fprintf(out, "addr %s %s\n", srv.Addr(), srv.HTTPURL()); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		switch cmd := strings.TrimSpace(sc.Text()); cmd {
		case "cpu":
			if _, err := fmt.Fprintf(out, "cpu %d\n", CPUTime().Nanoseconds()); err != nil {
				return err
			}
		default:
			if _, err := fmt.Fprintf(out, "error unknown command %q\n", cmd); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

// Process is a server running in a child process.
type Process struct {
	// Addr is the server's gRPC host:port on 127.0.0.1.
	Addr string
	// URL is the base URL of the server's REST endpoints.
	URL string

	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	mu   sync.Mutex // one command at a time
	stop sync.Once
}

// Start runs exe (with args) as the server, with [EnvVar] set, and
// returns once it listens. The child stops when its standard input
// closes: at [Process.Stop], or when this process dies.
func Start(exe string, args ...string) (*Process, error) {
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), EnvVar+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, in: in, out: bufio.NewReader(outPipe)}
	addrs, err := p.reply("addr")
	if err != nil {
		p.Stop()
		return nil, fmt.Errorf("benchserver: starting %s: %w", exe, err)
	}
	p.Addr, p.URL, _ = strings.Cut(addrs, " ")
	return p, nil
}

// reply reads the server's next line, which must start with kind.
func (p *Process) reply(kind string) (string, error) {
	line, err := p.out.ReadString('\n')
	if err != nil {
		return "", err
	}
	k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
	if k != kind {
		return "", fmt.Errorf("server said %q, want %s", strings.TrimSpace(line), kind)
	}
	return v, nil
}

// Target is the server's gRPC target.
func (p *Process) Target() string { return "passthrough:///" + p.Addr }

// CPU returns the CPU time, user and system, the server process has used
// so far.
func (p *Process) CPU() (time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.in, "cpu\n"); err != nil {
		return 0, err
	}
	v, err := p.reply("cpu")
	if err != nil {
		return 0, err
	}
	ns, err := strconv.ParseInt(v, 10, 64)
	return time.Duration(ns), err
}

// Stop ends the server and waits, at most 10 seconds, for it to exit.
func (p *Process) Stop() {
	p.stop.Do(func() {
		p.in.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case <-done:
		case <-ctx.Done():
			p.cmd.Process.Kill()
			<-done
		}
	})
}
