package winograd

import "github.com/netdeconv/deconv/internal/gather"

// Tiling of a convolution's output into m×m tiles: a batch of n images
// has n·TilesH rows of TilesW tiles each, numbered image-major, and a
// span of tile rows [row0, row1) holds (row1−row0)·TilesW tiles, numbered
// row by row. The buffers of the stages hold, for each of the α² (or m²)
// positions k, one row of ld tiles per channel: element (k, channel c,
// tile t) is at k·rs + c·ld + t, so the tiles are contiguous, channels are
// ld apart and positions rs apart.

// Tiles returns the number of tile rows and columns that cover an oh×ow
// output.
func Tiles(t *Tile, oh, ow int) (th, tw int) {
	return (oh + t.M - 1) / t.M, (ow + t.M - 1) / t.M
}

// Gather writes the α×α input tiles of tile rows [row0, row1) of the NCHW
// batch x (c channels of h×w, padding padH×padW) into dst: position
// k = u·α+v of channel ci's tile t at dst[k·rs + ci·ld + t], with zeros
// where the tile reaches into the padding or past the image. The
// columns from the span's tile count to ld are zeroed. band is scratch of
// at least BandLen(t, tw) elements; strided is the strided gather to use
// (gather.Strided2DFor of the selected family).
//
// For each channel and tile row, the α input rows the tiles read are
// copied, padded, into band; then position (u, v) of all the row's tiles
// is every m-th element of band row u from v on: α vectorised strided
// gathers of α rows each.
func Gather[T Float](t *Tile, dst []T, rs, ld int, x []T, c, h, w, padH, padW, th, tw, row0, row1 int, band []T, strided gather.Strided2DFunc[T]) {
	m, a := t.M, t.Alpha
	nt := (row1 - row0) * tw
	ll := LineLen(t, tw)
	band = band[:BandLen(t, tw)]
	clear(band[a*ll:]) // read by whole vectors past the last row, never used
	inner := min(w, ll-padW)
	for ci := 0; ci < c; ci++ {
		for row := row0; row < row1; row++ {
			img, ty := row/th, row%th
			plane := x[(img*c+ci)*h*w : (img*c+ci+1)*h*w]
			col0 := ci*ld + (row-row0)*tw
			for u := 0; u < a; u++ {
				line := band[u*ll : (u+1)*ll]
				iy := ty*m - padH + u
				if iy < 0 || iy >= h {
					clear(line)
					continue
				}
				clear(line[:padW])
				copy(line[padW:padW+inner], plane[iy*w:iy*w+inner])
				clear(line[padW+inner:])
			}
			for v := 0; v < a; v++ {
				strided(dst[v*rs+col0:], a*rs, band[v:], ll, a, tw, m)
			}
		}
		for k := 0; k < a*a; k++ {
			clear(dst[k*rs+ci*ld+nt : k*rs+ci*ld+ld])
		}
	}
}

// LineLen is the length of one padded input row of tw tiles.
func LineLen(t *Tile, tw int) int { return tw*t.M + t.Alpha - t.M }

// BandLen is the length of the scratch band of Gather and GatherInput for
// tw tiles per row: α padded rows and room for the strided gathers'
// whole-vector reads, or GatherInput's six rows of whole vectors.
func BandLen(t *Tile, tw int) int { return max(t.Alpha*LineLen(t, tw)+bandSlack, fusedBandLen(tw)) }

// bandSlack covers the window a vectorised strided gather reads past its
// last element: one vector of 16 elements times the step (m ≤ 7).
const bandSlack = 16 * 8

// Scatter writes the m×m output tiles of tile rows [row0, row1) from y
// (position k = i·m+j of output channel co's tile t at
// y[k·rs + co·cs + t·ts]) into the NCHW output dst (cout channels of
// oh×ow), adding bias[co] (nil: none). Tile parts past the output's edge
// are dropped.
func Scatter[T Float](t *Tile, dst, y []T, rs, cs, ts int, bias []T, cout, oh, ow, th, tw, row0, row1 int) {
	m := t.M
	full := ow / m // tiles wholly inside a row
	for row := row0; row < row1; row++ {
		img, ty := row/th, row%th
		t0 := (row - row0) * tw
		for co := 0; co < cout; co++ {
			var b T
			if bias != nil {
				b = bias[co]
			}
			plane := dst[(img*cout+co)*oh*ow : (img*cout+co+1)*oh*ow]
			for i := 0; i < m && ty*m+i < oh; i++ {
				out := plane[(ty*m+i)*ow : (ty*m+i+1)*ow]
				base := i*m*rs + co*cs + t0*ts
				if m == 4 && full > 0 {
					n := (full-1)*ts + 1
					s0 := y[base : base+n]
					s1 := y[base+rs : base+rs+n]
					s2 := y[base+2*rs : base+2*rs+n]
					s3 := y[base+3*rs : base+3*rs+n]
					for tx := 0; tx < full; tx++ {
						o := out[tx*4 : tx*4+4 : tx*4+4]
						o[0], o[1], o[2], o[3] = s0[tx*ts]+b, s1[tx*ts]+b, s2[tx*ts]+b, s3[tx*ts]+b
					}
				} else {
					for tx := 0; tx < full; tx++ {
						for j := 0; j < m; j++ {
							out[tx*m+j] = y[base+j*rs+tx*ts] + b
						}
					}
				}
				for j := 0; full*m+j < ow; j++ {
					out[full*m+j] = y[base+j*rs+full*ts] + b
				}
			}
		}
	}
}
