package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// securityPane shows the cluster's RBAC roles and bindings as the admin API lists them, and the identity
// the console connects as. ←/→ move between the roles and the bindings; n creates a role and b a binding
// (forms), d deletes the selected one after a confirmation. Read-only mode refuses all three; a refusal by
// the broker (PermissionDenied…) shows its reason in the status bar.
type securityPane struct {
	onBindings   bool
	roles, binds cursor
}

// Requests the security pane serves, and the results of its actions.
type (
	// securityActionMsg runs a confirmed change of roles or bindings: verb is "create-role",
	// "delete-role", "create-binding" or "delete-binding".
	securityActionMsg struct {
		verb    string
		role    monitor.Role
		binding monitor.Binding
	}
	// securityDoneMsg reports the end of a securityActionMsg.
	securityDoneMsg struct {
		securityActionMsg
		err error
	}
)

// rbacPermissions are the permissions a Danube role may hold, in the broker's order.
var rbacPermissions = []string{"Lookup", "Produce", "Consume", "Replicate", "ManageNamespace", "ManageTopic",
	"ManageSchema", "ManageBroker", "ManageCluster"}

func roleID(rs []monitor.Role) func(int) string { return func(i int) string { return rs[i].Name } }

func bindingID(bs []monitor.Binding) func(int) string {
	return func(i int) string { return bs[i].Scope + "\x00" + bs[i].Resource + "\x00" + bs[i].ID }
}

// principal formats a binding's principal: "user:alice".
func principal(b *monitor.Binding) string { return clean(b.PrincipalType + ":" + b.PrincipalName) }

// scopeOf formats a binding's scope and resource: "cluster", "namespace default", "topic /default/orders".
func scopeOf(b *monitor.Binding) string {
	if b.Resource == "" {
		return clean(b.Scope)
	}
	return clean(b.Scope + " " + b.Resource)
}

func (p *securityPane) emptyText(e *env, what string) string {
	a := &e.snap.Cluster.Admin
	switch {
	case a.SecurityErr != "":
		return "cannot read the " + what + ": " + clean(a.SecurityErr)
	case !hasSource(e.snap.Cluster.Sources, sourceAdmin):
		return "no " + what + " known: no admin source (--admin-url)"
	}
	return "no " + what
}

func (p *securityPane) rolesTable(e *env, focus bool) table {
	st := e.st
	rs := e.snap.Cluster.Admin.Roles
	return table{
		cols: []column{
			{title: "ROLE", width: 10, flex: 1, key: true},
			{title: "PERMISSIONS", width: 16, flex: 3},
			{title: "SYSTEM", width: 6, drop: 1},
		},
		n: len(rs), sel: p.roles.index(len(rs), roleID(rs)), focus: focus, empty: p.emptyText(e, "roles"),
		row: func(i int, c []cell) {
			r := &rs[i]
			c[0] = txt(st.text, clean(r.Name))
			c[1] = txt(st.accent, clean(strings.Join(r.Permissions, ", ")))
			c[2] = txt(st.muted, pick(r.System, "system", ""))
		},
	}
}

func (p *securityPane) bindingsTable(e *env, focus bool) table {
	st := e.st
	bs := e.snap.Cluster.Admin.Bindings
	return table{
		cols: []column{
			{title: "ID", width: 10, flex: 1},
			{title: "PRINCIPAL", width: 14, flex: 2, key: true},
			{title: "ROLES", width: 10, flex: 1},
			{title: "SCOPE", width: 9, drop: 1},
			{title: "RESOURCE", width: 10, flex: 1, cutL: true, drop: 2},
		},
		n: len(bs), sel: p.binds.index(len(bs), bindingID(bs)), focus: focus, empty: p.emptyText(e, "bindings"),
		row: func(i int, c []cell) {
			b := &bs[i]
			c[0] = txt(st.text, clean(b.ID))
			c[1] = txt(st.text, principal(b))
			c[2] = txt(st.accent, clean(strings.Join(b.Roles, ", ")))
			c[3] = txt(st.muted, clean(b.Scope))
			c[4] = txt(st.muted, orDash(clean(b.Resource)))
		},
	}
}

