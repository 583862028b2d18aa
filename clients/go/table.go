// Package lookuptable reads routelab lookup tables (format routelab-lookup-table,
// versions 1 and 2) and routes by them, with the standard library only.
//
// The specification is docs/lookup-table.md in the routelab repository; the
// tests run every vector of docs/lookup-table-vectors.json and every shipped
// table of results/tables/.
package lookuptable

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

const (
	// Format is the value of the "format" field.
	Format = "routelab-lookup-table"
	// HoldAction is the action name for holding (leaving every idle agent idle).
	HoldAction    = "hold"
	pairSeparator = "->"
)

// Error is a table that cannot be used: Field is the path of the offending
// field ("rows[12].key"), empty when the file as a whole is at fault.
type Error struct {
	Source, Field, Message string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Source + ": " + e.Message
	}
	return e.Source + ": " + e.Field + ": " + e.Message
}

// TicketType holds what the defaults read of one ticket type (per minute).
type TicketType struct {
	Name                 string
	Channel              string
	WaitCostPerMinute    float64
	AbandonCost          float64
	AbandonRatePerMinute float64 // 0: the type never abandons
	SLAMinutes           float64 // +Inf: the type has no SLA (null in the file)
}

// AgentGroup holds the skills of one group: speed and service rate per ticket type.
type AgentGroup struct {
	Name                 string
	Speed                map[string]float64
	ServiceRatePerMinute map[string]float64
}

// Facts are a table's scenario_facts: ticket types and agent groups in action order.
type Facts struct {
	TicketTypes []TicketType
	AgentGroups []AgentGroup
}

// Feature is one entry of "features".
type Feature struct {
	Name  string
	Edges []float64
}

type featureKind uint8

const (
	queueLen featureKind = iota
	headWait
	idleAgents
	hourOfDay
)

var featureKinds = map[string]featureKind{
	"queue_len": queueLen, "head_wait_min": headWait, "idle_agents": idleAgents, "hour_of_day": hourOfDay,
}

// Table is a checked table, ready to decide. It is safe for concurrent use.
type Table struct {
	Version        int
	Scenario       string
	ScenarioSHA256 string
	SourcePolicy   string
	Facts          Facts
	Features       []Feature
	Actions        []string
	Default        string // a heuristic name, or "index"

	nTypes, nGroups int
	hold            int32 // the code of hold: nTypes * nGroups; a pair (t, g) is t*nGroups + g
	kinds           []featureKind
	subjects        []int
	rows            map[string]int32
	storesHold      bool
	rule            rule
}

// Load reads and checks a version 2 file.
func Load(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{path, "", "cannot read (" + err.Error() + ")"}
	}
	return Parse(data, path, nil)
}

// Parse checks a table document. A version 1 document carries no scenario_facts:
// pass them as facts (ParseFacts); a version 2 document must be given nil.
// source names the file in errors.
func Parse(data []byte, source string, facts *Facts) (*Table, error) {
	var doc any
	if err := decode(data, &doc); err != nil {
		return nil, &Error{source, "", "not valid JSON (" + err.Error() + ")"}
	}
	p := parser{source: source}
	t := p.table(doc, facts)
	if p.err != nil {
		return nil, p.err
	}
	return t, nil
}

// ParseFacts checks a scenario_facts object given on its own (for version 1 tables).
func ParseFacts(data []byte, source string) (*Facts, error) {
	var doc any
	if err := decode(data, &doc); err != nil {
		return nil, &Error{source, "", "not valid JSON (" + err.Error() + ")"}
	}
	p := parser{source: source}
	f := p.facts(doc, "scenario_facts")
	if p.err != nil {
		return nil, p.err
	}
	return &f, nil
}

func decode(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("data after the top-level value")
	}
	return nil
}

// parser keeps the first error; every check after it is skipped.
type parser struct {
	source string
	err    *Error
}

func (p *parser) fail(field, format string, args ...any) {
	if p.err == nil {
		p.err = &Error{p.source, field, fmt.Sprintf(format, args...)}
	}
}

