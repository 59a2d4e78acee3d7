package tui

import (
	"errors"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// This file holds :cluster, which lists the clusters the console knows (Options.Clusters) and switches to
// another one live. The root does the switch (it owns the backend), through Options.SwitchCluster, whose
// caller owns the connections: the command only checks its argument, asks for a confirmation when the
// console's own taps or producers would stop, and posts switchClusterMsg.

// Requests and results of :cluster, handled by the root.
type (
	// switchClusterMsg asks the root to switch to the cluster called name.
	switchClusterMsg struct{ name string }
	// clusterSwitchedMsg reports the end of a switch: the new cluster's backend, or why there is none.
	clusterSwitchedMsg struct {
		name string
		b    monitor.Backend
		err  error
	}
)

// clusterCommand is :cluster's entry in the command table.
func clusterCommand() *command {
	return &command{name: "cluster", usage: "[NAME]", help: "switch to another cluster (alone: list them)", rest: -1,
		doc:      "switch the console to another configured cluster (its taps and producers stop); alone, list the clusters",
		complete: completeClusters, run: runCluster}
}

func completeClusters(e *env, i int, _ []string) []string {
	if i == 0 {
		return slices.DeleteFunc(slices.Clone(e.clusters), func(n string) bool { return n == e.clusterName })
	}
	return nil
}

func runCluster(e *env, a cmdArgs) (tea.Cmd, error) {
	name := a.arg(0)
	cur := pick(e.clusterName != "", e.clusterName, "-")
	switch {
	case len(a.pos) > 1:
		return nil, usage("cluster")
	case name == "" && len(e.clusters) == 0:
		return nil, errors.New("no clusters configured: add [[cluster]] tables to the console's config.toml (see the README)")
	case name == "":
		e.setStatus(levelInfo, "clusters: "+strings.Join(e.clusters, ", ")+" (now on "+cur+")")
		return nil, nil
	case name == e.clusterName:
		return nil, errors.New("already on cluster " + name)
	case !slices.Contains(e.clusters, name):
		return nil, errors.New("no cluster " + name + " (clusters: " + pick(len(e.clusters) > 0, strings.Join(e.clusters, ", "), "none") + ")")
	}
	taps, prods := liveTaps(e), liveProducers(e)
	var created []subRef
	if e.createdSubs != nil {
		created = e.createdSubs()
	}
	if len(taps)+len(prods)+len(created) == 0 {
		e.post(switchClusterMsg{name: name})
		return nil, nil
	}
	lines := []string{"The console leaves cluster " + cur + " for " + name + "."}
	if len(taps) > 0 {
		lines = append(lines, "Its taps stop: "+strings.Join(taps, ", ")+" (their subscriptions stay).")
	}
	if len(prods) > 0 {
		lines = append(lines, "Its producers stop: "+strings.Join(prods, ", ")+".")
	}
	if n := len(created); n > 0 {
		// The panes start afresh on the new cluster: what the console created here is no longer its own.
		var names []string
		for _, s := range created {
			names = append(names, clean(s.topic)+" "+clean(s.sub))
		}
		lines = append(lines, plural(n, "subscription")+" this console created "+pick(n == 1, "keeps", "keep")+" messages on "+cur+": "+
			strings.Join(names, ", ")+".",
			"After the switch the console no longer offers to delete "+pick(n == 1, "it", "them")+" (:unsubscribe first if not needed).")
	}
	e.post(openModalMsg{m: newConfirm("Switch to cluster "+name+"?", lines, "", switchClusterMsg{name: name})})
	return nil, nil
}
