package tui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
)

// The security pane's forms: a role (name and permissions) and a binding (id, principal, roles, scope and
// resource). Each checks what the broker would refuse before sending it, and posts a securityActionMsg.

// formWidth is the width of the forms' dialogs (security, topics) over a body w cells wide.
func formWidth(w int) int { return min(w-4, 76) }

// formLabelWidth is the width of the forms' labels.
const formLabelWidth = 18

// formLabel starts a form line with a field's label, marked when the field has the focus.
func formLabel(st *styles, iw int, focused bool, s string) *line {
	l := newLine(iw).space(1)
	if focused {
		return l.add(st.key, "› ").addFit(st.key, s, formLabelWidth, false)
	}
	return l.space(2).addFit(st.muted, s, formLabelWidth, false)
}

// formInputWidth is the width of a form's text input over a body w cells wide.
func formInputWidth(w int) int { return formWidth(w) - 2 - 3 - formLabelWidth }

// choice draws options with the chosen one in brackets.
func choice(st *styles, l *line, opts []string, chosen int, focused bool) {
	for i, o := range opts {
		if i > 0 {
			l.space(1)
		}
		if i == chosen {
			l.add(pick(focused, st.selected, st.accent), "["+o+"]")
		} else {
			l.add(st.muted, " "+o+" ")
		}
	}
}

// cycle moves a choice among n options with ←/→ (and space forward).
func cycle(msg tea.KeyPressMsg, i, n int) int {
	switch msg.String() {
	case "left", "h":
		return (i + n - 1) % n
	case "right", "l", "space":
		return (i + 1) % n
	}
	return i
}

// ---- the role form ----

// roleForm asks for a role's name and permissions.
type roleForm struct {
	name   textinput.Model
	perms  []bool // of rbacPermissions
	pc     int    // the permission under the cursor
	focus  int    // 0 name, 1 permissions
	exists []string
	err    string
}

func newRoleForm(t *themes.Theme, existing []string) (*roleForm, tea.Cmd) {
	f := &roleForm{perms: make([]bool, len(rbacPermissions)), exists: existing}
	f.name = newInput(t, "", "reader")
	f.name.CharLimit = 128
	return f, f.name.Focus()
}

func (f *roleForm) confirming(k *KeyMap, msg tea.KeyPressMsg) string {
	return pick(matches(msg, k.Prompt.Submit), changesSecurity, "")
}

func (f *roleForm) sync(e *env)             { setInputWidth(&f.name, formInputWidth(e.w)) }
func (f *roleForm) restyle(t *themes.Theme) { styleInput(&f.name, t) }

func (f *roleForm) input(msg tea.Msg) tea.Cmd {
	if f.focus != 0 {
		return nil
	}
	var cmd tea.Cmd
	f.name, cmd = f.name.Update(msg)
	return cmd
}

func (f *roleForm) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	if cmd, ok := formNav(e, msg, &f.focus, 2, func() tea.Cmd { return f.submit(e) }, f.focusField); ok {
		return cmd
	}
	if f.focus == 1 {
		if msg.String() == "space" || msg.String() == "x" {
			f.perms[f.pc] = !f.perms[f.pc]
			f.err = ""
			return nil
		}
		f.pc = cycle(msg, f.pc, len(f.perms))
		return nil
	}
	f.err = ""
	return f.input(msg)
}

// focusField gives the name its cursor when it has the focus (the permissions are not a text input).
func (f *roleForm) focusField() tea.Cmd {
	if f.focus == 0 {
		return f.name.Focus()
	}
	f.name.Blur()
	return nil
}

func (f *roleForm) submit(e *env) tea.Cmd {
	name := strings.TrimSpace(f.name.Value())
	var perms []string
	for i, on := range f.perms {
		if on {
			perms = append(perms, rbacPermissions[i])
		}
	}
	switch {
	case name == "":
		f.err, f.focus = "a role needs a name", 0
		return f.name.Focus()
	case strings.ContainsAny(name, " \t/"):
		f.err, f.focus = "a role name has no blanks and no '/'", 0
		return f.name.Focus()
	case len(perms) == 0:
		f.err, f.focus = "choose at least one permission: space toggles the one under the cursor", 1
		f.name.Blur()
		return nil
	}
	r := monitor.Role{Name: name, Permissions: perms}
	e.post(openModalMsg{roleConfirm(e, r)})
	return nil
}