func (p *parser) table(doc any, given *Facts) *Table {
	top, ok := doc.(map[string]any)
	if !ok {
		p.fail("", "expected a JSON object at the top level")
		return nil
	}
	if f, ok := top["format"]; !ok {
		p.fail("format", "required")
	} else if f != Format {
		p.fail("format", "expected %q, got %s", Format, show(f))
	}
	version, ok := top["version"]
	if p.err == nil && !ok {
		p.fail("version", "required")
	}
	v, isInt := integer(version)
	if p.err == nil && (!isInt || (v != 1 && v != 2)) {
		p.fail("version", "unsupported version %s (this reader reads versions 1, 2)", show(version))
	}
	required := []string{"format", "version", "scenario", "scenario_sha256", "source_policy", "features",
		"actions", "default", "rows"}
	if v == 2 {
		required = append(required, "scenario_facts")
	}
	for _, name := range required {
		if _, ok := top[name]; !ok {
			p.fail(name, "required")
		}
	}
	t := &Table{Version: int(v)}
	t.Scenario = p.str(top["scenario"], "scenario")
	t.ScenarioSHA256 = p.str(top["scenario_sha256"], "scenario_sha256")
	t.SourcePolicy = p.str(top["source_policy"], "source_policy")
	switch {
	case p.err != nil:
	case v == 2 && given != nil:
		p.fail("scenario_facts", "a version 2 table carries its own scenario_facts; pass none")
	case v == 2:
		t.Facts = p.facts(top["scenario_facts"], "scenario_facts")
	case given == nil:
		p.fail("scenario_facts", "a version 1 table needs the scenario_facts of its scenario (ParseFacts)")
	default:
		t.Facts = *given
	}
	if p.err != nil {
		return nil
	}
	t.nTypes, t.nGroups = len(t.Facts.TicketTypes), len(t.Facts.AgentGroups)
	t.hold = int32(t.nTypes * t.nGroups)
	p.features(t, top["features"])
	p.actions(t, top["actions"])
	p.defaultRule(t, top["default"])
	p.rows(t, top["rows"])
	if f, ok := top["fidelity"]; ok && p.err == nil {
		if _, isObj := f.(map[string]any); !isObj {
			p.fail("fidelity", "expected an object, got %s", kind(f))
		}
	}
	if p.err != nil {
		return nil
	}
	return t
}

func (p *parser) str(v any, field string) string {
	s, ok := v.(string)
	if !ok {
		p.fail(field, "expected a string, got %s", kind(v))
	}
	return s
}

func (p *parser) facts(v any, where string) Facts {
	var f Facts
	obj, ok := v.(map[string]any)
	if !ok {
		p.fail(where, "expected an object, got %s", kind(v))
		return f
	}
	lists := map[string][]any{}
	for _, name := range []string{"ticket_types", "agent_groups"} {
		raw, ok := obj[name]
		if !ok {
			p.fail(where+"."+name, "required")
			continue
		}
		list, ok := raw.([]any)
		if !ok || len(list) == 0 {
			p.fail(where+"."+name, "expected a non-empty list, got %s", kind(raw))
		}
		lists[name] = list
	}
	if p.err != nil {
		return f
	}
	for i, raw := range lists["ticket_types"] {
		f.TicketTypes = append(f.TicketTypes, p.ticketType(raw, fmt.Sprintf("%s.ticket_types[%d]", where, i)))
	}
	types := map[string]bool{}
	for i, tt := range f.TicketTypes {
		if p.err == nil && types[tt.Name] {
			p.fail(fmt.Sprintf("%s.ticket_types[%d].name", where, i), "duplicate name %q", tt.Name)
		}
		types[tt.Name] = true
	}
	for i, raw := range lists["agent_groups"] {
		f.AgentGroups = append(f.AgentGroups, p.agentGroup(raw, types, fmt.Sprintf("%s.agent_groups[%d]", where, i)))
	}
	groups := map[string]bool{}
	for i, g := range f.AgentGroups {
		if p.err == nil && groups[g.Name] {
			p.fail(fmt.Sprintf("%s.agent_groups[%d].name", where, i), "duplicate name %q", g.Name)
		}
		groups[g.Name] = true
	}
	for i, tt := range f.TicketTypes {
		served := false
		for _, g := range f.AgentGroups {
			_, s := g.ServiceRatePerMinute[tt.Name]
			served = served || s
		}
		if p.err == nil && !served {
			p.fail(fmt.Sprintf("%s.ticket_types[%d].name", where, i), "no agent group serves %q", tt.Name)
		}
	}
	return f
}

func (p *parser) ticketType(raw any, where string) TicketType {
	var tt TicketType
	obj, ok := raw.(map[string]any)
	if !ok {
		p.fail(where, "expected an object, got %s", kind(raw))
		return tt
	}
	for _, name := range []string{"name", "channel", "wait_cost_per_minute", "abandon_cost",
		"abandon_rate_per_minute", "sla_minutes"} {
		if _, ok := obj[name]; !ok {
			p.fail(where+"."+name, "required")
		}
	}
	tt.Name = p.name(obj["name"], where+".name")
	tt.Channel = p.str(obj["channel"], where+".channel")
	tt.WaitCostPerMinute = p.number(obj["wait_cost_per_minute"], where+".wait_cost_per_minute", true)
	tt.AbandonCost = p.number(obj["abandon_cost"], where+".abandon_cost", true)
	tt.AbandonRatePerMinute = p.number(obj["abandon_rate_per_minute"], where+".abandon_rate_per_minute", true)
	tt.SLAMinutes = math.Inf(1)
	if sla := obj["sla_minutes"]; sla != nil {
		tt.SLAMinutes = p.number(sla, where+".sla_minutes", false)
	}
	return tt
}

