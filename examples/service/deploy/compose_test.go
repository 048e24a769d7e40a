package deploy

import (
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goai-dev/goai/examples/service/config"
	"github.com/goai-dev/goai/examples/service/routing"
)

// composeFile is the part of the Compose specification that compose.yaml
// uses; anything else is refused, so that an addition is reviewed here.
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
}

type composeService struct {
	Image string `json:"image"`
	Build *struct {
		Context    string `json:"context"`
		Dockerfile string `json:"dockerfile"`
	} `json:"build"`
	Command     []string          `json:"command"`
	User        string            `json:"user"`
	Environment map[string]string `json:"environment"`
	Volumes     []struct {
		Type     string `json:"type"`
		Source   string `json:"source"`
		Target   string `json:"target"`
		ReadOnly bool   `json:"read_only"`
	} `json:"volumes"`
	Ports           []string `json:"ports"`
	ReadOnly        bool     `json:"read_only"`
	CapDrop         []string `json:"cap_drop"`
	SecurityOpt     []string `json:"security_opt"`
	StopGracePeriod string   `json:"stop_grace_period"`
	DependsOn       map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := decodeStrict(data, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

// bindSource returns the host directory mounted at target, relative to
// examples/service, checking that it exists.
func bindSource(t *testing.T, s composeService, target string) string {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Target == target {
			if v.Type != "bind" || !v.ReadOnly {
				t.Errorf("volume at %s: type %s, read-only %v; want a read-only bind mount", target, v.Type, v.ReadOnly)
			}
			if fi, err := os.Stat(filepath.Join("..", v.Source)); err != nil || !fi.IsDir() {
				t.Errorf("volume at %s: source %s is not a directory (%v)", target, v.Source, err)
			}
			return v.Source
		}
	}
	t.Fatalf("nothing is mounted at %s", target)
	return ""
}

// compose.yaml runs the same Triton as the Deployment on the committed
// model repository, and the service with settings it accepts, pointed at
// that Triton, with the same canary routing as the ConfigMap.
func TestCompose(t *testing.T) {
	c := readCompose(t)
	m := loadManifests(t)
	triton, api := c.Services["triton"], c.Services[apiName]
	if len(c.Services) != 2 || triton.Image == "" || api.Build == nil {
		t.Fatalf("services %v, want triton and %s", slices.Sorted(mapKeys(c.Services)), apiName)
	}

	k8sTriton := container(t, m.deployments[tritonName], "triton")
	if triton.Image != k8sTriton.Image {
		t.Errorf("compose runs %s, the Deployment %s", triton.Image, k8sTriton.Image)
	}
	flags := tritonArgs(t, triton.Command)
	if src := bindSource(t, triton, flags["model-repository"]); path.Clean(src) != "model_repository" {
		t.Errorf("the model repository comes from %s, want ./model_repository", src)
	}
	if uid, _, _ := strings.Cut(triton.User, ":"); uid == "" || uid == "0" {
		t.Errorf("triton runs as %q, want the image's non-root user", triton.User)
	}

	// The image builds from the repository root with this Dockerfile.
	if filepath.Clean(filepath.Join("..", api.Build.Context)) != filepath.Clean(filepath.Join("..", "..", "..")) {
		t.Errorf("build context %s is not the repository root", api.Build.Context)
	}
	if df := filepath.Join("..", api.Build.Context, api.Build.Dockerfile); !sameFile(t, df, filepath.Join("..", "Dockerfile")) {
		t.Errorf("build dockerfile %s is not examples/service/Dockerfile", api.Build.Dockerfile)
	}

	var environ []string
	for k, v := range api.Environment {
		environ = append(environ, k+"="+v)
	}
	cfg, err := config.Load(nil, environ)
	if err != nil {
		t.Fatalf("the service refuses compose.yaml's settings: %v", err)
	}
	u, err := url.Parse(cfg.Target)
	if err != nil || u.Scheme != "dns" || u.Path != "/triton:"+flags["grpc-port"] {
		t.Errorf("target %s (%v), want dns:///triton:%s", cfg.Target, err, flags["grpc-port"])
	}
	if _, ok := api.DependsOn["triton"]; !ok {
		t.Error("the service does not depend on triton")
	}
	if cfg.DrainDelay == 0 {
		t.Error("no drain delay: Compose has no preStop hook to give balancers time")
	}
	if grace, err := time.ParseDuration(api.StopGracePeriod); err != nil || grace <= cfg.DrainDelay+cfg.ShutdownTimeout {
		t.Errorf("stop_grace_period %s (%v), want more than drain delay %v + shutdown timeout %v", api.StopGracePeriod, err, cfg.DrainDelay, cfg.ShutdownTimeout)
	}
	if !api.ReadOnly || !reflect.DeepEqual(api.CapDrop, []string{"ALL"}) {
		t.Errorf("the service runs read_only %v, cap_drop %v; want read-only with every capability dropped", api.ReadOnly, api.CapDrop)
	}

	// The routing file: a directory mount (a file mount would miss an
	// editor's rename), the same 90/10 as the ConfigMap.
	dir, file := path.Split(cfg.RoutingFile)
	src := bindSource(t, api, path.Clean(dir))
	routes, err := routing.Load(filepath.Join("..", src, file))
	if err != nil {
		t.Fatal(err)
	}
	k8sRoutes, err := routing.Parse([]byte(m.configMaps["digits-api-routing"].Data["routing.json"]))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(routes, k8sRoutes) {
		t.Errorf("compose routes %v, the ConfigMap %v", routes, k8sRoutes)
	}

	for name, s := range c.Services {
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %s beyond this machine; bind it to 127.0.0.1", name, p)
			}
		}
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
