package deploy

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goai-dev/goai/examples/service/config"
	"github.com/goai-dev/goai/examples/service/modelrepo"
	"github.com/goai-dev/goai/examples/service/routing"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	apiName    = "digits-api"
	tritonName = "digits-triton"
)

func container(t *testing.T, d *appsv1.Deployment, name string) *corev1.Container {
	t.Helper()
	if d == nil {
		t.Fatalf("no Deployment for container %q", name)
	}
	for i := range d.Spec.Template.Spec.Containers {
		if c := &d.Spec.Template.Spec.Containers[i]; c.Name == name {
			return c
		}
	}
	t.Fatalf("Deployment %s has no container %q", d.Name, name)
	return nil
}

// allContainers returns a pod's init and regular containers.
func allContainers(spec *corev1.PodSpec) []*corev1.Container {
	var out []*corev1.Container
	for i := range spec.InitContainers {
		out = append(out, &spec.InitContainers[i])
	}
	for i := range spec.Containers {
		out = append(out, &spec.Containers[i])
	}
	return out
}

// containerPort resolves a probe's or Service's port, by name or number,
// to a port of c; ok is false if c has no such port.
func containerPort(c *corev1.Container, p intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, cp := range c.Ports {
		if p.Type == intstr.String && cp.Name == p.StrVal || p.Type == intstr.Int && cp.ContainerPort == p.IntVal {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

func probePort(p *corev1.Probe) (intstr.IntOrString, string) {
	switch {
	case p.HTTPGet != nil:
		return p.HTTPGet.Port, p.HTTPGet.Path
	case p.TCPSocket != nil:
		return p.TCPSocket.Port, ""
	case p.GRPC != nil:
		return intstr.FromInt32(p.GRPC.Port), ""
	}
	return intstr.IntOrString{}, ""
}

// Every container of every Deployment has probes on ports it has, resource
// requests and limits, runs as a non-root user without privileges, and
// names a pinned image.
func TestEveryContainerIsProductionReady(t *testing.T) {
	m := loadManifests(t)
	if len(m.deployments) != 2 {
		t.Fatalf("Deployments %v, want %s and %s", slices.Sorted(mapKeys(m.deployments)), apiName, tritonName)
	}
	for _, d := range m.deployments {
		pod := &d.Spec.Template.Spec
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Errorf("%s: automountServiceAccountToken is not false; neither server calls the Kubernetes API", d.Name)
		}
		if pod.SecurityContext == nil || pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: no RuntimeDefault seccomp profile", d.Name)
		}
		for _, c := range allContainers(pod) {
			where := d.Name + "/" + c.Name
			probes := map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe}
			for _, kind := range []string{"readiness", "liveness"} {
				if probes[kind] == nil {
					t.Errorf("%s: no %s probe", where, kind)
				}
			}
			for kind, p := range probes {
				if p == nil {
					continue
				}
				port, _ := probePort(p)
				if _, ok := containerPort(c, port); !ok {
					t.Errorf("%s: the %s probe's port %s is not a port of the container", where, kind, port.String())
				}
			}
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, hasReq := c.Resources.Requests[res]
				lim, hasLim := c.Resources.Limits[res]
				if !hasReq || !hasLim {
					t.Errorf("%s: %s request %v (set %v), limit %v (set %v); want both", where, res, req.String(), hasReq, lim.String(), hasLim)
					continue
				}
				if req.Cmp(lim) > 0 {
					t.Errorf("%s: %s request %s above its limit %s", where, res, req.String(), lim.String())
				}
			}
			nonRoot, user := effectiveUser(pod, c)
			if !nonRoot || user == nil || *user == 0 {
				uid := "unset"
				if user != nil {
					uid = strconv.FormatInt(*user, 10)
				}
				t.Errorf("%s: runAsNonRoot %v, runAsUser %s; want a non-root UID", where, nonRoot, uid)
			}
			sc := c.SecurityContext
			switch {
			case sc == nil:
				t.Errorf("%s: no securityContext", where)
			default:
				if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					t.Errorf("%s: allowPrivilegeEscalation is not false", where)
				}
				if sc.Privileged != nil && *sc.Privileged {
					t.Errorf("%s: privileged", where)
				}
				if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
					t.Errorf("%s: capabilities %+v; want ALL dropped, none added", where, sc.Capabilities)
				}
			}
			if err := checkPinned(c.Image); err != nil {
				t.Errorf("%s: %v", where, err)
			}
		}
	}
}

