package kustomize_test

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// The bookstore's namespace, and the workloads every overlay must hold.
const namespace = "bookstore"

var (
	// services are the long-running HTTP workloads, with their ports.
	services = map[string]int32{"books-subgraph": 4001, "orders-subgraph": 4003, "router": 8080}
	// overlays are the directories the tests build, relative to this one.
	overlays = []string{"overlays/local", "overlays/production"}
)

// manifests is one overlay built and decoded into typed objects.
type manifests struct {
	objects      []runtime.Object
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	jobs         map[string]*batchv1.Job
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	pdbs         []*policyv1.PodDisruptionBudget
	policies     []*networkingv1.NetworkPolicy
	hpas         []*autoscalingv2.HorizontalPodAutoscaler
	namespaces   []*corev1.Namespace
	pvcTemplates []corev1.PersistentVolumeClaim
}

// workload is a pod template and what runs it.
type workload struct {
	kind, name string
	meta       metav1.ObjectMeta // of the pod template
	spec       corev1.PodSpec
}

func (m *manifests) workloads() []workload {
	var ws []workload
	for _, n := range slices.Sorted(maps.Keys(m.deployments)) {
		d := m.deployments[n]
		ws = append(ws, workload{"Deployment", n, d.Spec.Template.ObjectMeta, d.Spec.Template.Spec})
	}
	for _, n := range slices.Sorted(maps.Keys(m.statefulSets)) {
		s := m.statefulSets[n]
		ws = append(ws, workload{"StatefulSet", n, s.Spec.Template.ObjectMeta, s.Spec.Template.Spec})
	}
	for _, n := range slices.Sorted(maps.Keys(m.jobs)) {
		j := m.jobs[n]
		ws = append(ws, workload{"Job", n, j.Spec.Template.ObjectMeta, j.Spec.Template.Spec})
	}
	return ws
}

// decoder decodes strictly: an unknown or duplicated field is an error.
func decoder() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme,
		networkingv1.AddToScheme, autoscalingv2.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}

// kustomizeBuild runs kustomize in-process on dir: `kubectl kustomize dir`.
func kustomizeBuild(dir string) (resmap.ResMap, error) {
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return rm, nil
}

// build runs kustomize in-process on dir, as `kubectl apply -k dir` would,
// and decodes every object strictly.
func build(dir string) (*manifests, error) {
	rm, err := kustomizeBuild(dir)
	if err != nil {
		return nil, err
	}
	m := &manifests{
		deployments: map[string]*appsv1.Deployment{}, statefulSets: map[string]*appsv1.StatefulSet{},
		jobs: map[string]*batchv1.Job{}, services: map[string]*corev1.Service{},
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
	}
	dec := decoder()
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		obj, _, err := dec.Decode(y, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("decoding %s strictly: %w", r.CurId(), err)
		}
		m.objects = append(m.objects, obj)
		switch o := obj.(type) {
		case *appsv1.Deployment:
			m.deployments[o.Name] = o
		case *appsv1.StatefulSet:
			m.statefulSets[o.Name] = o
			m.pvcTemplates = append(m.pvcTemplates, o.Spec.VolumeClaimTemplates...)
		case *batchv1.Job:
			m.jobs[o.Name] = o
		case *corev1.Service:
			m.services[o.Name] = o
		case *corev1.ConfigMap:
			m.configMaps[o.Name] = o
		case *corev1.Secret:
			m.secrets[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			m.pdbs = append(m.pdbs, o)
		case *networkingv1.NetworkPolicy:
			m.policies = append(m.policies, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			m.hpas = append(m.hpas, o)
		case *corev1.Namespace:
			m.namespaces = append(m.namespaces, o)
		default:
			return nil, fmt.Errorf("%s: a kind the tests do not check; add it to build and to the checks", r.CurId())
		}
	}
	return m, nil
}

func mustBuild(t *testing.T, overlay string) *manifests {
	t.Helper()
	m, err := build(overlay)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A check looks at one overlay and reports every broken promise.
type check func(m *manifests) []error

// checks are the invariants every overlay keeps, by name.
var checks = map[string]check{
	"namespace":        checkNamespace,
	"replicas":         checkReplicas,
	"security context": checkSecurity,
	"resources":        checkResources,
	"probes":           checkProbes,
	"graceful stop":    checkGracefulStop,
	"disruption":       checkDisruption,
	"exposure":         checkExposure,
	"service selector": checkServiceSelectors,
	"network policies": checkNetworkPolicies,
	"secrets":          checkSecrets,
	"config wiring":    checkConfigWiring,
	"images":           checkImages,
	"connections":      checkConnections,
}

// checkConnections: every replica the Deployments and their autoscalers
// may run at once, a rollout's surge included, with its whole pool
// (DB_MAX_CONNS, 8 by default), and the migration Job's connection, fit
// in PostgreSQL's max_connections (the image's 100, unless its command
// line says otherwise) less the 3 reserved for superusers.
func checkConnections(m *manifests) []error {
	maxConns := 100
	if pg, ok := m.statefulSets["postgres"]; ok {
		args := pg.Spec.Template.Spec.Containers[0].Args
		for i, a := range args {
			if v, ok := strings.CutPrefix(a, "max_connections="); ok && i > 0 && args[i-1] == "-c" {
				maxConns, _ = strconv.Atoi(v)
			}
		}
	}
	used := 1 // the migration Job
	var sum []string
	for _, name := range []string{"books-subgraph", "orders-subgraph"} {
		d, ok := m.deployments[name]
		if !ok || d.Spec.Replicas == nil {
			return []error{fmt.Errorf("no Deployment %s with replicas", name)}
		}
		replicas := int(*d.Spec.Replicas)
		for _, h := range m.hpas {
			if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == name {
				replicas = int(h.Spec.MaxReplicas)
			}
		}
		if ru := d.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxSurge != nil {
			replicas += ru.MaxSurge.IntValue()
		}
		pool := 8
		if v, ok := m.envValue(d.Spec.Template.Spec.Containers[0], "DB_MAX_CONNS"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return []error{fmt.Errorf("Deployment %s: DB_MAX_CONNS %q", name, v)}
			}
			pool = n
		}
		used += replicas * pool
		sum = append(sum, fmt.Sprintf("%s %d x %d", name, replicas, pool))
	}
	if used > maxConns-3 {
		return []error{fmt.Errorf("up to %d connections to PostgreSQL (%s, + 1 for the migration Job); max_connections %d leaves %d",
			used, strings.Join(sum, " + "), maxConns, maxConns-3)}
	}
	return nil
}

// TestOverlays builds every overlay and holds it to every invariant.
func TestOverlays(t *testing.T) {
	for _, overlay := range overlays {
		m := mustBuild(t, overlay)
		for _, name := range slices.Sorted(maps.Keys(checks)) {
			t.Run(filepath.Base(overlay)+"/"+name, func(t *testing.T) {
				for _, err := range checks[name](m) {
					t.Error(err)
				}
			})
		}
	}
}

func checkNamespace(m *manifests) []error {
	var errs []error
	if len(m.namespaces) != 1 || m.namespaces[0].Name != namespace {
		return []error{fmt.Errorf("want exactly the Namespace %s, got %d namespaces", namespace, len(m.namespaces))}
	}
	if got := m.namespaces[0].Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		errs = append(errs, fmt.Errorf("namespace enforces Pod Security %q, want restricted", got))
	}
	for _, o := range m.objects {
		acc, err := metaOf(o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, isNS := o.(*corev1.Namespace); !isNS && acc.GetNamespace() != namespace {
			errs = append(errs, fmt.Errorf("%T %s is in namespace %q, want %s", o, acc.GetName(), acc.GetNamespace(), namespace))
		}
	}
	return errs
}

func metaOf(o runtime.Object) (metav1.Object, error) {
	acc, ok := o.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", o)
	}
	return acc, nil
}

