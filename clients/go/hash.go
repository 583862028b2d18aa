package lookuptable

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// ScenarioSHA256 recomputes scenario_sha256 from a scenario document given as
// JSON (the YAML file's content, converted): docs/lookup-table.md, section 9.
// It fills in defaults and checks field names and types, not every rule routelab
// validates; hash only scenarios that routelab accepts.
func ScenarioSHA256(scenarioJSON []byte) (string, error) {
	text, err := CanonicalScenario(scenarioJSON)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:]), nil
}

// CanonicalScenario is the text the hash covers: every field with its default,
// numbers of number fields as floats in Python's repr, keys sorted, no spaces,
// non-ASCII escaped; cost_per_agent_hour is left out where it is 1.0.
func CanonicalScenario(scenarioJSON []byte) (string, error) {
	var doc any
	if err := decode(scenarioJSON, &doc); err != nil {
		return "", fmt.Errorf("scenario: not valid JSON (%v)", err)
	}
	c := canon{}
	v := c.object(doc, "", scenarioFields)
	if c.err != nil {
		return "", c.err
	}
	var b strings.Builder
	write(&b, v)
	return b.String(), nil
}

// A field of the scenario schema: how its value is written, and its default
// (absent = required).
type field struct {
	name   string
	as     string // str, float, int, floats, strs, floatmap, dist, types, groups, shifts, events
	def    any
	hasDef bool
}

type pyFloat float64
type pyInt int64

var (
	null           = struct{}{}
	scenarioFields = []field{{"name", "str", nil, false}, {"description", "str", "", true},
		{"horizon_hours", "float", nil, false}, {"warmup_hours", "float", pyFloat(0), true},
		{"ticket_types", "types", nil, false}, {"agent_groups", "groups", nil, false},
		{"events", "events", []any{}, true}}
	typeFields = []field{{"channel", "str", "chat", true}, {"arrivals_per_hour", "float", nil, false},
		{"hourly_profile", "floats", null, true}, {"handle_minutes", "dist", nil, false},
		{"patience_minutes", "dist", null, true}, {"sla_minutes", "float", null, true},
		{"sla_target", "float", null, true}, {"wait_cost_per_minute", "float", pyFloat(1), true},
		{"abandon_cost", "float", pyFloat(0), true}, {"transfers", "floatmap", map[string]any{}, true}}
	distFields  = []field{{"dist", "str", nil, false}, {"mean", "float", nil, false}, {"cv", "float", null, true}}
	groupFields = []field{{"agents", "int", null, true}, {"shifts", "shifts", null, true},
		{"skills", "floatmap", nil, false}, {"cost_per_agent_hour", "float", pyFloat(1), true}}
	shiftFields = []field{{"start_hour", "float", nil, false}, {"end_hour", "float", nil, false},
		{"agents", "int", nil, false}}
	surgeFields = []field{{"kind", "str", nil, false}, {"ticket_types", "strs", nil, false},
		{"start_hour", "float", nil, false}, {"end_hour", "float", nil, false}, {"factor", "float", nil, false}}
	absenceFields = []field{{"kind", "str", nil, false}, {"group", "str", nil, false},
		{"start_hour", "float", nil, false}, {"end_hour", "float", nil, false}, {"agents", "int", nil, false}}
)

type canon struct{ err error }

func (c *canon) fail(path, message string) {
	if c.err == nil {
		c.err = fmt.Errorf("scenario: %s: %s", strings.TrimPrefix(path, "."), message)
	}
}

func (c *canon) object(v any, path string, fields []field) map[string]any {
	obj, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "expected an object")
		return nil
	}
	known := map[string]bool{}
	out := map[string]any{}
	for _, f := range fields {
		known[f.name] = true
		raw, present := obj[f.name]
		switch {
		case !present && !f.hasDef:
			c.fail(path+"."+f.name, "required")
		case !present:
			out[f.name] = f.def
		default:
			out[f.name] = c.value(raw, path+"."+f.name, f.as)
		}
	}
	for _, name := range sortedKeys(obj) {
		if !known[name] {
			c.fail(path+"."+name, "unknown field")
		}
	}
	return out
}

func (c *canon) value(v any, path, as string) any {
	if v == nil {
		return null
	}
	switch as {
	case "str":
		if s, ok := v.(string); ok {
			return s
		}
		c.fail(path, "expected a string")
	case "float":
		if x, ok := float(v); ok {
			return pyFloat(x)
		}
		c.fail(path, "expected a finite number")
	case "int":
		if x, ok := float(v); ok && x == math.Trunc(x) {
			return pyInt(x)
		}
		c.fail(path, "expected an integer")
	case "dist":
		return c.object(v, path, distFields)
	case "floats", "strs", "shifts", "events":
		return c.list(v, path, as)
	case "floatmap", "types", "groups":
		obj, ok := v.(map[string]any)
		if !ok {
			c.fail(path, "expected an object")
			return nil
		}
		out := map[string]any{}
		for k, item := range obj {
			switch as {
			case "floatmap":
				out[k] = c.value(item, path+"."+k, "float")
			case "types":
				out[k] = c.object(item, path+"."+k, typeFields)
			default:
				group := c.object(item, path+"."+k, groupFields)
				if group["cost_per_agent_hour"] == pyFloat(1) {
					delete(group, "cost_per_agent_hour") // added later: counted only when set
				}
				out[k] = group
			}
		}
		return out
	}
	return nil
}

func (c *canon) list(v any, path, as string) any {
	items, ok := v.([]any)
	if !ok {
		c.fail(path, "expected a list")
		return nil
	}
	out := make([]any, len(items))
	for i, item := range items {
		where := fmt.Sprintf("%s.%d", path, i)
		switch as {
		case "floats":
			out[i] = c.value(item, where, "float")
		case "strs":
			out[i] = c.value(item, where, "str")
		case "shifts":
			out[i] = c.object(item, where, shiftFields)
		default:
			obj, _ := item.(map[string]any)
			fields := surgeFields
			if obj["kind"] == "absence" {
				fields = absenceFields
			}
			out[i] = c.object(item, where, fields)
		}
	}
	return out
}

// write emits JSON as Python's json.dumps(sort_keys=True, separators=(",", ":")).
func write(b *strings.Builder, v any) {
	switch x := v.(type) {
	case struct{}:
		b.WriteString("null")
	case string:
		writeString(b, x)
	case pyFloat:
		b.WriteString(pyRepr(float64(x)))
	case pyInt:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case []any:
		b.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			write(b, item)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // byte order of UTF-8 = code point order, as Python sorts str
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			write(b, x[k])
		}
		b.WriteByte('}')
	}
}

// pyRepr is Python's repr of a float: the shortest digits that read back, in
// positional notation when the exponent is in [-4, 16), else as 1.5e+16 / 1e-05.
func pyRepr(x float64) string {
	e := strconv.FormatFloat(x, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// writeString escapes as Python's json with ensure_ascii: \" \\ \n \r \t \b \f,
// other characters outside space..~ as \u00XX (UTF-16 surrogate pairs above U+FFFF).
func writeString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		case r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, hi, lo)
		default:
			fmt.Fprintf(b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
}