func effectiveUser(pod *corev1.PodSpec, c *corev1.Container) (nonRoot bool, user *int64) {
	if psc := pod.SecurityContext; psc != nil {
		if psc.RunAsNonRoot != nil {
			nonRoot = *psc.RunAsNonRoot
		}
		user = psc.RunAsUser
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsNonRoot != nil {
			nonRoot = *sc.RunAsNonRoot
		}
		if sc.RunAsUser != nil {
			user = sc.RunAsUser
		}
	}
	return nonRoot, user
}

// checkPinned fails an image reference without a tag or digest, or with
// the moving tag latest.
func checkPinned(image string) error {
	if strings.Contains(image, "@sha256:") {
		return nil
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	if !ok || tag == "" || tag == "latest" {
		return fmt.Errorf("image %q is not pinned to a version", image)
	}
	return nil
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// A Deployment's selector selects its own pods; a Service's selects the
// pods of exactly one Deployment, on ports those pods have.
func TestSelectorsSelect(t *testing.T) {
	m := loadManifests(t)
	for _, d := range m.deployments {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Fatalf("%s: selector %v: %v", d.Name, d.Spec.Selector, err)
		}
		if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: the selector %s does not select the pod template's labels %v", d.Name, sel, d.Spec.Template.Labels)
		}
	}
	for _, s := range m.services {
		if len(s.Spec.Selector) == 0 {
			t.Errorf("Service %s has no selector", s.Name)
			continue
		}
		var selected []*appsv1.Deployment
		for _, d := range m.deployments {
			if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				selected = append(selected, d)
			}
		}
		if len(selected) != 1 {
			t.Errorf("Service %s selects the pods of %d Deployments, want 1", s.Name, len(selected))
			continue
		}
		d := selected[0]
		for _, sp := range s.Spec.Ports {
			found := false
			for _, c := range d.Spec.Template.Spec.Containers {
				if _, ok := containerPort(&c, sp.TargetPort); ok {
					found = true
				}
			}
			if !found {
				t.Errorf("Service %s port %s targets %s, which no container of %s has", s.Name, sp.Name, sp.TargetPort.String(), d.Name)
			}
		}
	}
}

// The model server's Service is headless and publishes ready pods only, so
// that the client's dns:/// target resolves to every ready replica.
func TestTritonServiceIsHeadless(t *testing.T) {
	m := loadManifests(t)
	s := m.services[tritonName]
	if s == nil {
		t.Fatalf("no Service %s", tritonName)
	}
	if s.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("clusterIP %q, want None: a ClusterIP pins each gRPC connection, and every call on it, to one pod", s.Spec.ClusterIP)
	}
	if s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("type %s; a headless Service is of type ClusterIP", s.Spec.Type)
	}
	if s.Spec.PublishNotReadyAddresses {
		t.Error("publishNotReadyAddresses: clients would connect to pods still loading models")
	}
	triton := container(t, m.deployments[tritonName], "triton")
	grpc := servicePort(t, s, "grpc")
	if cp, ok := containerPort(triton, grpc.TargetPort); !ok || cp.ContainerPort != 8001 || grpc.Port != 8001 {
		t.Errorf("the grpc port %d targets %v, want Triton's gRPC port 8001", grpc.Port, cp)
	}
	for _, p := range []struct {
		probe *corev1.Probe
		path  string
	}{{triton.ReadinessProbe, "/v2/health/ready"}, {triton.LivenessProbe, "/v2/health/live"}} {
		port, probePath := probePort(p.probe)
		cp, _ := containerPort(triton, port)
		if probePath != p.path || cp.ContainerPort != 8000 {
			t.Errorf("probe on %s port %d, want %s on Triton's HTTP port 8000", probePath, cp.ContainerPort, p.path)
		}
	}
}

