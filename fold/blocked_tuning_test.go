package fold

import "testing"

// setBlockedTuning replaces the blocked path's tuning (its constants, or
// the values in effect) by what set makes of it, until tb ends.
func setBlockedTuning(tb testing.TB, set func(*blockedTuning)) {
	old := blockedOverride.Load()
	v := blockedParams()
	set(&v)
	blockedOverride.Store(&v)
	tb.Cleanup(func() { blockedOverride.Store(old) })
}