// identityLines say whom the console connects as, and why the lists could not be read.
func identityLines(e *env, w int) []string {
	st := e.st
	a := &e.snap.Cluster.Admin
	l := newLine(w).space(1)
	if a.Identity != "" {
		l.add(st.muted, "the console connects as ").add(st.accent, clean(a.Identity))
	} else {
		l.add(st.muted, "the console connects ").add(st.text, "anonymously").add(st.muted, " (no token: --token, --token-file)")
	}
	out := []string{l.String()}
	if a.SecurityErr != "" {
		out = append(out, st.textLine(w, st.err, "✗ roles and bindings cannot be read: "+clean(a.SecurityErr)))
	}
	return out
}

// securityLayout returns the heights of the identity box and (narrow) the roles box in a w×h pane.
func (p *securityPane) securityLayout(e *env, w, h int) (ih, rh int) {
	ih = len(identityLines(e, w-2)) + 2
	if w >= 120 {
		return ih, h - ih
	}
	rest := h - ih
	rh = min(max(4, len(e.snap.Cluster.Admin.Roles)+3), rest/2)
	return ih, rh
}

func (p *securityPane) view(e *env, w, h int) string {
	st := e.st
	a := &e.snap.Cluster.Admin
	ih, rh := p.securityLayout(e, w, h)
	changes := strings.Join(e.offer(e.keys.Security.NewRole, " · n new · d delete"), "")
	bchanges := strings.Join(e.offer(e.keys.Security.NewBinding, " · b new · d delete"), "")
	rt := []seg{{"Roles", st.title}, {" (" + itoa(len(a.Roles)) + ")", st.muted}, {pick(p.onBindings, "", changes+" · ←/→ bindings"), st.muted}}
	bt := []seg{{"Bindings", st.title}, {" (" + itoa(len(a.Bindings)) + ")", st.muted},
		{pick(p.onBindings, bchanges+" · ←/→ roles", ""), st.muted}}
	idb := st.box([]seg{{"Security", st.title}, {" · RBAC", st.muted}}, w, ih, false, identityLines(e, w-2))
	if w >= 120 {
		rw := w / 2
		left := st.box(rt, rw, rh, !p.onBindings, st.renderTable(p.rolesTable(e, !p.onBindings), rw-2, rh-2))
		right := st.box(bt, w-rw, rh, p.onBindings, st.renderTable(p.bindingsTable(e, p.onBindings), w-rw-2, rh-2))
		return idb + "\n" + joinColumns(left, right)
	}
	bh := h - ih - rh
	return idb + "\n" +
		st.box(rt, w, rh, !p.onBindings, st.renderTable(p.rolesTable(e, !p.onBindings), w-2, rh-2)) + "\n" +
		st.box(bt, w, bh, p.onBindings, st.renderTable(p.bindingsTable(e, p.onBindings), w-2, bh-2))
}

func (p *securityPane) tile(e *env, w, h int, focused bool) string {
	st := e.st
	a := &e.snap.Cluster.Admin
	title := []seg{{"Security", st.title}, {" (" + plural(len(a.Roles), "role") + ", " + plural(len(a.Bindings), "binding") + ")", st.muted}}
	return st.box(title, w, h, focused, st.renderTable(p.bindingsTable(e, false), w-2, h-2))
}

func (p *securityPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	k := e.keys.Security
	a := &e.snap.Cluster.Admin
	switch {
	case matches(msg, k.Switch):
		p.onBindings = !p.onBindings
	case matches(msg, k.NewRole):
		f, cmd := newRoleForm(e.theme, roleNames(a.Roles))
		e.post(openModalMsg{m: f})
		return cmd
	case matches(msg, k.NewBinding):
		f, cmd := newBindingForm(e.theme, roleNames(a.Roles))
		e.post(openModalMsg{m: f})
		return cmd
	case matches(msg, k.Delete):
		p.confirmDelete(e)
	case p.onBindings:
		p.binds.move(e, msg, len(a.Bindings), e.bodyHeight()-8, bindingID(a.Bindings))
	default:
		p.roles.move(e, msg, len(a.Roles), e.bodyHeight()-8, roleID(a.Roles))
	}
	return nil
}

