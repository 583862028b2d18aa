package lookuptable

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkDecide measures decisions per second on the states of the vectors:
// the shipped tables (states sampled from a simulated day) and the defaults.
// GOMAXPROCS=1 go test -bench . -benchtime 2s
func BenchmarkDecide(b *testing.B) {
	v := readVectors(b)
	for _, entry := range v.ShippedTables {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(entry.File)))
		if err != nil {
			b.Fatal(err)
		}
		table := parseVector(b, data, entry.ScenarioFacts, entry.File)
		name := strings.TrimSuffix(filepath.Base(entry.File), ".json")
		b.Run(name, func(b *testing.B) { run(b, table, entry.Cases) })
	}
	for _, block := range v.Tables {
		if block.Name == "heuristic_gcmu" || block.Name == "heuristic_cmu_holding" || block.Name == "index_default" {
			table := parseVector(b, block.Table, v.ScenarioFacts, block.Name)
			b.Run(block.Name, func(b *testing.B) { run(b, table, block.Cases) })
		}
	}
}

func run(b *testing.B, table *Table, cases []vectorCase) {
	states := make([]*State, len(cases))
	for i, c := range cases {
		states[i] = table.stateOf(c.State)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		table.Decide(states[i%len(states)])
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "decisions/s")
}
