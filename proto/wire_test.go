// Package proto_test checks the generated code against the wire contract of the real Danube broker.
package proto_test

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/danube-console/danube-console/proto/adminpb"
)

// wireTablesAdmin is a copy of the danube_admin sections of the wire tables: every service, rpc, message,
// field and enum of the real DanubeAdmin.proto.
const wireTablesAdmin = "testdata/danube_admin_wire_tables.md"

// contract is a proto package's wire contract, in the words of the wire tables: each rpc as
// "Name(request) returns (response)", each field as "number name type" where type is written as in the tables
// ("optional string", "repeated danube_admin.BrokerInfo", "oneof:NAME uint32", "map<string,string>"), each
// enum value as "NAME = number".
type contract struct {
	services map[string][]string
	messages map[string][]string
	enums    map[string][]string
}

func newContract() contract {
	return contract{services: map[string][]string{}, messages: map[string][]string{}, enums: map[string][]string{}}
}

var (
	headingRe = regexp.MustCompile("^#### (service|message|enum) `([^`]+)`(?::\\s*(.*))?$")
	rowRe     = regexp.MustCompile(`^\|(.*)\|\s*$`)
)

// parseTables reads the markdown tables: a "#### service|message `name`" heading followed by a table, or an
// "#### enum `name`: A = 0, B = 1" line.
func parseTables(path string) (contract, error) {
	f, err := os.Open(path)
	if err != nil {
		return contract{}, err
	}
	defer f.Close()
	c := newContract()
	var kind, name string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if m := headingRe.FindStringSubmatch(text); m != nil {
			kind, name = m[1], m[2]
			switch kind {
			case "service":
				c.services[name] = []string{}
			case "message":
				c.messages[name] = []string{}
			case "enum":
				vals := []string{}
				for _, v := range strings.Split(m[3], ",") {
					if v = strings.TrimSpace(v); v != "" {
						vals = append(vals, v)
					}
				}
				c.enums[name] = vals
				kind = ""
			}
			continue
		}
		if strings.HasPrefix(text, "#") {
			kind = ""
			continue
		}
		m := rowRe.FindStringSubmatch(text)
		if m == nil || kind == "" {
			continue
		}
		cells := strings.Split(m[1], "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) != 3 {
			return contract{}, fmt.Errorf("%s:%d: a row of %s %s has %d cells, want 3", path, line, kind, name, len(cells))
		}
		if strings.Trim(cells[0], "-") == "" || cells[0] == "rpc" || cells[0] == "#" { // header and rule
			continue
		}
		switch kind {
		case "service":
			c.services[name] = append(c.services[name], fmt.Sprintf("%s(%s) returns (%s)", cells[0], cells[1], cells[2]))
		case "message":
			if _, err := strconv.Atoi(cells[0]); err != nil {
				return contract{}, fmt.Errorf("%s:%d: field number %q of %s", path, line, cells[0], name)
			}
			c.messages[name] = append(c.messages[name], strings.Join(cells, " "))
		}
	}
	return c, sc.Err()
}

// describe writes a file descriptor's contract the way the tables do.
func describe(fd protoreflect.FileDescriptor) contract {
	c := newContract()
	for i := 0; i < fd.Services().Len(); i++ {
		sd := fd.Services().Get(i)
		rpcs := []string{}
		for j := 0; j < sd.Methods().Len(); j++ {
			md := sd.Methods().Get(j)
			in, out := string(md.Input().FullName()), string(md.Output().FullName())
			if md.IsStreamingClient() {
				in = "stream " + in
			}
			if md.IsStreamingServer() {
				out = "stream " + out
			}
			rpcs = append(rpcs, fmt.Sprintf("%s(%s) returns (%s)", md.Name(), in, out))
		}
		c.services[string(sd.FullName())] = rpcs
	}
	var enums func(protoreflect.EnumDescriptors)
	enums = func(es protoreflect.EnumDescriptors) {
		for i := 0; i < es.Len(); i++ {
			ed := es.Get(i)
			vals := []string{}
			for j := 0; j < ed.Values().Len(); j++ {
				v := ed.Values().Get(j)
				vals = append(vals, fmt.Sprintf("%s = %d", v.Name(), v.Number()))
			}
			c.enums[string(ed.FullName())] = vals
		}
	}
	var messages func(protoreflect.MessageDescriptors)
	messages = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			md := ms.Get(i)
			if md.IsMapEntry() {
				continue
			}
			fields := []string{}
			for j := 0; j < md.Fields().Len(); j++ {
				f := md.Fields().Get(j)
				fields = append(fields, fmt.Sprintf("%d %s %s", f.Number(), f.Name(), fieldType(f)))
			}
			c.messages[string(md.FullName())] = fields
			enums(md.Enums())
			messages(md.Messages())
		}
	}
	enums(fd.Enums())
	messages(fd.Messages())
	return c
}