func (p *parser) agentGroup(raw any, types map[string]bool, where string) AgentGroup {
	var g AgentGroup
	obj, ok := raw.(map[string]any)
	if !ok {
		p.fail(where, "expected an object, got %s", kind(raw))
		return g
	}
	for _, name := range []string{"name", "speed", "service_rate_per_minute"} {
		if _, ok := obj[name]; !ok {
			p.fail(where+"."+name, "required")
		}
	}
	g.Name = p.name(obj["name"], where+".name")
	maps := [2]map[string]float64{}
	for i, name := range []string{"speed", "service_rate_per_minute"} {
		values, ok := obj[name].(map[string]any)
		if !ok || len(values) == 0 {
			p.fail(where+"."+name, "expected a non-empty object: ticket type -> number")
			continue
		}
		maps[i] = map[string]float64{}
		for _, t := range sortedKeys(values) {
			if !types[t] {
				p.fail(where+"."+name+"."+t, "unknown ticket type")
			}
			maps[i][t] = p.number(values[t], where+"."+name+"."+t, false)
		}
	}
	g.Speed, g.ServiceRatePerMinute = maps[0], maps[1]
	same := len(g.Speed) == len(g.ServiceRatePerMinute)
	for t := range g.Speed {
		_, in := g.ServiceRatePerMinute[t]
		same = same && in
	}
	if p.err == nil && !same {
		p.fail(where+".service_rate_per_minute", "must name the same ticket types as speed (the group's skills)")
	}
	return g
}

func (p *parser) name(v any, field string) string {
	s, ok := v.(string)
	if !ok || s == "" {
		p.fail(field, "expected a non-empty string, got %s", kind(v))
	}
	return s
}

// number checks a finite number, >= 0 if zeroOK, else > 0.
func (p *parser) number(v any, field string, zeroOK bool) float64 {
	x, ok := float(v)
	rule := "> 0"
	if zeroOK {
		rule = ">= 0"
	}
	switch {
	case !ok:
		p.fail(field, "expected a finite number %s, got %s", rule, show(v))
	case x < 0 || (x == 0 && !zeroOK):
		p.fail(field, "must be %s, got %s", rule, show(v))
	}
	return x
}

func (p *parser) features(t *Table, v any) {
	list, ok := v.([]any)
	if !ok {
		p.fail("features", "expected a list, got %s", kind(v))
		return
	}
	seen := map[string]bool{}
	for i, raw := range list {
		where := fmt.Sprintf("features[%d]", i)
		obj, ok := raw.(map[string]any)
		if !ok {
			p.fail(where, "expected an object with name and edges, got %s", kind(raw))
			return
		}
		for _, name := range []string{"name", "edges"} {
			if _, ok := obj[name]; !ok {
				p.fail(where+"."+name, "required")
			}
		}
		name, _ := obj["name"].(string)
		k, subject, known := splitFeature(name)
		if p.err == nil && !known {
			p.fail(where+".name", "unknown feature %s (known kinds: queue_len, head_wait_min, idle_agents, hour_of_day)", show(obj["name"]))
		}
		if p.err == nil && seen[name] {
			p.fail(where+".name", "duplicate feature %q", name)
		}
		seen[name] = true
		edges := p.edges(obj["edges"], where+".edges")
		index := p.subject(t, k, subject, name, where+".name")
		t.Features = append(t.Features, Feature{name, edges})
		t.kinds = append(t.kinds, k)
		t.subjects = append(t.subjects, index)
	}
}

func splitFeature(name string) (featureKind, string, bool) {
	kindName, subject, _ := strings.Cut(name, ".")
	k, ok := featureKinds[kindName]
	return k, subject, ok
}

func (p *parser) edges(v any, field string) []float64 {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		p.fail(field, "expected a non-empty list of numbers")
		return nil
	}
	edges := make([]float64, len(list))
	for i, raw := range list {
		x, ok := float(raw)
		if !ok {
			p.fail(field, "every edge must be a finite number")
			return nil
		}
		edges[i] = x
		if i > 0 && x <= edges[i-1] {
			p.fail(field, "must be strictly increasing, got %s", show(v))
			return nil
		}
	}
	return edges
}

func (p *parser) subject(t *Table, k featureKind, subject, name, field string) int {
	if p.err != nil {
		return 0
	}
	switch k {
	case hourOfDay:
		if subject != "" {
			p.fail(field, "feature hour_of_day takes no subject, got %q", name)
		}
		return 0
	case idleAgents:
		if i := t.GroupIndex(subject); i >= 0 {
			return i
		}
		p.fail(field, "unknown agent group %q in scenario_facts", subject)
	default:
		if i := t.TypeIndex(subject); i >= 0 {
			return i
		}
		p.fail(field, "unknown ticket type %q in scenario_facts", subject)
	}
	return 0
}

