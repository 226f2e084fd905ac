package tokenizer

// pairTable is an open-addressing hash table from a pair of piece ids to
// the merge they form. The merge loop looks up every adjacent pair, so this
// lookup is the hottest operation of Encode; a flat table with a
// multiplicative hash and linear probing does it in a couple of cache
// accesses, about twice as fast as a Go map.
type pairTable struct {
	keys  []uint64
	vals  []pairMerge
	shift uint
	n     int
}

// emptyKey marks a free slot; no pair of valid ids (< 2^31) produces it.
const emptyKey = ^uint64(0)

func newPairTable(hint int) *pairTable {
	size, bits := 16, uint(4)
	for size < 2*hint {
		size <<= 1
		bits++
	}
	p := &pairTable{keys: make([]uint64, size), vals: make([]pairMerge, size), shift: 64 - bits}
	for i := range p.keys {
		p.keys[i] = emptyKey
	}
	return p
}

func (p *pairTable) slot(k uint64) int {
	return int((k * 0x9E3779B97F4A7C15) >> p.shift)
}

// get returns the merge for key k.
func (p *pairTable) get(k uint64) (pairMerge, bool) {
	mask := len(p.keys) - 1
	for i := p.slot(k); ; i = (i + 1) & mask {
		switch p.keys[i] {
		case k:
			return p.vals[i], true
		case emptyKey:
			return pairMerge{}, false
		}
	}
}

// putIfAbsent stores v under k unless k is present; it reports whether it
// stored.
func (p *pairTable) putIfAbsent(k uint64, v pairMerge) bool {
	if 2*(p.n+1) > len(p.keys) {
		p.grow()
	}
	mask := len(p.keys) - 1
	for i := p.slot(k); ; i = (i + 1) & mask {
		switch p.keys[i] {
		case k:
			return false
		case emptyKey:
			p.keys[i], p.vals[i] = k, v
			p.n++
			return true
		}
	}
}

func (p *pairTable) grow() {
	old := *p
	*p = *newPairTable(len(old.keys))
	for i, k := range old.keys {
		if k != emptyKey {
			p.putIfAbsent(k, old.vals[i])
		}
	}
}
