package kustomize_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment that `make k8s-verify` sets (kustomize/controlplane/install.sh
// prints it). Without it the test is skipped: `make test` stays fast.
const (
	envControlPlane = "BOOKSTORE_CONTROLPLANE" // the control-plane binary (kube-apiserver, ... kubectl)
	envKwok         = "BOOKSTORE_KWOK"         // kwok
	envKwokStages   = "BOOKSTORE_KWOK_STAGES"  // kwok's "fast" stages
	// envPauseOnFailure (a duration) keeps a failed run's cluster up that
	// long, to look around with kubectl.
	envPauseOnFailure = "BOOKSTORE_K8S_PAUSE_ON_FAILURE"
)

// TestAgainstAPIServer applies each overlay to a real Kubernetes API server
// (1.37, with its controller manager and scheduler; kwok's fake nodes stand
// in for kubelets) and waits for the bookstore to roll out: server-side dry
// run first, then for real, then `make undeploy`'s delete. What it proves:
// the API server accepts every object (schema, strict fields, defaults,
// selectors matching templates, the restricted Pod Security Standard at
// admission), the controllers turn them into 2+2+2 ready pods spread over
// nodes, a bound volume and a completed migration Job. What it cannot: kwok
// runs no container, so probes, images and NetworkPolicy enforcement are
// proved elsewhere (TestImages, TestOverlays).
func TestAgainstAPIServer(t *testing.T) {
	bin, kwok, stages := os.Getenv(envControlPlane), os.Getenv(envKwok), os.Getenv(envKwokStages)
	if bin == "" || kwok == "" || stages == "" {
		t.Skipf("set %s, %s and %s (make k8s-verify does)", envControlPlane, envKwok, envKwokStages)
	}
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatal("etcd is not installed (apt-get install etcd-server; .ci/run does)")
	}
	c := startCluster(t, clusterBinaries{controlPlane: bin, kwok: kwok, kwokStages: stages, etcd: etcd})
	if d, err := time.ParseDuration(os.Getenv(envPauseOnFailure)); err == nil {
		// Registered last, so it runs first: the cluster is still up.
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("failed: the cluster stays up for %s: %s kubectl --kubeconfig %s ...", d, bin, c.kubeconfig)
				time.Sleep(d)
			}
		})
	}
	t.Log(c.kubectl(t, "version"))

	// make deploy-manifests and make undeploy, pointed at this cluster: the
	// local overlay goes on and off exactly as on Docker Desktop.
	makeTarget := func(t *testing.T, target string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "make", "-C", "..", target,
			"KUBECTL="+bin+" kubectl --kubeconfig "+c.kubeconfig, "KUBE_CONTEXT="+clusterContext)
		// make and the kubectl calls it starts share a process group, which
		// a timeout kills whole.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
		return string(out)
	}

	for _, tc := range []struct {
		overlay      string
		storageClass string // of the PersistentVolume the test provides
		storage      string
		hpas         int
		// apply puts the overlay on the cluster and waits; remove takes it off.
		apply, remove func(t *testing.T) string
	}{
		{
			overlay: "overlays/local", storage: "1Gi",
			apply:  func(t *testing.T) string { return makeTarget(t, "deploy-manifests") },
			remove: func(t *testing.T) string { return makeTarget(t, "undeploy") },
		},
		{
			overlay: "overlays/production", storageClass: "fast-ssd", storage: "20Gi", hpas: 3,
			// verifyRollout does the waiting.
			apply: func(t *testing.T) string { return c.kubectl(t, "apply", "-k", "overlays/production") },
			remove: func(t *testing.T) string {
				return c.kubectl(t, "delete", "-k", "overlays/production", "--wait=true", "--timeout=180s")
			},
		},
	} {
		t.Run(filepath.Base(tc.overlay), func(t *testing.T) {
			// Whatever happens, the next overlay starts from an empty namespace.
			t.Cleanup(func() {
				if out, err := c.run("delete", "namespace", namespace, "--ignore-not-found", "--wait=true", "--timeout=180s"); err != nil {
					t.Errorf("deleting namespace %s: %v\n%s", namespace, err, out)
				}
			})
			// Docker Desktop provisions volumes itself; here a hostPath
			// PersistentVolume of the right class waits for the claim.
			pv := fmt.Sprintf(`{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-%s"},
"spec":{"capacity":{"storage":%q},"accessModes":["ReadWriteOnce"],"storageClassName":%q,
"persistentVolumeReclaimPolicy":"Delete","hostPath":{"path":"/tmp/bookstore-pv"}}}`,
				filepath.Base(tc.overlay), tc.storage, tc.storageClass)
			c.kubectlIn(t, pv, "apply", "-f", "-")

			// A dry run cannot create the namespace its objects go in:
			// apply the overlay's Namespace first, labels and all.
			c.kubectlIn(t, namespaceYAML(t, tc.overlay), "apply", "-f", "-")
			out := c.kubectl(t, "apply", "-k", tc.overlay, "--dry-run=server")
			t.Logf("server-side dry run:\n%s", out)
			if strings.Contains(out, "Warning:") {
				t.Errorf("the API server warned on the dry run")
			}

			start := time.Now()
			t.Logf("apply, and wait for the rollouts:\n%s", tc.apply(t))
			verifyRollout(t, c, tc.hpas)
			t.Logf("rolled out in %s", time.Since(start).Round(time.Second))
			checkPodSecurityEnforced(t, c)
			t.Logf("the bookstore on the API server:\n%s", c.kubectl(t, "-n", namespace, "get",
				"deployments,statefulsets,jobs,pods,services,pvc,pdb,networkpolicies,hpa,configmaps,secrets", "-o", "wide"))

			if tc.overlay == "overlays/local" {
				// Deploying again (a rebuilt image, say) re-runs the
				// migration Job and restarts the services.
				start := time.Now()
				t.Logf("deploy again:\n%s", tc.apply(t))
				verifyRollout(t, c, tc.hpas)
				t.Logf("rolled out again in %s", time.Since(start).Round(time.Second))
			}

			t.Logf("remove:\n%s", tc.remove(t))
			// The volume goes with its claim (reclaim policy Delete), if not already.
			c.kubectl(t, "delete", "pv", "pv-"+filepath.Base(tc.overlay), "--ignore-not-found", "--wait=false")
			if out, err := c.run("get", "namespace", namespace); err == nil {
				t.Errorf("namespace %s outlived the delete:\n%s", namespace, out)
			}
		})
	}
}