func (p *parser) actions(t *Table, v any) {
	list, ok := v.([]any)
	if p.err == nil && (!ok || len(list) == 0) {
		p.fail("actions", "expected a non-empty list of 'type->group' or 'hold'")
	}
	seen := map[string]bool{}
	for i, raw := range list {
		where := fmt.Sprintf("actions[%d]", i)
		name, ok := raw.(string)
		if p.err == nil && (!ok || (name != HoldAction && strings.Count(name, pairSeparator) != 1)) {
			p.fail(where, "expected 'type->group' or 'hold', got %s", show(raw))
		}
		if p.err == nil && seen[name] {
			p.fail(where, "duplicate action %q", name)
		}
		seen[name] = true
		if p.err == nil && name != HoldAction && t.pairCode(name) < 0 {
			p.fail(where, "%q names a ticket type or agent group not in scenario_facts", name)
		}
		t.Actions = append(t.Actions, name)
	}
}

// pairCode is t*G + g for "type->group", -1 if either is unknown.
func (t *Table) pairCode(name string) int {
	typeName, group, _ := strings.Cut(name, pairSeparator)
	ti, gi := t.TypeIndex(typeName), t.GroupIndex(group)
	if ti < 0 || gi < 0 {
		return -1
	}
	return ti*t.nGroups + gi
}

func (p *parser) rows(t *Table, v any) {
	if p.err != nil {
		return
	}
	list, ok := v.([]any)
	if !ok {
		p.fail("rows", "expected a list, got %s", kind(v))
		return
	}
	t.rows = make(map[string]int32, len(list))
	for i, raw := range list {
		where := fmt.Sprintf("rows[%d]", i)
		obj, ok := raw.(map[string]any)
		_, hasKey := obj["key"]
		_, hasAction := obj["action"]
		if !ok || !hasKey || !hasAction {
			p.fail(where, "expected an object with key and action")
			return
		}
		key := p.key(t, obj["key"], where+".key")
		action, isInt := integer(obj["action"])
		if p.err == nil && (!isInt || action < 0 || action >= int64(len(t.Actions))) {
			p.fail(where+".action", "%s out of range 0..%d (an index into actions)", show(obj["action"]), len(t.Actions)-1)
		}
		if p.err != nil {
			return
		}
		if _, dup := t.rows[string(key)]; dup {
			p.fail(where+".key", "duplicate key %s", show(obj["key"]))
			return
		}
		code := t.hold
		if name := t.Actions[action]; name != HoldAction {
			code = int32(t.pairCode(name))
		} else {
			t.storesHold = true
		}
		t.rows[string(key)] = code
	}
}

// key checks a row's key and encodes it as lookups do.
func (p *parser) key(t *Table, v any, field string) []byte {
	list, ok := v.([]any)
	for _, k := range list {
		_, isInt := integer(k)
		ok = ok && isInt
	}
	if !ok {
		p.fail(field, "expected a list of bin indices (integers)")
		return nil
	}
	if len(list) != len(t.Features) {
		p.fail(field, "has %d bin indices, expected %d (one per feature)", len(list), len(t.Features))
		return nil
	}
	var key []byte
	for j, raw := range list {
		k, _ := integer(raw)
		if k < 0 || k >= int64(len(t.Features[j].Edges)) {
			p.fail(fmt.Sprintf("%s[%d]", field, j), "bin %d out of range 0..%d", k, len(t.Features[j].Edges)-1)
			return nil
		}
		key = binary.AppendUvarint(key, uint64(k))
	}
	return key
}

// TypeIndex is the position of a ticket type in the facts (and in State slices), -1 if unknown.
func (t *Table) TypeIndex(name string) int {
	for i, tt := range t.Facts.TicketTypes {
		if tt.Name == name {
			return i
		}
	}
	return -1
}

// GroupIndex is the position of an agent group in the facts (and in State slices), -1 if unknown.
func (t *Table) GroupIndex(name string) int {
	for i, g := range t.Facts.AgentGroups {
		if g.Name == name {
			return i
		}
	}
	return -1
}

// -- JSON values decoded with UseNumber ----------------------------------------------------

// float is a finite number (not a boolean, string or null).
func float(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseFloat(string(n), 64)
	return x, err == nil && !math.IsInf(x, 0) && !math.IsNaN(x)
}

// integer is a number written without a fraction or exponent, as Python's json reads an int.
func integer(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok || strings.ContainsAny(string(n), ".eE") {
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	return i, err == nil
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
