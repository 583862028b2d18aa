package lookuptable

import (
	"math"
	"strings"
)

type scoreKind uint8

const (
	static    scoreKind = iota // priority, cmu, cmu_theta, cmu_holding, index: a number per pair
	fifo                       // head_wait
	gcmu                       // c * head_wait * mu
	lqf                        // queue_len
	sla                        // head_wait - sla
	maxWeight                  // queue_len * c * mu
)

// Heuristics are the names a default may take ("random" is refused: not reproducible).
var Heuristics = []string{"fifo", "priority", "cmu", "gcmu", "lqf", "sla", "cmu_theta", "cmu_holding", "maxweight"}

// rule is the default: a score per feasible pair, the highest wins, ties broken
// by head-of-line wait, then the group's longest idle time, then the lowest pair.
type rule struct {
	kind         scoreKind
	pairScore    []float64 // static scores, per pair code
	mu           []float64 // service rate per pair code, 0 without the skill
	c, sla       []float64 // per ticket type
	reservations bool      // an index rule with some reserve or keep_free
	reserve      []int     // per pair: routed only while more tickets than this wait
	keepFree     []int     // per pair: routed only while more agents than this are idle
}

func (t *Table) newRule(name string) rule {
	T, G := t.nTypes, t.nGroups
	r := rule{pairScore: make([]float64, T*G), mu: make([]float64, T*G), c: make([]float64, T), sla: make([]float64, T)}
	for ti, tt := range t.Facts.TicketTypes {
		r.c[ti], r.sla[ti] = tt.WaitCostPerMinute, tt.SLAMinutes
		for gi, g := range t.Facts.AgentGroups {
			r.mu[ti*G+gi] = g.ServiceRatePerMinute[tt.Name]
		}
	}
	r.kind = map[string]scoreKind{"fifo": fifo, "gcmu": gcmu, "lqf": lqf, "sla": sla, "maxweight": maxWeight}[name]
	for ti, tt := range t.Facts.TicketTypes {
		// float64(...) around a product keeps the compiler from fusing it into the
		// addition (FMA), so sums round as they do in Python.
		c, a, theta := tt.WaitCostPerMinute, tt.AbandonCost, tt.AbandonRatePerMinute
		holding := c + float64(a*theta)
		for gi := 0; gi < G; gi++ {
			p, mu := ti*G+gi, r.mu[ti*G+gi]
			switch name {
			case "priority":
				r.pairScore[p] = c
			case "cmu":
				r.pairScore[p] = c * mu
			case "cmu_holding":
				r.pairScore[p] = holding * mu
			case "cmu_theta":
				r.pairScore[p] = math.Inf(1)
				if theta != 0 {
					r.pairScore[p] = holding * mu / theta
				}
			}
		}
	}
	return r
}

func (r *rule) score(s *State, ti, p int) float64 {
	switch r.kind {
	case fifo:
		return s.HeadWaitMin[ti]
	case gcmu:
		return r.c[ti] * s.HeadWaitMin[ti] * r.mu[p]
	case lqf:
		return float64(s.QueueLen[ti])
	case sla:
		return s.HeadWaitMin[ti] - r.sla[ti]
	case maxWeight:
		return float64(s.QueueLen[ti]) * r.c[ti] * r.mu[p]
	}
	return r.pairScore[p]
}

// pick is the default's decision; the caller knows some pair is feasible.
func (r *rule) pick(t *Table, s *State) Decision {
	if r.reservations {
		if d, ok := r.best(t, s, true); ok {
			return d
		}
		if !s.NoHold {
			return Decision{Outcome: Hold}
		}
	}
	d, _ := r.best(t, s, false)
	return d
}

// best is the feasible pair (open ones only, if asked) with the largest
// (score, head wait, longest idle), the lowest pair code among equals.
func (r *rule) best(t *Table, s *State, openOnly bool) (Decision, bool) {
	var d Decision
	found := false
	var bestScore, bestWait, bestIdle float64
	G := t.nGroups
	for ti := 0; ti < t.nTypes; ti++ {
		q := s.QueueLen[ti]
		if q <= 0 {
			continue
		}
		wait := s.HeadWaitMin[ti]
		for gi := 0; gi < G; gi++ {
			p := ti*G + gi
			if s.IdleAgents[gi] <= 0 || r.mu[p] <= 0 {
				continue
			}
			if openOnly && (q <= r.reserve[p] || s.IdleAgents[gi] <= r.keepFree[p]) {
				continue
			}
			score, idle := r.score(s, ti, p), s.LongestIdleMin[gi]
			if !found || score > bestScore || (score == bestScore &&
				(wait > bestWait || (wait == bestWait && idle > bestIdle))) {
				d = Decision{Outcome: Route, Type: ti, Group: gi}
				bestScore, bestWait, bestIdle, found = score, wait, idle, true
			}
		}
	}
	return d, found
}