func servicePort(t *testing.T, s *corev1.Service, name string) corev1.ServicePort {
	t.Helper()
	for _, p := range s.Spec.Ports {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("Service %s has no port %q", s.Name, name)
	return corev1.ServicePort{}
}

// apiSettings returns the service container's environment and the
// settings the service reads from it.
func apiSettings(t *testing.T, c *corev1.Container) (map[string]string, *config.Config) {
	t.Helper()
	env := map[string]string{}
	var environ []string
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Fatalf("env %s comes from %v; the test reads literal values", e.Name, e.ValueFrom)
		}
		env[e.Name] = e.Value
		environ = append(environ, e.Name+"="+e.Value)
	}
	cfg, err := config.Load(c.Args, environ)
	if err != nil {
		t.Fatalf("the service refuses its Deployment's settings: %v", err)
	}
	return env, cfg
}

// The service's settings are ones it accepts, and they fit the rest of the
// manifests: the target is the headless Service's gRPC port, the listen
// port is the probed one, the grace period covers the drain.
func TestAPIDeploymentFitsTheService(t *testing.T) {
	m := loadManifests(t)
	d := m.deployments[apiName]
	c := container(t, d, apiName)
	env, cfg := apiSettings(t, c)

	if d.Spec.Replicas != nil {
		t.Errorf("replicas %d: the HorizontalPodAutoscaler owns the count, and apply would reset it", *d.Spec.Replicas)
	}
	if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("the service's root file system is writable")
	}

	u, err := url.Parse(cfg.Target)
	if err != nil || u.Scheme != "dns" {
		t.Fatalf("target %q: %v; want dns:///<headless Service>:<port>", cfg.Target, err)
	}
	host, port, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), ":")
	if first, _, _ := strings.Cut(host, "."); first != tritonName {
		t.Errorf("target host %q, want the headless Service %s", host, tritonName)
	}
	if grpc := servicePort(t, m.services[tritonName], "grpc"); port != strconv.Itoa(int(grpc.Port)) {
		t.Errorf("target port %q, want the Service's grpc port %d", port, grpc.Port)
	}
	if cfg.LBPolicy != "round_robin" {
		t.Errorf("lb policy %s: over a headless Service, pick_first sends every call to one pod", cfg.LBPolicy)
	}

	http, ok := containerPort(c, intstr.FromString("http"))
	if !ok || cfg.Listen != ":"+strconv.Itoa(int(http.ContainerPort)) {
		t.Errorf("listen %q, container port http %d: the probes would miss the server", cfg.Listen, http.ContainerPort)
	}
	for _, p := range []struct {
		probe *corev1.Probe
		path  string
	}{{c.ReadinessProbe, "/readyz"}, {c.LivenessProbe, "/healthz"}} {
		port, probePath := probePort(p.probe)
		if probePath != p.path || port.String() != "http" {
			t.Errorf("probe on %s port %s, want %s on port http", probePath, port.String(), p.path)
		}
		if time.Duration(p.probe.TimeoutSeconds)*time.Second <= cfg.ReadyTimeout && p.path == "/readyz" {
			t.Errorf("readiness probe timeout %ds is not above the service's ready timeout %v: the probe would time out before the 503", p.probe.TimeoutSeconds, cfg.ReadyTimeout)
		}
	}

	// Termination: preStop sleep, then SIGTERM, the drain delay, the
	// shutdown timeout, closing the client; SIGKILL only after all that.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatal("no preStop sleep")
	}
	if c.Lifecycle.PreStop.Exec != nil {
		t.Error("a preStop exec: the distroless image has no shell or sleep to run")
	}
	preStop := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	grace := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	if need := preStop + cfg.DrainDelay + cfg.ShutdownTimeout; grace <= need {
		t.Errorf("terminationGracePeriodSeconds %v, want more than preStop %v + drain delay %v + shutdown timeout %v", grace, preStop, cfg.DrainDelay, cfg.ShutdownTimeout)
	}

	limit := c.Resources.Limits[corev1.ResourceMemory]
	memLimit, err := parseGoMemLimit(env["GOMEMLIMIT"])
	if err != nil || memLimit >= limit.Value() || memLimit < limit.Value()*3/4 {
		t.Errorf("GOMEMLIMIT %q (%v) against the memory limit %s: want 75%% to 100%% of it", env["GOMEMLIMIT"], err, limit.String())
	}

	// TLS files, when named, come from the Secret volume, which is
	// optional so that plaintext pods start without it.
	tls := mountOf(t, d, c, "tls")
	if tls.volume.Secret == nil || tls.volume.Secret.Optional == nil || !*tls.volume.Secret.Optional {
		t.Errorf("the tls volume %+v is not an optional Secret", tls.volume)
	}
	for _, f := range []string{cfg.TLSCA, cfg.TLSCert, cfg.TLSKey} {
		if f != "" && !strings.HasPrefix(f, tls.mount.MountPath+"/") {
			t.Errorf("TLS file %s is not in the Secret volume at %s", f, tls.mount.MountPath)
		}
	}
}