func checkReplicas(m *manifests) []error {
	var errs []error
	for name := range services {
		d, ok := m.deployments[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("no Deployment %s", name))
		case d.Spec.Replicas == nil || *d.Spec.Replicas != 2:
			errs = append(errs, fmt.Errorf("Deployment %s: replicas %s, want 2", name, count(d.Spec.Replicas)))
		case d.Spec.Strategy.RollingUpdate == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable == nil ||
			d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0:
			errs = append(errs, fmt.Errorf("Deployment %s: a rollout may take a replica away first; want maxUnavailable 0", name))
		}
	}
	pg, ok := m.statefulSets["postgres"]
	switch {
	case !ok:
		errs = append(errs, fmt.Errorf("no StatefulSet postgres"))
	case pg.Spec.Replicas == nil || *pg.Spec.Replicas != 1:
		errs = append(errs, fmt.Errorf("StatefulSet postgres: replicas %s, want 1", count(pg.Spec.Replicas)))
	case len(pg.Spec.VolumeClaimTemplates) != 1 || !mountsVolume(pg.Spec.Template.Spec, pg.Spec.VolumeClaimTemplates[0].Name, "/var/lib/postgresql/data"):
		errs = append(errs, fmt.Errorf("StatefulSet postgres: its data directory is not on a volumeClaimTemplate"))
	case m.services[pg.Spec.ServiceName] == nil || m.services[pg.Spec.ServiceName].Spec.ClusterIP != corev1.ClusterIPNone:
		errs = append(errs, fmt.Errorf("StatefulSet postgres: serviceName %q is not a headless Service", pg.Spec.ServiceName))
	}
	if _, ok := m.jobs["migrate"]; !ok {
		errs = append(errs, fmt.Errorf("no Job migrate"))
	}
	if len(m.deployments)+len(m.statefulSets)+len(m.jobs) != len(services)+2 {
		errs = append(errs, fmt.Errorf("unexpected workloads: %d deployments, %d statefulsets, %d jobs",
			len(m.deployments), len(m.statefulSets), len(m.jobs)))
	}
	return errs
}

// count prints an optional replica count.
func count(n *int32) string {
	if n == nil {
		return "unset"
	}
	return strconv.Itoa(int(*n))
}

func mountsVolume(spec corev1.PodSpec, volume, path string) bool {
	for _, c := range spec.Containers {
		for _, vm := range c.VolumeMounts {
			if vm.Name == volume && vm.MountPath == path {
				return true
			}
		}
	}
	return false
}

func allContainers(spec corev1.PodSpec) []corev1.Container {
	return append(slices.Clone(spec.InitContainers), spec.Containers...)
}

