package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	k8sjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// manifests are the objects of every manifest in this directory, by name.
type manifests struct {
	files       []string // manifest files, kustomization.yaml excepted
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	hpas        map[string]*autoscalingv2.HorizontalPodAutoscaler
	pdbs        map[string]*policyv1.PodDisruptionBudget
}

// newObject returns the typed object of an apiVersion and kind; the
// manifests may hold these kinds only.
func newObject(tm metav1.TypeMeta) (any, error) {
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	}
	return nil, fmt.Errorf("apiVersion %q kind %q is not a kind these manifests use", tm.APIVersion, tm.Kind)
}

// decodeStrict decodes one YAML document into v the way the API server's
// strict field validation does (kubectl apply --validate=strict): YAML to
// JSON refusing duplicate keys, then JSON matched case-sensitively,
// refusing unknown and duplicate fields.
func decodeStrict(doc []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := k8sjson.UnmarshalStrict(js, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// documents splits a multi-document YAML stream, dropping documents that
// hold only comments.
func documents(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, err
		}
		if string(bytes.TrimSpace(js)) != "null" {
			docs = append(docs, doc)
		}
	}
}

// decodeObject decodes one document into its typed object.
func decodeObject(doc []byte) (any, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return nil, err
	}
	obj, err := newObject(tm)
	if err != nil {
		return nil, err
	}
	return obj, decodeStrict(doc, obj)
}

// loadManifests decodes every manifest of the directory, failing t on the
// first that does not decode strictly.
func loadManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{
		deployments: map[string]*appsv1.Deployment{},
		services:    map[string]*corev1.Service{},
		configMaps:  map[string]*corev1.ConfigMap{},
		hpas:        map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		pdbs:        map[string]*policyv1.PodDisruptionBudget{},
	}
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f == "kustomization.yaml" {
			continue
		}
		m.files = append(m.files, f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := documents(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(docs) == 0 {
			t.Fatalf("%s holds no object", f)
		}
		for i, doc := range docs {
			obj, err := decodeObject(doc)
			if err != nil {
				t.Fatalf("%s, document %d: %v", f, i+1, err)
			}
			var name string
			switch o := obj.(type) {
			case *appsv1.Deployment:
				name = o.Name
				add(t, m.deployments, name, o)
			case *corev1.Service:
				name = o.Name
				add(t, m.services, name, o)
			case *corev1.ConfigMap:
				name = o.Name
				add(t, m.configMaps, name, o)
			case *autoscalingv2.HorizontalPodAutoscaler:
				name = o.Name
				add(t, m.hpas, name, o)
			case *policyv1.PodDisruptionBudget:
				name = o.Name
				add(t, m.pdbs, name, o)
			}
			if name == "" {
				t.Fatalf("%s, document %d: no metadata.name", f, i+1)
			}
		}
	}
	slices.Sort(m.files)
	return m
}

func add[T any](t *testing.T, into map[string]T, name string, v T) {
	t.Helper()
	if _, dup := into[name]; dup {
		t.Fatalf("two %T objects named %q", v, name)
	}
	into[name] = v
}

// The decoder has teeth: what the API server's strict validation refuses,
// it refuses.
func TestDecodeIsStrict(t *testing.T) {
	const good = `apiVersion: v1
kind: Service
metadata:
  name: s
spec:
  clusterIP: None
  ports:
    - name: grpc
      port: 8001
`
	if _, err := decodeObject([]byte(good)); err != nil {
		t.Fatalf("a valid Service: %v", err)
	}
	for _, tc := range []struct{ name, from, to, says string }{
		{"unknown field", "clusterIP: None", "clusterIp: None", "unknown field"},
		{"misspelt nested field", "port: 8001", "prot: 8001", `unknown field "spec.ports[0].prot"`},
		{"duplicate key", "clusterIP: None", "clusterIP: None\n  clusterIP: 10.0.0.1", "already set"},
		{"wrong type", "port: 8001", "port: grpc", "cannot unmarshal"},
		{"unknown kind", "kind: Service", "kind: Servce", "not a kind these manifests use"},
		{"old API version", "apiVersion: v1\nkind: Service", "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler", "not a kind these manifests use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(good, tc.from, tc.to, 1)
			_, err := decodeObject([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("decode = %v, want an error saying %q", err, tc.says)
			}
		})
	}
}

// kustomization is the part of kustomize's Kustomization these manifests
// use; fields beyond it are refused, so that an addition is reviewed here.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images"`
}

// Every manifest is in the kustomization, and only files that exist are.
func TestKustomizationListsEveryManifest(t *testing.T) {
	m := loadManifests(t)
	data, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := decodeStrict(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml is %s %s", k.APIVersion, k.Kind)
	}
	listed := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(listed, m.files) {
		t.Errorf("kustomization.yaml lists %v; the directory has %v", listed, m.files)
	}
	api := container(t, m.deployments["digits-api"], "digits-api")
	for _, img := range k.Images {
		if !strings.HasPrefix(api.Image, img.Name+":") {
			t.Errorf("kustomization image %q does not name the service's image %q", img.Name, api.Image)
		}
		if img.NewTag == "" || img.NewTag == "latest" {
			t.Errorf("kustomization image %q: newTag %q; pin a version", img.Name, img.NewTag)
		}
	}
}