type mounted struct {
	mount  corev1.VolumeMount
	volume corev1.Volume
}

func mountOf(t *testing.T, d *appsv1.Deployment, c *corev1.Container, volume string) mounted {
	t.Helper()
	for _, vm := range c.VolumeMounts {
		if vm.Name != volume {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == volume {
				return mounted{vm, v}
			}
		}
	}
	t.Fatalf("%s/%s mounts no volume %q", d.Name, c.Name, volume)
	return mounted{}
}

// parseGoMemLimit reads GOMEMLIMIT's syntax: bytes, optionally with a
// B, KiB, MiB, GiB or TiB suffix.
func parseGoMemLimit(s string) (int64, error) {
	units := []struct {
		suffix string
		scale  int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * u.scale, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// The routing file the ConfigMap ships is one the service accepts, 90/10
// between versions Triton serves, mounted where the service reads it, in
// a way that receives updates.
func TestRoutingConfigMap(t *testing.T) {
	m := loadManifests(t)
	d := m.deployments[apiName]
	c := container(t, d, apiName)
	_, cfg := apiSettings(t, c)

	r := mountOf(t, d, c, "routing")
	if r.mount.SubPath != "" || r.mount.SubPathExpr != "" {
		t.Error("the routing ConfigMap is mounted by subPath, which never receives updates")
	}
	if r.volume.ConfigMap == nil || len(r.volume.ConfigMap.Items) > 0 {
		t.Fatalf("the routing volume %+v is not a whole ConfigMap", r.volume)
	}
	dir, key := path.Split(cfg.RoutingFile)
	if path.Clean(dir) != r.mount.MountPath {
		t.Errorf("routing file %s is not in the ConfigMap's mount %s", cfg.RoutingFile, r.mount.MountPath)
	}
	cm := m.configMaps[r.volume.ConfigMap.Name]
	if cm == nil {
		t.Fatalf("no ConfigMap %s", r.volume.ConfigMap.Name)
	}
	routes, err := routing.Parse([]byte(cm.Data[key]))
	if err != nil {
		t.Fatalf("ConfigMap %s key %s: %v", cm.Name, key, err)
	}
	if want := []routing.Route{{Version: "1", Weight: 90}, {Version: "2", Weight: 10}}; !reflect.DeepEqual(routes, want) {
		t.Errorf("the shipped routing is %v, want the 90/10 canary %v", routes, want)
	}
	served := map[string]bool{}
	for _, v := range modelrepo.Versions {
		served[strconv.FormatInt(v.Number, 10)] = true
	}
	for _, rt := range routes {
		if !served[rt.Version] {
			t.Errorf("the routing sends calls to version %s, which the model repository does not serve", rt.Version)
		}
	}
}

// HPA and PDBs name and select what they mean to.
func TestAutoscalerAndDisruptionBudgets(t *testing.T) {
	m := loadManifests(t)
	if len(m.hpas) != 1 {
		t.Fatalf("%d HorizontalPodAutoscalers, want 1", len(m.hpas))
	}
	hpa := m.hpas[apiName]
	if hpa == nil {
		t.Fatalf("no HorizontalPodAutoscaler %s", apiName)
	}
	ref := hpa.Spec.ScaleTargetRef
	d := m.deployments[ref.Name]
	if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || d == nil || ref.Name != apiName {
		t.Fatalf("scaleTargetRef %+v, want apps/v1 Deployment %s", ref, apiName)
	}
	c := container(t, d, apiName)
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
		t.Error("CPU utilisation is relative to the CPU request, which is not set")
	}
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Resource == nil || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU ||
		hpa.Spec.Metrics[0].Resource.Target.AverageUtilization == nil {
		t.Errorf("metrics %+v, want CPU utilisation", hpa.Spec.Metrics)
	}
	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}
	if minReplicas < 2 || minReplicas > hpa.Spec.MaxReplicas {
		t.Errorf("replicas %d to %d; want at least 2, so that a disruption leaves one serving", minReplicas, hpa.Spec.MaxReplicas)
	}

	replicas := map[string]int32{apiName: minReplicas}
	if r := m.deployments[tritonName].Spec.Replicas; r != nil {
		replicas[tritonName] = *r
	}
	if len(m.pdbs) != len(m.deployments) {
		t.Errorf("%d PodDisruptionBudgets for %d Deployments", len(m.pdbs), len(m.deployments))
	}
	for _, pdb := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Fatalf("PDB %s: selector %v: %v", pdb.Name, pdb.Spec.Selector, err)
		}
		var selected []string
		for _, d := range m.deployments {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				selected = append(selected, d.Name)
			}
		}
		if len(selected) != 1 || selected[0] != pdb.Name {
			t.Errorf("PDB %s selects the pods of %v, want those of Deployment %s", pdb.Name, selected, pdb.Name)
			continue
		}
		if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MinAvailable != nil {
			t.Errorf("PDB %s: want maxUnavailable (it follows the replica count), not minAvailable", pdb.Name)
			continue
		}
		if left := replicas[pdb.Name] - pdb.Spec.MaxUnavailable.IntVal; left < 1 {
			t.Errorf("PDB %s lets %s of %d pods go, leaving %d", pdb.Name, pdb.Spec.MaxUnavailable.String(), replicas[pdb.Name], left)
		}
	}
}