// fieldType writes a field's type as the tables do.
func fieldType(f protoreflect.FieldDescriptor) string {
	if f.IsMap() {
		return fmt.Sprintf("map<%s,%s>", typeName(f.MapKey()), typeName(f.MapValue()))
	}
	t := typeName(f)
	switch {
	case f.IsList():
		return "repeated " + t
	case f.HasOptionalKeyword():
		return "optional " + t
	case f.ContainingOneof() != nil:
		return fmt.Sprintf("oneof:%s %s", f.ContainingOneof().Name(), t)
	}
	return t
}

func typeName(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return string(f.Message().FullName())
	case protoreflect.EnumKind:
		return string(f.Enum().FullName())
	}
	return f.Kind().String()
}

// compare lists every difference between the contract the tables give (want) and the generated code's (got):
// missing or extra services, messages and enums, and every rpc, field or value that differs, in order.
func compare(want, got contract) []string {
	var diffs []string
	section := func(kind string, w, g map[string][]string) {
		for name, wl := range w {
			gl, ok := g[name]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s %s is missing", kind, name))
				continue
			}
			if !slices.Equal(wl, gl) {
				diffs = append(diffs, fmt.Sprintf("%s %s:\n  wire tables: %q\n  generated:   %q", kind, name, wl, gl))
			}
		}
		for name := range g {
			if _, ok := w[name]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s %s is not in the wire tables", kind, name))
			}
		}
	}
	section("service", want.services, got.services)
	section("message", want.messages, got.messages)
	section("enum", want.enums, got.enums)
	slices.Sort(diffs)
	return diffs
}

func adminTables(t *testing.T) contract {
	t.Helper()
	c, err := parseTables(wireTablesAdmin)
	if err != nil {
		t.Fatal(err)
	}
	// The copy must be complete: five services and every message.
	if len(c.services) != 5 || len(c.messages) < 60 || len(c.enums) != 3 {
		t.Fatalf("%s: %d services, %d messages, %d enums; is the copy complete?", wireTablesAdmin,
			len(c.services), len(c.messages), len(c.enums))
	}
	return c
}

// TestAdminWireContract compares every service, rpc, message, field (number, name, type, presence) and enum of
// the generated danube_admin package with the real DanubeAdmin.proto's wire tables.
func TestAdminWireContract(t *testing.T) {
	want := adminTables(t)
	got := describe(adminpb.File_DanubeAdmin_proto)
	if d := compare(want, got); len(d) > 0 {
		t.Fatalf("proto/DanubeAdmin.proto differs from the real broker's wire contract:\n%s", strings.Join(d, "\n"))
	}
	if fd := adminpb.File_DanubeAdmin_proto; fd.Package() != "danube_admin" || fd.Syntax() != protoreflect.Proto3 {
		t.Fatalf("package %s, syntax %v; want danube_admin, proto3", fd.Package(), fd.Syntax())
	}
}

// TestAdminWireContractCatchesChanges makes sure the comparison sees each kind of change a proto edit can make.
func TestAdminWireContractCatchesChanges(t *testing.T) {
	tables := adminTables(t)
	edits := map[string]func(c contract){
		"a renamed field": func(c contract) {
			c.messages["danube_admin.BrokerInfo"][1] = "2 broker_address string"
		},
		"a renumbered field": func(c contract) {
			c.messages["danube_admin.ClusterStatusResponse"][6] = "8 raft_addr string"
		},
		"a field that lost its presence": func(c contract) {
			c.messages["danube_admin.NewTopicRequest"][1] = "2 schema_subject string"
		},
		"a field of another type": func(c contract) {
			c.messages["danube_admin.BrokerLoadInfo"][0] = "1 broker_id string"
		},
		"a renamed rpc": func(c contract) {
			c.services["danube_admin.ClusterAdmin"][0] = "Status(danube_admin.Empty) returns (danube_admin.ClusterStatusResponse)"
		},
		"a renumbered enum value": func(c contract) {
			c.enums["danube_admin.SubscriptionPoisonPolicy"][2] = "Drop = 3"
		},
		"a missing message": func(c contract) {
			delete(c.messages, "danube_admin.RemoveNodeResponse")
		},
	}
	got := describe(adminpb.File_DanubeAdmin_proto)
	for what, edit := range edits {
		changed := clone(got)
		edit(changed)
		if d := compare(tables, changed); len(d) != 1 {
			t.Errorf("%s: %d differences reported, want 1: %q", what, len(d), d)
		}
	}
}

func clone(c contract) contract {
	out := newContract()
	for k, v := range c.services {
		out.services[k] = slices.Clone(v)
	}
	for k, v := range c.messages {
		out.messages[k] = slices.Clone(v)
	}
	for k, v := range c.enums {
		out.enums[k] = slices.Clone(v)
	}
	return out
}