func checkSecurity(m *manifests) []error {
	var errs []error
	for _, w := range m.workloads() {
		fail := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("%s %s: %s", w.kind, w.name, fmt.Sprintf(format, a...)))
		}
		s := w.spec
		if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
			fail("automountServiceAccountToken is not false")
		}
		if s.HostNetwork || s.HostPID || s.HostIPC {
			fail("shares a host namespace")
		}
		psc := s.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			fail("pod securityContext does not run as a non-root user")
		}
		if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			fail("pod seccomp profile is not RuntimeDefault")
		}
		for _, c := range allContainers(s) {
			sc := c.SecurityContext
			switch {
			case sc == nil:
				fail("container %s has no securityContext", c.Name)
				continue
			case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
				fail("container %s: runAsNonRoot is not true", c.Name)
			case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
				fail("container %s: root filesystem is writable", c.Name)
			case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
				fail("container %s: allowPrivilegeEscalation is not false", c.Name)
			case sc.Privileged != nil && *sc.Privileged:
				fail("container %s is privileged", c.Name)
			case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
				fail("container %s: capabilities are not exactly drop [ALL]", c.Name)
			case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
				fail("container %s: seccomp profile is not RuntimeDefault", c.Name)
			}
			for _, p := range c.Ports {
				if p.HostPort != 0 {
					fail("container %s binds host port %d", c.Name, p.HostPort)
				}
			}
		}
	}
	return errs
}

func checkResources(m *manifests) []error {
	var errs []error
	for _, w := range m.workloads() {
		for _, c := range allContainers(w.spec) {
			if _, isService := services[w.name]; isService && !memLimitFromLimits(c) {
				errs = append(errs, fmt.Errorf("%s %s/%s: GOMEMLIMIT does not follow the memory limit", w.kind, w.name, c.Name))
			}
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, hasReq := c.Resources.Requests[res]
				lim, hasLim := c.Resources.Limits[res]
				switch {
				case !hasReq || !hasLim:
					errs = append(errs, fmt.Errorf("%s %s/%s: %s needs both a request and a limit", w.kind, w.name, c.Name, res))
				case req.Cmp(lim) > 0:
					errs = append(errs, fmt.Errorf("%s %s/%s: %s request %s above its limit %s", w.kind, w.name, c.Name, res, req.String(), lim.String()))
				case req.IsZero():
					errs = append(errs, fmt.Errorf("%s %s/%s: %s request is zero", w.kind, w.name, c.Name, res))
				}
			}
		}
	}
	return errs
}

// memLimitFromLimits reports whether the Go runtime's soft memory limit
// comes from the container's own memory limit (downward API, in bytes).
func memLimitFromLimits(c corev1.Container) bool {
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" && e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil {
			r := e.ValueFrom.ResourceFieldRef
			return r.Resource == "limits.memory" && (r.ContainerName == "" || r.ContainerName == c.Name) &&
				(r.Divisor.IsZero() || r.Divisor.Cmp(resource.MustParse("1")) == 0)
		}
	}
	return false
}

// namedPort resolves a probe's or Service's port against a container.
func namedPort(c corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

func checkProbes(m *manifests) []error {
	var errs []error
	for _, w := range m.workloads() {
		if w.kind == "Job" {
			continue // runs to completion: no traffic to gate, nothing to restart
		}
		for _, c := range w.spec.Containers {
			fail := func(format string, a ...any) {
				errs = append(errs, fmt.Errorf("%s %s/%s: %s", w.kind, w.name, c.Name, fmt.Sprintf(format, a...)))
			}
			probes := map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe}
			for _, kind := range slices.Sorted(maps.Keys(probes)) {
				if probes[kind] == nil {
					fail("no %s probe", kind)
				}
			}
			if c.ReadinessProbe == nil || c.LivenessProbe == nil || c.StartupProbe == nil {
				continue
			}
			if _, isService := services[w.name]; !isService {
				continue // PostgreSQL speaks no HTTP: pg_isready (checked by the API server test)
			}
			want := map[string]string{"readiness": "/readyz", "liveness": "/healthz", "startup": "/healthz"}
			for kind, path := range want {
				g := probes[kind].HTTPGet
				if g == nil || g.Path != path {
					fail("%s probe is not GET %s", kind, path)
					continue
				}
				if port, ok := namedPort(c, g.Port); !ok || port != services[w.name] {
					fail("%s probe port %s is not the container's port %d", kind, g.Port.String(), services[w.name])
				}
			}
			if c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path == "/readyz" {
				fail("liveness on /readyz would restart pods while the database is down")
			}
		}
	}
	return errs
}