// tritonFlags are the options of tritonserver 2.71.0 (container 26.07),
// from src/command_line_parser.cc, that these manifests may use.
var tritonFlags = []string{
	"model-repository", "model-control-mode", "strict-readiness", "exit-on-error", "exit-timeout-secs",
	"http-port", "grpc-port", "metrics-port", "allow-metrics", "log-verbose",
	"grpc-keepalive-time", "grpc-keepalive-timeout", "grpc-keepalive-permit-without-calls",
	"grpc-http2-max-pings-without-data", "grpc-http2-min-recv-ping-interval-without-data",
	"grpc-http2-max-ping-strikes", "grpc-max-connection-age", "grpc-max-connection-age-grace",
	"grpc-use-ssl", "grpc-use-ssl-mutual", "grpc-server-cert", "grpc-server-key", "grpc-root-cert",
}

// tritonArgs parses tritonserver's command line into flag values, failing
// t on anything but --known-flag=value.
func tritonArgs(t *testing.T, args []string) map[string]string {
	t.Helper()
	if len(args) == 0 || args[0] != "tritonserver" {
		t.Fatalf("args %v do not run tritonserver", args)
	}
	flags := map[string]string{}
	for _, a := range args[1:] {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !ok || !slices.Contains(tritonFlags, name) {
			t.Errorf("tritonserver argument %q is not --<option>=<value> of a known option", a)
			continue
		}
		flags[name] = value
	}
	return flags
}

