// CoreDNS for the node tier's cluster DNS (the kube-dns Service), built the way CoreDNS documents
// for a custom set of plugins: the upstream server (coremain) with only the plugins the Corefile
// in test/support/node-addons.ts uses, in upstream's execution order. No forward plugin: a name
// outside the cluster gets no answer, so nothing a test runs can reach a resolver beyond the node.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

func init() {
	dnsserver.Directives = []string{"ready", "health", "errors", "log", "cache", "kubernetes"}
}

func main() {
	coremain.Run()
}