// checkGracefulStop: a preStop pause lets endpoints drain, and the grace
// period covers it plus the service's own drain (DRAIN_PERIOD, serving on
// while unready) and its wait for requests in flight (SHUTDOWN_TIMEOUT).
// The router closes idle subgraph connections (SUBGRAPH_IDLE_TIMEOUT,
// default 2 s) before a draining subgraph would close one under a request:
// sooner than every subgraph's DRAIN_PERIOD.
func checkGracefulStop(m *manifests) []error {
	var errs []error
	drainOf := map[string]time.Duration{}
	for _, w := range m.workloads() {
		if w.kind == "Job" {
			continue
		}
		grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
		if w.spec.TerminationGracePeriodSeconds != nil {
			grace = *w.spec.TerminationGracePeriodSeconds
		}
		for _, c := range w.spec.Containers {
			if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds < 3 {
				errs = append(errs, fmt.Errorf("%s %s/%s: no preStop pause of at least 3 s", w.kind, w.name, c.Name))
				continue
			}
			need := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
			_, isService := services[w.name]
			for _, name := range []string{"DRAIN_PERIOD", "SHUTDOWN_TIMEOUT"} {
				v, ok := m.envValue(c, name)
				if !ok {
					if isService {
						errs = append(errs, fmt.Errorf("%s %s: %s is not set", w.kind, w.name, name))
					}
					continue
				}
				d, err := time.ParseDuration(v)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s %s: %s=%q: %w", w.kind, w.name, name, v, err))
				}
				if name == "DRAIN_PERIOD" {
					drainOf[w.name] = d
				}
				need += d
			}
			if time.Duration(grace)*time.Second <= need {
				errs = append(errs, fmt.Errorf("%s %s: grace period %ds does not cover preStop + drain + shutdown (%s)", w.kind, w.name, grace, need))
			}
		}
	}
	if r, ok := m.deployments["router"]; ok {
		idle := 2 * time.Second
		if v, ok := m.envValue(r.Spec.Template.Spec.Containers[0], "SUBGRAPH_IDLE_TIMEOUT"); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("router: SUBGRAPH_IDLE_TIMEOUT=%q: %w", v, err))
			}
			idle = d
		}
		for _, sub := range []string{"books-subgraph", "orders-subgraph"} {
			if d, ok := drainOf[sub]; ok && idle >= d {
				errs = append(errs, fmt.Errorf("router: SUBGRAPH_IDLE_TIMEOUT %s is not below %s's DRAIN_PERIOD %s", idle, sub, d))
			}
		}
	}
	return errs
}

func checkDisruption(m *manifests) []error {
	var errs []error
	for _, w := range m.workloads() {
		if w.kind == "Job" {
			continue
		}
		var matching []string
		for _, p := range m.pdbs {
			sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
			if err != nil {
				errs = append(errs, fmt.Errorf("PodDisruptionBudget %s: %w", p.Name, err))
				continue
			}
			if sel.Matches(labels.Set(w.meta.Labels)) {
				matching = append(matching, p.Name)
				if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.String() != "1" {
					errs = append(errs, fmt.Errorf("PodDisruptionBudget %s: minAvailable %v, want 1", p.Name, p.Spec.MinAvailable))
				}
			}
		}
		if len(matching) != 1 {
			errs = append(errs, fmt.Errorf("%s %s: covered by %d PodDisruptionBudgets %v, want 1", w.kind, w.name, len(matching), matching))
		}
		spread := false
		for _, tsc := range w.spec.TopologySpreadConstraints {
			sel, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
			if err == nil && tsc.TopologyKey == "kubernetes.io/hostname" && tsc.MaxSkew == 1 && !sel.Empty() && sel.Matches(labels.Set(w.meta.Labels)) {
				spread = true
			}
		}
		if !spread {
			errs = append(errs, fmt.Errorf("%s %s: no topology spread across nodes that selects its own pods", w.kind, w.name))
		}
	}
	return errs
}

// checkExposure: the router's LoadBalancer on 8080 is the only way in.
func checkExposure(m *manifests) []error {
	var errs []error
	for name, s := range m.services {
		outside := s.Spec.Type == corev1.ServiceTypeLoadBalancer || s.Spec.Type == corev1.ServiceTypeNodePort ||
			len(s.Spec.ExternalIPs) > 0 || s.Spec.Type == corev1.ServiceTypeExternalName
		if name == "router" {
			if s.Spec.Type != corev1.ServiceTypeLoadBalancer || len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != 8080 {
				errs = append(errs, fmt.Errorf("Service router: want a LoadBalancer on port 8080 only, got %s %v", s.Spec.Type, s.Spec.Ports))
			}
			continue
		}
		if outside {
			errs = append(errs, fmt.Errorf("Service %s is reachable from outside the cluster (%s)", name, s.Spec.Type))
		}
		if s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP {
			errs = append(errs, fmt.Errorf("Service %s: type %s, want ClusterIP", name, s.Spec.Type))
		}
	}
	for _, want := range []string{"postgres", "postgres-headless", "books-subgraph", "orders-subgraph", "router"} {
		if m.services[want] == nil {
			errs = append(errs, fmt.Errorf("no Service %s", want))
		}
	}
	return errs
}

// checkServiceSelectors: every Service selects the pods of exactly one
// workload, and its target port is one that workload's container declares.
func checkServiceSelectors(m *manifests) []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(m.services)) {
		s := m.services[name]
		if len(s.Spec.Selector) == 0 {
			errs = append(errs, fmt.Errorf("Service %s selects nothing", name))
			continue
		}
		sel := labels.SelectorFromSet(s.Spec.Selector)
		var hits []workload
		for _, w := range m.workloads() {
			if w.kind != "Job" && sel.Matches(labels.Set(w.meta.Labels)) {
				hits = append(hits, w)
			}
		}
		if len(hits) != 1 {
			errs = append(errs, fmt.Errorf("Service %s selector %v matches %d workloads, want 1", name, s.Spec.Selector, len(hits)))
			continue
		}
		for _, p := range s.Spec.Ports {
		containers:
			for _, c := range hits[0].spec.Containers {
				if _, ok := namedPort(c, p.TargetPort); ok {
					break containers
				}
				errs = append(errs, fmt.Errorf("Service %s port %d: target %s is no port of %s %s", name, p.Port, p.TargetPort.String(), hits[0].kind, hits[0].name))
			}
		}
	}
	return errs
}