// defaultRule reads "default": a heuristic name, or in version 2 an index rule object.
func (p *parser) defaultRule(t *Table, v any) {
	if p.err != nil {
		return
	}
	if name, ok := v.(string); ok {
		for _, h := range Heuristics {
			if h == name {
				t.Default, t.rule = name, t.newRule(name)
				return
			}
		}
		hint := ""
		if name == "random" {
			hint = "random is not reproducible; "
		}
		p.fail("default", "unknown heuristic %q (%sknown: %s)", name, hint, strings.Join(Heuristics, ", "))
		return
	}
	obj, ok := v.(map[string]any)
	if t.Version == 1 || !ok {
		p.fail("default", "expected a heuristic name%s, got %s",
			map[bool]string{true: "", false: " or an index rule object"}[t.Version == 1], kind(v))
		return
	}
	t.Default, t.rule = "index", t.newRule("index")
	p.indexRule(t, obj)
}

func (p *parser) indexRule(t *Table, obj map[string]any) {
	for _, name := range sortedKeys(obj) {
		if name != "kind" && name != "weights" && name != "reserve" && name != "keep_free" {
			p.fail("default."+name, "unknown field (an index rule has kind, weights, reserve, keep_free)")
		}
	}
	if k, ok := obj["kind"]; p.err == nil && !ok {
		p.fail("default.kind", "required")
	} else if p.err == nil && k != "index" {
		p.fail("default.kind", "expected \"index\", got %s", show(k))
	}
	raw, ok := obj["weights"]
	weights, isObj := raw.(map[string]any)
	if p.err == nil && (!ok || !isObj) {
		p.fail("default.weights", "expected an object: ticket type -> weight, got %s", kind(raw))
	}
	for _, name := range sortedKeys(weights) {
		if p.err == nil && t.TypeIndex(name) < 0 {
			p.fail("default.weights."+name, "unknown ticket type")
		}
	}
	G := t.nGroups
	for ti, tt := range t.Facts.TicketTypes {
		w, present := weights[tt.Name]
		if p.err == nil && !present {
			p.fail("default.weights."+tt.Name, "required (every ticket type has a weight)")
		}
		x := p.number(w, "default.weights."+tt.Name, true)
		for gi := 0; gi < G; gi++ {
			t.rule.pairScore[ti*G+gi] = x * t.rule.mu[ti*G+gi]
		}
	}
	t.rule.reserve = p.reservations(t, obj, "reserve")
	t.rule.keepFree = p.reservations(t, obj, "keep_free")
	for i := range t.rule.reserve {
		t.rule.reservations = t.rule.reservations || t.rule.reserve[i] > 0 || t.rule.keepFree[i] > 0
	}
}

func (p *parser) reservations(t *Table, obj map[string]any, field string) []int {
	out := make([]int, t.nTypes*t.nGroups)
	raw, present := obj[field]
	if !present || p.err != nil {
		return out
	}
	values, ok := raw.(map[string]any)
	if !ok {
		p.fail("default."+field, "expected an object: 'type->group' -> integer, got %s", kind(raw))
		return out
	}
	for _, name := range sortedKeys(values) {
		where := "default." + field + "." + name
		code := -1
		if strings.Count(name, pairSeparator) == 1 {
			code = t.pairCode(name)
		}
		k, isInt := integer(values[name])
		switch {
		case code < 0:
			p.fail(where, "expected a pair 'type->group' of scenario_facts")
		case t.rule.mu[code] <= 0:
			p.fail(where, "group %q cannot serve %q", t.Facts.AgentGroups[code%t.nGroups].Name,
				t.Facts.TicketTypes[code/t.nGroups].Name)
		case !isInt || k < 0:
			p.fail(where, "expected an integer >= 0, got %s", show(values[name]))
		default:
			out[code] = int(k)
		}
	}
	return out
}
