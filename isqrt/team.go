package isqrt

// The upper-triangle products of an iteration are split by block rows
// (each block row one single-threaded GEMM, so no worker waits on another
// inside the product and none packs an operand another also packs), and
// the O(n²) passes between them likewise; the parts run on
// internal/parallel's long-lived workers (parallel.Run), which costs no
// allocation per call.

// snake reports whether block b of a sequence of blocks of decreasing
// cost belongs to part i of nw: blocks are dealt 0, 1, …, nw−1, nw−1, …,
// 0, 0, 1, …, which balances costs that fall linearly (the rows of a
// triangle) to within one block.
func snake(b, i, nw int) bool {
	r, pos := b/nw, b%nw
	if r%2 == 1 {
		pos = nw - 1 - pos
	}
	return pos == i
}