// allowed is what one NetworkPolicy ingress rule lets in: from any pod
// (anyone), or from the named workloads, on ports.
type allowed struct {
	anyone bool
	from   []string
	ports  []int32
}

// ingressTo works out who may reach workload w, from every policy that
// selects it. isolated is false when no policy selects it (all traffic in).
func (m *manifests) ingressTo(w workload) (rules []allowed, isolated bool, errs []error) {
	for _, p := range m.policies {
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if err != nil {
			errs = append(errs, fmt.Errorf("NetworkPolicy %s: %w", p.Name, err))
			continue
		}
		if !sel.Matches(labels.Set(w.meta.Labels)) || !slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			continue
		}
		isolated = true
		for _, r := range p.Spec.Ingress {
			var a allowed
			for _, port := range r.Ports {
				a.ports = append(a.ports, port.Port.IntVal)
			}
			if len(r.From) == 0 {
				a.anyone = true
			}
			for _, peer := range r.From {
				if peer.IPBlock != nil || peer.NamespaceSelector != nil || peer.PodSelector == nil {
					a.anyone = true // wider than this namespace's pods
					continue
				}
				psel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
				if err != nil {
					errs = append(errs, fmt.Errorf("NetworkPolicy %s: %w", p.Name, err))
					continue
				}
				for _, src := range m.workloads() {
					if psel.Matches(labels.Set(src.meta.Labels)) {
						a.from = append(a.from, src.name)
					}
				}
			}
			rules = append(rules, a)
		}
	}
	return rules, isolated, errs
}

func checkNetworkPolicies(m *manifests) []error {
	var errs []error
	denyAll := false
	for _, p := range m.policies {
		if len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 &&
			slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && len(p.Spec.Ingress) == 0 {
			denyAll = true
		}
		sel, _ := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if !sel.Empty() && !slices.ContainsFunc(m.workloads(), func(w workload) bool { return sel.Matches(labels.Set(w.meta.Labels)) }) {
			errs = append(errs, fmt.Errorf("NetworkPolicy %s selects no workload's pods: its labels are stale", p.Name))
		}
	}
	if !denyAll {
		errs = append(errs, fmt.Errorf("no default-deny ingress policy"))
	}
	// want: for each workload, who may reach it and on which port; nil from
	// means anyone.
	want := map[string]allowed{
		"postgres":        {from: []string{"books-subgraph", "migrate", "orders-subgraph"}, ports: []int32{5432}},
		"books-subgraph":  {from: []string{"router"}, ports: []int32{4001}},
		"orders-subgraph": {from: []string{"router"}, ports: []int32{4003}},
		"router":          {anyone: true, ports: []int32{8080}},
		"migrate":         {}, // nothing
	}
	for _, w := range m.workloads() {
		rules, isolated, e := m.ingressTo(w)
		errs = append(errs, e...)
		if !isolated {
			errs = append(errs, fmt.Errorf("%s %s: no policy isolates it", w.kind, w.name))
			continue
		}
		var got allowed
		for _, r := range rules {
			if len(r.ports) == 0 {
				errs = append(errs, fmt.Errorf("%s %s: a rule opens every port", w.kind, w.name))
			}
			got.anyone = got.anyone || r.anyone
			got.from = append(got.from, r.from...)
			got.ports = append(got.ports, r.ports...)
		}
		slices.Sort(got.from)
		got.from = slices.Compact(got.from)
		slices.Sort(got.ports)
		got.ports = slices.Compact(got.ports)
		exp := want[w.name]
		if got.anyone != exp.anyone || !slices.Equal(got.from, exp.from) || !slices.Equal(got.ports, exp.ports) {
			errs = append(errs, fmt.Errorf("%s %s: reachable by anyone=%v from %v on %v, want anyone=%v from %v on %v",
				w.kind, w.name, got.anyone, got.from, got.ports, exp.anyone, exp.from, exp.ports))
		}
	}
	return errs
}

// secretish names a variable or key that holds a credential.
var secretish = regexp.MustCompile(`(?i)pass|token|secret|credential|key`)

// checkSecrets: credentials come only from Secrets, by reference; every
// reference resolves; every Secret is used.
func checkSecrets(m *manifests) []error {
	var errs []error
	used := map[string]bool{}
	for _, w := range m.workloads() {
		for _, c := range allContainers(w.spec) {
			for _, e := range c.Env {
				if e.Value != "" && secretish.MatchString(e.Name) {
					errs = append(errs, fmt.Errorf("%s %s/%s: %s is inlined, not read from a Secret", w.kind, w.name, c.Name, e.Name))
				}
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					continue
				}
				ref := e.ValueFrom.SecretKeyRef
				used[ref.Name] = true
				s, ok := m.secrets[ref.Name]
				if !ok {
					errs = append(errs, fmt.Errorf("%s %s/%s: %s refers to a missing Secret %s", w.kind, w.name, c.Name, e.Name, ref.Name))
				} else if _, ok := s.Data[ref.Key]; !ok {
					errs = append(errs, fmt.Errorf("%s %s/%s: Secret %s has no key %s", w.kind, w.name, c.Name, ref.Name, ref.Key))
				}
			}
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					errs = append(errs, fmt.Errorf("%s %s/%s: envFrom a whole Secret; name the keys it needs", w.kind, w.name, c.Name))
				}
			}
		}
	}
	for name := range m.secrets {
		if !used[name] {
			errs = append(errs, fmt.Errorf("Secret %s is never read", name))
		}
	}
	for name, cm := range m.configMaps {
		for k, v := range cm.Data {
			if secretish.MatchString(k) {
				errs = append(errs, fmt.Errorf("ConfigMap %s holds %s: a credential belongs in a Secret", name, k))
			}
			if u, err := url.Parse(v); err == nil && u.User != nil {
				if _, has := u.User.Password(); has {
					errs = append(errs, fmt.Errorf("ConfigMap %s: %s carries a password", name, k))
				}
			}
		}
	}
	return errs
}