// roleConfirm asks before a role is created, or replaced: the broker overwrites a role of that name.
func roleConfirm(e *env, r monitor.Role) modal {
	lines := []string{"Permissions: " + strings.Join(r.Permissions, ", ")}
	title := "Create role " + clean(r.Name) + "?"
	for _, old := range e.snap.Cluster.Admin.Roles {
		if old.Name == r.Name {
			title = "Replace role " + clean(r.Name) + "?"
			lines = append([]string{"The broker replaces the existing role: every binding that names it changes with it.",
				"Permissions now: " + orDash(strings.Join(old.Permissions, ", "))}, lines...)
		}
	}
	return newConfirm(title, lines, changesSecurity, securityActionMsg{verb: "create-role", role: r})
}

func (f *roleForm) view(e *env, w, h int) string {
	st := e.st
	bw := formWidth(w)
	iw := bw - 2
	body := []string{blank(iw)}
	l := formLabel(st, iw, f.focus == 0, "name")
	body = append(body, padANSI(l.sb.String()+inputLine(f.name, iw-l.w), iw))
	// The permissions, packed on as many lines as they need.
	l = formLabel(st, iw, f.focus == 1, "permissions")
	indent := l.w
	for i, p := range rbacPermissions {
		item := pick(f.perms[i], "[x] ", "[ ] ") + p
		if l.room() < textWidth(item)+1 {
			body = append(body, l.String())
			l = newLine(iw).space(indent)
		}
		ip := pick(f.perms[i], st.accent, st.muted)
		if f.focus == 1 && i == f.pc {
			ip = st.selected
		}
		l.add(ip, item).space(1)
	}
	body = append(body, l.String(), blank(iw))
	name := strings.TrimSpace(f.name.Value())
	if slices.Contains(f.exists, name) {
		body = append(body, st.textLine(iw, st.warn, "role "+clean(name)+" exists: its permissions are replaced"))
	}
	if f.err != "" {
		body = append(body, st.textLine(iw, st.err, "✗ "+f.err))
	}
	body = append(body, st.hintLine(iw, "enter", "create", "tab", "next field", "←/→ space", "choose", "esc", "cancel"))
	return st.dialog([]seg{{"New role", st.title}, {" · RBAC", st.muted}}, bw, w, h, body)
}

// ---- the binding form ----

var (
	principalTypes = []string{"user", "service_account"}
	bindingScopes  = []string{"cluster", "namespace", "topic"}
)

// bindingForm asks for a binding's id, principal, roles, scope and resource.
type bindingForm struct {
	id, name, roles, resource textinput.Model
	ptype, scope              int // in principalTypes, bindingScopes
	focus                     int // 0 id, 1 type, 2 name, 3 roles, 4 scope, 5 resource
	known                     []string
	err                       string
}

const bindingFields = 6

func newBindingForm(t *themes.Theme, roles []string) (*bindingForm, tea.Cmd) {
	f := &bindingForm{known: roles}
	f.id = newInput(t, "", "billing-readers")
	f.name = newInput(t, "", "billing")
	f.roles = newInput(t, "", pick(len(roles) > 0, strings.Join(roles[:min(2, len(roles))], ", "), "reader"))
	f.resource = newInput(t, "", "")
	return f, f.focusField()
}

// inputs returns the form's text inputs by field (nil for the choices).
func (f *bindingForm) inputs() []*textinput.Model {
	return []*textinput.Model{&f.id, nil, &f.name, &f.roles, nil, &f.resource}
}

func (f *bindingForm) confirming(k *KeyMap, msg tea.KeyPressMsg) string {
	return pick(matches(msg, k.Prompt.Submit), changesSecurity, "")
}

func (f *bindingForm) sync(e *env) {
	for _, in := range f.inputs() {
		if in != nil {
			setInputWidth(in, formInputWidth(e.w))
		}
	}
}

func (f *bindingForm) restyle(t *themes.Theme) {
	for _, in := range f.inputs() {
		if in != nil {
			styleInput(in, t)
		}
	}
}

func (f *bindingForm) focusField() tea.Cmd {
	var cmd tea.Cmd
	for i, in := range f.inputs() {
		switch {
		case in == nil:
		case i == f.focus:
			cmd = in.Focus()
		default:
			in.Blur()
		}
	}
	return cmd
}

func (f *bindingForm) input(msg tea.Msg) tea.Cmd {
	in := f.inputs()[f.focus]
	if in == nil {
		return nil
	}
	var cmd tea.Cmd
	*in, cmd = in.Update(msg)
	return cmd
}

func (f *bindingForm) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	if cmd, ok := formNav(e, msg, &f.focus, bindingFields, func() tea.Cmd { return f.submit(e) }, f.focusField); ok {
		return cmd
	}
	f.err = ""
	switch f.focus {
	case 1:
		f.ptype = cycle(msg, f.ptype, len(principalTypes))
		return nil
	case 4:
		f.scope = cycle(msg, f.scope, len(bindingScopes))
		return nil
	}
	return f.input(msg)
}