// checkPodSecurityEnforced: the namespace's restricted Pod Security
// Standard is live at admission, so a pod that would run as root is refused
// (the manifests' own pods got in, so they meet it).
func checkPodSecurityEnforced(t *testing.T, c *cluster) {
	t.Helper()
	root := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"runs-as-root"},
"spec":{"containers":[{"name":"c","image":"bookstore/router:dev","securityContext":{"runAsUser":0}}]}}`
	out, err := c.runIn(root, "-n", namespace, "apply", "--dry-run=server", "-f", "-")
	if err == nil || !strings.Contains(out, "violates PodSecurity") {
		t.Errorf("a root pod was not refused by Pod Security admission (%v):\n%s", err, out)
	} else {
		t.Logf("a root pod is refused: %s", strings.TrimSpace(out))
	}
}

// verifyRollout checks what the controllers, the scheduler and kwok made of
// the applied overlay.
func verifyRollout(t *testing.T, c *cluster, hpas int) {
	t.Helper()
	for _, d := range []string{"books-subgraph", "orders-subgraph", "router"} {
		t.Log(strings.TrimSpace(c.kubectl(t, "-n", namespace, "rollout", "status", "deployment/"+d, "--timeout=180s")))
	}
	t.Log(strings.TrimSpace(c.kubectl(t, "-n", namespace, "rollout", "status", "statefulset/postgres", "--timeout=180s")))
	t.Log(strings.TrimSpace(c.kubectl(t, "-n", namespace, "wait", "--for=condition=complete", "job/migrate", "--timeout=180s")))
	t.Log(strings.TrimSpace(c.kubectl(t, "-n", namespace, "wait", "--for=jsonpath={.status.phase}=Bound", "pvc/data-postgres-0", "--timeout=60s")))
	t.Log(strings.TrimSpace(c.kubectl(t, "-n", namespace, "wait", "--for=jsonpath={.status.phase}=Running", "pod/postgres-0", "--timeout=60s")))
	checkPods(t, c)
	if got := strings.Count(c.kubectl(t, "-n", namespace, "get", "hpa", "-o", "name"), "horizontalpodautoscaler"); got != hpas {
		t.Errorf("%d HorizontalPodAutoscalers, want %d", got, hpas)
	}
}

// namespaceYAML is the overlay's Namespace object.
func namespaceYAML(t *testing.T, overlay string) string {
	t.Helper()
	rm, err := kustomizeBuild(overlay)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rm.Resources() {
		if r.GetKind() == "Namespace" {
			y, err := r.AsYAML()
			if err != nil {
				t.Fatal(err)
			}
			return string(y)
		}
	}
	t.Fatalf("%s has no Namespace", overlay)
	return ""
}

// checkPods looks at what the scheduler and kwok made of the manifests.
func checkPods(t *testing.T, c *cluster) {
	t.Helper()
	var pods struct {
		Items []struct {
			Metadata struct {
				Name              string            `json:"name"`
				Labels            map[string]string `json:"labels"`
				DeletionTimestamp *time.Time        `json:"deletionTimestamp"`
			} `json:"metadata"`
			Spec struct {
				NodeName string `json:"nodeName"`
			} `json:"spec"`
			Status struct {
				Phase string `json:"phase"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(c.kubectl(t, "-n", namespace, "get", "pods", "-o", "json")), &pods); err != nil {
		t.Fatal(err)
	}
	running, nodes := map[string]int{}, map[string]map[string]bool{}
	for _, p := range pods.Items {
		if p.Metadata.DeletionTimestamp != nil {
			continue // an old replica on its way out
		}
		app := p.Metadata.Labels["app.kubernetes.io/name"]
		if p.Status.Phase == "Running" {
			running[app]++
		}
		if nodes[app] == nil {
			nodes[app] = map[string]bool{}
		}
		nodes[app][p.Spec.NodeName] = true
	}
	for app, want := range map[string]int{"books-subgraph": 2, "orders-subgraph": 2, "router": 2, "postgres": 1} {
		if running[app] != want {
			t.Errorf("%s: %d pods running, want %d", app, running[app], want)
		}
		if want > 1 && len(nodes[app]) != want {
			t.Errorf("%s: replicas on nodes %v, want one a node (topology spread)", app, nodes[app])
		}
	}
}