// envValue resolves a container's variable from its own env or its
// ConfigMaps (as the kubelet would; env wins).
func (m *manifests) envValue(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom == nil {
			return e.Value, true
		}
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		if cm, ok := m.configMaps[ef.ConfigMapRef.Name]; ok {
			if v, ok := cm.Data[name]; ok {
				return v, true
			}
		}
	}
	return "", false
}

// configMapOf returns the ConfigMap a Deployment's container takes its
// environment from, whatever suffix the generator gave its name.
func (m *manifests) configMapOf(deployment string) *corev1.ConfigMap {
	for _, ef := range m.deployments[deployment].Spec.Template.Spec.Containers[0].EnvFrom {
		if ef.ConfigMapRef != nil {
			return m.configMaps[ef.ConfigMapRef.Name]
		}
	}
	return nil
}

// serviceAddr reports whether host:port names a Service of the overlay.
func (m *manifests) serviceAddr(hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	host = strings.TrimSuffix(strings.TrimSuffix(host, "."+namespace+".svc.cluster.local"), "."+namespace)
	s, ok := m.services[host]
	if !ok {
		return fmt.Errorf("no Service %s", host)
	}
	for _, p := range s.Spec.Ports {
		if strconv.Itoa(int(p.Port)) == port {
			return nil
		}
	}
	return fmt.Errorf("Service %s has no port %s", host, port)
}

// checkConfigWiring: the addresses in the configuration name real Services
// and ports, and each service logs in as the role the migration Job makes.
func checkConfigWiring(m *manifests) []error {
	var errs []error
	container := func(w string) (corev1.Container, bool) {
		if d, ok := m.deployments[w]; ok && len(d.Spec.Template.Spec.Containers) > 0 {
			return d.Spec.Template.Spec.Containers[0], true
		}
		if j, ok := m.jobs[w]; ok && len(j.Spec.Template.Spec.Containers) > 0 {
			return j.Spec.Template.Spec.Containers[0], true
		}
		return corev1.Container{}, false
	}
	router, _ := container("router")
	subgraphs, _ := m.envValue(router, "SUBGRAPHS")
	seen := map[string]bool{}
	for _, sg := range strings.Split(subgraphs, ";") {
		name, urls, _ := strings.Cut(sg, "=")
		for _, raw := range strings.Split(urls, ",") {
			u, err := url.Parse(raw)
			if err != nil || u.Host == "" {
				errs = append(errs, fmt.Errorf("router SUBGRAPHS: %q is not a URL", raw))
				continue
			}
			if err := m.serviceAddr(u.Host); err != nil {
				errs = append(errs, fmt.Errorf("router SUBGRAPHS %s: %w", name, err))
			}
			seen[name] = true
		}
	}
	if !seen["books"] || !seen["orders"] || len(seen) != 2 {
		errs = append(errs, fmt.Errorf("router SUBGRAPHS=%q: want books and orders", subgraphs))
	}

	job, _ := container("migrate")
	logins := map[string]string{}
	for _, a := range job.Args {
		if k, v, ok := strings.Cut(strings.TrimLeft(a, "-"), "="); ok && strings.HasSuffix(k, "-login") {
			logins[strings.TrimSuffix(k, "-login")] = v
		}
	}
	for w, role := range map[string]string{"books-subgraph": "books", "orders-subgraph": "orders", "migrate": ""} {
		c, ok := container(w)
		if !ok {
			continue // checkReplicas reports it
		}
		raw, _ := m.envValue(c, "DATABASE_URL")
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "postgres" {
			errs = append(errs, fmt.Errorf("%s DATABASE_URL %q is not a postgres:// URL", w, raw))
			continue
		}
		if err := m.serviceAddr(u.Host); err != nil {
			errs = append(errs, fmt.Errorf("%s DATABASE_URL: %w", w, err))
		}
		if role != "" && (logins[role] == "" || u.User.Username() != logins[role]) {
			errs = append(errs, fmt.Errorf("%s logs in as %q, but the migration Job makes the login role %q", w, u.User.Username(), logins[role]))
		}
	}
	return errs
}

