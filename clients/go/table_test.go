package lookuptable

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the wall-clock vectors must not depend on the machine's zone files
)

const root = "../.."

type vectorState struct {
	NowMin         float64            `json:"now_min"`
	QueueLen       map[string]int     `json:"queue_len"`
	HeadWaitMin    map[string]float64 `json:"head_wait_min"`
	IdleAgents     map[string]int     `json:"idle_agents"`
	LongestIdleMin map[string]float64 `json:"longest_idle_min"`
	CanHold        *bool              `json:"can_hold"`
}

type vectorCase struct {
	What     string
	State    vectorState
	Feasible []string
	Key      []int
	Found    bool
	Action   string
	By       string
	Scores   map[string]any
	HeldBack []string `json:"held_back"`
}

type vectorFile struct {
	ScenarioFacts json.RawMessage `json:"scenario_facts"`
	Tables        []struct {
		Name  string
		Table json.RawMessage
		Cases []vectorCase
	}
	ShippedTables []struct {
		File          string
		FileSHA256    string          `json:"file_sha256"`
		Version       int             `json:"version"`
		ScenarioFacts json.RawMessage `json:"scenario_facts"`
		Cases         []vectorCase
	} `json:"shipped_tables"`
	InvalidTables []struct {
		What, Table, Field string
		Set                []json.RawMessage
		Delete             []any
	} `json:"invalid_tables"`
	ScenarioSHA256 struct {
		Cases []struct {
			What      string
			Scenario  json.RawMessage
			Canonical string
			SHA256    string
		}
	} `json:"scenario_sha256"`
	HourOfDay struct {
		FromMinutes []struct {
			NowMin    float64 `json:"now_min"`
			HourOfDay float64 `json:"hour_of_day"`
		} `json:"from_minutes"`
		FromWallClock []struct {
			What, Instant string
			TimeZone      string  `json:"time_zone"`
			HourOfDay     float64 `json:"hour_of_day"`
		} `json:"from_wall_clock"`
	} `json:"hour_of_day"`
}

func readVectors(t testing.TB) *vectorFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "docs", "lookup-table-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// parseVector reads a table of the vectors; version 1 tables take the given facts.
func parseVector(t testing.TB, doc, facts json.RawMessage, name string) *Table {
	t.Helper()
	var head struct{ Version int }
	if err := json.Unmarshal(doc, &head); err != nil {
		t.Fatal(err)
	}
	var given *Facts
	if head.Version == 1 {
		f, err := ParseFacts(facts, name+" facts")
		if err != nil {
			t.Fatal(err)
		}
		given = f
	}
	table, err := Parse(doc, name, given)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return table
}

func (t *Table) stateOf(v vectorState) *State {
	s := t.NewState()
	s.HourOfDay = HourOfDayFromMinutes(v.NowMin)
	for i, tt := range t.Facts.TicketTypes {
		s.QueueLen[i], s.HeadWaitMin[i] = v.QueueLen[tt.Name], v.HeadWaitMin[tt.Name]
	}
	for j, g := range t.Facts.AgentGroups {
		s.IdleAgents[j], s.LongestIdleMin[j] = v.IdleAgents[g.Name], v.LongestIdleMin[g.Name]
	}
	s.NoHold = v.CanHold != nil && !*v.CanHold
	return s
}

func pairName(t *Table, p int) string {
	return t.ActionName(Decision{Outcome: Route, Type: p / t.nGroups, Group: p % t.nGroups})
}

