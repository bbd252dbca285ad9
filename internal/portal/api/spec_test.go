package api

import (
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The spec is read with a small parser for the block-style YAML subset it
// is written in (mappings, "- " lists, flow lists of scalars, block
// scalars), so this test needs no YAML dependency.

type ynode struct {
	keys  []string
	m     map[string]*ynode
	list  []*ynode
	value string
}

type yline struct {
	indent int
	text   string
}

func parseYAML(tb testing.TB, src string) *ynode {
	tb.Helper()
	var lines []yline
	raw := strings.Split(src, "\n")
	for i := 0; i < len(raw); i++ {
		l := strings.TrimRight(raw[i], " ")
		t := strings.TrimLeft(l, " ")
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		ind := len(l) - len(t)
		lines = append(lines, yline{ind, t})
		// Skip block scalars: their lines are text, not structure.
		if strings.HasSuffix(t, ": |") || strings.HasSuffix(t, ": >") || strings.HasSuffix(t, ": |-") || strings.HasSuffix(t, ": >-") {
			for i+1 < len(raw) {
				n := raw[i+1]
				nt := strings.TrimLeft(n, " ")
				if nt != "" && len(n)-len(nt) <= ind {
					break
				}
				i++
			}
		}
	}
	pos := 0
	return parseBlock(tb, lines, &pos, 0)
}

func parseBlock(tb testing.TB, lines []yline, pos *int, indent int) *ynode {
	n := &ynode{m: map[string]*ynode{}}
	for *pos < len(lines) {
		l := lines[*pos]
		if l.indent < indent {
			return n
		}
		if strings.HasPrefix(l.text, "- ") || l.text == "-" {
			// A list item: treat its content as a mapping indented by 2.
			item := strings.TrimPrefix(strings.TrimPrefix(l.text, "-"), " ")
			lines[*pos] = yline{l.indent + 2, item}
			if !strings.Contains(item, ":") || strings.HasPrefix(item, "{") {
				*pos++
				n.list = append(n.list, &ynode{value: item})
				continue
			}
			n.list = append(n.list, parseBlock(tb, lines, pos, l.indent+2))
			continue
		}
		key, val, ok := strings.Cut(l.text, ":")
		if !ok {
			tb.Fatalf("line %q is not key: value", l.text)
		}
		key = strings.Trim(key, `'"`)
		val = strings.TrimSpace(val)
		*pos++
		var child *ynode
		switch {
		case val == "" && *pos < len(lines) && lines[*pos].indent > l.indent:
			child = parseBlock(tb, lines, pos, lines[*pos].indent)
		case val == "" && *pos < len(lines) && lines[*pos].indent == l.indent && strings.HasPrefix(lines[*pos].text, "- "):
			child = parseBlock(tb, lines, pos, l.indent)
		case strings.HasPrefix(val, "[") && strings.HasSuffix(val, "]"):
			child = &ynode{}
			for _, it := range strings.Split(strings.Trim(val, "[]"), ",") {
				if it = strings.TrimSpace(it); it != "" {
					child.list = append(child.list, &ynode{value: strings.Trim(it, `'"`)})
				}
			}
		default:
			child = &ynode{value: strings.Trim(val, `'"`)}
		}
		n.keys = append(n.keys, key)
		n.m[key] = child
	}
	return n
}

func (n *ynode) get(tb testing.TB, path ...string) *ynode {
	tb.Helper()
	cur := n
	for _, p := range path {
		next, ok := cur.m[p]
		if !ok {
			tb.Fatalf("spec has no %s", strings.Join(path, "."))
		}
		cur = next
	}
	return cur
}

func loadSpec(tb testing.TB) *ynode {
	tb.Helper()
	b, err := os.ReadFile("../../../docs/api/openapi.yaml")
	if err != nil {
		tb.Fatalf("reading spec: %v", err)
	}
	return parseYAML(tb, string(b))
}

var httpMethods = map[string]bool{"get": true, "post": true, "put": true, "patch": true, "delete": true, "head": true, "options": true}

func TestSpecRoutesMatchCode(t *testing.T) {
	spec := loadSpec(t)
	var inSpec []string
	paths := spec.get(t, "paths")
	for _, p := range paths.keys {
		for _, m := range paths.m[p].keys {
			if httpMethods[m] {
				inSpec = append(inSpec, strings.ToUpper(m)+" "+p)
			}
		}
	}
	inCode := slices.Clone(AllRoutes)
	sort.Strings(inSpec)
	sort.Strings(inCode)
	if !slices.Equal(inSpec, inCode) {
		t.Errorf("routes differ\nspec: %q\ncode: %q", inSpec, inCode)
	}
	for _, r := range AllRoutes {
		if !strings.Contains(r, " "+Prefix+"/") {
			t.Errorf("route %q is outside %s", r, Prefix)
		}
	}
}

func TestSpecErrorCodesMatchCode(t *testing.T) {
	spec := loadSpec(t)
	var inSpec []string
	for _, v := range spec.get(t, "components", "schemas", "ErrorCode", "enum").list {
		inSpec = append(inSpec, v.value)
	}
	inCode := slices.Clone(AllCodes)
	sort.Strings(inSpec)
	sort.Strings(inCode)
	if !slices.Equal(inSpec, inCode) {
		t.Errorf("error codes differ\nspec: %q\ncode: %q", inSpec, inCode)
	}
}

// goTypes are the Go types that spec schemas name with x-go-type.
var goTypes = map[string]reflect.Type{
	"Error":                     reflect.TypeFor[Error](),
	"Health":                    reflect.TypeFor[Health](),
	"EnrollmentStartRequest":    reflect.TypeFor[EnrollmentStartRequest](),
	"EnrollmentStartResponse":   reflect.TypeFor[EnrollmentStartResponse](),
	"EnrollmentConfirmRequest":  reflect.TypeFor[EnrollmentConfirmRequest](),
	"EnrollmentConfirmResponse": reflect.TypeFor[EnrollmentConfirmResponse](),
	"DeviceRegisterRequest":     reflect.TypeFor[DeviceRegisterRequest](),
	"DeviceRegisterResponse":    reflect.TypeFor[DeviceRegisterResponse](),
	"Tunnel":                    reflect.TypeFor[Tunnel](),
	"Gateway":                   reflect.TypeFor[Gateway](),
	"Device":                    reflect.TypeFor[Device](),
	"SessionRequest":            reflect.TypeFor[SessionRequest](),
	"Session":                   reflect.TypeFor[Session](),
	"Hours":                     reflect.TypeFor[Hours](),
	"Period":                    reflect.TypeFor[Period](),
	"Text":                      reflect.TypeFor[Text](),
	"Announcement":              reflect.TypeFor[Announcement](),
	"Announcements":             reflect.TypeFor[Announcements](),
	"DeviceReport":              reflect.TypeFor[DeviceReport](),
	"ReportLink":                reflect.TypeFor[ReportLink](),
	"ReportError":               reflect.TypeFor[ReportError](),
	"ReportReceipt":             reflect.TypeFor[ReportReceipt](),
}

func TestSpecSchemasMatchTypes(t *testing.T) {
	spec := loadSpec(t)
	schemas := spec.get(t, "components", "schemas")
	seen := map[string]bool{}
	for _, name := range schemas.keys {
		s := schemas.m[name]
		gt, ok := s.m["x-go-type"]
		if !ok {
			continue
		}
		typ, ok := goTypes[gt.value]
		if !ok {
			t.Errorf("schema %s names unknown Go type %q", name, gt.value)
			continue
		}
		seen[gt.value] = true
		t.Run(name, func(t *testing.T) {
			var props []string
			for _, k := range s.get(t, "properties").keys {
				props = append(props, k)
			}
			var required []string
			if r, ok := s.m["required"]; ok {
				for _, v := range r.list {
					required = append(required, v.value)
				}
			}
			var fields, mandatory []string
			for i := 0; i < typ.NumField(); i++ {
				tag := typ.Field(i).Tag.Get("json")
				name, opts, _ := strings.Cut(tag, ",")
				if name == "" || name == "-" {
					t.Errorf("field %s has no json name", typ.Field(i).Name)
					continue
				}
				fields = append(fields, name)
				if !strings.Contains(opts, "omitempty") {
					mandatory = append(mandatory, name)
				}
			}
			sort.Strings(props)
			sort.Strings(fields)
			if !slices.Equal(props, fields) {
				t.Errorf("properties differ\nspec: %q\ngo:   %q", props, fields)
			}
			// What Go always sends must be required in the spec, and the
			// reverse: required fields must not be omitempty.
			sort.Strings(required)
			sort.Strings(mandatory)
			if !slices.Equal(required, mandatory) {
				t.Errorf("required differs\nspec: %q\ngo (not omitempty): %q", required, mandatory)
			}
		})
	}
	for name := range goTypes {
		if !seen[name] {
			t.Errorf("Go type %s has no schema with x-go-type", name)
		}
	}
}