// checkImages: every image is pinned to a tag; the bookstore's own images
// are the ones `make images` builds.
func checkImages(m *manifests) []error {
	var errs []error
	for _, w := range m.workloads() {
		for _, c := range allContainers(w.spec) {
			name, tag, ok := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":")
			if !ok || tag == "" || tag == "latest" {
				errs = append(errs, fmt.Errorf("%s %s/%s: image %q is not pinned to a tag", w.kind, w.name, c.Name, c.Image))
			}
			if w.name == "postgres" {
				if !regexp.MustCompile(`^15\.\d+`).MatchString(tag) {
					errs = append(errs, fmt.Errorf("postgres image %q: want a pinned 15.x release", c.Image))
				}
				continue
			}
			if name != w.name {
				errs = append(errs, fmt.Errorf("%s %s runs image %q, not its own", w.kind, w.name, c.Image))
			}
		}
	}
	return errs
}

// TestLocalOverlay checks what only Docker Desktop needs.
func TestLocalOverlay(t *testing.T) {
	m := mustBuild(t, "overlays/local")
	for _, w := range m.workloads() {
		for _, c := range allContainers(w.spec) {
			if c.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("%s %s/%s: imagePullPolicy %q, want IfNotPresent (images are built locally)", w.kind, w.name, c.Name, c.ImagePullPolicy)
			}
			if w.name != "postgres" && !strings.HasPrefix(c.Image, "bookstore/") {
				t.Errorf("%s %s: image %q is not a local build", w.kind, w.name, c.Image)
			}
		}
	}
	if !slices.Contains(m.jobs["migrate"].Spec.Template.Spec.Containers[0].Args, "-seed") {
		t.Error("the local migration Job does not load the demo catalogue")
	}
	// The contract: make run and the local overlay list orders publicly.
	for _, c := range []struct{ deployment, name, want string }{
		{"orders-subgraph", "ORDERS_LIST_PUBLIC", "true"},
		{"router", "EXPOSE_QUERY_PLANS", "true"},
	} {
		if v, _ := m.envValue(m.deployments[c.deployment].Spec.Template.Spec.Containers[0], c.name); v != c.want {
			t.Errorf("local %s: %s=%q, want %q", c.deployment, c.name, v, c.want)
		}
	}
	for name, s := range m.secrets {
		for k, v := range s.Data {
			if len(v) == 0 {
				t.Errorf("local Secret %s/%s is empty", name, k)
			}
		}
	}
}

