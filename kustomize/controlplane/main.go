// Command controlplane is a Kubernetes 1.37 control plane in one binary, built
// only to check the bookstore's manifests against a real API server
// (`make k8s-verify`). Its first argument names the component:
//
//	controlplane kube-apiserver [flags]
//	controlplane kube-controller-manager [flags]
//	controlplane kube-scheduler [flags]
//	controlplane kubectl [args]
//
// One binary links once, which saves minutes over four. It lives in a module of
// its own so that k8s.io/kubernetes and its staging modules never enter the
// bookstore's go.mod.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectl "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	_ "time/tzdata"

	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: controlplane kube-apiserver|kube-controller-manager|kube-scheduler|kubectl [args]")
		os.Exit(2)
	}
	// Each component reads os.Args itself, as if it were its own binary.
	os.Args = append([]string{os.Args[1]}, os.Args[2:]...)
	var command *cobra.Command
	switch os.Args[0] {
	case "kube-apiserver":
		command = apiserver.NewAPIServerCommand()
	case "kube-controller-manager":
		command = controllermanager.NewControllerManagerCommand()
	case "kube-scheduler":
		command = scheduler.NewSchedulerCommand()
	case "kubectl":
		logs.GlogSetter(kubectl.GetLogVerbosity(os.Args)) //nolint:errcheck // as kubectl's own main
		command = kubectl.NewDefaultKubectlCommand()
		if err := cli.RunNoErrOutput(command); err != nil {
			kubectlutil.CheckErr(err) // prints the error as kubectl does and exits 1
		}
		return
	default:
		fmt.Fprintf(os.Stderr, "controlplane: unknown component %q\n", os.Args[0])
		os.Exit(2)
	}
	os.Exit(cli.Run(command))
}