func checkCase(t *testing.T, table *Table, c vectorCase) {
	t.Helper()
	s := table.stateOf(c.State)
	var feasible []string
	scores := map[string]any{}
	var heldBack []string
	for p := 0; p < int(table.hold); p++ {
		ti, gi := p/table.nGroups, p%table.nGroups
		if !table.feasible(s, ti, gi) {
			continue
		}
		feasible = append(feasible, pairName(table, p))
		scores[pairName(table, p)] = jsonScore(table.rule.score(s, ti, p))
		if table.rule.reservations && (s.QueueLen[ti] <= table.rule.reserve[p] || s.IdleAgents[gi] <= table.rule.keepFree[p]) {
			heldBack = append(heldBack, pairName(table, p))
		}
	}
	if !reflect.DeepEqual(feasible, c.Feasible) {
		t.Errorf("%s: feasible %v, want %v", c.What, feasible, c.Feasible)
	}
	if key := table.Key(s); !reflect.DeepEqual(key, c.Key) && !(len(key) == 0 && len(c.Key) == 0) {
		t.Errorf("%s: key %v, want %v", c.What, key, c.Key)
	}
	d := table.Decide(s)
	by := map[bool]string{true: "table", false: "default"}[d.ByTable]
	if got := table.ActionName(d); got != c.Action || d.Found != c.Found || by != c.By {
		t.Errorf("%s: decided %s (found %v, by %s), want %s (found %v, by %s)",
			c.What, got, d.Found, by, c.Action, c.Found, c.By)
	}
	if c.Scores != nil && !reflect.DeepEqual(scores, c.Scores) {
		t.Errorf("%s: scores %v, want %v", c.What, scores, c.Scores)
	}
	if c.HeldBack != nil && !reflect.DeepEqual(heldBack, c.HeldBack) && len(heldBack)+len(c.HeldBack) > 0 {
		t.Errorf("%s: held back %v, want %v", c.What, heldBack, c.HeldBack)
	}
}

// jsonScore writes a score as the vectors do: infinities as "+inf" and "-inf".
func jsonScore(x float64) any {
	switch {
	case math.IsInf(x, 1):
		return "+inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	return x
}

func TestVectors(t *testing.T) {
	v := readVectors(t)
	if len(v.Tables) == 0 {
		t.Fatal("no tables in the vectors")
	}
	defaults := map[string]bool{}
	for _, block := range v.Tables {
		table := parseVector(t, block.Table, v.ScenarioFacts, block.Name)
		defaults[table.Default] = true
		for _, c := range block.Cases {
			checkCase(t, table, c)
		}
	}
	for _, name := range append(Heuristics, "index") {
		if !defaults[name] {
			t.Errorf("no vector table has the default %s", name)
		}
	}
}

func TestShippedTables(t *testing.T) {
	v := readVectors(t)
	covered := map[string]bool{}
	for _, entry := range v.ShippedTables {
		path := filepath.Join(root, filepath.FromSlash(entry.File))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != entry.FileSHA256 {
			t.Errorf("%s changed since the vectors were made: run python -m agents.tables.vectors", entry.File)
			continue
		}
		facts := entry.ScenarioFacts
		table := parseVector(t, data, facts, entry.File)
		if table.Version != entry.Version {
			t.Errorf("%s: version %d, vectors say %d", entry.File, table.Version, entry.Version)
		}
		for _, c := range entry.Cases {
			checkCase(t, table, c)
		}
		covered[filepath.Base(path)] = true
	}
	files, _ := filepath.Glob(filepath.Join(root, "results", "tables", "*.json"))
	if len(files) == 0 {
		t.Fatal("no shipped tables found")
	}
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("%s has no vectors: run python -m agents.tables.vectors", f)
		}
	}
}

func TestInvalidTablesNameTheField(t *testing.T) {
	v := readVectors(t)
	bases := map[string]json.RawMessage{}
	for _, block := range v.Tables {
		bases[block.Name] = block.Table
	}
	if len(v.InvalidTables) == 0 {
		t.Fatal("no invalid tables in the vectors")
	}
	for _, c := range v.InvalidTables {
		doc := change(t, bases[c.Table], c.Set, c.Delete)
		var given *Facts
		if strings.Contains(string(doc), `"version":1`) {
			given, _ = ParseFacts(v.ScenarioFacts, "facts") // version 1 ignores the file's own
		}
		_, err := Parse(doc, "<vector>", given)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: accepted (error %v)", c.What, err)
			continue
		}
		if e.Field != c.Field || e.Source != "<vector>" || e.Message == "" {
			t.Errorf("%s: error %q names field %q, want %q", c.What, err, e.Field, c.Field)
		}
	}
}