// clusterContext is the kubeconfig context of the test's cluster.
const clusterContext = "verify"

// clusterBinaries are the programs a cluster runs.
type clusterBinaries struct {
	controlPlane, kwok, kwokStages, etcd string
}

// cluster is a running control plane on 127.0.0.1.
type cluster struct {
	bin        clusterBinaries
	dir        string
	kubeconfig string
}

// kubectl runs kubectl against the cluster and fails the test on error.
func (c *cluster) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.run(args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// kubectlIn is kubectl with stdin.
func (c *cluster) kubectlIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := c.runIn(stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (c *cluster) run(args ...string) (string, error) { return c.runIn("", args...) }

func (c *cluster) runIn(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin.controlPlane, append([]string{"kubectl", "--kubeconfig", c.kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// startCluster starts etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok with two fake nodes, each a child process that
// t.Cleanup stops by its PID (and that dies with the test binary).
func startCluster(t *testing.T, bin clusterBinaries) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{bin: bin, dir: dir, kubeconfig: filepath.Join(dir, "kubeconfig")}
	const token = "bookstore-k8s-verify" // only on 127.0.0.1, for the life of the test

	addr := func() string { return "127.0.0.1:" + strconv.Itoa(freePort(t)) }
	etcdClient, etcdPeer, apiPort := addr(), addr(), addr()
	start(t, dir, "etcd", bin.etcd,
		"--name=verify", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls=http://"+etcdClient, "--advertise-client-urls=http://"+etcdClient,
		"--listen-peer-urls=http://"+etcdPeer, "--initial-advertise-peer-urls=http://"+etcdPeer,
		"--initial-cluster=verify=http://"+etcdPeer)
	waitHTTP(t, "etcd", "http://"+etcdClient+"/health", "", 30*time.Second)

	saKey := filepath.Join(dir, "sa.key")
	saPub := filepath.Join(dir, "sa.pub")
	writeServiceAccountKeys(t, saKey, saPub)
	tokens := filepath.Join(dir, "tokens.csv")
	writeFile(t, tokens, token+",admin,admin,system:masters\n")
	start(t, dir, "kube-apiserver", bin.controlPlane, "kube-apiserver",
		"--etcd-servers=http://"+etcdClient,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strings.TrimPrefix(apiPort, "127.0.0.1:"),
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--token-auth-file="+tokens, "--authorization-mode=AlwaysAllow",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+saPub, "--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		// No kubelet registers this host, so the kubernetes Service's
		// endpoints are not reconciled.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=false")
	waitHTTP(t, "kube-apiserver", "https://"+apiPort+"/readyz", token, 120*time.Second)

	writeFile(t, c.kubeconfig, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: verify, cluster: {server: "https://%s", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: %[3]s, context: {cluster: verify, user: admin}}]
current-context: %[3]s
`, apiPort, token, clusterContext))

	start(t, dir, "kube-controller-manager", bin.controlPlane, "kube-controller-manager",
		"--kubeconfig="+c.kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--service-account-private-key-file="+saKey, "--use-service-account-credentials=false",
		"--controllers=*", "--cluster-name=verify")
	start(t, dir, "kube-scheduler", bin.controlPlane, "kube-scheduler",
		"--kubeconfig="+c.kubeconfig, "--leader-elect=false", "--secure-port=0")
	start(t, dir, "kwok", bin.kwok,
		"--kubeconfig="+c.kubeconfig, "--config="+bin.kwokStages,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--cidr=10.244.0.0/16", "--node-ip=10.0.0.1", "--node-port=0",
		// Renew each node's Lease, or the node lifecycle controller marks
		// the nodes NotReady after 40 s and their pods with them.
		"--node-lease-duration-seconds=40")

	for i := range 2 {
		c.kubectlIn(t, fakeNode(fmt.Sprintf("kwok-node-%d", i)), "apply", "-f", "-")
	}
	c.kubectl(t, "wait", "--for=condition=Ready", "node", "--all", "--timeout=60s")
	return c
}

// fakeNode is a Node that kwok manages (by its annotation).
func fakeNode(name string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Node","metadata":{"name":%q,
"annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},
"labels":{"kubernetes.io/hostname":%q,"kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","type":"kwok"}},
"status":{"allocatable":{"cpu":"16","memory":"64Gi","pods":"110"},"capacity":{"cpu":"16","memory":"64Gi","pods":"110"}}}`, name, name)
}

// start runs a child process with its output in dir/name.log, and stops it
// by its PID when the test ends: SIGTERM, then SIGKILL after 10 s. Pdeathsig
// kills it if the test binary itself dies first.
func start(t *testing.T, dir, name, path string, args ...string) {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			logFile.Close()
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("%s (pid %d) log, last 3000 bytes:\n%s", name, cmd.Process.Pid, tail(b, 3000))
			}
		}
	})
	t.Logf("started %s (pid %d)", name, cmd.Process.Pid)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// waitHTTP polls url until it answers 200.
func waitHTTP(t *testing.T, name, url, token string, within time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the API server's self-signed certificate
	}}
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s not ready within %s: %s", name, within, last)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeServiceAccountKeys makes the key pair the API server signs
// service-account tokens with.
func writeServiceAccountKeys(t *testing.T, keyPath, pubPath string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, keyPath, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})))
	writeFile(t, pubPath, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})))
}