// TestProductionOverlay checks what only a real cluster needs: autoscaling,
// larger resources, a storage class, no demo data and no committed secrets.
func TestProductionOverlay(t *testing.T) {
	prod, local := mustBuild(t, "overlays/production"), mustBuild(t, "overlays/local")
	// Customers' e-mails and the subgraphs' operations stay private.
	for _, c := range []struct{ deployment, name string }{
		{"orders-subgraph", "ORDERS_LIST_PUBLIC"},
		{"router", "EXPOSE_QUERY_PLANS"},
	} {
		if v, _ := prod.envValue(prod.deployments[c.deployment].Spec.Template.Spec.Containers[0], c.name); v == "true" {
			t.Errorf("production %s: %s=true", c.deployment, c.name)
		}
	}
	scaled := map[string]bool{}
	for _, h := range prod.hpas {
		target := h.Spec.ScaleTargetRef
		if target.Kind != "Deployment" || prod.deployments[target.Name] == nil {
			t.Errorf("HPA %s targets %s %s, which is not a Deployment here", h.Name, target.Kind, target.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("HPA %s: min %v max %d, want min >= 2 <= max", h.Name, h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
		cpu := slices.ContainsFunc(h.Spec.Metrics, func(ms autoscalingv2.MetricSpec) bool {
			return ms.Resource != nil && ms.Resource.Name == corev1.ResourceCPU && ms.Resource.Target.AverageUtilization != nil
		})
		if !cpu {
			t.Errorf("HPA %s does not scale on CPU utilisation", h.Name)
		}
		scaled[target.Name] = true
	}
	for name := range services {
		if !scaled[name] {
			t.Errorf("Deployment %s has no HPA", name)
		}
		req := func(m *manifests) resource.Quantity {
			return m.deployments[name].Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]
		}
		if p, l := req(prod), req(local); p.Cmp(l) <= 0 {
			t.Errorf("Deployment %s: production CPU request %s is not above local %s", name, p.String(), l.String())
		}
	}
	for _, pvc := range prod.pvcTemplates {
		if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName == "" {
			t.Errorf("volumeClaimTemplate %s names no storageClassName", pvc.Name)
		}
	}
	if slices.Contains(prod.jobs["migrate"].Spec.Template.Spec.Containers[0].Args, "-seed") {
		t.Error("the production migration Job loads demo data")
	}
	for name, s := range prod.secrets {
		for k, v := range s.Data {
			if len(v) != 0 {
				t.Errorf("production Secret %s/%s has a value in the repository", name, k)
			}
		}
	}
}

// TestChecksCatchBreakage makes sure the checks are not vacuous: each
// mutation of a good overlay must be reported by the named check.
func TestChecksCatchBreakage(t *testing.T) {
	cases := []struct {
		name, check string
		mutate      func(m *manifests)
	}{
		{"three replicas", "replicas", func(m *manifests) { *m.deployments["router"].Spec.Replicas = 3 }},
		{"root user", "security context", func(m *manifests) {
			*m.deployments["books-subgraph"].Spec.Template.Spec.SecurityContext.RunAsUser = 0
		}},
		{"writable root", "security context", func(m *manifests) {
			*m.jobs["migrate"].Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = false
		}},
		{"token mounted", "security context", func(m *manifests) {
			m.statefulSets["postgres"].Spec.Template.Spec.AutomountServiceAccountToken = nil
		}},
		{"GOMEMLIMIT in MiB", "resources", func(m *manifests) {
			for _, e := range m.deployments["books-subgraph"].Spec.Template.Spec.Containers[0].Env {
				if e.Name == "GOMEMLIMIT" {
					e.ValueFrom.ResourceFieldRef.Divisor = resource.MustParse("1Mi")
				}
			}
		}},
		{"no memory limit", "resources", func(m *manifests) {
			delete(m.deployments["router"].Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
		}},
		{"liveness on readyz", "probes", func(m *manifests) {
			m.deployments["orders-subgraph"].Spec.Template.Spec.Containers[0].LivenessProbe.HTTPGet.Path = "/readyz"
		}},
		{"no startup probe", "probes", func(m *manifests) {
			m.statefulSets["postgres"].Spec.Template.Spec.Containers[0].StartupProbe = nil
		}},
		{"short grace", "graceful stop", func(m *manifests) {
			*m.deployments["router"].Spec.Template.Spec.TerminationGracePeriodSeconds = 10
		}},
		{"grace without the drain", "graceful stop", func(m *manifests) {
			*m.deployments["books-subgraph"].Spec.Template.Spec.TerminationGracePeriodSeconds = 22
		}},
		{"no drain period", "graceful stop", func(m *manifests) {
			delete(m.configMapOf("orders-subgraph").Data, "DRAIN_PERIOD")
		}},
		{"idle connections outlive the drain", "graceful stop", func(m *manifests) {
			m.configMapOf("router").Data["SUBGRAPH_IDLE_TIMEOUT"] = "5s"
		}},
		{"postgres exposed", "exposure", func(m *manifests) { m.services["postgres"].Spec.Type = corev1.ServiceTypeNodePort }},
		{"stale selector", "service selector", func(m *manifests) {
			m.services["books-subgraph"].Spec.Selector["app.kubernetes.io/name"] = "books"
		}},
		{"wrong target port", "service selector", func(m *manifests) {
			m.services["router"].Spec.Ports[0].TargetPort = intstr.FromString("web")
		}},
		{"policy label typo", "network policies", func(m *manifests) {
			for _, p := range m.policies {
				if p.Name == "postgres-from-services" {
					p.Spec.Ingress[0].From[0].PodSelector.MatchExpressions[0].Values[0] = "book-subgraph"
				}
			}
		}},
		{"router reaches postgres", "network policies", func(m *manifests) {
			for _, p := range m.policies {
				if p.Name == "postgres-from-services" {
					e := &p.Spec.Ingress[0].From[0].PodSelector.MatchExpressions[0]
					e.Values = append(e.Values, "router")
				}
			}
		}},
		{"inlined password", "secrets", func(m *manifests) {
			c := &m.deployments["books-subgraph"].Spec.Template.Spec.Containers[0]
			c.Env = append(c.Env, corev1.EnvVar{Name: "PGPASSWORD", Value: "hunter2"})
		}},
		{"missing secret key", "secrets", func(m *manifests) {
			c := &m.deployments["orders-subgraph"].Spec.Template.Spec.Containers[0]
			for i := range c.Env {
				if c.Env[i].ValueFrom != nil && c.Env[i].ValueFrom.SecretKeyRef != nil {
					c.Env[i].ValueFrom.SecretKeyRef.Key = "pasword"
				}
			}
		}},
		{"subgraph port drift", "config wiring", func(m *manifests) {
			m.services["orders-subgraph"].Spec.Ports[0].Port = 4002
		}},
		{"pools too big", "connections", func(m *manifests) {
			for _, cm := range m.configMaps {
				if _, ok := cm.Data["DB_MAX_CONNS"]; ok {
					cm.Data["DB_MAX_CONNS"] = "30"
				}
			}
		}},
		{"latest image", "images", func(m *manifests) {
			m.deployments["router"].Spec.Template.Spec.Containers[0].Image = "bookstore/router:latest"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mustBuild(t, "overlays/local")
			if errs := checks[tc.check](m); len(errs) != 0 {
				t.Fatalf("the good overlay already fails %s: %v", tc.check, errs)
			}
			tc.mutate(m)
			if errs := checks[tc.check](m); len(errs) == 0 {
				t.Errorf("check %q missed: %s", tc.check, tc.name)
			} else {
				t.Logf("caught: %v", errs[0])
			}
		})
	}
}

// TestStrictDecoding: a misspelt field fails the build instead of being
// dropped, as the API server's strict field validation would.
func TestStrictDecoding(t *testing.T) {
	cases := map[string]string{
		"unknown field": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n",
		"misspelt nested field": "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n" +
			"    - name: c\n      image: i\n      imagePullPolcy: Always\n",
		"wrong type":      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: two\n",
		"duplicate field": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  type: ClusterIP\n  type: NodePort\n",
	}
	dec := decoder()
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := dec.Decode([]byte(doc), nil, nil); err == nil {
				t.Errorf("decoded without error:\n%s", doc)
			}
		})
	}
	good := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: 2\n"
	if _, _, err := dec.Decode([]byte(good), nil, nil); err != nil {
		t.Errorf("a good document failed: %v", err)
	}
}