// change applies one "set" [path, value] or "delete" path to a document.
func change(t *testing.T, base json.RawMessage, set []json.RawMessage, del []any) []byte {
	var doc any
	if err := decode(base, &doc); err != nil {
		t.Fatal(err)
	}
	var path []any
	var value any
	if set != nil {
		if err := decode(set[0], &path); err != nil {
			t.Fatal(err)
		}
		if err := decode(set[1], &value); err != nil {
			t.Fatal(err)
		}
	} else {
		path = del
	}
	var parent any = doc
	for _, step := range path[:len(path)-1] {
		parent = at(parent, step)
	}
	last := path[len(path)-1]
	switch p := parent.(type) {
	case map[string]any:
		if set != nil {
			p[last.(string)] = value
		} else {
			delete(p, last.(string))
		}
	case []any:
		i := index(last)
		if i == len(p) {
			// Appending to a list: replace the list inside its own parent.
			grand := doc
			for _, step := range path[:len(path)-2] {
				grand = at(grand, step)
			}
			setAt(grand, path[len(path)-2], append(p, value))
		} else {
			p[i] = value
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func at(v any, step any) any {
	if m, ok := v.(map[string]any); ok {
		return m[step.(string)]
	}
	return v.([]any)[index(step)]
}

func setAt(v any, step any, value any) {
	if m, ok := v.(map[string]any); ok {
		m[step.(string)] = value
		return
	}
	v.([]any)[index(step)] = value
}

func index(step any) int {
	switch s := step.(type) {
	case json.Number:
		i, _ := s.Int64()
		return int(i)
	case float64:
		return int(s)
	}
	panic("not an index")
}

func TestScenarioHash(t *testing.T) {
	v := readVectors(t)
	if len(v.ScenarioSHA256.Cases) == 0 {
		t.Fatal("no hash vectors")
	}
	for _, c := range v.ScenarioSHA256.Cases {
		canonical, err := CanonicalScenario(c.Scenario)
		if err != nil {
			t.Fatalf("%s: %v", c.What, err)
		}
		if canonical != c.Canonical {
			t.Errorf("%s:\n got %s\nwant %s", c.What, canonical, c.Canonical)
		}
		sum, _ := ScenarioSHA256(c.Scenario)
		if sum != c.SHA256 {
			t.Errorf("%s: sha256 %s, want %s", c.What, sum, c.SHA256)
		}
	}
	if _, err := CanonicalScenario([]byte(`{"name": "x", "horizon_hours": 1, "ticket_types": {}, "agent_groups": {}, "colour": 1}`)); err == nil || !strings.Contains(err.Error(), "colour: unknown field") {
		t.Errorf("an unknown field is not refused: %v", err)
	}
	if _, err := CanonicalScenario([]byte(`{"name": "x", "ticket_types": {}, "agent_groups": {}}`)); err == nil || !strings.Contains(err.Error(), "horizon_hours: required") {
		t.Errorf("a missing field is not refused: %v", err)
	}
}

func TestPythonFloatRepr(t *testing.T) {
	for x, want := range map[float64]string{0: "0.0", 30: "30.0", 0.1: "0.1", 1e-05: "1e-05", 0.0001: "0.0001",
		1e16: "1e+16", 1e15: "1000000000000000.0", 1.5e16: "1.5e+16", 123456.789: "123456.789", -2.5: "-2.5",
		1.0 / 3: "0.3333333333333333", 1e100: "1e+100"} {
		if got := pyRepr(x); got != want {
			t.Errorf("pyRepr(%v) = %s, want %s", x, got, want)
		}
	}
}

func TestHourOfDay(t *testing.T) {
	v := readVectors(t)
	for _, c := range v.HourOfDay.FromMinutes {
		if got := HourOfDayFromMinutes(c.NowMin); got != c.HourOfDay {
			t.Errorf("minute %v: hour %v, want %v", c.NowMin, got, c.HourOfDay)
		}
	}
	if len(v.HourOfDay.FromWallClock) == 0 {
		t.Fatal("no wall-clock vectors")
	}
	for _, c := range v.HourOfDay.FromWallClock {
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			t.Fatal(err)
		}
		instant, err := time.Parse(time.RFC3339, c.Instant)
		if err != nil {
			t.Fatal(err)
		}
		if got := HourOfDay(instant.In(loc)); got != c.HourOfDay {
			t.Errorf("%s in %s (%s): hour %v, want %v", c.Instant, c.TimeZone, c.What, got, c.HourOfDay)
		}
	}
}

func TestVersionsAndFacts(t *testing.T) {
	v := readVectors(t)
	var v1, v2 json.RawMessage
	for _, block := range v.Tables {
		if strings.Contains(string(block.Table), `"version": 1`) && v1 == nil {
			v1 = block.Table
		}
		if strings.Contains(string(block.Table), `"version": 2`) && v2 == nil {
			v2 = block.Table
		}
	}
	facts, err := ParseFacts(v.ScenarioFacts, "facts")
	if err != nil {
		t.Fatal(err)
	}
	var e *Error
	if _, err := Parse(v1, "v1.json", nil); !errors.As(err, &e) || e.Field != "scenario_facts" {
		t.Errorf("a version 1 table without facts: %v", err)
	}
	if _, err := Parse(v2, "v2.json", facts); !errors.As(err, &e) || e.Field != "scenario_facts" {
		t.Errorf("a version 2 table given facts: %v", err)
	}
	if _, err := Parse(v2[:len(v2)-2], "cut.json", nil); err == nil || !strings.HasPrefix(err.Error(), "cut.json: not valid JSON") {
		t.Errorf("cut JSON: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent.json")); err == nil || !strings.Contains(err.Error(), "absent.json: cannot read") {
		t.Errorf("a missing file: %v", err)
	}
	path := filepath.Join(t.TempDir(), "table.json")
	if err := os.WriteFile(path, v2, 0o600); err != nil {
		t.Fatal(err)
	}
	table, err := Load(path)
	if err != nil || table.Version != 2 || len(table.Facts.TicketTypes) != 3 {
		t.Fatalf("Load: %v", err)
	}
	if !table.NonIdling() {
		t.Error("a heuristic table without rows must be non-idling")
	}
}

func TestNoDecisionWithoutAFeasiblePair(t *testing.T) {
	v := readVectors(t)
	table := parseVector(t, v.Tables[len(v.Tables)-1].Table, v.ScenarioFacts, "index")
	if table.NonIdling() {
		t.Error("an index rule with reservations may hold")
	}
	s := table.NewState()
	s.QueueLen[table.TypeIndex("fraud")] = 3           // only the generalists serve fraud
	s.IdleAgents[table.GroupIndex("billing_team")] = 2 // ... and none of them is idle
	if d := table.Decide(s); d.Outcome != NoDecision || table.ActionName(d) != "" {
		t.Errorf("decided %+v with no feasible pair", d)
	}
	defer func() {
		if recover() == nil {
			t.Error("a state of the wrong size must panic")
		}
	}()
	table.Decide(&State{})
}

func TestDecideDoesNotAllocate(t *testing.T) {
	v := readVectors(t)
	for _, entry := range v.ShippedTables {
		data, _ := os.ReadFile(filepath.Join(root, filepath.FromSlash(entry.File)))
		table := parseVector(t, data, entry.ScenarioFacts, entry.File)
		states := make([]*State, len(entry.Cases))
		for i, c := range entry.Cases {
			states[i] = table.stateOf(c.State)
		}
		i := 0
		if n := testing.AllocsPerRun(200, func() { table.Decide(states[i%len(states)]); i++ }); n != 0 {
			t.Errorf("%s: %v allocations per decision", entry.File, n)
		}
	}
}
