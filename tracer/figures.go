package tracer

import (
	"fmt"
	"math/big"
	"regexp"

	"github.com/chaintrace/chaintrace/tracer/taint"
)

// Figures is one taint figure under every model of a trace: the total per
// model (Config.Models order; poison counts a value once whatever colours
// mark it) and, per model, each colour's part.
type Figures struct {
	Total    []*big.Int
	ByColour [][]*big.Int
	// owned marks figures made to be summed into (newFigures); others
	// share numbers with taints or other figures and must not change.
	owned bool
}

func newFigures(models, colours int) Figures {
	z := taint.Zeros(models * (1 + colours))
	f := Figures{Total: z[:models:models], ByColour: make([][]*big.Int, models), owned: true}
	for m := range f.ByColour {
		lo := models + m*colours
		f.ByColour[m] = z[lo : lo+colours : lo+colours]
	}
	return f
}

var zero = new(big.Int)

// figuresOf states what a value carries under each model, model m's
// taint being at(m). The figures share the taints' numbers: neither may be
// changed afterwards (sums are made in figures of their own, from
// newFigures).
func figuresOf(models []taint.Kind, colours int, value *big.Int, at func(m int) taint.Taint) Figures {
	f := Figures{Total: make([]*big.Int, len(models)), ByColour: make([][]*big.Int, len(models))}
	for m, k := range models {
		t := at(m)
		f.Total[m] = total(k, t, value)
		if len(t.ByColour) == colours {
			f.ByColour[m] = t.ByColour
			continue
		}
		f.ByColour[m] = make([]*big.Int, colours)
		for c := range f.ByColour[m] {
			f.ByColour[m][c] = zero
			if c < len(t.ByColour) && t.ByColour[c] != nil {
				f.ByColour[m][c] = t.ByColour[c]
			}
		}
	}
	return f
}

// total is t's figure under model k, as taint.Taint.Total, but sharing a
// number of t's or value itself where it can rather than making one.
func total(k taint.Kind, t taint.Taint, value *big.Int) *big.Int {
	switch {
	case k == taint.Poison && t.Any():
		return value
	case k == taint.Poison:
		return zero
	case len(t.ByColour) == 1 && t.ByColour[0] != nil:
		return t.ByColour[0]
	case !t.Any():
		return zero
	}
	return t.Total(k, value)
}

// Add adds g to f, which must be figures of its own (from newFigures).
func (f Figures) Add(g Figures) {
	if !f.owned {
		panic("tracer: adding to figures that share their numbers")
	}
	for m := range f.Total {
		f.Total[m].Add(f.Total[m], g.Total[m])
		for c := range f.ByColour[m] {
			f.ByColour[m][c].Add(f.ByColour[m][c], g.ByColour[m][c])
		}
	}
}

// sum is the sum of fs: fs[0] itself when it is alone (shared, as figures
// from figuresOf are), else figures of its own.
func (r runModels) sum(fs ...Figures) Figures {
	if len(fs) == 1 {
		return fs[0]
	}
	f := r.zero()
	for _, g := range fs {
		f.Add(g)
	}
	return f
}

// Any reports whether any model gives any taint.
func (f Figures) Any() bool {
	for _, t := range f.Total {
		if t.Sign() > 0 {
			return true
		}
	}
	return false
}

// Primary is the first model's total.
func (f Figures) Primary() *big.Int {
	if len(f.Total) == 0 {
		return new(big.Int)
	}
	return f.Total[0]
}

// colourName is the form of a colour's name: what `--seed NAME=SEED` takes.
var colourName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidColourName reports whether name can name a colour.
func ValidColourName(name string) error {
	if !colourName.MatchString(name) {
		return fmt.Errorf("colour name %q: want letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// runModels is a trace's models and colours, ready for the arithmetic.
type runModels struct {
	kinds   []taint.Kind
	colours int
	colour  map[string]int // seed -> colour
	none    []taint.Taint  // clean under every model (shared: never changed)
}

func newRunModels(cfg *Config) (runModels, error) {
	if len(cfg.Models) == 0 {
		return runModels{}, fmt.Errorf("no taint model")
	}
	r := runModels{kinds: cfg.Models, colours: max(1, len(cfg.Colours)), colour: map[string]int{}}
	if len(cfg.SeedColours) != 0 && len(cfg.SeedColours) != len(cfg.Seeds) {
		return runModels{}, fmt.Errorf("%d seed colours for %d seeds", len(cfg.SeedColours), len(cfg.Seeds))
	}
	for i, s := range cfg.Seeds {
		c := 0
		if len(cfg.SeedColours) > 0 {
			c = cfg.SeedColours[i]
		}
		if c < 0 || c >= r.colours {
			return runModels{}, fmt.Errorf("seed %s: colour %d of %d", s, c, r.colours)
		}
		r.colour[s] = c
	}
	r.none = make([]taint.Taint, len(r.kinds))
	for m := range r.none {
		r.none[m] = taint.Taint{ByColour: make([]*big.Int, r.colours)}
		for c := range r.none[m].ByColour {
			r.none[m].ByColour[c] = zero
		}
	}
	return r, nil
}

// seed is a value of a seed's colour under every model.
func (r runModels) seed(colour int, value *big.Int) []taint.Taint {
	ts := make([]taint.Taint, len(r.kinds))
	for m, k := range r.kinds {
		ts[m] = taint.Seed(k, r.colours, colour, value)
	}
	return ts
}

// clean is no taint under every model; it is shared, never to be changed.
func (r runModels) clean() []taint.Taint { return r.none }

func (r runModels) figures(ts []taint.Taint, value *big.Int) Figures {
	return figuresOf(r.kinds, r.colours, value, func(m int) taint.Taint { return ts[m] })
}

// figuresAt is figures with model m's taint at(m).
func (r runModels) figuresAt(value *big.Int, at func(m int) taint.Taint) Figures {
	return figuresOf(r.kinds, r.colours, value, at)
}

func (r runModels) zero() Figures { return newFigures(len(r.kinds), r.colours) }
