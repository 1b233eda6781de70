package isqrt

// What a forward with Options.Grad keeps for the backward: at n = 576 the
// five iterations keep 16 matrices of 1.3 MB. The fast coupled iteration
// (coupled) writes each of them where it is kept, in its gradMat's slot
// buffers, instead of in the ping-pong work buffers followed by a copy:
// the copies took some 6 ms of a 576 forward at one goroutine and at two
// alike (memory-bound), a cost that did not shrink with the goroutines.
// The slot buffers are grown on first use at a size and reused, so a call
// at a fixed size still allocates nothing. What is still copied: the
// input as given (the caller's memory), Z₁ (the same matrix as T₀, kept in
// two slots), and the final iterate when a tolerance stops the iteration
// before its last one; copies of large matrices run on the team.

// keepInput is gm.reset, the input's copy on the team.
func (w *work[T]) keepInput(n int, a []T) {
	if w.serial(n) {
		w.gm.reset(n, a)
		return
	}
	w.gm.reset(n, nil) // the flags, and the buffer at its size
	w.copyOnTeam(w.gm.a[:n*n], a[:n*n])
}

// slotBuf returns matrix i of slot k, grown to nn elements, for an
// iteration to write that matrix in; markKept then records it as kept.
// The slots up to k are created if need be; no flag changes.
func (m *gradMat[T]) slotBuf(k, i, nn int) []T {
	for len(m.slots) <= k {
		m.slots = append(m.slots, [3][]T{})
		m.have = append(m.have, [3]bool{})
	}
	return grow(&m.slots[k][i], nn)
}

// markKept records which matrices of slot k (created by slotBuf) an
// iteration wrote there; the others stand for the identity.
func (m *gradMat[T]) markKept(k int, x0, x1, x2 bool) {
	m.have[k] = [3]bool{x0, x1, x2}
}

// keepCopy copies x into matrix i of slot k (of which it is not the
// buffer), on the team for a large matrix; the caller marks it kept.
func (w *work[T]) keepCopy(n, k, i int, x []T) {
	b := w.gm.slotBuf(k, i, len(x))
	if w.serial(n) {
		copy(b, x)
		return
	}
	w.copyOnTeam(b, x)
}

// lastBuf returns the buffer that keeps the final iterate, grown to nn
// elements: the iteration writes its last iterate there.
func (m *gradMat[T]) lastBuf(nn int) []T { return grow(&m.last, nn) }

// keepLast keeps the final iterate z, unless the iteration wrote it in
// place (lastBuf).
func (w *work[T]) keepLast(n int, z []T) {
	last := w.gm.lastBuf(n * n)
	if &last[0] == &z[0] {
		return
	}
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