func roleNames(rs []monitor.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

// confirmDelete asks before deleting the selected role or binding.
func (p *securityPane) confirmDelete(e *env) {
	a := &e.snap.Cluster.Admin
	if p.onBindings {
		b := selectedIn(&p.binds, a.Bindings, bindingID(a.Bindings))
		if b == nil {
			e.setStatus(levelWarn, "no binding to delete")
			return
		}
		e.post(openModalMsg{m: newConfirm("Delete binding "+clean(b.ID)+"?", []string{
			"Principal " + principal(b) + " loses " + clean(strings.Join(b.Roles, ", ")) + " on " + scopeOf(b) + ".",
			"What only this binding allowed it is denied from then on.",
		}, changesSecurity, securityActionMsg{verb: "delete-binding", binding: *b})})
		return
	}
	r := selectedIn(&p.roles, a.Roles, roleID(a.Roles))
	switch {
	case r == nil:
		e.setStatus(levelWarn, "no role to delete")
		return
	case r.System:
		e.setStatus(levelWarn, "role "+clean(r.Name)+" is a system role: the broker does not delete system roles")
		return
	}
	var users []string
	for _, b := range a.Bindings {
		if slices.Contains(b.Roles, r.Name) {
			users = append(users, clean(b.ID))
		}
	}
	lines := []string{"Role " + clean(r.Name) + " (" + clean(strings.Join(r.Permissions, ", ")) + ") is deleted."}
	if len(users) > 0 {
		lines = append(lines, "Still named by "+plural(len(users), "binding")+" ("+strings.Join(users, ", ")+"),",
			"which stay but grant nothing through it.")
	} else {
		lines = append(lines, "No binding names it.")
	}
	e.post(openModalMsg{m: newConfirm("Delete role "+clean(r.Name)+"?", lines, changesSecurity,
		securityActionMsg{verb: "delete-role", role: *r})})
}

// update serves the pane's requests and the results of its actions.
func (p *securityPane) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case securityActionMsg:
		e.setStatus(levelInfo, securityWhat(msg)+"…")
		ca, ctx := e.cluster, e.ctx
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(ctx, actionTimeout)
			defer cancel()
			var err error
			switch msg.verb {
			case "create-role":
				err = ca.CreateRole(ctx, msg.role)
			case "delete-role":
				err = ca.DeleteRole(ctx, msg.role.Name)
			case "create-binding":
				err = ca.CreateBinding(ctx, msg.binding)
			case "delete-binding":
				b := msg.binding
				err = ca.DeleteBinding(ctx, b.Scope, b.Resource, b.ID)
			default:
				err = fmt.Errorf("unknown security action %q", msg.verb)
			}
			return securityDoneMsg{securityActionMsg: msg, err: err}
		}
	case securityDoneMsg:
		if msg.err != nil {
			e.setStatus(levelError, clean(msg.err.Error())) // it names the action and the role or binding
			return nil
		}
		e.setStatus(levelInfo, securityWhat(msg.securityActionMsg)+": done (the lists show it at the next admin poll)")
	}
	return nil
}

// securityWhat names a security action: "create role reader", "delete binding ops-admin".
func securityWhat(a securityActionMsg) string {
	verb, thing, _ := strings.Cut(a.verb, "-")
	name := a.role.Name
	if thing == "binding" {
		name = a.binding.ID
	}
	return verb + " " + thing + " " + clean(name)
}

// click selects the role or binding under the mouse.
func (p *securityPane) click(e *env, x, y int) {
	a := &e.snap.Cluster.Admin
	ih, rh := p.securityLayout(e, e.w, e.bodyHeight())
	y -= ih
	onBindings := e.w >= 120 && x >= e.w/2 || e.w < 120 && y >= rh
	if e.w < 120 && onBindings {
		y -= rh
	}
	p.onBindings = onBindings
	if onBindings {
		rows := pick(e.w >= 120, e.bodyHeight()-ih-3, e.bodyHeight()-ih-rh-3)
		clickTable(&p.binds, len(a.Bindings), bindingID(a.Bindings), rows, 2, y)
		return
	}
	clickTable(&p.roles, len(a.Roles), roleID(a.Roles), rh-3, 2, y)
}

func (p *securityPane) sync(*env)       {}
func (p *securityPane) capturing() bool { return false }
func (p *securityPane) esc() bool       { return false }

func (p *securityPane) bindings(k *KeyMap) []Binding {
	s := k.Security
	return []Binding{s.Switch, s.NewRole, s.NewBinding, s.Delete}
}
