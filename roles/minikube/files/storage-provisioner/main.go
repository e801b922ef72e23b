// Minikube's storage-provisioner addon (gcr.io/k8s-minikube/storage-provisioner), built by the minikube role
// for offline nodes. Minikube's own cmd/storage-provisioner cannot run when built against the client-go its
// module requires today: sig-storage-lib-external-provisioner/v6 asks for the "endpoints" leader-election
// lock, which client-go removed ("endpoints lock is removed, migrate to leases"). A single-node cluster
// runs one replica, so this main starts the same hostPath provisioner without leader election.
package main

import (
	"context"
	"flag"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/minikube/pkg/storage"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v6/controller"
)

// The provisioner name and volume folder of Minikube's addon (its StorageClass "standard" names them).
const (
	provisionerName = "k8s.io/minikube-hostpath"
	pvDir           = "/tmp/hostpath-provisioner"
)

func main() {
	klog.InitFlags(nil)
	flag.Parse()
	if err := os.MkdirAll("/tmp", 0o755); err != nil {
		klog.Exit(err)
	}
	config, err := rest.InClusterConfig()
	if err != nil {
		klog.Exit(err)
	}
	clientset := kubernetes.NewForConfigOrDie(config)
	serverVersion, err := clientset.Discovery().ServerVersion()
	if err != nil {
		klog.Exit(err)
	}
	klog.Infof("starting the hostPath provisioner %s for %s (Kubernetes %s)", provisionerName, pvDir, serverVersion.GitVersion)
	controller.NewProvisionController(clientset, provisionerName, storage.NewHostPathProvisioner(pvDir),
		serverVersion.GitVersion, controller.LeaderElection(false)).Run(context.Background())
}