// check returns the binding the form describes, or what is wrong with it and the field to fix.
func (f *bindingForm) check() (monitor.Binding, string, int) {
	b := monitor.Binding{
		ID: strings.TrimSpace(f.id.Value()), PrincipalType: principalTypes[f.ptype],
		PrincipalName: strings.TrimSpace(f.name.Value()), Scope: bindingScopes[f.scope],
		Resource: strings.TrimSpace(f.resource.Value()),
	}
	for r := range strings.FieldsFuncSeq(f.roles.Value(), func(r rune) bool { return r == ',' || r == ' ' }) {
		b.Roles = append(b.Roles, r)
	}
	switch {
	case b.ID == "":
		return b, "a binding needs an id", 0
	case strings.ContainsAny(b.ID, " \t/"):
		return b, "a binding id has no blanks and no '/'", 0
	case b.PrincipalName == "":
		return b, "whom does it bind? the principal's name is needed", 2
	case len(b.Roles) == 0:
		return b, "name at least one role (comma-separated)", 3
	}
	if len(f.known) > 0 {
		for _, r := range b.Roles {
			if !slices.Contains(f.known, r) {
				return b, "unknown role " + clean(r) + " (roles: " + clean(strings.Join(f.known, ", ")) + ")", 3
			}
		}
	}
	switch b.Scope {
	case "cluster":
		if b.Resource != "" {
			return b, "a cluster binding has no resource: leave it empty", 5
		}
	case "namespace":
		if b.Resource == "" || strings.Contains(b.Resource, "/") {
			return b, "a namespace binding names the bare namespace, e.g. default", 5
		}
	case "topic":
		if b.Resource == "" {
			return b, "a topic binding names the topic (/namespace/topic) or a schema subject", 5
		}
	}
	return b, "", 0
}

func (f *bindingForm) submit(e *env) tea.Cmd {
	b, err, field := f.check()
	if err != "" {
		f.err, f.focus = err, field
		return f.focusField()
	}
	e.post(openModalMsg{bindingConfirm(e, b)})
	return nil
}

// bindingConfirm asks before a binding is created, or replaced: the broker overwrites a binding of that id
// on that scope and resource.
func bindingConfirm(e *env, b monitor.Binding) modal {
	on := clean(b.Scope)
	if b.Resource != "" {
		on += " " + clean(b.Resource)
	}
	lines := []string{"Grants " + strings.Join(b.Roles, ", ") + " to " + clean(b.PrincipalType+":"+b.PrincipalName) + " on " + on + "."}
	title := "Create binding " + clean(b.ID) + "?"
	for _, old := range e.snap.Cluster.Admin.Bindings {
		if old.ID == b.ID && old.Scope == b.Scope && old.Resource == b.Resource {
			title = "Replace binding " + clean(b.ID) + "?"
			lines = append([]string{"The broker replaces the existing binding, which grants " + strings.Join(old.Roles, ", ") +
				" to " + clean(old.PrincipalType+":"+old.PrincipalName) + "."}, lines...)
		}
	}
	return newConfirm(title, lines, changesSecurity, securityActionMsg{verb: "create-binding", binding: b})
}

func (f *bindingForm) view(e *env, w, h int) string {
	st := e.st
	bw := formWidth(w)
	iw := bw - 2
	body := []string{blank(iw)}
	field := func(i int, label string, in *textinput.Model) {
		l := formLabel(st, iw, f.focus == i, label)
		body = append(body, padANSI(l.sb.String()+inputLine(*in, iw-l.w), iw))
	}
	field(0, "id", &f.id)
	l := formLabel(st, iw, f.focus == 1, "principal type")
	choice(st, l, principalTypes, f.ptype, f.focus == 1)
	body = append(body, l.String())
	field(2, "principal name", &f.name)
	field(3, "roles", &f.roles)
	l = formLabel(st, iw, f.focus == 4, "scope")
	choice(st, l, bindingScopes, f.scope, f.focus == 4)
	body = append(body, l.String())
	field(5, "resource", &f.resource)
	hint := []string{"cluster: leave the resource empty", "namespace: its bare name (default)",
		"topic: /namespace/topic, or a schema subject"}[f.scope]
	body = append(body, newLine(iw).space(3+formLabelWidth).add(st.muted, hint).String(), blank(iw))
	if f.err != "" {
		body = append(body, st.textLine(iw, st.err, "✗ "+f.err))
	}
	body = append(body, st.hintLine(iw, "enter", "create", "tab", "next field", "←/→", "choose", "esc", "cancel"))
	return st.dialog([]seg{{"New binding", st.title}, {" · RBAC", st.muted}}, bw, w, h, body)
}
