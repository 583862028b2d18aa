package lookuptable

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// State is the live state at a decision. Slices are indexed in the order of
// Facts (TypeIndex, GroupIndex); NewState makes them the right length.
type State struct {
	HourOfDay      float64   // [0, 24): HourOfDay or HourOfDayFromMinutes
	QueueLen       []int     // per ticket type: tickets waiting (not in service)
	HeadWaitMin    []float64 // per ticket type: minutes the oldest waiting ticket has waited; read only if QueueLen > 0
	IdleAgents     []int     // per agent group: idle agents on shift
	LongestIdleMin []float64 // per agent group: minutes its longest-idle agent has been idle; read only if IdleAgents > 0
	// NoHold says holding is not allowed now (the simulator sets it when no later
	// event is pending). Only an index default reads it.
	NoHold bool
}

// Outcome says what a decision is.
type Outcome uint8

const (
	// NoDecision: no pair is feasible, nothing to decide.
	NoDecision Outcome = iota
	// Route the oldest ticket of Type to the longest-idle agent of Group.
	Route
	// Hold leaves every idle agent idle until the next event.
	Hold
)

// Decision is the answer to a state.
type Decision struct {
	Outcome     Outcome
	Type, Group int  // the pair, when Outcome is Route
	Found       bool // a row matched the state's key
	ByTable     bool // the stored action decided (else the default did)
}

// NewState is a zero state with slices sized for the table's facts.
func (t *Table) NewState() *State {
	return &State{QueueLen: make([]int, t.nTypes), HeadWaitMin: make([]float64, t.nTypes),
		IdleAgents: make([]int, t.nGroups), LongestIdleMin: make([]float64, t.nGroups)}
}

// ActionName is "type->group", "hold", or "" for NoDecision.
func (t *Table) ActionName(d Decision) string {
	switch d.Outcome {
	case Route:
		return t.Facts.TicketTypes[d.Type].Name + pairSeparator + t.Facts.AgentGroups[d.Group].Name
	case Hold:
		return HoldAction
	}
	return ""
}

// NonIdling is true when the table never holds while a pair is feasible (no row
// stores hold, and the default is a heuristic or an index rule without
// reservations): then a state with a single feasible pair may skip the lookup.
func (t *Table) NonIdling() bool {
	return !t.storesHold && !t.rule.reservations
}

// Decide routes one state: the stored action of its key if it is hold or a
// feasible pair, otherwise the default's pick (docs/lookup-table.md, section 5).
// It panics if the state's slices do not match the facts.
func (t *Table) Decide(s *State) Decision {
	if len(s.QueueLen) != t.nTypes || len(s.HeadWaitMin) != t.nTypes ||
		len(s.IdleAgents) != t.nGroups || len(s.LongestIdleMin) != t.nGroups {
		panic(fmt.Sprintf("lookuptable: state sized for %d/%d/%d/%d, table has %d ticket types and %d agent groups",
			len(s.QueueLen), len(s.HeadWaitMin), len(s.IdleAgents), len(s.LongestIdleMin), t.nTypes, t.nGroups))
	}
	if !t.anyFeasible(s) {
		return Decision{}
	}
	var buf [64]byte
	code, found := t.rows[string(t.appendKey(buf[:0], s))]
	if found {
		if code == t.hold {
			return Decision{Outcome: Hold, Found: true, ByTable: true}
		}
		ti, gi := int(code)/t.nGroups, int(code)%t.nGroups
		if t.feasible(s, ti, gi) {
			return Decision{Outcome: Route, Type: ti, Group: gi, Found: true, ByTable: true}
		}
	}
	d := t.rule.pick(t, s)
	d.Found = found
	return d
}

// Key is the state's key: the bin of every feature.
func (t *Table) Key(s *State) []int {
	key := make([]int, len(t.Features))
	for i := range t.Features {
		key[i] = bin(t.value(s, i), t.Features[i].Edges)
	}
	return key
}

func (t *Table) appendKey(dst []byte, s *State) []byte {
	for i := range t.Features {
		dst = binary.AppendUvarint(dst, uint64(bin(t.value(s, i), t.Features[i].Edges)))
	}
	return dst
}

func (t *Table) value(s *State, i int) float64 {
	j := t.subjects[i]
	switch t.kinds[i] {
	case queueLen:
		return float64(s.QueueLen[j])
	case headWait:
		if s.QueueLen[j] > 0 {
			return s.HeadWaitMin[j]
		}
		return 0
	case idleAgents:
		return float64(s.IdleAgents[j])
	}
	return s.HourOfDay
}

// bin is the largest i with edges[i] <= x, 0 below edges[0] (Python's bisect_right - 1, clamped).
func bin(x float64, edges []float64) int {
	i := 0
	for i < len(edges) && !(x < edges[i]) {
		i++
	}
	if i == 0 {
		return 0
	}
	return i - 1
}

func (t *Table) feasible(s *State, ti, gi int) bool {
	return s.QueueLen[ti] > 0 && s.IdleAgents[gi] > 0 && t.rule.mu[ti*t.nGroups+gi] > 0
}

func (t *Table) anyFeasible(s *State) bool {
	for ti := 0; ti < t.nTypes; ti++ {
		for gi := 0; gi < t.nGroups && s.QueueLen[ti] > 0; gi++ {
			if t.feasible(s, ti, gi) {
				return true
			}
		}
	}
	return false
}

// HourOfDayFromMinutes is the simulator's clock: (minutes since 00:00 of day one / 60) mod 24.
func HourOfDayFromMinutes(nowMin float64) float64 {
	return math.Mod(nowMin/60, 24)
}

// HourOfDay is the wall-clock reading of t in t's location, (3600 h + 60 m + s) / 3600.
// Pass t.In(loc) with the time zone the scenario's shifts are planned in: daylight
// saving applies, as the clocks on the floor show it.
func HourOfDay(t time.Time) float64 {
	h, m, s := t.Clock()
	return (float64(3600*h+60*m+s) + float64(t.Nanosecond())/1e9) / 3600
}