// Triton's command line fits its container and volumes, its drain fits
// the grace period, and its model repository is the committed one.
func TestTritonDeployment(t *testing.T) {
	m := loadManifests(t)
	d := m.deployments[tritonName]
	c := container(t, d, "triton")
	flags := tritonArgs(t, c.Args)
	for flag, port := range map[string]string{"http-port": "http", "grpc-port": "grpc", "metrics-port": "metrics"} {
		cp, ok := containerPort(c, intstr.FromString(port))
		if !ok || flags[flag] != strconv.Itoa(int(cp.ContainerPort)) {
			t.Errorf("--%s=%s, container port %s is %d", flag, flags[flag], port, cp.ContainerPort)
		}
	}
	if flags["strict-readiness"] != "true" {
		t.Error("without strict readiness, /v2/health/ready passes before the models are loaded")
	}

	exitTimeout, err := strconv.Atoi(flags["exit-timeout-secs"])
	if err != nil {
		t.Fatalf("--exit-timeout-secs: %v", err)
	}
	preStop := int64(0)
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = c.Lifecycle.PreStop.Sleep.Seconds
	}
	if grace := *d.Spec.Template.Spec.TerminationGracePeriodSeconds; grace <= preStop+int64(exitTimeout) {
		t.Errorf("terminationGracePeriodSeconds %d, want more than preStop %d + --exit-timeout-secs %d", grace, preStop, exitTimeout)
	}

	// Calls in flight on a connection at its maximum age get the grace to
	// finish; the longest is the service's call timeout.
	_, cfg := apiSettings(t, container(t, m.deployments[apiName], apiName))
	graceMS, err := strconv.Atoi(flags["grpc-max-connection-age-grace"])
	if err != nil || time.Duration(graceMS)*time.Millisecond < cfg.CallTimeout {
		t.Errorf("--grpc-max-connection-age-grace=%s (%v), want at least the call timeout %v", flags["grpc-max-connection-age-grace"], err, cfg.CallTimeout)
	}
	if age, err := strconv.Atoi(flags["grpc-max-connection-age"]); err != nil || age <= 0 {
		t.Errorf("--grpc-max-connection-age=%s: without it, clients never see Triton pods added after they connected", flags["grpc-max-connection-age"])
	}

	repo := mountOf(t, d, c, "models")
	if repo.mount.MountPath != flags["model-repository"] {
		t.Errorf("--model-repository=%s, but the models volume is at %s", flags["model-repository"], repo.mount.MountPath)
	}
	if repo.volume.ConfigMap == nil {
		t.Fatalf("the models volume is not a ConfigMap: %+v", repo.volume)
	}
	cm := m.configMaps[repo.volume.ConfigMap.Name]
	if cm == nil {
		t.Fatalf("no ConfigMap %s", repo.volume.ConfigMap.Name)
	}
	contents := map[string][]byte{}
	size := 0
	for k, v := range cm.Data {
		contents[k] = []byte(v)
		size += len(k) + len(v)
	}
	for k, v := range cm.BinaryData {
		contents[k] = v
		size += len(k) + len(v)
	}
	if size >= 1<<20 {
		t.Errorf("the model repository ConfigMap holds %d bytes; the API server refuses more than 1 MiB", size)
	}
	committed := committedRepository(t)
	var mapped []string
	for _, item := range repo.volume.ConfigMap.Items {
		mapped = append(mapped, item.Path)
		want, ok := committed[item.Path]
		if !ok {
			t.Errorf("key %s is mounted at %s, which is not a file of model_repository", item.Key, item.Path)
			continue
		}
		if got, ok := contents[item.Key]; !ok || string(got) != string(want) {
			t.Errorf("ConfigMap key %s (mounted at %s) differs from model_repository/%s; run `go run ./cmd/modelrepo`", item.Key, item.Path, item.Path)
		}
	}
	if want := slices.Sorted(mapKeys(committed)); !slices.Equal(slices.Sorted(slices.Values(mapped)), want) {
		t.Errorf("the volume mounts %v, model_repository holds %v", mapped, want)
	}
	if len(contents) != len(repo.volume.ConfigMap.Items) {
		t.Errorf("the ConfigMap has %d keys, the volume mounts %d", len(contents), len(repo.volume.ConfigMap.Items))
	}
}

// committedRepository returns the files of ../model_repository by path.
func committedRepository(t *testing.T) map[string][]byte {
	t.Helper()
	root := filepath.Join("..", "model_repository")
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Quantities in the manifests parse the way the API server reads them
// (a guard for the checks above, which compare them).
func TestQuantities(t *testing.T) {
	if q := resource.MustParse("128Mi"); q.Value() != 128<<20 {
		t.Fatalf("128Mi = %d", q.Value())
	}
	if v, err := parseGoMemLimit("115MiB"); err != nil || v != 115<<20 {
		t.Fatalf("parseGoMemLimit(115MiB) = %d, %v", v, err)
	}
}
