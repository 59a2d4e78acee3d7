package broker

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The danube_authz_* series (spec §2.7): one of the two counters goes up on every authorization check, by
// the scope the resource resolves to (cluster, namespace or topic) and the permission checked. Only the
// combinations that have been counted are exported; the broker label is added with every other series'
// (Server.Collector).
var (
	descAuthzAllow = prometheus.NewDesc("danube_authz_allow_total", "Authorization checks that allowed the call.",
		[]string{"resource", "permission"}, nil)
	descAuthzDeny = prometheus.NewDesc("danube_authz_deny_total", "Authorization checks that refused the call (PermissionDenied).",
		[]string{"resource", "permission"}, nil)
)

// describeAuthz sends the descriptors of the danube_authz_* series.
func (s *Server) describeAuthz(ch chan<- *prometheus.Desc) {
	ch <- descAuthzAllow
	ch <- descAuthzDeny
}

// collectAuthz sends the danube_authz_* series.
func (s *Server) collectAuthz(ch chan<- prometheus.Metric) {
	for scope := range s.authz.allowed {
		for perm := range s.authz.allowed[scope] {
			for _, c := range []struct {
				d *prometheus.Desc
				n uint64
			}{{descAuthzAllow, s.authz.allowed[scope][perm].Load()}, {descAuthzDeny, s.authz.denied[scope][perm].Load()}} {
				if c.n > 0 {
					ch <- prometheus.MustNewConstMetric(c.d, prometheus.CounterValue, float64(c.n),
						scopeLabels[scope], Permission(perm).String())
				}
			}
		}
	}
}
