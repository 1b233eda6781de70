package isqrt

// What a forward with Options.Grad keeps for the backward is copied on the
// team when the matrix is large: at n = 576 the five iterations keep 16
// matrices of 1.3 MB, a few milliseconds of copying that one goroutine
// would do while the others wait.

// keepInput is gm.reset, the input's copy on the team.
func (w *work[T]) keepInput(n int, a []T) {
	if w.serial(n) {
		w.gm.reset(n, a)
		return
	}
	w.gm.reset(n, nil) // the flags, and the buffer at its size
	w.copyOnTeam(w.gm.a[:n*n], a[:n*n])
}

// keepIter is gm.keep, the copies on the team.
func (w *work[T]) keepIter(n, k int, x0, x1, x2 []T) {
	m := w.gm
	if w.serial(n) {
		m.keep(k, x0, x1, x2)
		return
	}
	m.keep(k, nil, nil, nil) // slot k exists, nothing kept yet
	for i, x := range [3][]T{x0, x1, x2} {
		if x != nil {
			w.copyOnTeam(grow(&m.slots[k][i], len(x)), x)
			m.have[k][i] = true
		}
	}
}

// keepLast keeps the final iterate z.
func (w *work[T]) keepLast(n int, z []T) {
	last := grow(&w.gm.last, n*n)
	if w.serial(n) {
		copy(last, z)
		return
	}
	w.copyOnTeam(last, z)
}

// copyOnTeam copies src to dst (of the same length), in one contiguous
// range per part.
func (w *work[T]) copyOnTeam(dst, src []T) {
	w.op, w.opA, w.opC = opCopy, src, dst[:len(src)]
	w.runOp()
}

// copyPart copies part i of nw of w.opA to w.opC.
func (w *work[T]) copyPart(i, nw int) {
	l := len(w.opC)
	lo, hi := i*l/nw, (i+1)*l/nw
	copy(w.opC[lo:hi], w.opA[lo:hi])
}
